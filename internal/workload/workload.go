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

// Package workload is the one view of a pod-template-owning object that
// discovery, the plan and the status read, whatever its kind: a Deployment
// today, and StatefulSets, DaemonSets and Argo Rollouts through the same view.
package workload

import (
	"strings"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
)

// Kind is the kind of a workload gracefuldrain manages.
type Kind string

const (
	Deployment  Kind = "Deployment"
	StatefulSet Kind = "StatefulSet"
	DaemonSet   Kind = "DaemonSet"
	// Rollout is Argo Rollouts' argoproj.io/v1alpha1 Rollout.
	Rollout Kind = "Rollout"
)

// Kinds are the workload kinds gracefuldrain manages, in the order it reports them.
var Kinds = []Kind{Deployment, StatefulSet, DaemonSet, Rollout}

// APIVersion of the kind.
func (k Kind) APIVersion() string {
	if k == Rollout {
		return "argoproj.io/v1alpha1"
	}
	return "apps/v1"
}

// Workload is a workload as the pure packages see it. Template and
// ManagedFields belong to the object that holds the pod template, which is
// where the plan goes.
type Workload struct {
	// Object is the object viewed, for callers that need it whole (Events).
	Object      runtime.Object
	Kind        Kind
	Namespace   string
	Name        string
	Generation  int64
	Annotations map[string]string
	// Template is the pod template the plan reads and goes into. Never nil.
	Template *corev1.PodTemplateSpec
	// ManagedFields of the object that holds Template: who owns which field.
	ManagedFields []metav1.ManagedFieldsEntry
	// Replicas wanted; nil means the kind's default (1 for a Deployment).
	Replicas *int32
	// Selector selects the workload's pods.
	Selector *metav1.LabelSelector
	// TemplateFrom names the object holding Template when it is not the
	// workload itself ("Deployment/web" for an Argo Rollout's workloadRef),
	// and TemplateGeneration is that object's generation.
	TemplateFrom       string
	TemplateGeneration int64
}

// OfDeployment is the view of a Deployment; it shares the Deployment's memory.
func OfDeployment(d *appsv1.Deployment) Workload {
	return Workload{
		Object:        d,
		Kind:          Deployment,
		Namespace:     d.Namespace,
		Name:          d.Name,
		Generation:    d.Generation,
		Annotations:   d.Annotations,
		Template:      &d.Spec.Template,
		ManagedFields: d.ManagedFields,
		Replicas:      d.Spec.Replicas,
		Selector:      d.Spec.Selector,
	}
}

// OfStatefulSet is the view of a StatefulSet; it shares the object's memory.
func OfStatefulSet(s *appsv1.StatefulSet) Workload {
	return Workload{
		Object: s, Kind: StatefulSet, Namespace: s.Namespace, Name: s.Name, Generation: s.Generation,
		Annotations: s.Annotations, Template: &s.Spec.Template, ManagedFields: s.ManagedFields,
		Replicas: s.Spec.Replicas, Selector: s.Spec.Selector,
	}
}

// OfDaemonSet is the view of a DaemonSet; it shares the object's memory.
// Replicas is nil: a DaemonSet runs one pod per eligible node.
func OfDaemonSet(d *appsv1.DaemonSet) Workload {
	return Workload{
		Object: d, Kind: DaemonSet, Namespace: d.Namespace, Name: d.Name, Generation: d.Generation,
		Annotations: d.Annotations, Template: &d.Spec.Template, ManagedFields: d.ManagedFields,
		Selector: d.Spec.Selector,
	}
}

// Ref names the workload for messages: "Deployment shop/web".
func (w Workload) Ref() string {
	return string(w.Kind) + " " + w.Namespace + "/" + w.Name
}

// Containers are the regular containers of the pod template.
func (w Workload) Containers() []corev1.Container {
	if w.Template == nil {
		return nil
	}
	return w.Template.Spec.Containers
}

// RestartCommand is the kubectl command that rolls the workload's pods, for
// messages that tell a person how to give existing pods something only new
// pods get.
func (w Workload) RestartCommand() string {
	if w.Kind == Rollout {
		return "kubectl argo rollouts restart " + w.Name
	}
	return "kubectl rollout restart " + strings.ToLower(string(w.Kind)) + "/" + w.Name
}
