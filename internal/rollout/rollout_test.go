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
	"strings"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/utils/ptr"
)

func TestOfDeployment(t *testing.T) {
	done := func() *appsv1.Deployment {
		return &appsv1.Deployment{
			ObjectMeta: metav1.ObjectMeta{Generation: 4},
			Spec:       appsv1.DeploymentSpec{Replicas: ptr.To[int32](3)},
			Status: appsv1.DeploymentStatus{ObservedGeneration: 4, Replicas: 3, UpdatedReplicas: 3,
				ReadyReplicas: 3, AvailableReplicas: 3},
		}
	}
	tests := []struct {
		name     string
		mutate   func(*appsv1.Deployment)
		complete bool
		message  string
	}{
		{name: "complete", mutate: func(*appsv1.Deployment) {}, complete: true, message: "Rollout complete: 3 of 3"},
		{name: "replicas default to one", mutate: func(d *appsv1.Deployment) {
			d.Spec.Replicas = nil
			d.Status = appsv1.DeploymentStatus{ObservedGeneration: 4, Replicas: 1, UpdatedReplicas: 1, AvailableReplicas: 1}
		}, complete: true, message: "1 of 1"},
		{name: "generation not observed", mutate: func(d *appsv1.Deployment) { d.Generation = 5 }, message: "observe generation 5"},
		{name: "new replicas not all updated", mutate: func(d *appsv1.Deployment) { d.Status.UpdatedReplicas = 1 }, message: "1 of 3 new replicas updated"},
		{name: "old replicas still running", mutate: func(d *appsv1.Deployment) { d.Status.Replicas = 4 }, message: "1 old replicas pending termination"},
		{name: "updated but not available", mutate: func(d *appsv1.Deployment) { d.Status.AvailableReplicas = 2 }, message: "2 of 3 updated replicas available"},
		{name: "progress deadline exceeded wins", mutate: func(d *appsv1.Deployment) {
			d.Status.Conditions = []appsv1.DeploymentCondition{{Type: appsv1.DeploymentProgressing, Reason: "ProgressDeadlineExceeded", Message: "ReplicaSet web-7 has timed out progressing."}}
		}, message: "Rollout stalled: ReplicaSet web-7"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d := done()
			tt.mutate(d)
			got := OfDeployment(d)
			if got.Complete != tt.complete || !strings.Contains(got.Message, tt.message) {
				t.Fatalf("OfDeployment = %+v, want complete=%v with %q", got, tt.complete, tt.message)
			}
		})
	}
}

func TestOfStatefulSet(t *testing.T) {
	done := func() *appsv1.StatefulSet {
		return &appsv1.StatefulSet{
			ObjectMeta: metav1.ObjectMeta{Generation: 3},
			Spec: appsv1.StatefulSetSpec{Replicas: ptr.To[int32](3),
				UpdateStrategy: appsv1.StatefulSetUpdateStrategy{Type: appsv1.RollingUpdateStatefulSetStrategyType}},
			Status: appsv1.StatefulSetStatus{ObservedGeneration: 3, Replicas: 3, ReadyReplicas: 3, UpdatedReplicas: 3,
				CurrentReplicas: 3, CurrentRevision: "web-7", UpdateRevision: "web-7"},
		}
	}
	tests := []struct {
		name     string
		mutate   func(*appsv1.StatefulSet)
		complete bool
		message  string
	}{
		{name: "complete", mutate: func(*appsv1.StatefulSet) {}, complete: true, message: "3 pods at revision web-7"},
		{name: "generation not observed", mutate: func(s *appsv1.StatefulSet) { s.Generation = 4 }, message: "observe generation 4"},
		{name: "pods not ready", mutate: func(s *appsv1.StatefulSet) { s.Status.ReadyReplicas = 2 }, message: "2 of 3 pods ready"},
		{name: "revision rolling", mutate: func(s *appsv1.StatefulSet) { s.Status.UpdateRevision, s.Status.UpdatedReplicas = "web-8", 1 }, message: "1 of 3 pods at revision web-8"},
		{name: "partition not reached", mutate: func(s *appsv1.StatefulSet) {
			s.Spec.UpdateStrategy.RollingUpdate = &appsv1.RollingUpdateStatefulSetStrategy{Partition: ptr.To[int32](1)}
			s.Status.UpdatedReplicas = 1
		}, message: "1 of 2 new pods updated"},
		{name: "partition reached: the pods below it keep the old template", mutate: func(s *appsv1.StatefulSet) {
			s.Spec.UpdateStrategy.RollingUpdate = &appsv1.RollingUpdateStatefulSetStrategy{Partition: ptr.To[int32](1)}
			s.Status.UpdatedReplicas, s.Status.UpdateRevision = 2, "web-8"
		}, message: "keep the old template until the partition is lowered"},
		{name: "OnDelete, pods not deleted yet", mutate: func(s *appsv1.StatefulSet) {
			s.Spec.UpdateStrategy.Type = appsv1.OnDeleteStatefulSetStrategyType
			s.Status.UpdateRevision, s.Status.UpdatedReplicas = "web-8", 0
		}, message: "takes effect when pods are deleted"},
		{name: "OnDelete, every pod replaced", mutate: func(s *appsv1.StatefulSet) {
			s.Spec.UpdateStrategy.Type = appsv1.OnDeleteStatefulSetStrategyType
		}, complete: true, message: "OnDelete"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := done()
			tt.mutate(s)
			got := OfStatefulSet(s)
			if got.Complete != tt.complete || !strings.Contains(got.Message, tt.message) {
				t.Fatalf("OfStatefulSet = %+v, want complete=%v with %q", got, tt.complete, tt.message)
			}
		})
	}
}

func TestOfDaemonSet(t *testing.T) {
	done := func() *appsv1.DaemonSet {
		return &appsv1.DaemonSet{
			ObjectMeta: metav1.ObjectMeta{Generation: 2},
			Spec:       appsv1.DaemonSetSpec{UpdateStrategy: appsv1.DaemonSetUpdateStrategy{Type: appsv1.RollingUpdateDaemonSetStrategyType}},
			Status:     appsv1.DaemonSetStatus{ObservedGeneration: 2, DesiredNumberScheduled: 5, UpdatedNumberScheduled: 5, NumberAvailable: 5},
		}
	}
	tests := []struct {
		name     string
		mutate   func(*appsv1.DaemonSet)
		complete bool
		message  string
	}{
		{name: "complete", mutate: func(*appsv1.DaemonSet) {}, complete: true, message: "5 of 5"},
		{name: "generation not observed", mutate: func(d *appsv1.DaemonSet) { d.Generation = 3 }, message: "observe generation 3"},
		{name: "not all updated", mutate: func(d *appsv1.DaemonSet) { d.Status.UpdatedNumberScheduled = 2 }, message: "2 of 5 new pods updated"},
		{name: "not all available", mutate: func(d *appsv1.DaemonSet) { d.Status.NumberAvailable = 4 }, message: "4 of 5 updated pods available"},
		{name: "OnDelete", mutate: func(d *appsv1.DaemonSet) {
			d.Spec.UpdateStrategy.Type = appsv1.OnDeleteDaemonSetStrategyType
			d.Status.UpdatedNumberScheduled = 0
		}, message: "takes effect when pods are deleted"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d := done()
			tt.mutate(d)
			got := OfDaemonSet(d)
			if got.Complete != tt.complete || !strings.Contains(got.Message, tt.message) {
				t.Fatalf("OfDaemonSet = %+v, want complete=%v with %q", got, tt.complete, tt.message)
			}
		})
	}
}

func TestOfRollout(t *testing.T) {
	rollout := func(status map[string]any) *unstructured.Unstructured {
		u := &unstructured.Unstructured{Object: map[string]any{
			"apiVersion": "argoproj.io/v1alpha1", "kind": "Rollout",
			"metadata": map[string]any{"name": "web", "namespace": "shop", "generation": int64(4)},
			"spec": map[string]any{"strategy": map[string]any{"canary": map[string]any{"steps": []any{
				map[string]any{"setWeight": int64(25)}, map[string]any{"pause": map[string]any{}}, map[string]any{"setWeight": int64(50)}}}}},
		}}
		base := map[string]any{"observedGeneration": "4", "phase": "Healthy", "currentPodHash": "abc",
			"replicas": int64(4), "updatedReplicas": int64(4), "availableReplicas": int64(4)}
		for k, v := range status {
			if v == nil {
				delete(base, k)
			} else {
				base[k] = v
			}
		}
		u.Object["status"] = base
		return u
	}
	pod := func(hash string) corev1.Pod {
		return corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: "web-" + hash + "-x", Labels: map[string]string{"rollouts-pod-template-hash": hash}},
			Status: corev1.PodStatus{Phase: corev1.PodRunning}}
	}
	tests := []struct {
		name     string
		status   map[string]any
		refGen   int64
		pods     []corev1.Pod
		complete bool
		message  string
	}{
		{name: "healthy", pods: []corev1.Pod{pod("abc")}, complete: true, message: "Healthy, 4 updated, 4 available of 4"},
		{name: "generation not observed", status: map[string]any{"observedGeneration": "3"}, message: "observe generation 4"},
		{name: "old hash format counts as observed", status: map[string]any{"observedGeneration": "7d4b9c"}, complete: true, message: "Healthy"},
		{name: "paused at a canary step", status: map[string]any{"phase": "Paused", "message": "CanaryPauseStep", "currentStepIndex": int64(1),
			"pauseConditions": []any{map[string]any{"reason": "CanaryPauseStep"}}}, message: "paused at step 2 of 3 (CanaryPauseStep)"},
		{name: "unpausing", status: map[string]any{"controllerPause": true}, message: "waiting for the Rollout to unpause"},
		{name: "degraded", status: map[string]any{"phase": "Degraded", "message": "RolloutAborted: Rollout aborted update to revision 3"}, message: "degraded: RolloutAborted"},
		{name: "progressing", status: map[string]any{"phase": "Progressing", "message": "more replicas need to be updated", "updatedReplicas": int64(1)},
			message: "more replicas need to be updated (1 updated"},
		{name: "healthy but old pods still there (scaleDownDelaySeconds)", pods: []corev1.Pod{pod("abc"), pod("old")}, message: "old pods still running"},
		{name: "workloadRef: the Deployment's new generation not observed yet", refGen: 5,
			status: map[string]any{"workloadObservedGeneration": "4"}, message: "referenced Deployment"},
		{name: "workloadRef observed", refGen: 5, status: map[string]any{"workloadObservedGeneration": "5"}, complete: true, message: "Healthy"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := OfRollout(rollout(tt.status), tt.refGen, tt.pods)
			if got.Complete != tt.complete || !strings.Contains(got.Message, tt.message) {
				t.Fatalf("OfRollout = %+v, want complete=%v with %q", got, tt.complete, tt.message)
			}
		})
	}
}
