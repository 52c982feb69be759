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
	"k8s.io/apimachinery/pkg/types"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/builder"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/controller"
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
	c, err := ctrl.NewControllerManagedBy(mgr).
		Named(controllerName(r.kind.kind)).
		WithOptions(opts).
		For(r.kind.newObject()).
		Owns(&gdv1.GracefulDrain{}).
		Watches(&corev1.Namespace{}, handler.EnqueueRequestsFromMapFunc(r.deploymentsInNamespace),
			builder.WithPredicates(predicate.LabelChangedPredicate{})).
		Watches(&corev1.Service{}, handler.EnqueueRequestsFromMapFunc(r.deploymentsOfService)).
		Watches(&networkingv1.Ingress{}, handler.EnqueueRequestsFromMapFunc(r.deploymentsOfIngress)).
		Watches(&networkingv1.IngressClass{}, handler.EnqueueRequestsFromMapFunc(r.deploymentsOfIngressClass)).
		Watches(&corev1.Pod{}, handler.EnqueueRequestsFromMapFunc(r.deploymentOfPod)).
		Build(rec)
	if err != nil {
		return err
	}
	r.shared.targetGroupBindings.watch(r.shared.ctx, c, r.deploymentsOfTargetGroupBinding)
	return nil
}

// controllerName names a kind's controller in logs and metrics
// (controller_runtime_reconcile_total{controller="gracefuldrain-deployment"}).
func controllerName(k workload.Kind) string {
	return "gracefuldrain-" + strings.ToLower(string(k))
}

func requestsFor(deploys []appsv1.Deployment) []reconcile.Request {
	out := make([]reconcile.Request, 0, len(deploys))
	for _, d := range deploys {
		out = append(out, reconcile.Request{NamespacedName: types.NamespacedName{Namespace: d.Namespace, Name: d.Name}})
	}
	return out
}

func (r *WorkloadReconciler) deploymentsInNamespace(ctx context.Context, o client.Object) []reconcile.Request {
	var list appsv1.DeploymentList
	if err := r.client.List(ctx, &list, client.InNamespace(o.GetName()), client.UnsafeDisableDeepCopy); err != nil {
		log.FromContext(ctx).Error(err, "listing Deployments of namespace", "namespace", o.GetName())
		return nil
	}
	return requestsFor(list.Items)
}

func (r *WorkloadReconciler) deploymentsOfService(ctx context.Context, o client.Object) []reconcile.Request {
	deploys, err := deploymentsSelectedBy(ctx, r.client, o.(*corev1.Service))
	if err != nil {
		log.FromContext(ctx).Error(err, "mapping Service to Deployments", "service", client.ObjectKeyFromObject(o))
		return nil
	}
	return requestsFor(deploys)
}

func (r *WorkloadReconciler) deploymentsOfIngress(ctx context.Context, o client.Object) []reconcile.Request {
	ing := o.(*networkingv1.Ingress)
	var out []reconcile.Request
	for _, name := range discovery.IngressBackendServiceNames(ing) {
		var svc corev1.Service
		if err := r.client.Get(ctx, types.NamespacedName{Namespace: ing.Namespace, Name: name}, &svc); err != nil {
			continue // a missing Service selects nothing; its creation is watched too
		}
		deploys, err := deploymentsSelectedBy(ctx, r.client, &svc)
		if err != nil {
			log.FromContext(ctx).Error(err, "mapping Ingress to Deployments", "ingress", client.ObjectKeyFromObject(o))
			return nil
		}
		out = append(out, requestsFor(deploys)...)
	}
	return out
}

func (r *WorkloadReconciler) deploymentsOfIngressClass(ctx context.Context, o client.Object) []reconcile.Request {
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
			out = append(out, r.deploymentsOfIngress(ctx, &ings.Items[i])...)
		}
	}
	return out
}

// deploymentOfPod maps a pod to its Deployment by name: the Deployment
// controller names a ReplicaSet <deployment>-<pod-template-hash>. Pods of
// Deployments without a GracefulDrain are dropped here, so pod churn in
// unmanaged namespaces costs no reconcile.
func (r *WorkloadReconciler) deploymentOfPod(ctx context.Context, o client.Object) []reconcile.Request {
	hash := o.GetLabels()[appsv1.DefaultDeploymentUniqueLabelKey]
	if hash == "" {
		return nil
	}
	for _, ref := range o.GetOwnerReferences() {
		if ref.Kind != "ReplicaSet" || len(ref.Name) <= len(hash)+1 || ref.Name[len(ref.Name)-len(hash)-1:] != "-"+hash {
			continue
		}
		key := types.NamespacedName{Namespace: o.GetNamespace(), Name: ref.Name[:len(ref.Name)-len(hash)-1]}
		var gd gdv1.GracefulDrain
		if err := r.client.Get(ctx, key, &gd); err != nil {
			return nil
		}
		return []reconcile.Request{{NamespacedName: key}}
	}
	return nil
}
