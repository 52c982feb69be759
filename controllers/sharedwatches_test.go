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
	"sync/atomic"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"
	toolscache "k8s.io/client-go/tools/cache"
	"k8s.io/client-go/util/workqueue"
	"sigs.k8s.io/controller-runtime/pkg/cache/informertest"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/controller/controllertest"
	"sigs.k8s.io/controller-runtime/pkg/event"
	"sigs.k8s.io/controller-runtime/pkg/handler"
	"sigs.k8s.io/controller-runtime/pkg/predicate"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"
)

// countingInformer counts the event handlers registered on it: each is a
// client-go listener with goroutines and a buffer of its own.
type countingInformer struct {
	*controllertest.FakeInformer
	handlers atomic.Int32
}

func (i *countingInformer) AddEventHandlerWithOptions(h toolscache.ResourceEventHandler, o toolscache.HandlerOptions) (toolscache.ResourceEventHandlerRegistration, error) {
	i.handlers.Add(1)
	return i.FakeInformer.AddEventHandlerWithOptions(h, o)
}

func TestSharedWatches(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	informer := &countingInformer{FakeInformer: &controllertest.FakeInformer{Synced: true}}
	fakeCache := &informertest.FakeInformers{InformersByGVK: map[schema.GroupVersionKind]toolscache.SharedIndexInformer{
		corev1.SchemeGroupVersion.WithKind("Service"): informer,
	}}
	watches := newSharedWatches(fakeCache)

	// Each controller maps a Service to a request of its own kind.
	mapTo := func(kind string) handler.EventHandler {
		return handler.EnqueueRequestsFromMapFunc(func(_ context.Context, o client.Object) []reconcile.Request {
			return []reconcile.Request{{NamespacedName: types.NamespacedName{Namespace: o.GetNamespace(), Name: kind + "/" + o.GetName()}}}
		})
	}
	newQueue := func() workqueue.TypedRateLimitingInterface[reconcile.Request] {
		return workqueue.NewTypedRateLimitingQueue(workqueue.DefaultTypedControllerRateLimiter[reconcile.Request]())
	}
	drain := func(q workqueue.TypedRateLimitingInterface[reconcile.Request]) []string {
		var got []string
		for q.Len() > 0 {
			r, _ := q.Get()
			got = append(got, r.Name)
			q.Done(r)
			q.Forget(r)
		}
		return got
	}
	start := func(kind string, q workqueue.TypedRateLimitingInterface[reconcile.Request], preds ...predicate.Predicate) {
		t.Helper()
		src := watches.source(&corev1.Service{}, mapTo(kind), preds...)
		if err := src.Start(ctx, q); err != nil {
			t.Fatalf("start %s: %v", kind, err)
		}
		if err := src.WaitForSync(ctx); err != nil {
			t.Fatalf("sync %s: %v", kind, err)
		}
	}
	noUpdates := predicate.Funcs{UpdateFunc: func(event.UpdateEvent) bool { return false }}

	deployments, statefulSets := newQueue(), newQueue()
	start("deployment", deployments)
	start("statefulset", statefulSets, noUpdates)
	if n := informer.handlers.Load(); n != 1 {
		t.Fatalf("%d event handlers on the Service informer for 2 controllers, want 1", n)
	}

	svc := &corev1.Service{ObjectMeta: metav1.ObjectMeta{Namespace: "shop", Name: "web"}}
	informer.Add(svc)
	if got := drain(deployments); len(got) != 1 || got[0] != "deployment/web" {
		t.Fatalf("deployment queue after a create: %v", got)
	}
	if got := drain(statefulSets); len(got) != 1 || got[0] != "statefulset/web" {
		t.Fatalf("statefulset queue after a create: %v", got)
	}

	// Predicates are each controller's own.
	informer.Update(svc, svc.DeepCopy())
	if got := drain(deployments); len(got) != 1 {
		t.Fatalf("deployment queue after an update: %v", got)
	}
	if got := drain(statefulSets); len(got) != 0 {
		t.Fatalf("statefulset queue after an update its predicate refuses: %v", got)
	}

	// A controller that starts later (Argo Rollouts, when its CRD appears)
	// joins the same handler and gets the events from then on.
	rollouts := newQueue()
	start("rollout", rollouts)
	if n := informer.handlers.Load(); n != 1 {
		t.Fatalf("%d event handlers after a third controller joined, want 1", n)
	}
	informer.Delete(svc)
	for kind, q := range map[string]workqueue.TypedRateLimitingInterface[reconcile.Request]{
		"deployment": deployments, "statefulset": statefulSets, "rollout": rollouts,
	} {
		if got := drain(q); len(got) != 1 || got[0] != kind+"/web" {
			t.Errorf("%s queue after a delete: %v", kind, got)
		}
	}
}
