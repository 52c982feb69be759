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
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus/testutil"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client/fake"

	gdv1 "github.com/gracefuldrain/gracefuldrain/api/v1alpha1"
)

// The workloads' metrics are what the cached GracefulDrains say, and only the
// leader reports them.
func TestWorkloadCollector(t *testing.T) {
	drain := func(name string, mode gdv1.Mode, conds ...metav1.Condition) *gdv1.GracefulDrain {
		return &gdv1.GracefulDrain{
			ObjectMeta: metav1.ObjectMeta{Namespace: "shop", Name: name, OwnerReferences: []metav1.OwnerReference{{
				APIVersion: "apps/v1", Kind: "Deployment", Name: name, UID: "u-" + "name", Controller: ptr.To(true)}}},
			Status: gdv1.GracefulDrainStatus{Mode: mode, Conditions: conds},
		}
	}
	cond := func(t, status, reason string, at int64) metav1.Condition {
		return metav1.Condition{Type: t, Status: metav1.ConditionStatus(status), Reason: reason, LastTransitionTime: metav1.Unix(at, 0)}
	}
	conflicted := drain("api", gdv1.ModeEnforce,
		cond(gdv1.ConditionReady, "False", gdv1.ReasonConflict, 1700000000),
		cond(gdv1.ConditionConflict, "True", gdv1.ReasonConflict, 1700000000))
	conflicted.Status.Reverts = &gdv1.RevertStatus{Count: 4, Manager: "argocd-controller"}
	c := fake.NewClientBuilder().WithScheme(testScheme).WithObjects(
		drain("web", gdv1.ModeEnforce, cond(gdv1.ConditionReady, "True", gdv1.ReasonProtected, 1600000000)),
		drain("shop-ui", gdv1.ModeEnforce, cond(gdv1.ConditionReady, "True", gdv1.ReasonProtected, 1600000000)),
		conflicted,
		drain("legacy", gdv1.ModeAudit,
			cond(gdv1.ConditionReady, "False", gdv1.ReasonInvalidConfiguration, 1690000000),
			cond(gdv1.ConditionPlanApplied, "False", gdv1.ReasonInvalidConfiguration, 1690000000)),
		drain("new", gdv1.ModeEnforce),
	).Build()

	elected := make(chan struct{})
	collector := NewWorkloadCollector(c, elected)
	if n := testutil.CollectAndCount(collector); n != 0 {
		t.Fatalf("a replica that is not the leader reported %d series", n)
	}
	close(elected)
	want := `
# HELP gracefuldrain_invalid_configurations Workloads whose configuration is invalid now (reason InvalidConfiguration): nothing is changed on them.
# TYPE gracefuldrain_invalid_configurations gauge
gracefuldrain_invalid_configurations 1
# HELP gracefuldrain_workload_conflict 1 for each workload whose drain settings another field manager keeps reverting (condition Conflict=True), naming that manager.
# TYPE gracefuldrain_workload_conflict gauge
gracefuldrain_workload_conflict{kind="Deployment",manager="argocd-controller",name="api",namespace="shop"} 1
# HELP gracefuldrain_workload_not_ready_since_timestamp_seconds For each managed workload whose Ready condition is not True: when it stopped being True (its lastTransitionTime), in Unix seconds.
# TYPE gracefuldrain_workload_not_ready_since_timestamp_seconds gauge
gracefuldrain_workload_not_ready_since_timestamp_seconds{kind="Deployment",mode="audit",name="legacy",namespace="shop",reason="InvalidConfiguration"} 1.69e+09
gracefuldrain_workload_not_ready_since_timestamp_seconds{kind="Deployment",mode="enforce",name="api",namespace="shop",reason="Conflict"} 1.7e+09
# HELP gracefuldrain_workloads Managed workloads (one GracefulDrain each), by workload kind, mode and Ready condition status.
# TYPE gracefuldrain_workloads gauge
gracefuldrain_workloads{kind="Deployment",mode="audit",ready="False"} 1
gracefuldrain_workloads{kind="Deployment",mode="enforce",ready="False"} 1
gracefuldrain_workloads{kind="Deployment",mode="enforce",ready="True"} 2
gracefuldrain_workloads{kind="Deployment",mode="enforce",ready="Unknown"} 1
`
	if err := testutil.CollectAndCompare(collector, strings.NewReader(want)); err != nil {
		t.Fatal(err)
	}
}
