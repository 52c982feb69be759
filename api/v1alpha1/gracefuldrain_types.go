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

package v1alpha1

import (
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// Mode says whether the operator applies the plan or only reports it.
// +kubebuilder:validation:Enum=enforce;audit
type Mode string

const (
	// ModeEnforce applies the drain plan to the workload.
	ModeEnforce Mode = "enforce"
	// ModeAudit computes and reports the plan and changes nothing.
	ModeAudit Mode = "audit"
	// ModeOff is only a workload annotation value: the workload is not
	// managed and has no GracefulDrain, so it never appears in a status.
	ModeOff Mode = "off"
)

// Condition types. Ready is the summary; the others explain its parts.
const (
	// ConditionReady is True when the plan is in the workload's spec, the rollout
	// carrying it has finished and, for ip targets, the current pods carry the
	// AWS Load Balancer Controller's readiness gate.
	ConditionReady = "Ready"
	// ConditionPlanApplied is True when the workload's pod template carries the plan.
	ConditionPlanApplied = "PlanApplied"
	// ConditionRolledOut is True when the rollout of the current spec has finished.
	ConditionRolledOut = "RolledOut"
	// ConditionReadinessGates is True when new pods get the load balancer's
	// readiness gate, or when no attachment needs one (instance targets).
	ConditionReadinessGates = "ReadinessGates"
	// ConditionHooksProtected is False when a container keeps a custom preStop
	// hook the operator will not replace.
	ConditionHooksProtected = "HooksProtected"
	// ConditionServing is False when the load balancer has no ready pod to send
	// requests to, or containers are being restarted by their liveness probe.
	ConditionServing = "Serving"
	// ConditionConflict is True when another field manager keeps reverting the
	// operator's fields and the operator has stopped re-applying them.
	ConditionConflict = "Conflict"
	// ConditionTargetPorts is False when an attached Service's targetPort
	// matches no container port: the load balancer gets no endpoint there.
	ConditionTargetPorts = "TargetPorts"
)

// Condition reasons (CamelCase, as metav1.Condition requires).
const (
	ReasonProtected              = "Protected"
	ReasonApplied                = "Applied"
	ReasonAlreadyCompliant       = "AlreadyCompliant"
	ReasonAuditOnly              = "AuditOnly"
	ReasonInvalidConfiguration   = "InvalidConfiguration"
	ReasonApplyFailed            = "ApplyFailed"
	ReasonRolloutComplete        = "RolloutComplete"
	ReasonRolloutInProgress      = "RolloutInProgress"
	ReasonGatesInjected          = "GatesInjected"
	ReasonGatesNotNeeded         = "GatesNotNeeded"
	ReasonPodsWithoutGate        = "PodsWithoutGate"
	ReasonGateLabelMissing       = "GateLabelMissing"
	ReasonGateLabelOverridden    = "GateLabelOverridden"
	ReasonNoHooks                = "NoCustomHooks"
	ReasonCustomPreStopHook      = "CustomPreStopHook"
	ReasonPending                = "Pending"
	ReasonPodsCreatedBeforeLabel = "PodsCreatedBeforeLabel"
	ReasonNoGateInjector         = "NoGateInjector"
	ReasonServing                = "Serving"
	ReasonNoReadyPods            = "NoReadyPods"
	ReasonLivenessRestarts       = "LivenessRestarts"
	ReasonScaledToZero           = "ScaledToZero"
	ReasonConflict               = "Conflict"
	ReasonNoConflict             = "NoConflict"
	ReasonTargetPortsResolved    = "TargetPortsResolved"
	ReasonTargetPortUnresolved   = "TargetPortUnresolved"
	// ReasonWaitingForRollout: adoption is next-rollout; the user's next
	// change of the pod template carries the plan.
	ReasonWaitingForRollout = "WaitingForRollout"
)

// GracefulDrain reports, for one workload behind AWS load balancers (a
// Deployment, StatefulSet, DaemonSet or Argo Rollout), which load balancers
// send it traffic, the drain settings they need, and whether the workload is
// protected. The operator creates one per managed workload, with an
// ownerReference to it, and deletes it when the workload leaves management;
// users only read it. A Deployment's GracefulDrain has the Deployment's name;
// another kind's is named <name>-<kind>, e.g. web-statefulset.
// +kubebuilder:object:root=true
// +kubebuilder:subresource:status
// +kubebuilder:resource:shortName=gd,categories=all
// +kubebuilder:printcolumn:name="Kind",type=string,JSONPath=`.status.workload.kind`
// +kubebuilder:printcolumn:name="Workload",type=string,JSONPath=`.status.workload.name`,priority=1
// +kubebuilder:printcolumn:name="Mode",type=string,JSONPath=`.status.mode`
// +kubebuilder:printcolumn:name="Load Balancer",type=string,JSONPath=`.status.loadBalancer`
// +kubebuilder:printcolumn:name="PreStop",type=integer,JSONPath=`.status.plan.preStopSeconds`
// +kubebuilder:printcolumn:name="Grace",type=integer,JSONPath=`.status.plan.terminationGracePeriodSeconds`
// +kubebuilder:printcolumn:name="Ready",type=string,JSONPath=`.status.conditions[?(@.type=="Ready")].status`
// +kubebuilder:printcolumn:name="Reason",type=string,JSONPath=`.status.conditions[?(@.type=="Ready")].reason`
// +kubebuilder:printcolumn:name="Age",type=date,JSONPath=`.metadata.creationTimestamp`
// +kubebuilder:printcolumn:name="Message",type=string,JSONPath=`.status.conditions[?(@.type=="Ready")].message`,priority=1
type GracefulDrain struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata,omitempty"`

	// Spec is empty: the operator derives everything from the workload, its
	// namespace and the load-balancer objects that point at it.
	// +optional
	Spec GracefulDrainSpec `json:"spec,omitempty"`

	// Status is what the operator found, planned and applied.
	// +optional
	Status GracefulDrainStatus `json:"status,omitempty"`
}

// GracefulDrainSpec is empty; it exists so that the object follows the usual
// spec/status shape and can grow user settings later.
type GracefulDrainSpec struct{}

// GracefulDrainStatus is the operator's report for one workload: what it found,
// what it plans, what it changed, and whether the workload is protected.
type GracefulDrainStatus struct {
	// ObservedGeneration is the GracefulDrain generation this status was written for.
	// +optional
	ObservedGeneration int64 `json:"observedGeneration,omitempty"`

	// Workload is the workload this GracefulDrain reports on (its owner).
	// +optional
	Workload *WorkloadReference `json:"workload,omitempty"`

	// WorkloadGeneration is the workload's metadata.generation this status
	// describes (for an Argo Rollout with workloadRef, the Rollout's).
	// +optional
	WorkloadGeneration int64 `json:"workloadGeneration,omitempty"`

	// Mode in force for the workload: enforce applies the plan, audit only reports it.
	// +optional
	Mode Mode `json:"mode,omitempty"`

	// LoadBalancer summarises the attachments, for example "ALB/ip" or "ALB/ip,NLB/instance".
	// +optional
	LoadBalancer string `json:"loadBalancer,omitempty"`

	// Attachments are the paths from AWS load balancers to the workload's pods.
	// +optional
	// +listType=atomic
	Attachments []Attachment `json:"attachments,omitempty"`

	// Plan is the drain settings computed for the workload.
	// +optional
	Plan *DrainPlan `json:"plan,omitempty"`

	// Reverts tracks another field manager undoing the operator's fields, so
	// that the operator stops re-applying after a few reverts instead of
	// fighting it into endless rollouts.
	// +optional
	Reverts *RevertStatus `json:"reverts,omitempty"`

	// Conditions explain the state. Ready is the summary that
	// `kubectl wait --for=condition=Ready` uses: True when the plan is in the
	// pod template, the rollout carrying it has finished and, for ip targets,
	// every current pod carries the load balancer's readiness gate. The others
	// explain its parts: PlanApplied, RolledOut, ReadinessGates,
	// HooksProtected, Serving, Conflict (True is bad) and TargetPorts.
	// +optional
	// +listType=map
	// +listMapKey=type
	// +patchStrategy=merge
	// +patchMergeKey=type
	Conditions []metav1.Condition `json:"conditions,omitempty" patchStrategy:"merge" patchMergeKey:"type"`
}

// WorkloadReference names the workload a GracefulDrain reports on, in its namespace.
type WorkloadReference struct {
	// APIVersion of the workload, e.g. apps/v1 or argoproj.io/v1alpha1.
	APIVersion string `json:"apiVersion"`
	// Kind is Deployment, StatefulSet, DaemonSet or Rollout.
	Kind string `json:"kind"`
	// Name of the workload.
	Name string `json:"name"`
	// TemplateFrom names the object that holds the pod template when it is
	// not the workload itself: an Argo Rollout's workloadRef Deployment, which
	// is where the drain settings go.
	// +optional
	TemplateFrom string `json:"templateFrom,omitempty"`
}

// RevertStatus counts the times another field manager reverted the operator's fields.
type RevertStatus struct {
	// Count of reverts since FirstTime.
	// +optional
	Count int32 `json:"count,omitempty"`
	// Manager is the field manager that reverted the fields last (from managedFields).
	// +optional
	Manager string `json:"manager,omitempty"`
	// FirstTime is when the first revert of this series was seen.
	// +optional
	FirstTime *metav1.Time `json:"firstTime,omitempty"`
	// LastTime is when the last revert was seen.
	// +optional
	LastTime *metav1.Time `json:"lastTime,omitempty"`
	// RetryToken is the value of the gracefuldrain.io/retry annotation already
	// acted on; setting the annotation to a new value makes the operator try again.
	// +optional
	RetryToken string `json:"retryToken,omitempty"`
}

// Attachment is one path from an AWS load balancer to the workload's pods.
type Attachment struct {
	// LoadBalancer is ALB, NLB, or TargetGroup (a TargetGroupBinding to a target
	// group made outside Kubernetes, whose load balancer is not known).
	LoadBalancer string `json:"loadBalancer"`
	// Source is the object that attaches the Service to the load balancer.
	Source ObjectReference `json:"source"`
	// Group is the IngressGroup (alb.ingress.kubernetes.io/group.name) sharing the ALB.
	// +optional
	Group string `json:"group,omitempty"`
	// Service is the Service whose endpoints are the targets.
	Service string `json:"service"`
	// ServicePort is the Service port, by number or name, as the source names it.
	// +optional
	ServicePort string `json:"servicePort,omitempty"`
	// TargetType is ip (pods registered by IP) or instance (nodes, through kube-proxy).
	TargetType string `json:"targetType"`
	// Container serves the Service's targetPort; empty when no container declares it.
	// +optional
	Container string `json:"container,omitempty"`
	// ContainerPort is the container port the targetPort resolves to; 0 when unresolved.
	// +optional
	ContainerPort int32 `json:"containerPort,omitempty"`
	// HealthCheck is the target group's health check (annotations, else AWS defaults).
	HealthCheck HealthCheck `json:"healthCheck"`
	// DeregistrationDelaySeconds is the target group's deregistration_delay.timeout_seconds.
	DeregistrationDelaySeconds int32 `json:"deregistrationDelaySeconds"`
}

// ObjectReference names an object in the workload's namespace.
type ObjectReference struct {
	// Kind is Ingress, Service or TargetGroupBinding.
	Kind string `json:"kind"`
	// Name of the object.
	Name string `json:"name"`
}

// HealthCheck is a target group's health check.
type HealthCheck struct {
	// Protocol is HTTP, HTTPS, TCP or GRPC.
	Protocol string `json:"protocol"`
	// Path is the HTTP(S) or gRPC path; empty for TCP.
	// +optional
	Path string `json:"path,omitempty"`
	// Port is "traffic-port" or a port number.
	Port string `json:"port"`
	// IntervalSeconds between checks.
	IntervalSeconds int32 `json:"intervalSeconds"`
	// TimeoutSeconds of one check.
	TimeoutSeconds int32 `json:"timeoutSeconds"`
	// HealthyThreshold is the number of passes before a target is healthy.
	HealthyThreshold int32 `json:"healthyThreshold"`
	// UnhealthyThreshold is the number of failures before a target is unhealthy.
	UnhealthyThreshold int32 `json:"unhealthyThreshold"`
	// SuccessCodes the load balancer accepts; empty for TCP.
	// +optional
	SuccessCodes string `json:"successCodes,omitempty"`
}

// DrainPlan is the drain settings for the workload.
type DrainPlan struct {
	// PreStopSeconds is the preStop sleep of every regular container: the time
	// the load balancer needs to stop sending new requests to a terminating pod.
	PreStopSeconds int32 `json:"preStopSeconds"`
	// SleepMethod is Sleep (lifecycle.preStop.sleep: the kubelet sleeps, so it
	// works on images without /bin/sleep; needs the API server and every
	// kubelet at 1.30 or newer) or Exec (exec sleep N) for new hooks. A sleep
	// the operator set earlier keeps its form.
	SleepMethod string `json:"sleepMethod"`
	// SleepMethodReason says why: the versions of the API server and the
	// nodes' kubelets, or the --sleep-method flag.
	// +optional
	SleepMethodReason string `json:"sleepMethodReason,omitempty"`
	// ShutdownSeconds is the time left to the app after the sleep to finish in-flight requests.
	ShutdownSeconds int32 `json:"shutdownSeconds"`
	// TerminationGracePeriodSeconds is max(current, preStop + shutdown); never lowered.
	TerminationGracePeriodSeconds int32 `json:"terminationGracePeriodSeconds"`
	// ReadinessGateLabel is true when the namespace needs
	// elbv2.k8s.aws/pod-readiness-gate-inject=enabled (some attachment has ip targets).
	ReadinessGateLabel bool `json:"readinessGateLabel"`
	// Containers is the plan per regular container.
	// +optional
	// +listType=map
	// +listMapKey=name
	Containers []ContainerPlan `json:"containers,omitempty"`
}

// ContainerPlan is what the plan does to one regular container.
type ContainerPlan struct {
	// Name of the container.
	Name string `json:"name"`
	// PreStop is Set (operator's sleep), Raise (a shorter sleep raised), Keep
	// (a long enough sleep left alone) or Custom (another hook, never replaced).
	PreStop string `json:"preStop"`
	// ExistingPreStop describes the hook found before the plan, if any.
	// +optional
	ExistingPreStop string `json:"existingPreStop,omitempty"`
	// ReadinessProbe is Derive (from the health check), Keep (the user's),
	// NotServing (serves no target port) or Leave (turned off by annotation).
	ReadinessProbe string `json:"readinessProbe"`
}

// +kubebuilder:object:root=true

// GracefulDrainList contains a list of GracefulDrain.
type GracefulDrainList struct {
	metav1.TypeMeta `json:",inline"`
	metav1.ListMeta `json:"metadata,omitempty"`
	Items           []GracefulDrain `json:"items"`
}

func init() {
	SchemeBuilder.Register(&GracefulDrain{}, &GracefulDrainList{})
}
