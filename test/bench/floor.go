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
	"context"
	"fmt"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	corev1ac "k8s.io/client-go/applyconfigurations/core/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/controller/controllerutil"

	gdv1 "github.com/gracefuldrain/gracefuldrain/api/v1alpha1"
	"github.com/gracefuldrain/gracefuldrain/internal/awslb"
	"github.com/gracefuldrain/gracefuldrain/internal/discovery"
	"github.com/gracefuldrain/gracefuldrain/internal/plan"
	"github.com/gracefuldrain/gracefuldrain/internal/report"
	"github.com/gracefuldrain/gracefuldrain/internal/rollout"
	views "github.com/gracefuldrain/gracefuldrain/internal/workload"
)

// runFloor sends exactly the writes the design needs, with no reads: per
// namespace one label apply, per workload one server-side apply (the
// operator's own apply configuration for the kind), one GracefulDrain create
// and one status update. It plans from the objects as the API server returned
// them at creation, so it needs no cache. Namespaces are shared out over
// `workers` goroutines, as the operator shares workloads over its reconcile
// workers.
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
			if err := floorWorkload(ctx, c, w, defaults); err != nil {
				return err
			}
		}
		return nil
	})
}

func floorWorkload(ctx context.Context, c client.Client, w *workload, defaults plan.Defaults) error {
	view, err := w.view()
	if err != nil {
		return err
	}
	obj := w.object()
	found := discovery.Discover(discovery.Inputs{
		Workload: view, Services: []corev1.Service{*w.Service}, Ingresses: []networkingv1.Ingress{*w.Ingress},
	})
	p := plan.Compute(plan.Input{Workload: view, Attachments: found.Attachments, Defaults: defaults})
	pending := plan.Changes(view, p)
	// The operator's payload for each kind (controllers/kinds.go, applyPlan).
	var apply runtime.ApplyConfiguration
	switch w.Kind {
	case views.Deployment:
		apply = plan.ApplyConfiguration(view, p)
	case views.StatefulSet:
		apply = plan.StatefulSetApplyConfiguration(view, p)
	case views.DaemonSet:
		apply = plan.DaemonSetApplyConfiguration(view, p)
	case views.Rollout:
		u, err := plan.RolloutApplyConfiguration(view, p)
		if err != nil {
			return err
		}
		apply = client.ApplyConfigurationFromUnstructured(u)
	}
	if err := c.Apply(ctx, apply, client.FieldOwner(plan.FieldManager), client.ForceOwnership); err != nil {
		return fmt.Errorf("floor: applying %s %s/%s: %w", w.Kind, obj.GetNamespace(), obj.GetName(), err)
	}
	// What the apply makes of it (a template change bumps the generation by
	// one); the floor does not read it back.
	applied := obj.DeepCopyObject().(client.Object)
	applied.SetGeneration(applied.GetGeneration() + 1)
	var status rollout.Status
	switch a := applied.(type) {
	case *appsv1.Deployment:
		status = rollout.OfDeployment(a)
	case *appsv1.StatefulSet:
		status = rollout.OfStatefulSet(a)
	case *appsv1.DaemonSet:
		status = rollout.OfDaemonSet(a)
	case *unstructured.Unstructured:
		status = rollout.OfRollout(a, 0, nil)
	}
	appliedView := view
	appliedView.Generation = applied.GetGeneration()

	gd := &gdv1.GracefulDrain{ObjectMeta: metav1.ObjectMeta{Name: drainName(w.Kind, obj.GetName()), Namespace: obj.GetNamespace()}}
	if err := controllerutil.SetControllerReference(obj, gd, c.Scheme()); err != nil {
		return err
	}
	if err := c.Create(ctx, gd); err != nil {
		return fmt.Errorf("floor: creating GracefulDrain %s/%s: %w", gd.Namespace, gd.Name, err)
	}
	gd.Status = report.Status(gdv1.GracefulDrainStatus{}, gd.Generation, report.Input{
		Mode:           gdv1.ModeEnforce,
		Attachments:    found.Attachments,
		Plan:           p,
		Pending:        pending,
		Applied:        true,
		Workload:       appliedView,
		Rollout:        status,
		GateLabelValue: awslb.ReadinessGateInjectEnabled,
	})
	if err := c.Status().Update(ctx, gd); err != nil {
		return fmt.Errorf("floor: status of GracefulDrain %s/%s: %w", gd.Namespace, gd.Name, err)
	}
	return nil
}
