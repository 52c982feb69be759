/*
Copyright 2026 The gracefuldrain Authors.

Licensed under the Apache License, Version 2.0 (the "License");
you may not use this file except in compliance with the License.
You may obtain a copy of the License at

    http://www.apache.org/licenses/LICENSE-2.0

Unless required by applicable law or agreed to in writing, software
distributed under the License is distributed on an "AS IS" BASIS,
WITHOUT WARRANTIES OR CONDITIONS OF ANY KIND, either express or implied.
See the License for the specific language governing permissions and
limitations under the License.
*/

package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"os/exec"
	"path/filepath"
	"strconv"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"
)

// Kind is the workload kind a scenario rolls seed 000's pod template out with.
type Kind string

// The workload kinds the e2e covers.
const (
	KindDeployment  Kind = ""            // seed 000 as written (the default)
	KindStatefulSet Kind = "statefulset" // the seed's pod template as a StatefulSet, RollingUpdate
	KindRollout     Kind = "rollout"     // the seed's pod template as an Argo Rollouts canary (argoproj.io/v1alpha1), no trafficRouting
)

// kindWorkloadName is the name of the StatefulSet or Rollout made from seed 000's Deployment.
const kindWorkloadName = "demo-nginx"

// ArgoPause is each pause step of the Argo canary, in WALL time: Argo Rollouts
// does not know E2E_TIME_SCALE, so 10 s here stand for 40 model seconds at the
// default scale of 4.
const ArgoPause = "10s"

// rolloutResource is Argo Rollouts' Rollout.
var rolloutResource = schema.GroupVersionResource{Group: "argoproj.io", Version: "v1alpha1", Resource: "rollouts"}

// WorkloadName is the name of the scenario's workload.
func (sc Scenario) WorkloadName() string {
	if sc.Kind == KindDeployment {
		return deploymentName
	}
	return kindWorkloadName
}

// DrainName is the name of the workload's GracefulDrain: a Deployment's has its name, another kind's is
// <name>-<kind> (the operator's rule, drainName in controllers/kinds.go).
func (sc Scenario) DrainName() string {
	if sc.Kind == KindDeployment {
		return deploymentName
	}
	return kindWorkloadName + "-" + string(sc.Kind)
}

// statefulSetOf is seed 000's Deployment as a StatefulSet: the same pod template and replicas,
// RollingUpdate (one pod at a time, as every StatefulSet without the MaxUnavailableStatefulSet
// feature gate, beta and off by default in 1.35), Parallel pod management (only the first creation
// is faster), governed by the seed's Service.
func statefulSetOf(dep *appsv1.Deployment) *appsv1.StatefulSet {
	return &appsv1.StatefulSet{
		TypeMeta:   metav1.TypeMeta{APIVersion: "apps/v1", Kind: "StatefulSet"},
		ObjectMeta: metav1.ObjectMeta{Name: kindWorkloadName, Namespace: dep.Namespace, Annotations: dep.Annotations},
		Spec: appsv1.StatefulSetSpec{
			Replicas:            dep.Spec.Replicas,
			Selector:            dep.Spec.Selector,
			Template:            dep.Spec.Template,
			ServiceName:         serviceName,
			PodManagementPolicy: appsv1.ParallelPodManagement,
			UpdateStrategy:      appsv1.StatefulSetUpdateStrategy{Type: appsv1.RollingUpdateStatefulSetStrategyType},
		},
	}
}

// rolloutOf is seed 000's Deployment as an Argo Rollout: the same pod template, replicas and
// maxSurge/maxUnavailable, a replica-weighted canary (no trafficRouting: the weight is the share of
// new pods) of setWeight 30, pause, setWeight 60, pause.
func rolloutOf(dep *appsv1.Deployment) (*unstructured.Unstructured, error) {
	tmpl, err := runtime.DefaultUnstructuredConverter.ToUnstructured(&dep.Spec.Template)
	if err != nil {
		return nil, err
	}
	// The CRD's template metadata holds labels and annotations only.
	md, _ := tmpl["metadata"].(map[string]any)
	tmpl["metadata"] = map[string]any{"labels": md["labels"]}
	sel, err := runtime.DefaultUnstructuredConverter.ToUnstructured(dep.Spec.Selector)
	if err != nil {
		return nil, err
	}
	ru := dep.Spec.Strategy.RollingUpdate
	pause := map[string]any{"pause": map[string]any{"duration": ArgoPause}}
	u := &unstructured.Unstructured{Object: map[string]any{
		"apiVersion": "argoproj.io/v1alpha1",
		"kind":       "Rollout",
		"metadata":   map[string]any{"name": kindWorkloadName, "namespace": dep.Namespace},
		"spec": map[string]any{
			"replicas": int64(*dep.Spec.Replicas),
			"selector": sel,
			"template": tmpl,
			"strategy": map[string]any{"canary": map[string]any{
				"maxSurge":       ru.MaxSurge.String(),
				"maxUnavailable": ru.MaxUnavailable.String(),
				"steps": []any{
					map[string]any{"setWeight": int64(30)}, pause,
					map[string]any{"setWeight": int64(60)}, pause,
				},
			}},
		},
	}}
	if len(dep.Annotations) > 0 {
		a := map[string]any{}
		for k, v := range dep.Annotations {
			a[k] = v
		}
		_ = unstructured.SetNestedMap(u.Object, a, "metadata", "annotations")
	}
	return u, nil
}

// createWorkload creates the scenario's workload from seed 000's Deployment (a dry run when dryRun)
// and returns its generation and the pod template the API server stored.
func (e *Env) createWorkload(ctx context.Context, sc Scenario, dep *appsv1.Deployment, dryRun bool) (int64, *corev1.PodTemplateSpec, error) {
	ns := sc.Namespace()
	opts := metav1.CreateOptions{}
	if dryRun {
		opts.DryRun = []string{metav1.DryRunAll}
	}
	switch sc.Kind {
	case KindStatefulSet:
		s, err := e.CP.Client.AppsV1().StatefulSets(ns).Create(ctx, statefulSetOf(dep), opts)
		if err != nil {
			return 0, nil, err
		}
		return s.Generation, &s.Spec.Template, nil
	case KindRollout:
		u, err := rolloutOf(dep)
		if err != nil {
			return 0, nil, err
		}
		got, err := e.Dyn.Resource(rolloutResource).Namespace(ns).Create(ctx, u, opts)
		if err != nil {
			return 0, nil, err
		}
		t, err := rolloutTemplate(got)
		return got.GetGeneration(), t, err
	default:
		d, err := e.CP.Client.AppsV1().Deployments(ns).Create(ctx, dep, opts)
		if err != nil {
			return 0, nil, err
		}
		return d.Generation, &d.Spec.Template, nil
	}
}

func rolloutTemplate(u *unstructured.Unstructured) (*corev1.PodTemplateSpec, error) {
	m, found, err := unstructured.NestedMap(u.Object, "spec", "template")
	if err != nil || !found {
		return nil, fmt.Errorf("rollout %s has no spec.template (%v)", u.GetName(), err)
	}
	var t corev1.PodTemplateSpec
	if err := runtime.DefaultUnstructuredConverter.FromUnstructured(m, &t); err != nil {
		return nil, err
	}
	return &t, nil
}

// workloadTemplate is the pod template of the scenario's workload as stored now.
func (e *Env) workloadTemplate(ctx context.Context, sc Scenario) (*corev1.PodTemplateSpec, error) {
	ns, name := sc.Namespace(), sc.WorkloadName()
	switch sc.Kind {
	case KindStatefulSet:
		s, err := e.CP.Client.AppsV1().StatefulSets(ns).Get(ctx, name, metav1.GetOptions{})
		if err != nil {
			return nil, err
		}
		return &s.Spec.Template, nil
	case KindRollout:
		u, err := e.Dyn.Resource(rolloutResource).Namespace(ns).Get(ctx, name, metav1.GetOptions{})
		if err != nil {
			return nil, err
		}
		return rolloutTemplate(u)
	default:
		d, err := e.CP.Client.AppsV1().Deployments(ns).Get(ctx, name, metav1.GetOptions{})
		if err != nil {
			return nil, err
		}
		return &d.Spec.Template, nil
	}
}

// setImage changes the container's image as `kubectl set image` does (a strategic merge patch; a
// JSON patch for the Rollout, a custom resource, as `kubectl argo rollouts set image` changes only
// that field) and returns the workload's new generation.
func (e *Env) setImage(ctx context.Context, sc Scenario, image string) (int64, error) {
	ns, name := sc.Namespace(), sc.WorkloadName()
	patch := fmt.Sprintf(`{"spec":{"template":{"spec":{"containers":[{"name":%q,"image":%q}]}}}}`, containerName, image)
	switch sc.Kind {
	case KindStatefulSet:
		s, err := e.CP.Client.AppsV1().StatefulSets(ns).Patch(ctx, name, types.StrategicMergePatchType, []byte(patch), metav1.PatchOptions{})
		if err != nil {
			return 0, err
		}
		return s.Generation, nil
	case KindRollout:
		ops, _ := json.Marshal([]map[string]any{{"op": "replace", "path": "/spec/template/spec/containers/0/image", "value": image}})
		u, err := e.Dyn.Resource(rolloutResource).Namespace(ns).Patch(ctx, name, types.JSONPatchType, ops, metav1.PatchOptions{})
		if err != nil {
			return 0, err
		}
		return u.GetGeneration(), nil
	default:
		d, err := e.CP.Client.AppsV1().Deployments(ns).Patch(ctx, name, types.StrategicMergePatchType, []byte(patch), metav1.PatchOptions{})
		if err != nil {
			return 0, err
		}
		return d.Generation, nil
	}
}

// revisions counts the workload's generation and pod-template revisions: ReplicaSets for a
// Deployment, ControllerRevisions for a StatefulSet, the ReplicaSets a Rollout owns.
func (e *Env) revisions(ctx context.Context, sc Scenario) (Revisions, error) {
	ns, name := sc.Namespace(), sc.WorkloadName()
	c := e.CP.Client
	switch sc.Kind {
	case KindStatefulSet:
		s, err := c.AppsV1().StatefulSets(ns).Get(ctx, name, metav1.GetOptions{})
		if err != nil {
			return Revisions{}, err
		}
		crs, err := c.AppsV1().ControllerRevisions(ns).List(ctx, metav1.ListOptions{})
		if err != nil {
			return Revisions{}, err
		}
		n := 0
		for _, cr := range crs.Items {
			if ownedBy(cr.OwnerReferences, "StatefulSet", name) {
				n++
			}
		}
		return Revisions{Generation: s.Generation, ReplicaSets: n}, nil
	case KindRollout:
		u, err := e.Dyn.Resource(rolloutResource).Namespace(ns).Get(ctx, name, metav1.GetOptions{})
		if err != nil {
			return Revisions{}, err
		}
		rss, err := c.AppsV1().ReplicaSets(ns).List(ctx, metav1.ListOptions{})
		if err != nil {
			return Revisions{}, err
		}
		n := 0
		for _, rs := range rss.Items {
			if ownedBy(rs.OwnerReferences, "Rollout", name) {
				n++
			}
		}
		return Revisions{Generation: u.GetGeneration(), ReplicaSets: n}, nil
	default:
		d, err := c.AppsV1().Deployments(ns).Get(ctx, name, metav1.GetOptions{})
		if err != nil {
			return Revisions{}, err
		}
		rss, err := c.AppsV1().ReplicaSets(ns).List(ctx, metav1.ListOptions{})
		if err != nil {
			return Revisions{}, err
		}
		return Revisions{Generation: d.Generation, ReplicaSets: len(rss.Items)}, nil
	}
}

func ownedBy(refs []metav1.OwnerReference, kind, name string) bool {
	for _, r := range refs {
		if r.Kind == kind && r.Name == name && r.Controller != nil && *r.Controller {
			return true
		}
	}
	return false
}

// rolledOut judges the workload as `kubectl rollout status` does (`kubectl argo rollouts status`
// for a Rollout), and waits for the old pods to be out of the counts too. gen is the generation
// the last write made (0: any).
func (e *Env) rolledOut(ctx context.Context, sc Scenario, gen int64) (bool, error) {
	ns, name := sc.Namespace(), sc.WorkloadName()
	switch sc.Kind {
	case KindStatefulSet:
		s, err := e.CP.Client.AppsV1().StatefulSets(ns).Get(ctx, name, metav1.GetOptions{})
		if err != nil {
			return false, err
		}
		want, st := *s.Spec.Replicas, s.Status
		if st.ObservedGeneration < max(gen, s.Generation) || st.UpdatedReplicas != want || st.ReadyReplicas != want ||
			st.AvailableReplicas != want || st.Replicas != want || st.UpdateRevision != st.CurrentRevision {
			return false, fmt.Errorf("observed generation %d of %d, updated %d, ready %d, available %d, replicas %d of %d, revision %s -> %s",
				st.ObservedGeneration, max(gen, s.Generation), st.UpdatedReplicas, st.ReadyReplicas, st.AvailableReplicas, st.Replicas, want,
				st.CurrentRevision, st.UpdateRevision)
		}
		return true, nil
	case KindRollout:
		u, err := e.Dyn.Resource(rolloutResource).Namespace(ns).Get(ctx, name, metav1.GetOptions{})
		if err != nil {
			return false, err
		}
		str := func(f ...string) string { v, _, _ := unstructured.NestedString(u.Object, f...); return v }
		num := func(f ...string) int64 { v, _, _ := unstructured.NestedInt64(u.Object, f...); return v }
		want := num("spec", "replicas")
		observed, _ := strconv.ParseInt(str("status", "observedGeneration"), 10, 64)
		phase, hash, stable := str("status", "phase"), str("status", "currentPodHash"), str("status", "stableRS")
		if observed < max(gen, u.GetGeneration()) || phase != "Healthy" || hash == "" || stable != hash ||
			num("status", "updatedReplicas") != want || num("status", "availableReplicas") != want || num("status", "replicas") != want {
			return false, fmt.Errorf("observed generation %d of %d, phase %s (%s), stable %s current %s, updated %d, available %d, replicas %d of %d",
				observed, max(gen, u.GetGeneration()), phase, str("status", "message"), stable, hash, num("status", "updatedReplicas"),
				num("status", "availableReplicas"), num("status", "replicas"), want)
		}
		return true, nil
	default:
		d, err := e.CP.Client.AppsV1().Deployments(ns).Get(ctx, name, metav1.GetOptions{})
		if err != nil {
			return false, err
		}
		want := *d.Spec.Replicas
		s := d.Status
		if s.ObservedGeneration < max(gen, d.Generation) || s.UpdatedReplicas != want || s.Replicas != want || s.AvailableReplicas != want {
			return false, fmt.Errorf("updated %d, replicas %d, available %d of %d", s.UpdatedReplicas, s.Replicas, s.AvailableReplicas, want)
		}
		return true, nil
	}
}

// waitRolledOut waits until rolledOut says so.
func (e *Env) waitRolledOut(ctx context.Context, sc Scenario, gen int64) error {
	return WaitFor(ctx, sc.Namespace()+": rollout complete", 15*time.Minute, 200*time.Millisecond, func() (bool, error) {
		return e.rolledOut(ctx, sc, gen)
	})
}

// StartArgoRollouts installs Argo Rollouts' CRDs (server-side: they are too big for client-side
// apply's annotation) into the running control plane and starts the real rollouts-controller
// (hack/tools.sh rollouts-controller) against it, cluster-wide, without leader election.
func (e *Env) StartArgoRollouts(ctx context.Context, controller, crdDir string) error {
	out, err := exec.CommandContext(ctx, e.Kubectl, "--kubeconfig", e.CP.Kubeconfig, "apply", "--server-side", "-f", crdDir).CombinedOutput()
	if err != nil {
		return fmt.Errorf("applying the Argo Rollouts CRDs from %s: %w: %s", crdDir, err, out)
	}
	out, err = exec.CommandContext(ctx, e.Kubectl, "--kubeconfig", e.CP.Kubeconfig, "wait", "--for=condition=Established", "--timeout=2m", "-f", crdDir).CombinedOutput()
	if err != nil {
		return fmt.Errorf("waiting for the Argo Rollouts CRDs: %w: %s", err, out)
	}
	metrics, err := freePort()
	if err != nil {
		return err
	}
	healthz, err := freePort()
	if err != nil {
		return err
	}
	if err := e.CP.Spawn("rollouts-controller", controller, "--kubeconfig", e.CP.Kubeconfig, "--leader-elect=false",
		"--metricsPort", strconv.Itoa(metrics), "--healthzPort", strconv.Itoa(healthz), "--loglevel", "info"); err != nil {
		return err
	}
	url := fmt.Sprintf("http://127.0.0.1:%d/healthz", healthz)
	return WaitFor(ctx, "rollouts-controller healthy ("+filepath.Join(e.CP.Dir, "rollouts-controller.log")+")", 2*time.Minute, 200*time.Millisecond, func() (bool, error) {
		resp, err := http.Get(url) //nolint:gosec,noctx // a local port of this test
		if err != nil {
			return false, err
		}
		resp.Body.Close()
		return resp.StatusCode == http.StatusOK, nil
	})
}
