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

package drain

import (
	"reflect"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"

	gdv1 "github.com/gracefuldrain/gracefuldrain/api/v1alpha1"
	"github.com/gracefuldrain/gracefuldrain/internal/awslb"
	"github.com/gracefuldrain/gracefuldrain/internal/discovery"
	"github.com/gracefuldrain/gracefuldrain/internal/plan"
	"github.com/gracefuldrain/gracefuldrain/internal/settings"
	"github.com/gracefuldrain/gracefuldrain/internal/workload"
)

// seed000 is the field report's app: nginx behind an ALB Ingress, ip targets.
func seed000() (*appsv1.Deployment, discovery.Inputs) {
	d := &appsv1.Deployment{
		ObjectMeta: metav1.ObjectMeta{Namespace: "shop", Name: "web", Generation: 1},
		Spec: appsv1.DeploymentSpec{Template: corev1.PodTemplateSpec{
			ObjectMeta: metav1.ObjectMeta{Labels: map[string]string{"app": "web"}},
			Spec:       corev1.PodSpec{Containers: []corev1.Container{{Name: "nginx", Ports: []corev1.ContainerPort{{ContainerPort: 80}}}}},
		}},
	}
	svc := corev1.Service{ObjectMeta: metav1.ObjectMeta{Namespace: "shop", Name: "web"},
		Spec: corev1.ServiceSpec{Selector: map[string]string{"app": "web"}, Ports: []corev1.ServicePort{{Port: 80, TargetPort: intstr.FromInt32(80)}}}}
	ing := networkingv1.Ingress{ObjectMeta: metav1.ObjectMeta{Namespace: "shop", Name: "web", Annotations: map[string]string{
		awslb.AnnotationIngressClass: awslb.IngressClassALB, awslb.AnnotationALBTargetType: awslb.TargetTypeIP}},
		Spec: networkingv1.IngressSpec{DefaultBackend: &networkingv1.IngressBackend{Service: &networkingv1.IngressServiceBackend{
			Name: "web", Port: networkingv1.ServiceBackendPort{Number: 80}}}}}
	return d, discovery.Inputs{Services: []corev1.Service{svc}, Ingresses: []networkingv1.Ingress{ing}}
}

func TestDecide(t *testing.T) {
	namespace := func(mode string) *corev1.Namespace {
		ns := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "shop"}}
		if mode != "" {
			ns.Labels = map[string]string{settings.ModeKey: mode}
		}
		return ns
	}
	tests := []struct {
		name        string
		nsMode      string
		annotations map[string]string
		ingressAnn  map[string]string // added to the Ingress's annotations
		noIngress   bool
		forceAudit  bool
		managed     bool
		mayWrite    bool
		mode        gdv1.Mode
		problems    int
	}{
		{name: "namespace not opted in", nsMode: "", managed: false, mode: gdv1.ModeOff},
		{name: "enforce", nsMode: "enforce", managed: true, mayWrite: true, mode: gdv1.ModeEnforce},
		{name: "audit", nsMode: "audit", managed: true, mode: gdv1.ModeAudit},
		{name: "enforce under --force-audit", nsMode: "enforce", forceAudit: true, managed: true, mode: gdv1.ModeAudit},
		{name: "workload off", nsMode: "enforce", annotations: map[string]string{settings.ModeKey: "off"}, managed: false, mode: gdv1.ModeOff},
		{name: "behind no load balancer", nsMode: "enforce", noIngress: true, managed: false, mode: gdv1.ModeEnforce},
		{name: "invalid workload annotation", nsMode: "enforce", annotations: map[string]string{settings.PreStopSecondsKey: "soon"},
			managed: true, mode: gdv1.ModeEnforce, problems: 1},
		{name: "invalid load-balancer annotation", nsMode: "enforce", ingressAnn: map[string]string{awslb.AnnotationALBHealthCheckInterval: "fast"},
			managed: true, mode: gdv1.ModeEnforce, problems: 1},
		{name: "unknown namespace mode", nsMode: "yes", managed: true, mode: gdv1.ModeAudit, problems: 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d, neighbours := seed000()
			d.Annotations = tt.annotations
			for k, v := range tt.ingressAnn {
				neighbours.Ingresses[0].Annotations[k] = v
			}
			if tt.noIngress {
				neighbours.Ingresses = nil
			}
			got := Decide(Input{Workload: workload.OfDeployment(d), Namespace: namespace(tt.nsMode), Neighbours: neighbours,
				Defaults: ruleSettings(), ForceAudit: tt.forceAudit})
			if got.Managed() != tt.managed || got.MayWrite() != tt.mayWrite || got.Mode != tt.mode || len(got.Problems) != tt.problems {
				t.Fatalf("managed=%v mayWrite=%v mode=%s problems=%v; want %v %v %s %d",
					got.Managed(), got.MayWrite(), got.Mode, got.Problems, tt.managed, tt.mayWrite, tt.mode, tt.problems)
			}
			if got.Managed() && (got.Plan.PreStopSeconds != 40 || len(got.Pending) != 3) {
				t.Fatalf("plan %+v with %d pending changes; want the seed's 40 s sleep and 3 changes", got.Plan, len(got.Pending))
			}
		})
	}
}

// Decide reads nothing but its input and gives the same answer twice: the
// reconciler and the webhook, computing from the same cache, agree.
func TestDecideIsAFunctionOfItsInput(t *testing.T) {
	d, neighbours := seed000()
	before := d.DeepCopy()
	ns := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "shop", Labels: map[string]string{settings.ModeKey: "enforce"}}}
	in := Input{Workload: workload.OfDeployment(d), Namespace: ns, Neighbours: neighbours, Defaults: ruleSettings()}
	first, second := Decide(in), Decide(in)
	if !reflect.DeepEqual(first, second) {
		t.Fatalf("two decisions differ:\n%+v\n%+v", first, second)
	}
	if !equality.Semantic.DeepEqual(d, before) {
		t.Fatal("Decide changed the workload")
	}
}

// ruleSettings pins the preStop numbers the cases are written against (see
// internal/plan's ruleSettings): the cases test the decision, not the defaults.
func ruleSettings() plan.Defaults {
	d := plan.DefaultSettings()
	d.ALBIPPreStopSeconds, d.NLBIPPreStopSeconds, d.InstancePreStopSeconds = 40, 90, 10
	return d
}
