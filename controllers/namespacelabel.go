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
	"errors"
	"fmt"
	"sync"
	"sync/atomic"

	corev1 "k8s.io/api/core/v1"
	corev1ac "k8s.io/client-go/applyconfigurations/core/v1"
	"k8s.io/client-go/tools/events"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/log"

	"github.com/gracefuldrain/gracefuldrain/internal/awslb"
	"github.com/gracefuldrain/gracefuldrain/internal/plan"
)

// namespaceLabeler puts the readiness-gate label on a namespace once, however
// many workloads of it are reconciled at the same time: the first worker to
// claim the namespace applies the label; the others wait for that one request
// and report the label as set if it succeeded, so that their status does not
// say the label is missing only because the cache has not caught up (a second
// status write when it does). Shared by every workload kind's reconciler.
type namespaceLabeler struct {
	client   client.Client
	recorder events.EventRecorder
	claims   sync.Map // namespace UID -> *namespaceLabelClaim
}

// namespaceLabelClaim is one worker's claim to label a namespace, made on
// the cached version that lacked the label.
type namespaceLabelClaim struct {
	resourceVersion string
	done            chan struct{} // closed once the claimant's apply has returned
	labelled        atomic.Bool   // the apply succeeded
}

// errLabelNotSet: the worker that claimed the namespace failed to label it.
// A waiting worker must not go on and patch its workload without the label
// (its new pods would get no readiness gate): it fails and is retried.
var errLabelNotSet = errors.New("the readiness-gate label could not be set on the namespace (another worker's apply failed); retrying before the workload is patched")

// ensure labels ns (whose cached copy lacks the label) for the workload obj,
// or waits for the worker that does. It returns the label value to report:
// enabled once the label is on; when the label could not be set it returns
// an error, so that no workload is patched before its namespace is labelled.
func (l *namespaceLabeler) ensure(ctx context.Context, obj client.Object, ns *corev1.Namespace) (string, error) {
	claim, mine := l.claim(ns)
	if !mine {
		select {
		case <-claim.done:
		case <-ctx.Done():
			return "", ctx.Err()
		}
		if claim.labelled.Load() {
			return awslb.ReadinessGateInjectEnabled, nil
		}
		return "", fmt.Errorf("namespace %s: %w", ns.Name, errLabelNotSet)
	}
	defer close(claim.done)
	nsApply := corev1ac.Namespace(ns.Name).WithLabels(map[string]string{
		awslb.ReadinessGateInjectLabel: awslb.ReadinessGateInjectEnabled,
	})
	if err := l.client.Apply(ctx, nsApply, client.FieldOwner(plan.FieldManager)); err != nil {
		l.claims.CompareAndDelete(ns.UID, claim)
		return "", fmt.Errorf("labelling namespace %s: %w", ns.Name, err)
	}
	claim.labelled.Store(true)
	appliesTotal.WithLabelValues("namespace").Inc()
	msg := fmt.Sprintf("Labelled namespace %s %s: none -> %s, so that new pods get the load balancer's readiness gate",
		ns.Name, awslb.ReadinessGateInjectLabel, awslb.ReadinessGateInjectEnabled)
	l.recorder.Eventf(obj, ns, corev1.EventTypeNormal, EventNamespaceLabelled, "LabelNamespace", msg)
	log.FromContext(ctx).Info("labelled namespace for readiness gates", "namespace", ns.Name, "label", awslb.ReadinessGateInjectLabel)
	return awslb.ReadinessGateInjectEnabled, nil
}

// claim makes one worker label a namespace once. Until the cache shows the
// label, other workloads of the namespace see the old namespace; the claim
// holds while the cached namespace is the one the claim was made on. mine
// tells whether the caller holds the claim and must apply the label.
func (l *namespaceLabeler) claim(ns *corev1.Namespace) (claim *namespaceLabelClaim, mine bool) {
	fresh := &namespaceLabelClaim{resourceVersion: ns.ResourceVersion, done: make(chan struct{})}
	prev, claimed := l.claims.LoadOrStore(ns.UID, fresh)
	if !claimed {
		return fresh, true
	}
	if claim := prev.(*namespaceLabelClaim); claim.resourceVersion == ns.ResourceVersion {
		return claim, false // labelled (or being labelled) on this very version
	}
	// The namespace changed since and still lacks the label (someone removed it): label again.
	l.claims.Store(ns.UID, fresh)
	return fresh, true
}
