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

package controllers

import (
	"context"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/tools/events"

	gdv1 "github.com/gracefuldrain/gracefuldrain/api/v1alpha1"
)

// Warnings about serving health wait for the rollout: a new workload's first
// pods are not ready while they start, and that is no reason to page anyone.
func TestServingWarningsWaitForTheRollout(t *testing.T) {
	status := func(rolledOut, serving, message string) gdv1.GracefulDrainStatus {
		var s gdv1.GracefulDrainStatus
		meta.SetStatusCondition(&s.Conditions, metav1.Condition{Type: gdv1.ConditionRolledOut, Status: metav1.ConditionFalse, Reason: rolledOut})
		meta.SetStatusCondition(&s.Conditions, metav1.Condition{Type: gdv1.ConditionServing, Status: metav1.ConditionFalse, Reason: serving, Message: message})
		return s
	}
	const inProgress, complete, stalled = gdv1.ReasonRolloutInProgress, gdv1.ReasonRolloutComplete, "ProgressDeadlineExceeded"
	for _, tt := range []struct {
		name     string
		old, cur gdv1.GracefulDrainStatus
		want     []string
	}{
		{"first pods starting", status(inProgress, gdv1.ReasonPending, ""), status(inProgress, gdv1.ReasonNoReadyPods, "None of the 1 pods is ready"), nil},
		{"more pods starting", status(inProgress, gdv1.ReasonNoReadyPods, "None of the 1 pods is ready"), status(inProgress, gdv1.ReasonNoReadyPods, "None of the 3 pods is ready"), nil},
		{"rollout over, still none ready", status(inProgress, gdv1.ReasonNoReadyPods, "None of the 3 pods is ready"), status(complete, gdv1.ReasonNoReadyPods, "None of the 3 pods is ready"),
			[]string{"Warning NoReadyPods None of the 3 pods is ready"}},
		{"rollout stalled with none ready", status(inProgress, gdv1.ReasonNoReadyPods, "None of the 3 pods is ready"), status(stalled, gdv1.ReasonNoReadyPods, "None of the 3 pods is ready"),
			[]string{"Warning NoReadyPods None of the 3 pods is ready"}},
		{"reported already, the count changed", status(complete, gdv1.ReasonNoReadyPods, "None of the 3 pods is ready"), status(complete, gdv1.ReasonNoReadyPods, "None of the 2 pods is ready"), nil},
		{"serving pods stop being ready", status(complete, gdv1.ReasonServing, ""), status(complete, gdv1.ReasonNoReadyPods, "None of the 3 pods is ready"),
			[]string{"Warning NoReadyPods None of the 3 pods is ready"}},
		{"liveness restarts after the rollout", status(complete, gdv1.ReasonNoReadyPods, "x"), status(complete, gdv1.ReasonLivenessRestarts, "restarted"),
			[]string{"Warning LivenessRestarts restarted"}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			recorder := events.NewFakeRecorder(10)
			r := &WorkloadReconciler{recorder: recorder}
			r.recordWarnings(context.Background(), &appsv1.Deployment{}, tt.old, tt.cur, nil)
			close(recorder.Events)
			var got []string
			for e := range recorder.Events {
				got = append(got, e)
			}
			if len(got) != len(tt.want) || (len(got) > 0 && got[0] != tt.want[0]) {
				t.Errorf("events %q, want %q", got, tt.want)
			}
		})
	}
}
