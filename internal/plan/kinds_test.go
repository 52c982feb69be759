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
	"encoding/json"
	"testing"

	. "github.com/onsi/gomega"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"

	"github.com/gracefuldrain/gracefuldrain/internal/discovery"
	"github.com/gracefuldrain/gracefuldrain/internal/workload"
)

// Every kind's apply carries the same pod template fields, addressed to
// its own kind and name.
func TestApplyConfigurationPerKind(t *testing.T) {
	g := NewWithT(t)
	d := deployment(container("app", 8080))
	w := workload.OfDeployment(d)
	p := Compute(Input{Workload: w, Attachments: []discovery.Attachment{albIP("app", 8080)}, Defaults: ruleSettings()})
	rollout, err := RolloutApplyConfiguration(w, p)
	g.Expect(err).NotTo(HaveOccurred())
	for kind, obj := range map[string]any{
		"Deployment":  ApplyConfiguration(w, p),
		"StatefulSet": StatefulSetApplyConfiguration(w, p),
		"DaemonSet":   DaemonSetApplyConfiguration(w, p),
		"Rollout":     rollout,
	} {
		raw, err := json.Marshal(obj)
		g.Expect(err).NotTo(HaveOccurred())
		var got map[string]any
		g.Expect(json.Unmarshal(raw, &got)).To(Succeed())
		g.Expect(got["kind"]).To(Equal(kind))
		g.Expect(got["metadata"]).To(Equal(map[string]any{"name": "web", "namespace": "shop"}))
		podSpec, _, _ := unstructured.NestedMap(got, "spec", "template", "spec")
		want, _ := runtime.DefaultUnstructuredConverter.ToUnstructured(PodSpecApplyConfiguration(p))
		wantJSON, _ := json.Marshal(want)
		gotJSON, _ := json.Marshal(podSpec)
		g.Expect(gotJSON).To(MatchJSON(wantJSON), kind)
		g.Expect(podSpec).To(HaveKeyWithValue("terminationGracePeriodSeconds", BeNumerically("==", 70)), kind)
	}
}

// MutateRollout writes back exactly the drain fields into an unstructured
// Rollout: afterwards its view has nothing pending, and the rest of the
// object (image, env, strategy) is as it was.
func TestMutateRollout(t *testing.T) {
	g := NewWithT(t)
	u := &unstructured.Unstructured{Object: map[string]any{
		"apiVersion": "argoproj.io/v1alpha1", "kind": "Rollout",
		"metadata": map[string]any{"name": "web", "namespace": "shop"},
		"spec": map[string]any{
			"strategy": map[string]any{"canary": map[string]any{"steps": []any{map[string]any{"setWeight": int64(20)}}}},
			"template": map[string]any{
				"metadata": map[string]any{"labels": map[string]any{"app": "web"}},
				"spec": map[string]any{
					"terminationGracePeriodSeconds": int64(30),
					"containers": []any{map[string]any{
						"name": "app", "image": "example/web:2",
						"env":   []any{map[string]any{"name": "MODE", "value": "prod"}},
						"ports": []any{map[string]any{"containerPort": int64(8080)}},
					}},
				},
			},
		},
	}}
	before := u.DeepCopy()
	w, err := workload.OfRollout(u, nil)
	g.Expect(err).NotTo(HaveOccurred())
	p := Compute(Input{Workload: w, Attachments: []discovery.Attachment{albIP("app", 8080)}, Defaults: ruleSettings()})
	g.Expect(Changes(w, p)).To(HaveLen(3))
	g.Expect(MutateRollout(u, w, p)).To(Succeed())

	after, err := workload.OfRollout(u, nil)
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(Changes(after, p)).To(BeEmpty(), "nothing pending once written back")
	c, _, _ := unstructured.NestedSlice(u.Object, "spec", "template", "spec", "containers")
	g.Expect(c[0]).To(HaveKeyWithValue("image", "example/web:2"))
	g.Expect(c[0]).To(HaveKey("env"))
	g.Expect(c[0]).To(HaveKey("lifecycle"))
	g.Expect(c[0]).To(HaveKey("readinessProbe"))
	g.Expect(u.Object["spec"].(map[string]any)["strategy"]).To(Equal(before.Object["spec"].(map[string]any)["strategy"]))
	seconds, _, _ := unstructured.NestedInt64(u.Object, "spec", "template", "spec", "terminationGracePeriodSeconds")
	g.Expect(seconds).To(BeEquivalentTo(70))
}
