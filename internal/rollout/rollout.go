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

// OfStatefulSet judges a StatefulSet as kubectl rollout status does. With
// the OnDelete strategy a new template reaches a pod only when the pod is
// deleted: it is complete once every pod runs the update revision.
func OfStatefulSet(s *appsv1.StatefulSet) Status {
	st := s.Status
	want := int32(1)
	if s.Spec.Replicas != nil {
		want = *s.Spec.Replicas
	}
	if st.ObservedGeneration == 0 || s.Generation > st.ObservedGeneration {
		return Status{Message: fmt.Sprintf("Waiting for the StatefulSet controller to observe generation %d.", s.Generation)}
	}
	if s.Spec.UpdateStrategy.Type == appsv1.OnDeleteStatefulSetStrategyType {
		if st.UpdateRevision != st.CurrentRevision || st.UpdatedReplicas < want {
			return Status{Message: fmt.Sprintf("Update strategy OnDelete: the new pod template takes effect when pods are deleted (%d of %d pods updated).", st.UpdatedReplicas, want)}
		}
		return Status{Complete: true, Message: fmt.Sprintf("Rollout complete: all %d pods run the current template (OnDelete).", want)}
	}
	if st.ReadyReplicas < want {
		return Status{Message: fmt.Sprintf("Rollout in progress: %d of %d pods ready.", st.ReadyReplicas, want)}
	}
	if ru := s.Spec.UpdateStrategy.RollingUpdate; ru != nil && ru.Partition != nil && *ru.Partition > 0 {
		if st.UpdatedReplicas < want-*ru.Partition {
			return Status{Message: fmt.Sprintf("Partitioned rollout in progress: %d of %d new pods updated.", st.UpdatedReplicas, want-*ru.Partition)}
		}
		return Status{Message: fmt.Sprintf("Partitioned rollout: the %d pods below partition %d keep the old template until the partition is lowered.", *ru.Partition, *ru.Partition)}
	}
	if st.UpdateRevision != st.CurrentRevision {
		return Status{Message: fmt.Sprintf("Rollout in progress: %d of %d pods at revision %s.", st.UpdatedReplicas, want, st.UpdateRevision)}
	}
	return Status{Complete: true, Message: fmt.Sprintf("Rollout complete: %d pods at revision %s.", st.CurrentReplicas, st.CurrentRevision)}
}

// OfDaemonSet judges a DaemonSet as kubectl rollout status does, with the
// same reading of OnDelete as OfStatefulSet.
func OfDaemonSet(d *appsv1.DaemonSet) Status {
	st := d.Status
	if d.Generation > st.ObservedGeneration {
		return Status{Message: fmt.Sprintf("Waiting for the DaemonSet controller to observe generation %d.", d.Generation)}
	}
	if st.UpdatedNumberScheduled < st.DesiredNumberScheduled {
		if d.Spec.UpdateStrategy.Type == appsv1.OnDeleteDaemonSetStrategyType {
			return Status{Message: fmt.Sprintf("Update strategy OnDelete: the new pod template takes effect when pods are deleted (%d of %d pods updated).", st.UpdatedNumberScheduled, st.DesiredNumberScheduled)}
		}
		return Status{Message: fmt.Sprintf("Rollout in progress: %d of %d new pods updated.", st.UpdatedNumberScheduled, st.DesiredNumberScheduled)}
	}
	if st.NumberAvailable < st.DesiredNumberScheduled {
		return Status{Message: fmt.Sprintf("Rollout in progress: %d of %d updated pods available.", st.NumberAvailable, st.DesiredNumberScheduled)}
	}
	return Status{Complete: true, Message: fmt.Sprintf("Rollout complete: %d of %d pods updated and available.", st.NumberAvailable, st.DesiredNumberScheduled)}
}
