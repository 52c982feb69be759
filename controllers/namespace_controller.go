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

	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	"k8s.io/apimachinery/pkg/types"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/builder"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/handler"
	"sigs.k8s.io/controller-runtime/pkg/log"
	"sigs.k8s.io/controller-runtime/pkg/predicate"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"

	gdv1 "github.com/gracefuldrain/gracefuldrain/api/v1alpha1"
	"github.com/gracefuldrain/gracefuldrain/internal/awslb"
	"github.com/gracefuldrain/gracefuldrain/internal/discovery"
	"github.com/gracefuldrain/gracefuldrain/internal/settings"
)

// NamespaceReconciler puts the readiness-gate label on an enforce namespace
// as soon as a load balancer there registers pods by IP, before the workload
// behind it is written: the AWS Load Balancer Controller injects gates only
// when a pod is created, and the admission webhook lets a new workload's
// first pods carry the plan, so the label must already be on by then. The
// workload reconcilers still label before they apply (for load balancers
// that come after their workload).
type NamespaceReconciler struct {
	client client.Client
	shared *Shared
	opts   Options
}

// NewNamespaceReconciler returns the namespace labeler.
func NewNamespaceReconciler(mgr ctrl.Manager, shared *Shared, opts Options) *NamespaceReconciler {
	return &NamespaceReconciler{client: mgr.GetClient(), shared: shared, opts: opts.withDefaults()}
}

// Reconcile labels one namespace when it needs readiness gates and lacks the label.
func (r *NamespaceReconciler) Reconcile(ctx context.Context, req ctrl.Request) (ctrl.Result, error) {
	var ns corev1.Namespace
	if err := r.client.Get(ctx, req.NamespacedName, &ns); err != nil {
		return ctrl.Result{}, client.IgnoreNotFound(err)
	}
	if !r.wantsLabel(&ns) {
		return ctrl.Result{}, nil
	}
	in := discovery.Inputs{}
	var services corev1.ServiceList
	if err := r.client.List(ctx, &services, client.InNamespace(ns.Name)); err != nil {
		return ctrl.Result{}, err
	}
	in.Services = services.Items
	var ingresses networkingv1.IngressList
	if err := r.client.List(ctx, &ingresses, client.InNamespace(ns.Name)); err != nil {
		return ctrl.Result{}, err
	}
	in.Ingresses = ingresses.Items
	if len(in.Ingresses) > 0 {
		var classes networkingv1.IngressClassList
		if err := r.client.List(ctx, &classes); err != nil {
			return ctrl.Result{}, err
		}
		in.IngressClasses = classes.Items
	}
	tgbs, err := r.shared.targetGroupBindings.list(ctx, r.client, ns.Name)
	if err != nil {
		return ctrl.Result{}, err
	}
	in.TargetGroupBindings = tgbs
	needed, because := discovery.ReadinessGatesNeeded(in)
	if !needed {
		return ctrl.Result{}, nil
	}
	log.FromContext(ctx).Info("namespace has a load balancer with ip targets; labelling it for readiness gates before its workloads' pods are created", "because", because)
	_, err = r.shared.labeler.ensure(ctx, &ns, &ns)
	return ctrl.Result{}, err
}

// wantsLabel: enforce mode, nothing invalid, and no value of the label yet
// (a value someone else set is left alone and reported per workload).
func (r *NamespaceReconciler) wantsLabel(ns *corev1.Namespace) bool {
	if r.opts.ForceAudit {
		return false
	}
	if _, set := ns.Labels[awslb.ReadinessGateInjectLabel]; set {
		return false
	}
	s := settings.Parse(settings.Source{Ref: "Namespace " + ns.Name, Labels: ns.Labels, Annotations: ns.Annotations}, settings.Source{})
	return s.Managed && s.Mode == gdv1.ModeEnforce && len(s.Problems) == 0
}

// SetupWithManager watches namespaces and the load-balancer objects in them.
func (r *NamespaceReconciler) SetupWithManager(mgr ctrl.Manager) error {
	toNamespace := handler.EnqueueRequestsFromMapFunc(r.namespaceOf)
	c, err := ctrl.NewControllerManagedBy(mgr).
		Named("gracefuldrain-namespace").
		For(&corev1.Namespace{}, builder.WithPredicates(predicate.LabelChangedPredicate{})).
		Watches(&corev1.Service{}, toNamespace).
		Watches(&networkingv1.Ingress{}, toNamespace).
		Build(r)
	if err != nil {
		return err
	}
	r.shared.targetGroupBindings.watch(r.shared.ctx, c, r.namespaceOf)
	return nil
}

// namespaceOf maps a load-balancer object to its namespace, when that
// namespace could need the label: enforce mode, label not set yet.
func (r *NamespaceReconciler) namespaceOf(ctx context.Context, o client.Object) []reconcile.Request {
	var ns corev1.Namespace
	if err := r.client.Get(ctx, types.NamespacedName{Name: o.GetNamespace()}, &ns); err != nil || !r.wantsLabel(&ns) {
		return nil
	}
	return []reconcile.Request{{NamespacedName: types.NamespacedName{Name: ns.Name}}}
}
