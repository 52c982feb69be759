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
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	"k8s.io/apimachinery/pkg/util/intstr"

	gdv1 "github.com/gracefuldrain/gracefuldrain/api/v1alpha1"
	"github.com/gracefuldrain/gracefuldrain/internal/awslb"
	"github.com/gracefuldrain/gracefuldrain/internal/workload"
)

func TestIsNLBService(t *testing.T) {
	lb := func(class string, kv ...string) corev1.Service {
		s := nlbService("edge", map[string]string{"app": "web"}, kv...)
		if class != "" {
			s.Spec.LoadBalancerClass = &class
		}
		return s
	}
	nodePort := lb("", awslb.AnnotationNLBType, awslb.NLBTypeExternal)
	nodePort.Spec.Type = corev1.ServiceTypeNodePort
	tests := []struct {
		name string
		svc  corev1.Service
		want bool
	}{
		{"type external", lb("", awslb.AnnotationNLBType, awslb.NLBTypeExternal), true},
		{"type nlb-ip", lb("", awslb.AnnotationNLBType, awslb.NLBTypeIP), true},
		{"class service.k8s.aws/nlb", lb(awslb.LoadBalancerClassNLB), true},
		{"class eks.amazonaws.com/nlb", lb(awslb.LoadBalancerClassEKSAutoNLB), true},
		{"in-tree nlb type", lb("", awslb.AnnotationNLBType, "nlb"), false},
		{"classic ELB", lb(""), false},
		{"another class wins over the annotation", lb("example.com/lb", awslb.AnnotationNLBType, awslb.NLBTypeExternal), false},
		{"annotation on a NodePort Service", nodePort, false},
		{"type value is case-sensitive", lb("", awslb.AnnotationNLBType, "External"), false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := IsNLBService(&tt.svc); got != tt.want {
				t.Errorf("IsNLBService = %v, want %v", got, tt.want)
			}
			r := Discover(Inputs{Workload: workload.OfDeployment(webDeployment()), Services: []corev1.Service{tt.svc}})
			noProblems(t, r)
			if got := len(r.Attachments) == 1 && r.Attachments[0].LoadBalancer == NLB; got != tt.want {
				t.Errorf("NLB attachment = %v, want %v: %+v", got, tt.want, r.Attachments)
			}
		})
	}
	if IsNLBService(nil) {
		t.Error("nil Service is an NLB")
	}
}

func TestNLBDiscovery(t *testing.T) {
	with := func(f func(*gdv1.HealthCheck)) gdv1.HealthCheck {
		hc := nlbDefaults
		f(&hc)
		return hc
	}
	httpDefaults := with(func(h *gdv1.HealthCheck) { h.Protocol, h.Path, h.SuccessCodes = awslb.ProtocolHTTP, "/", "200-399" })
	local := func(s *corev1.Service) {
		s.Spec.ExternalTrafficPolicy = corev1.ServiceExternalTrafficPolicyLocal
		s.Spec.HealthCheckNodePort = 32000
	}
	class := func(c string) func(*corev1.Service) {
		return func(s *corev1.Service) { s.Spec.LoadBalancerClass = &c }
	}
	tests := []struct {
		name   string
		kv     []string
		mutate func(*corev1.Service)
		tt     TargetType
		hc     gdv1.HealthCheck
		delay  int32
	}{
		{name: "external defaults to instance", kv: []string{awslb.AnnotationNLBType, awslb.NLBTypeExternal},
			tt: TargetInstance, hc: nlbDefaults},
		{name: "external with ip targets", kv: []string{awslb.AnnotationNLBType, awslb.NLBTypeExternal, awslb.AnnotationNLBTargetType, "ip"},
			tt: TargetIP, hc: nlbDefaults},
		{name: "nlb-ip implies ip", kv: []string{awslb.AnnotationNLBType, awslb.NLBTypeIP}, tt: TargetIP, hc: nlbDefaults},
		{name: "nlb-ip wins over the target-type annotation",
			kv: []string{awslb.AnnotationNLBType, awslb.NLBTypeIP, awslb.AnnotationNLBTargetType, "instance"}, tt: TargetIP, hc: nlbDefaults},
		{name: "nlb-ip ignores a target type it overrides",
			kv: []string{awslb.AnnotationNLBType, awslb.NLBTypeIP, awslb.AnnotationNLBTargetType, "whatever"}, tt: TargetIP, hc: nlbDefaults},
		{name: "loadBalancerClass defaults to instance", mutate: class(awslb.LoadBalancerClassNLB), tt: TargetInstance, hc: nlbDefaults},
		{name: "loadBalancerClass with ip targets", kv: []string{awslb.AnnotationNLBTargetType, "ip"},
			mutate: class(awslb.LoadBalancerClassNLB), tt: TargetIP, hc: nlbDefaults},
		{name: "EKS Auto Mode class", mutate: class(awslb.LoadBalancerClassEKSAutoNLB), tt: TargetInstance, hc: nlbDefaults},
		{name: "http check, lower case", kv: []string{awslb.AnnotationNLBType, awslb.NLBTypeExternal, awslb.AnnotationNLBHealthCheckProtocol, "http"},
			tt: TargetInstance, hc: httpDefaults},
		{
			name: "every health-check key",
			kv: []string{
				awslb.AnnotationNLBType, awslb.NLBTypeExternal, awslb.AnnotationNLBTargetType, "ip",
				awslb.AnnotationNLBHealthCheckProtocol, "HTTPS",
				awslb.AnnotationNLBHealthCheckPort, "8443",
				awslb.AnnotationNLBHealthCheckPath, "/healthz",
				awslb.AnnotationNLBHealthCheckInterval, "30",
				awslb.AnnotationNLBHealthCheckTimeout, "5",
				awslb.AnnotationNLBHealthyThreshold, "2",
				awslb.AnnotationNLBUnhealthyThreshold, "4",
				awslb.AnnotationNLBSuccessCodes, "200-299",
				awslb.AnnotationNLBTargetGroupAttributes, "deregistration_delay.timeout_seconds=15, preserve_client_ip.enabled=true",
			},
			tt: TargetIP,
			hc: gdv1.HealthCheck{Protocol: awslb.ProtocolHTTPS, Path: "/healthz", Port: "8443", IntervalSeconds: 30,
				TimeoutSeconds: 5, HealthyThreshold: 2, UnhealthyThreshold: 4, SuccessCodes: "200-299"},
			delay: 15,
		},
		{
			// The controller does not read path and codes for TCP: nor do we, bad or not.
			name: "TCP ignores path and success codes",
			kv: []string{awslb.AnnotationNLBType, awslb.NLBTypeExternal, awslb.AnnotationNLBHealthCheckProtocol, "TCP",
				awslb.AnnotationNLBHealthCheckPath, "no-slash", awslb.AnnotationNLBSuccessCodes, "nonsense"},
			tt: TargetInstance, hc: nlbDefaults,
		},
		{
			name: "timeout equal to interval is fine on an NLB",
			kv: []string{awslb.AnnotationNLBType, awslb.NLBTypeExternal, awslb.AnnotationNLBHealthCheckInterval, "10",
				awslb.AnnotationNLBHealthCheckTimeout, "10"},
			tt: TargetInstance, hc: nlbDefaults,
		},
		{
			name: "named health-check port, instance targets: its nodePort",
			kv:   []string{awslb.AnnotationNLBType, awslb.NLBTypeExternal, awslb.AnnotationNLBHealthCheckPort, "status"},
			tt:   TargetInstance, hc: with(func(h *gdv1.HealthCheck) { h.Port = "31021" }),
		},
		{
			name: "named health-check port, ip targets: its targetPort",
			kv:   []string{awslb.AnnotationNLBType, awslb.NLBTypeIP, awslb.AnnotationNLBHealthCheckPort, "status"},
			tt:   TargetIP, hc: with(func(h *gdv1.HealthCheck) { h.Port = "15021" }),
		},
		{
			name: "instance targets with externalTrafficPolicy Local check kube-proxy",
			kv:   []string{awslb.AnnotationNLBType, awslb.NLBTypeExternal}, mutate: local, tt: TargetInstance,
			hc: gdv1.HealthCheck{Protocol: awslb.ProtocolHTTP, Path: "/healthz", Port: "32000", IntervalSeconds: 10,
				TimeoutSeconds: 6, HealthyThreshold: 2, UnhealthyThreshold: 2, SuccessCodes: "200-399"},
		},
		{
			name: "externalTrafficPolicy Local, overridden to TCP",
			kv:   []string{awslb.AnnotationNLBType, awslb.NLBTypeExternal, awslb.AnnotationNLBHealthCheckProtocol, "tcp"}, mutate: local,
			tt: TargetInstance,
			hc: gdv1.HealthCheck{Protocol: awslb.ProtocolTCP, Port: "32000", IntervalSeconds: 10, TimeoutSeconds: 6,
				HealthyThreshold: 2, UnhealthyThreshold: 2},
		},
		{
			name: "externalTrafficPolicy Local does not matter to ip targets",
			kv:   []string{awslb.AnnotationNLBType, awslb.NLBTypeIP}, mutate: local, tt: TargetIP, hc: nlbDefaults,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			svc := nlbService("edge", map[string]string{"app": "web"}, tt.kv...)
			svc.Spec.Ports[0].NodePort = 30443
			svc.Spec.Ports = append(svc.Spec.Ports, corev1.ServicePort{
				Name: "status", Port: 15021, TargetPort: intstr.FromInt32(15021), NodePort: 31021,
			})
			if tt.mutate != nil {
				tt.mutate(&svc)
			}
			r := Discover(Inputs{Workload: workload.OfDeployment(webDeployment()), Services: []corev1.Service{svc}})
			noProblems(t, r)
			if len(r.Attachments) != 2 {
				t.Fatalf("want one attachment per Service port, got %+v", r.Attachments)
			}
			delay := tt.delay
			if delay == 0 {
				delay = 300
			}
			for _, a := range r.Attachments {
				equal(t, "kind", a.SourceKind, SourceService)
				equal(t, "source", a.SourceName, "edge")
				equal(t, "service", a.ServiceName, "edge")
				equal(t, "load balancer", a.LoadBalancer, NLB)
				equal(t, "target type", a.TargetType, tt.tt)
				equal(t, "health check", a.HealthCheck, tt.hc)
				equal(t, "delay", a.DeregistrationDelaySeconds, delay)
			}
			equal(t, "ports in numeric order", []string{r.Attachments[0].ServicePort, r.Attachments[1].ServicePort},
				[]string{"443", "15021"})
			equal(t, "443 is served by app:8080", r.Attachments[0].Container+"/"+itoa(r.Attachments[0].ContainerPort), "app/8080")
			// 15021 is declared by no container, and the only container is the one listening.
			equal(t, "15021 falls to the only container", r.Attachments[1].Container, "app")
		})
	}
}

var nlbInvalid = concat(
	numericCases(awslb.AnnotationNLBHealthCheckInterval, 5, 300, " of seconds"),
	numericCases(awslb.AnnotationNLBHealthCheckTimeout, 2, 120, " of seconds"),
	numericCases(awslb.AnnotationNLBHealthyThreshold, 2, 10, ""),
	numericCases(awslb.AnnotationNLBUnhealthyThreshold, 2, 10, ""),
	[]invalidCase{
		{awslb.AnnotationNLBTargetType, "pod", "ip or instance"},
		{awslb.AnnotationNLBTargetType, "IP", "ip or instance"},
		{awslb.AnnotationNLBHealthCheckProtocol, "udp", "TCP, HTTP or HTTPS"},
		{awslb.AnnotationNLBHealthCheckProtocol, "", "TCP, HTTP or HTTPS"},
		{awslb.AnnotationNLBHealthCheckPort, "0", "1 to 65535"},
		{awslb.AnnotationNLBHealthCheckPort, "70000", "1 to 65535"},
		{awslb.AnnotationNLBHealthCheckPort, "nosuchport", "name of a port of Service shop/edge"},
		{awslb.AnnotationNLBTargetGroupAttributes, "deregistration_delay.timeout_seconds", "key=value"},
		{awslb.AnnotationNLBTargetGroupAttributes, "deregistration_delay.timeout_seconds=4000", "0 to 3600"},
	},
)

func TestNLBInvalidAnnotations(t *testing.T) {
	for _, tc := range nlbInvalid {
		t.Run(tc.key+"="+tc.value, func(t *testing.T) {
			svc := nlbService("edge", map[string]string{"app": "web"}, awslb.AnnotationNLBType, awslb.NLBTypeExternal, tc.key, tc.value)
			r := Discover(Inputs{Workload: workload.OfDeployment(webDeployment()), Services: []corev1.Service{svc}})
			equal(t, "problems", len(r.Problems), 1)
			if len(r.Problems) != 1 {
				t.FailNow()
			}
			p := r.Problems[0]
			equal(t, "object", p.Object, "Service shop/edge")
			equal(t, "key", p.Key, tc.key)
			equal(t, "value", p.Value, tc.value)
			if !strings.Contains(p.Message, tc.fragment) || !strings.HasSuffix(p.Message, ".") {
				t.Errorf("message %q: want a sentence containing %q", p.Message, tc.fragment)
			}
			a := only(t, r)
			equal(t, "health check", a.HealthCheck, nlbDefaults)
			equal(t, "target type", a.TargetType, TargetInstance)
			equal(t, "delay", a.DeregistrationDelaySeconds, int32(300))
		})
	}
	// Path and codes are checked when the health check is HTTP.
	for _, kv := range [][2]string{{awslb.AnnotationNLBHealthCheckPath, "healthz"}, {awslb.AnnotationNLBSuccessCodes, "600"}} {
		svc := nlbService("edge", map[string]string{"app": "web"}, awslb.AnnotationNLBType, awslb.NLBTypeExternal,
			awslb.AnnotationNLBHealthCheckProtocol, "HTTP", kv[0], kv[1])
		r := Discover(Inputs{Workload: workload.OfDeployment(webDeployment()), Services: []corev1.Service{svc}})
		if len(r.Problems) != 1 || r.Problems[0].Key != kv[0] || r.Problems[0].Value != kv[1] {
			t.Errorf("%s=%s on an HTTP check: want one problem, got %+v", kv[0], kv[1], r.Problems)
		}
	}
}

func TestNLBNotSelecting(t *testing.T) {
	svc := nlbService("edge", map[string]string{"app": "api"}, awslb.AnnotationNLBType, awslb.NLBTypeExternal)
	r := Discover(Inputs{Workload: workload.OfDeployment(webDeployment()), Services: []corev1.Service{svc}})
	if len(r.Attachments) != 0 {
		t.Errorf("want no attachment, got %+v", r.Attachments)
	}
}

func TestNLBPerPortTargetGroupAttributes(t *testing.T) {
	const (
		global = awslb.AnnotationNLBTargetGroupAttributes
		p443   = awslb.AnnotationNLBTargetGroupAttributes + ".443"
		p80    = awslb.AnnotationNLBTargetGroupAttributes + ".80"
	)
	type problem struct{ key, value string }
	tests := []struct {
		name      string
		kv        []string
		d443, d80 int32
		problems  []problem
		warning   []string // fragments of the one expected warning
	}{
		{name: "nothing set: AWS default", d443: 300, d80: 300},
		{name: "global only", kv: []string{global, "deregistration_delay.timeout_seconds=60"}, d443: 60, d80: 60},
		{name: "per-port overrides global for its port only",
			kv:   []string{global, "deregistration_delay.timeout_seconds=60", p443, "deregistration_delay.timeout_seconds=10"},
			d443: 10, d80: 60},
		{name: "per-port without global", kv: []string{p80, "deregistration_delay.timeout_seconds=0"}, d443: 300, d80: 0},
		{name: "both ports", kv: []string{p443, "deregistration_delay.timeout_seconds=5", p80, "deregistration_delay.timeout_seconds=3600"},
			d443: 5, d80: 3600},
		{name: "per-port without the key inherits the global value",
			kv:   []string{global, "deregistration_delay.timeout_seconds=60", p443, "proxy_protocol_v2.enabled=true"},
			d443: 60, d80: 60},
		{name: "an empty per-port value does not override",
			kv:   []string{global, "deregistration_delay.timeout_seconds=60", p443, "deregistration_delay.timeout_seconds="},
			d443: 60, d80: 60},
		{name: "an empty per-port value over no global keeps the default",
			kv: []string{p443, "deregistration_delay.timeout_seconds=, stickiness.enabled=true"}, d443: 300, d80: 300},
		{name: "an empty per-port annotation changes nothing",
			kv: []string{global, "deregistration_delay.timeout_seconds=60", p443, ""}, d443: 60, d80: 60},
		{name: "items are trimmed",
			kv: []string{p443, " stickiness.enabled=true ,  deregistration_delay.timeout_seconds = 15 "}, d443: 15, d80: 300},
		{name: "garbage global, valid per-port",
			kv:   []string{global, "deregistration_delay.timeout_seconds", p443, "deregistration_delay.timeout_seconds=10"},
			d443: 10, d80: 300, problems: []problem{{global, "deregistration_delay.timeout_seconds"}}},
		{name: "per-port garbage falls back to global",
			kv:   []string{global, "deregistration_delay.timeout_seconds=60", p443, "nonsense"},
			d443: 60, d80: 60, problems: []problem{{p443, "nonsense"}}},
		{name: "per-port out of range",
			kv:   []string{global, "deregistration_delay.timeout_seconds=60", p80, "deregistration_delay.timeout_seconds=3601"},
			d443: 60, d80: 60, problems: []problem{{p80, "deregistration_delay.timeout_seconds=3601"}}},
		{name: "per-port not a number",
			kv:   []string{p80, "deregistration_delay.timeout_seconds=30s"},
			d443: 300, d80: 300, problems: []problem{{p80, "deregistration_delay.timeout_seconds=30s"}}},
		{name: "an empty global value is garbage (the AWS API refuses it)",
			kv:   []string{global, "deregistration_delay.timeout_seconds=", p80, "deregistration_delay.timeout_seconds=20"},
			d443: 300, d80: 20, problems: []problem{{global, "deregistration_delay.timeout_seconds="}}},
		{name: "both garbage: two problems, each naming its key",
			kv:   []string{global, "=60", p443, "deregistration_delay.timeout_seconds=-1"},
			d443: 300, d80: 300, problems: []problem{{global, "=60"}, {p443, "deregistration_delay.timeout_seconds=-1"}}},
		{name: "a port name is not read", kv: []string{awslb.AnnotationNLBTargetGroupAttributes + ".https", "deregistration_delay.timeout_seconds=10"},
			d443: 300, d80: 300, warning: []string{"Service shop/edge", `no port "https"`, awslb.AnnotationNLBTargetGroupAttributes + ".https", "no effect"}},
		{name: "a port the Service does not have", kv: []string{awslb.AnnotationNLBTargetGroupAttributes + ".8443", "garbage"},
			d443: 300, d80: 300, warning: []string{`no port "8443"`}},
		{name: "the targetPort is not the Service port", kv: []string{awslb.AnnotationNLBTargetGroupAttributes + ".8080", "deregistration_delay.timeout_seconds=10"},
			d443: 300, d80: 300, warning: []string{`no port "8080"`}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			svc := nlbService("edge", map[string]string{"app": "web"}, append([]string{awslb.AnnotationNLBType, awslb.NLBTypeIP}, tc.kv...)...)
			svc.Spec.Ports = append(svc.Spec.Ports, sport("http", 80, intstr.FromInt32(8080)))
			r := Discover(Inputs{Workload: workload.OfDeployment(webDeployment()), Services: []corev1.Service{svc}})
			if len(r.Attachments) != 2 {
				t.Fatalf("want one attachment per port, got %+v", r.Attachments)
			}
			got := map[string]int32{}
			for _, a := range r.Attachments {
				got[a.ServicePort] = a.DeregistrationDelaySeconds
			}
			equal(t, "delays", got, map[string]int32{"443": tc.d443, "80": tc.d80})
			var gotProblems []problem
			for _, p := range r.Problems {
				gotProblems = append(gotProblems, problem{p.Key, p.Value})
				if p.Object != "Service shop/edge" || !strings.HasSuffix(p.Message, ".") {
					t.Errorf("problem %+v", p)
				}
			}
			equal(t, "problems", gotProblems, tc.problems)
			if tc.warning != nil {
				equal(t, "warnings", len(r.Warnings), 1)
				hasWarning(t, r, tc.warning...)
			} else {
				noWarnings(t, r)
			}
		})
	}
}

func TestNLBPortTargetGroupAttributesKey(t *testing.T) {
	equal(t, "key", NLBPortTargetGroupAttributesKey(443), "service.beta.kubernetes.io/aws-load-balancer-target-group-attributes.443")
}

func TestPerPortAttributesOnlyForNLB(t *testing.T) {
	// The per-port form is an NLB Service annotation: an ALB backend Service ignores it.
	svc := svcAnnotated(webService(), awslb.AnnotationNLBTargetGroupAttributes+".80", "deregistration_delay.timeout_seconds=5",
		awslb.AnnotationNLBTargetGroupAttributes+".http", "x")
	r := Discover(Inputs{Workload: workload.OfDeployment(webDeployment()), Services: []corev1.Service{svc},
		Ingresses: []networkingv1.Ingress{albIngress("web", backend("web", 80))}})
	noProblems(t, r)
	noWarnings(t, r)
	equal(t, "ALB delay", only(t, r).DeregistrationDelaySeconds, int32(300))
}
