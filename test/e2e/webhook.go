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

package e2e

import (
	"context"
	"crypto/tls"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"path/filepath"
	"time"

	admissionv1 "k8s.io/api/admission/v1"
	admissionregistrationv1 "k8s.io/api/admissionregistration/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// WebhookPath is where the simulated controller's pod mutating webhook listens.
const WebhookPath = "mutate-v1-pod"

// PodWebhookConfiguration registers the readiness-gate injection webhook as the AWS Load Balancer Controller
// does: pod CREATE in namespaces labelled elbv2.k8s.aws/pod-readiness-gate-inject=enabled. envtest fills in
// the URL and CA bundle.
func PodWebhookConfiguration() *admissionregistrationv1.MutatingWebhookConfiguration {
	path := WebhookPath
	fail := admissionregistrationv1.Fail
	none := admissionregistrationv1.SideEffectClassNone
	return &admissionregistrationv1.MutatingWebhookConfiguration{
		TypeMeta:   metav1.TypeMeta{APIVersion: "admissionregistration.k8s.io/v1", Kind: "MutatingWebhookConfiguration"},
		ObjectMeta: metav1.ObjectMeta{Name: "aws-load-balancer-webhook"},
		Webhooks: []admissionregistrationv1.MutatingWebhook{{
			Name:                    "mpod.elbv2.k8s.aws",
			ClientConfig:            admissionregistrationv1.WebhookClientConfig{Service: &admissionregistrationv1.ServiceReference{Namespace: "kube-system", Name: "aws-load-balancer-webhook-service", Path: &path}},
			Rules:                   []admissionregistrationv1.RuleWithOperations{{Operations: []admissionregistrationv1.OperationType{admissionregistrationv1.Create}, Rule: admissionregistrationv1.Rule{APIGroups: []string{""}, APIVersions: []string{"v1"}, Resources: []string{"pods"}}}},
			NamespaceSelector:       &metav1.LabelSelector{MatchLabels: map[string]string{GateInjectLabel: "enabled"}},
			FailurePolicy:           &fail,
			SideEffects:             &none,
			AdmissionReviewVersions: []string{"v1"},
		}},
	}
}

// ServeWebhook serves the pod webhook with TLS from certDir (tls.crt, tls.key) on addr until ctx ends.
func (c *LBController) ServeWebhook(ctx context.Context, addr, certDir string) error {
	cert, err := tls.LoadX509KeyPair(filepath.Join(certDir, "tls.crt"), filepath.Join(certDir, "tls.key"))
	if err != nil {
		return err
	}
	ln, err := tls.Listen("tcp", addr, &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12})
	if err != nil {
		return err
	}
	mux := http.NewServeMux()
	mux.HandleFunc("/"+WebhookPath, c.mutatePod)
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	go func() {
		<-ctx.Done()
		_ = srv.Close()
	}()
	go func() {
		if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) && !errors.Is(err, net.ErrClosed) {
			c.fail("webhook: %v", err)
		}
	}()
	return nil
}

func (c *LBController) mutatePod(w http.ResponseWriter, r *http.Request) {
	var review admissionv1.AdmissionReview
	if err := json.NewDecoder(r.Body).Decode(&review); err != nil || review.Request == nil {
		http.Error(w, "bad admission review", http.StatusBadRequest)
		return
	}
	resp := &admissionv1.AdmissionResponse{UID: review.Request.UID, Allowed: true}
	var pod corev1.Pod
	if err := json.Unmarshal(review.Request.Object.Raw, &pod); err != nil {
		resp.Allowed = false
		resp.Result = &metav1.Status{Message: fmt.Sprintf("decoding pod: %v", err)}
	} else if patch := gatePatch(&pod, c.gatesFor(review.Request.Namespace, pod.Labels)); patch != nil {
		pt := admissionv1.PatchTypeJSONPatch
		resp.Patch, resp.PatchType = patch, &pt
	}
	review.Response, review.Request = resp, nil
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(&review)
}

// gatePatch is the JSON patch adding the missing gates, nil when none is missing.
func gatePatch(pod *corev1.Pod, gates []corev1.PodConditionType) []byte {
	var ops []map[string]any
	have := len(pod.Spec.ReadinessGates) > 0
	for _, g := range gates {
		if hasGate(pod, g) {
			continue
		}
		gate := corev1.PodReadinessGate{ConditionType: g}
		if !have {
			ops = append(ops, map[string]any{"op": "add", "path": "/spec/readinessGates", "value": []corev1.PodReadinessGate{gate}})
			have = true
			continue
		}
		ops = append(ops, map[string]any{"op": "add", "path": "/spec/readinessGates/-", "value": gate})
	}
	if len(ops) == 0 {
		return nil
	}
	data, _ := json.Marshal(ops)
	return data
}
