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
	"sync"
	"sync/atomic"
	"time"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"sigs.k8s.io/controller-runtime/pkg/cache"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/controller"
	"sigs.k8s.io/controller-runtime/pkg/handler"
	"sigs.k8s.io/controller-runtime/pkg/log"
	"sigs.k8s.io/controller-runtime/pkg/source"

	"github.com/gracefuldrain/gracefuldrain/internal/awslb"
	"github.com/gracefuldrain/gracefuldrain/internal/discovery"
)

// The AWS Load Balancer Controller's TargetGroupBinding CRD may be absent:
// then this source is skipped, and it is picked up when the CRD appears,
// without a restart.

func newTargetGroupBindingList() *unstructured.UnstructuredList {
	l := &unstructured.UnstructuredList{}
	l.SetGroupVersionKind(awslb.TargetGroupBindingGVK.GroupVersion().WithKind("TargetGroupBindingList"))
	return l
}

// targetGroupBindings follows TargetGroupBindings once their CRD exists, on
// every replica (the admission webhook runs on all of them, the reconcilers
// on the leader): the bindings' informer is started and synced, lists come
// from the cache, and the controllers that asked for a watch of bindings get
// it. Until then there are no bindings, quietly.
type targetGroupBindings struct {
	cache     cache.Cache
	available atomic.Bool
	mu        sync.Mutex
	watchers  []func() // run once the bindings' informer has synced
}

func newTargetGroupBindings(ctx context.Context, c cache.Cache, crds *crdFollower) *targetGroupBindings {
	t := &targetGroupBindings{cache: c}
	crds.onInstalled(awslb.TargetGroupBindingCRDName, func() { t.start(ctx) })
	return t
}

// start starts the bindings' informer, retrying while the new CRD is not
// served yet, then the waiting watches.
func (t *targetGroupBindings) start(ctx context.Context) {
	tgb := &unstructured.Unstructured{}
	tgb.SetGroupVersionKind(awslb.TargetGroupBindingGVK)
	if !retryUntilServed(ctx, "TargetGroupBinding", func() error { _, err := t.cache.GetInformer(ctx, tgb); return err }) {
		return
	}
	t.mu.Lock()
	t.available.Store(true)
	watchers := t.watchers
	t.mu.Unlock()
	for _, w := range watchers {
		w()
	}
	log.FromContext(ctx).Info("TargetGroupBinding CRD found; following TargetGroupBindings")
}

// retryUntilServed retries fn, once a second, until it succeeds (a CRD is
// served a moment after it appears) or ctx ends; it says whether it succeeded.
func retryUntilServed(ctx context.Context, what string, fn func() error) bool {
	for {
		err := fn()
		if err == nil {
			return true
		}
		log.FromContext(ctx).V(1).Info(what+" CRD found, not served yet", "error", err.Error())
		select {
		case <-ctx.Done():
			return false
		case <-time.After(time.Second):
		}
	}
}

// watch makes the controller watch TargetGroupBindings, mapped to workloads by
// toWorkloads, once their CRD exists.
func (t *targetGroupBindings) watch(ctx context.Context, c controller.Controller, toWorkloads handler.MapFunc) {
	start := func() {
		tgb := &unstructured.Unstructured{}
		tgb.SetGroupVersionKind(awslb.TargetGroupBindingGVK)
		if err := c.Watch(source.Kind[client.Object](t.cache, tgb, handler.EnqueueRequestsFromMapFunc(toWorkloads))); err != nil {
			log.FromContext(ctx).Error(err, "watching TargetGroupBindings")
		}
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.available.Load() {
		go start()
		return
	}
	t.watchers = append(t.watchers, start)
}

// list returns the namespace's TargetGroupBindings, or none while the CRD is
// not installed.
func (t *targetGroupBindings) list(ctx context.Context, c client.Reader, namespace string) ([]discovery.TargetGroupBinding, error) {
	if t == nil || !t.available.Load() {
		return nil, nil
	}
	list := newTargetGroupBindingList()
	if err := c.List(ctx, list, client.InNamespace(namespace)); err != nil {
		return nil, err
	}
	out := make([]discovery.TargetGroupBinding, 0, len(list.Items))
	for i := range list.Items {
		if tgb, ok := discovery.TargetGroupBindingFromUnstructured(list.Items[i].Object); ok {
			out = append(out, tgb)
		}
	}
	return out, nil
}
