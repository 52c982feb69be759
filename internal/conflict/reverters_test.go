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

package conflict

import (
	"testing"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/gracefuldrain/gracefuldrain/internal/fieldowners"
	"github.com/gracefuldrain/gracefuldrain/internal/plan"
)

var graceChange = plan.Change{Field: "terminationGracePeriodSeconds", Path: fieldowners.PodSpecField("terminationGracePeriodSeconds")}

func preStopChange(container string) plan.Change {
	return plan.Change{Field: "containers[" + container + "].lifecycle.preStop", Path: fieldowners.ContainerField(container, "lifecycle", "preStop")}
}

func TestReverters(t *testing.T) {
	at := func(sec int64) *metav1.Time { t := metav1.Unix(sec, 0); return &t }
	entry := func(manager string, when *metav1.Time, fields string) metav1.ManagedFieldsEntry {
		return metav1.ManagedFieldsEntry{Manager: manager, Operation: metav1.ManagedFieldsOperationApply, Time: when,
			FieldsV1: &metav1.FieldsV1{Raw: []byte(fields)}}
	}
	grace := `{"f:spec":{"f:template":{"f:spec":{"f:terminationGracePeriodSeconds":{}}}}}`
	preStop := `{"f:spec":{"f:template":{"f:spec":{"f:containers":{"k:{\"name\":\"app\"}":{".":{},"f:name":{},"f:lifecycle":{"f:preStop":{"f:exec":{"f:command":{}}}}}}}}}}`
	image := `{"f:spec":{"f:template":{"f:spec":{"f:containers":{"k:{\"name\":\"app\"}":{".":{},"f:name":{},"f:image":{}}}}}}}`

	tests := []struct {
		name    string
		entries []metav1.ManagedFieldsEntry
		changes []plan.Change
		want    []string
	}{
		{name: "grace reverted by flux", entries: []metav1.ManagedFieldsEntry{
			entry(plan.FieldManager, at(50), grace), entry("kubectl", at(10), image), entry("flux", at(40), grace),
		}, changes: []plan.Change{graceChange}, want: []string{"flux"}},
		{name: "most recent first", entries: []metav1.ManagedFieldsEntry{
			entry("old-script", at(10), grace), entry("argocd", at(90), grace),
		}, changes: []plan.Change{graceChange}, want: []string{"argocd", "old-script"}},
		{name: "container preStop", entries: []metav1.ManagedFieldsEntry{
			entry("helm", at(10), preStop), entry("kubectl", at(20), image),
		}, changes: []plan.Change{preStopChange("app")}, want: []string{"helm"}},
		{name: "other container not matched", entries: []metav1.ManagedFieldsEntry{entry("helm", at(10), preStop)},
			changes: []plan.Change{preStopChange("sidecar")}, want: []string{}},
		{name: "status subresource ignored", entries: []metav1.ManagedFieldsEntry{
			{Manager: "kube-controller-manager", Subresource: "status", Time: at(99), FieldsV1: &metav1.FieldsV1{Raw: []byte(grace)}},
		}, changes: []plan.Change{graceChange}, want: []string{}},
		{name: "garbage fields ignored", entries: []metav1.ManagedFieldsEntry{entry("x", at(1), "{not json")},
			changes: []plan.Change{graceChange}, want: []string{}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := Reverters(tt.entries, tt.changes)
			if len(got) != len(tt.want) {
				t.Fatalf("Reverters = %v, want %v", got, tt.want)
			}
			for i := range got {
				if got[i] != tt.want[i] {
					t.Fatalf("Reverters = %v, want %v", got, tt.want)
				}
			}
		})
	}
}
