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
	"github.com/gracefuldrain/gracefuldrain/internal/conflict"
	"github.com/gracefuldrain/gracefuldrain/internal/discovery"
)

// Field index names. Each turns a "which objects does this change affect"
// question into a cache lookup instead of a scan.
const (
	// indexTemplateLabel indexes Deployments by "key=value" of their pod template labels.
	indexTemplateLabel = "spec.template.metadata.labels"
	// indexSelectorLabel indexes Services by "key=value" of their selector.
	indexSelectorLabel = "spec.selector"
	// indexBackendService indexes Ingresses by the Service names of their backends.
	indexBackendService = "spec.backend.service.name"
	// indexIngressClass indexes Ingresses by spec.ingressClassName ("" when unset).
	indexIngressClass = "spec.ingressClassName"
)

// fieldIndex is one field index: the kind, the field name, and how to extract it.
type fieldIndex struct {
	object  client.Object
	field   string
	extract client.IndexerFunc
}

// fieldIndexes lists every index the watches and the reconciler query.
func fieldIndexes() []fieldIndex {
	return []fieldIndex{
		{&appsv1.Deployment{}, indexTemplateLabel, func(o client.Object) []string {
			return discovery.LabelPairs(o.(*appsv1.Deployment).Spec.Template.Labels)
		}},
		{&corev1.Service{}, indexSelectorLabel, func(o client.Object) []string {
			return discovery.SelectorPairs(o.(*corev1.Service))
		}},
		{&networkingv1.Ingress{}, indexBackendService, func(o client.Object) []string {
			return discovery.IngressBackendServiceNames(o.(*networkingv1.Ingress))
		}},
		{&networkingv1.Ingress{}, indexIngressClass, func(o client.Object) []string {
			if c := o.(*networkingv1.Ingress).Spec.IngressClassName; c != nil {
				return []string{*c}
			}
			return []string{""}
		}},
	}
}

// SetupIndexes registers the field indexes the watches and the reconciler use.
func SetupIndexes(ctx context.Context, mgr ctrl.Manager) error {
	for _, ix := range fieldIndexes() {
		if err := mgr.GetFieldIndexer().IndexField(ctx, ix.object, ix.field, ix.extract); err != nil {
			return err
		}
	}
	return nil
}

// SetupWithManager wires the watches: every object that can change a
// Deployment's attachments or settings maps to exactly the Deployments it affects.
func (r *DeploymentReconciler) SetupWithManager(mgr ctrl.Manager, opts controller.Options) error {
	return r.setupWith(mgr, opts, r)
}

// setupWith lets tests wrap the reconciler (to count reconciles) while keeping the watches.
func (r *DeploymentReconciler) setupWith(mgr ctrl.Manager, opts controller.Options, rec reconcile.Reconciler) error {
	if r.RevertPolicy.Window == 0 {
		r.RevertPolicy = conflict.DefaultPolicy
	}
	c, err := ctrl.NewControllerManagedBy(mgr).
		Named("gracefuldrain").
		WithOptions(opts).
		For(&appsv1.Deployment{}).
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
	return r.watchTargetGroupBindingsWhenInstalled(c, mgr.GetCache())
}

func requestsFor(deploys []appsv1.Deployment) []reconcile.Request {
	out := make([]reconcile.Request, 0, len(deploys))
	for _, d := range deploys {
		out = append(out, reconcile.Request{NamespacedName: types.NamespacedName{Namespace: d.Namespace, Name: d.Name}})
	}
	return out
}

func (r *DeploymentReconciler) deploymentsInNamespace(ctx context.Context, o client.Object) []reconcile.Request {
	var list appsv1.DeploymentList
	if err := r.List(ctx, &list, client.InNamespace(o.GetName()), client.UnsafeDisableDeepCopy); err != nil {
		log.FromContext(ctx).Error(err, "listing Deployments of namespace", "namespace", o.GetName())
		return nil
	}
	return requestsFor(list.Items)
}

func (r *DeploymentReconciler) deploymentsOfService(ctx context.Context, o client.Object) []reconcile.Request {
	deploys, err := deploymentsSelectedBy(ctx, r.Client, o.(*corev1.Service))
	if err != nil {
		log.FromContext(ctx).Error(err, "mapping Service to Deployments", "service", client.ObjectKeyFromObject(o))
		return nil
	}
	return requestsFor(deploys)
}

func (r *DeploymentReconciler) deploymentsOfIngress(ctx context.Context, o client.Object) []reconcile.Request {
	ing := o.(*networkingv1.Ingress)
	var out []reconcile.Request
	for _, name := range discovery.IngressBackendServiceNames(ing) {
		var svc corev1.Service
		if err := r.Get(ctx, types.NamespacedName{Namespace: ing.Namespace, Name: name}, &svc); err != nil {
			continue // a missing Service selects nothing; its creation is watched too
		}
		deploys, err := deploymentsSelectedBy(ctx, r.Client, &svc)
		if err != nil {
			log.FromContext(ctx).Error(err, "mapping Ingress to Deployments", "ingress", client.ObjectKeyFromObject(o))
			return nil
		}
		out = append(out, requestsFor(deploys)...)
	}
	return out
}

func (r *DeploymentReconciler) deploymentsOfIngressClass(ctx context.Context, o client.Object) []reconcile.Request {
	// Ingresses naming the class, and those naming none (the class may be, or
	// may have stopped being, the default).
	var out []reconcile.Request
	for _, key := range []string{o.GetName(), ""} {
		var ings networkingv1.IngressList
		if err := r.List(ctx, &ings, client.MatchingFields{indexIngressClass: key}, client.UnsafeDisableDeepCopy); err != nil {
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
func (r *DeploymentReconciler) deploymentOfPod(ctx context.Context, o client.Object) []reconcile.Request {
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
		if err := r.Get(ctx, key, &gd); err != nil {
			return nil
		}
		return []reconcile.Request{{NamespacedName: key}}
	}
	return nil
}

// deploymentsSelectedBy lists, through the template-label index, the
// Deployments in the Service's namespace whose pod template it selects. It
// looks up every selector pair and filters the shortest list, so a label that
// every Deployment shares (team=shop) does not turn one event into a scan.
func deploymentsSelectedBy(ctx context.Context, c client.Reader, svc *corev1.Service) ([]appsv1.Deployment, error) {
	var shortest []appsv1.Deployment
	for i, pair := range discovery.SelectorPairs(svc) {
		var list appsv1.DeploymentList
		// Read-only: the cache's objects are only looked at, never changed.
		if err := c.List(ctx, &list, client.InNamespace(svc.Namespace), client.MatchingFields{indexTemplateLabel: pair}, client.UnsafeDisableDeepCopy); err != nil {
			return nil, err
		}
		if i == 0 || len(list.Items) < len(shortest) {
			shortest = list.Items
		}
		if len(shortest) == 0 {
			return nil, nil
		}
	}
	var out []appsv1.Deployment
	for _, d := range shortest {
		if discovery.ServiceSelectsTemplate(svc, d.Spec.Template.Labels) {
			out = append(out, d)
		}
	}
	return out, nil
}

// servicesSelecting lists, through the selector index, the Services in the
// Deployment's namespace that select its pod template.
func servicesSelecting(ctx context.Context, c client.Reader, deploy *appsv1.Deployment) ([]corev1.Service, error) {
	seen := map[string]bool{}
	var out []corev1.Service
	for _, pair := range discovery.LabelPairs(deploy.Spec.Template.Labels) {
		var list corev1.ServiceList
		if err := c.List(ctx, &list, client.InNamespace(deploy.Namespace), client.MatchingFields{indexSelectorLabel: pair}, client.UnsafeDisableDeepCopy); err != nil {
			return nil, err
		}
		for _, s := range list.Items {
			if !seen[s.Name] && discovery.ServiceSelectsTemplate(&s, deploy.Spec.Template.Labels) {
				seen[s.Name] = true
				out = append(out, s)
			}
		}
	}
	return out, nil
}

// ingressesForServices lists, through the backend index, the Ingresses that
// send traffic to any of the named Services.
func ingressesForServices(ctx context.Context, c client.Reader, namespace string, services []string) ([]networkingv1.Ingress, error) {
	seen := map[string]bool{}
	var out []networkingv1.Ingress
	for _, name := range services {
		var list networkingv1.IngressList
		if err := c.List(ctx, &list, client.InNamespace(namespace), client.MatchingFields{indexBackendService: name}, client.UnsafeDisableDeepCopy); err != nil {
			return nil, err
		}
		for _, ing := range list.Items {
			if !seen[ing.Name] {
				seen[ing.Name] = true
				out = append(out, ing)
			}
		}
	}
	return out, nil
}
