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
	"time"

	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"

	"github.com/gracefuldrain/gracefuldrain/internal/awslb"
	"github.com/gracefuldrain/gracefuldrain/internal/testsupport"
	"github.com/gracefuldrain/gracefuldrain/internal/workload"
)

// The objects of field report 000 (seeds/000_*.txt): nginx, 10 replicas,
// Service 80 -> 80, ALB Ingress with target-type ip.
func seed000() Inputs {
	labels := map[string]string{"app": "demo-nginx", "role": "backend"}
	d := testsupport.Deployment(ns, "demo-nginx-deployment", labels, corev1.Container{
		Name: "demo-nginx", Image: "nginx:latest",
		Ports: []corev1.ContainerPort{{ContainerPort: 80}},
	})
	d.Namespace = "demo-nginx"
	replicas := int32(10)
	d.Spec.Replicas = &replicas

	svc := service("service-demo-nginx", map[string]string{"app": "demo-nginx"},
		corev1.ServicePort{Port: 80, TargetPort: intstr.FromInt32(80), Protocol: corev1.ProtocolTCP})
	svc.Namespace = "demo-nginx"
	svc.Spec.Type = corev1.ServiceTypeClusterIP // as in the report: fine for ip targets

	ing := ingAnnotated(ingress("ingress-nginx", backend("service-demo-nginx", 80)),
		"alb.ingress.kubernetes.io/scheme", "internet-facing",
		awslb.AnnotationALBTargetType, "ip")
	ing.Namespace = "demo-nginx"
	return Inputs{Workload: workload.OfDeployment(d), Services: []corev1.Service{svc}, Ingresses: []networkingv1.Ingress{ing}}
}

func TestDiscoverSeed000(t *testing.T) {
	want := Attachment{
		LoadBalancer: ALB, SourceKind: SourceIngress, SourceName: "ingress-nginx",
		ServiceName: "service-demo-nginx", ServicePort: "80", TargetType: TargetIP,
		HealthCheck: albDefaults, DeregistrationDelaySeconds: 300,
		Container: "demo-nginx", ContainerPort: 80,
	}
	for name, mutate := range map[string]func(*Inputs){
		"class annotation": func(in *Inputs) {
			in.Ingresses[0].Annotations[awslb.AnnotationIngressClass] = awslb.IngressClassALB
		},
		"ingressClassName": func(in *Inputs) {
			in.Ingresses[0] = withClass(in.Ingresses[0], "alb")
			in.IngressClasses = []networkingv1.IngressClass{ingressClass("alb", awslb.ControllerALB, false)}
		},
	} {
		t.Run(name, func(t *testing.T) {
			in := seed000()
			mutate(&in)
			r := Discover(in)
			noProblems(t, r)
			noWarnings(t, r)
			equal(t, "attachment", only(t, r), want)
			equal(t, "summary", only(t, r).Summary(), "ALB/ip")
		})
	}
}

func TestIngressClass(t *testing.T) {
	older := metav1.NewTime(time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC))
	newer := metav1.NewTime(older.Add(time.Hour))
	defaultAt := func(c networkingv1.IngressClass, ts metav1.Time) networkingv1.IngressClass {
		c.CreationTimestamp = ts
		return c
	}
	plain := ingress("web", backend("web", 80))
	tests := []struct {
		name    string
		ing     networkingv1.Ingress
		classes []networkingv1.IngressClass
		alb     bool
		warning string
	}{
		{name: "annotation alb", ing: ingAnnotated(plain, awslb.AnnotationIngressClass, "alb"), alb: true},
		{name: "annotation nginx", ing: ingAnnotated(plain, awslb.AnnotationIngressClass, "nginx")},
		{
			name:    "empty annotation still decides, even with an ALB default",
			ing:     ingAnnotated(plain, awslb.AnnotationIngressClass, ""),
			classes: []networkingv1.IngressClass{ingressClass("alb", awslb.ControllerALB, true)},
		},
		{
			name:    "annotation wins over an ALB class",
			ing:     ingAnnotated(withClass(plain, "alb"), awslb.AnnotationIngressClass, "nginx"),
			classes: []networkingv1.IngressClass{ingressClass("alb", awslb.ControllerALB, false)},
		},
		{
			name:    "annotation wins over a non-ALB class",
			ing:     ingAnnotated(withClass(plain, "nginx"), awslb.AnnotationIngressClass, "alb"),
			classes: []networkingv1.IngressClass{ingressClass("nginx", "k8s.io/ingress-nginx", false)},
			alb:     true,
		},
		{
			name:    "class of the AWS controller",
			ing:     withClass(plain, "public"),
			classes: []networkingv1.IngressClass{ingressClass("public", awslb.ControllerALB, false)},
			alb:     true,
		},
		{
			name:    "class of EKS Auto Mode",
			ing:     withClass(plain, "auto"),
			classes: []networkingv1.IngressClass{ingressClass("auto", awslb.ControllerEKSAutoALB, false)},
			alb:     true,
		},
		{
			name: "non-ALB class, even with an ALB default",
			ing:  withClass(plain, "nginx"),
			classes: []networkingv1.IngressClass{
				ingressClass("nginx", "k8s.io/ingress-nginx", false),
				ingressClass("alb", awslb.ControllerALB, true),
			},
		},
		{
			name:    "missing class",
			ing:     withClass(plain, "gone"),
			classes: []networkingv1.IngressClass{ingressClass("alb", awslb.ControllerALB, true)},
			warning: `names IngressClass "gone", which does not exist`,
		},
		{
			name:    "no class, ALB default",
			ing:     plain,
			classes: []networkingv1.IngressClass{ingressClass("nginx", "k8s.io/ingress-nginx", false), ingressClass("alb", awslb.ControllerALB, true)},
			alb:     true,
		},
		{
			name:    "no class, EKS Auto Mode default",
			ing:     plain,
			classes: []networkingv1.IngressClass{ingressClass("auto", awslb.ControllerEKSAutoALB, true)},
			alb:     true,
		},
		{
			name:    "no class, nginx default",
			ing:     plain,
			classes: []networkingv1.IngressClass{ingressClass("alb", awslb.ControllerALB, false), ingressClass("nginx", "k8s.io/ingress-nginx", true)},
		},
		{
			name:    "no class, no default",
			ing:     plain,
			classes: []networkingv1.IngressClass{ingressClass("alb", awslb.ControllerALB, false)},
		},
		{
			name: "default annotation must be exactly true",
			ing:  plain,
			classes: []networkingv1.IngressClass{func() networkingv1.IngressClass {
				c := ingressClass("alb", awslb.ControllerALB, false)
				c.Annotations = map[string]string{awslb.AnnotationIsDefaultIngressClass: "yes"}
				return c
			}()},
		},
		{
			name: "two defaults, the newest is ALB",
			ing:  plain,
			classes: []networkingv1.IngressClass{
				defaultAt(ingressClass("alb", awslb.ControllerALB, true), newer),
				defaultAt(ingressClass("nginx", "k8s.io/ingress-nginx", true), older),
			},
			alb: true,
		},
		{
			name: "two defaults, the newest is nginx",
			ing:  plain,
			classes: []networkingv1.IngressClass{
				defaultAt(ingressClass("alb", awslb.ControllerALB, true), older),
				defaultAt(ingressClass("nginx", "k8s.io/ingress-nginx", true), newer),
			},
		},
		{
			name: "two defaults of the same age, the first by name",
			ing:  plain,
			classes: []networkingv1.IngressClass{
				defaultAt(ingressClass("b-nginx", "k8s.io/ingress-nginx", true), older),
				defaultAt(ingressClass("a-alb", awslb.ControllerALB, true), older),
			},
			alb: true,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := IsALBIngress(&tt.ing, tt.classes); got != tt.alb {
				t.Errorf("IsALBIngress = %v, want %v", got, tt.alb)
			}
			r := Discover(Inputs{
				Workload:       workload.OfDeployment(webDeployment()),
				Services:       []corev1.Service{webService()},
				Ingresses:      []networkingv1.Ingress{tt.ing},
				IngressClasses: tt.classes,
			})
			noProblems(t, r)
			if tt.alb {
				equal(t, "load balancer", only(t, r).LoadBalancer, ALB)
			} else if len(r.Attachments) != 0 {
				t.Errorf("want no attachment, got %+v", r.Attachments)
			}
			if tt.warning != "" {
				hasWarning(t, r, "Ingress shop/web", tt.warning)
			} else {
				noWarnings(t, r)
			}
		})
	}
}

func TestMissingClassWarningOnlyWhenRelevant(t *testing.T) {
	other := service("other", map[string]string{"app": "other"}, sport("", 80, intstr.FromInt32(80)))
	r := Discover(Inputs{
		Workload: workload.OfDeployment(webDeployment()),
		Services: []corev1.Service{webService(), other},
		// Neither backend reaches the Workload: workload.OfDeployment(its missing class is not this Deployment's business.)
		Ingresses: []networkingv1.Ingress{withClass(ingress("other", backend("other", 80), backend("gone", 80)), "gone")},
	})
	noWarnings(t, r)
}

func TestIngressBackends(t *testing.T) {
	svc := webService()
	twoPorts := service("web", map[string]string{"app": "web"},
		sport("http", 80, intstr.FromInt32(8080)), sport("admin", 9090, intstr.FromString("admin")))
	dep := testsupport.Deployment(ns, "web", webLabels, testsupport.Container("app", testsupport.Port("http", 8080), testsupport.Port("admin", 9091)))
	type want struct{ service, port, container string }
	tests := []struct {
		name     string
		ing      networkingv1.Ingress
		services []corev1.Service
		want     []want
		warnings [][]string
	}{
		{name: "port number", ing: albIngress("web", backend("web", 80)), want: []want{{"web", "80", "app"}}},
		{name: "port name", ing: albIngress("web", namedBackend("web", "http")), want: []want{{"web", "http", "app"}}},
		{
			name: "default backend",
			ing: func() networkingv1.Ingress {
				ing := albIngress("web")
				b := backend("web", 80)
				ing.Spec.DefaultBackend = &b
				return ing
			}(),
			want: []want{{"web", "80", "app"}},
		},
		{
			name: "use-annotation backend is an action",
			ing:  albIngress("web", namedBackend("web", awslb.UseAnnotation)),
		},
		{
			name: "resource backend is not a Service",
			ing: albIngress("web", networkingv1.IngressBackend{Resource: &corev1.TypedLocalObjectReference{
				Kind: "StorageBucket", Name: "assets",
			}}),
		},
		{
			name: "rule without http",
			ing: func() networkingv1.Ingress {
				ing := albIngress("web")
				ing.Spec.Rules = []networkingv1.IngressRule{{Host: "example.com"}}
				return ing
			}(),
		},
		{
			name:     "missing Service",
			ing:      albIngress("web", backend("web", 80), backend("gone", 80)),
			want:     []want{{"web", "80", "app"}},
			warnings: [][]string{{"Ingress shop/web", "Service shop/gone", "does not exist"}},
		},
		{
			name:     "port number the Service lacks",
			ing:      albIngress("web", backend("web", 8080)),
			warnings: [][]string{{"Ingress shop/web", "port 8080 of Service shop/web", "no such port"}},
		},
		{
			name:     "port name the Service lacks",
			ing:      albIngress("web", namedBackend("web", "https")),
			warnings: [][]string{{"port https of Service shop/web"}},
		},
		{
			name: "same backend twice is one attachment",
			ing:  albIngress("web", backend("web", 80), backend("web", 80)),
			want: []want{{"web", "80", "app"}},
		},
		{
			name: "number and name of the same port are two target groups",
			ing:  albIngress("web", backend("web", 80), namedBackend("web", "http")),
			want: []want{{"web", "80", "app"}, {"web", "http", "app"}},
		},
		{
			name:     "named targetPort",
			ing:      albIngress("web", backend("web", 9090)),
			services: []corev1.Service{twoPorts},
			want:     []want{{"web", "9090", "app"}},
		},
		{
			name:     "Service not selecting the Deployment",
			ing:      albIngress("web", backend("other", 80)),
			services: []corev1.Service{svc, service("other", map[string]string{"app": "other"}, sport("", 80, intstr.FromInt32(80)))},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			services := tt.services
			if services == nil {
				services = []corev1.Service{svc}
			}
			r := Discover(Inputs{Workload: workload.OfDeployment(dep), Services: services, Ingresses: []networkingv1.Ingress{tt.ing}})
			noProblems(t, r)
			var got []want
			for _, a := range r.Attachments {
				got = append(got, want{a.ServiceName, a.ServicePort, a.Container})
			}
			equal(t, "attachments", got, tt.want)
			if len(r.Warnings) != len(tt.warnings) {
				t.Fatalf("want %d warnings, got %q", len(tt.warnings), r.Warnings)
			}
			for _, w := range tt.warnings {
				hasWarning(t, r, w...)
			}
		})
	}
}

func TestTargetPortResolution(t *testing.T) {
	udp := corev1.ContainerPort{Name: "dns", ContainerPort: 53, Protocol: corev1.ProtocolUDP}
	tests := []struct {
		name      string
		dep       []corev1.Container
		init      []corev1.Container
		port      corev1.ServicePort
		container string
		cport     int32
	}{
		{
			name: "number declared by the second container",
			dep:  []corev1.Container{testsupport.Container("proxy", testsupport.Port("proxy", 15001)), testsupport.Container("app", testsupport.Port("", 8080))},
			port: sport("", 80, intstr.FromInt32(8080)), container: "app", cport: 8080,
		},
		{
			name: "number undeclared, one container",
			dep:  []corev1.Container{testsupport.Container("app")},
			port: sport("", 80, intstr.FromInt32(8080)), container: "app", cport: 8080,
		},
		{
			name: "number undeclared, two containers",
			dep:  []corev1.Container{testsupport.Container("app"), testsupport.Container("proxy")},
			port: sport("", 80, intstr.FromInt32(8080)),
		},
		{
			name: "unset targetPort means the port",
			dep:  []corev1.Container{testsupport.Container("proxy"), testsupport.Container("app", testsupport.Port("", 80))},
			port: corev1.ServicePort{Port: 80}, container: "app", cport: 80,
		},
		{
			name: "name",
			dep:  []corev1.Container{testsupport.Container("proxy", testsupport.Port("metrics", 9000)), testsupport.Container("app", testsupport.Port("web", 3000))},
			port: sport("", 80, intstr.FromString("web")), container: "app", cport: 3000,
		},
		{
			name: "name no container declares",
			dep:  []corev1.Container{testsupport.Container("app", testsupport.Port("http", 3000))},
			port: sport("", 80, intstr.FromString("web")),
		},
		{
			name: "name of a port with another protocol",
			dep:  []corev1.Container{testsupport.Container("app", udp)},
			port: sport("", 53, intstr.FromString("dns")),
		},
		{
			name: "init containers do not serve",
			dep:  []corev1.Container{testsupport.Container("app", testsupport.Port("http", 8080))},
			init: []corev1.Container{testsupport.Container("setup", testsupport.Port("web", 3000))},
			port: sport("", 80, intstr.FromString("web")),
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dep := testsupport.Deployment(ns, "web", webLabels, tt.dep...)
			dep.Spec.Template.Spec.InitContainers = tt.init
			svc := service("web", map[string]string{"app": "web"}, tt.port)
			r := Discover(Inputs{
				Workload: workload.OfDeployment(dep), Services: []corev1.Service{svc},
				Ingresses: []networkingv1.Ingress{albIngress("web", backend("web", tt.port.Port))},
			})
			noProblems(t, r)
			a := only(t, r) // recorded even when the port cannot be resolved
			equal(t, "container", a.Container, tt.container)
			equal(t, "container port", a.ContainerPort, tt.cport)
			if tt.container == "" {
				hasWarning(t, r, "Service shop/web", targetPortText(&tt.port), "Deployment shop/web")
			} else {
				noWarnings(t, r)
			}
		})
	}
}

func TestServiceSelectsTemplate(t *testing.T) {
	labels := map[string]string{"app": "web", "tier": "frontend"}
	tests := []struct {
		name string
		svc  corev1.Service
		want bool
	}{
		{"subset", service("s", map[string]string{"app": "web"}), true},
		{"all", service("s", labels), true},
		{"other value", service("s", map[string]string{"app": "api"}), false},
		{"extra key", service("s", map[string]string{"app": "web", "track": "canary"}), false},
		{"empty value must be present", service("s", map[string]string{"canary": ""}), false},
		{"empty selector", service("s", map[string]string{}), false},
		{"nil selector", service("s", nil), false},
		{"ExternalName", func() corev1.Service {
			s := service("s", map[string]string{"app": "web"})
			s.Spec.Type = corev1.ServiceTypeExternalName
			return s
		}(), false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := ServiceSelectsTemplate(&tt.svc, labels); got != tt.want {
				t.Errorf("ServiceSelectsTemplate = %v, want %v", got, tt.want)
			}
			// The field-index helpers must agree: every selector pair among the label pairs.
			pairs := map[string]bool{}
			for _, p := range LabelPairs(labels) {
				pairs[p] = true
			}
			sel := SelectorPairs(&tt.svc)
			all := len(sel) > 0
			for _, p := range sel {
				all = all && pairs[p]
			}
			if all != tt.want {
				t.Errorf("SelectorPairs %q against LabelPairs: match %v, want %v", sel, all, tt.want)
			}
		})
	}
	if ServiceSelectsTemplate(nil, labels) {
		t.Error("nil Service selects")
	}
}

func TestNamespaces(t *testing.T) {
	other := webService()
	other.Namespace = "elsewhere"
	ing := albIngress("web", backend("web", 80))
	otherIng := ing
	otherIng.Namespace = "elsewhere"
	r := Discover(Inputs{
		Workload:  workload.OfDeployment(webDeployment()),
		Services:  []corev1.Service{other},
		Ingresses: []networkingv1.Ingress{ing, otherIng},
	})
	if len(r.Attachments) != 0 {
		t.Errorf("a Service of another namespace attached: %+v", r.Attachments)
	}
	// The Ingress in the Deployment's namespace names a Service missing there.
	hasWarning(t, r, "Ingress shop/web", "Service shop/web", "does not exist")
	for _, w := range r.Warnings {
		if strings.Contains(w, "elsewhere") {
			t.Errorf("warning about another namespace: %q", w)
		}
	}
}

func TestDeterministicOrder(t *testing.T) {
	dep := testsupport.Deployment(ns, "web", webLabels, testsupport.Container("app", testsupport.Port("http", 8080)))
	sel := map[string]string{"app": "web"}
	services := []corev1.Service{
		service("web", sel, sport("http", 80, intstr.FromInt32(8080)), sport("https", 443, intstr.FromInt32(8080))),
		service("api", sel, sport("", 80, intstr.FromInt32(8080))),
		nlbService("edge", sel, awslb.AnnotationNLBType, awslb.NLBTypeExternal),
		nlbService("b-edge", sel, awslb.AnnotationNLBTargetType, "bogus", awslb.AnnotationNLBType, awslb.NLBTypeExternal),
	}
	services[2].Spec.Ports = append(services[2].Spec.Ports, sport("", 80, intstr.FromInt32(8080)))
	services[1].Spec.Type = corev1.ServiceTypeClusterIP // a warning from Ingress alpha
	ingresses := []networkingv1.Ingress{
		albIngress("zeta", backend("web", 443), backend("web", 80)),
		ingAnnotated(albIngress("alpha", namedBackend("web", "https"), backend("api", 80), backend("web", 443)),
			awslb.AnnotationALBHealthCheckPath, "no-slash", awslb.AnnotationALBSuccessCodes, "x"),
		albIngress("mid", backend("missing", 80), backend("web", 80)),
	}
	want := []string{
		"Ingress/alpha/api/80", "Ingress/alpha/web/443", "Ingress/alpha/web/https",
		"Ingress/mid/web/80",
		"Ingress/zeta/web/80", "Ingress/zeta/web/443",
		"Service/b-edge/b-edge/443",
		"Service/edge/edge/80", "Service/edge/edge/443",
	}
	first := Discover(Inputs{Workload: workload.OfDeployment(dep), Services: services, Ingresses: ingresses})
	var got []string
	for _, a := range first.Attachments {
		got = append(got, string(a.SourceKind)+"/"+a.SourceName+"/"+a.ServiceName+"/"+a.ServicePort)
	}
	equal(t, "order", got, want)
	if len(first.Problems) < 3 || len(first.Warnings) < 2 {
		t.Fatalf("the fixture should produce problems and warnings: %+v %q", first.Problems, first.Warnings)
	}

	rng := rand.New(rand.NewPCG(1, 2))
	for i := range 50 {
		s := append([]corev1.Service(nil), services...)
		g := append([]networkingv1.Ingress(nil), ingresses...)
		rng.Shuffle(len(s), func(i, j int) { s[i], s[j] = s[j], s[i] })
		rng.Shuffle(len(g), func(i, j int) { g[i], g[j] = g[j], g[i] })
		again := Discover(Inputs{Workload: workload.OfDeployment(dep), Services: s, Ingresses: g})
		if !reflect.DeepEqual(again, first) {
			t.Fatalf("shuffle %d changed the result:\n%+v\nwant\n%+v", i, again, first)
		}
	}
}

func TestComparePorts(t *testing.T) {
	ports := []string{"https", "8080", "443", "80", "admin"}
	a := make([]Attachment, len(ports))
	for i, p := range ports {
		a[i] = Attachment{SourceKind: SourceIngress, ServicePort: p}
	}
	x := &discoverer{attachments: a}
	var got []string
	for _, att := range x.result().Attachments {
		got = append(got, att.ServicePort)
	}
	equal(t, "ports", got, []string{"80", "443", "8080", "admin", "https"})
}

func TestDiscoverOddInputs(t *testing.T) {
	nilBackendIngress := albIngress("web")
	nilBackendIngress.Spec.Rules = []networkingv1.IngressRule{{IngressRuleValue: networkingv1.IngressRuleValue{
		HTTP: &networkingv1.HTTPIngressRuleValue{Paths: []networkingv1.HTTPIngressPath{{Path: "/"}}},
	}}}
	noPorts := webService()
	noPorts.Spec.Ports = nil
	noLabels := webDeployment()
	noLabels.Spec.Template.Labels = nil
	noContainers := testsupport.Deployment(ns, "web", webLabels)

	tests := []struct {
		name        string
		in          Inputs
		attachments int
	}{
		{"nil deployment", Inputs{Services: []corev1.Service{webService()}}, 0},
		{"nothing else", Inputs{Workload: workload.OfDeployment(webDeployment())}, 0},
		{"path without backend", Inputs{Workload: workload.OfDeployment(webDeployment()), Services: []corev1.Service{webService()},
			Ingresses: []networkingv1.Ingress{nilBackendIngress}}, 0},
		{"Service without ports", Inputs{Workload: workload.OfDeployment(webDeployment()), Services: []corev1.Service{noPorts},
			Ingresses: []networkingv1.Ingress{albIngress("web", backend("web", 80))}}, 0},
		{"template without labels", Inputs{Workload: workload.OfDeployment(noLabels), Services: []corev1.Service{webService()},
			Ingresses: []networkingv1.Ingress{albIngress("web", backend("web", 80))}}, 0},
		{"template without containers", Inputs{Workload: workload.OfDeployment(noContainers), Services: []corev1.Service{webService()},
			Ingresses: []networkingv1.Ingress{albIngress("web", backend("web", 80))}}, 1},
		{"NLB without ports", Inputs{Workload: workload.OfDeployment(webDeployment()), Services: []corev1.Service{func() corev1.Service {
			s := nlbService("web", map[string]string{"app": "web"}, awslb.AnnotationNLBType, awslb.NLBTypeExternal)
			s.Spec.Ports = nil
			return s
		}()}}, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := Discover(tt.in)
			if len(r.Attachments) != tt.attachments {
				t.Errorf("want %d attachments, got %+v", tt.attachments, r.Attachments)
			}
		})
	}
}

func TestHelpers(t *testing.T) {
	t.Run("LabelPairs", func(t *testing.T) {
		equal(t, "pairs", LabelPairs(map[string]string{"tier": "frontend", "app": "web", "empty": ""}),
			[]string{"app=web", "empty=", "tier=frontend"})
		equal(t, "nil", LabelPairs(nil), []string(nil))
	})
	t.Run("SelectorPairs", func(t *testing.T) {
		s := service("s", map[string]string{"b": "2", "a": "1"})
		equal(t, "pairs", SelectorPairs(&s), []string{"a=1", "b=2"})
		s.Spec.Type = corev1.ServiceTypeExternalName
		equal(t, "ExternalName", SelectorPairs(&s), []string(nil))
		equal(t, "nil", SelectorPairs(nil), []string(nil))
	})
	t.Run("IngressBackendServiceNames", func(t *testing.T) {
		ing := albIngress("web", backend("web", 80), namedBackend("actions", awslb.UseAnnotation),
			backend("api", 80), namedBackend("web", "http"))
		def := backend("fallback", 80)
		ing.Spec.DefaultBackend = &def
		equal(t, "names", IngressBackendServiceNames(&ing), []string{"api", "fallback", "web"})
		equal(t, "nil", IngressBackendServiceNames(nil), []string(nil))
	})
	t.Run("IsALBController", func(t *testing.T) {
		for c, want := range map[string]bool{
			awslb.ControllerALB: true, awslb.ControllerEKSAutoALB: true, "k8s.io/ingress-nginx": false, "": false,
			"ingress.k8s.aws/alb/": false,
		} {
			if got := IsALBController(c); got != want {
				t.Errorf("IsALBController(%q) = %v, want %v", c, got, want)
			}
		}
	})
	t.Run("IsALBIngress nil", func(t *testing.T) {
		if IsALBIngress(nil, nil) {
			t.Error("nil Ingress is ALB")
		}
	})
	t.Run("Summary", func(t *testing.T) {
		equal(t, "NLB", Attachment{LoadBalancer: NLB, TargetType: TargetInstance}.Summary(), "NLB/instance")
		equal(t, "ALB", Attachment{LoadBalancer: ALB, TargetType: TargetIP}.Summary(), "ALB/ip")
	})
}
