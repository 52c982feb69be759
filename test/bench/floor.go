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

package main

import (
	"github.com/gracefuldrain/gracefuldrain/internal/rollout"
	views "github.com/gracefuldrain/gracefuldrain/internal/workload"

	"context"
	"fmt"

	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	corev1ac "k8s.io/client-go/applyconfigurations/core/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/controller/controllerutil"

	gdv1 "github.com/gracefuldrain/gracefuldrain/api/v1alpha1"
	"github.com/gracefuldrain/gracefuldrain/internal/awslb"
	"github.com/gracefuldrain/gracefuldrain/internal/discovery"
	"github.com/gracefuldrain/gracefuldrain/internal/plan"
	"github.com/gracefuldrain/gracefuldrain/internal/report"
)

// runFloor sends exactly the writes the design needs, with no reads: per
// namespace one label apply, per Deployment one server-side apply (the
// operator's own ApplyConfiguration), one GracefulDrain create and one status
// update. It plans from the objects as the API server returned them at
// creation, so it needs no cache. Namespaces are shared out over `workers`
// goroutines, as the operator shares Deployments over its reconcile workers.
func runFloor(ctx context.Context, c client.Client, f *fleet, defaults plan.Defaults, workers int) error {
	return parallel(ctx, workers, len(f.Namespaces), func(i int) error {
		ns := f.Namespaces[i]
		nsApply := corev1ac.Namespace(ns.Name).WithLabels(map[string]string{
			awslb.ReadinessGateInjectLabel: awslb.ReadinessGateInjectEnabled,
		})
		if err := c.Apply(ctx, nsApply, client.FieldOwner(plan.FieldManager)); err != nil {
			return fmt.Errorf("floor: labelling namespace %s: %w", ns.Name, err)
		}
		for _, w := range f.Workloads[ns.Name] {
			if err := floorDeployment(ctx, c, w, defaults); err != nil {
				return err
			}
		}
		return nil
	})
}

func floorDeployment(ctx context.Context, c client.Client, w *workload, defaults plan.Defaults) error {
	d := w.Deployment
	view := views.OfDeployment(d)
	found := discovery.Discover(discovery.Inputs{
		Workload: view, Services: []corev1.Service{*w.Service}, Ingresses: []networkingv1.Ingress{*w.Ingress},
	})
	p := plan.Compute(plan.Input{Workload: view, Attachments: found.Attachments, Defaults: defaults})
	pending := plan.Changes(view, p)
	applied := d.DeepCopy()
	if err := c.Apply(ctx, plan.ApplyConfiguration(view, p), client.FieldOwner(plan.FieldManager), client.ForceOwnership); err != nil {
		return fmt.Errorf("floor: applying %s/%s: %w", d.Namespace, d.Name, err)
	}
	applied.Generation++ // what the apply makes of it; the floor does not read it back

	gd := &gdv1.GracefulDrain{ObjectMeta: metav1.ObjectMeta{Name: d.Name, Namespace: d.Namespace}}
	if err := controllerutil.SetControllerReference(d, gd, c.Scheme()); err != nil {
		return err
	}
	if err := c.Create(ctx, gd); err != nil {
		return fmt.Errorf("floor: creating GracefulDrain %s/%s: %w", d.Namespace, d.Name, err)
	}
	gd.Status = report.Status(gdv1.GracefulDrainStatus{}, gd.Generation, report.Input{
		Mode:           gdv1.ModeEnforce,
		Attachments:    found.Attachments,
		Plan:           p,
		Pending:        pending,
		Applied:        true,
		Workload:       views.OfDeployment(applied),
		Rollout:        rollout.OfDeployment(applied),
		GateLabelValue: awslb.ReadinessGateInjectEnabled,
	})
	if err := c.Status().Update(ctx, gd); err != nil {
		return fmt.Errorf("floor: status of GracefulDrain %s/%s: %w", d.Namespace, d.Name, err)
	}
	return nil
}
