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

	"github.com/gracefuldrain/gracefuldrain/internal/awslb"
)

func TestReadinessGatesNeeded(t *testing.T) {
	web := webService()
	tests := []struct {
		name      string
		in        Inputs
		needed    bool
		becauseOf string
	}{
		{name: "nothing", in: Inputs{}},
		{name: "ALB ip targets", in: Inputs{Services: []corev1.Service{web},
			Ingresses: []networkingv1.Ingress{ingAnnotated(albIngress("public", backend("web", 80)), awslb.AnnotationALBTargetType, "ip")}},
			needed: true, becauseOf: "Ingress public (ALB, ip targets)"},
		{name: "ALB instance targets (the default)", in: Inputs{Services: []corev1.Service{web},
			Ingresses: []networkingv1.Ingress{albIngress("public", backend("web", 80))}}},
		{name: "the Service's target type wins over the Ingress's", in: Inputs{
			Services:  []corev1.Service{svcAnnotated(web, awslb.AnnotationALBTargetType, "ip")},
			Ingresses: []networkingv1.Ingress{albIngress("public", backend("web", 80))}},
			needed: true, becauseOf: "Ingress public"},
		{name: "an Ingress of another controller", in: Inputs{Services: []corev1.Service{web},
			Ingresses: []networkingv1.Ingress{ingAnnotated(ingress("nginx", backend("web", 80)), awslb.AnnotationIngressClass, "nginx", awslb.AnnotationALBTargetType, "ip")}}},
		{name: "an ALB Ingress to a Service that selects nothing", in: Inputs{
			Services:  []corev1.Service{service("web", nil, sport("http", 80, intstr.FromInt32(8080)))},
			Ingresses: []networkingv1.Ingress{ingAnnotated(albIngress("public", backend("web", 80)), awslb.AnnotationALBTargetType, "ip")}}},
		{name: "NLB ip targets", in: Inputs{Services: []corev1.Service{nlbService("edge", map[string]string{"app": "edge"},
			awslb.AnnotationNLBType, awslb.NLBTypeExternal, awslb.AnnotationNLBTargetType, "ip")}},
			needed: true, becauseOf: "Service edge (NLB, ip targets)"},
		{name: "TargetGroupBinding ip targets", in: Inputs{Services: []corev1.Service{web},
			TargetGroupBindings: []TargetGroupBinding{{Namespace: ns, Name: "tg", ServiceName: "web", ServicePort: intstr.FromInt32(80), TargetType: TargetIP}}},
			needed: true, becauseOf: "TargetGroupBinding tg"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			needed, because := ReadinessGatesNeeded(tt.in)
			if needed != tt.needed || !strings.Contains(because, tt.becauseOf) {
				t.Fatalf("ReadinessGatesNeeded = %v (%q), want %v (%q)", needed, because, tt.needed, tt.becauseOf)
			}
		})
	}
}
