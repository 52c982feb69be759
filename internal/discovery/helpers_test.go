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
	"reflect"
	"strings"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"

	gdv1 "github.com/gracefuldrain/gracefuldrain/api/v1alpha1"
	"github.com/gracefuldrain/gracefuldrain/internal/awslb"
	"github.com/gracefuldrain/gracefuldrain/internal/testsupport"
)

// Builders for the objects discovery reads. Everything lives in namespace
// "shop" unless a test says otherwise.

const ns = "shop"

var webLabels = map[string]string{"app": "web", "tier": "frontend"}

// webDeployment is one container "app" listening on 8080 named "http".
func webDeployment() *appsv1.Deployment {
	return testsupport.Deployment(ns, "web", webLabels, testsupport.Container("app", testsupport.Port("http", 8080)))
}

// service is of type NodePort, as ALB instance targets (the default) need.
func service(name string, selector map[string]string, ports ...corev1.ServicePort) corev1.Service {
	return corev1.Service{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name},
		Spec:       corev1.ServiceSpec{Type: corev1.ServiceTypeNodePort, Selector: selector, Ports: ports},
	}
}

// webService is Service "web" port 80 (named "http") to targetPort 8080.
func webService() corev1.Service {
	return service("web", map[string]string{"app": "web"}, sport("http", 80, intstr.FromInt32(8080)))
}

func sport(name string, port int32, target intstr.IntOrString) corev1.ServicePort {
	return corev1.ServicePort{Name: name, Port: port, TargetPort: target, Protocol: corev1.ProtocolTCP}
}

func annotated[T metav1.Object](obj T, kv ...string) T {
	a := obj.GetAnnotations()
	if a == nil {
		a = map[string]string{}
	}
	for i := 0; i+1 < len(kv); i += 2 {
		a[kv[i]] = kv[i+1]
	}
	obj.SetAnnotations(a)
	return obj
}

func svcAnnotated(s corev1.Service, kv ...string) corev1.Service {
	return *annotated(&s, kv...)
}

func ingAnnotated(i networkingv1.Ingress, kv ...string) networkingv1.Ingress {
	return *annotated(&i, kv...)
}

func nlbService(name string, selector map[string]string, kv ...string) corev1.Service {
	s := service(name, selector, sport("", 443, intstr.FromInt32(8080)))
	s.Spec.Type = corev1.ServiceTypeLoadBalancer
	return svcAnnotated(s, kv...)
}

// ingress puts every backend in its own path of one rule.
func ingress(name string, backends ...networkingv1.IngressBackend) networkingv1.Ingress {
	paths := make([]networkingv1.HTTPIngressPath, 0, len(backends))
	prefix := networkingv1.PathTypePrefix
	for i, b := range backends {
		paths = append(paths, networkingv1.HTTPIngressPath{Path: fmt.Sprintf("/p%d", i), PathType: &prefix, Backend: b})
	}
	ing := networkingv1.Ingress{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name}}
	if len(paths) > 0 {
		ing.Spec.Rules = []networkingv1.IngressRule{{IngressRuleValue: networkingv1.IngressRuleValue{
			HTTP: &networkingv1.HTTPIngressRuleValue{Paths: paths},
		}}}
	}
	return ing
}

// albIngress is an Ingress with the class annotation "alb".
func albIngress(name string, backends ...networkingv1.IngressBackend) networkingv1.Ingress {
	return ingAnnotated(ingress(name, backends...), awslb.AnnotationIngressClass, awslb.IngressClassALB)
}

func withClass(ing networkingv1.Ingress, class string) networkingv1.Ingress {
	ing.Spec.IngressClassName = &class
	return ing
}

func backend(svc string, port int32) networkingv1.IngressBackend {
	return networkingv1.IngressBackend{Service: &networkingv1.IngressServiceBackend{
		Name: svc, Port: networkingv1.ServiceBackendPort{Number: port},
	}}
}

func namedBackend(svc, port string) networkingv1.IngressBackend {
	return networkingv1.IngressBackend{Service: &networkingv1.IngressServiceBackend{
		Name: svc, Port: networkingv1.ServiceBackendPort{Name: port},
	}}
}

func ingressClass(name, controller string, isDefault bool) networkingv1.IngressClass {
	c := networkingv1.IngressClass{
		ObjectMeta: metav1.ObjectMeta{Name: name},
		Spec:       networkingv1.IngressClassSpec{Controller: controller},
	}
	if isDefault {
		c.Annotations = map[string]string{awslb.AnnotationIsDefaultIngressClass: "true"}
	}
	return c
}

// albDefaults is the health check the AWS Load Balancer Controller gives an
// ALB target group when no annotation says otherwise.
var albDefaults = gdv1.HealthCheck{Protocol: awslb.ProtocolHTTP, Path: "/", Port: awslb.TrafficPort, IntervalSeconds: 15,
	TimeoutSeconds: 5, HealthyThreshold: 2, UnhealthyThreshold: 2, SuccessCodes: "200"}

var nlbDefaults = gdv1.HealthCheck{Protocol: awslb.ProtocolTCP, Port: awslb.TrafficPort, IntervalSeconds: 10,
	TimeoutSeconds: 10, HealthyThreshold: 3, UnhealthyThreshold: 3}

func only(t *testing.T, r Result) Attachment {
	t.Helper()
	if len(r.Attachments) != 1 {
		t.Fatalf("want exactly one attachment, got %d: %+v (problems %+v, warnings %q)",
			len(r.Attachments), r.Attachments, r.Problems, r.Warnings)
	}
	return r.Attachments[0]
}

func noProblems(t *testing.T, r Result) {
	t.Helper()
	if len(r.Problems) != 0 {
		t.Fatalf("want no problems, got %+v", r.Problems)
	}
}

func noWarnings(t *testing.T, r Result) {
	t.Helper()
	if len(r.Warnings) != 0 {
		t.Fatalf("want no warnings, got %q", r.Warnings)
	}
}

// hasWarning fails unless one warning contains every fragment.
func hasWarning(t *testing.T, r Result, fragments ...string) {
	t.Helper()
	for _, w := range r.Warnings {
		all := true
		for _, f := range fragments {
			all = all && strings.Contains(w, f)
		}
		if all {
			return
		}
	}
	t.Fatalf("want a warning containing %q, got %q", fragments, r.Warnings)
}

func equal[T any](t *testing.T, what string, got, want T) {
	t.Helper()
	if !reflect.DeepEqual(got, want) {
		t.Errorf("%s:\n got  %+v\n want %+v", what, got, want)
	}
}
