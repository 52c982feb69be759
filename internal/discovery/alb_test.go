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
	"strconv"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/utils/ptr"

	gdv1 "github.com/gracefuldrain/gracefuldrain/api/v1alpha1"
	"github.com/gracefuldrain/gracefuldrain/internal/awslb"
	"github.com/gracefuldrain/gracefuldrain/internal/invalid"
	"github.com/gracefuldrain/gracefuldrain/internal/workload"
)

// discoverALB runs Discover on webDeployment, webService (plus svcKV
// annotations) and an ALB Ingress "web" to it (plus ingKV annotations).
func discoverALB(ingKV, svcKV []string) Result {
	svc := svcAnnotated(webService(), svcKV...)
	svc.Spec.Ports[0].NodePort = 30080
	return Discover(Inputs{
		Workload:  workload.OfDeployment(webDeployment()),
		Services:  []corev1.Service{svc},
		Ingresses: []networkingv1.Ingress{ingAnnotated(albIngress("web", backend("web", 80)), ingKV...)},
	})
}

func TestALBHealthCheck(t *testing.T) {
	with := func(f func(*gdv1.HealthCheck)) gdv1.HealthCheck {
		hc := albDefaults
		f(&hc)
		return hc
	}
	tests := []struct {
		name  string
		ingKV []string
		want  gdv1.HealthCheck
		tt    TargetType
		delay *int32 // nil: the AWS default, 300
	}{
		{name: "AWS defaults", want: albDefaults, tt: TargetInstance},
		{
			name:  "HTTPS backend checks with HTTPS",
			ingKV: []string{awslb.AnnotationALBBackendProtocol, "HTTPS"},
			want:  with(func(h *gdv1.HealthCheck) { h.Protocol = awslb.ProtocolHTTPS }),
		},
		{
			name:  "health-check protocol over backend protocol",
			ingKV: []string{awslb.AnnotationALBBackendProtocol, "HTTPS", awslb.AnnotationALBHealthCheckProtocol, "HTTP"},
			want:  albDefaults,
		},
		{
			name:  "gRPC defaults",
			ingKV: []string{awslb.AnnotationALBBackendProtocolVersion, "GRPC"},
			want: with(func(h *gdv1.HealthCheck) {
				h.Protocol, h.Path, h.SuccessCodes = awslb.ProtocolGRPC, "/AWS.ALB/healthcheck", "12"
			}),
		},
		{
			name: "gRPC with its own path and codes",
			ingKV: []string{awslb.AnnotationALBBackendProtocolVersion, "GRPC",
				awslb.AnnotationALBHealthCheckPath, "/grpc.health.v1.Health/Check", awslb.AnnotationALBSuccessCodes, "0-99"},
			want: with(func(h *gdv1.HealthCheck) {
				h.Protocol, h.Path, h.SuccessCodes = awslb.ProtocolGRPC, "/grpc.health.v1.Health/Check", "0-99"
			}),
		},
		{
			name:  "HTTP2 is still an HTTP check",
			ingKV: []string{awslb.AnnotationALBBackendProtocolVersion, "HTTP2"},
			want:  albDefaults,
		},
		{
			name: "every key set",
			ingKV: []string{
				awslb.AnnotationALBTargetType, "ip",
				awslb.AnnotationALBHealthCheckPort, "8081",
				awslb.AnnotationALBHealthCheckPath, "/healthz",
				awslb.AnnotationALBHealthCheckInterval, "30",
				awslb.AnnotationALBHealthCheckTimeout, "10",
				awslb.AnnotationALBHealthyThreshold, "3",
				awslb.AnnotationALBUnhealthyThreshold, "5",
				awslb.AnnotationALBSuccessCodes, "200-299,302",
				awslb.AnnotationALBTargetGroupAttributes, "stickiness.enabled=true,deregistration_delay.timeout_seconds=30",
			},
			want: gdv1.HealthCheck{Protocol: awslb.ProtocolHTTP, Path: "/healthz", Port: "8081", IntervalSeconds: 30,
				TimeoutSeconds: 10, HealthyThreshold: 3, UnhealthyThreshold: 5, SuccessCodes: "200-299,302"},
			tt:    TargetIP,
			delay: ptr.To[int32](30),
		},
		{
			name: "lowest values",
			ingKV: []string{awslb.AnnotationALBHealthCheckInterval, "5", awslb.AnnotationALBHealthCheckTimeout, "2",
				awslb.AnnotationALBHealthyThreshold, "2", awslb.AnnotationALBUnhealthyThreshold, "2",
				awslb.AnnotationALBTargetGroupAttributes, "deregistration_delay.timeout_seconds=0"},
			want:  with(func(h *gdv1.HealthCheck) { h.IntervalSeconds, h.TimeoutSeconds = 5, 2 }),
			delay: ptr.To[int32](0),
		},
		{
			name: "highest values",
			ingKV: []string{awslb.AnnotationALBHealthCheckInterval, "300", awslb.AnnotationALBHealthCheckTimeout, "120",
				awslb.AnnotationALBHealthyThreshold, "10", awslb.AnnotationALBUnhealthyThreshold, "10",
				awslb.AnnotationALBTargetGroupAttributes, "deregistration_delay.timeout_seconds=3600"},
			want: with(func(h *gdv1.HealthCheck) {
				h.IntervalSeconds, h.TimeoutSeconds, h.HealthyThreshold, h.UnhealthyThreshold = 300, 120, 10, 10
			}),
			delay: ptr.To[int32](3600),
		},
		{
			name:  "named port, ip targets: the Service port's targetPort",
			ingKV: []string{awslb.AnnotationALBTargetType, "ip", awslb.AnnotationALBHealthCheckPort, "http"},
			want:  with(func(h *gdv1.HealthCheck) { h.Port = "8080" }),
			tt:    TargetIP,
		},
		{
			name:  "named port, instance targets: the Service port's nodePort",
			ingKV: []string{awslb.AnnotationALBHealthCheckPort, "http"},
			want:  with(func(h *gdv1.HealthCheck) { h.Port = "30080" }),
		},
		{
			name:  "explicit traffic-port",
			ingKV: []string{awslb.AnnotationALBHealthCheckPort, "traffic-port"},
			want:  albDefaults,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := discoverALB(tt.ingKV, nil)
			noProblems(t, r)
			noWarnings(t, r)
			a := only(t, r)
			equal(t, "health check", a.HealthCheck, tt.want)
			wantTT := tt.tt
			if wantTT == "" {
				wantTT = TargetInstance
			}
			equal(t, "target type", a.TargetType, wantTT)
			wantDelay := int32(300)
			if tt.delay != nil {
				wantDelay = *tt.delay
			}
			equal(t, "deregistration delay", a.DeregistrationDelaySeconds, wantDelay)
			equal(t, "container", a.Container, "app")
			equal(t, "container port", a.ContainerPort, int32(8080))
		})
	}
}

func TestALBServiceOverridesIngress(t *testing.T) {
	tests := []struct {
		name         string
		ingKV, svcKV []string
		check        func(t *testing.T, a Attachment)
	}{
		{
			name:  "target type",
			ingKV: []string{awslb.AnnotationALBTargetType, "instance"},
			svcKV: []string{awslb.AnnotationALBTargetType, "ip"},
			check: func(t *testing.T, a Attachment) { equal(t, "target type", a.TargetType, TargetIP) },
		},
		{
			name:  "target type from the Ingress when the Service has none",
			ingKV: []string{awslb.AnnotationALBTargetType, "ip"},
			check: func(t *testing.T, a Attachment) { equal(t, "target type", a.TargetType, TargetIP) },
		},
		{
			name:  "health check, key by key",
			ingKV: []string{awslb.AnnotationALBHealthCheckPath, "/ingress", awslb.AnnotationALBHealthCheckInterval, "30"},
			svcKV: []string{awslb.AnnotationALBHealthCheckPath, "/service", awslb.AnnotationALBHealthCheckTimeout, "20"},
			check: func(t *testing.T, a Attachment) {
				equal(t, "path", a.HealthCheck.Path, "/service")
				equal(t, "interval", a.HealthCheck.IntervalSeconds, int32(30))
				equal(t, "timeout", a.HealthCheck.TimeoutSeconds, int32(20))
			},
		},
		{
			name:  "success codes and protocol",
			ingKV: []string{awslb.AnnotationALBSuccessCodes, "200", awslb.AnnotationALBBackendProtocol, "HTTP"},
			svcKV: []string{awslb.AnnotationALBSuccessCodes, "200-399", awslb.AnnotationALBBackendProtocol, "HTTPS"},
			check: func(t *testing.T, a Attachment) {
				equal(t, "codes", a.HealthCheck.SuccessCodes, "200-399")
				equal(t, "protocol", a.HealthCheck.Protocol, awslb.ProtocolHTTPS)
			},
		},
		{
			name:  "backend protocol version",
			ingKV: []string{awslb.AnnotationALBBackendProtocolVersion, "HTTP1"},
			svcKV: []string{awslb.AnnotationALBBackendProtocolVersion, "GRPC"},
			check: func(t *testing.T, a Attachment) { equal(t, "protocol", a.HealthCheck.Protocol, awslb.ProtocolGRPC) },
		},
		{
			name:  "target-group attributes",
			ingKV: []string{awslb.AnnotationALBTargetGroupAttributes, "deregistration_delay.timeout_seconds=30"},
			svcKV: []string{awslb.AnnotationALBTargetGroupAttributes, "deregistration_delay.timeout_seconds=60"},
			check: func(t *testing.T, a Attachment) { equal(t, "delay", a.DeregistrationDelaySeconds, int32(60)) },
		},
		{
			// The controller merges annotations, not attributes: the Service's
			// list replaces the Ingress's, and the delay falls back to 300.
			name:  "target-group attributes replace, not merge",
			ingKV: []string{awslb.AnnotationALBTargetGroupAttributes, "deregistration_delay.timeout_seconds=30"},
			svcKV: []string{awslb.AnnotationALBTargetGroupAttributes, "stickiness.enabled=true"},
			check: func(t *testing.T, a Attachment) { equal(t, "delay", a.DeregistrationDelaySeconds, int32(300)) },
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := discoverALB(tt.ingKV, tt.svcKV)
			noProblems(t, r)
			tt.check(t, only(t, r))
		})
	}
}

func TestALBProblemNamesTheObjectHoldingTheValue(t *testing.T) {
	r := discoverALB(
		[]string{awslb.AnnotationALBHealthCheckPath, "ingress-path", awslb.AnnotationALBHealthyThreshold, "11"},
		[]string{awslb.AnnotationALBHealthCheckPath, "service-path"},
	)
	equal(t, "problems", r.Problems, []invalid.Setting{
		{Object: "Ingress shop/web", Key: awslb.AnnotationALBHealthyThreshold, Value: "11", Message: "Expected a whole number from 2 to 10."},
		{Object: "Service shop/web", Key: awslb.AnnotationALBHealthCheckPath, Value: "service-path", Message: `Expected a path starting with "/".`},
	})
	// The Ingress's bad path is shadowed by the Service's and never read.
	a := only(t, r)
	equal(t, "path falls back to the default", a.HealthCheck.Path, "/")
	equal(t, "threshold falls back to the default", a.HealthCheck.HealthyThreshold, int32(2))
}

// invalidCase is one refused annotation value; fragment is part of the message.
type invalidCase struct {
	key, value, fragment string
}

func numericCases(key string, lo, hi int32, unit string) []invalidCase {
	msg := "from " + itoa(lo) + " to " + itoa(hi)
	return []invalidCase{
		{key, "abc", msg}, {key, "-5", msg}, {key, "7.5", msg}, {key, itoa(lo - 1), msg},
		{key, itoa(hi + 1), msg}, {key, "3000000000", msg}, {key, "99999999999999999999", msg},
		{key, "", msg}, {key, " 10", msg}, {key, "1e1", msg}, {key, "0x10", msg},
		{key, "12s", "whole number" + unit},
	}
}

func itoa(n int32) string { return strconv.Itoa(int(n)) }

var albInvalid = concat(
	numericCases(awslb.AnnotationALBHealthCheckInterval, 5, 300, " of seconds"),
	numericCases(awslb.AnnotationALBHealthCheckTimeout, 2, 120, " of seconds"),
	numericCases(awslb.AnnotationALBHealthyThreshold, 2, 10, ""),
	numericCases(awslb.AnnotationALBUnhealthyThreshold, 2, 10, ""),
	[]invalidCase{
		{awslb.AnnotationALBTargetType, "pod", "ip or instance"},
		{awslb.AnnotationALBTargetType, "IP", "ip or instance"},
		{awslb.AnnotationALBTargetType, "", "ip or instance"},
		{awslb.AnnotationALBHealthCheckProtocol, "http", "HTTP or HTTPS"},
		{awslb.AnnotationALBHealthCheckProtocol, "TCP", "HTTP or HTTPS"},
		{awslb.AnnotationALBHealthCheckProtocol, "GRPC", "HTTP or HTTPS"},
		{awslb.AnnotationALBBackendProtocol, "TCP", "HTTP or HTTPS"},
		{awslb.AnnotationALBBackendProtocolVersion, "HTTP3", "HTTP1, HTTP2 or GRPC"},
		{awslb.AnnotationALBBackendProtocolVersion, "grpc", "HTTP1, HTTP2 or GRPC"},
		{awslb.AnnotationALBHealthCheckPath, "healthz", `starting with "/"`},
		{awslb.AnnotationALBHealthCheckPath, "", `starting with "/"`},
		{awslb.AnnotationALBHealthCheckPort, "0", "1 to 65535"},
		{awslb.AnnotationALBHealthCheckPort, "65536", "1 to 65535"},
		{awslb.AnnotationALBHealthCheckPort, "-80", "1 to 65535"},
		{awslb.AnnotationALBHealthCheckPort, "99999999999999999999", "name of a port of Service shop/web"},
		{awslb.AnnotationALBHealthCheckPort, "80.5", "name of a port of Service shop/web"},
		{awslb.AnnotationALBHealthCheckPort, "metrics", "name of a port of Service shop/web"},
		{awslb.AnnotationALBHealthCheckPort, "", "name of a port of Service shop/web"},
		{awslb.AnnotationALBSuccessCodes, "ok", "status codes from 200 to 499"},
		{awslb.AnnotationALBSuccessCodes, "", "status codes"},
		{awslb.AnnotationALBSuccessCodes, "199", "status codes"},
		{awslb.AnnotationALBSuccessCodes, "500", "status codes"},
		{awslb.AnnotationALBSuccessCodes, "200-", "status codes"},
		{awslb.AnnotationALBSuccessCodes, "299-200", "status codes"},
		{awslb.AnnotationALBSuccessCodes, "200, 201", "status codes"},
		{awslb.AnnotationALBSuccessCodes, "+200", "status codes"},
		{awslb.AnnotationALBTargetGroupAttributes, "garbage", "key=value"},
		{awslb.AnnotationALBTargetGroupAttributes, "=30", "key=value"},
		{awslb.AnnotationALBTargetGroupAttributes, "a=1,,b", "key=value"},
		{awslb.AnnotationALBTargetGroupAttributes, "deregistration_delay.timeout_seconds=abc", "0 to 3600"},
		{awslb.AnnotationALBTargetGroupAttributes, "deregistration_delay.timeout_seconds=-1", "0 to 3600"},
		{awslb.AnnotationALBTargetGroupAttributes, "deregistration_delay.timeout_seconds=3601", "0 to 3600"},
		{awslb.AnnotationALBTargetGroupAttributes, "deregistration_delay.timeout_seconds=1.5", "0 to 3600"},
		{awslb.AnnotationALBTargetGroupAttributes, "deregistration_delay.timeout_seconds=", "0 to 3600"},
		{awslb.AnnotationALBTargetGroupAttributes, "deregistration_delay.timeout_seconds=9999999999", "0 to 3600"},
	},
)

func concat[T any](parts ...[]T) []T {
	var out []T
	for _, p := range parts {
		out = append(out, p...)
	}
	return out
}

func TestALBInvalidAnnotations(t *testing.T) {
	for _, tc := range albInvalid {
		t.Run(tc.key+"="+tc.value, func(t *testing.T) {
			r := discoverALB([]string{tc.key, tc.value}, nil)
			if len(r.Problems) != 1 {
				t.Fatalf("want one problem, got %+v", r.Problems)
			}
			p := r.Problems[0]
			equal(t, "object", p.Object, "Ingress shop/web")
			equal(t, "key", p.Key, tc.key)
			equal(t, "value", p.Value, tc.value)
			if !strings.Contains(p.Message, tc.fragment) || !strings.HasSuffix(p.Message, ".") {
				t.Errorf("message %q: want a sentence containing %q", p.Message, tc.fragment)
			}
			// The attachment is still reported, with the default in place of the bad value.
			a := only(t, r)
			equal(t, "health check", a.HealthCheck, albDefaults)
			equal(t, "target type", a.TargetType, TargetInstance)
			equal(t, "delay", a.DeregistrationDelaySeconds, int32(300))
		})
	}
}

func TestProblemsAreReportedOnce(t *testing.T) {
	svc := webService()
	svc.Spec.Ports = append(svc.Spec.Ports, sport("admin", 9090, intstr.FromInt32(8080)))
	ing := ingAnnotated(albIngress("web", backend("web", 80), backend("web", 9090)), awslb.AnnotationALBHealthCheckPath, "x")
	second := ing
	second.Name = "web2"
	r := Discover(Inputs{Workload: workload.OfDeployment(webDeployment()), Services: []corev1.Service{svc}, Ingresses: []networkingv1.Ingress{ing, second}})
	if len(r.Attachments) != 4 {
		t.Fatalf("want 4 attachments, got %+v", r.Attachments)
	}
	equal(t, "objects", []string{r.Problems[0].Object, r.Problems[1].Object}, []string{"Ingress shop/web", "Ingress shop/web2"})
	equal(t, "count", len(r.Problems), 2)
}

func TestALBTimeoutMustBeShorterThanInterval(t *testing.T) {
	tests := []struct {
		name       string
		kv         []string
		key, value string
		fragment   string
	}{
		{"timeout equal to the default interval", []string{awslb.AnnotationALBHealthCheckTimeout, "15"},
			awslb.AnnotationALBHealthCheckTimeout, "15", "shorter than the health-check interval of 15 seconds"},
		{"interval equal to the default timeout", []string{awslb.AnnotationALBHealthCheckInterval, "5"},
			awslb.AnnotationALBHealthCheckInterval, "5", "longer than the health-check timeout of 5 seconds"},
		{"both set", []string{awslb.AnnotationALBHealthCheckInterval, "10", awslb.AnnotationALBHealthCheckTimeout, "20"},
			awslb.AnnotationALBHealthCheckTimeout, "20", "interval of 10 seconds"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := discoverALB(tt.kv, nil)
			if len(r.Problems) != 1 {
				t.Fatalf("want one problem, got %+v", r.Problems)
			}
			p := r.Problems[0]
			equal(t, "key", p.Key, tt.key)
			equal(t, "value", p.Value, tt.value)
			if !strings.Contains(p.Message, tt.fragment) {
				t.Errorf("message %q does not contain %q", p.Message, tt.fragment)
			}
			hc := only(t, r).HealthCheck
			equal(t, "interval, timeout", [2]int32{hc.IntervalSeconds, hc.TimeoutSeconds}, [2]int32{15, 5})
		})
	}
}

func TestALBNamedHealthCheckPortProblems(t *testing.T) {
	named := service("web", map[string]string{"app": "web"}, sport("http", 80, intstr.FromString("http")))
	tests := []struct {
		name     string
		kv       []string
		fragment string
	}{
		{"ip target, named targetPort", []string{awslb.AnnotationALBTargetType, "ip", awslb.AnnotationALBHealthCheckPort, "http"},
			"with a numeric targetPort"},
		{"instance target, no nodePort", []string{awslb.AnnotationALBHealthCheckPort, "http"}, "that has a nodePort"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := Discover(Inputs{
				Workload:  workload.OfDeployment(webDeployment()),
				Services:  []corev1.Service{named},
				Ingresses: []networkingv1.Ingress{ingAnnotated(albIngress("web", backend("web", 80)), tt.kv...)},
			})
			if len(r.Problems) != 1 || !strings.Contains(r.Problems[0].Message, tt.fragment) {
				t.Fatalf("want one problem about %q, got %+v", tt.fragment, r.Problems)
			}
			equal(t, "port", only(t, r).HealthCheck.Port, awslb.TrafficPort)
		})
	}
}

func TestALBInstanceTargetsNeedNodePort(t *testing.T) {
	svc := webService()
	svc.Spec.Type = corev1.ServiceTypeClusterIP
	in := Inputs{
		Workload:  workload.OfDeployment(webDeployment()),
		Services:  []corev1.Service{svc},
		Ingresses: []networkingv1.Ingress{albIngress("web", backend("web", 80))},
	}
	r := Discover(in)
	hasWarning(t, r, "Ingress shop/web", "instance targets", "Service shop/web", "NodePort or LoadBalancer")
	equal(t, "still attached", only(t, r).TargetType, TargetInstance)

	in.Ingresses[0] = ingAnnotated(in.Ingresses[0], awslb.AnnotationALBTargetType, "ip")
	noWarnings(t, Discover(in))
}

func TestProblemsOnlyForAttachedObjects(t *testing.T) {
	bad := []string{
		awslb.AnnotationALBHealthCheckInterval, "never", awslb.AnnotationALBTargetType, "pod",
		awslb.AnnotationNLBHealthCheckTimeout, "never", awslb.AnnotationNLBTargetType, "pod",
	}
	other := svcAnnotated(service("other", map[string]string{"app": "other"}, sport("", 80, intstr.FromInt32(80))), bad...)
	otherNLB := nlbService("other-nlb", map[string]string{"app": "other"}, append([]string{awslb.AnnotationNLBType, awslb.NLBTypeExternal}, bad...)...)
	unused := svcAnnotated(webService(), bad...) // selects, but is neither an NLB nor an ALB backend
	unused.Name = "unused"
	r := Discover(Inputs{
		Workload: workload.OfDeployment(webDeployment()),
		Services: []corev1.Service{webService(), other, otherNLB, unused},
		Ingresses: []networkingv1.Ingress{
			ingAnnotated(albIngress("to-other", backend("other", 80)), bad...),
			ingAnnotated(withClass(ingress("nginx", backend("web", 80)), "nginx"), bad...),
			albIngress("web", backend("web", 80)),
		},
		IngressClasses: []networkingv1.IngressClass{ingressClass("nginx", "k8s.io/ingress-nginx", false)},
	})
	noProblems(t, r)
	equal(t, "source", only(t, r).SourceName, "web")
}

func TestIngressAndNLBOnOneService(t *testing.T) {
	svc := nlbService("web", map[string]string{"app": "web"}, awslb.AnnotationNLBType, awslb.NLBTypeIP)
	r := Discover(Inputs{
		Workload:  workload.OfDeployment(webDeployment()),
		Services:  []corev1.Service{svc},
		Ingresses: []networkingv1.Ingress{albIngress("web", backend("web", 443))},
	})
	noProblems(t, r)
	if len(r.Attachments) != 2 {
		t.Fatalf("want ALB and NLB attachments, got %+v", r.Attachments)
	}
	equal(t, "first", r.Attachments[0].Summary(), "ALB/instance")
	equal(t, "second", r.Attachments[1].Summary(), "NLB/ip")
	equal(t, "kinds", []SourceKind{r.Attachments[0].SourceKind, r.Attachments[1].SourceKind},
		[]SourceKind{SourceIngress, SourceService})
}
