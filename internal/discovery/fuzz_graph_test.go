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
	"reflect"
	"strconv"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"

	"github.com/gracefuldrain/gracefuldrain/internal/awslb"
	"github.com/gracefuldrain/gracefuldrain/internal/slim"
	"github.com/gracefuldrain/gracefuldrain/internal/testsupport"
	"github.com/gracefuldrain/gracefuldrain/internal/workload"
)

// Small pools, so that random graphs often connect: names, labels and
// annotation values collide on purpose. raw is the fuzzer's own string.
var (
	graphNames     = []string{"web", "api", "missing", ""}
	graphPortNames = []string{"http", "grpc", "", "nope", awslb.UseAnnotation}
	graphLabels    = []map[string]string{nil, {}, {"app": "web"}, {"app": "api"}, {"app": "web", "tier": "frontend"}, {"tier": "frontend"}}
	graphClasses   = []string{"alb", "nginx", "eks", "gone", ""}
)

func graphValue(s *testsupport.ByteSource, raw string) string {
	return testsupport.PickFrom(s, raw, "", "ip", "instance", "HTTP", "https", "TCP", "GRPC", "HTTP2", "/", "/healthz", "healthz",
		"traffic-port", "http", "8080", "0", "-1", "1.5", "99999999999", "15", "5", "300", "200-299", "12",
		"deregistration_delay.timeout_seconds=30", "deregistration_delay.timeout_seconds=x", "=", "a", "external", "nlb-ip")
}

var graphKeys = append(append([]string{}, allKeys...), awslb.AnnotationNLBType, awslb.AnnotationIngressClass)

func graphAnnotations(s *testsupport.ByteSource, raw string) map[string]string {
	n := s.Pick(4)
	if n == 0 {
		return nil
	}
	m := map[string]string{}
	for range n {
		m[testsupport.PickFrom(s, graphKeys...)] = graphValue(s, raw)
	}
	return m
}

func graphService(s *testsupport.ByteSource, raw string) corev1.Service {
	svc := corev1.Service{
		ObjectMeta: metav1.ObjectMeta{Name: testsupport.PickFrom(s, append(graphNames, "web", "web", "web")...), Namespace: testsupport.PickFrom(s, ns, ns, ns, "other", ""), Annotations: graphAnnotations(s, raw)},
		Spec: corev1.ServiceSpec{
			Selector: testsupport.PickFrom(s, append(graphLabels, map[string]string{"app": "web"}, map[string]string{"app": "web"})...),
			Type:     testsupport.PickFrom(s, corev1.ServiceTypeClusterIP, corev1.ServiceTypeNodePort, corev1.ServiceTypeLoadBalancer, corev1.ServiceTypeExternalName, ""),
		},
	}
	if s.Pick(4) == 0 {
		svc.Spec.LoadBalancerClass = testsupport.PickFrom(s, &[]string{awslb.LoadBalancerClassNLB}[0], &[]string{"other"}[0], &[]string{""}[0])
	}
	if s.Pick(4) == 0 {
		svc.Spec.ExternalTrafficPolicy = corev1.ServiceExternalTrafficPolicyLocal
		svc.Spec.HealthCheckNodePort = int32(s.Pick(3)) * 30000
	}
	for range 1 + s.Pick(3) {
		sp := corev1.ServicePort{
			Name:     testsupport.PickFrom(s, graphPortNames...),
			Port:     testsupport.PickFrom[int32](s, 80, 80, 80, 443, 8080, 0, 9090),
			Protocol: testsupport.PickFrom(s, corev1.ProtocolTCP, "", corev1.ProtocolUDP),
			NodePort: testsupport.PickFrom[int32](s, 0, 30080),
		}
		switch s.Pick(4) {
		case 0:
			sp.TargetPort = intstr.FromInt32(testsupport.PickFrom[int32](s, 8080, 9090, 0, 1))
		case 1:
			sp.TargetPort = intstr.FromString(testsupport.PickFrom(s, graphPortNames...))
		case 2:
			sp.TargetPort = intstr.Parse(raw)
		}
		svc.Spec.Ports = append(svc.Spec.Ports, sp)
	}
	return svc
}

func graphBackend(s *testsupport.ByteSource, raw string) networkingv1.IngressBackend {
	if s.Pick(12) == 0 {
		return networkingv1.IngressBackend{} // resource backend or empty
	}
	b := &networkingv1.IngressServiceBackend{Name: testsupport.PickFrom(s, append(graphNames, "web", "web")...)}
	switch s.Pick(4) {
	case 0:
		b.Port.Number = testsupport.PickFrom[int32](s, 80, 443, 8080, 0)
	case 1:
		b.Port.Name = testsupport.PickFrom(s, graphPortNames...)
	case 2:
		b.Port.Name = raw
	default:
		b.Port.Number = 80
	}
	return networkingv1.IngressBackend{Service: b}
}

func graphIngress(s *testsupport.ByteSource, raw string) networkingv1.Ingress {
	ing := networkingv1.Ingress{ObjectMeta: metav1.ObjectMeta{
		Name: testsupport.PickFrom(s, "web", "api", "x"), Namespace: testsupport.PickFrom(s, ns, ns, "other", ""), Annotations: graphAnnotations(s, raw),
	}}
	if s.Pick(2) == 0 {
		if ing.Annotations == nil {
			ing.Annotations = map[string]string{}
		}
		ing.Annotations[awslb.AnnotationIngressClass] = awslb.IngressClassALB
	}
	if s.Pick(3) == 0 {
		c := testsupport.PickFrom(s, graphClasses...)
		ing.Spec.IngressClassName = &c
	}
	if s.Pick(3) == 0 {
		b := graphBackend(s, raw)
		ing.Spec.DefaultBackend = &b
	}
	for range 1 + s.Pick(2) {
		rule := networkingv1.IngressRule{}
		if s.Pick(4) != 0 {
			rule.HTTP = &networkingv1.HTTPIngressRuleValue{}
			for range 1 + s.Pick(2) {
				rule.HTTP.Paths = append(rule.HTTP.Paths, networkingv1.HTTPIngressPath{Path: "/", Backend: graphBackend(s, raw)})
			}
		}
		ing.Spec.Rules = append(ing.Spec.Rules, rule)
	}
	return ing
}

func graphDeployment(s *testsupport.ByteSource, raw string) *appsv1.Deployment {
	d := &appsv1.Deployment{
		ObjectMeta: metav1.ObjectMeta{Name: "web", Namespace: testsupport.PickFrom(s, ns, ns, "")},
		Spec: appsv1.DeploymentSpec{Template: corev1.PodTemplateSpec{
			ObjectMeta: metav1.ObjectMeta{Labels: testsupport.PickFrom(s, append(graphLabels, webLabels, webLabels, webLabels, webLabels)...)},
		}},
	}
	for i := range 1 + s.Pick(3) {
		c := corev1.Container{Name: testsupport.PickFrom(s, "app", "side", "app", "proxy") + strconv.Itoa(i)}
		for range s.Pick(3) {
			c.Ports = append(c.Ports, corev1.ContainerPort{
				Name:          testsupport.PickFrom(s, graphPortNames[0], graphPortNames[1], graphPortNames[2], raw),
				ContainerPort: testsupport.PickFrom[int32](s, 8080, 9090, 80, 1),
				Protocol:      testsupport.PickFrom(s, corev1.ProtocolTCP, "", corev1.ProtocolUDP),
			})
		}
		d.Spec.Template.Spec.Containers = append(d.Spec.Template.Spec.Containers, c)
	}
	if s.Pick(3) == 0 {
		d.Spec.Template.Spec.InitContainers = []corev1.Container{{Name: "init", Ports: []corev1.ContainerPort{{Name: "http", ContainerPort: 8080}}}}
	}
	return d
}

// RandomGraph builds a Deployment and a random namespace of Services,
// Ingresses and IngressClasses from fuzz bytes (also used by plan's fuzz test
// through its own copy: packages cannot share test helpers).
func randomGraph(data []byte, raw string) Inputs {
	s := testsupport.NewByteSource(data)
	in := Inputs{Workload: workload.OfDeployment(graphDeployment(s, raw))}
	for range 1 + s.Pick(4) {
		in.Services = append(in.Services, graphService(s, raw))
	}
	for range 1 + s.Pick(3) {
		in.Ingresses = append(in.Ingresses, graphIngress(s, raw))
	}
	for range s.Pick(4) {
		name := testsupport.PickFrom(s, graphClasses...)
		ctrl := testsupport.PickFrom(s, awslb.ControllerALB, awslb.ControllerEKSAutoALB, "k8s.io/ingress-nginx", "", raw)
		c := ingressClass(name, ctrl, s.Pick(2) == 0)
		c.CreationTimestamp = metav1.Unix(int64(s.Pick(3)), 0)
		in.IngressClasses = append(in.IngressClasses, c)
	}
	return in
}

// FuzzDiscoverGraph runs Discover over random object graphs and checks: it
// never panics and never modifies its input; the result is deterministic;
// every attachment goes through a Service of the Deployment's namespace that
// selects its pod template, to a regular container that really serves the
// port; every value is in the AWS ranges; every Problem names object, key
// and value. Run: go test -fuzz FuzzDiscoverGraph ./internal/discovery/
func FuzzDiscoverGraph(f *testing.F) {
	f.Add([]byte{}, "")
	f.Add([]byte{1, 4, 1, 1, 2, 0, 0, 0, 1, 2, 1, 0, 1, 1, 1, 2, 3, 1, 0, 1, 2, 3, 4, 5, 6, 7}, "http")
	f.Add([]byte("\x02\x04\x03\x02\x01\x00\x00\x01\x02\x03\x04\x05\x06\x07\x08\x09\x0a\x0b\x0c\x0d\x0e\x0f"), "8080")
	f.Add([]byte("the quick brown fox jumps over the lazy dog, several times over, to fill a graph"), "-1")
	f.Add([]byte{255, 254, 253, 252, 251, 250, 249, 248, 247, 246, 245, 244, 243, 242, 241, 240, 239, 238}, "traffic-port")
	for i := range 8 {
		seed := make([]byte, 64)
		for j := range seed {
			seed[j] = byte((i*31 + j*7) % 251)
		}
		f.Add(seed, []string{"", "http", "a=b", "1.5", "ip", "/x", "use-annotation", "ø"}[i])
	}
	f.Fuzz(func(t *testing.T, data []byte, raw string) {
		in := randomGraph(data, raw)
		before := deepCopyInputs(in)
		r := Discover(in)
		if !reflect.DeepEqual(before, in) {
			t.Fatal("Discover modified its input")
		}
		if again := Discover(in); !reflect.DeepEqual(r, again) {
			t.Fatalf("not deterministic:\n%+v\n%+v", r, again)
		}
		if cached := Discover(asCached(in)); !reflect.DeepEqual(r, cached) {
			t.Fatalf("differs on the cached (slim) objects:\n%+v\n%+v", r, cached)
		}
		d := in.Workload
		for _, a := range r.Attachments {
			checkAttachment(t, a)
			var svc *corev1.Service
			for i := range in.Services {
				s := &in.Services[i]
				if s.Name == a.ServiceName && (s.Namespace == "" || d.Namespace == "" || s.Namespace == d.Namespace) {
					svc = s
					break // discovery keeps the first of duplicate names
				}
			}
			if svc == nil || !ServiceSelectsTemplate(svc, d.Template.Labels) {
				t.Fatalf("attachment through Service %q, which does not select the template: %+v", a.ServiceName, a)
			}
			if a.Container != "" {
				found := false
				for _, c := range d.Containers() {
					if c.Name != a.Container {
						continue
					}
					found = len(d.Containers()) == 1
					for _, p := range c.Ports {
						found = found || p.ContainerPort == a.ContainerPort
					}
				}
				if !found || a.ContainerPort == 0 {
					t.Fatalf("attachment to container %q port %d, which does not serve it: %+v", a.Container, a.ContainerPort, a)
				}
			}
		}
		for _, p := range r.Problems {
			if p.Object == "" || p.Key == "" || p.Message == "" {
				t.Fatalf("problem without object, key or message: %+v", p)
			}
		}
	})
}

// asCached is what the reconciler hands Discover: copies of the objects as
// the informer cache keeps them, after the operator's transforms.
func asCached(in Inputs) Inputs {
	out := deepCopyInputs(in)
	cut := slim.Chain(slim.KeepOwnManagedFields("gracefuldrain"), slim.DropUnread)
	must := func(_ any, err error) {
		if err != nil {
			panic(err)
		}
	}
	d := deploymentOf(out.Workload)
	must(cut(d))
	out.Workload = workload.OfDeployment(d)
	for i := range out.Services {
		must(cut(&out.Services[i]))
	}
	for i := range out.Ingresses {
		must(cut(&out.Ingresses[i]))
	}
	for i := range out.IngressClasses {
		must(cut(&out.IngressClasses[i]))
	}
	return out
}

// deploymentOf is the Deployment a workload view was made of (the graphs
// are Deployments), for the cache transforms and DeepCopy, which take objects.
func deploymentOf(w workload.Workload) *appsv1.Deployment {
	return &appsv1.Deployment{
		ObjectMeta: metav1.ObjectMeta{Namespace: w.Namespace, Name: w.Name, Generation: w.Generation,
			Annotations: w.Annotations, ManagedFields: w.ManagedFields},
		Spec: appsv1.DeploymentSpec{Replicas: w.Replicas, Template: *w.Template},
	}
}

func deepCopyInputs(in Inputs) Inputs {
	out := Inputs{Workload: workload.OfDeployment(deploymentOf(in.Workload).DeepCopy())}
	for i := range in.Services {
		out.Services = append(out.Services, *in.Services[i].DeepCopy())
	}
	for i := range in.Ingresses {
		out.Ingresses = append(out.Ingresses, *in.Ingresses[i].DeepCopy())
	}
	for i := range in.IngressClasses {
		out.IngressClasses = append(out.IngressClasses, *in.IngressClasses[i].DeepCopy())
	}
	return out
}

// TestRandomGraphsConnect guards the fuzz target against exploring only
// disconnected graphs: a good share of random inputs must reach attachments,
// problems and warnings.
func TestRandomGraphsConnect(t *testing.T) {
	var withAttachments, withProblems, withWarnings int
	const n = 3000
	for i := range n {
		data := make([]byte, 96)
		x := uint32(i*2654435761 + 1)
		for j := range data {
			x ^= x << 13
			x ^= x >> 17
			x ^= x << 5
			data[j] = byte(x)
		}
		in := randomGraph(data, "http")
		r := Discover(in)
		if cached := Discover(asCached(in)); !reflect.DeepEqual(r, cached) {
			t.Fatalf("graph %d: discovery differs on the cached (slim) objects:\n%+v\n%+v", i, r, cached)
		}
		if len(r.Attachments) > 0 {
			withAttachments++
		}
		if len(r.Problems) > 0 {
			withProblems++
		}
		if len(r.Warnings) > 0 {
			withWarnings++
		}
	}
	t.Logf("random graphs: %d of %d with attachments, %d with problems, %d with warnings", withAttachments, n, withProblems, withWarnings)
	if withAttachments < n/40 || withProblems < n/200 || withWarnings < n/200 {
		t.Fatalf("random graphs too rarely connect: %d attachments, %d problems, %d warnings of %d", withAttachments, withProblems, withWarnings, n)
	}
}
