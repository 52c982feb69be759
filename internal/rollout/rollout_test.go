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
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
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
