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
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/gracefuldrain/gracefuldrain/internal/plan"
	"github.com/gracefuldrain/gracefuldrain/internal/rollout"
	"github.com/gracefuldrain/gracefuldrain/internal/workload"
)

// workloadKind is what the reconciler and the watches need to know of one
// workload kind; everything else they do is the same for every kind.
type workloadKind struct {
	kind workload.Kind
	// newObject returns an empty object of the kind.
	newObject func() client.Object
	// view is the pure packages' view of an object of the kind.
	view func(client.Object) workload.Workload
	// rollout judges how far the object's current spec has rolled out.
	rollout func(client.Object) rollout.Status
	// webhookPath is where the kind's admission webhook is served; the
	// +kubebuilder:webhook marker on DrainWebhook.Handle names the same path.
	webhookPath string
	// applyPlan sends the plan by server-side apply and returns the
	// workload's generation after it (the apply answers with the object).
	applyPlan func(ctx context.Context, c client.Client, w workload.Workload, p plan.Plan) (int64, error)
}

var deployments = &workloadKind{
	kind:        workload.Deployment,
	webhookPath: "/mutate-apps-v1-deployment",
	newObject:   func() client.Object { return &appsv1.Deployment{} },
	view:        func(o client.Object) workload.Workload { return workload.OfDeployment(o.(*appsv1.Deployment)) },
	rollout:     func(o client.Object) rollout.Status { return rollout.OfDeployment(o.(*appsv1.Deployment)) },
	applyPlan: func(ctx context.Context, c client.Client, w workload.Workload, p plan.Plan) (int64, error) {
		applied := plan.ApplyConfiguration(w, p)
		if err := c.Apply(ctx, applied, client.FieldOwner(plan.FieldManager), client.ForceOwnership); err != nil {
			return 0, err
		}
		if applied.Generation != nil {
			return *applied.Generation, nil
		}
		return w.Generation + 1, nil // a pod template change always bumps it by one
	},
}

// drainName is the name of the workload's GracefulDrain: a Deployment's has
// the Deployment's name.
func drainName(w workload.Workload) string {
	return w.Name
}
