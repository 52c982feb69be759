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
	"fmt"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"

	"github.com/gracefuldrain/gracefuldrain/internal/awslb"
	"github.com/gracefuldrain/gracefuldrain/internal/testsupport"
	"github.com/gracefuldrain/gracefuldrain/internal/workload"
)

func TestParseAttributes(t *testing.T) {
	tests := []struct {
		in   string
		want map[string]string
		ok   bool
	}{
		{"", map[string]string{}, true},
		{"a=1", map[string]string{"a": "1"}, true},
		{" a = 1 , b=2 ,", map[string]string{"a": "1", "b": "2"}, true},
		{"a=b=c", map[string]string{"a": "b=c"}, true},
		{"a=", map[string]string{"a": ""}, true},
		{"a=1,a=2", map[string]string{"a": "2"}, true},
		{"a", nil, false},
		{"=1", nil, false},
		{" =1", nil, false},
		{"a=1,b", nil, false},
	}
	for _, tt := range tests {
		got, ok := parseAttributes(tt.in)
		if ok != tt.ok {
			t.Errorf("parseAttributes(%q) ok = %v, want %v", tt.in, ok, tt.ok)
			continue
		}
		equal(t, fmt.Sprintf("parseAttributes(%q)", tt.in), got, tt.want)
	}
}

func TestValidCodes(t *testing.T) {
	for in, want := range map[string]bool{
		"200": true, "200,202": true, "200-299": true, "200-299,302": true, "499": true, "200-200": true,
		"": false, "199": false, "500": false, "2xx": false, "200,": false, ",200": false, "200-": false,
		"-200": false, "300-200": false, "200 ": false, "200-300-400": false, "+200": false,
	} {
		if got := validCodes(in, 200, 499); got != want {
			t.Errorf("validCodes(%q) = %v, want %v", in, got, want)
		}
	}
}

func TestParseInt32In(t *testing.T) {
	for in, want := range map[string]bool{
		"5": true, "300": true, "+5": true, "005": true,
		"4": false, "301": false, "-5": false, "5.0": false, "": false, "five": false,
		"2147483648": false, "-2147483649": false, "9223372036854775808": false,
	} {
		if _, ok := parseInt32In(in, 5, 300); ok != want {
			t.Errorf("parseInt32In(%q) ok = %v, want %v", in, ok, want)
		}
	}
}

// allKeys is every annotation key discovery reads.
var allKeys = []string{
	awslb.AnnotationALBTargetType, awslb.AnnotationALBBackendProtocol, awslb.AnnotationALBBackendProtocolVersion,
	awslb.AnnotationALBHealthCheckProtocol, awslb.AnnotationALBHealthCheckPort, awslb.AnnotationALBHealthCheckPath,
	awslb.AnnotationALBHealthCheckInterval, awslb.AnnotationALBHealthCheckTimeout, awslb.AnnotationALBHealthyThreshold,
	awslb.AnnotationALBUnhealthyThreshold, awslb.AnnotationALBSuccessCodes, awslb.AnnotationALBTargetGroupAttributes,
	awslb.AnnotationNLBTargetType, awslb.AnnotationNLBHealthCheckProtocol, awslb.AnnotationNLBHealthCheckPort,
	awslb.AnnotationNLBHealthCheckPath, awslb.AnnotationNLBHealthCheckInterval, awslb.AnnotationNLBHealthCheckTimeout,
	awslb.AnnotationNLBHealthyThreshold, awslb.AnnotationNLBUnhealthyThreshold, awslb.AnnotationNLBSuccessCodes,
	awslb.AnnotationNLBTargetGroupAttributes, NLBPortTargetGroupAttributesKey(443), awslb.AnnotationALBGroupName,
}

// FuzzDiscover sets every annotation to the same arbitrary value and checks
// that Discover neither panics nor lets a value out of the AWS ranges.
func FuzzDiscover(f *testing.F) {
	for _, s := range []string{"", "0", "-1", "10", "1.5", "99999999999", "ip", "instance", "HTTP", "tcp",
		"GRPC", "/", "traffic-port", "http", "=", ",", "a=b", "deregistration_delay.timeout_seconds=5", "\x00", "ø",
		"deregistration_delay.timeout_seconds=", "shop-1.internal", "Shop", "-shop", "lambda", "443"} {
		f.Add(s, s)
	}
	f.Fuzz(func(t *testing.T, value, portName string) {
		var kv []string
		for _, k := range allKeys {
			kv = append(kv, k, value)
		}
		svc := nlbService("web", map[string]string{"app": "web"}, append([]string{awslb.AnnotationNLBType, awslb.NLBTypeExternal}, kv...)...)
		svc.Spec.Ports[0].Name = portName
		svc.Spec.Ports[0].TargetPort = intstr.Parse(portName)
		ing := ingAnnotated(albIngress("web", backend("web", 443), namedBackend("web", portName)), kv...)
		dep := testsupport.Deployment(ns, "web", webLabels, testsupport.Container("app", testsupport.Port(portName, 8080)), testsupport.Container("side"))
		tgbs := []TargetGroupBinding{
			{Namespace: ns, Name: "web", ServiceName: "web", ServicePort: intstr.FromInt32(443), TargetType: TargetType(value)},
			{Namespace: ns, Name: "by-name", ServiceName: "web", ServicePort: intstr.FromString(portName)},
		}
		r := Discover(Inputs{Workload: workload.OfDeployment(dep), Services: []corev1.Service{svc}, Ingresses: []networkingv1.Ingress{ing},
			TargetGroupBindings: tgbs})
		kinds := map[LoadBalancer]bool{}
		for _, a := range r.Attachments {
			kinds[a.LoadBalancer] = true
		}
		if !kinds[ALB] || !kinds[NLB] || !kinds[TargetGroup] {
			t.Fatalf("want the ALB, NLB and TargetGroup attachments whatever the annotations say, got %+v", r.Attachments)
		}
		for _, a := range r.Attachments {
			checkAttachment(t, a)
		}
		for _, p := range r.Problems {
			if p.Value != value || p.Key == "" || p.Message == "" ||
				(p.Object != "Service shop/web" && p.Object != "Ingress shop/web" && p.Object != "TargetGroupBinding shop/web") {
				t.Fatalf("bad problem %+v", p)
			}
		}
	})
}

func checkAttachment(t *testing.T, a Attachment) {
	t.Helper()
	hc := a.HealthCheck
	in := func(v, lo, hi int32) bool { return v >= lo && v <= hi }
	if a.LoadBalancer == TargetGroup {
		// Through a TargetGroupBinding: health check unknown but TCP, delay assumed.
		if a.SourceKind != SourceTargetGroupBinding || hc != TargetGroupBindingHealthCheck ||
			a.DeregistrationDelaySeconds != awslb.DefaultDeregistrationDelaySeconds ||
			(a.TargetType != TargetIP && a.TargetType != TargetInstance) {
			t.Fatalf("TargetGroup attachment: %+v", a)
		}
		return
	}
	switch {
	case a.TargetType != TargetIP && a.TargetType != TargetInstance,
		!strings.Contains(" HTTP HTTPS TCP GRPC ", " "+hc.Protocol+" "),
		!in(hc.IntervalSeconds, 5, 300), !in(hc.TimeoutSeconds, 2, 120),
		!in(hc.HealthyThreshold, 2, 10), !in(hc.UnhealthyThreshold, 2, 10),
		!in(a.DeregistrationDelaySeconds, 0, 3600),
		hc.Path != "" && !strings.HasPrefix(hc.Path, "/"),
		a.LoadBalancer == ALB && hc.TimeoutSeconds >= hc.IntervalSeconds:
		t.Fatalf("attachment out of range: %+v", a)
	}
	if hc.Port != awslb.TrafficPort {
		if n, ok := parseInt32In(hc.Port, 1, 65535); !ok || itoa(n) != hc.Port {
			t.Fatalf("health-check port %q", hc.Port)
		}
	}
}

// benchInputs is a namespace of n Services and n Ingresses (every tenth one
// an ALB, every tenth Service an NLB) with one Deployment behind two of them.
func benchInputs(n int) Inputs {
	in := Inputs{
		Workload: workload.OfDeployment(webDeployment()),
		IngressClasses: []networkingv1.IngressClass{
			ingressClass("alb", awslb.ControllerALB, false), ingressClass("nginx", "k8s.io/ingress-nginx", true),
		},
	}
	for i := range n {
		name := fmt.Sprintf("svc-%04d", i)
		sel := map[string]string{"app": fmt.Sprintf("app-%04d", i)}
		if i%500 == 0 {
			sel = map[string]string{"app": "web"}
		}
		svc := service(name, sel, sport("http", 80, intstr.FromString("http")), sport("grpc", 9090, intstr.FromInt32(9090)))
		svc.Annotations = map[string]string{awslb.AnnotationALBHealthCheckPath: "/healthz"}
		if i%10 == 0 {
			nlb := nlbService(name, sel, awslb.AnnotationNLBType, awslb.NLBTypeExternal, awslb.AnnotationNLBHealthCheckProtocol, "http")
			nlb.Spec.Ports = svc.Spec.Ports
			svc = nlb
		}
		in.Services = append(in.Services, svc)

		ing := ingress(fmt.Sprintf("ing-%04d", i), backend(name, 80), namedBackend(name, "grpc"),
			namedBackend("actions", awslb.UseAnnotation))
		ing.ObjectMeta = metav1.ObjectMeta{Namespace: ns, Name: ing.Name, Annotations: map[string]string{
			awslb.AnnotationALBTargetType: "ip", awslb.AnnotationALBTargetGroupAttributes: "deregistration_delay.timeout_seconds=30",
		}}
		if i%10 == 0 {
			ing = withClass(ing, "alb")
		}
		in.Ingresses = append(in.Ingresses, ing)
	}
	return in
}

func TestBenchInputs(t *testing.T) {
	// Guards the benchmark against measuring an empty result.
	r := Discover(benchInputs(1000))
	noProblems(t, r)
	noWarnings(t, r)
	if len(r.Attachments) != 8 { // svc-0000 and svc-0500: each an NLB (2 ports) behind an ALB Ingress (2 backends)
		t.Fatalf("want 8 attachments, got %d: %+v", len(r.Attachments), r.Attachments)
	}
}

func BenchmarkDiscover(b *testing.B) {
	in := benchInputs(1000)
	b.ReportAllocs()
	for b.Loop() {
		if r := Discover(in); len(r.Attachments) == 0 {
			b.Fatal("nothing discovered")
		}
	}
}

// BenchmarkDiscoverWithTargetGroupBindings is BenchmarkDiscover's namespace
// plus one TargetGroupBinding per Service (every tenth one made by the AWS
// Load Balancer Controller for an NLB Service).
func BenchmarkDiscoverWithTargetGroupBindings(b *testing.B) {
	in := benchInputs(1000)
	for i, svc := range in.Services {
		tgb := TargetGroupBinding{Namespace: ns, Name: fmt.Sprintf("tgb-%04d", i), ServiceName: svc.Name,
			ServicePort: intstr.FromString("http"), TargetType: TargetIP}
		if i%10 == 0 {
			tgb.Labels = map[string]string{awslb.LabelServiceStackNamespace: ns, awslb.LabelServiceStackName: svc.Name}
		}
		in.TargetGroupBindings = append(in.TargetGroupBindings, tgb)
	}
	if r := Discover(in); len(r.Attachments) != 8 { // svc-0000 and svc-0500 are NLBs: their bindings are the controller's
		b.Fatalf("want 8 attachments, got %d", len(r.Attachments))
	}
	in.TargetGroupBindings[1].ServiceName = "svc-0000"
	if r := Discover(in); len(r.Attachments) != 9 {
		b.Fatalf("want 9 attachments, got %d", len(r.Attachments))
	}
	b.ReportAllocs()
	for b.Loop() {
		Discover(in)
	}
}
