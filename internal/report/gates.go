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

package report

import (
	"fmt"
	"sort"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	gdv1 "github.com/gracefuldrain/gracefuldrain/api/v1alpha1"
	"github.com/gracefuldrain/gracefuldrain/internal/awslb"
	"github.com/gracefuldrain/gracefuldrain/internal/fieldowners"
)

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
	if len(without) > 0 {
		if since := fieldowners.OwnedSince(in.NamespaceManagedFields, fieldowners.Label(awslb.ReadinessGateInjectLabel)); since != nil {
			return gatesMissingSinceLabel(in, since.Time, pods)
		}
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

// gatesMissingSinceLabel tells apart pods created before the namespace label
// (the next rollout fixes them) from pods created after it without a gate
// (nothing in the cluster injects gates).
func gatesMissingSinceLabel(in Input, since time.Time, pods []corev1.Pod) metav1.Condition {
	c := metav1.Condition{Type: gdv1.ConditionReadinessGates, Status: metav1.ConditionFalse}
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
		c.Message = fmt.Sprintf("%d of %d pods were created after the namespace got %s (%s) and still have no %s readiness gate (for example %s): nothing in the cluster injects gates. Install the AWS Load Balancer Controller with its pod mutating webhook, then run %s.",
			len(after), len(pods), label, since.UTC().Format(time.RFC3339), awslb.ReadinessGatePrefix, after[0], in.Workload.RestartCommand())
		return c
	}
	c.Reason = gdv1.ReasonPodsCreatedBeforeLabel
	c.Message = fmt.Sprintf("%d of %d pods were created before the namespace got %s (%s) and gates are injected only when a pod is created (for example %s): the next rollout gives them the gate (%s).",
		len(before), len(pods), label, since.UTC().Format(time.RFC3339), before[0], in.Workload.RestartCommand())
	return c
}
