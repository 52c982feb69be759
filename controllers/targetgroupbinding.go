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

	corev1 "k8s.io/api/core/v1"
	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/util/workqueue"
	"sigs.k8s.io/controller-runtime/pkg/cache"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/controller"
	"sigs.k8s.io/controller-runtime/pkg/event"
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

// targetGroupBindingSource is one controller's watch of TargetGroupBindings,
// started once their CRD exists.
type targetGroupBindingSource struct {
	watching atomic.Bool
}

// watchWhenInstalled makes the controller watch TargetGroupBindings, mapped
// to workloads by toWorkloads, from the moment their CRD exists.
func (s *targetGroupBindingSource) watchWhenInstalled(c controller.Controller, informers cache.Cache, toWorkloads handler.MapFunc) error {
	start := func(ctx context.Context) {
		if !s.watching.CompareAndSwap(false, true) {
			return
		}
		tgb := &unstructured.Unstructured{}
		tgb.SetGroupVersionKind(awslb.TargetGroupBindingGVK)
		if err := c.Watch(source.Kind[client.Object](informers, tgb, handler.EnqueueRequestsFromMapFunc(toWorkloads))); err != nil {
			s.watching.Store(false)
			log.FromContext(ctx).Error(err, "watching TargetGroupBindings")
			return
		}
		log.FromContext(ctx).Info("TargetGroupBinding CRD found; watching TargetGroupBindings")
	}
	onCRD := handler.Funcs{
		CreateFunc: func(ctx context.Context, e event.CreateEvent, _ workqueue.TypedRateLimitingInterface[reconcile.Request]) {
			if e.Object.GetName() == awslb.TargetGroupBindingCRDName {
				start(ctx)
			}
		},
		UpdateFunc: func(ctx context.Context, e event.UpdateEvent, _ workqueue.TypedRateLimitingInterface[reconcile.Request]) {
			if e.ObjectNew.GetName() == awslb.TargetGroupBindingCRDName {
				start(ctx)
			}
		},
	}
	return c.Watch(source.Kind[client.Object](informers, crdMetadata(), onCRD))
}

// list returns the namespace's TargetGroupBindings, or none while the CRD is
// not installed.
func (s *targetGroupBindingSource) list(ctx context.Context, c client.Reader, namespace string) ([]discovery.TargetGroupBinding, error) {
	if !s.watching.Load() {
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
