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

package plan

import (
	"fmt"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/gracefuldrain/gracefuldrain/internal/discovery"
	"github.com/gracefuldrain/gracefuldrain/internal/workload"
)

// BenchmarkPlanFleet10k is the plan work of a full resync at 10,000
// Deployments: per Deployment what the reconciler runs (ComputeWithChanges and,
// when something changes, ApplyConfiguration). One op is the whole fleet;
// ns/deploy is the per-Deployment figure. The fleet mixes four shapes a real
// cluster has: fresh single-container apps, apps that already carry the plan
// (owned by the operator, so nothing to send), a user's shorter exec sleep to
// raise, and a three-container pod with an envoy sidecar's custom hook.
func BenchmarkPlanFleet10k(b *testing.B) {
	const n = 10000
	inputs := make([]Input, n)
	for i := range inputs {
		inputs[i] = fleetInput(i)
	}
	b.ReportAllocs()
	b.ResetTimer()
	applies := 0
	for b.Loop() {
		applies = 0
		for i := range inputs {
			p, changes := ComputeWithChanges(inputs[i])
			if len(changes) > 0 {
				_ = ApplyConfiguration(inputs[i].Workload, p)
				applies++
			}
		}
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/n, "ns/deploy")
	b.ReportMetric(float64(applies), "applies/op")
}

func fleetInput(i int) Input {
	var d *appsv1.Deployment
	atts := []discovery.Attachment{albIP("app", 8080)}
	switch i % 4 {
	case 0: // fresh
		d = deployment(container("app", 8080))
	case 1: // already carries the plan, applied by the operator
		settings := ruleSettings()
		c := withPreStop(container("app", 8080), nativeSleep(int64(settings.ALBIPPreStopSeconds)))
		c = withProbe(c, Compute(Input{Workload: workload.OfDeployment(deployment(container("app", 8080))), Attachments: atts, Defaults: settings}).Containers[0].Probe)
		d = withGrace(deployment(c), int64(settings.ALBIPPreStopSeconds+settings.ShutdownSeconds))
		d.ManagedFields = []metav1.ManagedFieldsEntry{operatorOwns(containerFields("app", ownedSleepFields+","+ownedProbeFields))}
	case 2: // a user's shorter exec sleep, raised
		d = deployment(withPreStop(container("app", 8080), execHook("sleep", "5")))
	default: // app + api + envoy sidecar with a custom drain hook
		d = deployment(
			container("app", 8080),
			withProbe(container("api", 9090), &corev1.Probe{ProbeHandler: corev1.ProbeHandler{TCPSocket: &corev1.TCPSocketAction{}}}),
			withPreStop(container("envoy", 9901), httpHook(9901, "/drain")),
		)
		atts = append(atts, albInstance("api", 9090), nlbIP("envoy", 9901))
	}
	d.Name = fmt.Sprintf("web-%d", i)
	d.Namespace = fmt.Sprintf("ns-%d", i/10)
	return Input{Workload: workload.OfDeployment(d), Attachments: atts, Defaults: ruleSettings()}
}
