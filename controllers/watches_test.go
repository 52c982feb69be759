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
	"sort"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/client/fake"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"

	gdv1 "github.com/gracefuldrain/gracefuldrain/api/v1alpha1"
)

// The map functions decide which Deployments a change reconciles: exactly
// the affected ones, no more (wasted reconciles) and no fewer (missed changes).
// A fake client with the same field indexes is enough for these branches.
func TestMapFunctionsReconcileExactlyTheAffectedDeployments(t *testing.T) {
	deploy := func(ns, name string, labels map[string]string) *appsv1.Deployment {
		return &appsv1.Deployment{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name},
			Spec: appsv1.DeploymentSpec{Template: corev1.PodTemplateSpec{ObjectMeta: metav1.ObjectMeta{Labels: labels}}}}
	}
	svc := func(ns, name string, selector map[string]string) *corev1.Service {
		return &corev1.Service{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name}, Spec: corev1.ServiceSpec{Selector: selector}}
	}
	ingress := func(ns, name, class string, services ...string) *networkingv1.Ingress {
		ing := &networkingv1.Ingress{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name}}
		if class != "" {
			ing.Spec.IngressClassName = ptr.To(class)
		}
		for _, s := range services {
			ing.Spec.Rules = append(ing.Spec.Rules, networkingv1.IngressRule{IngressRuleValue: networkingv1.IngressRuleValue{HTTP: &networkingv1.HTTPIngressRuleValue{
				Paths: []networkingv1.HTTPIngressPath{{Backend: networkingv1.IngressBackend{Service: &networkingv1.IngressServiceBackend{Name: s, Port: networkingv1.ServiceBackendPort{Number: 80}}}}}}}})
		}
		return ing
	}
	objects := []client.Object{
		deploy("shop", "web", map[string]string{"app": "web", "tier": "front"}),
		deploy("shop", "web-canary", map[string]string{"app": "web", "tier": "front", "track": "canary"}),
		deploy("shop", "api", map[string]string{"app": "api"}),
		deploy("other", "web", map[string]string{"app": "web", "tier": "front"}),
		svc("shop", "web", map[string]string{"app": "web"}),
		svc("shop", "canary", map[string]string{"app": "web", "track": "canary"}),
		svc("shop", "none", nil),
		ingress("shop", "public", "alb", "web"),
		ingress("shop", "internal", "", "canary"),
		ingress("other", "public", "alb", "web"),
		&gdv1.GracefulDrain{ObjectMeta: metav1.ObjectMeta{Namespace: "shop", Name: "web"}},
		svc("other", "web", map[string]string{"app": "web"}),
	}
	builder := fake.NewClientBuilder().WithScheme(testScheme).WithObjects(objects...)
	for _, ix := range fieldIndexes() { // the same indexes as the manager's
		builder = builder.WithIndex(ix.object, ix.field, ix.extract)
	}
	c := builder.Build()
	r := &WorkloadReconciler{client: c, kind: deployments}
	ctx := context.Background()
	names := func(reqs []reconcile.Request) []string {
		out := []string{}
		for _, q := range reqs {
			out = append(out, q.Namespace+"/"+q.Name)
		}
		sort.Strings(out)
		return out
	}
	pod := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Namespace: "shop", Name: "web-5d8f-x",
		Labels:          map[string]string{appsv1.DefaultDeploymentUniqueLabelKey: "5d8f"},
		OwnerReferences: []metav1.OwnerReference{{Kind: "ReplicaSet", Name: "web-5d8f"}}}}
	unmanagedPod := pod.DeepCopy()
	unmanagedPod.OwnerReferences[0].Name = "api-5d8f"

	tests := []struct {
		name string
		got  []reconcile.Request
		want []string
	}{
		{"service selects two Deployments of its namespace", r.workloadsOfService(ctx, objects[4]), []string{"shop/web", "shop/web-canary"}},
		{"narrower selector selects one", r.workloadsOfService(ctx, objects[5]), []string{"shop/web-canary"}},
		{"empty selector selects none", r.workloadsOfService(ctx, objects[6]), []string{}},
		{"ingress maps through its Service", r.workloadsOfIngress(ctx, objects[7]), []string{"shop/web", "shop/web-canary"}},
		{"ingress in another namespace stays there", r.workloadsOfIngress(ctx, objects[9]), []string{"other/web"}},
		{"ingress class maps to Ingresses naming it and to class-less ones", r.workloadsOfIngressClass(ctx,
			&networkingv1.IngressClass{ObjectMeta: metav1.ObjectMeta{Name: "alb"}}), []string{"other/web", "shop/web", "shop/web-canary", "shop/web-canary"}}, // the queue drops duplicates
		{"namespace maps to its Deployments", r.workloadsInNamespace(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "shop"}}),
			[]string{"shop/api", "shop/web", "shop/web-canary"}},
		{"pod maps to its Deployment by ReplicaSet name", r.workloadOfPod(ctx, pod), []string{"shop/web"}},
		{"pod of an unmanaged Deployment costs no reconcile", r.workloadOfPod(ctx, unmanagedPod), []string{}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := names(tt.got)
			if len(got) != len(tt.want) {
				t.Fatalf("got %v, want %v", got, tt.want)
			}
			for i := range got {
				if got[i] != tt.want[i] {
					t.Fatalf("got %v, want %v", got, tt.want)
				}
			}
		})
	}
}
