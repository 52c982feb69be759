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
// Deployment into the GracefulDrain status: attachments, plan and conditions.
// It is pure so that every branch of the summary can be tested in a table.
package report

import (
	"fmt"
	"sort"
	"strings"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	gdv1 "github.com/gracefuldrain/gracefuldrain/api/v1alpha1"
	"github.com/gracefuldrain/gracefuldrain/internal/awslb"
	"github.com/gracefuldrain/gracefuldrain/internal/discovery"
	"github.com/gracefuldrain/gracefuldrain/internal/invalid"
	"github.com/gracefuldrain/gracefuldrain/internal/plan"
)

// Input is everything the status is computed from.
type Input struct {
	Mode        gdv1.Mode
	Problems    []invalid.Setting
	Attachments []discovery.Attachment
	Plan        plan.Plan
	// UnresolvedTargetPorts are attached Service ports whose targetPort no container declares.
	UnresolvedTargetPorts []string
	// Pending are the changes the Deployment still needs (plan.Changes before any apply).
	Pending []plan.Change
	// Applied is true when this reconcile sent Pending to the API server.
	Applied bool
	// ApplyError is the error of a failed apply, if any.
	ApplyError error
	Deployment *appsv1.Deployment
	// Pods match the Deployment's selector (the operator's slim copies).
	Pods []corev1.Pod
	// GateLabelValue is the namespace's elbv2.k8s.aws/pod-readiness-gate-inject
	// value, "" when absent.
	GateLabelValue string
	// GateLabelSince is when that label got its value (from the namespace's
	// managedFields), nil when unknown.
	GateLabelSince *metav1.Time
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
		ObservedGeneration:   generation,
		DeploymentGeneration: in.Deployment.Generation,
		Mode:                 gdv1.Mode(in.Mode),
		LoadBalancer:         LoadBalancerSummary(in.Attachments),
		Attachments:          attachments(in.Attachments),
		Plan:                 drainPlan(in.Plan),
		Reverts:              in.Reverts,
		Conditions:           append([]metav1.Condition(nil), old.Conditions...),
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
	// The first part that is not True explains why the Deployment is not protected.
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
		c.Message = "The Deployment's pod template carries the drain plan."
	case in.Applied:
		c.Status, c.Reason = metav1.ConditionTrue, gdv1.ReasonApplied
		c.Message = "gracefuldrain applied " + DescribeChanges(in.Pending) + "."
	default: // audit mode, or enforce mode that did not apply (never both pending and not applied otherwise)
		c.Status, c.Reason = metav1.ConditionFalse, gdv1.ReasonAuditOnly
		c.Message = "Audit mode, nothing was changed; enforce mode would set " + DescribeChanges(in.Pending) + "."
	}
	return c
}

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
	done, msg := RolloutComplete(in.Deployment)
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

// RolloutComplete reports whether the Deployment's current spec has fully
// rolled out, with the same checks as kubectl rollout status.
func RolloutComplete(d *appsv1.Deployment) (bool, string) {
	want := int32(1)
	if d.Spec.Replicas != nil {
		want = *d.Spec.Replicas
	}
	st := d.Status
	for _, c := range st.Conditions {
		if c.Type == appsv1.DeploymentProgressing && c.Reason == "ProgressDeadlineExceeded" {
			return false, fmt.Sprintf("Rollout stalled: %s", c.Message)
		}
	}
	switch {
	case d.Generation > st.ObservedGeneration:
		return false, fmt.Sprintf("Waiting for the Deployment controller to observe generation %d.", d.Generation)
	case st.UpdatedReplicas < want:
		return false, fmt.Sprintf("Rollout in progress: %d of %d new replicas updated.", st.UpdatedReplicas, want)
	case st.Replicas > st.UpdatedReplicas:
		return false, fmt.Sprintf("Rollout in progress: %d old replicas pending termination.", st.Replicas-st.UpdatedReplicas)
	case st.AvailableReplicas < st.UpdatedReplicas:
		return false, fmt.Sprintf("Rollout in progress: %d of %d updated replicas available.", st.AvailableReplicas, st.UpdatedReplicas)
	}
	return true, fmt.Sprintf("Rollout complete: %d of %d replicas updated and available.", st.AvailableReplicas, want)
}

func readinessGatesCondition(in Input, rolledOut bool) metav1.Condition {
	c := metav1.Condition{Type: gdv1.ConditionReadinessGates}
	if !in.Plan.NeedsReadinessGate {
		c.Status, c.Reason = metav1.ConditionTrue, gdv1.ReasonGatesNotNeeded
		c.Message = "No attachment registers pod IPs (instance targets): readiness gates are not needed."
		return c
	}
	switch in.GateLabelValue {
	case awslb.ReadinessGateInjectEnabled:
	case "":
		c.Status, c.Reason = metav1.ConditionFalse, gdv1.ReasonGateLabelMissing
		c.Message = fmt.Sprintf("The namespace lacks label %s=%s, so new pods get no load-balancer readiness gate; enforce mode adds it.",
			awslb.ReadinessGateInjectLabel, awslb.ReadinessGateInjectEnabled)
		return c
	default:
		c.Status, c.Reason = metav1.ConditionFalse, gdv1.ReasonGateLabelOverridden
		c.Message = fmt.Sprintf("The namespace label %s is %q, not %q; it was left as set. Pods get no load-balancer readiness gate, so a rollout can take targets out of service before new ones are healthy.",
			awslb.ReadinessGateInjectLabel, in.GateLabelValue, awslb.ReadinessGateInjectEnabled)
		return c
	}
	if !rolledOut {
		c.Status, c.Reason = metav1.ConditionUnknown, gdv1.ReasonPending
		c.Message = "Readiness gates are checked once the rollout has finished."
		return c
	}
	pods := activePods(in.Pods)
	var without []string
	for i := range pods {
		if !HasReadinessGate(&pods[i]) {
			without = append(without, pods[i].Name)
		}
	}
	if len(without) > 0 && in.GateLabelSince != nil {
		return gatesMissingSinceLabel(in, pods)
	}
	if len(without) > 0 {
		sort.Strings(without)
		c.Status, c.Reason = metav1.ConditionFalse, gdv1.ReasonPodsWithoutGate
		c.Message = fmt.Sprintf("%d of %d pods have no %s readiness gate (for example %s): they were created before the namespace label, or no AWS Load Balancer Controller webhook injects gates. The next rollout gives new pods the gate if the controller is installed.",
			len(without), len(pods), awslb.ReadinessGatePrefix, without[0])
		return c
	}
	c.Status, c.Reason = metav1.ConditionTrue, gdv1.ReasonGatesInjected
	c.Message = fmt.Sprintf("All %d pods carry a %s readiness gate.", len(pods), awslb.ReadinessGatePrefix)
	return c
}

// HasReadinessGate reports whether the pod carries an AWS target-health readiness gate.
func HasReadinessGate(p *corev1.Pod) bool {
	for _, g := range p.Spec.ReadinessGates {
		if strings.HasPrefix(string(g.ConditionType), awslb.ReadinessGatePrefix) {
			return true
		}
	}
	return false
}

func activePods(pods []corev1.Pod) []corev1.Pod {
	out := make([]corev1.Pod, 0, len(pods))
	for _, p := range pods {
		if p.DeletionTimestamp == nil && p.Status.Phase != corev1.PodSucceeded && p.Status.Phase != corev1.PodFailed {
			out = append(out, p)
		}
	}
	return out
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
		c.Message = fmt.Sprintf("Container %s has its own preStop hook, which gracefuldrain never replaces; make it wait at least %ds before the app stops accepting connections, then this Deployment is protected.",
			strings.Join(custom, ", "), in.Plan.PreStopSeconds)
	}
	return c
}

// LoadBalancerSummary is e.g. "ALB/ip" or "ALB/ip,NLB/instance", deduplicated.
func LoadBalancerSummary(atts []discovery.Attachment) string {
	seen := map[string]bool{}
	var parts []string
	for _, a := range atts {
		s := a.Summary()
		if !seen[s] {
			seen[s] = true
			parts = append(parts, s)
		}
	}
	sort.Strings(parts)
	return strings.Join(parts, ",")
}

func attachments(atts []discovery.Attachment) []gdv1.Attachment {
	out := make([]gdv1.Attachment, 0, len(atts))
	for _, a := range atts {
		out = append(out, gdv1.Attachment{
			LoadBalancer:               string(a.LoadBalancer),
			Source:                     gdv1.ObjectReference{Kind: string(a.SourceKind), Name: a.SourceName},
			Group:                      a.Group,
			Service:                    a.ServiceName,
			ServicePort:                a.ServicePort,
			TargetType:                 string(a.TargetType),
			Container:                  a.Container,
			ContainerPort:              a.ContainerPort,
			HealthCheck:                a.HealthCheck,
			DeregistrationDelaySeconds: a.DeregistrationDelaySeconds,
		})
	}
	return out
}

func drainPlan(p plan.Plan) *gdv1.DrainPlan {
	out := &gdv1.DrainPlan{
		PreStopSeconds:                p.PreStopSeconds,
		SleepMethod:                   string(p.SleepMethod),
		ShutdownSeconds:               p.ShutdownSeconds,
		TerminationGracePeriodSeconds: p.TerminationGracePeriodSeconds,
		ReadinessGateLabel:            p.NeedsReadinessGate,
	}
	for _, c := range p.Containers {
		out.Containers = append(out.Containers, gdv1.ContainerPlan{
			Name: c.Name, PreStop: string(c.PreStop), ExistingPreStop: c.ExistingPreStop, ReadinessProbe: string(c.ReadinessProbe),
		})
	}
	return out
}

// gatesMissingSinceLabel tells apart pods created before the namespace label
// (the next rollout fixes them) from pods created after it without a gate
// (nothing in the cluster injects gates).
func gatesMissingSinceLabel(in Input, pods []corev1.Pod) metav1.Condition {
	c := metav1.Condition{Type: gdv1.ConditionReadinessGates, Status: metav1.ConditionFalse}
	since := in.GateLabelSince.Time
	var before, after []string
	for i := range pods {
		if HasReadinessGate(&pods[i]) {
			continue
		}
		if pods[i].CreationTimestamp.Time.Before(since) {
			before = append(before, pods[i].Name)
		} else {
			after = append(after, pods[i].Name)
		}
	}
	sort.Strings(before)
	sort.Strings(after)
	label := awslb.ReadinessGateInjectLabel + "=" + awslb.ReadinessGateInjectEnabled
	if len(after) > 0 {
		c.Reason = gdv1.ReasonNoGateInjector
		c.Message = fmt.Sprintf("%d of %d pods were created after the namespace got %s (%s) and still have no %s readiness gate (for example %s): nothing in the cluster injects gates. Install the AWS Load Balancer Controller with its pod mutating webhook, then run kubectl rollout restart deployment/%s.",
			len(after), len(pods), label, since.UTC().Format(time.RFC3339), awslb.ReadinessGatePrefix, after[0], in.Deployment.Name)
		return c
	}
	c.Reason = gdv1.ReasonPodsCreatedBeforeLabel
	c.Message = fmt.Sprintf("%d of %d pods were created before the namespace got %s (%s) and gates are injected only when a pod is created (for example %s): the next rollout gives them the gate (kubectl rollout restart deployment/%s).",
		len(before), len(pods), label, since.UTC().Format(time.RFC3339), before[0], in.Deployment.Name)
	return c
}

// recentRestart is how long ago a container restart still counts as current.
const recentRestart = time.Hour

// servingCondition answers seed 003's question: can the load balancer send
// requests anywhere? No ready pod means every request fails; a container
// restarted by its liveness probe fails the requests sent to it meanwhile.
func servingCondition(in Input) metav1.Condition {
	c := metav1.Condition{Type: gdv1.ConditionServing}
	if in.Deployment.Spec.Replicas != nil && *in.Deployment.Spec.Replicas == 0 {
		c.Status, c.Reason, c.Message = metav1.ConditionTrue, gdv1.ReasonScaledToZero, "Scaled to zero replicas: there is nothing to serve."
		return c
	}
	pods := activePods(in.Pods)
	if len(pods) == 0 {
		c.Status, c.Reason, c.Message = metav1.ConditionUnknown, gdv1.ReasonPending, "No pod of the Deployment exists yet."
		return c
	}
	ready := 0
	for i := range pods {
		if podReady(&pods[i]) {
			ready++
		}
	}
	if ready == 0 {
		c.Status, c.Reason = metav1.ConditionFalse, gdv1.ReasonNoReadyPods
		c.Message = fmt.Sprintf("None of the %d pods is ready, so the load balancer has no healthy target and answers every request with 502 or 503. Check why the readiness probe fails (kubectl describe pod %s) and the app's logs.",
			len(pods), pods[0].Name)
		return c
	}
	if msg := livenessRestarts(in, pods); msg != "" {
		c.Status, c.Reason, c.Message = metav1.ConditionFalse, gdv1.ReasonLivenessRestarts, msg
		return c
	}
	c.Status, c.Reason = metav1.ConditionTrue, gdv1.ReasonServing
	c.Message = fmt.Sprintf("%d of %d pods are ready to take traffic.", ready, len(pods))
	return c
}

func podReady(p *corev1.Pod) bool {
	for _, c := range p.Status.Conditions {
		if c.Type == corev1.PodReady {
			return c.Status == corev1.ConditionTrue
		}
	}
	return false
}

// livenessRestarts finds a recent restart of a container that has a liveness
// probe and was stopped by a signal (exit 137/143, or 0 when the app exits
// cleanly on SIGTERM), which is how the kubelet restarts a container whose
// liveness probe fails. Out-of-memory kills and app crashes are not counted.
func livenessRestarts(in Input, pods []corev1.Pod) string {
	probed := map[string]bool{}
	for _, c := range in.Deployment.Spec.Template.Spec.Containers {
		if c.LivenessProbe != nil {
			probed[c.Name] = true
		}
	}
	if len(probed) == 0 {
		return ""
	}
	for i := range pods {
		for _, cs := range pods[i].Status.ContainerStatuses {
			t := cs.LastTerminationState.Terminated
			if !probed[cs.Name] || cs.RestartCount == 0 || t == nil || t.Reason == "OOMKilled" {
				continue
			}
			if t.ExitCode != 137 && t.ExitCode != 143 && t.ExitCode != 0 {
				continue
			}
			if !in.Now.IsZero() && in.Now.Sub(t.FinishedAt.Time) > recentRestart {
				continue
			}
			return fmt.Sprintf("Container %s of pod %s was restarted %d times, last at %s after being stopped by a signal (exit code %d), as the kubelet does when its livenessProbe fails; requests sent to it fail while it restarts. Use a liveness probe only for states the app cannot recover from, and the readiness probe for \"not ready right now\".",
				cs.Name, pods[i].Name, cs.RestartCount, t.FinishedAt.UTC().Format(time.RFC3339), t.ExitCode)
		}
	}
	return ""
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
	return fmt.Sprintf("%s reverted the drain settings %d times, so gracefuldrain stopped re-applying them to avoid endless rollouts. Let gracefuldrain own these fields (remove them from that manifest, or tell the GitOps tool to ignore them; see the README), then annotate the Deployment gracefuldrain.io/retry=<any new value>; it also tries again after an hour without reverts.",
		manager, count)
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
		c.Message = fmt.Sprintf("%s: no container of Deployment %s declares that port, so the Service has no endpoint there and the load balancer sends these pods nothing through it. Fix the targetPort or add the containerPort.",
			strings.Join(in.UnresolvedTargetPorts, "; "), in.Deployment.Name)
	}
	return c
}
