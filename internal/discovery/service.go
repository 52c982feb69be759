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
	"slices"
	"strconv"
	"strings"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/util/intstr"

	gdv1 "github.com/gracefuldrain/gracefuldrain/api/v1alpha1"
	"github.com/gracefuldrain/gracefuldrain/internal/awslb"
)

// ServiceSelectsTemplate reports whether svc sends traffic to pods with
// templateLabels: its selector is non-empty and every pair of it is in the
// labels. ExternalName Services select nothing.
func ServiceSelectsTemplate(svc *corev1.Service, templateLabels map[string]string) bool {
	if svc == nil || svc.Spec.Type == corev1.ServiceTypeExternalName || len(svc.Spec.Selector) == 0 {
		return false
	}
	for k, v := range svc.Spec.Selector {
		if got, ok := templateLabels[k]; !ok || got != v {
			return false
		}
	}
	return true
}

// SelectorPairs returns the "key=value" pairs of the Service's selector,
// sorted, for a field index on Services; nil when the Service selects nothing.
// A Deployment is selected only if its LabelPairs contain every one of them.
func SelectorPairs(svc *corev1.Service) []string {
	if svc == nil || svc.Spec.Type == corev1.ServiceTypeExternalName || len(svc.Spec.Selector) == 0 {
		return nil
	}
	return LabelPairs(svc.Spec.Selector)
}

// LabelPairs returns the "key=value" pairs of labels, sorted, for a field
// index on Deployments' pod-template labels.
func LabelPairs(labels map[string]string) []string {
	if len(labels) == 0 {
		return nil
	}
	pairs := make([]string, 0, len(labels))
	for k, v := range labels {
		pairs = append(pairs, k+"="+v)
	}
	slices.Sort(pairs)
	return pairs
}

// IsNLBService reports whether the AWS Load Balancer Controller makes an NLB
// for svc. A loadBalancerClass, when set, decides on its own: the controller
// leaves Services of other classes alone whatever their annotations say.
func IsNLBService(svc *corev1.Service) bool {
	if svc == nil || svc.Spec.Type != corev1.ServiceTypeLoadBalancer {
		return false
	}
	if c := svc.Spec.LoadBalancerClass; c != nil && *c != "" {
		return *c == awslb.LoadBalancerClassNLB || *c == awslb.LoadBalancerClassEKSAutoNLB
	}
	t := svc.Annotations[awslb.AnnotationNLBType]
	return t == awslb.NLBTypeExternal || t == awslb.NLBTypeIP
}

// nlbServices is rule 2: a selecting Service that is itself an NLB gives one
// attachment per Service port.
func (x *discoverer) nlbServices() {
	for _, svc := range x.selecting {
		if !IsNLBService(svc) {
			continue
		}
		r := annotationReader{layers: []layer{{object: "Service " + svcKey(svc), annotations: svc.Annotations}}, problems: &x.problems}
		tt := nlbTargetType(r, svc)
		hc := nlbHealthCheck(r, svc, tt)
		delay := r.deregistrationDelay(awslb.AnnotationNLBTargetGroupAttributes)
		perPort := x.checkPortAttributes(svc)
		for i := range svc.Spec.Ports {
			sp := &svc.Spec.Ports[i]
			portDelay := delay
			if perPort {
				// Per-port attributes override the global ones key by key.
				portDelay = r.deregistrationDelayOver(NLBPortTargetGroupAttributesKey(sp.Port), delay, true)
			}
			x.attach(Attachment{
				LoadBalancer:               NLB,
				SourceKind:                 SourceService,
				SourceName:                 svc.Name,
				ServiceName:                svc.Name,
				ServicePort:                strconv.Itoa(int(sp.Port)),
				TargetType:                 tt,
				HealthCheck:                hc,
				DeregistrationDelaySeconds: portDelay,
			}, svc, sp)
		}
	}
}

// NLBPortTargetGroupAttributesKey is the annotation that sets target-group
// attributes for one Service port of an NLB Service, for example
// service.beta.kubernetes.io/aws-load-balancer-target-group-attributes.443.
// Its attributes override those of awslb.AnnotationNLBTargetGroupAttributes one by
// one; an attribute it does not set, or sets to an empty value, keeps the
// global value (kubernetes-sigs/aws-load-balancer-controller#4338).
func NLBPortTargetGroupAttributesKey(port int32) string {
	return awslb.AnnotationNLBTargetGroupAttributes + "." + strconv.Itoa(int(port))
}

// checkPortAttributes reports whether svc has per-port
// target-group-attributes annotations, and warns about those that name no
// port of svc: the AWS Load Balancer Controller ignores them, so what they
// say does not happen. The suffix must be a port number, not a port name.
func (x *discoverer) checkPortAttributes(svc *corev1.Service) (found bool) {
	prefix := awslb.AnnotationNLBTargetGroupAttributes + "."
	for k := range svc.Annotations {
		suffix, ok := strings.CutPrefix(k, prefix)
		if !ok {
			continue
		}
		found = true
		used := false
		for i := range svc.Spec.Ports {
			used = used || suffix == strconv.Itoa(int(svc.Spec.Ports[i].Port))
		}
		if !used {
			x.warnings = append(x.warnings, fmt.Sprintf(
				"Service %s has no port %s for annotation %s: the AWS Load Balancer Controller reads the per-port form only with the number of a port of the Service, so it has no effect.",
				svcKey(svc), strconv.Quote(suffix), k))
		}
	}
	return found
}

func nlbTargetType(r annotationReader, svc *corev1.Service) TargetType {
	// The legacy nlb-ip type wins over the target-type annotation, which the
	// controller then ignores: no Problem for a value that has no effect.
	if svc.Annotations[awslb.AnnotationNLBType] == awslb.NLBTypeIP {
		return TargetIP
	}
	return TargetType(r.oneOf(awslb.AnnotationNLBTargetType, string(TargetInstance), false, string(TargetIP), string(TargetInstance)))
}

// nlbHealthCheck follows the AWS Load Balancer Controller, including its
// defaults for instance targets with externalTrafficPolicy Local: the NLB
// then checks kube-proxy's /healthz on the healthCheckNodePort, so that nodes
// without a ready pod get no traffic.
func nlbHealthCheck(r annotationReader, svc *corev1.Service, tt TargetType) gdv1.HealthCheck {
	def := gdv1.HealthCheck{Protocol: awslb.ProtocolTCP, Port: awslb.TrafficPort, Path: "/", IntervalSeconds: 10,
		TimeoutSeconds: 10, HealthyThreshold: 3, UnhealthyThreshold: 3}
	if tt == TargetInstance && svc.Spec.ExternalTrafficPolicy == corev1.ServiceExternalTrafficPolicyLocal {
		def = gdv1.HealthCheck{Protocol: awslb.ProtocolHTTP, Port: awslb.TrafficPort, Path: "/healthz", IntervalSeconds: 10,
			TimeoutSeconds: 6, HealthyThreshold: 2, UnhealthyThreshold: 2}
		if svc.Spec.HealthCheckNodePort > 0 {
			def.Port = strconv.Itoa(int(svc.Spec.HealthCheckNodePort))
		}
	}
	hc := gdv1.HealthCheck{
		Protocol: r.oneOf(awslb.AnnotationNLBHealthCheckProtocol, def.Protocol, true, awslb.ProtocolTCP, awslb.ProtocolHTTP, awslb.ProtocolHTTPS),
		Port:     healthCheckPort(r, awslb.AnnotationNLBHealthCheckPort, svc, tt, def.Port),
	}
	hc.IntervalSeconds, _ = r.seconds(awslb.AnnotationNLBHealthCheckInterval, 5, 300, def.IntervalSeconds)
	hc.TimeoutSeconds, _ = r.seconds(awslb.AnnotationNLBHealthCheckTimeout, 2, 120, def.TimeoutSeconds)
	hc.HealthyThreshold = r.count(awslb.AnnotationNLBHealthyThreshold, def.HealthyThreshold)
	hc.UnhealthyThreshold = r.count(awslb.AnnotationNLBUnhealthyThreshold, def.UnhealthyThreshold)
	// Path and success codes mean nothing to a TCP check; the controller does
	// not read them then, so neither do we.
	if hc.Protocol != awslb.ProtocolTCP {
		hc.Path = r.path(awslb.AnnotationNLBHealthCheckPath, def.Path)
		hc.SuccessCodes = r.successCodes(awslb.AnnotationNLBSuccessCodes, "200-399", 200, 599)
	}
	return hc
}

// healthCheckPort reads a health-check port annotation: traffic-port, a port
// number, or (as the AWS Load Balancer Controller allows) the name of a port
// of the Service, which becomes its nodePort for instance targets and its
// numeric targetPort for ip targets.
func healthCheckPort(r annotationReader, key string, svc *corev1.Service, tt TargetType, def string) string {
	raw, obj, ok := r.get(key)
	if !ok {
		return def
	}
	if raw == awslb.TrafficPort {
		return awslb.TrafficPort
	}
	if n, err := strconv.Atoi(raw); err == nil {
		if n < 1 || n > 65535 {
			r.refuse(obj, key, raw, "Expected traffic-port or a port number from 1 to 65535.")
			return def
		}
		return strconv.Itoa(n)
	}
	sp := servicePortByName(svc, raw)
	if sp == nil {
		r.refuse(obj, key, raw, fmt.Sprintf(
			"Expected traffic-port, a port number from 1 to 65535, or the name of a port of Service %s.",
			svcKey(svc)))
		return def
	}
	if tt == TargetInstance {
		if sp.NodePort == 0 {
			r.refuse(obj, key, raw, fmt.Sprintf(
				"Expected the name of a port of Service %s that has a nodePort, as instance targets are checked on the node.", svcKey(svc)))
			return def
		}
		return strconv.Itoa(int(sp.NodePort))
	}
	if sp.TargetPort.Type == intstr.String && sp.TargetPort.StrVal != "" {
		r.refuse(obj, key, raw, fmt.Sprintf(
			"Expected the name of a port of Service %s with a numeric targetPort, the only kind the AWS Load Balancer Controller resolves for ip targets.", svcKey(svc)))
		return def
	}
	return strconv.Itoa(int(targetPortNumber(sp)))
}

func servicePortByName(svc *corev1.Service, name string) *corev1.ServicePort {
	for i := range svc.Spec.Ports {
		if svc.Spec.Ports[i].Name == name {
			return &svc.Spec.Ports[i]
		}
	}
	return nil
}

// targetPortNumber is the numeric targetPort; unset means the same as port,
// as the API server defaults it.
func targetPortNumber(sp *corev1.ServicePort) int32 {
	if sp.TargetPort.Type == intstr.Int && sp.TargetPort.IntVal != 0 {
		return sp.TargetPort.IntVal
	}
	return sp.Port
}

// resolveTargetPort finds the regular container (not an init container or a
// native sidecar, which are not what the Service is for) and container port
// that serve the Service port's targetPort.
func resolveTargetPort(containers []corev1.Container, sp *corev1.ServicePort) (container string, port int32, ok bool) {
	if sp.TargetPort.Type == intstr.String && sp.TargetPort.StrVal != "" {
		// By name, with the Service port's protocol, as the endpoints controller matches it.
		for _, c := range containers {
			for _, cp := range c.Ports {
				if cp.Name == sp.TargetPort.StrVal && protocolOf(cp.Protocol) == protocolOf(sp.Protocol) {
					return c.Name, cp.ContainerPort, true
				}
			}
		}
		return "", 0, false
	}
	n := targetPortNumber(sp)
	if n < 1 || n > 65535 {
		return "", 0, false // no container can listen there (the API server refuses such ports anyway)
	}
	for _, c := range containers {
		for _, cp := range c.Ports {
			if cp.ContainerPort == n {
				return c.Name, n, true
			}
		}
	}
	// Declaring ports is optional: a lone container is the one listening.
	if len(containers) == 1 {
		return containers[0].Name, n, true
	}
	return "", 0, false
}

func protocolOf(p corev1.Protocol) corev1.Protocol {
	if p == "" {
		return corev1.ProtocolTCP
	}
	return p
}

func targetPortText(sp *corev1.ServicePort) string {
	if sp.TargetPort.Type == intstr.String && sp.TargetPort.StrVal != "" {
		return strconv.Quote(sp.TargetPort.StrVal)
	}
	return strconv.Itoa(int(targetPortNumber(sp)))
}

func key(namespace, name string) string {
	if namespace == "" {
		return name
	}
	return namespace + "/" + name
}

func svcKey(svc *corev1.Service) string { return key(svc.Namespace, svc.Name) }

// warnInstanceTargetsNeedNodePort: instance targets reach pods through a node
// port, which ClusterIP Services do not have (the AWS controller refuses them).
func (x *discoverer) warnInstanceTargetsNeedNodePort(tt TargetType, source string, svc *corev1.Service) {
	if tt == TargetInstance && svc.Spec.Type != corev1.ServiceTypeNodePort && svc.Spec.Type != corev1.ServiceTypeLoadBalancer {
		x.warnings = append(x.warnings, fmt.Sprintf(
			"%s uses instance targets, which need Service %s to be of type NodePort or LoadBalancer.", source, svcKey(svc)))
	}
}
