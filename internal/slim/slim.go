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

// Package slim trims objects before they enter the informer cache, so the
// operator holds only the fields it reads.
package slim

import (
	"strings"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"sigs.k8s.io/structured-merge-diff/v6/fieldpath"

	"github.com/gracefuldrain/gracefuldrain/internal/fieldowners"
	"github.com/gracefuldrain/gracefuldrain/internal/workload"
)

// KeepOwnManagedFields drops every managedFields entry except the given
// manager's: those entries are often the largest part of an object, and the
// operator only needs its own to know which fields it owns.
func KeepOwnManagedFields(manager string) func(any) (any, error) {
	return func(in any) (any, error) {
		obj, err := meta.Accessor(in)
		if err != nil {
			return in, nil // not an object (e.g. a tombstone): pass through
		}
		fields := obj.GetManagedFields()
		if len(fields) == 0 {
			return in, nil
		}
		kept := make([]metav1.ManagedFieldsEntry, 0, 1)
		for _, f := range fields {
			if f.Manager == manager {
				kept = append(kept, f)
			}
		}
		if len(kept) == 0 {
			kept = nil
		}
		obj.SetManagedFields(kept)
		return in, nil
	}
}

// KeepManagedFieldsOwning keeps the given manager's entry and the entries
// that own the field at path (for a namespace: who set a label, and when).
func KeepManagedFieldsOwning(manager string, path fieldpath.Path) func(any) (any, error) {
	return func(in any) (any, error) {
		obj, err := meta.Accessor(in)
		if err != nil {
			return in, nil
		}
		var kept []metav1.ManagedFieldsEntry
		for _, f := range obj.GetManagedFields() {
			if f.Manager == manager || fieldowners.EntryOwns(f, path) {
				kept = append(kept, f)
			}
		}
		obj.SetManagedFields(kept)
		return in, nil
	}
}

// LastAppliedAnnotation is kubectl's copy of the whole last applied manifest:
// often the largest part of an object, and never read by the operator.
const LastAppliedAnnotation = "kubectl.kubernetes.io/last-applied-configuration"

// Chain runs transforms in order.
func Chain(transforms ...func(any) (any, error)) func(any) (any, error) {
	return func(in any) (any, error) {
		var err error
		for _, t := range transforms {
			if in, err = t(in); err != nil {
				return in, err
			}
		}
		return in, nil
	}
}

// DropUnread removes what the operator never reads of the kinds it caches:
// kubectl's last-applied copy everywhere; for Deployments, StatefulSets,
// DaemonSets and Argo Rollouts (cached unstructured) their own labels, their
// annotations but the operator's (OperatorKeyPrefix), their pod template's
// annotations and everything of its spec but what the plan reads
// (ReadPodSpec); the labels and status of Services and Ingresses, and an
// IngressClass's labels; a Namespace's spec and status. Selectors and pod
// template labels stay: Services select templates and workloads select pods
// by them. The operator writes workloads only by server-side apply of its own
// fields, never by sending a cached object back, so nothing dropped here can
// be lost.
func DropUnread(in any) (any, error) {
	if obj, err := meta.Accessor(in); err == nil {
		if a := obj.GetAnnotations(); a != nil {
			if _, ok := a[LastAppliedAnnotation]; ok {
				delete(a, LastAppliedAnnotation)
				obj.SetAnnotations(a)
			}
		}
	}
	switch o := in.(type) {
	case *appsv1.Deployment:
		dropUnreadWorkloadMeta(&o.ObjectMeta, &o.Spec.Template.ObjectMeta)
		o.Spec.Template.Spec = ReadPodSpec(&o.Spec.Template.Spec)
	case *appsv1.StatefulSet:
		dropUnreadWorkloadMeta(&o.ObjectMeta, &o.Spec.Template.ObjectMeta)
		o.Spec.Template.Spec = ReadPodSpec(&o.Spec.Template.Spec)
	case *appsv1.DaemonSet:
		dropUnreadWorkloadMeta(&o.ObjectMeta, &o.Spec.Template.ObjectMeta)
		o.Spec.Template.Spec = ReadPodSpec(&o.Spec.Template.Spec)
	case *corev1.Service:
		o.Labels, o.Status = nil, corev1.ServiceStatus{}
	case *networkingv1.Ingress:
		o.Labels, o.Status = nil, networkingv1.IngressStatus{}
	case *networkingv1.IngressClass:
		o.Labels = nil
	case *corev1.Namespace:
		o.Spec, o.Status = corev1.NamespaceSpec{}, corev1.NamespaceStatus{}
	case *unstructured.Unstructured:
		if o.GroupVersionKind().GroupKind() == workload.RolloutGVK.GroupKind() {
			o.SetLabels(nil)
			o.SetAnnotations(operatorKeys(o.GetAnnotations()))
			unstructured.RemoveNestedField(o.Object, "spec", "template", "metadata", "annotations")
			if spec, ok, _ := unstructured.NestedMap(o.Object, "spec", "template", "spec"); ok {
				_ = unstructured.SetNestedMap(o.Object, readPodSpecUnstructured(spec), "spec", "template", "spec")
			}
		}
	}
	return in, nil
}

// dropUnreadWorkloadMeta keeps of a workload's metadata and its pod
// template's what DropUnread says.
func dropUnreadWorkloadMeta(m, template *metav1.ObjectMeta) {
	m.Labels = nil
	m.Annotations = operatorKeys(m.Annotations)
	template.Annotations = nil
}

// OperatorKeyPrefix begins every annotation the operator reads on a workload
// (internal/settings: gracefuldrain.io/mode, gracefuldrain.io/prestop-seconds, ...;
// its tests check that each key has it).
const OperatorKeyPrefix = "gracefuldrain.io/"

// operatorKeys returns the annotations with the operator's prefix, or nil
// when there are none (a map per object costs more than its keys).
func operatorKeys(annotations map[string]string) map[string]string {
	var out map[string]string
	for k, v := range annotations {
		if strings.HasPrefix(k, OperatorKeyPrefix) {
			if out == nil {
				out = map[string]string{}
			}
			out[k] = v
		}
	}
	return out
}

// readContainerFields are the JSON names of the container fields
// readContainers keeps.
var readContainerFields = []string{"name", "ports", "restartPolicy", "lifecycle", "readinessProbe", "livenessProbe", "startupProbe"}

// readPodSpecUnstructured is ReadPodSpec of a pod spec read as unstructured
// data (an Argo Rollout's template): the same fields, in the same form.
func readPodSpecUnstructured(spec map[string]any) map[string]any {
	out := map[string]any{}
	if grace, ok := spec["terminationGracePeriodSeconds"]; ok {
		out["terminationGracePeriodSeconds"] = grace
	}
	for _, key := range []string{"containers", "initContainers"} {
		containers, ok := spec[key].([]any)
		if !ok {
			continue
		}
		kept := make([]any, len(containers))
		for i, c := range containers {
			full, ok := c.(map[string]any)
			if !ok {
				kept[i] = c // not a container: left for the view to report
				continue
			}
			read := map[string]any{}
			for _, f := range readContainerFields {
				if v, ok := full[f]; ok {
					read[f] = v
				}
			}
			kept[i] = read
		}
		out[key] = kept
	}
	return out
}

// ReadPodSpec is the part of a pod template that the plan, discovery and
// status read: the grace period and, of each container and init container,
// its name, ports, probes, lifecycle hooks and restart policy (native
// sidecars). Images, env, resources, volumes, affinity and the like are dropped.
func ReadPodSpec(s *corev1.PodSpec) corev1.PodSpec {
	return corev1.PodSpec{
		Containers:                    readContainers(s.Containers),
		InitContainers:                readContainers(s.InitContainers),
		TerminationGracePeriodSeconds: s.TerminationGracePeriodSeconds,
	}
}

// readContainers keeps of each container the fields readContainerFields names.
func readContainers(cs []corev1.Container) []corev1.Container {
	if cs == nil {
		return nil
	}
	out := make([]corev1.Container, len(cs))
	for i := range cs {
		c := &cs[i]
		out[i] = corev1.Container{
			Name: c.Name, Ports: c.Ports, RestartPolicy: c.RestartPolicy, Lifecycle: c.Lifecycle,
			ReadinessProbe: c.ReadinessProbe, LivenessProbe: c.LivenessProbe, StartupProbe: c.StartupProbe,
		}
	}
	return out
}

// DropManagedFields removes every managedFields entry, for objects whose
// field ownership the operator never reads (its own GracefulDrains, whose
// entries describe their whole status).
func DropManagedFields(in any) (any, error) {
	if obj, err := meta.Accessor(in); err == nil {
		obj.SetManagedFields(nil)
	}
	return in, nil
}

// Pod keeps what the operator reads of a pod: identity, labels and owners,
// readiness gates, phase, the Ready condition, and the last termination of
// containers that have restarted (to tell liveness-probe restarts). Everything
// else (the whole container spec, volumes, env, the other conditions and the
// state of containers that never restarted) is dropped, so watching pods costs
// a small fraction of a full pod cache.
func Pod(in any) (any, error) {
	p, ok := in.(*corev1.Pod)
	if !ok {
		return in, nil
	}
	out := &corev1.Pod{
		TypeMeta: p.TypeMeta,
		ObjectMeta: metav1.ObjectMeta{
			Name:              p.Name,
			Namespace:         p.Namespace,
			UID:               p.UID,
			ResourceVersion:   p.ResourceVersion,
			Generation:        p.Generation,
			CreationTimestamp: p.CreationTimestamp,
			DeletionTimestamp: p.DeletionTimestamp,
			Labels:            p.Labels,
			OwnerReferences:   p.OwnerReferences,
		},
		Spec:   corev1.PodSpec{ReadinessGates: p.Spec.ReadinessGates},
		Status: corev1.PodStatus{Phase: p.Status.Phase},
	}
	for _, c := range p.Status.Conditions {
		if c.Type == corev1.PodReady {
			out.Status.Conditions = []corev1.PodCondition{{Type: c.Type, Status: c.Status}}
		}
	}
	for _, cs := range p.Status.ContainerStatuses {
		t := cs.LastTerminationState.Terminated
		if cs.RestartCount == 0 || t == nil {
			continue
		}
		out.Status.ContainerStatuses = append(out.Status.ContainerStatuses, corev1.ContainerStatus{
			Name:         cs.Name,
			RestartCount: cs.RestartCount,
			LastTerminationState: corev1.ContainerState{Terminated: &corev1.ContainerStateTerminated{
				ExitCode: t.ExitCode, Reason: t.Reason, FinishedAt: t.FinishedAt,
			}},
		})
	}
	return out, nil
}

// Node keeps of a node only its name and kubelet version, which decide
// whether the kubelet runs the native preStop sleep: a node's images, labels
// and conditions are the largest part of it and never read.
func Node(in any) (any, error) {
	n, ok := in.(*corev1.Node)
	if !ok {
		return in, nil
	}
	return &corev1.Node{
		TypeMeta:   n.TypeMeta,
		ObjectMeta: metav1.ObjectMeta{Name: n.Name, UID: n.UID, ResourceVersion: n.ResourceVersion},
		Status:     corev1.NodeStatus{NodeInfo: corev1.NodeSystemInfo{KubeletVersion: n.Status.NodeInfo.KubeletVersion}},
	}, nil
}
