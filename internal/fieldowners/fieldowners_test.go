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

package fieldowners

import (
	"slices"
	"testing"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/structured-merge-diff/v6/fieldpath"
)

// What the API server records after the operator applied seed 000's plan.
const operatorApply = `{"f:spec":{"f:template":{"f:spec":{
	"f:containers":{"k:{\"name\":\"demo-nginx\"}":{".":{},"f:name":{},
		"f:lifecycle":{"f:preStop":{"f:sleep":{"f:seconds":{}}}},
		"f:readinessProbe":{"f:httpGet":{"f:path":{},"f:port":{}},"f:periodSeconds":{}}}},
	"f:terminationGracePeriodSeconds":{}}}}}`

func entry(manager string, op metav1.ManagedFieldsOperationType, at int64, fields string) metav1.ManagedFieldsEntry {
	t := metav1.Unix(at, 0)
	return metav1.ManagedFieldsEntry{Manager: manager, Operation: op, Time: &t, FieldsV1: &metav1.FieldsV1{Raw: []byte(fields)}}
}

func TestOwns(t *testing.T) {
	tests := []struct {
		name string
		path fieldpath.Path
		want bool
	}{
		{"grace period, a leaf", PodSpecField("terminationGracePeriodSeconds"), true},
		{"preStop, owned below", ContainerField("demo-nginx", "lifecycle", "preStop"), true},
		{"the sleep's seconds", ContainerField("demo-nginx", "lifecycle", "preStop", "sleep", "seconds"), true},
		{"readiness probe", ContainerField("demo-nginx", "readinessProbe"), true},
		{"the container item itself", Container("demo-nginx"), true},
		{"liveness probe, not owned", ContainerField("demo-nginx", "livenessProbe"), false},
		{"another container", ContainerField("sidecar", "lifecycle", "preStop"), false},
		{"image, not owned", ContainerField("demo-nginx", "image"), false},
		{"replicas, not owned", fieldpath.MakePathOrDie("spec", "replicas"), false},
	}
	entries := Of([]metav1.ManagedFieldsEntry{entry("gracefuldrain", metav1.ManagedFieldsOperationApply, 1, operatorApply)})
	if len(entries) != 1 {
		t.Fatalf("Of parsed %d entries, want 1", len(entries))
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := entries[0].Owns(tt.path); got != tt.want {
				t.Fatalf("Owns(%s) = %v, want %v", tt.path, got, tt.want)
			}
		})
	}
}

func TestOf(t *testing.T) {
	status := entry("kube-controller-manager", metav1.ManagedFieldsOperationUpdate, 1, `{"f:status":{"f:replicas":{}}}`)
	status.Subresource = "status"
	entries := []metav1.ManagedFieldsEntry{
		entry("kubectl", metav1.ManagedFieldsOperationApply, 1, `{"f:spec":{"f:replicas":{}}}`),
		status,
		entry("broken", metav1.ManagedFieldsOperationUpdate, 1, `{"f:spec":`),
		{Manager: "no-fields", Operation: metav1.ManagedFieldsOperationUpdate},
		entry("gracefuldrain", metav1.ManagedFieldsOperationUpdate, 1, operatorApply),
		entry("gracefuldrain", metav1.ManagedFieldsOperationApply, 2, operatorApply),
	}
	managers := func(got []Entry) []string {
		var out []string
		for _, e := range got {
			out = append(out, e.Manager+"/"+string(e.Operation))
		}
		return out
	}
	tests := []struct {
		name string
		got  []Entry
		want []string
	}{
		{"Of: subresources, unparsable and empty entries left out", Of(entries), []string{"kubectl/Apply", "gracefuldrain/Update", "gracefuldrain/Apply"}},
		{"OfAllBut: also without the manager's Apply entry", OfAllBut(entries, "gracefuldrain"), []string{"kubectl/Apply", "gracefuldrain/Update"}},
	}
	for _, tt := range tests {
		if got := managers(tt.got); !slices.Equal(got, tt.want) {
			t.Errorf("%s: kept %v, want %v", tt.name, got, tt.want)
		}
	}
	applied, ok := AppliedBy(entries, "gracefuldrain")
	if !ok || applied.Time.Unix() != 2 || !applied.Owns(PodSpecField("terminationGracePeriodSeconds")) {
		t.Fatalf("AppliedBy = %+v, %v; want the parsed Apply entry at 2, not the Update", applied, ok)
	}
	if _, ok := AppliedBy(entries, "flux"); ok {
		t.Fatal("AppliedBy found an entry of a manager that has none")
	}
	if _, ok := AppliedBy(entries, "broken"); ok {
		t.Fatal("AppliedBy found an Update entry (or an unparsable one)")
	}
}

func TestOwnedSince(t *testing.T) {
	const gate = "elbv2.k8s.aws/pod-readiness-gate-inject"
	labels := func(keys ...string) string {
		s := `{"f:metadata":{"f:labels":{`
		for i, k := range keys {
			if i > 0 {
				s += ","
			}
			s += `"f:` + k + `":{}`
		}
		return s + `}}}`
	}
	tests := []struct {
		name    string
		entries []metav1.ManagedFieldsEntry
		want    int64 // unix seconds, 0 for nil
	}{
		{name: "no entries"},
		{name: "set by the operator", entries: []metav1.ManagedFieldsEntry{
			entry("kubectl-label", metav1.ManagedFieldsOperationUpdate, 200, labels("team")),
			entry("gracefuldrain", metav1.ManagedFieldsOperationApply, 100, labels(gate)),
		}, want: 100},
		{name: "two owners: the earliest", entries: []metav1.ManagedFieldsEntry{
			entry("gracefuldrain", metav1.ManagedFieldsOperationApply, 300, labels(gate)),
			entry("helm", metav1.ManagedFieldsOperationUpdate, 150, labels("team", gate)),
		}, want: 150},
		{name: "a longer key with the same start is another label", entries: []metav1.ManagedFieldsEntry{
			entry("kubectl-label", metav1.ManagedFieldsOperationUpdate, 50, labels(gate+"-legacy")),
		}},
		{name: "an annotation of that name is not the label", entries: []metav1.ManagedFieldsEntry{
			entry("kubectl-annotate", metav1.ManagedFieldsOperationUpdate, 50, `{"f:metadata":{"f:annotations":{"f:`+gate+`":{}}}}`),
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := OwnedSince(tt.entries, Label(gate))
			switch {
			case tt.want == 0 && got != nil:
				t.Fatalf("OwnedSince = %v, want nil", got)
			case tt.want != 0 && (got == nil || got.Unix() != tt.want):
				t.Fatalf("OwnedSince = %v, want %d", got, tt.want)
			}
		})
	}
}

func TestEntryOwns(t *testing.T) {
	gate := Label("elbv2.k8s.aws/pod-readiness-gate-inject")
	e := entry("kubectl-label", metav1.ManagedFieldsOperationUpdate, 1, `{"f:metadata":{"f:labels":{"f:elbv2.k8s.aws/pod-readiness-gate-inject":{}}}}`)
	if !EntryOwns(e, gate) {
		t.Fatal("EntryOwns = false for the entry that set the label")
	}
	e.Subresource = "status"
	if EntryOwns(e, gate) {
		t.Fatal("EntryOwns = true for a subresource entry")
	}
	if EntryOwns(entry("x", metav1.ManagedFieldsOperationUpdate, 1, "{not json"), gate) {
		t.Fatal("EntryOwns = true for unparsable fields")
	}
}
