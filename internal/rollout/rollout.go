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

// Package rollout judges whether a workload's current spec has fully rolled
// out, per kind, with the checks `kubectl rollout status` makes for that kind.
package rollout

import (
	"fmt"

	appsv1 "k8s.io/api/apps/v1"
)

// Status is the rollout truth of one workload.
type Status struct {
	// Complete: every replica runs the current spec and is available.
	Complete bool
	// Message says how far the rollout is, in a sentence with counts.
	Message string
}

// OfDeployment judges a Deployment as kubectl rollout status does.
func OfDeployment(d *appsv1.Deployment) Status {
	want := int32(1)
	if d.Spec.Replicas != nil {
		want = *d.Spec.Replicas
	}
	st := d.Status
	for _, c := range st.Conditions {
		if c.Type == appsv1.DeploymentProgressing && c.Reason == "ProgressDeadlineExceeded" {
			return Status{Message: fmt.Sprintf("Rollout stalled: %s", c.Message)}
		}
	}
	switch {
	case d.Generation > st.ObservedGeneration:
		return Status{Message: fmt.Sprintf("Waiting for the Deployment controller to observe generation %d.", d.Generation)}
	case st.UpdatedReplicas < want:
		return Status{Message: fmt.Sprintf("Rollout in progress: %d of %d new replicas updated.", st.UpdatedReplicas, want)}
	case st.Replicas > st.UpdatedReplicas:
		return Status{Message: fmt.Sprintf("Rollout in progress: %d old replicas pending termination.", st.Replicas-st.UpdatedReplicas)}
	case st.AvailableReplicas < st.UpdatedReplicas:
		return Status{Message: fmt.Sprintf("Rollout in progress: %d of %d updated replicas available.", st.AvailableReplicas, st.UpdatedReplicas)}
	}
	return Status{Complete: true, Message: fmt.Sprintf("Rollout complete: %d of %d replicas updated and available.", st.AvailableReplicas, want)}
}
