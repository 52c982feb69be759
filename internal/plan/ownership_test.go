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

package plan

import (
	"testing"

	. "github.com/onsi/gomega"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

func TestOwned(t *testing.T) {
	// What the API server records after the operator applied seed 000's plan
	// and after kubectl applied the user's manifest.
	const operatorApply = `{"f:spec":{"f:template":{"f:spec":{
		"f:containers":{"k:{\"name\":\"demo-nginx\"}":{".":{},"f:name":{},
			"f:lifecycle":{"f:preStop":{"f:sleep":{"f:seconds":{}}}},
			"f:readinessProbe":{"f:failureThreshold":{},"f:httpGet":{"f:path":{},"f:port":{},"f:scheme":{}},
				"f:periodSeconds":{},"f:successThreshold":{},"f:timeoutSeconds":{}}}},
		"f:terminationGracePeriodSeconds":{}}}}}`
	const kubectlApply = `{"f:spec":{"f:replicas":{},"f:selector":{},"f:template":{"f:metadata":{"f:labels":{"f:app":{}}},
		"f:spec":{"f:containers":{"k:{\"name\":\"demo-nginx\"}":{".":{},"f:image":{},"f:name":{},
			"f:ports":{"k:{\"containerPort\":80,\"protocol\":\"TCP\"}":{".":{},"f:containerPort":{}}}}}}}}}`

	tests := []struct {
		name    string
		entries []metav1.ManagedFieldsEntry
		want    Ownership
	}{
		{name: "no managed fields", want: Ownership{Containers: map[string]ContainerOwnership{}}},
		{
			name:    "operator's apply",
			entries: []metav1.ManagedFieldsEntry{managedBy("kubectl", metav1.ManagedFieldsOperationApply, kubectlApply), operatorOwns(operatorApply)},
			want: Ownership{TerminationGracePeriodSeconds: true, Containers: map[string]ContainerOwnership{
				"demo-nginx": {PreStop: true, ReadinessProbe: true, ReadinessProbeSole: true},
			}},
		},
		{
			name:    "only the user's apply",
			entries: []metav1.ManagedFieldsEntry{managedBy("kubectl", metav1.ManagedFieldsOperationApply, kubectlApply)},
			want:    Ownership{Containers: map[string]ContainerOwnership{}},
		},
		{
			name: "an Update by the same manager name is not the operator's apply",
			entries: []metav1.ManagedFieldsEntry{
				managedBy(FieldManager, metav1.ManagedFieldsOperationUpdate, containerFields("app", ownedSleepFields)),
			},
			want: Ownership{Containers: map[string]ContainerOwnership{}},
		},
		{
			name: "status subresource is ignored",
			entries: []metav1.ManagedFieldsEntry{func() metav1.ManagedFieldsEntry {
				e := operatorOwns(operatorApply)
				e.Subresource = "status"
				return e
			}()},
			want: Ownership{Containers: map[string]ContainerOwnership{}},
		},
		{
			name: "probe shared with another manager",
			entries: []metav1.ManagedFieldsEntry{
				operatorOwns(containerFields("app", ownedProbeFields)),
				managedBy("kubectl-edit", metav1.ManagedFieldsOperationUpdate, containerFields("app", `"f:readinessProbe":{"f:initialDelaySeconds":{}}`)),
			},
			want: Ownership{Containers: map[string]ContainerOwnership{"app": {ReadinessProbe: true, ReadinessProbeSole: true, ReadinessProbeOthers: true}}},
		},
		{
			name: "probe fully co-owned by another manager",
			entries: []metav1.ManagedFieldsEntry{
				operatorOwns(containerFields("app", `"f:readinessProbe":{"f:tcpSocket":{"f:port":{}},"f:periodSeconds":{}}`)),
				managedBy("kubectl", metav1.ManagedFieldsOperationApply, containerFields("app", `"f:readinessProbe":{"f:tcpSocket":{"f:port":{}},"f:periodSeconds":{},"f:timeoutSeconds":{}}`)),
			},
			want: Ownership{Containers: map[string]ContainerOwnership{"app": {ReadinessProbe: true, ReadinessProbeOthers: true}}},
		},
		{
			name: "several containers, exec preStop",
			entries: []metav1.ManagedFieldsEntry{operatorOwns(`{"f:spec":{"f:template":{"f:spec":{"f:containers":{
				"k:{\"name\":\"app\"}":{".":{},"f:name":{},"f:lifecycle":{"f:preStop":{"f:exec":{"f:command":{}}}}},
				"k:{\"name\":\"worker\"}":{".":{},"f:name":{},"f:readinessProbe":{"f:tcpSocket":{"f:port":{}}}}}}}}}`)},
			want: Ownership{Containers: map[string]ContainerOwnership{
				"app":    {PreStop: true},
				"worker": {ReadinessProbe: true, ReadinessProbeSole: true},
			}},
		},
		{
			name:    "malformed FieldsV1 owns nothing",
			entries: []metav1.ManagedFieldsEntry{operatorOwns(`{"f:spec":`)},
			want:    Ownership{Containers: map[string]ContainerOwnership{}},
		},
		{
			name:    "malformed container key is skipped",
			entries: []metav1.ManagedFieldsEntry{operatorOwns(`{"f:spec":{"f:template":{"f:spec":{"f:containers":{"k:{name}":{"f:readinessProbe":{}},"v:1":{}}}}}}`)},
			want:    Ownership{Containers: map[string]ContainerOwnership{}},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d := deployment(container("app"))
			d.ManagedFields = tt.entries
			NewWithT(t).Expect(Owned(d.ManagedFields)).To(Equal(tt.want))
		})
	}
	NewWithT(t).Expect(Owned(nil)).To(Equal(Ownership{Containers: map[string]ContainerOwnership{}}))
}
