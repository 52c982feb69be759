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

// Package localinstall installs, on a test API server, what config/default
// installs for a manager that runs in the cluster, adapted to a manager
// process on this machine: the admission webhook (its configuration from
// config/webhook, called at https://127.0.0.1:PORT, its certificate Secret)
// and the flags that go with it. The e2e runs, the fault runs, the bench and
// the demo use it, so that the webhook they exercise is the install's.
package localinstall

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"

	admissionregistrationv1 "k8s.io/api/admissionregistration/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/yaml"
)

// Names of the install's webhook objects (config/default's).
const (
	Namespace     = "gracefuldrain-system"
	Secret        = "gracefuldrain-webhook-server-cert"
	Configuration = "gracefuldrain-mutating-webhook-configuration"
)

// Webhook registers the install's webhook configuration for a manager that
// listens on 127.0.0.1:port and keeps its own certificate (the CA is injected
// by that manager, as in a cluster), creates the namespace and the empty
// certificate Secret, and returns the manager flags that go with them.
// certDir is where that manager writes its certificate (one per test run).
// kubectl is the path of a kubectl binary (for `kubectl kustomize`).
func Webhook(ctx context.Context, c client.Client, repoRoot, kubectl string, port int, certDir string) ([]string, error) {
	configs, err := Configurations(repoRoot, kubectl)
	if err != nil {
		return nil, err
	}
	for _, obj := range []client.Object{
		&corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: Namespace}},
		&corev1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: Namespace, Name: Secret}, Type: corev1.SecretTypeOpaque},
	} {
		if err := c.Create(ctx, obj); err != nil && !apierrors.IsAlreadyExists(err) {
			return nil, fmt.Errorf("creating %T %s: %w", obj, obj.GetName(), err)
		}
	}
	for _, cfg := range configs {
		cfg.Name = Configuration
		for i := range cfg.Webhooks {
			cc := &cfg.Webhooks[i].ClientConfig
			url := fmt.Sprintf("https://127.0.0.1:%d%s", port, *cc.Service.Path)
			cc.Service, cc.URL = nil, &url
		}
		if err := c.Create(ctx, cfg); err != nil {
			return nil, fmt.Errorf("registering the webhook: %w", err)
		}
	}
	return []string{
		fmt.Sprintf("--webhook-port=%d", port),
		"--webhook-host=127.0.0.1",
		"--webhook-namespace=" + Namespace,
		"--webhook-cert-dir=" + certDir,
	}, nil
}

// Configurations renders config/webhook as the install does.
func Configurations(repoRoot, kubectl string) ([]*admissionregistrationv1.MutatingWebhookConfiguration, error) {
	out, err := exec.Command(kubectl, "kustomize", filepath.Join(repoRoot, "config", "webhook")).Output()
	if err != nil {
		return nil, fmt.Errorf("kubectl kustomize config/webhook: %w", err)
	}
	var configs []*admissionregistrationv1.MutatingWebhookConfiguration
	for _, doc := range strings.Split(string(out), "\n---\n") {
		if !strings.Contains(doc, "kind: MutatingWebhookConfiguration") {
			continue
		}
		var cfg admissionregistrationv1.MutatingWebhookConfiguration
		if err := yaml.Unmarshal([]byte(doc), &cfg); err != nil {
			return nil, err
		}
		configs = append(configs, &cfg)
	}
	if len(configs) == 0 {
		return nil, fmt.Errorf("config/webhook renders no MutatingWebhookConfiguration")
	}
	return configs, nil
}

// KubectlFromAssets is the kubectl of KUBEBUILDER_ASSETS, where
// hack/k8s-binaries.sh puts it.
func KubectlFromAssets() string {
	return filepath.Join(os.Getenv("KUBEBUILDER_ASSETS"), "kubectl")
}
