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

	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"

	gdv1 "github.com/gracefuldrain/gracefuldrain/api/v1alpha1"
	"github.com/gracefuldrain/gracefuldrain/internal/awslb"
	"github.com/gracefuldrain/gracefuldrain/internal/invalid"
)

// Backend protocol versions of alb.ingress.kubernetes.io/backend-protocol-version.
const (
	protocolVersionHTTP1 = "HTTP1"
	protocolVersionHTTP2 = "HTTP2"
	protocolVersionGRPC  = "GRPC"
)

// IsALBController reports whether an IngressClass's spec.controller is the
// AWS Load Balancer Controller (or EKS Auto Mode's built-in one).
func IsALBController(controller string) bool {
	return controller == awslb.ControllerALB || controller == awslb.ControllerEKSAutoALB
}

// IsALBIngress reports whether the AWS Load Balancer Controller handles ing,
// given the cluster's IngressClasses.
func IsALBIngress(ing *networkingv1.Ingress, classes []networkingv1.IngressClass) bool {
	if ing == nil {
		return false
	}
	alb, _ := newClassIndex(classes).isALB(ing)
	return alb
}

// IngressBackendServiceNames returns the names of the Services the Ingress
// sends traffic to (default backend and rule paths), sorted and without
// duplicates; use-annotation backends are actions and are left out.
func IngressBackendServiceNames(ing *networkingv1.Ingress) []string {
	if ing == nil {
		return nil
	}
	var names []string
	eachBackend(ing, func(b *networkingv1.IngressServiceBackend) bool {
		if b.Name != "" {
			names = append(names, b.Name)
		}
		return true
	})
	slices.Sort(names)
	return slices.Compact(names)
}

type classIndex struct {
	byName       map[string]*networkingv1.IngressClass
	defaultClass *networkingv1.IngressClass
}

func newClassIndex(classes []networkingv1.IngressClass) classIndex {
	idx := classIndex{byName: make(map[string]*networkingv1.IngressClass, len(classes))}
	for i := range classes {
		c := &classes[i]
		idx.byName[c.Name] = c
		if c.Annotations[awslb.AnnotationIsDefaultIngressClass] != "true" {
			continue
		}
		// With several defaults the API server's admission plugin assigns the
		// newest one (ties broken by name); pick the same.
		d := idx.defaultClass
		if d == nil || c.CreationTimestamp.After(d.CreationTimestamp.Time) ||
			(c.CreationTimestamp.Equal(&d.CreationTimestamp) && c.Name < d.Name) {
			idx.defaultClass = c
		}
	}
	return idx
}

// isALB applies rule 1's class test. warning is set when the Ingress names an
// IngressClass that does not exist.
func (idx classIndex) isALB(ing *networkingv1.Ingress) (alb bool, warning string) {
	// The annotation takes precedence over spec.ingressClassName in the AWS controller.
	if v, ok := ing.Annotations[awslb.AnnotationIngressClass]; ok {
		return v == awslb.IngressClassALB, ""
	}
	if n := ing.Spec.IngressClassName; n != nil && *n != "" {
		c, ok := idx.byName[*n]
		if !ok {
			return false, fmt.Sprintf("Ingress %s names IngressClass %q, which does not exist, so it is not counted as an AWS load balancer.",
				key(ing.Namespace, ing.Name), *n)
		}
		return IsALBController(c.Spec.Controller), ""
	}
	return idx.defaultClass != nil && IsALBController(idx.defaultClass.Spec.Controller), ""
}

// eachBackend calls f for every Service backend of ing in spec order,
// skipping use-annotation actions and resource backends. It stops when f
// returns false.
func eachBackend(ing *networkingv1.Ingress, f func(*networkingv1.IngressServiceBackend) bool) {
	visit := func(b *networkingv1.IngressBackend) bool {
		if b == nil || b.Service == nil || b.Service.Port.Name == awslb.UseAnnotation {
			return true
		}
		return f(b.Service)
	}
	if !visit(ing.Spec.DefaultBackend) {
		return
	}
	for i := range ing.Spec.Rules {
		http := ing.Spec.Rules[i].HTTP
		if http == nil {
			continue
		}
		for j := range http.Paths {
			if !visit(&http.Paths[j].Backend) {
				return
			}
		}
	}
}

// ingresses is rule 1: ALB Ingresses with a backend Service that selects the Deployment.
func (x *discoverer) ingresses() {
	var classes *classIndex // built on first need: most namespaces have no Ingress for this Deployment
	for i := range x.in.Ingresses {
		ing := &x.in.Ingresses[i]
		if !x.sameNamespace(ing.Namespace) {
			continue
		}
		relevant, missing := false, false
		eachBackend(ing, func(b *networkingv1.IngressServiceBackend) bool {
			if _, ok := x.services[b.Name]; !ok {
				missing = true
			} else if x.selects[b.Name] {
				relevant = true
			}
			return !(relevant && missing)
		})
		if !relevant && !missing {
			continue
		}
		if classes == nil {
			idx := newClassIndex(x.in.IngressClasses)
			classes = &idx
		}
		alb, warning := classes.isALB(ing)
		if !alb {
			// Only worth saying when this Ingress would have reached the Deployment.
			if warning != "" && relevant {
				x.warnings = append(x.warnings, warning)
			}
			continue
		}
		eachBackend(ing, func(b *networkingv1.IngressServiceBackend) bool {
			svc, ok := x.services[b.Name]
			switch {
			case !ok:
				// The Service may be the one meant for this Deployment and not created yet.
				x.warnings = append(x.warnings, fmt.Sprintf("Ingress %s sends traffic to Service %s, which does not exist.",
					key(ing.Namespace, ing.Name), key(ing.Namespace, b.Name)))
			case x.selects[b.Name]:
				x.ingressBackend(ing, svc, b.Port)
			}
			return true
		})
	}
}

func (x *discoverer) ingressBackend(ing *networkingv1.Ingress, svc *corev1.Service, port networkingv1.ServiceBackendPort) {
	ingKey := key(ing.Namespace, ing.Name)
	sp, portText := backendServicePort(svc, port)
	if sp == nil {
		x.warnings = append(x.warnings, fmt.Sprintf("Ingress %s sends traffic to port %s of Service %s, which has no such port.",
			ingKey, portText, svcKey(svc)))
		return
	}
	r := annotationReader{
		layers: []layer{
			{object: "Service " + svcKey(svc), annotations: svc.Annotations},
			{object: "Ingress " + ingKey, annotations: ing.Annotations},
		},
		problems: &x.problems,
	}
	tt := TargetType(r.oneOf(awslb.AnnotationALBTargetType, string(TargetInstance), false, string(TargetIP), string(TargetInstance)))
	x.warnInstanceTargetsNeedNodePort(tt, "Ingress "+ingKey, svc)
	x.attach(Attachment{
		LoadBalancer:               ALB,
		SourceKind:                 SourceIngress,
		SourceName:                 ing.Name,
		Group:                      x.ingressGroup(ing),
		ServiceName:                svc.Name,
		ServicePort:                portText,
		TargetType:                 tt,
		HealthCheck:                albHealthCheck(r, svc, tt),
		DeregistrationDelaySeconds: r.deregistrationDelay(awslb.AnnotationALBTargetGroupAttributes),
	}, svc, sp)
}

// backendServicePort finds the Service port an Ingress backend names, and
// returns the reference as written (a number or a name).
func backendServicePort(svc *corev1.Service, port networkingv1.ServiceBackendPort) (*corev1.ServicePort, string) {
	if port.Name != "" {
		return servicePortByName(svc, port.Name), port.Name
	}
	for i := range svc.Spec.Ports {
		if svc.Spec.Ports[i].Port == port.Number {
			return &svc.Spec.Ports[i], strconv.Itoa(int(port.Number))
		}
	}
	return nil, strconv.Itoa(int(port.Number))
}

// albHealthCheck follows the AWS Load Balancer Controller's target-group
// health check for Ingresses, including its gRPC defaults.
func albHealthCheck(r annotationReader, svc *corev1.Service, tt TargetType) gdv1.HealthCheck {
	backend := r.oneOf(awslb.AnnotationALBBackendProtocol, awslb.ProtocolHTTP, false, awslb.ProtocolHTTP, awslb.ProtocolHTTPS)
	version := r.oneOf(awslb.AnnotationALBBackendProtocolVersion, protocolVersionHTTP1, false,
		protocolVersionHTTP1, protocolVersionHTTP2, protocolVersionGRPC)
	hc := gdv1.HealthCheck{
		Protocol: r.oneOf(awslb.AnnotationALBHealthCheckProtocol, backend, false, awslb.ProtocolHTTP, awslb.ProtocolHTTPS),
		Port:     healthCheckPort(r, awslb.AnnotationALBHealthCheckPort, svc, tt, awslb.TrafficPort),
	}
	defPath, defCodes, codesLo, codesHi := "/", "200", int32(200), int32(499)
	if version == protocolVersionGRPC {
		// The matcher is then a gRPC status code, and the check a gRPC call.
		hc.Protocol = awslb.ProtocolGRPC
		defPath, defCodes, codesLo, codesHi = "/AWS.ALB/healthcheck", "12", 0, 99
	}
	hc.Path = r.path(awslb.AnnotationALBHealthCheckPath, defPath)
	hc.SuccessCodes = r.successCodes(awslb.AnnotationALBSuccessCodes, defCodes, codesLo, codesHi)
	interval, intervalSet := r.seconds(awslb.AnnotationALBHealthCheckInterval, 5, 300, 15)
	timeout, timeoutSet := r.seconds(awslb.AnnotationALBHealthCheckTimeout, 2, 120, 5)
	hc.HealthyThreshold = r.count(awslb.AnnotationALBHealthyThreshold, 2)
	hc.UnhealthyThreshold = r.count(awslb.AnnotationALBUnhealthyThreshold, 2)
	if timeout >= interval {
		// ALB target groups refuse a timeout that is not shorter than the interval.
		// Blame the value the user wrote; the defaults (5 < 15) are fine together.
		switch {
		case timeoutSet:
			raw, obj, _ := r.get(awslb.AnnotationALBHealthCheckTimeout)
			r.refuse(obj, awslb.AnnotationALBHealthCheckTimeout, raw,
				fmt.Sprintf("Expected a timeout shorter than the health-check interval of %d seconds.", interval))
		case intervalSet:
			raw, obj, _ := r.get(awslb.AnnotationALBHealthCheckInterval)
			r.refuse(obj, awslb.AnnotationALBHealthCheckInterval, raw,
				fmt.Sprintf("Expected an interval longer than the health-check timeout of %d seconds.", timeout))
		}
		interval, timeout = 15, 5
	}
	hc.IntervalSeconds, hc.TimeoutSeconds = interval, timeout
	return hc
}

// maxGroupNameLength is the AWS Load Balancer Controller's limit on
// IngressGroup names.
const maxGroupNameLength = 63

// ingressGroup is the IngressGroup of ing from awslb.AnnotationALBGroupName, read
// from the Ingress only (the controller does not read it from Services); ""
// without the annotation (the Ingress has its own ALB) or, with a Problem,
// when the controller refuses the name. (An IngressClassParams spec.group
// would override the annotation; discovery does not read IngressClassParams.)
func (x *discoverer) ingressGroup(ing *networkingv1.Ingress) string {
	name, ok := ing.Annotations[awslb.AnnotationALBGroupName]
	if !ok {
		return ""
	}
	if !ValidIngressGroupName(name) {
		x.problems = append(x.problems, invalid.Setting{
			Object: "Ingress " + key(ing.Namespace, ing.Name), Key: awslb.AnnotationALBGroupName, Value: name,
			Message: fmt.Sprintf("Expected an IngressGroup name of 1 to %d lower-case letters, digits, '-' or '.', starting and ending with a letter or digit.",
				maxGroupNameLength),
		})
		return ""
	}
	return name
}

// ValidIngressGroupName reports whether the AWS Load Balancer Controller
// accepts name as an IngressGroup name: 1 to 63 characters of lower-case
// alphanumerics, '-' or '.', starting and ending with an alphanumeric.
func ValidIngressGroupName(name string) bool {
	if name == "" || len(name) > maxGroupNameLength {
		return false
	}
	alnum := func(c byte) bool { return ('a' <= c && c <= 'z') || ('0' <= c && c <= '9') }
	for i := 0; i < len(name); i++ {
		if c := name[i]; !alnum(c) && c != '-' && c != '.' {
			return false
		}
	}
	return alnum(name[0]) && alnum(name[len(name)-1])
}
