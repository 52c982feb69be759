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
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/log"

	gdv1 "github.com/gracefuldrain/gracefuldrain/api/v1alpha1"
	"github.com/gracefuldrain/gracefuldrain/internal/invalid"
)

// Event reasons of the changes the operator makes (CamelCase, like condition reasons).
const (
	EventDrainSettingsApplied = "DrainSettingsApplied"
	EventNamespaceLabelled    = "ReadinessGateLabelAdded"
	// EventGracefulDrainNameTaken: the workload's GracefulDrain name belongs
	// to another workload's (see drainName).
	EventGracefulDrainNameTaken = "GracefulDrainNameTaken"
)

// warningTransition is a problem worth a Warning Event and a log line when a
// condition reaches its reason, or keeps it with a new message: once per
// change, not on every reconcile, so that a bad annotation is one Event.
type warningTransition struct {
	condition   string // condition type
	reason      string // the condition's reason that is the problem
	eventReason string // the Event's reason
	action      string // the Event's action: what the operator was doing
	logMessage  string // the log line; "" when the problem is logged where it happens
	// heldDuringRollout: pods that are not ready yet are expected while a
	// rollout is in progress (a new workload's first pods are starting), so
	// the Warning waits until the rollout is over or stalled, and is emitted
	// once per reason, not again for every new pod count in its message.
	heldDuringRollout bool
}

// warningTransitions is every problem the operator reports with a Warning Event.
var warningTransitions = []warningTransition{
	{gdv1.ConditionPlanApplied, gdv1.ReasonInvalidConfiguration, gdv1.ReasonInvalidConfiguration, "Validate", "", false}, // logged per value, below
	{gdv1.ConditionHooksProtected, gdv1.ReasonCustomPreStopHook, gdv1.ReasonCustomPreStopHook, "Plan", "custom preStop hook kept", false},
	{gdv1.ConditionReadinessGates, gdv1.ReasonGateLabelOverridden, gdv1.ReasonGateLabelOverridden, "Plan", "readiness-gate label set to another value, left alone", false},
	{gdv1.ConditionPlanApplied, gdv1.ReasonApplyFailed, gdv1.ReasonApplyFailed, "ApplyDrainPlan", "", false}, // logged with the error
	{gdv1.ConditionConflict, gdv1.ReasonConflict, gdv1.ReasonConflict, "ApplyDrainPlan", "stopped re-applying drain settings: another field manager keeps reverting them", false},
	{gdv1.ConditionReadinessGates, gdv1.ReasonNoGateInjector, gdv1.ReasonNoGateInjector, "CheckReadinessGates", "pods created after the readiness-gate label have no gate", false},
	{gdv1.ConditionTargetPorts, gdv1.ReasonTargetPortUnresolved, gdv1.ReasonTargetPortUnresolved, "Discover", "Service targetPort matches no container port", false},
	{gdv1.ConditionServing, gdv1.ReasonNoReadyPods, gdv1.ReasonNoReadyPods, "CheckServing", "workload behind a load balancer is not serving", true},
	{gdv1.ConditionServing, gdv1.ReasonLivenessRestarts, gdv1.ReasonLivenessRestarts, "CheckServing", "workload behind a load balancer is not serving", true},
}

// recordWarnings emits a Warning Event on obj, and a log line, for each
// problem that appeared or changed between the old and the new status.
func (r *WorkloadReconciler) recordWarnings(ctx context.Context, obj client.Object, old, cur gdv1.GracefulDrainStatus, problems []invalid.Setting) {
	logger := log.FromContext(ctx)
	for _, t := range warningTransitions {
		check := transitioned
		if t.heldDuringRollout {
			check = transitionedAfterRollout
		}
		c, changed := check(old, cur, t.condition, t.reason)
		if !changed {
			continue
		}
		if t.logMessage != "" {
			logger.Info(t.logMessage, "reason", t.reason, "message", c.Message)
		}
		if t.reason == gdv1.ReasonInvalidConfiguration {
			for _, p := range problems {
				logger.Info("invalid configuration, workload left unchanged", "object", p.Object, "key", p.Key, "value", p.Value, "problem", p.Message)
			}
			invalidConfigurationsTotal.Inc()
		}
		r.recorder.Eventf(obj, nil, corev1.EventTypeWarning, t.eventReason, t.action, "%s", c.Message)
	}
}

// transitioned returns the new condition of type condType when it has the
// given reason and did not have it (with the same message) before.
func transitioned(old, cur gdv1.GracefulDrainStatus, condType, reason string) (*metav1.Condition, bool) {
	c := meta.FindStatusCondition(cur.Conditions, condType)
	if c == nil || c.Reason != reason {
		return nil, false
	}
	prev := meta.FindStatusCondition(old.Conditions, condType)
	return c, prev == nil || prev.Reason != c.Reason || prev.Message != c.Message
}

// transitionedAfterRollout is transitioned for the problems held during a
// rollout: the condition has the reason, no rollout is in progress, and it
// did not have the reason already when no rollout was in progress.
func transitionedAfterRollout(old, cur gdv1.GracefulDrainStatus, condType, reason string) (*metav1.Condition, bool) {
	c := meta.FindStatusCondition(cur.Conditions, condType)
	if c == nil || c.Reason != reason || rolloutInProgress(cur) {
		return nil, false
	}
	prev := meta.FindStatusCondition(old.Conditions, condType)
	return c, prev == nil || prev.Reason != c.Reason || rolloutInProgress(old)
}

func rolloutInProgress(s gdv1.GracefulDrainStatus) bool {
	c := meta.FindStatusCondition(s.Conditions, gdv1.ConditionRolledOut)
	return c != nil && c.Reason == gdv1.ReasonRolloutInProgress
}
