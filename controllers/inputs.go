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
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/gracefuldrain/gracefuldrain/internal/discovery"
	"github.com/gracefuldrain/gracefuldrain/internal/workload"
)

// neighbours reads from the cache what discovery looks at for w: the Services
// selecting its pod template, the Ingresses and TargetGroupBindings pointing
// at them, and the cluster's IngressClasses when an Ingress needs them.
// The reconciler and the admission webhook both read them here, from the same cache.
func neighbours(ctx context.Context, c client.Reader, tgbs *targetGroupBindings, w workload.Workload) (discovery.Inputs, error) {
	services, err := servicesSelecting(ctx, c, w.Namespace, w.Template.Labels)
	if err != nil || len(services) == 0 {
		return discovery.Inputs{}, err
	}
	in := discovery.Inputs{Services: services}
	if in.TargetGroupBindings, err = tgbs.list(ctx, c, w.Namespace); err != nil {
		return discovery.Inputs{}, err
	}
	names := make([]string, 0, len(services))
	for _, s := range services {
		names = append(names, s.Name)
	}
	if in.Ingresses, err = ingressesForServices(ctx, c, w.Namespace, names); err != nil {
		return discovery.Inputs{}, err
	}
	if len(in.Ingresses) > 0 {
		var classes networkingv1.IngressClassList
		if err := c.List(ctx, &classes, client.UnsafeDisableDeepCopy); err != nil {
			return discovery.Inputs{}, err
		}
		in.IngressClasses = classes.Items
	}
	return in, nil
}

// pods returns the (slim) pods selected by the workload, from the cache.
func (r *WorkloadReconciler) pods(ctx context.Context, w workload.Workload) ([]corev1.Pod, error) {
	if w.Selector == nil {
		return nil, nil
	}
	sel, err := metav1.LabelSelectorAsSelector(w.Selector)
	if err != nil || sel.Empty() {
		return nil, nil //nolint:nilerr // an invalid selector selects no pods; the API server rejects it anyway
	}
	var pods corev1.PodList
	if err := r.client.List(ctx, &pods, client.InNamespace(w.Namespace), client.MatchingLabelsSelector{Selector: sel}, client.UnsafeDisableDeepCopy); err != nil {
		return nil, err
	}
	return pods.Items, nil
}
