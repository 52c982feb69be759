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
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
)

func rollout(spec map[string]any) *unstructured.Unstructured {
	return &unstructured.Unstructured{Object: map[string]any{
		"apiVersion": "argoproj.io/v1alpha1", "kind": "Rollout",
		"metadata": map[string]any{"name": "web", "namespace": "shop", "generation": int64(3)},
		"spec":     spec,
	}}
}

func TestOfRollout(t *testing.T) {
	template := map[string]any{
		"metadata": map[string]any{"labels": map[string]any{"app": "web"}},
		"spec":     map[string]any{"containers": []any{map[string]any{"name": "app", "image": "example/web:1"}}},
	}
	ref := &appsv1.Deployment{ObjectMeta: metav1.ObjectMeta{Namespace: "shop", Name: "web-template"},
		Spec: appsv1.DeploymentSpec{Selector: &metav1.LabelSelector{MatchLabels: map[string]string{"app": "web"}},
			Template: corev1.PodTemplateSpec{Spec: corev1.PodSpec{Containers: []corev1.Container{{Name: "from-deployment"}}}}}}
	workloadRef := map[string]any{"apiVersion": "apps/v1", "kind": "Deployment", "name": "web-template"}
	tests := []struct {
		name          string
		spec          map[string]any
		ref           *appsv1.Deployment
		wantContainer string // "" when the view has no template
		wantFrom      string
		wantErr       bool
	}{
		{name: "own template", spec: map[string]any{"replicas": int64(4), "template": template}, wantContainer: "app"},
		{name: "workloadRef with the Deployment", spec: map[string]any{"workloadRef": workloadRef}, ref: ref, wantContainer: "from-deployment", wantFrom: "Deployment/web-template"},
		{name: "workloadRef, Deployment not found", spec: map[string]any{"workloadRef": workloadRef}},
		{name: "workloadRef to a ReplicaSet is not followed", spec: map[string]any{"workloadRef": map[string]any{"kind": "ReplicaSet", "name": "x"}}},
		{name: "template of the wrong shape", spec: map[string]any{"template": map[string]any{"spec": "not a pod spec"}}, wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			w, err := OfRollout(rollout(tt.spec), tt.ref)
			if (err != nil) != tt.wantErr {
				t.Fatalf("err = %v, want error %v", err, tt.wantErr)
			}
			if w.Kind != Rollout || w.Ref() != "Rollout shop/web" || w.Generation != 3 || w.TemplateFrom != tt.wantFrom {
				t.Fatalf("view %+v", w)
			}
			switch {
			case tt.wantContainer == "" && w.Template != nil:
				t.Fatalf("template %+v, want none", w.Template)
			case tt.wantContainer != "" && (w.Template == nil || w.Containers()[0].Name != tt.wantContainer):
				t.Fatalf("template %+v, want container %s", w.Template, tt.wantContainer)
			}
		})
	}
}

func TestKinds(t *testing.T) {
	for kind, want := range map[Kind][2]string{
		Deployment:  {"apps/v1", "kubectl rollout restart deployment/web"},
		StatefulSet: {"apps/v1", "kubectl rollout restart statefulset/web"},
		DaemonSet:   {"apps/v1", "kubectl rollout restart daemonset/web"},
		Rollout:     {"argoproj.io/v1alpha1", "kubectl argo rollouts restart web"},
	} {
		w := Workload{Kind: kind, Name: "web"}
		if kind.APIVersion() != want[0] || w.RestartCommand() != want[1] {
			t.Errorf("%s: %s, %q", kind, kind.APIVersion(), w.RestartCommand())
		}
	}
	s := &appsv1.StatefulSet{ObjectMeta: metav1.ObjectMeta{Name: "db"}, Spec: appsv1.StatefulSetSpec{Template: corev1.PodTemplateSpec{
		Spec: corev1.PodSpec{Containers: []corev1.Container{{Name: "db"}}}}}}
	if w := OfStatefulSet(s); w.Template != &s.Spec.Template || w.Kind != StatefulSet {
		t.Error("OfStatefulSet does not view the StatefulSet's own template")
	}
	d := &appsv1.DaemonSet{ObjectMeta: metav1.ObjectMeta{Name: "edge"}}
	if w := OfDaemonSet(d); w.Template != &d.Spec.Template || w.Replicas != nil {
		t.Error("OfDaemonSet: own template, no replicas")
	}
}
