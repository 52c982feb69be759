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

// Names that Kubernetes and the AWS Load Balancer Controller define and that
// discovery reads. They are kept in this one place so that every rule spells
// them the same way.

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
	albPrefix = "alb.ingress.kubernetes.io/"

	AnnotationALBTargetType             = albPrefix + "target-type"
	AnnotationALBBackendProtocol        = albPrefix + "backend-protocol"
	AnnotationALBBackendProtocolVersion = albPrefix + "backend-protocol-version"
	AnnotationALBHealthCheckProtocol    = albPrefix + "healthcheck-protocol"
	AnnotationALBHealthCheckPort        = albPrefix + "healthcheck-port"
	AnnotationALBHealthCheckPath        = albPrefix + "healthcheck-path"
	AnnotationALBHealthCheckInterval    = albPrefix + "healthcheck-interval-seconds"
	AnnotationALBHealthCheckTimeout     = albPrefix + "healthcheck-timeout-seconds"
	AnnotationALBHealthyThreshold       = albPrefix + "healthy-threshold-count"
	AnnotationALBUnhealthyThreshold     = albPrefix + "unhealthy-threshold-count"
	AnnotationALBSuccessCodes           = albPrefix + "success-codes"
	AnnotationALBTargetGroupAttributes  = albPrefix + "target-group-attributes"

	// AnnotationALBGroupName puts the Ingress in an IngressGroup: every
	// Ingress of the group shares one ALB. Read from the Ingress only.
	AnnotationALBGroupName = albPrefix + "group.name"
)

// NLB annotations and load balancer classes, read from the Service.
const (
	nlbPrefix = "service.beta.kubernetes.io/aws-load-balancer-"

	AnnotationNLBType                  = nlbPrefix + "type"
	AnnotationNLBTargetType            = nlbPrefix + "nlb-target-type"
	AnnotationNLBHealthCheckProtocol   = nlbPrefix + "healthcheck-protocol"
	AnnotationNLBHealthCheckPort       = nlbPrefix + "healthcheck-port"
	AnnotationNLBHealthCheckPath       = nlbPrefix + "healthcheck-path"
	AnnotationNLBHealthCheckInterval   = nlbPrefix + "healthcheck-interval"
	AnnotationNLBHealthCheckTimeout    = nlbPrefix + "healthcheck-timeout"
	AnnotationNLBHealthyThreshold      = nlbPrefix + "healthcheck-healthy-threshold"
	AnnotationNLBUnhealthyThreshold    = nlbPrefix + "healthcheck-unhealthy-threshold"
	AnnotationNLBSuccessCodes          = nlbPrefix + "healthcheck-success-codes"
	AnnotationNLBTargetGroupAttributes = nlbPrefix + "target-group-attributes"
	// AnnotationNLBTargetGroupAttributes + "." + a Service port number sets
	// attributes of that port's target group only, on top of the global
	// annotation (kubernetes-sigs/aws-load-balancer-controller#4338); see
	// NLBPortTargetGroupAttributesKey.

	// NLBTypeExternal and NLBTypeIP are the values of AnnotationNLBType that
	// hand the Service to the AWS Load Balancer Controller (the in-tree
	// cloud provider handles the others).
	NLBTypeExternal = "external"
	NLBTypeIP       = "nlb-ip"

	LoadBalancerClassNLB        = "service.k8s.aws/nlb"
	LoadBalancerClassEKSAutoNLB = "eks.amazonaws.com/nlb"
)

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
