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
	"math/rand/v2"
	"reflect"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	"k8s.io/apimachinery/pkg/util/intstr"

	"github.com/gracefuldrain/gracefuldrain/internal/awslb"
	"github.com/gracefuldrain/gracefuldrain/internal/invalid"
	"github.com/gracefuldrain/gracefuldrain/internal/workload"
)

func TestIngressGroupName(t *testing.T) {
	tests := []struct {
		value string
		valid bool
	}{
		{"shop", true},
		{"a", true},
		{"0", true},
		{"shop-1.internal", true},
		{"a--b..c", true},
		{strings.Repeat("a", 63), true},
		{"", false},
		{strings.Repeat("a", 64), false},
		{"Shop", false},
		{"-shop", false},
		{"shop-", false},
		{".shop", false},
		{"shop.", false},
		{"-", false},
		{"shop_1", false},
		{"shop 1", false},
		{"shop/1", false},
		{" shop", false},
		{"shøp", false},
	}
	for _, tc := range tests {
		t.Run(tc.value, func(t *testing.T) {
			equal(t, "ValidIngressGroupName", ValidIngressGroupName(tc.value), tc.valid)
			ing := ingAnnotated(albIngress("web", backend("web", 80)), awslb.AnnotationALBGroupName, tc.value)
			r := Discover(Inputs{Workload: workload.OfDeployment(webDeployment()), Services: []corev1.Service{webService()},
				Ingresses: []networkingv1.Ingress{ing}})
			a := only(t, r) // an invalid name does not hide the path
			if tc.valid {
				noProblems(t, r)
				equal(t, "group", a.Group, tc.value)
				return
			}
			equal(t, "group", a.Group, "")
			if len(r.Problems) != 1 {
				t.Fatalf("want one problem, got %+v", r.Problems)
			}
			p := r.Problems[0]
			equal(t, "problem", invalid.Setting{Object: p.Object, Key: p.Key, Value: p.Value},
				invalid.Setting{Object: "Ingress shop/web", Key: awslb.AnnotationALBGroupName, Value: tc.value})
			for _, frag := range []string{"63", "lower-case", "'-' or '.'", "starting and ending"} {
				if !strings.Contains(p.Message, frag) {
					t.Errorf("message %q lacks %q", p.Message, frag)
				}
			}
		})
	}
}

func TestIngressGroupNameIsReadFromTheIngressOnly(t *testing.T) {
	// Unlike the target-group annotations, group.name on the Service means nothing.
	svc := svcAnnotated(webService(), awslb.AnnotationALBGroupName, "from-service")
	r := Discover(Inputs{Workload: workload.OfDeployment(webDeployment()), Services: []corev1.Service{svc},
		Ingresses: []networkingv1.Ingress{albIngress("web", backend("web", 80))}})
	noProblems(t, r)
	equal(t, "group", only(t, r).Group, "")

	svc = svcAnnotated(webService(), awslb.AnnotationALBGroupName, "Not Valid")
	r = Discover(Inputs{Workload: workload.OfDeployment(webDeployment()), Services: []corev1.Service{svc},
		Ingresses: []networkingv1.Ingress{ingAnnotated(albIngress("web", backend("web", 80)), awslb.AnnotationALBGroupName, "shop")}})
	noProblems(t, r)
	equal(t, "group", only(t, r).Group, "shop")
}

func TestIngressGroupProblemOnlyWhenAttached(t *testing.T) {
	bad := []string{awslb.AnnotationALBGroupName, "Bad_Group"}
	other := service("other", map[string]string{"app": "other"}, sport("", 80, intstr.FromInt32(80)))
	r := Discover(Inputs{
		Workload: workload.OfDeployment(webDeployment()),
		Services: []corev1.Service{webService(), other},
		Ingresses: []networkingv1.Ingress{
			ingAnnotated(albIngress("to-other", backend("other", 80)), bad...),
			ingAnnotated(withClass(ingress("nginx", backend("web", 80)), "nginx"), bad...),
			ingAnnotated(albIngress("no-port", backend("web", 8443)), bad...),
		},
		IngressClasses: []networkingv1.IngressClass{ingressClass("nginx", "k8s.io/ingress-nginx", false)},
	})
	noProblems(t, r)
	if len(r.Attachments) != 0 {
		t.Fatalf("want no attachment, got %+v", r.Attachments)
	}
	hasWarning(t, r, "Ingress shop/no-port", "port 8443")
}

func TestIngressGroupProblemReportedOnce(t *testing.T) {
	// One Ingress, three backends to the Workload: workload.OfDeployment(one Problem.)
	svc := service("web", map[string]string{"app": "web"}, sport("http", 80, intstr.FromInt32(8080)),
		sport("https", 443, intstr.FromInt32(8080)))
	ing := ingAnnotated(albIngress("web", backend("web", 80), backend("web", 443), namedBackend("web", "http")),
		awslb.AnnotationALBGroupName, "Shop")
	r := Discover(Inputs{Workload: workload.OfDeployment(webDeployment()), Services: []corev1.Service{svc}, Ingresses: []networkingv1.Ingress{ing}})
	equal(t, "attachments", len(r.Attachments), 3)
	equal(t, "problems", len(r.Problems), 1)
}

// TestIngressGroupTwoServicesTwoHealthChecks is two Ingresses of one
// IngressGroup (one shared ALB) reaching one Deployment through two
// Services with different health checks: two target groups, so two
// attachments, both listed, in the same order whatever the input order.
func TestIngressGroupTwoServicesTwoHealthChecks(t *testing.T) {
	sel := map[string]string{"app": "web"}
	public := svcAnnotated(service("web-public", sel, sport("http", 80, intstr.FromString("http"))),
		awslb.AnnotationALBHealthCheckPath, "/healthz", awslb.AnnotationALBTargetGroupAttributes, "deregistration_delay.timeout_seconds=30")
	admin := svcAnnotated(service("web-admin", sel, sport("admin", 8081, intstr.FromInt32(8080))),
		awslb.AnnotationALBHealthCheckPath, "/admin/ping", awslb.AnnotationALBHealthCheckInterval, "30",
		awslb.AnnotationALBSuccessCodes, "200-299")
	storefront := ingAnnotated(albIngress("storefront", backend("web-public", 80)),
		awslb.AnnotationALBGroupName, "shop", awslb.AnnotationALBTargetType, "ip")
	backoffice := ingAnnotated(albIngress("backoffice", namedBackend("web-admin", "admin")),
		awslb.AnnotationALBGroupName, "shop", awslb.AnnotationALBTargetType, "ip")
	unrelated := ingAnnotated(albIngress("blog", backend("blog", 80)), awslb.AnnotationALBGroupName, "shop")
	blog := service("blog", map[string]string{"app": "blog"}, sport("", 80, intstr.FromInt32(80)))

	services := []corev1.Service{public, admin, blog}
	ingresses := []networkingv1.Ingress{storefront, backoffice, unrelated}
	r := Discover(Inputs{Workload: workload.OfDeployment(webDeployment()), Services: services, Ingresses: ingresses})
	noProblems(t, r)
	noWarnings(t, r)

	publicHC := albDefaults
	publicHC.Path = "/healthz"
	adminHC := albDefaults
	adminHC.Path, adminHC.IntervalSeconds, adminHC.SuccessCodes = "/admin/ping", 30, "200-299"
	want := []Attachment{
		{LoadBalancer: ALB, SourceKind: SourceIngress, SourceName: "backoffice", Group: "shop", ServiceName: "web-admin",
			ServicePort: "admin", TargetType: TargetIP, HealthCheck: adminHC, DeregistrationDelaySeconds: 300,
			Container: "app", ContainerPort: 8080},
		{LoadBalancer: ALB, SourceKind: SourceIngress, SourceName: "storefront", Group: "shop", ServiceName: "web-public",
			ServicePort: "80", TargetType: TargetIP, HealthCheck: publicHC, DeregistrationDelaySeconds: 30,
			Container: "app", ContainerPort: 8080},
	}
	equal(t, "attachments", r.Attachments, want)
	if r.Attachments[0].HealthCheck == r.Attachments[1].HealthCheck {
		t.Fatal("the two target groups must keep their own health checks")
	}

	rng := rand.New(rand.NewPCG(3, 4))
	for i := range 30 {
		s := append([]corev1.Service(nil), services...)
		g := append([]networkingv1.Ingress(nil), ingresses...)
		rng.Shuffle(len(s), func(i, j int) { s[i], s[j] = s[j], s[i] })
		rng.Shuffle(len(g), func(i, j int) { g[i], g[j] = g[j], g[i] })
		again := Discover(Inputs{Workload: workload.OfDeployment(webDeployment()), Services: s, Ingresses: g})
		if !reflect.DeepEqual(again, r) {
			t.Fatalf("shuffle %d changed the result:\n%+v\nwant\n%+v", i, again, r)
		}
	}
}
