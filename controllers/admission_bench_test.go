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
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"testing"

	admissionv1 "k8s.io/api/admission/v1"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/webhook/admission"
)

// BenchmarkAdmission is what one AdmissionReview costs the manager's webhook
// server, from the request body to the response body (the review decoded, the
// plan decided from the informer cache, the patch built and encoded), at
// 10,000 Deployments behind ALB Ingresses in 1,000 enforce namespaces. Its
// allocations are what drive the garbage collector, and so the tail of the
// round trip, under a burst of deploys (`make bench` times that tail).
//
//	go test ./controllers -run '^$' -bench Admission -benchmem
func BenchmarkAdmission(b *testing.B) {
	objs := benchFleet(10, false)
	nsKind := corev1.SchemeGroupVersion.WithKind("Namespace")
	deploys := objs[appsv1.SchemeGroupVersion.WithKind("Deployment")]
	seen := map[string]bool{}
	for _, o := range deploys {
		ns := o.(*appsv1.Deployment).Namespace
		if !seen[ns] {
			seen[ns] = true
			objs[nsKind] = append(objs[nsKind], &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns, ResourceVersion: "1", Labels: enforce()}})
		}
	}
	r := benchReconciler(b, objs)
	// Every informer the webhook reads from listed before the clock starts.
	if err := r.client.Get(context.Background(), client.ObjectKey{Name: deploys[0].(*appsv1.Deployment).Namespace}, &corev1.Namespace{}); err != nil {
		b.Fatal(err)
	}
	h := newDrainWebhook(r.client, admission.NewDecoder(testScheme), deployments, &Shared{}, Options{}).Webhook()

	for _, tc := range []struct {
		name    string
		op      admissionv1.Operation
		change  func(d *appsv1.Deployment)
		mutated bool
	}{
		{"CreateMutated", admissionv1.Create, nil, true},
		{"UpdateImageLowerGraceMutated", admissionv1.Update, func(d *appsv1.Deployment) {
			d.Spec.Template.Spec.Containers[0].Image = "nginx:2"
			d.Spec.Template.Spec.TerminationGracePeriodSeconds = ptr.To[int64](30)
		}, true},
		{"UpdateReplicasOnly", admissionv1.Update, func(d *appsv1.Deployment) { d.Spec.Replicas = ptr.To[int32](3) }, false},
	} {
		bodies := make([][]byte, 0, 1000)
		for i := 0; i < cap(bodies); i++ {
			bodies = append(bodies, reviewBody(b, tc.op, deploys[i*len(deploys)/cap(bodies)].(*appsv1.Deployment), tc.change))
		}
		b.Run(tc.name, func(b *testing.B) {
			b.ReportAllocs()
			i := 0
			for b.Loop() {
				req := httptest.NewRequest(http.MethodPost, "/mutate-apps-v1-deployment", bytes.NewReader(bodies[i%len(bodies)]))
				req.Header.Set("Content-Type", "application/json")
				rec := httptest.NewRecorder()
				h.ServeHTTP(rec, req)
				var ar admissionv1.AdmissionReview
				if err := json.Unmarshal(rec.Body.Bytes(), &ar); err != nil || ar.Response == nil || !ar.Response.Allowed {
					b.Fatalf("answer %s: %v", rec.Body.String(), err)
				}
				if got := len(ar.Response.Patch) > 0; got != tc.mutated {
					b.Fatalf("mutated %v, want %v: %s", got, tc.mutated, ar.Response.Patch)
				}
				i++
			}
		})
	}
}

// reviewBody is the AdmissionReview the API server sends for a write of d:
// a CREATE of d as it is, or an UPDATE from d to d after change.
func reviewBody(b *testing.B, op admissionv1.Operation, d *appsv1.Deployment, change func(*appsv1.Deployment)) []byte {
	b.Helper()
	old := d.DeepCopy()
	old.APIVersion, old.Kind = "apps/v1", "Deployment"
	old.Spec.Replicas = ptr.To[int32](2)
	obj := old.DeepCopy()
	req := &admissionv1.AdmissionRequest{
		UID:       "uid",
		Kind:      metav1.GroupVersionKind{Group: "apps", Version: "v1", Kind: "Deployment"},
		Resource:  metav1.GroupVersionResource{Group: "apps", Version: "v1", Resource: "deployments"},
		Namespace: d.Namespace, Name: d.Name, Operation: op,
	}
	if change != nil {
		change(obj)
	}
	var err error
	if req.Object.Raw, err = json.Marshal(obj); err != nil {
		b.Fatal(err)
	}
	if op == admissionv1.Update {
		if req.OldObject.Raw, err = json.Marshal(old); err != nil {
			b.Fatal(err)
		}
	}
	body, err := json.Marshal(&admissionv1.AdmissionReview{TypeMeta: metav1.TypeMeta{APIVersion: "admission.k8s.io/v1", Kind: "AdmissionReview"}, Request: req})
	if err != nil {
		b.Fatal(fmt.Errorf("review: %w", err))
	}
	return body
}
