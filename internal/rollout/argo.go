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

package rollout

import (
	"fmt"
	"strconv"
	"strings"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
)

// Argo Rollouts' phases (status.phase), computed by its controller.
const (
	phaseHealthy     = "Healthy"
	phaseProgressing = "Progressing"
	phasePaused      = "Paused"
	phaseDegraded    = "Degraded"
)

// OfRollout judges an Argo Rollout as `kubectl argo rollouts status` does:
// the controller must have observed the generation (and, with workloadRef,
// refGeneration, the referenced Deployment's), must not be unpausing, and
// its phase must be Healthy. Healthy is not yet drained with traffic routing
// or blue-green (the old ReplicaSet waits out scaleDownDelaySeconds), so it is
// complete only when no pod of another template is left (pods are the
// Rollout's, read from the cache). A paused step is reported as such.
func OfRollout(u *unstructured.Unstructured, refGeneration int64, pods []corev1.Pod) Status {
	status, _, _ := unstructured.NestedMap(u.Object, "status")
	str := func(path ...string) string { v, _, _ := unstructured.NestedString(status, path...); return v }
	num := func(path ...string) int64 { v, _, _ := unstructured.NestedInt64(status, path...); return v }

	if observed, err := strconv.ParseInt(str("observedGeneration"), 10, 64); err == nil && observed < u.GetGeneration() {
		return Status{Message: fmt.Sprintf("Waiting for the Argo Rollouts controller to observe generation %d.", u.GetGeneration())}
	}
	if refGeneration > 0 {
		if observed, err := strconv.ParseInt(str("workloadObservedGeneration"), 10, 64); err != nil || observed < refGeneration {
			return Status{Message: fmt.Sprintf("Waiting for the Argo Rollouts controller to observe generation %d of the referenced Deployment.", refGeneration)}
		}
	}
	pauses, _, _ := unstructured.NestedSlice(status, "pauseConditions")
	controllerPause, _, _ := unstructured.NestedBool(status, "controllerPause")
	if controllerPause && len(pauses) == 0 {
		return Status{Message: "Rollout in progress: waiting for the Rollout to unpause."}
	}
	counts := fmt.Sprintf("%d updated, %d available of %d replicas", num("updatedReplicas"), num("availableReplicas"), num("replicas"))
	switch phase, message := str("phase"), str("message"); phase {
	case phaseHealthy:
	case phasePaused:
		step := ""
		if i, found, _ := unstructured.NestedInt64(status, "currentStepIndex"); found {
			steps, _, _ := unstructured.NestedSlice(u.Object, "spec", "strategy", "canary", "steps")
			step = fmt.Sprintf(" at step %d of %d", i+1, len(steps))
		}
		return Status{Message: fmt.Sprintf("Rollout paused%s (%s): %s; it goes on when promoted.", step, orReason(message, pauses), counts)}
	case phaseDegraded:
		return Status{Message: fmt.Sprintf("Rollout degraded: %s (%s).", message, counts)}
	case phaseProgressing, "":
		return Status{Message: fmt.Sprintf("Rollout in progress: %s (%s).", strings.TrimSuffix(orText(message, "progressing"), "."), counts)}
	default:
		return Status{Message: fmt.Sprintf("Rollout phase %s: %s (%s).", phase, message, counts)}
	}
	current := str("currentPodHash")
	for i := range pods {
		p := &pods[i]
		if p.DeletionTimestamp != nil || p.Status.Phase == corev1.PodSucceeded || p.Status.Phase == corev1.PodFailed {
			continue
		}
		if hash := p.Labels["rollouts-pod-template-hash"]; current != "" && hash != "" && hash != current {
			return Status{Message: fmt.Sprintf("Rollout healthy, old pods still running (for example %s, scaleDownDelaySeconds): %s.", p.Name, counts)}
		}
	}
	return Status{Complete: true, Message: fmt.Sprintf("Rollout complete: Healthy, %s.", counts)}
}

func orReason(message string, pauses []any) string {
	if message != "" {
		return message
	}
	for _, p := range pauses {
		if m, ok := p.(map[string]any); ok {
			if r, ok := m["reason"].(string); ok {
				return r
			}
		}
	}
	return "paused"
}

func orText(s, def string) string {
	if s == "" {
		return def
	}
	return s
}
