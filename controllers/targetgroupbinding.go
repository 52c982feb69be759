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

	corev1 "k8s.io/api/core/v1"
	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/types"
	toolscache "k8s.io/client-go/tools/cache"
	"sigs.k8s.io/controller-runtime/pkg/cache"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/controller"
	"sigs.k8s.io/controller-runtime/pkg/handler"
	"sigs.k8s.io/controller-runtime/pkg/log"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"
	"sigs.k8s.io/controller-runtime/pkg/source"

	"github.com/gracefuldrain/gracefuldrain/internal/awslb"
	"github.com/gracefuldrain/gracefuldrain/internal/discovery"
)

// The AWS Load Balancer Controller's TargetGroupBinding CRD may be absent:
// then this source is skipped, and it is picked up when the CRD appears,
// without a restart.

// crdMetadata is the CRD watch's object: metadata only, so the cache never
// holds CRD schemas (and only this one CRD, by field selector in CacheOptions).
func crdMetadata() *metav1.PartialObjectMetadata {
	m := &metav1.PartialObjectMetadata{}
	m.SetGroupVersionKind(apiextensionsv1.SchemeGroupVersion.WithKind("CustomResourceDefinition"))
	return m
}

func newTargetGroupBindingList() *unstructured.UnstructuredList {
	l := &unstructured.UnstructuredList{}
	l.SetGroupVersionKind(awslb.TargetGroupBindingGVK.GroupVersion().WithKind("TargetGroupBindingList"))
	return l
}

// targetGroupBindings follows the TargetGroupBinding CRD on every replica
// (the admission webhook runs on all of them, the reconcilers on the leader):
// once the CRD exists, the bindings' informer is started and synced, lists
// come from the cache, and the controllers that asked for a watch of
// bindings get it. Until then there are no bindings, quietly.
type targetGroupBindings struct {
	cache     cache.Cache
	available atomic.Bool
	once      sync.Once
	mu        sync.Mutex
	watchers  []func() // run once the bindings' informer has synced
}

// newTargetGroupBindings starts following the CRD; ctx bounds the informer's start.
func newTargetGroupBindings(ctx context.Context, c cache.Cache) (*targetGroupBindings, error) {
	t := &targetGroupBindings{cache: c}
	crds, err := c.GetInformer(ctx, crdMetadata())
	if err != nil {
		return nil, err
	}
	_, err = crds.AddEventHandler(toolscache.ResourceEventHandlerFuncs{
		AddFunc:    func(any) { t.crdExists(ctx) }, // the cache holds only this one CRD (CacheOptions)
		UpdateFunc: func(any, any) { t.crdExists(ctx) },
	})
	return t, err
}

func (t *targetGroupBindings) crdExists(ctx context.Context) {
	t.once.Do(func() {
		go func() {
			tgb := &unstructured.Unstructured{}
			tgb.SetGroupVersionKind(awslb.TargetGroupBindingGVK)
			// The CRD may not be served for a moment after it appears: retry until it is.
			for {
				if _, err := t.cache.GetInformer(ctx, tgb); err == nil {
					break
				} else if ctx.Err() != nil {
					return
				} else {
					log.FromContext(ctx).V(1).Info("TargetGroupBinding CRD found, not served yet", "error", err.Error())
				}
				select {
				case <-ctx.Done():
					return
				case <-time.After(time.Second):
				}
			}
			t.mu.Lock()
			t.available.Store(true)
			watchers := t.watchers
			t.mu.Unlock()
			for _, w := range watchers {
				w()
			}
			log.FromContext(ctx).Info("TargetGroupBinding CRD found; following TargetGroupBindings")
		}()
	})
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

func (r *WorkloadReconciler) deploymentsOfTargetGroupBinding(ctx context.Context, o client.Object) []reconcile.Request {
	u, ok := o.(*unstructured.Unstructured)
	if !ok {
		return nil
	}
	tgb, ok := discovery.TargetGroupBindingFromUnstructured(u.Object)
	if !ok {
		return nil
	}
	var svc corev1.Service
	if err := r.client.Get(ctx, types.NamespacedName{Namespace: tgb.Namespace, Name: tgb.ServiceName}, &svc); err != nil {
		return nil // a missing Service selects nothing; its creation is watched too
	}
	deploys, err := deploymentsSelectedBy(ctx, r.client, &svc)
	if err != nil {
		log.FromContext(ctx).Error(err, "mapping TargetGroupBinding to Deployments", "targetGroupBinding", client.ObjectKeyFromObject(o))
		return nil
	}
	return requestsFor(deploys)
}
