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
	"fmt"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/apimachinery/pkg/watch"
	"k8s.io/client-go/rest"
	toolscache "k8s.io/client-go/tools/cache"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/cache"
	"sigs.k8s.io/controller-runtime/pkg/client"

	gdv1 "github.com/gracefuldrain/gracefuldrain/api/v1alpha1"
)

// The mapping benchmarks measure what one Service or Ingress event costs the
// operator: the map function that turns it into the Deployments it affects,
// reading through the real controller-runtime informer cache and the field
// indexes of SetupIndexes, at 10,000 Deployments, Services and Ingresses.
// The cache is filled from memory (no API server), so only the lookup is timed.
//
//	go test ./controllers -run '^$' -bench Mapping -benchmem
//
// (The package's TestMain starts envtest, so KUBEBUILDER_ASSETS must be set;
// the benchmarks themselves do not use it.)

const benchObjects = 10000

// benchFleet is benchObjects Deployments, each selected by one Service that
// one ALB Ingress points at. perNamespace sets how they are spread out;
// sharedFirstPair gives every Service selector a first (sorted) key=value pair
// that all Deployments of the namespace share, the index's worst case.
func benchFleet(perNamespace int, sharedFirstPair bool) map[schema.GroupVersionKind][]runtime.Object {
	out := map[schema.GroupVersionKind][]runtime.Object{}
	add := func(kind schema.GroupVersionKind, o runtime.Object) { out[kind] = append(out[kind], o) }
	for i := 0; i < benchObjects; i++ {
		ns := fmt.Sprintf("ns-%04d", i/perNamespace)
		name := fmt.Sprintf("web-%d", i%perNamespace)
		selector := map[string]string{"name": name}
		if sharedFirstPair {
			selector["app"] = "shop" // sorts before "name=..."
		}
		labels := map[string]string{"name": name, "app": "shop", "team": "payments"}
		add(appsv1.SchemeGroupVersion.WithKind("Deployment"), &appsv1.Deployment{
			ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: ns, ResourceVersion: "1"},
			Spec: appsv1.DeploymentSpec{
				Selector: &metav1.LabelSelector{MatchLabels: selector},
				Template: corev1.PodTemplateSpec{
					ObjectMeta: metav1.ObjectMeta{Labels: labels},
					Spec: corev1.PodSpec{Containers: []corev1.Container{{
						Name: "app", Image: "nginx", Ports: []corev1.ContainerPort{{Name: "http", ContainerPort: 8080}},
					}}},
				},
			},
		})
		add(corev1.SchemeGroupVersion.WithKind("Service"), &corev1.Service{
			ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: ns, ResourceVersion: "1"},
			Spec:       corev1.ServiceSpec{Selector: selector, Ports: []corev1.ServicePort{{Port: 80, TargetPort: intstr.FromString("http")}}},
		})
		add(networkingv1.SchemeGroupVersion.WithKind("Ingress"), &networkingv1.Ingress{
			ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: ns, ResourceVersion: "1", Annotations: map[string]string{
				"kubernetes.io/ingress.class": "alb", "alb.ingress.kubernetes.io/target-type": "ip",
			}},
			Spec: networkingv1.IngressSpec{Rules: []networkingv1.IngressRule{{
				IngressRuleValue: networkingv1.IngressRuleValue{HTTP: &networkingv1.HTTPIngressRuleValue{
					Paths: []networkingv1.HTTPIngressPath{{Path: "/", Backend: networkingv1.IngressBackend{
						Service: &networkingv1.IngressServiceBackend{Name: name, Port: networkingv1.ServiceBackendPort{Number: 80}},
					}}},
				}},
			}}},
		})
	}
	add(networkingv1.SchemeGroupVersion.WithKind("IngressClass"), &networkingv1.IngressClass{
		ObjectMeta: metav1.ObjectMeta{Name: "alb", ResourceVersion: "1"},
		Spec:       networkingv1.IngressClassSpec{Controller: "ingress.k8s.aws/alb"},
	})
	return out
}

// staticListWatch serves a fixed list and a watch that never sends, and says
// it cannot do watch-list (streaming initial events), so the reflector lists.
type staticListWatch struct{ toolscache.ListWatch }

func (*staticListWatch) IsWatchListSemanticsUnSupported() bool { return true }

// fieldIndexerManager lets SetupIndexes register its indexes on a bare cache;
// only GetFieldIndexer is called.
type fieldIndexerManager struct {
	ctrl.Manager
	indexer client.FieldIndexer
}

func (m fieldIndexerManager) GetFieldIndexer() client.FieldIndexer { return m.indexer }

// benchReconciler returns a reconciler whose reads go to an informer cache
// holding objs, with the operator's field indexes and cache transforms.
func benchReconciler(b *testing.B, objs map[schema.GroupVersionKind][]runtime.Object) *WorkloadReconciler {
	b.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	b.Cleanup(cancel)
	mapper := meta.NewDefaultRESTMapper(nil)
	for _, gvk := range []schema.GroupVersionKind{
		appsv1.SchemeGroupVersion.WithKind("Deployment"), corev1.SchemeGroupVersion.WithKind("Service"),
		appsv1.SchemeGroupVersion.WithKind("StatefulSet"), appsv1.SchemeGroupVersion.WithKind("DaemonSet"),
		networkingv1.SchemeGroupVersion.WithKind("Ingress"), corev1.SchemeGroupVersion.WithKind("Pod"),
		gdv1.GroupVersion.WithKind("GracefulDrain"),
	} {
		mapper.Add(gvk, meta.RESTScopeNamespace)
	}
	for _, gvk := range []schema.GroupVersionKind{
		networkingv1.SchemeGroupVersion.WithKind("IngressClass"), corev1.SchemeGroupVersion.WithKind("Namespace"),
		corev1.SchemeGroupVersion.WithKind("Node"),                                       // CacheOptions slims Nodes
		{Group: "apiextensions.k8s.io", Version: "v1", Kind: "CustomResourceDefinition"}, // CacheOptions watches one CRD's metadata
	} {
		mapper.Add(gvk, meta.RESTScopeRoot)
	}
	opts := CacheOptions()
	opts.Scheme, opts.Mapper = testScheme, mapper
	opts.NewInformer = func(_ toolscache.ListerWatcher, example runtime.Object, resync time.Duration, indexers toolscache.Indexers) toolscache.SharedIndexInformer {
		gvks, _, err := testScheme.ObjectKinds(example)
		if err != nil {
			b.Fatal(err)
		}
		gvk := gvks[0]
		lw := &staticListWatch{toolscache.ListWatch{
			ListFunc: func(metav1.ListOptions) (runtime.Object, error) {
				list, err := testScheme.New(gvk.GroupVersion().WithKind(gvk.Kind + "List"))
				if err != nil {
					return nil, err
				}
				items := make([]runtime.Object, 0, len(objs[gvk]))
				for _, o := range objs[gvk] {
					items = append(items, o.DeepCopyObject())
				}
				if err := meta.SetList(list, items); err != nil {
					return nil, err
				}
				list.(metav1.ListInterface).SetResourceVersion("1")
				return list, nil
			},
			WatchFunc: func(metav1.ListOptions) (watch.Interface, error) { return watch.NewFake(), nil },
		}}
		return toolscache.NewSharedIndexInformer(lw, example, resync, indexers)
	}
	// No request reaches this address: the informers list from memory.
	c, err := cache.New(&rest.Config{Host: "http://127.0.0.1:1"}, opts)
	if err != nil {
		b.Fatal(err)
	}
	if err := SetupIndexes(ctx, fieldIndexerManager{indexer: c}); err != nil {
		b.Fatal(err)
	}
	go func() { _ = c.Start(ctx) }()
	if !c.WaitForCacheSync(ctx) {
		b.Fatal("cache not synced")
	}
	for _, o := range []client.Object{&appsv1.Deployment{}, &corev1.Service{}, &networkingv1.Ingress{}, &networkingv1.IngressClass{}} {
		if _, err := c.GetInformer(ctx, o); err != nil { // blocks until listed
			b.Fatal(err)
		}
	}
	cl, err := client.New(&rest.Config{Host: "http://127.0.0.1:1"}, client.Options{
		Scheme: testScheme, Mapper: mapper, Cache: &client.CacheOptions{Reader: c},
	})
	if err != nil {
		b.Fatal(err)
	}
	return &WorkloadReconciler{client: cl, kind: deployments}
}

func benchmarkMapping(b *testing.B, perNamespace int, sharedFirstPair bool) {
	objs := benchFleet(perNamespace, sharedFirstPair)
	r := benchReconciler(b, objs)
	ctx := context.Background()
	svcs := objs[corev1.SchemeGroupVersion.WithKind("Service")]
	ings := objs[networkingv1.SchemeGroupVersion.WithKind("Ingress")]
	class := objs[networkingv1.SchemeGroupVersion.WithKind("IngressClass")][0].(*networkingv1.IngressClass)

	b.Run("Service", func(b *testing.B) {
		b.ReportAllocs()
		i := 0
		for b.Loop() {
			if got := r.workloadsOfService(ctx, svcs[i%len(svcs)].(*corev1.Service)); len(got) != 1 {
				b.Fatalf("Service mapped to %d Deployments, want 1", len(got))
			}
			i++
		}
	})
	b.Run("Ingress", func(b *testing.B) {
		b.ReportAllocs()
		i := 0
		for b.Loop() {
			if got := r.workloadsOfIngress(ctx, ings[i%len(ings)].(*networkingv1.Ingress)); len(got) != 1 {
				b.Fatalf("Ingress mapped to %d Deployments, want 1", len(got))
			}
			i++
		}
	})
	// An IngressClass change fans out to every Ingress without a class name:
	// here all 10,000, so this is one event that re-queues the whole fleet.
	// Not run with a shared first selector pair: each of the 10,000 Ingress
	// lookups then copies the whole namespace (10^8 Deployment copies an op).
	if sharedFirstPair {
		return
	}
	b.Run("IngressClassFanOut", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if got := r.workloadsOfIngressClass(ctx, class); len(got) != benchObjects {
				b.Fatalf("IngressClass mapped to %d Deployments, want %d", len(got), benchObjects)
			}
		}
	})
}

// BenchmarkMapping10kSpread: 10,000 Deployments in 1,000 namespaces of 10.
func BenchmarkMapping10kSpread(b *testing.B) { benchmarkMapping(b, 10, false) }

// BenchmarkMapping10kOneNamespace: 10,000 Deployments in one namespace.
func BenchmarkMapping10kOneNamespace(b *testing.B) { benchmarkMapping(b, benchObjects, false) }

// BenchmarkMapping10kSharedSelectorLabel: one namespace of 10,000 whose
// Service selectors all start (sorted) with app=shop, the label the template
// index is looked up by: every lookup then returns the whole namespace.
func BenchmarkMapping10kSharedSelectorLabel(b *testing.B) { benchmarkMapping(b, benchObjects, true) }
