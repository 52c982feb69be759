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
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/gracefuldrain/gracefuldrain/internal/discovery"
	"github.com/gracefuldrain/gracefuldrain/internal/workload"
)

// Field index names. Each turns a "which objects does this change affect"
// question into a cache lookup instead of a scan.
const (
	// indexTemplateLabel indexes each workload kind by "key=value" of its pod template labels.
	indexTemplateLabel = "spec.template.metadata.labels"
	// indexSelectorLabel indexes Services by "key=value" of their selector.
	indexSelectorLabel = "spec.selector"
	// indexBackendService indexes Ingresses by the Service names of their backends.
	indexBackendService = "spec.backend.service.name"
	// indexIngressClass indexes Ingresses by spec.ingressClassName ("" when unset).
	indexIngressClass = "spec.ingressClassName"
	// indexWorkloadRef indexes Argo Rollouts by the Deployment their workloadRef names.
	indexWorkloadRef = "spec.workloadRef.name"
)

// fieldIndex is one field index: the kind, the field name, and how to extract it.
type fieldIndex struct {
	object  client.Object
	field   string
	extract client.IndexerFunc
}

// fieldIndexes lists every index the watches and the reconciler query (Argo
// Rollouts' are rolloutIndexes, registered when its CRD appears).
func fieldIndexes() []fieldIndex {
	ixs := []fieldIndex{
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
	for _, k := range kinds {
		ixs = append(ixs, templateLabelIndex(k))
	}
	return ixs
}

// templateLabelIndex indexes a kind by "key=value" of its pod template's labels.
func templateLabelIndex(k *workloadKind) fieldIndex {
	return fieldIndex{k.newObject(), indexTemplateLabel, func(o client.Object) []string {
		return discovery.LabelPairs(k.templateLabels(o))
	}}
}

// rolloutIndexes are Argo Rollouts' indexes: the template labels of the
// Rollouts that have a template, and the Deployment a Rollout's workloadRef
// names.
func rolloutIndexes() []fieldIndex {
	return []fieldIndex{
		templateLabelIndex(rollouts),
		{newRollout(), indexWorkloadRef, func(o client.Object) []string {
			if name := workload.RolloutWorkloadRef(o.(*unstructured.Unstructured)); name != "" {
				return []string{name}
			}
			return nil
		}},
	}
}

// SetupIndexes registers the field indexes the watches and the reconciler use.
func SetupIndexes(ctx context.Context, mgr ctrl.Manager) error {
	return addIndexes(ctx, mgr.GetFieldIndexer(), fieldIndexes())
}

func addIndexes(ctx context.Context, indexer client.FieldIndexer, ixs []fieldIndex) error {
	for _, ix := range ixs {
		if err := indexer.IndexField(ctx, ix.object, ix.field, ix.extract); err != nil {
			return err
		}
	}
	return nil
}

// workloadsSelectedBy lists, through the template-label index, the workloads
// of a kind in the Service's namespace whose own pod template it selects. It
// looks up every selector pair and filters the shortest list, so a label that
// every workload shares (team=shop) does not turn one event into a scan.
func workloadsSelectedBy(ctx context.Context, c client.Reader, k *workloadKind, svc *corev1.Service) ([]client.Object, error) {
	var shortest []client.Object
	for i, pair := range discovery.SelectorPairs(svc) {
		list, err := k.list(ctx, c, client.InNamespace(svc.Namespace), client.MatchingFields{indexTemplateLabel: pair})
		if err != nil {
			return nil, err
		}
		if i == 0 || len(list) < len(shortest) {
			shortest = list
		}
		if len(shortest) == 0 {
			return nil, nil
		}
	}
	var out []client.Object
	for _, o := range shortest {
		if discovery.ServiceSelectsTemplate(svc, k.templateLabels(o)) {
			out = append(out, o)
		}
	}
	return out, nil
}

// rolloutsReferencing lists the Argo Rollouts whose workloadRef names the Deployment.
func rolloutsReferencing(ctx context.Context, c client.Reader, namespace, deployment string) ([]client.Object, error) {
	return rollouts.list(ctx, c, client.InNamespace(namespace), client.MatchingFields{indexWorkloadRef: deployment})
}

// servicesSelecting lists, through the selector index, the Services in the
// namespace that select a pod template with the given labels.
func servicesSelecting(ctx context.Context, c client.Reader, namespace string, templateLabels map[string]string) ([]corev1.Service, error) {
	seen := map[string]bool{}
	var out []corev1.Service
	for _, pair := range discovery.LabelPairs(templateLabels) {
		var list corev1.ServiceList
		if err := c.List(ctx, &list, client.InNamespace(namespace), client.MatchingFields{indexSelectorLabel: pair}, client.UnsafeDisableDeepCopy); err != nil {
			return nil, err
		}
		for _, s := range list.Items {
			if !seen[s.Name] && discovery.ServiceSelectsTemplate(&s, templateLabels) {
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
