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
	"testing"

	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	"k8s.io/apimachinery/pkg/util/intstr"

	"github.com/gracefuldrain/gracefuldrain/internal/workload"
)

func TestUnresolvedTargetPortsAreNamed(t *testing.T) {
	tests := []struct {
		name   string
		target intstr.IntOrString
		want   []string
	}{
		{name: "resolved by name", target: intstr.FromString("http"), want: nil},
		{name: "name no container declares", target: intstr.FromString("metrics"), want: []string{`Service web port 80 targetPort "metrics"`}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			svc := service("web", webLabels, sport("http", 80, tt.target))
			r := Discover(Inputs{Workload: workload.OfDeployment(webDeployment()), Services: []corev1.Service{svc}, Ingresses: []networkingv1.Ingress{albIngress("web", backend("web", 80))}})
			if len(r.Attachments) != 1 {
				t.Fatalf("attachments %+v", r.Attachments)
			}
			if len(r.UnresolvedTargetPorts) != len(tt.want) || (len(tt.want) > 0 && r.UnresolvedTargetPorts[0] != tt.want[0]) {
				t.Fatalf("UnresolvedTargetPorts = %q, want %q", r.UnresolvedTargetPorts, tt.want)
			}
		})
	}
}
