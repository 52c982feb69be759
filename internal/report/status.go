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

// Package report turns what the operator found, planned and did for one
// workload into the GracefulDrain status: attachments, plan and conditions.
// It is pure so that every branch of the summary can be tested in a table.
// status.go computes the status and its summary; each part's condition has a
// file of its own (gates.go, serving.go), the API conversion is convert.go.
package report

import (
	"fmt"
	"sort"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	gdv1 "github.com/gracefuldrain/gracefuldrain/api/v1alpha1"
	"github.com/gracefuldrain/gracefuldrain/internal/discovery"
	"github.com/gracefuldrain/gracefuldrain/internal/invalid"
	"github.com/gracefuldrain/gracefuldrain/internal/plan"
	"github.com/gracefuldrain/gracefuldrain/internal/rollout"
	"github.com/gracefuldrain/gracefuldrain/internal/workload"
)

// Input is everything the status is computed from.
type Input struct {
	Mode        gdv1.Mode
	Problems    []invalid.Setting
	Attachments []discovery.Attachment
	Plan        plan.Plan
	// UnresolvedTargetPorts are attached Service ports whose targetPort no container declares.
	UnresolvedTargetPorts []string
	// Pending are the changes the workload still needs (plan.Changes before any apply).
	Pending []plan.Change
	// Applied is true when this reconcile sent Pending to the API server.
	Applied bool
	// WaitingForRollout is true when Pending waits for the user's next change
	// of the pod template (adoption next-rollout).
	WaitingForRollout bool
	// ApplyError is the error of a failed apply, if any.
	ApplyError error
	// Workload is the workload the status describes.
	Workload workload.Workload
	// Rollout is how far its current spec has rolled out.
	Rollout rollout.Status
	// Pods match the workload's selector (the operator's slim copies).
	Pods []corev1.Pod
	// GateLabelValue is the namespace's elbv2.k8s.aws/pod-readiness-gate-inject
	// value, "" when absent.
	GateLabelValue string
	// NamespaceManagedFields are the namespace's managedFields entries (the
	// cache keeps those that own that label). When the label got its value is
	// read from them only if pods lack the gate: parsing them costs more than
	// the rest of the report.
	NamespaceManagedFields []metav1.ManagedFieldsEntry
	// Reverts is the revert tracking of this reconcile; Holding means the
	// operator stopped re-applying because another manager keeps reverting.
	Reverts *gdv1.RevertStatus
	Holding bool
	// Now is the time of the reconcile (for how recent a restart is).
	Now time.Time
}

// Status computes the new status from the old one, keeping the transition
// times of conditions whose status did not change.
func Status(old gdv1.GracefulDrainStatus, generation int64, in Input) gdv1.GracefulDrainStatus {
	s := gdv1.GracefulDrainStatus{
		ObservedGeneration: generation,
		Workload: &gdv1.WorkloadReference{APIVersion: in.Workload.Kind.APIVersion(), Kind: string(in.Workload.Kind),
			Name: in.Workload.Name, TemplateFrom: in.Workload.TemplateFrom},
		WorkloadGeneration: in.Workload.Generation,
		Mode:               gdv1.Mode(in.Mode),
		LoadBalancer:       LoadBalancerSummary(in.Attachments),
		Attachments:        attachments(in.Attachments),
		Plan:               drainPlan(in.Plan),
		Reverts:            in.Reverts,
		Conditions:         append([]metav1.Condition(nil), old.Conditions...),
	}
	for _, c := range conditions(in, meta.FindStatusCondition(old.Conditions, gdv1.ConditionPlanApplied)) {
		c.ObservedGeneration = generation
		meta.SetStatusCondition(&s.Conditions, c)
	}
	sort.Slice(s.Conditions, func(i, j int) bool {
		return conditionOrder(s.Conditions[i].Type) < conditionOrder(s.Conditions[j].Type)
	})
	return s
}

func conditionOrder(t string) int {
	for i, known := range []string{gdv1.ConditionReady, gdv1.ConditionPlanApplied, gdv1.ConditionRolledOut, gdv1.ConditionReadinessGates,
		gdv1.ConditionHooksProtected, gdv1.ConditionServing, gdv1.ConditionConflict, gdv1.ConditionTargetPorts} {
		if t == known {
			return i
		}
	}
	return 100
}

// conditions returns every condition, Ready first, without times. previous is
// the last PlanApplied condition, so that "Applied" survives the reconciles
// that follow the apply instead of turning into "AlreadyCompliant".
func conditions(in Input, previous *metav1.Condition) []metav1.Condition {
	planApplied := planAppliedCondition(in, previous)
	rolledOut := rolledOutCondition(in)
	gates := readinessGatesCondition(in, rolledOut.Status == metav1.ConditionTrue)
	hooks := hooksCondition(in)

	ready := metav1.Condition{Type: gdv1.ConditionReady, Status: metav1.ConditionTrue, Reason: gdv1.ReasonProtected,
		Message: fmt.Sprintf("Protected: preStop sleep %ds, terminationGracePeriodSeconds %d, rollout complete%s.",
			in.Plan.PreStopSeconds, in.Plan.TerminationGracePeriodSeconds, gateSuffix(in))}
	// The first part that is not True explains why the workload is not protected.
	for _, part := range []metav1.Condition{planApplied, hooks, rolledOut, gates} {
		if part.Status != metav1.ConditionTrue {
			ready.Status = metav1.ConditionFalse
			ready.Reason = part.Reason
			ready.Message = part.Message
			break
		}
	}
	return []metav1.Condition{ready, planApplied, rolledOut, gates, hooks, servingCondition(in), conflictCondition(in), targetPortsCondition(in)}
}

func gateSuffix(in Input) string {
	if !in.Plan.NeedsReadinessGate {
		return ""
	}
	return fmt.Sprintf(", readiness gates on all %d pods", len(activePods(in.Pods)))
}

func planAppliedCondition(in Input, previous *metav1.Condition) metav1.Condition {
	c := metav1.Condition{Type: gdv1.ConditionPlanApplied}
	switch {
	case len(in.Problems) > 0:
		c.Status, c.Reason = metav1.ConditionFalse, gdv1.ReasonInvalidConfiguration
		msgs := make([]string, 0, len(in.Problems))
		for _, p := range in.Problems {
			msgs = append(msgs, p.String())
		}
		c.Message = "Invalid configuration, nothing was changed. " + strings.Join(msgs, " ")
	case in.Holding:
		c.Status, c.Reason = metav1.ConditionFalse, gdv1.ReasonConflict
		c.Message = conflictMessage(in)
	case in.ApplyError != nil:
		c.Status, c.Reason = metav1.ConditionFalse, gdv1.ReasonApplyFailed
		c.Message = fmt.Sprintf("Applying the drain plan failed and will be retried: %v.", in.ApplyError)
	case len(in.Pending) == 0 && previous != nil && previous.Status == metav1.ConditionTrue && previous.Reason == gdv1.ReasonApplied:
		c.Status, c.Reason, c.Message = metav1.ConditionTrue, gdv1.ReasonApplied, previous.Message
	case len(in.Pending) == 0:
		c.Status, c.Reason = metav1.ConditionTrue, gdv1.ReasonAlreadyCompliant
		c.Message = "The " + string(in.Workload.Kind) + "'s pod template carries the drain plan."
	case in.WaitingForRollout:
		c.Status, c.Reason = metav1.ConditionFalse, gdv1.ReasonWaitingForRollout
		c.Message = "Adoption is next-rollout, so gracefuldrain changes nothing now: the next change of the pod template (a new image, say) gets " +
			DescribeChanges(in.Pending) + " from the admission webhook, in the same rollout."
	case in.Applied:
		c.Status, c.Reason = metav1.ConditionTrue, gdv1.ReasonApplied
		c.Message = "gracefuldrain applied " + DescribeChanges(in.Pending) + ". " + CatchUpReason
	default: // audit mode, or enforce mode that did not apply (never both pending and not applied otherwise)
		c.Status, c.Reason = metav1.ConditionFalse, gdv1.ReasonAuditOnly
		c.Message = "Audit mode, nothing was changed; enforce mode would set " + DescribeChanges(in.Pending) + "."
	}
	return c
}

// CatchUpReason says why the reconciler, not the admission webhook, had to
// apply the plan, for the condition and the Event.
const CatchUpReason = "The pod template lacked them: it was written before the namespace opted in, while the admission webhook was unreachable, or before its load balancer existed."

// DescribeChanges renders changes as "field: before -> after" items.
func DescribeChanges(changes []plan.Change) string {
	parts := make([]string, 0, len(changes))
	for _, ch := range changes {
		parts = append(parts, fmt.Sprintf("%s: %s -> %s", ch.Field, ch.Before, ch.After))
	}
	return strings.Join(parts, ", ")
}

func rolledOutCondition(in Input) metav1.Condition {
	c := metav1.Condition{Type: gdv1.ConditionRolledOut, Status: metav1.ConditionFalse, Reason: gdv1.ReasonRolloutInProgress}
	done, msg := in.Rollout.Complete, in.Rollout.Message
	switch {
	case done && in.Applied: // the apply's new generation is not in this object: never call that rolled out
		c.Message = "The rollout that carries the drain plan has started."
	case done:
		c.Status, c.Reason, c.Message = metav1.ConditionTrue, gdv1.ReasonRolloutComplete, msg
	default:
		c.Message = msg
	}
	return c
}

func hooksCondition(in Input) metav1.Condition {
	c := metav1.Condition{Type: gdv1.ConditionHooksProtected, Status: metav1.ConditionTrue, Reason: gdv1.ReasonNoHooks,
		Message: "Every container stops with a preStop sleep long enough for the load balancer."}
	var custom []string
	for _, cp := range in.Plan.Containers {
		if cp.PreStop == plan.PreStopCustom {
			custom = append(custom, fmt.Sprintf("%s (%s)", cp.Name, cp.ExistingPreStop))
		}
	}
	if len(custom) > 0 {
		c.Status, c.Reason = metav1.ConditionFalse, gdv1.ReasonCustomPreStopHook
		c.Message = fmt.Sprintf("Container %s has its own preStop hook, which gracefuldrain never replaces; make it wait at least %ds before the app stops accepting connections, then this %s is protected.",
			strings.Join(custom, ", "), in.Plan.PreStopSeconds, in.Workload.Kind)
	}
	return c
}

func conflictCondition(in Input) metav1.Condition {
	if in.Holding {
		return metav1.Condition{Type: gdv1.ConditionConflict, Status: metav1.ConditionTrue, Reason: gdv1.ReasonConflict, Message: conflictMessage(in)}
	}
	return metav1.Condition{Type: gdv1.ConditionConflict, Status: metav1.ConditionFalse, Reason: gdv1.ReasonNoConflict,
		Message: "No other field manager is reverting the drain settings."}
}

func conflictMessage(in Input) string {
	manager := "another field manager"
	if in.Reverts != nil && in.Reverts.Manager != "" {
		manager = fmt.Sprintf("field manager %q", in.Reverts.Manager)
	}
	count := int32(0)
	if in.Reverts != nil {
		count = in.Reverts.Count
	}
	return fmt.Sprintf("%s reverted the drain settings %d times, so gracefuldrain stopped re-applying them to avoid endless rollouts. Let gracefuldrain own these fields (remove them from that manifest, or tell the GitOps tool to ignore them; see the README), then annotate the %s gracefuldrain.io/retry=<any new value>; it also tries again after an hour without reverts.",
		manager, count, in.Workload.Kind)
}

// targetPortsCondition reports Service targetPorts that no container declares:
// the Service then has no endpoint there, so the load balancer sends those
// pods nothing through it, and no readiness probe can be derived for it. The
// drain settings still go on (they cost nothing), so Ready does not wait on it.
func targetPortsCondition(in Input) metav1.Condition {
	c := metav1.Condition{Type: gdv1.ConditionTargetPorts, Status: metav1.ConditionTrue, Reason: gdv1.ReasonTargetPortsResolved,
		Message: "Every attached Service's targetPort is served by a container port."}
	if len(in.UnresolvedTargetPorts) > 0 {
		c.Status, c.Reason = metav1.ConditionFalse, gdv1.ReasonTargetPortUnresolved
		c.Message = fmt.Sprintf("%s: no container of %s %s declares that port, so the Service has no endpoint there and the load balancer sends these pods nothing through it. Fix the targetPort or add the containerPort.",
			strings.Join(in.UnresolvedTargetPorts, "; "), in.Workload.Kind, in.Workload.Name)
	}
	return c
}
