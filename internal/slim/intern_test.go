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

package slim

import (
	"encoding/json"
	"fmt"
	goruntime "runtime"
	"testing"
	"unsafe"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"

	gdv1 "github.com/gracefuldrain/gracefuldrain/api/v1alpha1"
)

// decoded returns a fresh decoding of obj, as an informer gets each object:
// every string its own copy.
func decoded[T any](t testing.TB, obj *T) *T {
	t.Helper()
	b, err := json.Marshal(obj)
	if err != nil {
		t.Fatal(err)
	}
	out := new(T)
	if err := json.Unmarshal(b, out); err != nil {
		t.Fatal(err)
	}
	return out
}

func sameBytes(a, b string) bool { return unsafe.StringData(a) == unsafe.StringData(b) }

func benchDrain(i int) *gdv1.GracefulDrain {
	return &gdv1.GracefulDrain{
		ObjectMeta: metav1.ObjectMeta{Namespace: "shop", Name: fmt.Sprintf("web-%d", i), UID: "u",
			Labels:          map[string]string{"app.kubernetes.io/managed-by": "gracefuldrain"},
			OwnerReferences: []metav1.OwnerReference{{APIVersion: "apps/v1", Kind: "Deployment", Name: fmt.Sprintf("web-%d", i)}}},
		Status: gdv1.GracefulDrainStatus{
			Mode:     gdv1.ModeEnforce,
			Workload: &gdv1.WorkloadReference{APIVersion: "apps/v1", Kind: "Deployment", Name: fmt.Sprintf("web-%d", i)},
			Attachments: []gdv1.Attachment{{LoadBalancer: "ALB", Source: gdv1.ObjectReference{Kind: "Ingress", Name: "shop"},
				Service: fmt.Sprintf("web-%d", i), ServicePort: "http", TargetType: "ip",
				HealthCheck: gdv1.HealthCheck{Protocol: "HTTP", Path: "/", Port: "traffic-port", SuccessCodes: "200"}}},
			Plan: &gdv1.DrainPlan{SleepMethod: "sleepAction", SleepMethodReason: "every node's kubelet is 1.30 or later",
				Containers: []gdv1.ContainerPlan{{Name: "app", PreStop: "sleep 70s", ReadinessProbe: "kept"}}},
			Conditions: []metav1.Condition{
				{Type: "Ready", Status: metav1.ConditionFalse, Reason: "RolloutInProgress", Message: fmt.Sprintf("web-%d: 1 of 2 pods updated", i)},
				{Type: "PlanApplied", Status: metav1.ConditionTrue, Reason: "Applied", Message: "the drain plan is in the pod template"},
				{Type: "RolledOut", Status: metav1.ConditionFalse, Reason: "RolloutInProgress", Message: fmt.Sprintf("web-%d: 1 of 2 replicas updated", i)},
				{Type: "ReadinessGates", Status: metav1.ConditionTrue, Reason: "GatesInjected", Message: "every pod has the target group's readiness gate"},
				{Type: "HooksProtected", Status: metav1.ConditionTrue, Reason: "NoCustomHooks", Message: "no container has its own preStop hook"},
				{Type: "Serving", Status: metav1.ConditionTrue, Reason: "Serving", Message: "2 of 2 pods ready"},
				{Type: "Conflict", Status: metav1.ConditionFalse, Reason: "NoConflict", Message: "no other field manager reverts the plan"},
				{Type: "TargetPorts", Status: metav1.ConditionTrue, Reason: "TargetPortsResolved", Message: "every target port names a container port"},
			},
		},
	}
}

func TestIntern(t *testing.T) {
	deployment := func() *appsv1.Deployment {
		return &appsv1.Deployment{
			ObjectMeta: metav1.ObjectMeta{Namespace: "shop", Name: "web",
				Labels:          map[string]string{"app.kubernetes.io/name": "web"},
				Annotations:     map[string]string{"deployment.kubernetes.io/revision": "30"},
				OwnerReferences: []metav1.OwnerReference{{APIVersion: "argoproj.io/v1alpha1", Kind: "Rollout", Name: "web"}},
				ManagedFields: []metav1.ManagedFieldsEntry{{Manager: "gracefuldrain", Operation: metav1.ManagedFieldsOperationApply,
					APIVersion: "apps/v1", FieldsType: "FieldsV1", FieldsV1: &metav1.FieldsV1{Raw: []byte(`{"f:spec":{}}`)}}}},
			Spec: appsv1.DeploymentSpec{
				Selector: &metav1.LabelSelector{MatchLabels: map[string]string{"app.kubernetes.io/name": "web"}},
				Template: corev1.PodTemplateSpec{ObjectMeta: metav1.ObjectMeta{Labels: map[string]string{"app.kubernetes.io/name": "web"}}},
			},
		}
	}
	service := func() *corev1.Service {
		return &corev1.Service{ObjectMeta: metav1.ObjectMeta{Namespace: "shop", Name: "web"},
			Spec: corev1.ServiceSpec{Selector: map[string]string{"app.kubernetes.io/name": "web"}}}
	}
	for _, tc := range []struct {
		name string
		// two decodings of the same object, as two informer events give them
		a, b any
		// shared are the strings that must then be one copy, named by what they are
		shared func(a, b any) map[string][2]string
		// separate are strings that must keep their own copy
		separate func(a, b any) map[string][2]string
	}{
		{
			name: "Deployment: metadata, selector and template label keys",
			a:    decoded(t, deployment()), b: decoded(t, deployment()),
			shared: func(a, b any) map[string][2]string {
				x, y := a.(*appsv1.Deployment), b.(*appsv1.Deployment)
				return map[string][2]string{
					"namespace":                  {x.Namespace, y.Namespace},
					"label key":                  {anyKey(x.Labels), anyKey(y.Labels)},
					"annotation key":             {anyKey(x.Annotations), anyKey(y.Annotations)},
					"owner kind":                 {x.OwnerReferences[0].Kind, y.OwnerReferences[0].Kind},
					"owner apiVersion":           {x.OwnerReferences[0].APIVersion, y.OwnerReferences[0].APIVersion},
					"manager":                    {x.ManagedFields[0].Manager, y.ManagedFields[0].Manager},
					"operation":                  {string(x.ManagedFields[0].Operation), string(y.ManagedFields[0].Operation)},
					"selector key":               {anyKey(x.Spec.Selector.MatchLabels), anyKey(y.Spec.Selector.MatchLabels)},
					"template label key":         {anyKey(x.Spec.Template.Labels), anyKey(y.Spec.Template.Labels)},
					"template and own label key": {anyKey(x.Spec.Template.Labels), anyKey(x.Labels)},
				}
			},
			separate: func(a, b any) map[string][2]string {
				x, y := a.(*appsv1.Deployment), b.(*appsv1.Deployment)
				return map[string][2]string{
					"name":             {x.Name, y.Name},
					"label value":      {x.Labels["app.kubernetes.io/name"], y.Labels["app.kubernetes.io/name"]},
					"annotation value": {x.Annotations["deployment.kubernetes.io/revision"], y.Annotations["deployment.kubernetes.io/revision"]},
				}
			},
		},
		{
			name: "Service: selector keys",
			a:    decoded(t, service()), b: decoded(t, service()),
			shared: func(a, b any) map[string][2]string {
				x, y := a.(*corev1.Service), b.(*corev1.Service)
				return map[string][2]string{"selector key": {anyKey(x.Spec.Selector), anyKey(y.Spec.Selector)}}
			},
		},
		{
			name: "GracefulDrain: status strings with few values",
			a:    decoded(t, benchDrain(1)), b: decoded(t, benchDrain(2)),
			shared: func(a, b any) map[string][2]string {
				x, y := a.(*gdv1.GracefulDrain), b.(*gdv1.GracefulDrain)
				return map[string][2]string{
					"condition type":    {x.Status.Conditions[0].Type, y.Status.Conditions[0].Type},
					"condition status":  {string(x.Status.Conditions[0].Status), string(y.Status.Conditions[0].Status)},
					"condition reason":  {x.Status.Conditions[1].Reason, y.Status.Conditions[1].Reason},
					"mode":              {string(x.Status.Mode), string(y.Status.Mode)},
					"workload kind":     {x.Status.Workload.Kind, y.Status.Workload.Kind},
					"health check port": {x.Status.Attachments[0].HealthCheck.Port, y.Status.Attachments[0].HealthCheck.Port},
					"sleep reason":      {x.Status.Plan.SleepMethodReason, y.Status.Plan.SleepMethodReason},
					"container preStop": {x.Status.Plan.Containers[0].PreStop, y.Status.Plan.Containers[0].PreStop},
					"condition message": {x.Status.Conditions[1].Message, y.Status.Conditions[1].Message},
				}
			},
			separate: func(a, b any) map[string][2]string {
				x, y := a.(*gdv1.GracefulDrain), b.(*gdv1.GracefulDrain)
				// the same name in both, but names are not interned
				return map[string][2]string{"attachment source name": {x.Status.Attachments[0].Source.Name, y.Status.Attachments[0].Source.Name}}
			},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			for name, pair := range tc.shared(tc.a, tc.b) {
				if pair[0] != pair[1] {
					t.Fatalf("%s: test objects differ (%q, %q)", name, pair[0], pair[1])
				}
				if sameBytes(pair[0], pair[1]) {
					t.Fatalf("%s: shared before Intern; the test decodes nothing", name)
				}
			}
			want := []any{tc.a.(runtime.Object).DeepCopyObject(), tc.b.(runtime.Object).DeepCopyObject()}
			for i, o := range []any{tc.a, tc.b} {
				got, err := Intern(o)
				if err != nil || got != o {
					t.Fatalf("Intern returned %v, %v; want the object itself", got, err)
				}
				if !equality.Semantic.DeepEqual(got, want[i]) {
					t.Fatalf("Intern changed the object's content")
				}
			}
			for name, pair := range tc.shared(tc.a, tc.b) {
				if !sameBytes(pair[0], pair[1]) {
					t.Errorf("%s %q: two copies after Intern, want one", name, pair[0])
				}
			}
			if tc.separate != nil {
				for name, pair := range tc.separate(tc.a, tc.b) {
					if sameBytes(pair[0], pair[1]) {
						t.Errorf("%s %q: interned, want its own copy", name, pair[0])
					}
				}
			}
		})
	}
	t.Run("unstructured objects pass through", func(t *testing.T) {
		u := &unstructured.Unstructured{Object: map[string]any{"metadata": map[string]any{"namespace": "shop", "name": "web"}}}
		want := u.DeepCopy()
		if got, err := Intern(u); err != nil || got != u || !equality.Semantic.DeepEqual(u, want) {
			t.Fatalf("Intern(unstructured) = %v, %v", got, err)
		}
	})
}

func anyKey(m map[string]string) string {
	for k := range m {
		return k
	}
	return ""
}

// BenchmarkInternDrains is what 1,000 cached GracefulDrains keep on the heap
// after their transform, without and with Intern (retained-B/drain).
//
//	go test ./internal/slim -run '^$' -bench InternDrains
func BenchmarkInternDrains(b *testing.B) {
	for _, tc := range []struct {
		name      string
		transform func(any) (any, error)
	}{
		{"DropManagedFields", Chain(DropManagedFields, DropUnread)},
		{"DropManagedFieldsIntern", Chain(DropManagedFields, DropUnread, Intern)},
	} {
		b.Run(tc.name, func(b *testing.B) {
			const n = 1000
			var retained float64
			for b.Loop() {
				kept := make([]any, n)
				goruntime.GC()
				var before, after goruntime.MemStats
				goruntime.ReadMemStats(&before)
				for i := range kept {
					kept[i], _ = tc.transform(decoded(b, benchDrain(i)))
				}
				goruntime.GC()
				goruntime.ReadMemStats(&after)
				retained = float64(after.HeapAlloc-before.HeapAlloc) / n
				goruntime.KeepAlive(kept)
			}
			b.ReportMetric(retained, "retained-B/drain")
		})
	}
}

func TestStringTable(t *testing.T) {
	fresh := func(s string) string { return string([]byte(s)) } // a copy of its own, as a decoder gives
	t.Run("one copy, across garbage collections", func(t *testing.T) {
		table := &stringTable{limit: 10}
		a := table.get(fresh("app.kubernetes.io/name"))
		goruntime.GC()
		goruntime.GC()
		if b := table.get(fresh("app.kubernetes.io/name")); !sameBytes(a, b) {
			t.Fatalf("two copies after a garbage collection")
		}
	})
	t.Run("at its limit, the table starts over", func(t *testing.T) {
		table := &stringTable{limit: 2}
		a := table.get(fresh("a-key"))
		table.get(fresh("b-key"))
		c := table.get(fresh("c-key"))
		if len(table.copies) != 1 {
			t.Fatalf("the table holds %d entries after reaching its limit of 2, want 1 (it starts over)", len(table.copies))
		}
		if c2 := table.get(fresh("c-key")); !sameBytes(c, c2) {
			t.Fatalf("the string that started the new table is not shared")
		}
		if a2 := table.get(fresh("a-key")); sameBytes(a, a2) || a2 != "a-key" {
			t.Fatalf("a string of the old table came back from it (the old table is still held)")
		}
	})
	t.Run("the empty string is not stored", func(t *testing.T) {
		table := &stringTable{limit: 2}
		if table.get("") != "" || len(table.copies) != 0 {
			t.Fatalf("stored the empty string")
		}
	})
}
