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
	"math"
	"slices"
	"strconv"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/util/intstr"

	gdv1 "github.com/gracefuldrain/gracefuldrain/api/v1alpha1"
	"github.com/gracefuldrain/gracefuldrain/internal/awslb"
	"github.com/gracefuldrain/gracefuldrain/internal/invalid"
)

// Rule 3: TargetGroupBindings (elbv2.k8s.aws/v1beta1).
//
// A TargetGroupBinding registers the pods behind a Service port in a target
// group that was made outside Kubernetes (Terraform, CloudFormation, the
// console). Discovery cannot see that target group, so an attachment through
// a binding says only what is certain or defaulted:
//
//   - LoadBalancer is TargetGroup: the target group may sit behind an ALB or
//     an NLB, or both, and nothing in the cluster says which.
//   - HealthCheck is TCP on the traffic port with every number 0 (unknown):
//     the plan then derives a tcpSocket readiness probe, which any listening
//     server passes, and leaves timing to its target-type defaults.
//   - DeregistrationDelaySeconds is ASSUMED to be the AWS default, 300 s;
//     the real value is an attribute of the target group that only the AWS
//     API can tell.
//
// The AWS Load Balancer Controller implements its own Ingresses and NLB
// Services with TargetGroupBindings too, labelled with their stack (see
// MadeForIngressOrService). Those are skipped here: rules 1 and 2 already
// report the same path, with the real health check and attributes.

// Field paths of a TargetGroupBinding, for Problems.
const (
	fieldTGBTargetType = "spec.targetType"
)

// TargetGroupBindingHealthCheck is the health check reported for an
// attachment through a TargetGroupBinding: TCP on the traffic port, timing
// unknown (0).
var TargetGroupBindingHealthCheck = gdv1.HealthCheck{Protocol: awslb.ProtocolTCP, Port: awslb.TrafficPort}

// MadeForIngressOrService reports whether the AWS Load Balancer Controller
// made this binding for one of its Ingresses or NLB Services: it carries the
// controller's stack labels. Bindings for Gateway API routes, or made by a
// person, are not.
func (b TargetGroupBinding) MadeForIngressOrService() bool {
	if len(b.Labels) == 0 {
		return false
	}
	for _, k := range stackLabels {
		if _, ok := b.Labels[k]; ok {
			return true
		}
	}
	return false
}

var stackLabels = [...]string{awslb.LabelIngressStack, awslb.LabelIngressStackNamespace, awslb.LabelIngressStackName,
	awslb.LabelServiceStackNamespace, awslb.LabelServiceStackName}

// TargetGroupBindingServiceNames returns the names of the Services that the
// bindings discovery counts (rule 3) point at, sorted and without
// duplicates. Bindings the AWS Load Balancer Controller made for its own
// Ingresses and Services are left out, as Discover leaves them out.
func TargetGroupBindingServiceNames(tgbs []TargetGroupBinding) []string {
	var names []string
	for i := range tgbs {
		if tgbs[i].ServiceName != "" && !tgbs[i].MadeForIngressOrService() {
			names = append(names, tgbs[i].ServiceName)
		}
	}
	slices.Sort(names)
	return slices.Compact(names)
}

// TargetGroupBindingFromUnstructured reads a TargetGroupBinding from the
// content of an unstructured object (unstructured.Unstructured.Object):
// metadata.namespace, metadata.name, metadata.labels, spec.serviceRef.name,
// spec.serviceRef.port (a whole number or a string) and spec.targetType.
//
// ok is false when the shape is wrong: no name, no serviceRef name or port,
// or a field of the wrong type. Well-typed values that match nothing (a port
// the Service does not have, an unknown target type) are returned as they
// are, for Discover to report.
func TargetGroupBindingFromUnstructured(u map[string]interface{}) (tgb TargetGroupBinding, ok bool) {
	meta, ok := nestedMap(u, "metadata")
	if !ok {
		return TargetGroupBinding{}, false
	}
	if tgb.Name, ok = nestedString(meta, "name", true); !ok || tgb.Name == "" {
		return TargetGroupBinding{}, false
	}
	if tgb.Namespace, ok = nestedString(meta, "namespace", false); !ok {
		return TargetGroupBinding{}, false
	}
	if tgb.Labels, ok = stringMap(meta["labels"]); !ok {
		return TargetGroupBinding{}, false
	}
	spec, ok := nestedMap(u, "spec")
	if !ok {
		return TargetGroupBinding{}, false
	}
	ref, ok := nestedMap(spec, "serviceRef")
	if !ok {
		return TargetGroupBinding{}, false
	}
	if tgb.ServiceName, ok = nestedString(ref, "name", true); !ok || tgb.ServiceName == "" {
		return TargetGroupBinding{}, false
	}
	if tgb.ServicePort, ok = intOrString(ref["port"]); !ok {
		return TargetGroupBinding{}, false
	}
	tt, ok := nestedString(spec, "targetType", false)
	if !ok {
		return TargetGroupBinding{}, false
	}
	tgb.TargetType = TargetType(tt)
	return tgb, true
}

// nestedMap returns m[key] as a map; a missing key is not ok.
func nestedMap(m map[string]interface{}, key string) (map[string]interface{}, bool) {
	v, ok := m[key].(map[string]interface{})
	return v, ok
}

// nestedString returns m[key] as a string. A missing or null key is ok
// (as "") unless required; a value of another type is never ok.
func nestedString(m map[string]interface{}, key string, required bool) (string, bool) {
	v, found := m[key]
	if !found || v == nil {
		return "", !required
	}
	s, ok := v.(string)
	return s, ok
}

// stringMap reads labels: absent or null is ok (nil), any value that is not
// a string is not.
func stringMap(v interface{}) (map[string]string, bool) {
	if v == nil {
		return nil, true
	}
	m, ok := v.(map[string]interface{})
	if !ok {
		return nil, false
	}
	out := make(map[string]string, len(m))
	for k, x := range m {
		s, ok := x.(string)
		if !ok {
			return nil, false
		}
		out[k] = s
	}
	return out, true
}

// intOrString reads an int-or-string field as the API server stores it in
// unstructured content (int64), or as encoding/json decodes it (float64).
// A string stays a string even when it holds digits, as the AWS Load
// Balancer Controller then looks the port up by name.
func intOrString(v interface{}) (intstr.IntOrString, bool) {
	var n int64
	switch x := v.(type) {
	case string:
		return intstr.FromString(x), true
	case int64:
		n = x
	case int32:
		n = int64(x)
	case int:
		n = int64(x)
	case float64:
		if x != math.Trunc(x) || x < math.MinInt32 || x > math.MaxInt32 {
			return intstr.IntOrString{}, false
		}
		n = int64(x)
	default:
		return intstr.IntOrString{}, false
	}
	if n < math.MinInt32 || n > math.MaxInt32 {
		return intstr.IntOrString{}, false
	}
	return intstr.FromInt32(int32(n)), true
}

// targetGroupBindings is rule 3.
func (x *discoverer) targetGroupBindings() {
	for i := range x.in.TargetGroupBindings {
		b := &x.in.TargetGroupBindings[i]
		if b.ServiceName == "" || !x.sameNamespace(b.Namespace) {
			continue
		}
		// Cheapest test first: most bindings of a namespace are for other Deployments.
		svc, ok := x.services[b.ServiceName]
		if ok && !x.selects[b.ServiceName] || b.MadeForIngressOrService() {
			continue
		}
		tgbKey := "TargetGroupBinding " + key(b.Namespace, b.Name)
		if !ok {
			// As for Ingress backends: it may be the Service meant for this Deployment, not created yet.
			x.warnings = append(x.warnings, fmt.Sprintf("%s sends traffic to Service %s, which does not exist.",
				tgbKey, key(b.Namespace, b.ServiceName)))
			continue
		}
		sp := tgbServicePort(svc, b.ServicePort)
		if sp == nil {
			text := portRefText(b.ServicePort)
			if text == "" {
				text = `""`
			}
			x.warnings = append(x.warnings, fmt.Sprintf("%s sends traffic to port %s of Service %s, which has no such port.",
				tgbKey, text, svcKey(svc)))
			continue
		}
		tt := b.TargetType
		switch tt {
		case "":
			tt = TargetInstance // the CRD's default
		case TargetIP, TargetInstance:
		default:
			x.problems = append(x.problems, invalid.Setting{Object: tgbKey, Key: fieldTGBTargetType, Value: string(b.TargetType),
				Message: "Expected ip or instance."})
			tt = TargetInstance
		}
		x.warnInstanceTargetsNeedNodePort(tt, tgbKey, svc)
		x.attach(Attachment{
			LoadBalancer:               TargetGroup,
			SourceKind:                 SourceTargetGroupBinding,
			SourceName:                 b.Name,
			ServiceName:                svc.Name,
			ServicePort:                portRefText(b.ServicePort),
			TargetType:                 tt,
			HealthCheck:                TargetGroupBindingHealthCheck,
			DeregistrationDelaySeconds: awslb.DefaultDeregistrationDelaySeconds, // assumed: the target group is not visible
		}, svc, sp)
	}
}

// tgbServicePort looks the port up exactly as the AWS Load Balancer
// Controller does (k8s.LookupServicePort): a number by spec.ports[].port, a
// string by name, so that "" finds the one unnamed port of a Service.
func tgbServicePort(svc *corev1.Service, port intstr.IntOrString) *corev1.ServicePort {
	if port.Type == intstr.String {
		return servicePortByName(svc, port.StrVal)
	}
	for i := range svc.Spec.Ports {
		if svc.Spec.Ports[i].Port == port.IntVal {
			return &svc.Spec.Ports[i]
		}
	}
	return nil
}

// portRefText is a port reference as written: a number or a name.
func portRefText(p intstr.IntOrString) string {
	if p.Type == intstr.String {
		return p.StrVal
	}
	return strconv.Itoa(int(p.IntVal))
}
