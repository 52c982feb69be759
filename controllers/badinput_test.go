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
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	. "github.com/onsi/gomega"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"

	gdv1 "github.com/gracefuldrain/gracefuldrain/api/v1alpha1"
	"github.com/gracefuldrain/gracefuldrain/internal/awslb"
	"github.com/gracefuldrain/gracefuldrain/internal/settings"
	"github.com/gracefuldrain/gracefuldrain/internal/testsupport"
)

// What a bad input must lead to.
const (
	// wantInvalid: the GracefulDrain of "web" says Ready=False and
	// PlanApplied=False with reason InvalidConfiguration, its message names
	// the key and the value, a Warning Event is emitted, and neither the
	// Deployment nor the namespace is written.
	wantInvalid = "invalid"
	// wantIgnored: the input does not put "web" behind an AWS load balancer
	// (or does not opt it in): no GracefulDrain, no write, ever.
	wantIgnored = "ignored"
	// wantConverged: the input is odd but well defined; the plan is applied
	// as documented (e.g. a lone container without declared ports serves the
	// numeric targetPort).
	wantConverged = "converged"
	// Anything else is a condition reason that some condition of the
	// GracefulDrain must carry.
)

// ReasonTargetPortUnresolved is the reason the bad-input test expects when a
// Service's targetPort matches no container port.
const ReasonTargetPortUnresolved = gdv1.ReasonTargetPortUnresolved

type badInput struct {
	name string
	// nsLabels replaces the enforce label of the namespace when not nil.
	nsLabels map[string]string
	dep      func(*appsv1.Deployment)
	svc      func(*corev1.Service)
	// ing changes the ALB Ingress "web"; noIngress leaves it out.
	ing       func(ns string, ing *networkingv1.Ingress)
	noIngress bool
	// extra objects, created before the Deployment.
	extra func(ns string) []client.Object
	want  string
	// key and value must appear in the InvalidConfiguration message.
	key, value string
	// neighbour is what happens to the valid Deployment "api" of the same
	// namespace: converged unless the namespace itself is the bad input.
	neighbour string
}

func depAnnotation(k, v string) func(*appsv1.Deployment) {
	return func(d *appsv1.Deployment) { d.Annotations = map[string]string{k: v} }
}

func ingAnnotation(k, v string) func(string, *networkingv1.Ingress) {
	return func(_ string, ing *networkingv1.Ingress) { ing.Annotations[k] = v }
}

func invalidDep(name, k, v string) badInput {
	return badInput{name: name, dep: depAnnotation(k, v), want: wantInvalid, key: k, value: v}
}

func invalidIng(name, k, v string) badInput {
	return badInput{name: name, ing: ingAnnotation(k, v), want: wantInvalid, key: k, value: v}
}

// invalidNLB makes "web" an NLB Service (ip targets) with one bad annotation.
func invalidNLB(name, k, v string, more ...string) badInput {
	return badInput{name: name, noIngress: true, want: wantInvalid, key: k, value: v, svc: func(s *corev1.Service) {
		s.Spec.Type = corev1.ServiceTypeLoadBalancer
		s.Annotations = map[string]string{
			awslb.AnnotationNLBType:       awslb.NLBTypeExternal,
			awslb.AnnotationNLBTargetType: "ip",
			k:                             v,
		}
		for i := 0; i+1 < len(more); i += 2 {
			s.Annotations[more[i]] = more[i+1]
		}
	}}
}

func badInputs() []badInput {
	const (
		pre  = settings.PreStopSecondsKey
		shut = settings.ShutdownSecondsKey
		mode = settings.ModeKey
		tga  = awslb.AnnotationALBTargetGroupAttributes
	)
	return []badInput{
		// Seconds annotations: non-numeric, negative, fractional, huge, empty, out of range, padded.
		invalidDep("prestop non-numeric", pre, "forty"),
		invalidDep("prestop negative", pre, "-5"),
		invalidDep("prestop fractional", pre, "1.5"),
		invalidDep("prestop beyond int32", pre, "99999999999"),
		invalidDep("prestop empty", pre, ""),
		invalidDep("prestop zero", pre, "0"),
		invalidDep("prestop above an hour", pre, "3601"),
		invalidDep("prestop with spaces", pre, " 40"),
		invalidDep("prestop with unit", pre, "40s"),
		invalidDep("shutdown non-numeric", shut, "thirty"),
		invalidDep("shutdown negative", shut, "-1"),
		invalidDep("shutdown fractional", shut, "2.5"),
		invalidDep("shutdown beyond int32", shut, "4294967296"),
		invalidDep("shutdown empty", shut, ""),
		// Modes.
		invalidDep("deployment mode unknown", mode, "enforced"),
		invalidDep("deployment mode empty", mode, ""),
		invalidDep("deployment mode wrong case", mode, "Enforce"),
		invalidDep("readiness-probe unknown", settings.ReadinessProbeKey, "sometimes"),
		{name: "namespace mode unknown", nsLabels: map[string]string{mode: "yes"}, want: wantInvalid, key: mode, value: "yes", neighbour: wantInvalid},
		{name: "namespace mode empty", nsLabels: map[string]string{mode: ""}, want: wantInvalid, key: mode, value: "", neighbour: wantInvalid},
		{name: "garbage annotation in unlabelled namespace", nsLabels: map[string]string{}, dep: depAnnotation(pre, "forty"), want: wantIgnored, neighbour: wantIgnored},
		// ALB target-group attributes and health check.
		invalidIng("target-group-attributes garbage", tga, "garbage"),
		invalidIng("target-group-attributes empty key", tga, "=30"),
		invalidIng("deregistration delay non-numeric", tga, "deregistration_delay.timeout_seconds=abc"),
		invalidIng("deregistration delay negative", tga, "deregistration_delay.timeout_seconds=-1"),
		invalidIng("deregistration delay huge", tga, "deregistration_delay.timeout_seconds=99999999999"),
		invalidIng("healthcheck path without slash", awslb.AnnotationALBHealthCheckPath, "healthz"),
		invalidIng("healthcheck interval non-numeric", awslb.AnnotationALBHealthCheckInterval, "fast"),
		invalidIng("healthcheck interval below 5", awslb.AnnotationALBHealthCheckInterval, "1"),
		invalidIng("healthcheck timeout fractional", awslb.AnnotationALBHealthCheckTimeout, "1.5"),
		invalidIng("healthcheck timeout not below interval", awslb.AnnotationALBHealthCheckTimeout, "30"),
		invalidIng("healthy threshold huge", awslb.AnnotationALBHealthyThreshold, "99999999999"),
		invalidIng("unhealthy threshold below 2", awslb.AnnotationALBUnhealthyThreshold, "1"),
		invalidIng("healthcheck protocol unknown", awslb.AnnotationALBHealthCheckProtocol, "UDP"),
		invalidIng("healthcheck port out of range", awslb.AnnotationALBHealthCheckPort, "70000"),
		invalidIng("healthcheck port names no Service port", awslb.AnnotationALBHealthCheckPort, "admin"),
		invalidIng("success codes garbage", awslb.AnnotationALBSuccessCodes, "2xx"),
		invalidIng("target type unknown", awslb.AnnotationALBTargetType, "pod"),
		invalidIng("backend protocol unknown", awslb.AnnotationALBBackendProtocol, "FTP"),
		{name: "bad annotation on the Service wins over the Ingress", want: wantInvalid,
			key: awslb.AnnotationALBHealthCheckPath, value: "ping",
			svc: func(s *corev1.Service) {
				s.Annotations = map[string]string{awslb.AnnotationALBHealthCheckPath: "ping"}
			}},
		// NLB Service annotations.
		invalidNLB("nlb interval non-numeric", awslb.AnnotationNLBHealthCheckInterval, "abc"),
		invalidNLB("nlb target-group-attributes garbage", awslb.AnnotationNLBTargetGroupAttributes, "deregistration_delay.timeout_seconds"),
		invalidNLB("nlb target type unknown", awslb.AnnotationNLBTargetType, "pods"),
		invalidNLB("nlb http path without slash", awslb.AnnotationNLBHealthCheckPath, "ping", awslb.AnnotationNLBHealthCheckProtocol, "HTTP"),
		// Graphs that do not reach the Deployment.
		{name: "service with empty selector", want: wantIgnored, svc: func(s *corev1.Service) { s.Spec.Selector = nil }},
		{name: "service with non-matching selector", want: wantIgnored, svc: func(s *corev1.Service) { s.Spec.Selector = map[string]string{"app": "other"} }},
		{name: "service selecting more than the template has", want: wantIgnored, svc: func(s *corev1.Service) {
			s.Spec.Selector = map[string]string{"app": "web", "tier": "missing"}
		}},
		{name: "ingress names a missing service", want: wantIgnored, ing: func(_ string, ing *networkingv1.Ingress) {
			ing.Spec.Rules[0].HTTP.Paths[0].Backend.Service.Name = "nothere"
		}},
		{name: "ingress names a missing port", want: wantIgnored, ing: func(_ string, ing *networkingv1.Ingress) {
			ing.Spec.Rules[0].HTTP.Paths[0].Backend.Service.Port = networkingv1.ServiceBackendPort{Number: 81}
		}},
		{name: "ingress names a missing port name", want: wantIgnored, ing: func(_ string, ing *networkingv1.Ingress) {
			ing.Spec.Rules[0].HTTP.Paths[0].Backend.Service.Port = networkingv1.ServiceBackendPort{Name: "grpc"}
		}},
		{name: "ingress backend is an action", want: wantIgnored, ing: func(_ string, ing *networkingv1.Ingress) {
			ing.Spec.Rules[0].HTTP.Paths[0].Backend.Service.Port = networkingv1.ServiceBackendPort{Name: awslb.UseAnnotation}
		}},
		{name: "ingressclass with unknown controller", want: wantIgnored,
			ing: func(ns string, ing *networkingv1.Ingress) {
				delete(ing.Annotations, awslb.AnnotationIngressClass)
				ing.Spec.IngressClassName = ptr.To(ns + "-other")
			},
			extra: func(ns string) []client.Object {
				return []client.Object{&networkingv1.IngressClass{
					ObjectMeta: metav1.ObjectMeta{Name: ns + "-other"},
					Spec:       networkingv1.IngressClassSpec{Controller: "example.com/other-controller"},
				}}
			}},
		{name: "ingressclass that does not exist", want: wantIgnored, ing: func(ns string, ing *networkingv1.Ingress) {
			delete(ing.Annotations, awslb.AnnotationIngressClass)
			ing.Spec.IngressClassName = ptr.To(ns + "-absent")
		}},
		{name: "ingress class annotation of another controller", want: wantIgnored, ing: ingAnnotation(awslb.AnnotationIngressClass, "nginx")},
		{name: "loadbalancer service of the in-tree provider", want: wantIgnored, noIngress: true, svc: func(s *corev1.Service) {
			s.Spec.Type = corev1.ServiceTypeLoadBalancer
			s.Annotations = map[string]string{awslb.AnnotationNLBType: "classic"}
		}},
		{name: "loadbalancer class of another controller", want: wantIgnored, noIngress: true, svc: func(s *corev1.Service) {
			s.Spec.Type = corev1.ServiceTypeLoadBalancer
			s.Spec.LoadBalancerClass = ptr.To("example.com/lb")
			s.Annotations = map[string]string{awslb.AnnotationNLBType: awslb.NLBTypeExternal}
		}},
		// Target ports.
		{name: "target port name matches no container port", want: ReasonTargetPortUnresolved, svc: func(s *corev1.Service) {
			s.Spec.Ports[0].TargetPort = intstr.FromString("metrics")
		}},
		{name: "numeric target port no container declares", want: ReasonTargetPortUnresolved,
			dep: func(d *appsv1.Deployment) {
				d.Spec.Template.Spec.Containers = append(d.Spec.Template.Spec.Containers, corev1.Container{Name: "side", Image: "example/side:1"})
			},
			svc: func(s *corev1.Service) { s.Spec.Ports[0].TargetPort = intstr.FromInt32(9999) }},
		{name: "zero container ports and a named target port", want: ReasonTargetPortUnresolved,
			dep: func(d *appsv1.Deployment) { d.Spec.Template.Spec.Containers[0].Ports = nil }},
		{name: "zero container ports and a numeric target port", want: wantConverged,
			dep: func(d *appsv1.Deployment) { d.Spec.Template.Spec.Containers[0].Ports = nil },
			svc: func(s *corev1.Service) { s.Spec.Ports[0].TargetPort = intstr.FromInt32(8080) }},
	}
}

// Figures of the last run, printed at the end (hack/test-faults.sh reads them).
var badInputsTried, badInputsPassed atomic.Int64

// TestBadInput creates, for every bad input, a namespace with the Deployment
// "web" the input concerns and a valid neighbour "api" behind its own ALB,
// and checks what the input must lead to, that the neighbour converges and
// that nothing the input did not justify was written. At the end the
// operator must still converge a fresh namespace: it kept running.
func TestBadInput(t *testing.T) {
	cases := badInputs()
	if len(cases) < 30 {
		t.Fatalf("only %d bad inputs; the issue asks for at least 30", len(cases))
	}
	counts := map[string]int{}
	for _, c := range cases {
		counts[kindOf(c.want)]++
	}
	start := time.Now()
	// All inputs at once, as a busy cluster would have them; then the checks
	// one by one (by then most have converged in the background).
	namespaces := make([]string, len(cases))
	for i, c := range cases {
		namespaces[i] = setupBadInput(t, c)
	}
	for i, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			badInputsTried.Add(1)
			checkBadInput(t, c, namespaces[i])
			if !t.Failed() {
				badInputsPassed.Add(1)
			}
		})
	}
	// Still running: a fresh namespace converges.
	ns := newNamespace(t, enforce())
	albApp(t, ns, "ip", nil)
	NewWithT(t).Eventually(func(g Gomega) {
		g.Expect(getDeployment(g, ns, "web").Spec.Template.Spec.TerminationGracePeriodSeconds).To(HaveValue(BeEquivalentTo(70)))
	}).WithTimeout(badInputTimeout).WithPolling(interval).Should(Succeed())
	// And the ignored inputs stayed ignored all along, and nothing was
	// written to a Deployment whose input was refused.
	for i, c := range cases {
		if c.want == wantIgnored || c.want == wantInvalid {
			err := k8s.Get(context.Background(), types.NamespacedName{Namespace: namespaces[i], Name: "web"}, &gdv1.GracefulDrain{})
			if c.want == wantIgnored && !apierrors.IsNotFound(err) {
				t.Errorf("%s: a GracefulDrain appeared for an input that reaches no AWS load balancer (%v)", c.name, err)
			}
			if w := writes.matching("/namespaces/" + namespaces[i] + "/deployments/web"); len(w) > 0 {
				t.Errorf("%s: Deployment web written: %v", c.name, w)
			}
		}
	}
	t.Logf("BADINPUT tried=%d passed=%d invalid=%d ignored=%d condition=%d converged=%d operator_alive=true seconds=%.1f",
		badInputsTried.Load(), badInputsPassed.Load(), counts[wantInvalid], counts[wantIgnored], counts["condition"], counts[wantConverged],
		time.Since(start).Seconds())
}

func kindOf(want string) string {
	switch want {
	case wantInvalid, wantIgnored, wantConverged:
		return want
	}
	return "condition"
}

// The suite's 30 s is short when 60 namespaces converge at once on 2 busy cores.
const badInputTimeout = 90 * time.Second

// setupBadInput creates the namespace and objects of one bad input.
func setupBadInput(t *testing.T, c badInput) string {
	t.Helper()
	ctx := context.Background()
	g := NewWithT(t)
	labels := enforce()
	if c.nsLabels != nil {
		labels = c.nsLabels
	}
	ns := newNamespace(t, labels)
	if c.extra != nil {
		for _, o := range c.extra(ns) {
			g.Expect(k8s.Create(ctx, o)).To(Succeed())
			t.Cleanup(func() { _ = k8s.Delete(context.Background(), o) })
		}
	}

	// The Deployment the bad input concerns.
	d := badInputDeployment(ns, "web")
	if c.dep != nil {
		c.dep(d)
	}
	g.Expect(k8s.Create(ctx, d)).To(Succeed())
	svc := &corev1.Service{
		ObjectMeta: metav1.ObjectMeta{Name: "web", Namespace: ns},
		Spec: corev1.ServiceSpec{
			Selector: map[string]string{"app": "web"},
			Ports:    []corev1.ServicePort{{Name: "http", Port: 80, TargetPort: intstr.FromString("http")}},
		},
	}
	if c.svc != nil {
		c.svc(svc)
	}
	g.Expect(k8s.Create(ctx, svc)).To(Succeed())
	if !c.noIngress {
		ing := testsupport.ALBIngress(ns, "web", "web", "ip")
		if c.ing != nil {
			c.ing(ns, ing)
		}
		g.Expect(k8s.Create(ctx, ing)).To(Succeed())
	}

	// The valid neighbour.
	api := badInputDeployment(ns, "api")
	g.Expect(k8s.Create(ctx, api)).To(Succeed())
	g.Expect(k8s.Create(ctx, &corev1.Service{
		ObjectMeta: metav1.ObjectMeta{Name: "api", Namespace: ns},
		Spec:       corev1.ServiceSpec{Selector: map[string]string{"app": "api"}, Ports: []corev1.ServicePort{{Port: 80, TargetPort: intstr.FromInt32(8080)}}},
	})).To(Succeed())
	g.Expect(k8s.Create(ctx, testsupport.ALBIngress(ns, "api", "api", "ip"))).To(Succeed())
	return ns
}

// checkBadInput checks what one bad input led to.
func checkBadInput(t *testing.T, c badInput, ns string) {
	ctx := context.Background()
	g := NewWithT(t)
	within := func(f func(g Gomega)) {
		t.Helper()
		NewWithT(t).Eventually(f).WithTimeout(badInputTimeout).WithPolling(interval).Should(Succeed())
	}
	expectInvalid := func(name, key, value string) {
		t.Helper()
		within(func(g Gomega) {
			gd := getGD(g, ns, name)
			for _, typ := range []string{gdv1.ConditionReady, gdv1.ConditionPlanApplied} {
				cond := condition(gd, typ)
				g.Expect(cond.Status).To(Equal(metav1.ConditionFalse), typ)
				g.Expect(cond.Reason).To(Equal(gdv1.ReasonInvalidConfiguration), typ)
				g.Expect(cond.Message).To(ContainSubstring(key + "=" + strconv.Quote(value)))
			}
			evs := eventsFor(g, ns, name, gdv1.ReasonInvalidConfiguration)
			g.Expect(evs).To(HaveLen(1), "one Warning Event per problem, not one per reconcile")
			g.Expect(evs[0].Type).To(Equal(corev1.EventTypeWarning))
		})
	}

	// The neighbour first: once it has converged, the operator has had every
	// chance to act on "web" too.
	switch neighbour := c.neighbour; neighbour {
	case "":
		within(func(g Gomega) {
			g.Expect(getDeployment(g, ns, "api").Spec.Template.Spec.TerminationGracePeriodSeconds).To(HaveValue(BeEquivalentTo(70)))
			g.Expect(condition(getGD(g, ns, "api"), gdv1.ConditionPlanApplied).Status).To(Equal(metav1.ConditionTrue))
		})
	case wantInvalid:
		expectInvalid("api", c.key, c.value)
	case wantIgnored:
		// Make the operator look at "web" once more.
		waitForReconcile(t, ns, "web", func() {
			var svc corev1.Service
			g.Expect(k8s.Get(ctx, types.NamespacedName{Namespace: ns, Name: "web"}, &svc)).To(Succeed())
			svc.Annotations = map[string]string{"touched": "yes"}
			g.Expect(k8s.Update(ctx, &svc)).To(Succeed())
		})
	}

	switch kind := kindOf(c.want); kind {
	case wantInvalid:
		expectInvalid("web", c.key, c.value)
	case wantIgnored:
		// Checked again at the end of the test, after the liveness check.
		g.Expect(apierrors.IsNotFound(k8s.Get(ctx, types.NamespacedName{Namespace: ns, Name: "web"}, &gdv1.GracefulDrain{}))).
			To(BeTrue(), "a GracefulDrain for an input that reaches no AWS load balancer")
	case wantConverged:
		within(func(g Gomega) {
			dd := getDeployment(g, ns, "web")
			g.Expect(dd.Spec.Template.Spec.TerminationGracePeriodSeconds).To(HaveValue(BeEquivalentTo(70)))
			g.Expect(condition(getGD(g, ns, "web"), gdv1.ConditionPlanApplied).Status).To(Equal(metav1.ConditionTrue))
		})
	default:
		// The operator has processed "web" (its GracefulDrain has a plan);
		// the reason must then be there.
		within(func(g Gomega) { g.Expect(getGD(g, ns, "web").Status.Plan).NotTo(BeNil()) })
		NewWithT(t).Eventually(func(g Gomega) {
			gd := getGD(g, ns, "web")
			var reasons []string
			for _, cond := range gd.Status.Conditions {
				reasons = append(reasons, cond.Type+"="+cond.Reason)
			}
			g.Expect(reasons).To(ContainElement(HaveSuffix("="+c.want)),
				"a condition with reason %s telling which targetPort matches no container port", c.want)
		}).WithTimeout(5 * time.Second).WithPolling(interval).Should(Succeed())
	}

	// Nothing written that the input did not justify.
	if c.want != wantConverged && kindOf(c.want) != "condition" {
		after := getDeployment(g, ns, "web")
		g.Expect(after.Generation).To(Equal(int64(1)), "Deployment web was changed")
		g.Expect(writes.matching("/namespaces/" + ns + "/deployments/web")).To(BeEmpty())
	}
	if c.neighbour != "" {
		g.Expect(writes.matching("/namespaces/" + ns + "/deployments")).To(BeEmpty())
		g.Expect(writes.matching("PATCH /api/v1/namespaces/"+ns)).To(BeEmpty(), "namespace labelled although its mode is invalid")
	}
	// Only the operator's own kinds were written in the namespace.
	for _, w := range writes.matching("/namespaces/" + ns) {
		ok := strings.Contains(w, "/deployments/") || strings.Contains(w, "/gracefuldrains") || strings.Contains(w, "/events") ||
			w == "PATCH /api/v1/namespaces/"+ns
		g.Expect(ok).To(BeTrue(), "unexpected write %s", w)
	}
}

func badInputDeployment(ns, name string) *appsv1.Deployment {
	return &appsv1.Deployment{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: ns},
		Spec: appsv1.DeploymentSpec{
			Replicas: ptr.To[int32](2),
			Selector: &metav1.LabelSelector{MatchLabels: map[string]string{"app": name}},
			Template: corev1.PodTemplateSpec{
				ObjectMeta: metav1.ObjectMeta{Labels: map[string]string{"app": name}},
				Spec: corev1.PodSpec{Containers: []corev1.Container{{
					Name: "app", Image: "example/" + name + ":1",
					Ports: []corev1.ContainerPort{{Name: "http", ContainerPort: 8080}},
				}}},
			},
		},
	}
}
