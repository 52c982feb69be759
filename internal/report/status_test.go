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
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"

	gdv1 "github.com/gracefuldrain/gracefuldrain/api/v1alpha1"
	"github.com/gracefuldrain/gracefuldrain/internal/awslb"
	"github.com/gracefuldrain/gracefuldrain/internal/discovery"
	"github.com/gracefuldrain/gracefuldrain/internal/invalid"
	"github.com/gracefuldrain/gracefuldrain/internal/plan"
	"github.com/gracefuldrain/gracefuldrain/internal/rollout"
	"github.com/gracefuldrain/gracefuldrain/internal/slim"
	"github.com/gracefuldrain/gracefuldrain/internal/workload"
)

func rolledOut(gen int64, replicas int32) *appsv1.Deployment {
	return &appsv1.Deployment{
		ObjectMeta: metav1.ObjectMeta{Name: "web", Namespace: "shop", Generation: gen},
		Spec:       appsv1.DeploymentSpec{Replicas: ptr.To(replicas)},
		Status: appsv1.DeploymentStatus{ObservedGeneration: gen, Replicas: replicas, UpdatedReplicas: replicas,
			ReadyReplicas: replicas, AvailableReplicas: replicas},
	}
}

func pod(name string, gate bool) corev1.Pod {
	p := corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: name}, Status: corev1.PodStatus{Phase: corev1.PodRunning}}
	if gate {
		p.Spec.ReadinessGates = []corev1.PodReadinessGate{{ConditionType: awslb.ReadinessGatePrefix + "k8s-shop-web-abc"}}
	}
	return p
}

func ipPlan() plan.Plan {
	return plan.Plan{PreStopSeconds: 40, ShutdownSeconds: 30, TerminationGracePeriodSeconds: 70, NeedsReadinessGate: true,
		SleepMethod: plan.SleepNative, Containers: []plan.ContainerPlan{{Name: "app", PreStop: plan.PreStopSet, ReadinessProbe: plan.ProbeDerive}}}
}

func protectedInput() Input {
	in := Input{
		Mode:           gdv1.ModeEnforce,
		Attachments:    []discovery.Attachment{{LoadBalancer: discovery.ALB, TargetType: discovery.TargetIP, SourceKind: discovery.SourceIngress, SourceName: "web"}},
		Plan:           ipPlan(),
		Pods:           []corev1.Pod{pod("a", true), pod("b", true)},
		GateLabelValue: "enabled",
	}
	describe(&in, rolledOut(2, 2))
	return in
}

// deploy is the Deployment the input describes, for the tests to change.
func deploy(in *Input) *appsv1.Deployment { return in.Workload.Object.(*appsv1.Deployment) }

// describe makes the input describe d, as the reconciler does: its workload
// view and its rollout truth, after a test changed it.
func describe(in *Input, d *appsv1.Deployment) {
	in.Workload = workload.OfDeployment(d)
	in.Rollout = rollout.OfDeployment(d)
}

func TestConditions(t *testing.T) {
	pending := []plan.Change{{Field: "terminationGracePeriodSeconds", Before: "30", After: "70"}}
	tests := []struct {
		name        string
		mutate      func(*Input)
		wantReady   metav1.ConditionStatus
		wantReason  string
		wantMessage string
		wantCond    map[string]string // condition type -> reason
	}{
		{name: "protected", mutate: func(*Input) {}, wantReady: metav1.ConditionTrue, wantReason: gdv1.ReasonProtected,
			wantMessage: "readiness gates on all 2 pods",
			wantCond:    map[string]string{gdv1.ConditionPlanApplied: gdv1.ReasonAlreadyCompliant, gdv1.ConditionReadinessGates: gdv1.ReasonGatesInjected}},
		{name: "invalid configuration first", mutate: func(in *Input) {
			in.Problems = []invalid.Setting{{Object: "Deployment shop/web", Key: "gracefuldrain.io/prestop-seconds", Value: "x", Message: "Expected a number."}}
			in.Pending = pending
		}, wantReady: metav1.ConditionFalse, wantReason: gdv1.ReasonInvalidConfiguration, wantMessage: `gracefuldrain.io/prestop-seconds="x"`},
		{name: "apply failed", mutate: func(in *Input) { in.Pending = pending; in.ApplyError = errors.New("boom") },
			wantReady: metav1.ConditionFalse, wantReason: gdv1.ReasonApplyFailed, wantMessage: "boom"},
		{name: "audit with changes pending", mutate: func(in *Input) { in.Mode = gdv1.ModeAudit; in.Pending = pending },
			wantReady: metav1.ConditionFalse, wantReason: gdv1.ReasonAuditOnly, wantMessage: "terminationGracePeriodSeconds: 30 -> 70"},
		{name: "audit already compliant is protected", mutate: func(in *Input) { in.Mode = gdv1.ModeAudit },
			wantReady: metav1.ConditionTrue, wantReason: gdv1.ReasonProtected},
		{name: "just applied: rollout starts", mutate: func(in *Input) { in.Pending = pending; in.Applied = true; deploy(in).Generation = 3 },
			wantReady: metav1.ConditionFalse, wantReason: gdv1.ReasonRolloutInProgress,
			wantCond: map[string]string{gdv1.ConditionPlanApplied: gdv1.ReasonApplied, gdv1.ConditionReadinessGates: gdv1.ReasonPending}},
		{name: "generation not observed", mutate: func(in *Input) { deploy(in).Generation = 3 },
			wantReady: metav1.ConditionFalse, wantReason: gdv1.ReasonRolloutInProgress, wantMessage: "observe generation 3"},
		{name: "replicas not updated", mutate: func(in *Input) { deploy(in).Status.UpdatedReplicas = 1 },
			wantReady: metav1.ConditionFalse, wantReason: gdv1.ReasonRolloutInProgress, wantMessage: "1 of 2 new replicas updated"},
		{name: "old replicas terminating", mutate: func(in *Input) { deploy(in).Status.Replicas = 3 },
			wantReady: metav1.ConditionFalse, wantReason: gdv1.ReasonRolloutInProgress, wantMessage: "1 old replicas pending termination"},
		{name: "not available", mutate: func(in *Input) { deploy(in).Status.AvailableReplicas = 0 },
			wantReady: metav1.ConditionFalse, wantReason: gdv1.ReasonRolloutInProgress, wantMessage: "0 of 2 updated replicas available"},
		{name: "progress deadline exceeded", mutate: func(in *Input) {
			deploy(in).Status.Conditions = []appsv1.DeploymentCondition{{Type: appsv1.DeploymentProgressing, Reason: "ProgressDeadlineExceeded", Message: "ReplicaSet web-1 has timed out progressing."}}
		}, wantReady: metav1.ConditionFalse, wantReason: gdv1.ReasonRolloutInProgress, wantMessage: "stalled"},
		{name: "pod without gate", mutate: func(in *Input) { in.Pods[1] = pod("b", false) },
			wantReady: metav1.ConditionFalse, wantReason: gdv1.ReasonPodsWithoutGate, wantMessage: "1 of 2 pods"},
		{name: "terminating pod without gate ignored", mutate: func(in *Input) {
			p := pod("old", false)
			p.DeletionTimestamp = &metav1.Time{}
			in.Pods = append(in.Pods, p)
		}, wantReady: metav1.ConditionTrue, wantReason: gdv1.ReasonProtected},
		{name: "gate label missing", mutate: func(in *Input) { in.GateLabelValue = "" },
			wantReady: metav1.ConditionFalse, wantReason: gdv1.ReasonGateLabelMissing},
		{name: "gate label overridden", mutate: func(in *Input) { in.GateLabelValue = "disabled" },
			wantReady: metav1.ConditionFalse, wantReason: gdv1.ReasonGateLabelOverridden, wantMessage: `"disabled"`},
		{name: "instance targets need no gate", mutate: func(in *Input) {
			in.Plan.NeedsReadinessGate = false
			in.GateLabelValue = ""
			in.Pods = []corev1.Pod{pod("a", false)}
		}, wantReady: metav1.ConditionTrue, wantReason: gdv1.ReasonProtected,
			wantCond: map[string]string{gdv1.ConditionReadinessGates: gdv1.ReasonGatesNotNeeded}},
		{name: "custom hook", mutate: func(in *Input) {
			in.Plan.Containers[0].PreStop = plan.PreStopCustom
			in.Plan.Containers[0].ExistingPreStop = "exec [/bin/drain]"
		}, wantReady: metav1.ConditionFalse, wantReason: gdv1.ReasonCustomPreStopHook, wantMessage: "app (exec [/bin/drain])"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			in := protectedInput()
			tt.mutate(&in)
			describe(&in, deploy(&in))
			st := Status(gdv1.GracefulDrainStatus{}, 1, in)
			sameFromCache(t, in)
			ready := meta.FindStatusCondition(st.Conditions, gdv1.ConditionReady)
			if ready == nil || ready.Status != tt.wantReady || ready.Reason != tt.wantReason {
				t.Fatalf("Ready = %+v, want %s/%s", ready, tt.wantReady, tt.wantReason)
			}
			if !strings.Contains(ready.Message, tt.wantMessage) {
				t.Fatalf("Ready message %q lacks %q", ready.Message, tt.wantMessage)
			}
			for typ, reason := range tt.wantCond {
				if c := meta.FindStatusCondition(st.Conditions, typ); c == nil || c.Reason != reason {
					t.Fatalf("%s = %+v, want reason %s", typ, c, reason)
				}
			}
			for _, c := range st.Conditions {
				if c.ObservedGeneration != 1 || c.Message == "" {
					t.Fatalf("condition %s lacks observedGeneration or message: %+v", c.Type, c)
				}
			}
			if st.Conditions[0].Type != gdv1.ConditionReady || len(st.Conditions) != 8 {
				t.Fatalf("conditions not in order: %+v", st.Conditions)
			}
		})
	}
}

func TestStatusKeepsTransitionTimesAndAppliedReason(t *testing.T) {
	in := protectedInput()
	in.Pending = []plan.Change{{Field: "terminationGracePeriodSeconds", Before: "30", After: "70"}}
	in.Applied = true
	deploy(&in).Generation = 3 // the apply's answer
	describe(&in, deploy(&in))
	first := Status(gdv1.GracefulDrainStatus{}, 1, in)
	for i := range first.Conditions {
		first.Conditions[i].LastTransitionTime = metav1.Unix(1000, 0)
	}
	// Next reconcile: the Deployment carries the plan; nothing pending; its
	// controller has not observed the new generation yet. Nothing to write.
	in.Pending, in.Applied = nil, false
	second := Status(first, 1, in)
	if !equalConditions(first.Conditions, second.Conditions) {
		t.Fatalf("the reconcile after an apply would write status again:\n%+v\n%+v", first.Conditions, second.Conditions)
	}
	applied := meta.FindStatusCondition(second.Conditions, gdv1.ConditionPlanApplied)
	if applied.Reason != gdv1.ReasonApplied || applied.LastTransitionTime != metav1.Unix(1000, 0) {
		t.Fatalf("PlanApplied after apply = %+v, want Applied with the first transition time", applied)
	}
	if again := Status(second, 1, in); !equalConditions(again.Conditions, second.Conditions) {
		t.Fatalf("status not stable across identical reconciles:\n%+v\n%+v", second.Conditions, again.Conditions)
	}
}

func equalConditions(a, b []metav1.Condition) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

func TestLoadBalancerSummary(t *testing.T) {
	atts := []discovery.Attachment{
		{LoadBalancer: discovery.NLB, TargetType: discovery.TargetInstance},
		{LoadBalancer: discovery.ALB, TargetType: discovery.TargetIP},
		{LoadBalancer: discovery.ALB, TargetType: discovery.TargetIP},
	}
	if got := LoadBalancerSummary(atts); got != "ALB/ip,NLB/instance" {
		t.Fatalf("got %q", got)
	}
	if got := LoadBalancerSummary(nil); got != "" {
		t.Fatalf("got %q", got)
	}
}

func readyPod(name string, ready bool) corev1.Pod {
	p := pod(name, true)
	status := corev1.ConditionFalse
	if ready {
		status = corev1.ConditionTrue
	}
	p.Status.Conditions = []corev1.PodCondition{{Type: corev1.PodReady, Status: status}}
	return p
}

// sameFromCache checks that the status does not change when computed from
// the objects as the operator's cache keeps them (slim pods and Deployment).
func sameFromCache(t *testing.T, in Input) {
	t.Helper()
	want := Status(gdv1.GracefulDrainStatus{}, 1, in)
	cached := in
	d, _ := slim.DropUnread(deploy(&in).DeepCopy())
	describe(&cached, d.(*appsv1.Deployment))
	cached.Pods = nil
	for i := range in.Pods {
		p, _ := slim.Pod(in.Pods[i].DeepCopy())
		cached.Pods = append(cached.Pods, *p.(*corev1.Pod))
	}
	got := Status(gdv1.GracefulDrainStatus{}, 1, cached)
	for i := range got.Conditions { // set from the clock, not from the input
		got.Conditions[i].LastTransitionTime = want.Conditions[i].LastTransitionTime
	}
	if !equality.Semantic.DeepEqual(got, want) {
		t.Fatalf("status differs when computed from the cached objects:\n%s", cmp.Diff(want, got))
	}
}

func TestServing(t *testing.T) {
	now := time.Date(2026, 11, 21, 12, 0, 0, 0, time.UTC)
	restarted := func(exit int32, reason string, ago time.Duration) corev1.Pod {
		p := readyPod("web-1", true)
		p.Status.ContainerStatuses = []corev1.ContainerStatus{{Name: "app", RestartCount: 3, LastTerminationState: corev1.ContainerState{
			Terminated: &corev1.ContainerStateTerminated{ExitCode: exit, Reason: reason, FinishedAt: metav1.NewTime(now.Add(-ago))}}}}
		return p
	}
	withLiveness := func(in *Input) {
		deploy(in).Spec.Template.Spec.Containers = []corev1.Container{{Name: "app", LivenessProbe: &corev1.Probe{}}}
	}
	tests := []struct {
		name       string
		mutate     func(*Input)
		wantStatus metav1.ConditionStatus
		wantReason string
		wantText   string
	}{
		{name: "all ready", mutate: func(in *Input) { in.Pods = []corev1.Pod{readyPod("a", true), readyPod("b", true)} },
			wantStatus: metav1.ConditionTrue, wantReason: gdv1.ReasonServing, wantText: "2 of 2"},
		{name: "none ready: every request fails", mutate: func(in *Input) { in.Pods = []corev1.Pod{readyPod("a", false), readyPod("b", false)} },
			wantStatus: metav1.ConditionFalse, wantReason: gdv1.ReasonNoReadyPods, wantText: "502"},
		{name: "no pods yet", mutate: func(in *Input) { in.Pods = nil }, wantStatus: metav1.ConditionUnknown, wantReason: gdv1.ReasonPending},
		{name: "scaled to zero", mutate: func(in *Input) { deploy(in).Spec.Replicas = ptr.To[int32](0); in.Pods = nil },
			wantStatus: metav1.ConditionTrue, wantReason: gdv1.ReasonScaledToZero},
		{name: "liveness restart by SIGTERM", mutate: func(in *Input) { withLiveness(in); in.Pods = []corev1.Pod{restarted(143, "Error", time.Minute)} },
			wantStatus: metav1.ConditionFalse, wantReason: gdv1.ReasonLivenessRestarts, wantText: "restarted 3 times"},
		{name: "liveness restart by SIGKILL", mutate: func(in *Input) { withLiveness(in); in.Pods = []corev1.Pod{restarted(137, "Error", time.Minute)} },
			wantStatus: metav1.ConditionFalse, wantReason: gdv1.ReasonLivenessRestarts},
		{name: "old restart not current", mutate: func(in *Input) { withLiveness(in); in.Pods = []corev1.Pod{restarted(143, "Error", 2*time.Hour)} },
			wantStatus: metav1.ConditionTrue, wantReason: gdv1.ReasonServing},
		{name: "OOM kill is not the liveness probe", mutate: func(in *Input) { withLiveness(in); in.Pods = []corev1.Pod{restarted(137, "OOMKilled", time.Minute)} },
			wantStatus: metav1.ConditionTrue, wantReason: gdv1.ReasonServing},
		{name: "crash is not the liveness probe", mutate: func(in *Input) { withLiveness(in); in.Pods = []corev1.Pod{restarted(1, "Error", time.Minute)} },
			wantStatus: metav1.ConditionTrue, wantReason: gdv1.ReasonServing},
		{name: "restart without liveness probe", mutate: func(in *Input) { in.Pods = []corev1.Pod{restarted(143, "Error", time.Minute)} },
			wantStatus: metav1.ConditionTrue, wantReason: gdv1.ReasonServing},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			in := protectedInput()
			in.Now = now
			tt.mutate(&in)
			describe(&in, deploy(&in))
			st := Status(gdv1.GracefulDrainStatus{}, 1, in)
			sameFromCache(t, in)
			c := meta.FindStatusCondition(st.Conditions, gdv1.ConditionServing)
			if c == nil || c.Status != tt.wantStatus || c.Reason != tt.wantReason || !strings.Contains(c.Message, tt.wantText) {
				t.Fatalf("Serving = %+v, want %s/%s containing %q", c, tt.wantStatus, tt.wantReason, tt.wantText)
			}
		})
	}
}

func TestGatesAgainstLabelTime(t *testing.T) {
	label := metav1.NewTime(time.Date(2026, 11, 21, 12, 0, 0, 0, time.UTC))
	created := func(name string, offset time.Duration, gate bool) corev1.Pod {
		p := pod(name, gate)
		p.CreationTimestamp = metav1.NewTime(label.Add(offset))
		return p
	}
	owns := func(manager string, offset time.Duration, fields string) metav1.ManagedFieldsEntry {
		at := metav1.NewTime(label.Add(offset))
		return metav1.ManagedFieldsEntry{Manager: manager, Operation: metav1.ManagedFieldsOperationApply, Time: &at,
			FieldsType: "FieldsV1", FieldsV1: &metav1.FieldsV1{Raw: []byte(fields)}}
	}
	// The label's time is that of the entry that owns it, not of the
	// namespace's older entries.
	owners := []metav1.ManagedFieldsEntry{
		owns("kubectl", -2*time.Hour, `{"f:metadata":{"f:labels":{"f:team":{}}}}`),
		owns("gracefuldrain", 0, `{"f:metadata":{"f:labels":{"f:`+awslb.ReadinessGateInjectLabel+`":{}}}}`),
	}
	tests := []struct {
		name       string
		owners     []metav1.ManagedFieldsEntry
		pods       []corev1.Pod
		wantReason string
		wantText   string
	}{
		{name: "created before the label", pods: []corev1.Pod{created("old", -time.Hour, false), created("new", time.Minute, true)},
			wantReason: gdv1.ReasonPodsCreatedBeforeLabel, wantText: "rollout restart deployment/web"},
		{name: "created after the label without gate", pods: []corev1.Pod{created("old", -time.Hour, false), created("new", time.Minute, false)},
			wantReason: gdv1.ReasonNoGateInjector, wantText: "webhook"},
		{name: "all gated", pods: []corev1.Pod{created("a", time.Minute, true)}, wantReason: gdv1.ReasonGatesInjected},
		{name: "no entry says when the label was set", pods: []corev1.Pod{created("old", -time.Hour, false)},
			owners:     []metav1.ManagedFieldsEntry{owns("kubectl", -2*time.Hour, `{"f:metadata":{"f:labels":{"f:team":{}}}}`)},
			wantReason: gdv1.ReasonPodsWithoutGate, wantText: "created before the namespace label"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			in := protectedInput()
			in.NamespaceManagedFields = tt.owners
			if tt.owners == nil {
				in.NamespaceManagedFields = owners
			}
			in.Pods = tt.pods
			st := Status(gdv1.GracefulDrainStatus{}, 1, in)
			sameFromCache(t, in)
			c := meta.FindStatusCondition(st.Conditions, gdv1.ConditionReadinessGates)
			if c.Reason != tt.wantReason || !strings.Contains(c.Message, tt.wantText) {
				t.Fatalf("ReadinessGates = %+v, want %s containing %q", c, tt.wantReason, tt.wantText)
			}
		})
	}
}

func TestConflict(t *testing.T) {
	in := protectedInput()
	in.Pending = []plan.Change{{Field: "terminationGracePeriodSeconds", Before: "30", After: "70"}}
	in.Holding = true
	in.Reverts = &gdv1.RevertStatus{Count: 4, Manager: "flux"}
	st := Status(gdv1.GracefulDrainStatus{}, 1, in)
	for _, typ := range []string{gdv1.ConditionReady, gdv1.ConditionPlanApplied} {
		c := meta.FindStatusCondition(st.Conditions, typ)
		if c.Status != metav1.ConditionFalse || c.Reason != gdv1.ReasonConflict || !strings.Contains(c.Message, `"flux"`) {
			t.Fatalf("%s = %+v", typ, c)
		}
	}
	c := meta.FindStatusCondition(st.Conditions, gdv1.ConditionConflict)
	if c.Status != metav1.ConditionTrue || !strings.Contains(c.Message, "4 times") {
		t.Fatalf("Conflict = %+v", c)
	}
	if st.Reverts == nil || st.Reverts.Manager != "flux" {
		t.Fatalf("reverts not in status: %+v", st.Reverts)
	}
	in.Holding = false
	c = meta.FindStatusCondition(Status(st, 1, in).Conditions, gdv1.ConditionConflict)
	if c.Status != metav1.ConditionFalse || c.Reason != gdv1.ReasonNoConflict {
		t.Fatalf("Conflict after resume = %+v", c)
	}
}

func TestTargetPorts(t *testing.T) {
	in := protectedInput()
	c := meta.FindStatusCondition(Status(gdv1.GracefulDrainStatus{}, 1, in).Conditions, gdv1.ConditionTargetPorts)
	if c.Status != metav1.ConditionTrue {
		t.Fatalf("resolved port reported as %+v", c)
	}
	in.UnresolvedTargetPorts = []string{`Service web port 80 targetPort "metrics"`}
	st := Status(gdv1.GracefulDrainStatus{}, 1, in)
	c = meta.FindStatusCondition(st.Conditions, gdv1.ConditionTargetPorts)
	if c.Status != metav1.ConditionFalse || c.Reason != gdv1.ReasonTargetPortUnresolved || !strings.Contains(c.Message, `targetPort "metrics"`) {
		t.Fatalf("unresolved port reported as %+v", c)
	}
	if r := meta.FindStatusCondition(st.Conditions, gdv1.ConditionReady); r.Status != metav1.ConditionTrue {
		t.Fatalf("Ready must not wait on target ports: %+v", r)
	}
}
