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

package report

import (
	"fmt"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	gdv1 "github.com/gracefuldrain/gracefuldrain/api/v1alpha1"
)

// recentRestart is how long ago a container restart still counts as current.
const recentRestart = time.Hour

// servingCondition answers seed 003's question: can the load balancer send
// requests anywhere? No ready pod means every request fails; a container
// restarted by its liveness probe fails the requests sent to it meanwhile.
func servingCondition(in Input) metav1.Condition {
	c := metav1.Condition{Type: gdv1.ConditionServing}
	if in.Workload.Replicas != nil && *in.Workload.Replicas == 0 {
		c.Status, c.Reason, c.Message = metav1.ConditionTrue, gdv1.ReasonScaledToZero, "Scaled to zero replicas: there is nothing to serve."
		return c
	}
	pods := activePods(in.Pods)
	if len(pods) == 0 {
		c.Status, c.Reason, c.Message = metav1.ConditionUnknown, gdv1.ReasonPending, "No pod of the "+string(in.Workload.Kind)+" exists yet."
		return c
	}
	ready := 0
	for i := range pods {
		if podReady(&pods[i]) {
			ready++
		}
	}
	if ready == 0 {
		c.Status, c.Reason = metav1.ConditionFalse, gdv1.ReasonNoReadyPods
		c.Message = fmt.Sprintf("None of the %d pods is ready, so the load balancer has no healthy target and answers every request with 502 or 503. Check why the readiness probe fails (kubectl describe pod %s) and the app's logs.",
			len(pods), pods[0].Name)
		return c
	}
	if msg := livenessRestarts(in, pods); msg != "" {
		c.Status, c.Reason, c.Message = metav1.ConditionFalse, gdv1.ReasonLivenessRestarts, msg
		return c
	}
	c.Status, c.Reason = metav1.ConditionTrue, gdv1.ReasonServing
	c.Message = fmt.Sprintf("%d of %d pods are ready to take traffic.", ready, len(pods))
	return c
}

// livenessRestarts finds a recent restart of a container that has a liveness
// probe and was stopped by a signal (exit 137/143, or 0 when the app exits
// cleanly on SIGTERM), which is how the kubelet restarts a container whose
// liveness probe fails. Out-of-memory kills and app crashes are not counted.
func livenessRestarts(in Input, pods []corev1.Pod) string {
	probed := map[string]bool{}
	for _, c := range in.Workload.Containers() {
		if c.LivenessProbe != nil {
			probed[c.Name] = true
		}
	}
	if len(probed) == 0 {
		return ""
	}
	for i := range pods {
		for _, cs := range pods[i].Status.ContainerStatuses {
			t := cs.LastTerminationState.Terminated
			if !probed[cs.Name] || cs.RestartCount == 0 || t == nil || t.Reason == "OOMKilled" {
				continue
			}
			if t.ExitCode != 137 && t.ExitCode != 143 && t.ExitCode != 0 {
				continue
			}
			if !in.Now.IsZero() && in.Now.Sub(t.FinishedAt.Time) > recentRestart {
				continue
			}
			return fmt.Sprintf("Container %s of pod %s was restarted %d times, last at %s after being stopped by a signal (exit code %d), as the kubelet does when its livenessProbe fails; requests sent to it fail while it restarts. Use a liveness probe only for states the app cannot recover from, and the readiness probe for \"not ready right now\".",
				cs.Name, pods[i].Name, cs.RestartCount, t.FinishedAt.UTC().Format(time.RFC3339), t.ExitCode)
		}
	}
	return ""
}
