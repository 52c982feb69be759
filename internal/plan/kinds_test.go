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

	jsonpatchapply "github.com/evanphx/json-patch/v5"
	. "github.com/onsi/gomega"
	"gomodules.xyz/jsonpatch/v2"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/util/intstr"

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

// MutationPatch, applied to an Argo Rollout as the API server applies a
// webhook's patch, sets exactly the drain fields: afterwards its view has
// nothing pending, and the rest of the object (image, env, strategy, and a
// field this build does not know) is as it was.
func TestMutationPatchRollout(t *testing.T) {
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
						"name": "app", "image": "example/web:2", "fieldFromANewerAPIServer": "kept",
						"env":   []any{map[string]any{"name": "MODE", "value": "prod"}},
						"ports": []any{map[string]any{"containerPort": int64(8080)}},
					}},
				},
			},
		},
	}}
	w, err := workload.OfRollout(u, nil)
	g.Expect(err).NotTo(HaveOccurred())
	p := Compute(Input{Workload: w, Attachments: []discovery.Attachment{albIP("app", 8080)}, Defaults: ruleSettings()})
	g.Expect(Changes(w, p)).To(HaveLen(3))

	patched := &unstructured.Unstructured{Object: applyPatch(g, u.Object, MutationPatch(w, p))}
	after, err := workload.OfRollout(patched, nil)
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(Changes(after, p)).To(BeEmpty(), "nothing pending once patched")
	c, _, _ := unstructured.NestedSlice(patched.Object, "spec", "template", "spec", "containers")
	g.Expect(c[0]).To(HaveKeyWithValue("image", "example/web:2"))
	g.Expect(c[0]).To(HaveKeyWithValue("fieldFromANewerAPIServer", "kept"))
	g.Expect(c[0]).To(HaveKey("env"))
	g.Expect(c[0]).To(HaveKey("lifecycle"))
	g.Expect(c[0]).To(HaveKey("readinessProbe"))
	strategy, _ := json.Marshal(patched.Object["spec"].(map[string]any)["strategy"])
	g.Expect(strategy).To(MatchJSON(`{"canary":{"steps":[{"setWeight":20}]}}`))
	seconds, _, _ := unstructured.NestedFieldNoCopy(patched.Object, "spec", "template", "spec", "terminationGracePeriodSeconds")
	g.Expect(seconds).To(BeEquivalentTo(70))
}

// A template with no containers has nothing to protect and no pod spec a
// patch could rely on.
func TestMutationPatchWithoutContainers(t *testing.T) {
	g := NewWithT(t)
	w := workload.OfDeployment(deployment())
	p := Compute(Input{Workload: w, Attachments: []discovery.Attachment{albIP("app", 8080)}, Defaults: ruleSettings()})
	g.Expect(MutationPatch(w, p)).To(BeNil())
}

// applyPatch applies a webhook's JSON patch to obj as the API server does
// (RFC 6902 on the object's JSON) and returns the patched object's JSON
// decoded into a map.
func applyPatch(g Gomega, obj any, ops []jsonpatch.JsonPatchOperation) map[string]any {
	doc, err := json.Marshal(obj)
	g.Expect(err).NotTo(HaveOccurred())
	raw, err := json.Marshal(ops)
	g.Expect(err).NotTo(HaveOccurred())
	patch, err := jsonpatchapply.DecodePatch(raw)
	g.Expect(err).NotTo(HaveOccurred())
	patchedJSON, err := patch.Apply(doc)
	g.Expect(err).NotTo(HaveOccurred(), "patch %s", raw)
	var out map[string]any
	g.Expect(json.Unmarshal(patchedJSON, &out)).To(Succeed())
	return out
}

// The patch has one operation for each drain field Mutate changed, and
// touches nothing else: a user's postStart hook stays, a probe only the
// operator applied is removed when it is no longer planned, and a write that
// already carries the plan gets no patch.
func TestMutationPatchOperations(t *testing.T) {
	const spec = "/spec/template/spec"
	ownedProbe := func() *appsv1.Deployment {
		d := deployment(withProbe(container("app", 8080), &corev1.Probe{ProbeHandler: corev1.ProbeHandler{
			HTTPGet: &corev1.HTTPGetAction{Path: "/", Port: intstr.FromInt32(8080), Scheme: corev1.URISchemeHTTP}}}))
		d.ManagedFields = []metav1.ManagedFieldsEntry{operatorOwns(containerFields("app", ownedProbeFields))}
		return d
	}
	postStart := container("app", 8080)
	postStart.Lifecycle = &corev1.Lifecycle{PostStart: execHook("/bin/warm-up")}
	for _, tc := range []struct {
		name      string
		d         *appsv1.Deployment
		overrides Overrides
		want      []string // op path
	}{
		{name: "new Deployment", d: deployment(container("app", 8080)),
			want: []string{"add " + spec + "/terminationGracePeriodSeconds", "add " + spec + "/containers/0/lifecycle", "add " + spec + "/containers/0/readinessProbe"}},
		{name: "grace 30 and a postStart hook", d: withGrace(deployment(postStart), 30),
			want: []string{"add " + spec + "/terminationGracePeriodSeconds", "add " + spec + "/containers/0/lifecycle/preStop", "add " + spec + "/containers/0/readinessProbe"}},
		{name: "a sidecar sleeps too, without a probe", d: deployment(container("sidecar"), container("app", 8080)),
			want: []string{"add " + spec + "/terminationGracePeriodSeconds", "add " + spec + "/containers/0/lifecycle", "add " + spec + "/containers/1/lifecycle", "add " + spec + "/containers/1/readinessProbe"}},
		{name: "probe the operator alone applied, now left to the user", d: ownedProbe(), overrides: Overrides{LeaveReadinessProbes: true},
			want: []string{"add " + spec + "/terminationGracePeriodSeconds", "add " + spec + "/containers/0/lifecycle", "remove " + spec + "/containers/0/readinessProbe"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			g := NewWithT(t)
			in := Input{Workload: workload.OfDeployment(tc.d), Attachments: []discovery.Attachment{albIP("app", 8080)}, Defaults: ruleSettings(), Overrides: tc.overrides}
			p := Compute(in)
			original := tc.d.DeepCopy()
			ops := MutationPatch(workload.OfDeployment(tc.d), p)
			var got []string
			for _, op := range ops {
				got = append(got, op.Operation+" "+op.Path)
			}
			g.Expect(got).To(Equal(tc.want))

			var patched appsv1.Deployment
			g.Expect(runtime.DefaultUnstructuredConverter.FromUnstructured(applyPatch(g, original, ops), &patched)).To(Succeed())
			after := workload.OfDeployment(&patched)
			g.Expect(Changes(after, Compute(Input{Workload: after, Attachments: in.Attachments, Defaults: in.Defaults, Overrides: in.Overrides}))).To(BeEmpty())
			if original.Spec.Template.Spec.Containers[0].Lifecycle != nil {
				g.Expect(patched.Spec.Template.Spec.Containers[0].Lifecycle.PostStart).To(Equal(postStart.Lifecycle.PostStart), "the user's postStart hook")
			}
			g.Expect(MutationPatch(after, p)).To(BeEmpty(), "a write that carries the plan")
		})
	}
}
