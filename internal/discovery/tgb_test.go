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

package discovery

import (
	"encoding/json"
	"math"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/utils/ptr"

	gdv1 "github.com/gracefuldrain/gracefuldrain/api/v1alpha1"
	"github.com/gracefuldrain/gracefuldrain/internal/awslb"
	"github.com/gracefuldrain/gracefuldrain/internal/invalid"
	"github.com/gracefuldrain/gracefuldrain/internal/testsupport"
	"github.com/gracefuldrain/gracefuldrain/internal/workload"
)

func tgb(name, service string, port intstr.IntOrString, tt TargetType) TargetGroupBinding {
	return TargetGroupBinding{Namespace: ns, Name: name, ServiceName: service, ServicePort: port, TargetType: tt}
}

func TestTargetGroupBindingDiscovery(t *testing.T) {
	clusterIP := webService()
	clusterIP.Spec.Type = corev1.ServiceTypeClusterIP
	api := service("api", map[string]string{"app": "api"}, sport("http", 80, intstr.FromInt32(8080)))
	namedTarget := service("web", map[string]string{"app": "web"}, sport("http", 80, intstr.FromString("http")))
	labelled := func(b TargetGroupBinding, kv ...string) TargetGroupBinding {
		b.Labels = map[string]string{}
		for i := 0; i+1 < len(kv); i += 2 {
			b.Labels[kv[i]] = kv[i+1]
		}
		return b
	}
	otherNS := tgb("elsewhere", "web", intstr.FromInt32(80), TargetIP)
	otherNS.Namespace = "other"

	type want struct {
		tt        TargetType
		port      string
		container string // "container/port"
	}
	tests := []struct {
		name     string
		services []corev1.Service
		tgb      TargetGroupBinding
		want     *want    // nil: no attachment
		warning  []string // fragments of the one expected warning
		problem  string   // Problem value expected on spec.targetType
	}{
		{name: "port number, target type defaults to instance", tgb: tgb("web-tg", "web", intstr.FromInt32(80), ""),
			want: &want{TargetInstance, "80", "app/8080"}},
		{name: "port name", tgb: tgb("web-tg", "web", intstr.FromString("http"), TargetIP),
			want: &want{TargetIP, "http", "app/8080"}},
		{name: "explicit instance", tgb: tgb("web-tg", "web", intstr.FromInt32(80), TargetInstance),
			want: &want{TargetInstance, "80", "app/8080"}},
		{name: "named targetPort resolves to the container port", services: []corev1.Service{namedTarget},
			tgb: tgb("web-tg", "web", intstr.FromInt32(80), TargetIP), want: &want{TargetIP, "80", "app/8080"}},
		{name: "the targetPort is not the Service port", tgb: tgb("web-tg", "web", intstr.FromInt32(8080), TargetIP),
			warning: []string{"TargetGroupBinding shop/web-tg", "port 8080 of Service shop/web", "no such port"}},
		{name: "unknown port name", tgb: tgb("web-tg", "web", intstr.FromString("https"), TargetIP),
			warning: []string{"TargetGroupBinding shop/web-tg", "port https of Service shop/web", "no such port"}},
		{name: "digits in a string are a name, as the AWS controller reads them",
			tgb:     tgb("web-tg", "web", intstr.FromString("80"), TargetIP),
			warning: []string{"port 80 of Service shop/web", "no such port"}},
		{name: "empty port name", tgb: tgb("web-tg", "web", intstr.FromString(""), TargetIP),
			warning: []string{`port "" of Service shop/web`, "no such port"}},
		{name: "an empty port name finds the unnamed port, as in the AWS controller",
			services: []corev1.Service{service("web", map[string]string{"app": "web"}, sport("", 80, intstr.FromInt32(8080)))},
			tgb:      tgb("web-tg", "web", intstr.FromString(""), TargetIP), want: &want{TargetIP, "", "app/8080"}},
		{name: "port 0", tgb: tgb("web-tg", "web", intstr.FromInt32(0), TargetIP),
			warning: []string{"port 0 of Service shop/web", "no such port"}},
		{name: "missing Service", tgb: tgb("web-tg", "web-v2", intstr.FromInt32(80), TargetIP),
			warning: []string{"TargetGroupBinding shop/web-tg", "Service shop/web-v2", "does not exist"}},
		{name: "Service of another Deployment", services: []corev1.Service{webService(), api},
			tgb: tgb("api-tg", "api", intstr.FromInt32(80), TargetIP)},
		{name: "binding in another namespace", tgb: otherNS},
		{name: "binding without a Service name", tgb: tgb("web-tg", "", intstr.FromInt32(80), TargetIP)},
		{name: "unknown target type: Problem, reported as instance",
			tgb: tgb("web-tg", "web", intstr.FromInt32(80), "lambda"), want: &want{TargetInstance, "80", "app/8080"},
			problem: "lambda"},
		{name: "target type is case-sensitive", tgb: tgb("web-tg", "web", intstr.FromInt32(80), "IP"),
			want: &want{TargetInstance, "80", "app/8080"}, problem: "IP"},
		{name: "instance targets need a NodePort Service", services: []corev1.Service{clusterIP},
			tgb: tgb("web-tg", "web", intstr.FromInt32(80), ""), want: &want{TargetInstance, "80", "app/8080"},
			warning: []string{"TargetGroupBinding shop/web-tg", "instance targets", "NodePort or LoadBalancer"}},
		{name: "ip targets do not", services: []corev1.Service{clusterIP},
			tgb: tgb("web-tg", "web", intstr.FromInt32(80), TargetIP), want: &want{TargetIP, "80", "app/8080"}},
		{name: "made by the AWS controller for an Ingress (implicit group)",
			tgb: labelled(tgb("k8s-shop-web-0123456789", "web", intstr.FromInt32(80), TargetIP),
				awslb.LabelIngressStackNamespace, ns, awslb.LabelIngressStackName, "web")},
		{name: "made by the AWS controller for an IngressGroup",
			tgb: labelled(tgb("k8s-shop-web-0123456789", "web", intstr.FromInt32(80), TargetIP), awslb.LabelIngressStack, "shop")},
		{name: "made by the AWS controller for an NLB Service",
			tgb: labelled(tgb("k8s-shop-web-0123456789", "web", intstr.FromInt32(80), TargetIP),
				awslb.LabelServiceStackNamespace, ns, awslb.LabelServiceStackName, "web")},
		{name: "the AWS controller's binding to a Service being deleted: no warning",
			tgb: labelled(tgb("k8s-shop-gone-0123456789", "gone", intstr.FromInt32(80), TargetIP),
				awslb.LabelServiceStackNamespace, ns, awslb.LabelServiceStackName, "gone")},
		{name: "other labels do not hide a binding",
			tgb:  labelled(tgb("web-tg", "web", intstr.FromInt32(80), TargetIP), "app.kubernetes.io/managed-by", "terraform"),
			want: &want{TargetIP, "80", "app/8080"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			services := tc.services
			if services == nil {
				services = []corev1.Service{webService()}
			}
			r := Discover(Inputs{Workload: workload.OfDeployment(webDeployment()), Services: services,
				TargetGroupBindings: []TargetGroupBinding{tc.tgb}})
			if tc.warning != nil {
				equal(t, "warnings", len(r.Warnings), 1)
				hasWarning(t, r, tc.warning...)
			} else {
				noWarnings(t, r)
			}
			if tc.problem != "" {
				equal(t, "problems", r.Problems, []invalid.Setting{{Object: "TargetGroupBinding shop/web-tg", Key: "spec.targetType",
					Value: tc.problem, Message: "Expected ip or instance."}})
			} else {
				noProblems(t, r)
			}
			if tc.want == nil {
				if len(r.Attachments) != 0 {
					t.Fatalf("want no attachment, got %+v", r.Attachments)
				}
				return
			}
			a := only(t, r)
			equal(t, "attachment", a, Attachment{
				LoadBalancer: TargetGroup, SourceKind: SourceTargetGroupBinding, SourceName: tc.tgb.Name,
				ServiceName: tc.tgb.ServiceName, ServicePort: tc.want.port, TargetType: tc.want.tt,
				HealthCheck:                gdv1.HealthCheck{Protocol: awslb.ProtocolTCP, Port: awslb.TrafficPort},
				DeregistrationDelaySeconds: 300,
				Container:                  strings.Split(tc.want.container, "/")[0], ContainerPort: 8080,
			})
			equal(t, "summary", a.Summary(), "TargetGroup/"+string(tc.want.tt))
		})
	}
}

func TestTargetGroupBindingNoContainerServesPort(t *testing.T) {
	dep := testsupport.Deployment(ns, "web", webLabels, testsupport.Container("app", testsupport.Port("http", 8080)), testsupport.Container("side", testsupport.Port("metrics", 9090)))
	svc := service("web", map[string]string{"app": "web"}, sport("admin", 81, intstr.FromInt32(7000)))
	r := Discover(Inputs{Workload: workload.OfDeployment(dep), Services: []corev1.Service{svc},
		TargetGroupBindings: []TargetGroupBinding{tgb("admin-tg", "web", intstr.FromString("admin"), TargetIP)}})
	a := only(t, r)
	equal(t, "container", a.Container+"/"+itoa(a.ContainerPort), "/0")
	hasWarning(t, r, "Service shop/web port 81", "targetPort 7000", "no container")
}

func TestTargetGroupBindingsOnePerBinding(t *testing.T) {
	// Two bindings to one Service port (say one target group behind an ALB,
	// one behind an NLB) are two paths; the same binding twice is one.
	svc := webService()
	r := Discover(Inputs{Workload: workload.OfDeployment(webDeployment()), Services: []corev1.Service{svc}, TargetGroupBindings: []TargetGroupBinding{
		tgb("nlb-tg", "web", intstr.FromInt32(80), TargetIP),
		tgb("alb-tg", "web", intstr.FromString("http"), TargetInstance),
		tgb("nlb-tg", "web", intstr.FromInt32(80), TargetIP),
	}})
	noProblems(t, r)
	var got []string
	for _, a := range r.Attachments {
		got = append(got, a.SourceName+"/"+a.ServicePort+"/"+a.Summary())
	}
	equal(t, "attachments", got, []string{"alb-tg/http/TargetGroup/instance", "nlb-tg/80/TargetGroup/ip"})
}

// TestEveryPathAtOnce is one Deployment behind an ALB Ingress, an NLB
// Service and a TargetGroupBinding: every path is listed, in a stable order.
func TestEveryPathAtOnce(t *testing.T) {
	sel := map[string]string{"app": "web"}
	internal := svcAnnotated(service("web", sel, sport("http", 80, intstr.FromString("http"))),
		awslb.AnnotationALBHealthCheckPath, "/healthz", awslb.AnnotationALBTargetType, "ip")
	edge := nlbService("edge", sel, awslb.AnnotationNLBType, awslb.NLBTypeExternal, awslb.AnnotationNLBTargetType, "ip",
		awslb.AnnotationNLBTargetGroupAttributes, "deregistration_delay.timeout_seconds=120")
	in := Inputs{
		Workload: workload.OfDeployment(webDeployment()),
		Services: []corev1.Service{internal, edge},
		Ingresses: []networkingv1.Ingress{ingAnnotated(albIngress("web", backend("web", 80)),
			awslb.AnnotationALBGroupName, "shop")},
		TargetGroupBindings: []TargetGroupBinding{tgb("legacy-tg", "web", intstr.FromString("http"), TargetIP)},
	}
	r := Discover(in)
	noProblems(t, r)
	noWarnings(t, r)
	want := []Attachment{
		{LoadBalancer: ALB, SourceKind: SourceIngress, SourceName: "web", Group: "shop", ServiceName: "web", ServicePort: "80",
			TargetType: TargetIP, HealthCheck: func() gdv1.HealthCheck { h := albDefaults; h.Path = "/healthz"; return h }(),
			DeregistrationDelaySeconds: 300, Container: "app", ContainerPort: 8080},
		{LoadBalancer: NLB, SourceKind: SourceService, SourceName: "edge", ServiceName: "edge", ServicePort: "443",
			TargetType: TargetIP, HealthCheck: nlbDefaults, DeregistrationDelaySeconds: 120, Container: "app", ContainerPort: 8080},
		{LoadBalancer: TargetGroup, SourceKind: SourceTargetGroupBinding, SourceName: "legacy-tg", ServiceName: "web",
			ServicePort: "http", TargetType: TargetIP, HealthCheck: TargetGroupBindingHealthCheck,
			DeregistrationDelaySeconds: 300, Container: "app", ContainerPort: 8080},
	}
	equal(t, "attachments", r.Attachments, want)

	// The controller's own binding for the Ingress adds nothing.
	own := tgb("k8s-shop-web-abcdef0123", "web", intstr.FromInt32(80), TargetIP)
	own.Labels = map[string]string{awslb.LabelIngressStack: "shop"}
	in.TargetGroupBindings = append(in.TargetGroupBindings, own)
	equal(t, "with the controller's binding", Discover(in).Attachments, want)

	// Input order does not matter.
	in.Services = []corev1.Service{edge, internal}
	in.TargetGroupBindings = []TargetGroupBinding{own, in.TargetGroupBindings[0]}
	equal(t, "reordered", Discover(in).Attachments, want)
}

func TestTargetGroupBindingServiceNames(t *testing.T) {
	own := tgb("own", "web", intstr.FromInt32(80), "")
	own.Labels = map[string]string{awslb.LabelServiceStackName: "web", awslb.LabelServiceStackNamespace: ns}
	owned := tgb("owned", "only-own", intstr.FromInt32(80), "")
	owned.Labels = map[string]string{awslb.LabelIngressStack: "g"}
	got := TargetGroupBindingServiceNames([]TargetGroupBinding{
		tgb("a", "web", intstr.FromInt32(80), ""), tgb("b", "api", intstr.FromString("http"), ""),
		tgb("c", "web", intstr.FromInt32(443), ""), tgb("d", "", intstr.FromInt32(80), ""), own, owned,
	})
	equal(t, "names", got, []string{"api", "web"})
	equal(t, "nil", TargetGroupBindingServiceNames(nil), []string(nil))
}

func TestMadeForIngressOrService(t *testing.T) {
	tests := []struct {
		labels map[string]string
		want   bool
	}{
		{nil, false},
		{map[string]string{awslb.LabelIngressStack: "shop"}, true},
		{map[string]string{awslb.LabelIngressStackNamespace: ns, awslb.LabelIngressStackName: "web"}, true},
		{map[string]string{awslb.LabelIngressStackName: ""}, true}, // an empty value still marks it
		{map[string]string{awslb.LabelServiceStackNamespace: ns, awslb.LabelServiceStackName: "web"}, true},
		{map[string]string{"service.k8s.aws/stack-name": "web"}, true},
		{map[string]string{"gateway.k8s.aws/stack-name": "web"}, false}, // Gateway API: not covered by rules 1 and 2
		{map[string]string{"ingress.k8s.aws/resource": "x"}, false},
		{map[string]string{"app.kubernetes.io/managed-by": "terraform"}, false},
	}
	for _, tc := range tests {
		if got := (TargetGroupBinding{Labels: tc.labels}).MadeForIngressOrService(); got != tc.want {
			t.Errorf("labels %v: MadeForIngressOrService = %v, want %v", tc.labels, got, tc.want)
		}
	}
}

// unstructuredTGB is a TargetGroupBinding as the API server serves it.
func unstructuredTGB() map[string]interface{} {
	return map[string]interface{}{
		"apiVersion": "elbv2.k8s.aws/v1beta1",
		"kind":       "TargetGroupBinding",
		"metadata": map[string]interface{}{
			"namespace": "shop", "name": "web-tg",
			"labels": map[string]interface{}{"team": "payments"},
		},
		"spec": map[string]interface{}{
			"serviceRef":     map[string]interface{}{"name": "web", "port": int64(80)},
			"targetType":     "ip",
			"targetGroupARN": "arn:aws:elasticloadbalancing:eu-west-1:123456789012:targetgroup/web/0123456789abcdef",
		},
	}
}

func TestTargetGroupBindingFromUnstructured(t *testing.T) {
	full := TargetGroupBinding{Namespace: "shop", Name: "web-tg", ServiceName: "web", ServicePort: intstr.FromInt32(80),
		TargetType: TargetIP, Labels: map[string]string{"team": "payments"}}
	set := func(path string, v interface{}) map[string]interface{} {
		u := unstructuredTGB()
		parts := strings.Split(path, ".")
		m := u
		for _, p := range parts[:len(parts)-1] {
			m = m[p].(map[string]interface{})
		}
		if v == "DELETE" {
			delete(m, parts[len(parts)-1])
		} else {
			m[parts[len(parts)-1]] = v
		}
		return u
	}
	with := func(f func(*TargetGroupBinding)) TargetGroupBinding {
		b := full
		f(&b)
		return b
	}
	tests := []struct {
		name string
		u    map[string]interface{}
		want *TargetGroupBinding // nil: malformed
	}{
		{"full", unstructuredTGB(), &full},
		{"port from encoding/json", set("spec.serviceRef.port", float64(80)), &full},
		{"port as int", set("spec.serviceRef.port", 80), &full},
		{"port as int32", set("spec.serviceRef.port", int32(80)), &full},
		{"port name", set("spec.serviceRef.port", "http"),
			ptr.To(with(func(b *TargetGroupBinding) { b.ServicePort = intstr.FromString("http") }))},
		{"digits in a string stay a string", set("spec.serviceRef.port", "80"),
			ptr.To(with(func(b *TargetGroupBinding) { b.ServicePort = intstr.FromString("80") }))},
		{"port 0 is for Discover to report", set("spec.serviceRef.port", int64(0)),
			ptr.To(with(func(b *TargetGroupBinding) { b.ServicePort = intstr.FromInt32(0) }))},
		{"no targetType", set("spec.targetType", "DELETE"), ptr.To(with(func(b *TargetGroupBinding) { b.TargetType = "" }))},
		{"null targetType", set("spec.targetType", nil), ptr.To(with(func(b *TargetGroupBinding) { b.TargetType = "" }))},
		{"unknown targetType is for Discover to report", set("spec.targetType", "lambda"),
			ptr.To(with(func(b *TargetGroupBinding) { b.TargetType = "lambda" }))},
		{"no namespace", set("metadata.namespace", "DELETE"), ptr.To(with(func(b *TargetGroupBinding) { b.Namespace = "" }))},
		{"no labels", set("metadata.labels", "DELETE"), ptr.To(with(func(b *TargetGroupBinding) { b.Labels = nil }))},

		{"nil", nil, nil},
		{"empty", map[string]interface{}{}, nil},
		{"metadata not a map", set("metadata", "web-tg"), nil},
		{"no name", set("metadata.name", "DELETE"), nil},
		{"empty name", set("metadata.name", ""), nil},
		{"name not a string", set("metadata.name", int64(1)), nil},
		{"namespace not a string", set("metadata.namespace", true), nil},
		{"labels not a map", set("metadata.labels", "team=payments"), nil},
		{"label value not a string", set("metadata.labels", map[string]interface{}{"n": int64(1)}), nil},
		{"no spec", set("spec", "DELETE"), nil},
		{"spec not a map", set("spec", []interface{}{}), nil},
		{"no serviceRef", set("spec.serviceRef", "DELETE"), nil},
		{"serviceRef not a map", set("spec.serviceRef", "web:80"), nil},
		{"no service name", set("spec.serviceRef.name", "DELETE"), nil},
		{"empty service name", set("spec.serviceRef.name", ""), nil},
		{"service name not a string", set("spec.serviceRef.name", map[string]interface{}{}), nil},
		{"no port", set("spec.serviceRef.port", "DELETE"), nil},
		{"null port", set("spec.serviceRef.port", nil), nil},
		{"port a bool", set("spec.serviceRef.port", true), nil},
		{"port a fraction", set("spec.serviceRef.port", 80.5), nil},
		{"port beyond int32", set("spec.serviceRef.port", int64(math.MaxInt32)+1), nil},
		{"port beyond int32, as a float", set("spec.serviceRef.port", float64(1<<40)), nil},
		{"port NaN", set("spec.serviceRef.port", math.NaN()), nil},
		{"targetType not a string", set("spec.targetType", int64(1)), nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, ok := TargetGroupBindingFromUnstructured(tc.u)
			if tc.want == nil {
				if ok {
					t.Fatalf("want malformed, got %+v", got)
				}
				equal(t, "zero value", got, TargetGroupBinding{})
				return
			}
			if !ok {
				t.Fatal("want ok")
			}
			equal(t, "binding", got, *tc.want)
		})
	}
}

func TestTargetGroupBindingFromJSON(t *testing.T) {
	// As a dynamic client or `kubectl get -o json` gives it.
	const doc = `{"apiVersion":"elbv2.k8s.aws/v1beta1","kind":"TargetGroupBinding",
		"metadata":{"name":"web-tg","namespace":"shop","uid":"1"},
		"spec":{"serviceRef":{"name":"web","port":"http"},"targetGroupARN":"arn:x"}}`
	var u map[string]interface{}
	if err := json.Unmarshal([]byte(doc), &u); err != nil {
		t.Fatal(err)
	}
	b, ok := TargetGroupBindingFromUnstructured(u)
	if !ok {
		t.Fatal("want ok")
	}
	r := Discover(Inputs{Workload: workload.OfDeployment(webDeployment()), Services: []corev1.Service{webService()},
		TargetGroupBindings: []TargetGroupBinding{b}})
	equal(t, "summary", only(t, r).Summary(), "TargetGroup/instance")
	equal(t, "port", only(t, r).ServicePort, "http")
}

// FuzzTargetGroupBindingFromUnstructured feeds arbitrary JSON objects: the
// reader never panics, and what it accepts has a name, a Service name and a
// port of a known type.
func FuzzTargetGroupBindingFromUnstructured(f *testing.F) {
	for _, s := range []string{
		`{}`, `{"metadata":{"name":"a"},"spec":{"serviceRef":{"name":"web","port":80}}}`,
		`{"metadata":{"name":"a","namespace":"shop","labels":{"x":"y"}},"spec":{"serviceRef":{"name":"web","port":"http"},"targetType":"ip"}}`,
		`{"metadata":{"name":"a"},"spec":{"serviceRef":{"name":"web","port":1e300}}}`,
		`{"metadata":{"name":"a"},"spec":{"serviceRef":{"name":"web","port":-1.5}}}`,
		`{"metadata":[],"spec":null}`, `{"metadata":{"name":"a","labels":{"x":1}},"spec":{"serviceRef":{"name":"web","port":80}}}`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		var u map[string]interface{}
		if json.Unmarshal(data, &u) != nil {
			return
		}
		b, ok := TargetGroupBindingFromUnstructured(u)
		if !ok {
			return
		}
		if b.Name == "" || b.ServiceName == "" {
			t.Fatalf("accepted without a name: %+v", b)
		}
		if b.ServicePort.Type != intstr.Int && b.ServicePort.Type != intstr.String {
			t.Fatalf("port type %v", b.ServicePort.Type)
		}
		// Whatever was accepted goes through Discover without panicking.
		b.Namespace = ns
		r := Discover(Inputs{Workload: workload.OfDeployment(webDeployment()), Services: []corev1.Service{webService()},
			TargetGroupBindings: []TargetGroupBinding{b}})
		for _, a := range r.Attachments {
			checkAttachment(t, a)
		}
	})
}
