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

// Package awslb holds, in this one place, every name that Kubernetes and the
// AWS Load Balancer Controller define and gracefuldrain reads or writes:
// ingress classes, annotations, labels, target-group attributes, the
// readiness-gate label and condition prefix, and the TargetGroupBinding kind.
// Every rule spells them the same way because they are spelled only here.
package awslb

import "k8s.io/apimachinery/pkg/runtime/schema"

// Ingress classes.
const (
	// AnnotationIngressClass is the legacy class annotation; when present it
	// decides on its own, as it does in the AWS Load Balancer Controller.
	AnnotationIngressClass = "kubernetes.io/ingress.class"
	// IngressClassALB is the AWS Load Balancer Controller's value of AnnotationIngressClass.
	IngressClassALB = "alb"
	// AnnotationIsDefaultIngressClass marks the cluster's default IngressClass.
	AnnotationIsDefaultIngressClass = "ingressclass.kubernetes.io/is-default-class"
	// ControllerALB is the spec.controller of IngressClasses of the AWS Load Balancer Controller.
	ControllerALB = "ingress.k8s.aws/alb"
	// ControllerEKSAutoALB is the spec.controller of EKS Auto Mode's IngressClasses.
	ControllerEKSAutoALB = "eks.amazonaws.com/alb"
	// UseAnnotation as a backend port name makes the backend an action
	// (alb.ingress.kubernetes.io/actions.NAME), not a Service.
	UseAnnotation = "use-annotation"
)

// ALB annotations, read from the backend Service first and then from the Ingress.
const (
	ALBAnnotationPrefix = "alb.ingress.kubernetes.io/"

	AnnotationALBTargetType             = ALBAnnotationPrefix + "target-type"
	AnnotationALBBackendProtocol        = ALBAnnotationPrefix + "backend-protocol"
	AnnotationALBBackendProtocolVersion = ALBAnnotationPrefix + "backend-protocol-version"
	AnnotationALBHealthCheckProtocol    = ALBAnnotationPrefix + "healthcheck-protocol"
	AnnotationALBHealthCheckPort        = ALBAnnotationPrefix + "healthcheck-port"
	AnnotationALBHealthCheckPath        = ALBAnnotationPrefix + "healthcheck-path"
	AnnotationALBHealthCheckInterval    = ALBAnnotationPrefix + "healthcheck-interval-seconds"
	AnnotationALBHealthCheckTimeout     = ALBAnnotationPrefix + "healthcheck-timeout-seconds"
	AnnotationALBHealthyThreshold       = ALBAnnotationPrefix + "healthy-threshold-count"
	AnnotationALBUnhealthyThreshold     = ALBAnnotationPrefix + "unhealthy-threshold-count"
	AnnotationALBSuccessCodes           = ALBAnnotationPrefix + "success-codes"
	AnnotationALBTargetGroupAttributes  = ALBAnnotationPrefix + "target-group-attributes"

	// AnnotationALBGroupName puts the Ingress in an IngressGroup: every
	// Ingress of the group shares one ALB. Read from the Ingress only.
	AnnotationALBGroupName = ALBAnnotationPrefix + "group.name"
)

// NLB annotations and load balancer classes, read from the Service.
const (
	NLBAnnotationPrefix = "service.beta.kubernetes.io/aws-load-balancer-"

	AnnotationNLBType                  = NLBAnnotationPrefix + "type"
	AnnotationNLBTargetType            = NLBAnnotationPrefix + "nlb-target-type"
	AnnotationNLBHealthCheckProtocol   = NLBAnnotationPrefix + "healthcheck-protocol"
	AnnotationNLBHealthCheckPort       = NLBAnnotationPrefix + "healthcheck-port"
	AnnotationNLBHealthCheckPath       = NLBAnnotationPrefix + "healthcheck-path"
	AnnotationNLBHealthCheckInterval   = NLBAnnotationPrefix + "healthcheck-interval"
	AnnotationNLBHealthCheckTimeout    = NLBAnnotationPrefix + "healthcheck-timeout"
	AnnotationNLBHealthyThreshold      = NLBAnnotationPrefix + "healthcheck-healthy-threshold"
	AnnotationNLBUnhealthyThreshold    = NLBAnnotationPrefix + "healthcheck-unhealthy-threshold"
	AnnotationNLBSuccessCodes          = NLBAnnotationPrefix + "healthcheck-success-codes"
	AnnotationNLBTargetGroupAttributes = NLBAnnotationPrefix + "target-group-attributes"
	// AnnotationNLBTargetGroupAttributes + "." + a Service port number sets
	// attributes of that port's target group only, on top of the global
	// annotation (kubernetes-sigs/aws-load-balancer-controller#4338).

	// NLBTypeExternal and NLBTypeIP are the values of AnnotationNLBType that
	// hand the Service to the AWS Load Balancer Controller (the in-tree
	// cloud provider handles the others).
	NLBTypeExternal = "external"
	NLBTypeIP       = "nlb-ip"

	LoadBalancerClassNLB        = "service.k8s.aws/nlb"
	LoadBalancerClassEKSAutoNLB = "eks.amazonaws.com/nlb"
)

// Target types, as the annotations and TargetGroupBinding spec.targetType spell them.
const (
	TargetTypeIP       = "ip"
	TargetTypeInstance = "instance"
)

// Health-check protocols, as the AWS Load Balancer Controller spells them.
const (
	ProtocolHTTP  = "HTTP"
	ProtocolHTTPS = "HTTPS"
	ProtocolTCP   = "TCP"
	ProtocolGRPC  = "GRPC"
)

// TrafficPort is the health-check port value meaning "the port traffic is sent to".
const TrafficPort = "traffic-port"

// Target-group attributes.
const (
	AttributeDeregistrationDelay      = "deregistration_delay.timeout_seconds"
	DefaultDeregistrationDelaySeconds = 300
)

// Labels the AWS Load Balancer Controller puts on the TargetGroupBindings it
// makes for Ingresses (explicit IngressGroup: stack; otherwise
// stack-namespace and stack-name) and for Services (stack-namespace and
// stack-name). See pkg/deploy/tracking in the controller.
const (
	LabelIngressStack          = "ingress.k8s.aws/stack"
	LabelIngressStackNamespace = "ingress.k8s.aws/stack-namespace"
	LabelIngressStackName      = "ingress.k8s.aws/stack-name"
	LabelServiceStackNamespace = "service.k8s.aws/stack-namespace"
	LabelServiceStackName      = "service.k8s.aws/stack-name"
)

// Pod readiness gates: the AWS Load Balancer Controller's pod webhook injects
// a gate per target group into pods created in a namespace with this label,
// and sets the gate's condition once the target is healthy.
const (
	// ReadinessGateInjectLabel is the namespace label that turns injection on.
	ReadinessGateInjectLabel = "elbv2.k8s.aws/pod-readiness-gate-inject"
	// ReadinessGateInjectEnabled is the value that turns injection on.
	ReadinessGateInjectEnabled = "enabled"
	// ReadinessGatePrefix starts the condition type of the gates
	// (target-health.elbv2.k8s.aws/<target group binding>).
	ReadinessGatePrefix = "target-health.elbv2.k8s.aws/"
)

// TargetGroupBinding is the AWS Load Balancer Controller's CRD. It may be
// absent from a cluster; the operator reads it as unstructured data so that
// it does not depend on the controller's Go module.
var TargetGroupBindingGVK = schema.GroupVersionKind{Group: "elbv2.k8s.aws", Version: "v1beta1", Kind: "TargetGroupBinding"}

// TargetGroupBindingCRDName is the name of that CRD.
const TargetGroupBindingCRDName = "targetgroupbindings.elbv2.k8s.aws"
