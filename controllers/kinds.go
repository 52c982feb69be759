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
	"strings"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/gracefuldrain/gracefuldrain/internal/plan"
	"github.com/gracefuldrain/gracefuldrain/internal/rollout"
	"github.com/gracefuldrain/gracefuldrain/internal/workload"
)

// workloadKind is what the reconciler, the watches and the webhook need to
// know of one workload kind; everything else they do is the same for every kind.
type workloadKind struct {
	kind workload.Kind
	// newObject returns an empty object of the kind.
	newObject func() client.Object
	// list lists objects of the kind (read-only: never change them).
	list func(ctx context.Context, c client.Reader, opts ...client.ListOption) ([]client.Object, error)
	// templateLabels are the labels of the object's own pod template (nil when
	// it has none: an Argo Rollout with workloadRef).
	templateLabels func(client.Object) map[string]string
	// view is the pure packages' view of an object; c reads what the view
	// needs besides the object (an Argo Rollout's workloadRef Deployment).
	view func(ctx context.Context, c client.Reader, o client.Object) (workload.Workload, error)
	// rollout judges how far the object's current spec has rolled out.
	rollout func(o client.Object, w workload.Workload, pods []corev1.Pod) rollout.Status
	// applyPlan sends the plan by server-side apply to where the template
	// lives and returns the workload's generation after it.
	applyPlan func(ctx context.Context, c client.Client, w workload.Workload, p plan.Plan) (int64, error)
	// ownerOfPod names the workload of the kind a pod belongs to, if any.
	ownerOfPod func(pod client.Object) (string, bool)
	// webhookPath is where the kind's admission webhook is served; the
	// +kubebuilder:webhook markers in admission.go name the same paths.
	webhookPath string
}

// kinds are the workload kinds in the order they are set up. Argo Rollouts'
// kind is set up when its CRD exists (rollouts).
var kinds = []*workloadKind{deployments, statefulSets, daemonSets}

var deployments = &workloadKind{
	kind:           workload.Deployment,
	newObject:      func() client.Object { return &appsv1.Deployment{} },
	list:           listTyped[appsv1.Deployment, *appsv1.Deployment](func() *appsv1.DeploymentList { return &appsv1.DeploymentList{} }, func(l *appsv1.DeploymentList) []appsv1.Deployment { return l.Items }),
	templateLabels: func(o client.Object) map[string]string { return o.(*appsv1.Deployment).Spec.Template.Labels },
	view: func(_ context.Context, _ client.Reader, o client.Object) (workload.Workload, error) {
		return workload.OfDeployment(o.(*appsv1.Deployment)), nil
	},
	rollout: func(o client.Object, _ workload.Workload, _ []corev1.Pod) rollout.Status {
		return rollout.OfDeployment(o.(*appsv1.Deployment))
	},
	applyPlan: func(ctx context.Context, c client.Client, w workload.Workload, p plan.Plan) (int64, error) {
		applied := plan.ApplyConfiguration(w, p)
		if err := c.Apply(ctx, applied, client.FieldOwner(plan.FieldManager), client.ForceOwnership); err != nil {
			return 0, err
		}
		return generationOr(applied.Generation, w.Generation), nil
	},
	ownerOfPod:  ownerThroughReplicaSet(appsv1.DefaultDeploymentUniqueLabelKey),
	webhookPath: "/mutate-apps-v1-deployment",
}

var statefulSets = &workloadKind{
	kind:           workload.StatefulSet,
	newObject:      func() client.Object { return &appsv1.StatefulSet{} },
	list:           listTyped[appsv1.StatefulSet, *appsv1.StatefulSet](func() *appsv1.StatefulSetList { return &appsv1.StatefulSetList{} }, func(l *appsv1.StatefulSetList) []appsv1.StatefulSet { return l.Items }),
	templateLabels: func(o client.Object) map[string]string { return o.(*appsv1.StatefulSet).Spec.Template.Labels },
	view: func(_ context.Context, _ client.Reader, o client.Object) (workload.Workload, error) {
		return workload.OfStatefulSet(o.(*appsv1.StatefulSet)), nil
	},
	rollout: func(o client.Object, _ workload.Workload, _ []corev1.Pod) rollout.Status {
		return rollout.OfStatefulSet(o.(*appsv1.StatefulSet))
	},
	applyPlan: func(ctx context.Context, c client.Client, w workload.Workload, p plan.Plan) (int64, error) {
		applied := plan.StatefulSetApplyConfiguration(w, p)
		if err := c.Apply(ctx, applied, client.FieldOwner(plan.FieldManager), client.ForceOwnership); err != nil {
			return 0, err
		}
		return generationOr(applied.Generation, w.Generation), nil
	},
	ownerOfPod:  ownerDirectly("StatefulSet"),
	webhookPath: "/mutate-apps-v1-statefulset",
}

var daemonSets = &workloadKind{
	kind:           workload.DaemonSet,
	newObject:      func() client.Object { return &appsv1.DaemonSet{} },
	list:           listTyped[appsv1.DaemonSet, *appsv1.DaemonSet](func() *appsv1.DaemonSetList { return &appsv1.DaemonSetList{} }, func(l *appsv1.DaemonSetList) []appsv1.DaemonSet { return l.Items }),
	templateLabels: func(o client.Object) map[string]string { return o.(*appsv1.DaemonSet).Spec.Template.Labels },
	view: func(_ context.Context, _ client.Reader, o client.Object) (workload.Workload, error) {
		return workload.OfDaemonSet(o.(*appsv1.DaemonSet)), nil
	},
	rollout: func(o client.Object, _ workload.Workload, _ []corev1.Pod) rollout.Status {
		return rollout.OfDaemonSet(o.(*appsv1.DaemonSet))
	},
	applyPlan: func(ctx context.Context, c client.Client, w workload.Workload, p plan.Plan) (int64, error) {
		applied := plan.DaemonSetApplyConfiguration(w, p)
		if err := c.Apply(ctx, applied, client.FieldOwner(plan.FieldManager), client.ForceOwnership); err != nil {
			return 0, err
		}
		return generationOr(applied.Generation, w.Generation), nil
	},
	ownerOfPod:  ownerDirectly("DaemonSet"),
	webhookPath: "/mutate-apps-v1-daemonset",
}

// rollouts is Argo Rollouts' Rollout, read as unstructured data. With a
// workloadRef its pod template lives in a Deployment: the view reads that
// Deployment and the plan is applied to it (Argo Rollouts rolls the Rollout
// when the Deployment's template changes).
var rollouts = &workloadKind{
	kind:      workload.Rollout,
	newObject: newRollout,
	list: func(ctx context.Context, c client.Reader, opts ...client.ListOption) ([]client.Object, error) {
		l := &unstructured.UnstructuredList{}
		l.SetGroupVersionKind(workload.RolloutGVK.GroupVersion().WithKind("RolloutList"))
		if err := c.List(ctx, l, append(opts, client.UnsafeDisableDeepCopy)...); err != nil {
			return nil, err
		}
		out := make([]client.Object, 0, len(l.Items))
		for i := range l.Items {
			out = append(out, &l.Items[i])
		}
		return out, nil
	},
	templateLabels: func(o client.Object) map[string]string {
		labels, _, _ := unstructured.NestedStringMap(o.(*unstructured.Unstructured).Object, "spec", "template", "metadata", "labels")
		return labels
	},
	view: func(ctx context.Context, c client.Reader, o client.Object) (workload.Workload, error) {
		u := o.(*unstructured.Unstructured)
		name := workload.RolloutWorkloadRef(u)
		if name == "" {
			return workload.OfRollout(u, nil)
		}
		var ref appsv1.Deployment
		if err := c.Get(ctx, types.NamespacedName{Namespace: u.GetNamespace(), Name: name}, &ref); err != nil {
			return workload.OfRollout(u, nil) // no template: not managed until the Deployment exists
		}
		return workload.OfRollout(u, &ref)
	},
	rollout: func(o client.Object, w workload.Workload, pods []corev1.Pod) rollout.Status {
		return rollout.OfRollout(o.(*unstructured.Unstructured), w.TemplateGeneration, pods)
	},
	applyPlan: func(ctx context.Context, c client.Client, w workload.Workload, p plan.Plan) (int64, error) {
		if w.TemplateFrom != "" {
			// The workloadRef Deployment: its template changes, the Rollout's spec does not.
			ref := w
			ref.Name = strings.TrimPrefix(w.TemplateFrom, "Deployment/")
			if err := c.Apply(ctx, plan.ApplyConfiguration(ref, p), client.FieldOwner(plan.FieldManager), client.ForceOwnership); err != nil {
				return 0, err
			}
			return w.Generation, nil
		}
		applied, err := plan.RolloutApplyConfiguration(w, p)
		if err != nil {
			return 0, err
		}
		if err := c.Apply(ctx, client.ApplyConfigurationFromUnstructured(applied), client.FieldOwner(plan.FieldManager), client.ForceOwnership); err != nil {
			return 0, err
		}
		return w.Generation + 1, nil // a template change bumps it by one
	},
	ownerOfPod:  ownerThroughReplicaSet(workload.RolloutPodTemplateHashLabel),
	webhookPath: "/mutate-argoproj-io-v1alpha1-rollout",
}

func newRollout() client.Object {
	u := &unstructured.Unstructured{}
	u.SetGroupVersionKind(workload.RolloutGVK)
	return u
}

// listTyped lists a typed kind and returns pointers into the list's items.
func listTyped[T any, P interface {
	*T
	client.Object
}, L client.ObjectList](newList func() L, items func(L) []T) func(context.Context, client.Reader, ...client.ListOption) ([]client.Object, error) {
	return func(ctx context.Context, c client.Reader, opts ...client.ListOption) ([]client.Object, error) {
		l := newList()
		if err := c.List(ctx, l, append(opts, client.UnsafeDisableDeepCopy)...); err != nil {
			return nil, err
		}
		all := items(l)
		out := make([]client.Object, 0, len(all))
		for i := range all {
			out = append(out, P(&all[i]))
		}
		return out, nil
	}
}

// generationOr is the generation the apply answered with, else one more than
// before (a template change always bumps it by one).
func generationOr(applied *int64, before int64) int64 {
	if applied != nil {
		return *applied
	}
	return before + 1
}

// ownerThroughReplicaSet maps a pod to the workload that owns its ReplicaSet,
// named <workload>-<hash> with the hash in the pod's hashLabel (Deployments:
// pod-template-hash; Argo Rollouts: rollouts-pod-template-hash).
func ownerThroughReplicaSet(hashLabel string) func(client.Object) (string, bool) {
	return func(pod client.Object) (string, bool) {
		hash := pod.GetLabels()[hashLabel]
		if hash == "" {
			return "", false
		}
		for _, ref := range pod.GetOwnerReferences() {
			if ref.Kind == "ReplicaSet" && strings.HasSuffix(ref.Name, "-"+hash) && len(ref.Name) > len(hash)+1 {
				return strings.TrimSuffix(ref.Name, "-"+hash), true
			}
		}
		return "", false
	}
}

// ownerDirectly maps a pod to the workload of that kind that owns it.
func ownerDirectly(kind string) func(client.Object) (string, bool) {
	return func(pod client.Object) (string, bool) {
		for _, ref := range pod.GetOwnerReferences() {
			if ref.Kind == kind && ref.Controller != nil && *ref.Controller {
				return ref.Name, true
			}
		}
		return "", false
	}
}

// drainName is the name of a workload's GracefulDrain: a Deployment's has the
// Deployment's name (the rule users already rely on); another kind's is
// <name>-<kind>, so that a StatefulSet web and a Deployment web in one
// namespace get web-statefulset and web. Should a Deployment itself be named
// web-statefulset next to a StatefulSet web, the GracefulDrain belongs to the
// workload that got it first (its ownerReference says which); the other is
// reported with a Warning Event and left alone.
func drainName(k workload.Kind, name string) string {
	if k == workload.Deployment {
		return name
	}
	return name + "-" + strings.ToLower(string(k))
}
