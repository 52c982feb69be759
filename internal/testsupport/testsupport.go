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

// Package testsupport builds the objects gracefuldrain's tests, benchmarks and
// fault runs share: apps as EKS teams deploy them (a Deployment behind a
// Service and an ALB Ingress), their parts, and a byte source that turns fuzz
// input into choices. Only tests and test programs import it.
package testsupport

import (
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/utils/ptr"

	"github.com/gracefuldrain/gracefuldrain/internal/awslb"
)

// Deployment has 2 replicas, selects labels and stamps them on its pod template.
func Deployment(namespace, name string, labels map[string]string, containers ...corev1.Container) *appsv1.Deployment {
	return &appsv1.Deployment{
		ObjectMeta: metav1.ObjectMeta{Namespace: namespace, Name: name},
		Spec: appsv1.DeploymentSpec{
			Replicas: ptr.To[int32](2),
			Selector: &metav1.LabelSelector{MatchLabels: labels},
			Template: corev1.PodTemplateSpec{
				ObjectMeta: metav1.ObjectMeta{Labels: labels},
				Spec:       corev1.PodSpec{Containers: containers},
			},
		},
	}
}

// Container runs image example/<name> with the given ports.
func Container(name string, ports ...corev1.ContainerPort) corev1.Container {
	return corev1.Container{Name: name, Image: "example/" + name, Ports: ports}
}

// Port is a named TCP container port ("" for an unnamed one).
func Port(name string, n int32) corev1.ContainerPort {
	return corev1.ContainerPort{Name: name, ContainerPort: n, Protocol: corev1.ProtocolTCP}
}

// Service selects selector and sends port 80, named http, to the container
// port named http.
func Service(namespace, name string, selector map[string]string) *corev1.Service {
	return &corev1.Service{
		ObjectMeta: metav1.ObjectMeta{Namespace: namespace, Name: name},
		Spec: corev1.ServiceSpec{
			Selector: selector,
			Ports:    []corev1.ServicePort{{Name: "http", Port: 80, TargetPort: intstr.FromString("http")}},
		},
	}
}

// ALBIngress sends path / to port 80 of service through the AWS Load Balancer
// Controller (kubernetes.io/ingress.class: alb) with the given target type.
func ALBIngress(namespace, name, service, targetType string) *networkingv1.Ingress {
	return &networkingv1.Ingress{
		ObjectMeta: metav1.ObjectMeta{Namespace: namespace, Name: name, Annotations: map[string]string{
			awslb.AnnotationIngressClass:  awslb.IngressClassALB,
			awslb.AnnotationALBTargetType: targetType,
		}},
		Spec: networkingv1.IngressSpec{Rules: []networkingv1.IngressRule{{IngressRuleValue: networkingv1.IngressRuleValue{
			HTTP: &networkingv1.HTTPIngressRuleValue{Paths: []networkingv1.HTTPIngressPath{{
				Path: "/", PathType: ptr.To(networkingv1.PathTypePrefix),
				Backend: networkingv1.IngressBackend{Service: &networkingv1.IngressServiceBackend{
					Name: service, Port: networkingv1.ServiceBackendPort{Number: 80}}},
			}}},
		}}}},
	}
}

// App is a web app as EKS teams deploy it: a Deployment, the Service that
// selects it and an ALB Ingress in front of the Service.
type App struct {
	Deployment *appsv1.Deployment
	Service    *corev1.Service
	Ingress    *networkingv1.Ingress
}

// ALBApp is App name in namespace: one container "app" serving port 8080
// (named http), labelled app=<name>, behind an ALB with ip targets.
func ALBApp(namespace, name string) App {
	labels := map[string]string{"app": name}
	return App{
		Deployment: Deployment(namespace, name, labels, Container("app", Port("http", 8080))),
		Service:    Service(namespace, name, labels),
		Ingress:    ALBIngress(namespace, name, name, awslb.TargetTypeIP),
	}
}

// ByteSource turns fuzz input into choices; past the end it yields zeros,
// so that every input makes a valid (if small) object.
type ByteSource struct {
	b []byte
	i int
}

// NewByteSource reads choices from data.
func NewByteSource(data []byte) *ByteSource { return &ByteSource{b: data} }

// Next is the next byte, 0 past the end.
func (s *ByteSource) Next() byte {
	if s.i >= len(s.b) {
		return 0
	}
	s.i++
	return s.b[s.i-1]
}

// Pick is a choice among n.
func (s *ByteSource) Pick(n int) int { return int(s.Next()) % n }

// Int32 is a number from lo to hi.
func (s *ByteSource) Int32(lo, hi int32) int32 {
	v := int32(s.Next())<<8 | int32(s.Next())
	return lo + v%(hi-lo+1)
}

// PickFrom is one of items.
func PickFrom[T any](s *ByteSource, items ...T) T { return items[s.Pick(len(items))] }
