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

package workload

import (
	"fmt"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
)

// Argo Rollouts' Rollout, read as unstructured data so that gracefuldrain
// does not depend on Argo Rollouts' Go module; its CRD may be absent.
var (
	RolloutGVK = schema.GroupVersionKind{Group: "argoproj.io", Version: "v1alpha1", Kind: "Rollout"}
	// RolloutCRDName is the name of its CustomResourceDefinition.
	RolloutCRDName = "rollouts.argoproj.io"
)

// RolloutPodTemplateHashLabel is the label Argo Rollouts puts on a Rollout's
// ReplicaSets and pods (and adds to its Services' selectors).
const RolloutPodTemplateHashLabel = "rollouts-pod-template-hash"

// RolloutWorkloadRef returns the name of the Deployment whose pod template a
// Rollout uses (spec.workloadRef), "" when the Rollout has a template of its
// own or refers to another kind (a ReplicaSet or PodTemplate, which
// gracefuldrain does not manage).
func RolloutWorkloadRef(u *unstructured.Unstructured) string {
	kind, _, _ := unstructured.NestedString(u.Object, "spec", "workloadRef", "kind")
	name, _, _ := unstructured.NestedString(u.Object, "spec", "workloadRef", "name")
	if kind != "Deployment" {
		return ""
	}
	return name
}

// OfRollout is the view of an Argo Rollout. A Rollout with a workloadRef has
// no template of its own: ref is the Deployment it names, whose template and
// managedFields the view carries (the plan goes there); without ref such a
// view has no template. The Template of a Rollout with its own template is a
// converted copy: changes to it do not reach u (see plan.MutateRollout).
func OfRollout(u *unstructured.Unstructured, ref *appsv1.Deployment) (Workload, error) {
	w := Workload{
		Object: u, Kind: Rollout, Namespace: u.GetNamespace(), Name: u.GetName(), Generation: u.GetGeneration(),
		Annotations: u.GetAnnotations(), ManagedFields: u.GetManagedFields(),
	}
	if n, found, err := unstructured.NestedInt64(u.Object, "spec", "replicas"); err == nil && found {
		r := int32(n)
		w.Replicas = &r
	}
	if sel, found, _ := unstructured.NestedMap(u.Object, "spec", "selector"); found {
		var s metav1.LabelSelector
		if err := runtime.DefaultUnstructuredConverter.FromUnstructured(sel, &s); err != nil {
			return w, fmt.Errorf("Rollout %s/%s spec.selector: %w", w.Namespace, w.Name, err)
		}
		w.Selector = &s
	}
	if name := RolloutWorkloadRef(u); name != "" {
		if ref != nil {
			w.Template, w.ManagedFields = &ref.Spec.Template, ref.ManagedFields
			w.TemplateFrom, w.TemplateGeneration = "Deployment/"+ref.Name, ref.Generation
			if w.Selector == nil {
				w.Selector = ref.Spec.Selector
			}
		}
		return w, nil
	}
	raw, found, _ := unstructured.NestedMap(u.Object, "spec", "template")
	if !found {
		return w, nil
	}
	var t corev1.PodTemplateSpec
	if err := runtime.DefaultUnstructuredConverter.FromUnstructured(raw, &t); err != nil {
		return w, fmt.Errorf("Rollout %s/%s spec.template: %w", w.Namespace, w.Name, err)
	}
	w.Template = &t
	return w, nil
}
