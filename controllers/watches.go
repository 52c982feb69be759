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
	"strings"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/util/workqueue"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/controller"
	"sigs.k8s.io/controller-runtime/pkg/event"
	"sigs.k8s.io/controller-runtime/pkg/handler"
	"sigs.k8s.io/controller-runtime/pkg/log"
	"sigs.k8s.io/controller-runtime/pkg/predicate"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"

	gdv1 "github.com/gracefuldrain/gracefuldrain/api/v1alpha1"
	"github.com/gracefuldrain/gracefuldrain/internal/discovery"
	"github.com/gracefuldrain/gracefuldrain/internal/workload"
)

// SetupWithManager wires the watches: every object that can change a
// workload's attachments or settings maps to exactly the workloads it affects.
func (r *WorkloadReconciler) SetupWithManager(mgr ctrl.Manager, opts controller.Options) error {
	return r.setupWith(mgr, opts, r)
}

// setupWith lets tests wrap the reconciler (to count reconciles) while keeping the watches.
func (r *WorkloadReconciler) setupWith(mgr ctrl.Manager, opts controller.Options, rec reconcile.Reconciler) error {
	// What points at workloads is watched through shared handlers (see
	// sharedWatches): one per watched kind for all the kind controllers.
	shared := r.shared.watches
	b := ctrl.NewControllerManagedBy(mgr).
		Named(controllerName(r.kind.kind)).
		WithOptions(opts).
		For(r.kind.newObject()).
		// Owns, plus the status memo's bookkeeping on the same events.
		WatchesRawSource(shared.source(&gdv1.GracefulDrain{}, drainEvents{
			EventHandler: handler.EnqueueRequestForOwner(mgr.GetScheme(), mgr.GetRESTMapper(), r.kind.newObject(), handler.OnlyControllerOwner()),
			memo:         &r.memo,
		})).
		WatchesRawSource(shared.source(&corev1.Namespace{}, handler.EnqueueRequestsFromMapFunc(r.workloadsInNamespace),
			predicate.Or(predicate.LabelChangedPredicate{}, predicate.AnnotationChangedPredicate{}))).
		WatchesRawSource(shared.source(&corev1.Service{}, handler.EnqueueRequestsFromMapFunc(r.workloadsOfService))).
		WatchesRawSource(shared.source(&networkingv1.Ingress{}, handler.EnqueueRequestsFromMapFunc(r.workloadsOfIngress))).
		WatchesRawSource(shared.source(&networkingv1.IngressClass{}, handler.EnqueueRequestsFromMapFunc(r.workloadsOfIngressClass))).
		WatchesRawSource(shared.source(&corev1.Pod{}, handler.EnqueueRequestsFromMapFunc(r.workloadOfPod)))
	if r.kind.kind == workload.Rollout {
		// A workloadRef Rollout's template lives in a Deployment.
		b = b.Watches(&appsv1.Deployment{}, handler.EnqueueRequestsFromMapFunc(r.rolloutsOfDeployment))
	}
	c, err := b.Build(rec)
	if err != nil {
		return err
	}
	r.shared.addController(r.kind.kind, c)
	r.shared.targetGroupBindings.watch(r.shared.ctx, c, r.workloadsOfTargetGroupBinding)
	return nil
}

// drainEvents enqueues a GracefulDrain's owner, as Owns does, after telling
// the status memo what the cache now holds.
type drainEvents struct {
	handler.EventHandler
	memo *statusMemo
}

func (h drainEvents) Create(ctx context.Context, e event.CreateEvent, q workqueue.TypedRateLimitingInterface[reconcile.Request]) {
	if gd, ok := e.Object.(*gdv1.GracefulDrain); ok {
		h.memo.cacheShows(gd)
	}
	h.EventHandler.Create(ctx, e, q)
}

func (h drainEvents) Update(ctx context.Context, e event.UpdateEvent, q workqueue.TypedRateLimitingInterface[reconcile.Request]) {
	if gd, ok := e.ObjectNew.(*gdv1.GracefulDrain); ok {
		h.memo.cacheShows(gd)
	}
	h.EventHandler.Update(ctx, e, q)
}

func (h drainEvents) Delete(ctx context.Context, e event.DeleteEvent, q workqueue.TypedRateLimitingInterface[reconcile.Request]) {
	if gd, ok := e.Object.(*gdv1.GracefulDrain); ok {
		h.memo.cacheDropped(gd)
	}
	h.EventHandler.Delete(ctx, e, q)
}

// controllerName names a kind's controller in logs and metrics
// (controller_runtime_reconcile_total{controller="gracefuldrain-deployment"}).
func controllerName(k workload.Kind) string {
	return "gracefuldrain-" + strings.ToLower(string(k))
}

func requestsFor(objs []client.Object) []reconcile.Request {
	out := make([]reconcile.Request, 0, len(objs))
	for _, o := range objs {
		out = append(out, reconcile.Request{NamespacedName: types.NamespacedName{Namespace: o.GetNamespace(), Name: o.GetName()}})
	}
	return out
}

func (r *WorkloadReconciler) workloadsInNamespace(ctx context.Context, o client.Object) []reconcile.Request {
	list, err := r.kind.list(ctx, r.client, client.InNamespace(o.GetName()))
	if err != nil {
		log.FromContext(ctx).Error(err, "listing workloads of namespace", "namespace", o.GetName(), "kind", r.kind.kind)
		return nil
	}
	return requestsFor(list)
}

func (r *WorkloadReconciler) workloadsOfService(ctx context.Context, o client.Object) []reconcile.Request {
	return r.selectedBy(ctx, o.(*corev1.Service))
}

// selectedBy are the workloads of the kind whose pod template svc selects;
// for Argo Rollouts also those whose workloadRef Deployment's template it selects.
func (r *WorkloadReconciler) selectedBy(ctx context.Context, svc *corev1.Service) []reconcile.Request {
	objs, err := workloadsSelectedBy(ctx, r.client, r.kind, svc)
	if err != nil {
		log.FromContext(ctx).Error(err, "mapping Service to workloads", "service", client.ObjectKeyFromObject(svc), "kind", r.kind.kind)
		return nil
	}
	out := requestsFor(objs)
	if r.kind.kind == workload.Rollout {
		deploys, err := workloadsSelectedBy(ctx, r.client, deployments, svc)
		if err != nil {
			return out
		}
		for _, d := range deploys {
			out = append(out, r.rolloutsOfDeployment(ctx, d)...)
		}
	}
	return out
}

func (r *WorkloadReconciler) workloadsOfIngress(ctx context.Context, o client.Object) []reconcile.Request {
	ing := o.(*networkingv1.Ingress)
	var out []reconcile.Request
	for _, name := range discovery.IngressBackendServiceNames(ing) {
		var svc corev1.Service
		if err := r.client.Get(ctx, types.NamespacedName{Namespace: ing.Namespace, Name: name}, &svc); err != nil {
			continue // a missing Service selects nothing; its creation is watched too
		}
		out = append(out, r.selectedBy(ctx, &svc)...)
	}
	return out
}

func (r *WorkloadReconciler) workloadsOfIngressClass(ctx context.Context, o client.Object) []reconcile.Request {
	// Ingresses naming the class, and those naming none (the class may be, or
	// may have stopped being, the default).
	var out []reconcile.Request
	for _, key := range []string{o.GetName(), ""} {
		var ings networkingv1.IngressList
		if err := r.client.List(ctx, &ings, client.MatchingFields{indexIngressClass: key}, client.UnsafeDisableDeepCopy); err != nil {
			log.FromContext(ctx).Error(err, "mapping IngressClass to Ingresses", "ingressClass", o.GetName())
			return nil
		}
		for i := range ings.Items {
			out = append(out, r.workloadsOfIngress(ctx, &ings.Items[i])...)
		}
	}
	return out
}

func (r *WorkloadReconciler) workloadsOfTargetGroupBinding(ctx context.Context, o client.Object) []reconcile.Request {
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
	return r.selectedBy(ctx, &svc)
}

// workloadOfPod maps a pod to its workload of the kind. Pods of workloads
// without a GracefulDrain are dropped here, so pod churn in unmanaged
// namespaces costs no reconcile.
func (r *WorkloadReconciler) workloadOfPod(ctx context.Context, o client.Object) []reconcile.Request {
	name, ok := r.kind.ownerOfPod(o)
	if !ok {
		return nil
	}
	var gd gdv1.GracefulDrain
	if err := r.client.Get(ctx, types.NamespacedName{Namespace: o.GetNamespace(), Name: drainName(r.kind.kind, name)}, &gd); err != nil {
		return nil
	}
	return []reconcile.Request{{NamespacedName: types.NamespacedName{Namespace: o.GetNamespace(), Name: name}}}
}

// rolloutsOfDeployment maps a Deployment to the Argo Rollouts whose
// workloadRef names it.
func (r *WorkloadReconciler) rolloutsOfDeployment(ctx context.Context, o client.Object) []reconcile.Request {
	list, err := rolloutsReferencing(ctx, r.client, o.GetNamespace(), o.GetName())
	if err != nil {
		log.FromContext(ctx).Error(err, "mapping Deployment to Rollouts", "deployment", client.ObjectKeyFromObject(o))
		return nil
	}
	return requestsFor(list)
}
