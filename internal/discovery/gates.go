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
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/gracefuldrain/gracefuldrain/internal/workload"
)

// ReadinessGatesNeeded says whether any load balancer in the namespace
// registers pods by IP, whatever workload it will reach: then the namespace
// needs the readiness-gate label before that workload's first pods are
// created (gates are injected only at pod creation). It applies the same
// rules as Discover to every Service that selects pods, as if a workload
// matched its selector; because names the first such path, e.g.
// "Ingress web (ALB, ip targets)". in.Workload is ignored.
func ReadinessGatesNeeded(in Inputs) (needed bool, because string) {
	for i := range in.Services {
		svc := &in.Services[i]
		if len(SelectorPairs(svc)) == 0 {
			continue
		}
		in.Workload = workload.Workload{
			Namespace: svc.Namespace,
			Template:  &corev1.PodTemplateSpec{ObjectMeta: metav1.ObjectMeta{Labels: svc.Spec.Selector}},
		}
		for _, a := range Discover(in).Attachments {
			if a.TargetType == TargetIP {
				return true, string(a.SourceKind) + " " + a.SourceName + " (" + string(a.LoadBalancer) + ", ip targets)"
			}
		}
	}
	return false, ""
}
