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

package controllers

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	. "github.com/onsi/gomega"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/yaml"

	gdv1 "github.com/gracefuldrain/gracefuldrain/api/v1alpha1"
	"github.com/gracefuldrain/gracefuldrain/internal/awslb"
	"github.com/gracefuldrain/gracefuldrain/internal/settings"
	"github.com/gracefuldrain/gracefuldrain/internal/testsupport"
)

// Every workload kind is protected the same way: the same discovery, plan,
// apply, status and webhook; only the rollout truth and the GracefulDrain's
// name (<name>-<kind>) differ.

// nlbService is an NLB (AWS Load Balancer Controller, ip targets) in front of
// pods labelled app=<name>, port 443 to the container port named tls.
func nlbService(ns, name string) *corev1.Service {
	return &corev1.Service{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name, Annotations: map[string]string{
			awslb.AnnotationNLBType: awslb.NLBTypeExternal, awslb.AnnotationNLBTargetType: awslb.TargetTypeIP}},
		Spec: corev1.ServiceSpec{Type: corev1.ServiceTypeLoadBalancer, Selector: map[string]string{"app": name},
			Ports: []corev1.ServicePort{{Port: 443, TargetPort: intstr.FromString("tls")}}},
	}
}

func getStatefulSet(g Gomega, ns, name string) *appsv1.StatefulSet {
	s := &appsv1.StatefulSet{}
	g.Expect(k8s.Get(context.Background(), types.NamespacedName{Namespace: ns, Name: name}, s)).To(Succeed())
	return s
}

func TestStatefulSetBehindAnNLB(t *testing.T) {
	ctx := context.Background()
	g := NewWithT(t)
	ns := newNamespace(t, enforce())
	g.Expect(k8s.Create(ctx, nlbService(ns, "gateway"))).To(Succeed())
	labels := map[string]string{"app": "gateway"}
	sts := &appsv1.StatefulSet{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "gateway"},
		Spec: appsv1.StatefulSetSpec{
			Replicas: ptr.To[int32](3), Selector: &metav1.LabelSelector{MatchLabels: labels},
			Template: corev1.PodTemplateSpec{ObjectMeta: metav1.ObjectMeta{Labels: labels},
				Spec: corev1.PodSpec{Containers: []corev1.Container{testsupport.Container("envoy", testsupport.Port("tls", 8443))}}},
		},
	}
	// The load balancer exists first: the StatefulSet's own create carries the plan.
	eventually(t, func(g Gomega) {
		var n corev1.Namespace
		g.Expect(k8s.Get(ctx, types.NamespacedName{Name: ns}, &n)).To(Succeed())
		g.Expect(n.Labels).To(HaveKey(awslb.ReadinessGateInjectLabel))
	})
	g.Expect(k8s.Create(ctx, sts)).To(Succeed())
	got := getStatefulSet(g, ns, "gateway")
	g.Expect(got.Generation).To(BeEquivalentTo(1))
	spec := got.Spec.Template.Spec
	g.Expect(spec.Containers[0].Lifecycle.PreStop.Sleep.Seconds).To(BeEquivalentTo(90), "NLB ip drain")
	g.Expect(spec.TerminationGracePeriodSeconds).To(HaveValue(BeEquivalentTo(120)))
	g.Expect(spec.Containers[0].ReadinessProbe.TCPSocket).NotTo(BeNil(), "a TCP health check gives a tcpSocket probe")

	eventually(t, func(g Gomega) {
		gd := getGD(g, ns, "gateway-statefulset")
		g.Expect(gd.Status.Workload).To(Equal(&gdv1.WorkloadReference{APIVersion: "apps/v1", Kind: "StatefulSet", Name: "gateway"}))
		g.Expect(gd.Status.LoadBalancer).To(Equal("NLB/ip"))
		g.Expect(condition(gd, gdv1.ConditionPlanApplied).Reason).To(Equal(gdv1.ReasonAlreadyCompliant))
		g.Expect(condition(gd, gdv1.ConditionRolledOut).Message).To(ContainSubstring("StatefulSet controller to observe generation 1"))
		g.Expect(metav1.IsControlledBy(gd, got)).To(BeTrue())
	})

	// Rollout truth as kubectl judges a StatefulSet: a partition holds pods back.
	setStatefulSetStatus(t, ns, "gateway", func(s *appsv1.StatefulSet) {
		s.Status = appsv1.StatefulSetStatus{ObservedGeneration: s.Generation, Replicas: 3, ReadyReplicas: 3, UpdatedReplicas: 1,
			CurrentReplicas: 2, CurrentRevision: "gateway-1", UpdateRevision: "gateway-2"}
	})
	eventually(t, func(g Gomega) {
		g.Expect(condition(getGD(g, ns, "gateway-statefulset"), gdv1.ConditionRolledOut).Message).To(ContainSubstring("1 of 3 pods at revision gateway-2"))
	})
	g.Expect(operatorPatches(ns, "gateway")).To(BeEmpty(), "the operator never wrote the StatefulSet it admitted")

	// Leaving management (the NLB goes): the GracefulDrain goes, the StatefulSet keeps its settings.
	g.Expect(k8s.Delete(ctx, &corev1.Service{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "gateway"}})).To(Succeed())
	eventually(t, func(g Gomega) {
		err := k8s.Get(ctx, types.NamespacedName{Namespace: ns, Name: "gateway-statefulset"}, &gdv1.GracefulDrain{})
		g.Expect(client.IgnoreNotFound(err)).To(Succeed())
		g.Expect(err).To(HaveOccurred())
	})
	g.Expect(getStatefulSet(g, ns, "gateway").Spec.Template.Spec.TerminationGracePeriodSeconds).To(HaveValue(BeEquivalentTo(120)))
}

func setStatefulSetStatus(t *testing.T, ns, name string, set func(*appsv1.StatefulSet)) {
	t.Helper()
	g := NewWithT(t)
	s := getStatefulSet(g, ns, name)
	set(s)
	g.Expect(k8s.Status().Update(context.Background(), s)).To(Succeed())
}

// A DaemonSet behind an ALB with instance targets, created before its
// Ingress (as Helm orders them): the reconciler applies the plan; in audit
// mode nothing is written; OnDelete is reported as such.
func TestDaemonSetBehindAnALB(t *testing.T) {
	for _, mode := range []string{"enforce", "audit"} {
		t.Run(mode, func(t *testing.T) {
			ctx := context.Background()
			g := NewWithT(t)
			ns := newNamespace(t, map[string]string{settings.ModeKey: mode})
			app := testsupport.ALBApp(ns, "edge")
			ds := &appsv1.DaemonSet{
				ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "edge"},
				Spec: appsv1.DaemonSetSpec{Selector: app.Deployment.Spec.Selector, Template: app.Deployment.Spec.Template,
					UpdateStrategy: appsv1.DaemonSetUpdateStrategy{Type: appsv1.OnDeleteDaemonSetStrategyType}},
			}
			g.Expect(k8s.Create(ctx, ds)).To(Succeed())
			g.Expect(k8s.Create(ctx, app.Service)).To(Succeed())
			app.Ingress.Annotations[awslb.AnnotationALBTargetType] = awslb.TargetTypeInstance
			g.Expect(k8s.Create(ctx, app.Ingress)).To(Succeed())

			eventually(t, func(g Gomega) {
				gd := getGD(g, ns, "edge-daemonset")
				g.Expect(gd.Status.Workload.Kind).To(Equal("DaemonSet"))
				g.Expect(gd.Status.LoadBalancer).To(Equal("ALB/instance"))
				g.Expect(gd.Status.Plan.PreStopSeconds).To(BeEquivalentTo(10))
				if mode == "audit" {
					g.Expect(condition(gd, gdv1.ConditionPlanApplied).Reason).To(Equal(gdv1.ReasonAuditOnly))
				} else {
					g.Expect(condition(gd, gdv1.ConditionPlanApplied).Reason).To(Equal(gdv1.ReasonApplied))
				}
			})
			var got appsv1.DaemonSet
			g.Expect(k8s.Get(ctx, types.NamespacedName{Namespace: ns, Name: "edge"}, &got)).To(Succeed())
			if mode == "audit" {
				g.Expect(got.Generation).To(BeEquivalentTo(1))
				g.Expect(got.Spec.Template.Spec.Containers[0].Lifecycle).To(BeNil(), "audit changes nothing")
				g.Expect(operatorPatches(ns, "edge")).To(BeEmpty())
				return
			}
			g.Expect(got.Generation).To(BeEquivalentTo(2))
			g.Expect(got.Spec.Template.Spec.Containers[0].Lifecycle.PreStop.Sleep.Seconds).To(BeEquivalentTo(10))
			g.Expect(got.Spec.Template.Spec.TerminationGracePeriodSeconds).To(HaveValue(BeEquivalentTo(40)))
			got.Status = appsv1.DaemonSetStatus{ObservedGeneration: 2, DesiredNumberScheduled: 3, UpdatedNumberScheduled: 0, NumberAvailable: 3}
			g.Expect(k8s.Status().Update(ctx, &got)).To(Succeed())
			eventually(t, func(g Gomega) {
				c := condition(getGD(g, ns, "edge-daemonset"), gdv1.ConditionRolledOut)
				g.Expect(c.Message).To(ContainSubstring("takes effect when pods are deleted"))
			})
		})
	}
}

// A Deployment and a StatefulSet named alike get a GracefulDrain each; a
// Deployment literally named <name>-statefulset next to a StatefulSet <name>
// keeps its GracefulDrain, and the StatefulSet is reported, not managed.
func TestGracefulDrainNamesAcrossKinds(t *testing.T) {
	ctx := context.Background()
	g := NewWithT(t)
	ns := newNamespace(t, enforce())
	lbFirst(t, ns)
	web := testsupport.ALBApp(ns, "web")
	g.Expect(k8s.Create(ctx, web.Deployment)).To(Succeed())
	g.Expect(k8s.Create(ctx, &appsv1.StatefulSet{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "web"},
		Spec: appsv1.StatefulSetSpec{Selector: web.Deployment.Spec.Selector, Template: web.Deployment.Spec.Template}})).To(Succeed())
	eventually(t, func(g Gomega) {
		g.Expect(getGD(g, ns, "web").Status.Workload.Kind).To(Equal("Deployment"))
		g.Expect(getGD(g, ns, "web-statefulset").Status.Workload.Kind).To(Equal("StatefulSet"))
	})

	// The collision a name rule within one namespace cannot rule out.
	taken := testsupport.ALBApp(ns, "web").Deployment
	taken.Name = "api-statefulset"
	g.Expect(k8s.Create(ctx, taken)).To(Succeed())
	eventually(t, func(g Gomega) { g.Expect(getGD(g, ns, "api-statefulset").Status.Workload.Kind).To(Equal("Deployment")) })
	g.Expect(k8s.Create(ctx, &appsv1.StatefulSet{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "api"},
		Spec: appsv1.StatefulSetSpec{Selector: web.Deployment.Spec.Selector, Template: web.Deployment.Spec.Template}})).To(Succeed())
	eventually(t, func(g Gomega) {
		events := eventsFor(g, ns, "api", EventGracefulDrainNameTaken)
		g.Expect(events).NotTo(BeEmpty())
		g.Expect(events[0].Note).To(ContainSubstring("belongs to Deployment api-statefulset"))
	})
	g.Expect(getGD(g, ns, "api-statefulset").Status.Workload.Kind).To(Equal("Deployment"), "the first owner keeps it")
}

// installArgoRolloutsCRDs installs Argo Rollouts' CRDs as its project ships
// them (from its Go module, hack/tools.sh argo-rollouts-crds), while the
// manager runs: the Rollout kind must be picked up without a restart.
func installArgoRolloutsCRDs(t *testing.T) {
	t.Helper()
	g := NewWithT(t)
	dir := os.Getenv("ARGO_ROLLOUTS_CRDS")
	g.Expect(dir).NotTo(BeEmpty(), "run `make test` (it fetches Argo Rollouts' CRDs) or set ARGO_ROLLOUTS_CRDS")
	files, err := filepath.Glob(filepath.Join(dir, "*-crd.yaml"))
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(files).To(HaveLen(5))
	for _, f := range files {
		raw, err := os.ReadFile(f)
		g.Expect(err).NotTo(HaveOccurred())
		crd := &unstructured.Unstructured{}
		g.Expect(yaml.Unmarshal(raw, &crd.Object)).To(Succeed())
		// Server-side, as Argo's docs say: the CRDs are too big for kubectl's last-applied annotation.
		g.Expect(k8s.Patch(context.Background(), crd, client.Apply, client.FieldOwner("argo-rollouts-install"), client.ForceOwnership)).To(Succeed(), f)
	}
}

func rolloutObject(ns, name string, spec map[string]any) *unstructured.Unstructured {
	u := newRollout().(*unstructured.Unstructured)
	u.SetNamespace(ns)
	u.SetName(name)
	u.Object["spec"] = spec
	return u
}

func getRollout(g Gomega, ns, name string) *unstructured.Unstructured {
	u := newRollout().(*unstructured.Unstructured)
	g.Expect(k8s.Get(context.Background(), types.NamespacedName{Namespace: ns, Name: name}, u)).To(Succeed())
	return u
}

// Argo Rollouts: the CRD appears while the manager runs; a canary Rollout
// behind an ALB is protected at admission and reported with its paused step;
// a Rollout with a workloadRef gets the plan into its Deployment's template,
// and the Deployment gets no GracefulDrain of its own.
func TestArgoRollouts(t *testing.T) {
	ctx := context.Background()
	g := NewWithT(t)
	installArgoRolloutsCRDs(t)
	ns := newNamespace(t, enforce())
	lbFirst(t, ns)
	eventually(t, func(g Gomega) {
		var n corev1.Namespace
		g.Expect(k8s.Get(ctx, types.NamespacedName{Name: ns}, &n)).To(Succeed())
		g.Expect(n.Labels).To(HaveKey(awslb.ReadinessGateInjectLabel))
	})
	template := map[string]any{
		"metadata": map[string]any{"labels": map[string]any{"app": "web"}},
		"spec": map[string]any{"containers": []any{map[string]any{"name": "app", "image": "example/web:1",
			"ports": []any{map[string]any{"name": "http", "containerPort": int64(8080)}}}}},
	}
	spec := map[string]any{
		"replicas": int64(4),
		"selector": map[string]any{"matchLabels": map[string]any{"app": "web"}},
		"template": template,
		"strategy": map[string]any{"canary": map[string]any{"steps": []any{
			map[string]any{"setWeight": int64(25)}, map[string]any{"pause": map[string]any{}}, map[string]any{"setWeight": int64(50)}}}},
	}
	// The webhook serves Rollouts as soon as the CRD exists (the API server
	// calls it); retry the create until the Rollout kind is served.
	eventually(t, func(g Gomega) {
		g.Expect(k8s.Create(ctx, rolloutObject(ns, "web", spec))).To(Succeed())
	})
	r := getRollout(g, ns, "web")
	grace, _, _ := unstructured.NestedInt64(r.Object, "spec", "template", "spec", "terminationGracePeriodSeconds")
	g.Expect(grace).To(BeEquivalentTo(70), "the Rollout's own create carries the plan")
	eventually(t, func(g Gomega) {
		gd := getGD(g, ns, "web-rollout")
		g.Expect(gd.Status.Workload).To(Equal(&gdv1.WorkloadReference{APIVersion: "argoproj.io/v1alpha1", Kind: "Rollout", Name: "web"}))
		g.Expect(condition(gd, gdv1.ConditionPlanApplied).Reason).To(Equal(gdv1.ReasonAlreadyCompliant))
	})
	// What Argo Rollouts' controller reports at a canary pause step.
	r = getRollout(g, ns, "web")
	r.Object["status"] = map[string]any{"observedGeneration": "1", "phase": "Paused", "message": "CanaryPauseStep",
		"currentStepIndex": int64(1), "pauseConditions": []any{map[string]any{"reason": "CanaryPauseStep", "startTime": "2026-11-30T10:00:00Z"}},
		"replicas": int64(4), "updatedReplicas": int64(1), "availableReplicas": int64(4), "currentPodHash": "abc"}
	g.Expect(k8s.Status().Update(ctx, r)).To(Succeed())
	eventually(t, func(g Gomega) {
		c := condition(getGD(g, ns, "web-rollout"), gdv1.ConditionRolledOut)
		g.Expect(c.Message).To(ContainSubstring("paused at step 2 of 3 (CanaryPauseStep)"))
	})

	// workloadRef: the template lives in a Deployment (scaled to 0 by Argo).
	// The Rollout first, then its Deployment, admitted while the webhook is
	// down: the Rollout's reconciler applies the plan to the Deployment.
	g.Expect(k8s.Create(ctx, rolloutObject(ns, "ref", map[string]any{
		"replicas":    int64(2),
		"workloadRef": map[string]any{"apiVersion": "apps/v1", "kind": "Deployment", "name": "web-template"},
		"strategy":    map[string]any{"canary": map[string]any{"steps": []any{map[string]any{"setWeight": int64(50)}}}},
	}))).To(Succeed())
	tpl := testsupport.ALBApp(ns, "web").Deployment
	tpl.Name, tpl.Spec.Replicas = "web-template", ptr.To[int32](0)
	func() {
		withWebhookDown(t)
		g.Expect(k8s.Create(ctx, tpl)).To(Succeed())
		webhookDown.Store(false)
	}()
	eventually(t, func(g Gomega) {
		gd := getGD(g, ns, "ref-rollout")
		g.Expect(gd.Status.Workload.TemplateFrom).To(Equal("Deployment/web-template"))
		g.Expect(condition(gd, gdv1.ConditionPlanApplied).Reason).To(Equal(gdv1.ReasonApplied))
		d := getDeployment(g, ns, "web-template")
		g.Expect(d.Spec.Template.Spec.TerminationGracePeriodSeconds).To(HaveValue(BeEquivalentTo(70)), "the plan goes where the template lives")
		err := k8s.Get(ctx, types.NamespacedName{Namespace: ns, Name: "web-template"}, &gdv1.GracefulDrain{})
		g.Expect(err).To(HaveOccurred(), "the referenced Deployment is reported by the Rollout's GracefulDrain")
		g.Expect(client.IgnoreNotFound(err)).To(Succeed())
	})
	r = getRollout(g, ns, "ref")
	_, hasTemplate, _ := unstructured.NestedMap(r.Object, "spec", "template")
	g.Expect(hasTemplate).To(BeFalse(), "the Rollout itself is not written")
	g.Expect(strings.Join(operatorPatches(ns, "web-template"), " ")).To(ContainSubstring("PATCH"))
}

// Kubelet version skew: with a node whose kubelet predates the native sleep
// action, new hooks are exec sleeps, and the GracefulDrain says why; once the
// node is gone, new hooks are native again.
func TestSleepMethodFollowsTheKubelets(t *testing.T) {
	ctx := context.Background()
	g := NewWithT(t)
	old := &corev1.Node{ObjectMeta: metav1.ObjectMeta{Name: "ip-10-0-1-7.ec2.internal"}}
	g.Expect(k8s.Create(ctx, old)).To(Succeed())
	t.Cleanup(func() { _ = k8s.Delete(ctx, old) })
	old.Status.NodeInfo.KubeletVersion = "v1.29.15-eks-1552ad0"
	g.Expect(k8s.Status().Update(ctx, old)).To(Succeed())

	ns := newNamespace(t, enforce())
	lbFirst(t, ns)
	// The webhook decides from the cache: retry the create until the old
	// kubelet is known there (the namespace label shows the cache saw the Ingress).
	eventually(t, func(g Gomega) {
		d := testsupport.ALBApp(ns, "web").Deployment
		_ = k8s.Delete(ctx, d)
		g.Expect(k8s.Create(ctx, d)).To(Succeed())
		got := getDeployment(g, ns, "web")
		g.Expect(got.Spec.Template.Spec.Containers[0].Lifecycle).NotTo(BeNil())
		g.Expect(got.Spec.Template.Spec.Containers[0].Lifecycle.PreStop.Exec).NotTo(BeNil(), "exec sleep while a kubelet cannot run the native one")
	})
	eventually(t, func(g Gomega) {
		p := getGD(g, ns, "web").Status.Plan
		g.Expect(p.SleepMethod).To(Equal("Exec"))
		g.Expect(p.SleepMethodReason).To(ContainSubstring("v1.29.15-eks-1552ad0"))
	})

	g.Expect(k8s.Delete(ctx, old)).To(Succeed())
	ns2 := newNamespace(t, enforce())
	lbFirst(t, ns2)
	eventually(t, func(g Gomega) {
		d := testsupport.ALBApp(ns2, "web").Deployment
		_ = k8s.Delete(ctx, d)
		g.Expect(k8s.Create(ctx, d)).To(Succeed())
		g.Expect(getDeployment(g, ns2, "web").Spec.Template.Spec.Containers[0].Lifecycle.PreStop.Sleep).NotTo(BeNil(), "native again")
	})
	// The first Deployment keeps the exec sleep the operator gave it: no rollout for a node going away.
	g.Expect(getDeployment(g, ns, "web").Spec.Template.Spec.Containers[0].Lifecycle.PreStop.Exec).NotTo(BeNil())
}
