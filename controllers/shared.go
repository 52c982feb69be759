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
	"sync"
	"sync/atomic"

	"k8s.io/client-go/tools/events"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/controller"

	"github.com/gracefuldrain/gracefuldrain/internal/plan"
	"github.com/gracefuldrain/gracefuldrain/internal/workload"
)

// Shared are the parts every kind's reconciler and the admission webhook
// share: the namespace labeler (one label apply per namespace, whichever
// kind's worker gets there first), the TargetGroupBinding follower and the
// watches of what points at workloads.
type Shared struct {
	ctx                 context.Context
	recorder            events.EventRecorder
	labeler             *namespaceLabeler
	crds                *crdFollower
	targetGroupBindings *targetGroupBindings
	sleep               *sleepMethods
	// watches are the event handlers the kind controllers share.
	watches *sharedWatches
	// rolloutsServed is set once Argo Rollouts' CRD is served and its
	// indexes registered (setupRollouts).
	rolloutsServed atomic.Bool
	// controllers by workload kind, for watches added when a CRD appears.
	controllersMu sync.Mutex
	controllers   map[workload.Kind]controller.Controller
}

func (s *Shared) addController(k workload.Kind, c controller.Controller) {
	s.controllersMu.Lock()
	defer s.controllersMu.Unlock()
	if s.controllers == nil {
		s.controllers = map[workload.Kind]controller.Controller{}
	}
	s.controllers[k] = c
}

func (s *Shared) controller(k workload.Kind) controller.Controller {
	s.controllersMu.Lock()
	defer s.controllersMu.Unlock()
	return s.controllers[k]
}

// NewShared builds the shared parts for the manager; ctx is the manager's
// lifetime.
func NewShared(ctx context.Context, mgr ctrl.Manager) (*Shared, error) {
	recorder := mgr.GetEventRecorder("gracefuldrain")
	crds, err := newCRDFollower(ctx, mgr.GetCache())
	if err != nil {
		return nil, err
	}
	return &Shared{
		ctx:                 ctx,
		recorder:            recorder,
		labeler:             &namespaceLabeler{client: mgr.GetClient(), recorder: recorder},
		crds:                crds,
		targetGroupBindings: newTargetGroupBindings(ctx, mgr.GetCache(), crds),
		watches:             newSharedWatches(mgr.GetCache()),
	}, nil
}

// defaults are the plan's defaults with the sleep method in force now.
func (s *Shared) defaults(d plan.Defaults) plan.Defaults {
	if s != nil && s.sleep != nil {
		d.SleepMethod, d.SleepMethodReason = s.sleep.current()
	}
	return d
}
