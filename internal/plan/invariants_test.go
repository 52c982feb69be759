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

package plan

import (
	"math"
	"strconv"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	. "github.com/onsi/gomega"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/utils/ptr"

	gdv1 "github.com/gracefuldrain/gracefuldrain/api/v1alpha1"
	"github.com/gracefuldrain/gracefuldrain/internal/discovery"
	"github.com/gracefuldrain/gracefuldrain/internal/slim"
	"github.com/gracefuldrain/gracefuldrain/internal/workload"
)

// checkInvariants are the promises of a plan whatever its input.
func checkInvariants(g Gomega, in Input, p Plan) {
	spec := in.Workload.Template.Spec
	current := int64(30)
	if spec.TerminationGracePeriodSeconds != nil {
		current = *spec.TerminationGracePeriodSeconds
	}
	capped := func(v int64) int64 { return min(v, math.MaxInt32) }
	grace := int64(p.TerminationGracePeriodSeconds)
	g.Expect(grace).To(BeNumerically(">=", capped(int64(p.PreStopSeconds)+int64(p.ShutdownSeconds))), "grace covers preStop and shutdown")
	g.Expect(grace).To(BeNumerically(">=", capped(current)), "grace never lowered")
	g.Expect(p.SleepMethod).To(BeElementOf(SleepNative, SleepExec))
	g.Expect(p).To(Equal(Compute(in)), "deterministic")
	both, pending := ComputeWithChanges(in)
	g.Expect(both).To(Equal(p), "ComputeWithChanges plans as Compute")
	g.Expect(pending).To(Equal(Changes(in.Workload, p)), "ComputeWithChanges finds what Changes finds")
	// The reconciler plans from the cache, where slim.DropUnread has cut the
	// pod template down: the plan and its diff must not depend on what was cut.
	cached, _ := slim.DropUnread(in.Workload.Object.DeepCopyObject())
	fromCache := in
	fromCache.Workload = workload.OfDeployment(cached.(*appsv1.Deployment))
	g.Expect(Compute(fromCache)).To(Equal(p), "same plan from the cached Deployment")
	g.Expect(Changes(fromCache.Workload, p)).To(Equal(Changes(in.Workload, p)), "same changes from the cached Deployment")
	// The admission webhook puts the plan into a user's write with Mutate:
	// afterwards nothing is pending but what only an apply can do (removing
	// the operator's share of a probe other managers co-own).
	mutated := workload.OfDeployment(in.Workload.Object.DeepCopyObject().(*appsv1.Deployment))
	Mutate(mutated, p)
	g.Expect(withoutSharedProbeRemovals(Changes(mutated, p), mutated)).To(BeEmpty(), "pending after Mutate")
	// It answers with MutationPatch, which the API server applies to the
	// object's JSON: the same object as Mutate's.
	admitted := workload.OfDeployment(in.Workload.Object.DeepCopyObject().(*appsv1.Deployment))
	var patched appsv1.Deployment
	g.Expect(runtime.DefaultUnstructuredConverter.FromUnstructured(applyPatch(g, in.Workload.Object, MutationPatch(admitted, p)), &patched)).To(Succeed())
	g.Expect(equality.Semantic.DeepEqual(&patched, mutated.Object)).To(BeTrue(), "patched as Mutate: %s", cmp.Diff(mutated.Object, &patched))

	g.Expect(p.Containers).To(HaveLen(len(spec.Containers)))
	for i, cp := range p.Containers {
		c := spec.Containers[i]
		g.Expect(cp.Name).To(Equal(c.Name))
		var hook *corev1.LifecycleHandler
		if c.Lifecycle != nil {
			hook = c.Lifecycle.PreStop
		}
		existing, isSleep := SleepSeconds(hook)
		switch cp.PreStop {
		case PreStopSet, PreStopRaise:
			g.Expect(cp.PreStopHook).NotTo(BeNil())
			g.Expect(handlerTypes(cp.PreStopHook)).To(Equal(1), "one handler type")
			n, ok := SleepSeconds(cp.PreStopHook)
			g.Expect(ok).To(BeTrue())
			g.Expect(n).To(Equal(p.PreStopSeconds))
			if hook != nil {
				g.Expect(cp.PreStopHook.Sleep != nil).To(Equal(hook.Sleep != nil), "the form of an existing hook is kept")
			}
		case PreStopKeep:
			g.Expect(cp.PreStopHook).To(BeNil())
			g.Expect(isSleep).To(BeTrue())
			g.Expect(existing).To(BeNumerically(">=", p.PreStopSeconds))
			g.Expect(grace).To(BeNumerically(">=", capped(int64(existing)+int64(p.ShutdownSeconds))), "grace covers a kept sleep")
		case PreStopCustom:
			g.Expect(cp.PreStopHook).To(BeNil())
			g.Expect(isSleep).To(BeFalse())
		default:
			g.Expect(cp.PreStop).To(BeEmpty(), "unknown action")
		}
		if cp.ReadinessProbe == ProbeDerive {
			pr := cp.Probe
			g.Expect(pr).NotTo(BeNil())
			g.Expect((pr.HTTPGet != nil) != (pr.TCPSocket != nil)).To(BeTrue(), "one handler type")
			g.Expect(pr.TimeoutSeconds).To(BeNumerically(">", 0))
			g.Expect(pr.PeriodSeconds).To(And(BeNumerically(">", 0), BeNumerically("<=", 10)))
			g.Expect(pr.SuccessThreshold).To(Equal(int32(1)))
			g.Expect(pr.FailureThreshold).To(BeNumerically(">", 0))
			if pr.HTTPGet != nil {
				g.Expect(pr.HTTPGet.Scheme).NotTo(BeEmpty())
			}
		} else {
			g.Expect(cp.Probe).To(BeNil())
			g.Expect(c.ReadinessProbe == nil || cp.ReadinessProbe != ProbeDerive).To(BeTrue())
		}
	}
}

var sweepHooks = []*corev1.LifecycleHandler{
	nil, nativeSleep(5), nativeSleep(200), execHook("sleep", "5"), execHook("sh", "-c", "sleep 100"),
	execHook("/bin/drain"), httpHook(8080, "/drain"),
}

var sweepAttachments = [][]discovery.Attachment{
	nil,
	{albIP("app", 8080)},
	{albInstance("app", 8080)},
	{nlbIP("app", 8080)},
	{albIP("app", 8080), nlbIP("app", 8080)},
	{nlbInstance("app", 8080), albIP("app", 0)},
}

var sweepOverrides = []Overrides{
	{}, {PreStopSeconds: ptr.To[int32](0)}, {PreStopSeconds: ptr.To[int32](300)},
	{ShutdownSeconds: ptr.To[int32](0)}, {ShutdownSeconds: ptr.To[int32](120)}, {LeaveReadinessProbes: true},
}

// TestInvariantsSweep checks the invariants over a grid of inputs, and that
// Changes is empty once the plan went through server-side apply. The round
// trip takes a few milliseconds, so it runs once per hook, attachments and
// overrides, with the grace period and the sleep method taking turns.
func TestInvariantsSweep(t *testing.T) {
	graces := []*int64{nil, ptr.To[int64](10), ptr.To[int64](70), ptr.To[int64](1000)}
	methods := []SleepMethod{SleepNative, SleepExec}
	input := func(attachments []discovery.Attachment, grace *int64, hook *corev1.LifecycleHandler, ov Overrides, method SleepMethod) Input {
		c := container("app", 8080)
		if hook != nil {
			c = withPreStop(c, hook)
		}
		d := deployment(c, container("sidecar"))
		d.Spec.Template.Spec.TerminationGracePeriodSeconds = grace
		defaults := ruleSettings()
		defaults.SleepMethod = method
		return Input{Workload: workload.OfDeployment(d), Attachments: attachments, Defaults: defaults, Overrides: ov}
	}
	n := 0
	for _, attachments := range sweepAttachments {
		for _, hook := range sweepHooks {
			for _, ov := range sweepOverrides {
				for _, grace := range graces {
					for _, method := range methods {
						in := input(attachments, grace, hook, ov, method)
						checkInvariants(NewWithT(t), in, Compute(in))
					}
				}

				n++
				in := input(attachments, graces[n%len(graces)], hook, ov, methods[n%len(methods)])
				s := newFakeAPIServer(t)
				s.update(in.Workload.Object.(*appsv1.Deployment), "kubectl-client-side-apply")
				// The same plan through the webhook: Mutate on the object as the
				// API server holds it, before the operator's apply.
				admitted := s.deployment()
				s.applyPlan(in)
				in.Workload = workload.OfDeployment(s.deployment())
				p := Compute(in)
				g := NewWithT(t)
				checkInvariants(g, in, p)
				g.Expect(Changes(in.Workload, p)).To(BeEmpty(), "input %d: changes after apply", n)
				Mutate(workload.OfDeployment(admitted), Compute(Input{Workload: workload.OfDeployment(admitted),
					Attachments: in.Attachments, Defaults: in.Defaults, Overrides: in.Overrides}))
				applyAPIDefaults(admitted)
				g.Expect(drainFields(admitted)).To(Equal(drainFields(s.deployment())), "input %d: Mutate and server-side apply disagree", n)
			}
		}
	}
}

// drainFields are the fields the plan sets, as they read in a Deployment.
func drainFields(d *appsv1.Deployment) map[string]any {
	out := map[string]any{"grace": d.Spec.Template.Spec.TerminationGracePeriodSeconds}
	for _, c := range d.Spec.Template.Spec.Containers {
		var preStop *corev1.LifecycleHandler
		if c.Lifecycle != nil {
			preStop = c.Lifecycle.PreStop
		}
		out[c.Name+".preStop"] = preStop
		out[c.Name+".readinessProbe"] = c.ReadinessProbe
	}
	return out
}

// withoutSharedProbeRemovals drops the changes only an apply makes: the
// removal of the operator's fields of a probe that other managers co-own.
func withoutSharedProbeRemovals(changes []Change, w workload.Workload) []Change {
	own := Owned(w.ManagedFields)
	var out []Change
	for _, ch := range changes {
		name, _, _ := strings.Cut(strings.TrimPrefix(ch.Field, "containers["), "]")
		if strings.HasSuffix(ch.Field, ".readinessProbe") && own.Containers[name].ReadinessProbeOthers {
			continue
		}
		out = append(out, ch)
	}
	return out
}

// FuzzCompute checks the invariants on arbitrary numbers. Run with
// go test -fuzz FuzzCompute ./internal/plan/.
func FuzzCompute(f *testing.F) {
	f.Add(int64(30), uint8(0), int64(0), uint8(1), int32(0), false, int32(30), false, false)
	f.Add(int64(-1), uint8(1), int64(5), uint8(7), int32(40), true, int32(0), true, true)
	f.Add(int64(math.MaxInt64), uint8(2), int64(math.MaxInt64), uint8(4), int32(math.MaxInt32), true, int32(math.MaxInt32), false, true)
	f.Add(int64(20), uint8(3), int64(7), uint8(2), int32(1), false, int32(5), false, false)
	f.Fuzz(func(t *testing.T, grace int64, hookKind uint8, hookSecs int64, lbMask uint8, preStop int32, override bool, shutdown int32, leave, exec bool) {
		// Overrides and flags arrive validated: not negative.
		preStop, shutdown = abs32(preStop), abs32(shutdown)
		c := container("app", 8080)
		switch hookKind % 5 {
		case 1:
			c = withPreStop(c, nativeSleep(hookSecs))
		case 2:
			c = withPreStop(c, execHook("sleep", strconv.FormatInt(hookSecs, 10)))
		case 3:
			c = withPreStop(c, execHook("/bin/sh", "-c", "sleep "+strconv.FormatInt(hookSecs, 10)))
		case 4:
			c = withPreStop(c, execHook("/bin/drain", strconv.FormatInt(hookSecs, 10)))
		}
		d := deployment(c)
		if grace >= 0 {
			d.Spec.Template.Spec.TerminationGracePeriodSeconds = &grace
		}
		var attachments []discovery.Attachment
		for i, a := range []discovery.Attachment{albIP("app", 8080), nlbIP("app", 8080), albInstance("app", 8080), nlbInstance("other", 80)} {
			if lbMask&(1<<i) != 0 {
				attachments = append(attachments, a)
			}
		}
		defaults := ruleSettings()
		defaults.ShutdownSeconds = shutdown
		if exec {
			defaults.SleepMethod = SleepExec
		}
		ov := Overrides{LeaveReadinessProbes: leave}
		if override {
			ov.PreStopSeconds = &preStop
		}
		in := Input{Workload: workload.OfDeployment(d), Attachments: attachments, Defaults: defaults, Overrides: ov}
		checkInvariants(NewWithT(t), in, Compute(in))
	})
}

func abs32(v int32) int32 {
	if v < 0 {
		return -(v + 1)
	}
	return v
}

func BenchmarkCompute(b *testing.B) {
	d := deployment(
		withPreStop(container("app", 8080, 8081), execHook("sh", "-c", "sleep 5")),
		withProbe(container("api", 9090), &corev1.Probe{ProbeHandler: corev1.ProbeHandler{TCPSocket: &corev1.TCPSocketAction{}}}),
		withPreStop(container("envoy", 9901), httpHook(9901, "/drain")),
	)
	d.ManagedFields = []metav1.ManagedFieldsEntry{
		managedBy("kubectl", metav1.ManagedFieldsOperationApply, `{"f:spec":{"f:template":{"f:spec":{"f:containers":{"k:{\"name\":\"app\"}":{".":{},"f:image":{},"f:name":{}}}}}}}`),
		operatorOwns(containerFields("app", ownedSleepFields+","+ownedProbeFields)),
	}
	in := Input{
		Workload: workload.OfDeployment(d),
		Attachments: []discovery.Attachment{
			albIP("app", 8080), nlbIP("app", 8080), albInstance("api", 9090),
			withHealthCheck(albIP("envoy", 9901), func(hc *gdv1.HealthCheck) { hc.Port, hc.Path = "9901", "/ready" }),
		},
		Defaults: ruleSettings(),
	}
	b.ReportAllocs()
	for b.Loop() {
		_ = Compute(in)
	}
}
