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

// Package discovery decides, from plain Kubernetes objects and without a client,
// which AWS load balancers send traffic to a Deployment's pods and with what
// target type, health check and deregistration delay.
package discovery

import (
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	"k8s.io/apimachinery/pkg/util/intstr"

	gdv1 "github.com/gracefuldrain/gracefuldrain/api/v1alpha1"
	"github.com/gracefuldrain/gracefuldrain/internal/awslb"
	"github.com/gracefuldrain/gracefuldrain/internal/invalid"
	"github.com/gracefuldrain/gracefuldrain/internal/workload"
)

// LoadBalancer is the kind of AWS load balancer in front of a target group.
type LoadBalancer string

const (
	ALB LoadBalancer = "ALB"
	NLB LoadBalancer = "NLB"
	// TargetGroup is a target group made outside Kubernetes and bound to a
	// Service by a TargetGroupBinding: the kind of load balancer in front of
	// it (ALB or NLB) and its health check are not visible to discovery.
	TargetGroup LoadBalancer = "TargetGroup"
)

// TargetType is how the target group registers pods: by pod IP or by node (instance).
type TargetType string

const (
	TargetIP       TargetType = awslb.TargetTypeIP
	TargetInstance TargetType = awslb.TargetTypeInstance
)

// SourceKind is the kind of object that attaches a Service to a load balancer.
type SourceKind string

const (
	SourceIngress            SourceKind = "Ingress"
	SourceService            SourceKind = "Service"
	SourceTargetGroupBinding SourceKind = "TargetGroupBinding"
)

// Attachment is one path from a load balancer to the Deployment's pods.
type Attachment struct {
	LoadBalancer LoadBalancer
	SourceKind   SourceKind
	SourceName   string // the Ingress, Service or TargetGroupBinding name
	// Group is the IngressGroup (alb.ingress.kubernetes.io/group.name) whose
	// shared ALB the source belongs to; empty when the Ingress has its own ALB.
	Group       string
	ServiceName string
	ServicePort string // the Service port as the source names it: a number or a port name
	TargetType  TargetType
	// HealthCheck is the target group's health check after annotations and AWS defaults.
	HealthCheck gdv1.HealthCheck
	// DeregistrationDelaySeconds is target-group attribute deregistration_delay.timeout_seconds (AWS default 300).
	DeregistrationDelaySeconds int32
	// Container and ContainerPort are the regular container and port that serve the
	// Service's targetPort; empty and 0 when the targetPort cannot be resolved.
	Container     string
	ContainerPort int32
}

// TargetGroupBinding is the part of an elbv2.k8s.aws/v1beta1 TargetGroupBinding
// that discovery reads (the operator reads the CRD as unstructured data, so
// it does not depend on the AWS Load Balancer Controller's Go types).
type TargetGroupBinding struct {
	Namespace   string
	Name        string
	ServiceName string             // spec.serviceRef.name
	ServicePort intstr.IntOrString // spec.serviceRef.port
	TargetType  TargetType         // spec.targetType; "" when unset
	// Labels are metadata.labels. The AWS Load Balancer Controller labels the
	// bindings it makes for its own Ingresses and Services (see
	// MadeForIngressOrService); discovery leaves those to rules 1 and 2.
	Labels map[string]string
}

// Inputs is everything in the workload's namespace (and the cluster's
// IngressClasses) that discovery looks at. Slices may hold unrelated objects.
type Inputs struct {
	Workload       workload.Workload
	Services       []corev1.Service
	Ingresses      []networkingv1.Ingress
	IngressClasses []networkingv1.IngressClass
	// TargetGroupBindings is empty when the CRD is not installed.
	TargetGroupBindings []TargetGroupBinding
}

// Result is what discovery found for one workload.
type Result struct {
	// Attachments in a stable order (source kind, source name, service, port).
	Attachments []Attachment
	// Problems make the Deployment's configuration invalid (reason InvalidConfiguration).
	Problems []invalid.Setting
	// UnresolvedTargetPorts names each attached Service port whose targetPort
	// no container declares, e.g. `Service web port 80 targetPort "metrics"`.
	UnresolvedTargetPorts []string
	// Warnings are facts a person should know that do not stop the plan, for
	// example a targetPort name that matches no container port.
	Warnings []string
}
