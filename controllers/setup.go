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
	"context"
	"fmt"
	"net/http"

	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/controller"
	"sigs.k8s.io/controller-runtime/pkg/healthz"
	ctrlmetrics "sigs.k8s.io/controller-runtime/pkg/metrics"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"
	"sigs.k8s.io/controller-runtime/pkg/webhook/admission"
)

// SetupOptions are what main.go (or a test) chooses for the whole operator.
type SetupOptions struct {
	Options
	// MaxConcurrentReconciles per workload kind.
	MaxConcurrentReconciles int
	// Webhook serves the admission webhook on the manager's webhook server.
	Webhook bool
	// Certs, when set, keeps the webhook's serving certificate (self-managed
	// mode); nil when the files are someone else's (cert-manager, envtest).
	Certs *WebhookCerts
	// wrap lets the tests wrap each reconciler (to count reconciles).
	wrap func(*WorkloadReconciler) reconcile.Reconciler
}

// Setup registers gracefuldrain with the manager: field indexes, the shared
// parts, one reconciler per workload kind, the admission webhook, the
// certificate keeper, the metrics collector and the health checks.
func Setup(ctx context.Context, mgr ctrl.Manager, so SetupOptions) error {
	if err := SetupIndexes(ctx, mgr); err != nil {
		return fmt.Errorf("setting up indexes: %w", err)
	}
	shared, err := NewShared(ctx, mgr)
	if err != nil {
		return fmt.Errorf("setting up shared parts: %w", err)
	}
	r := NewDeploymentReconciler(mgr, shared, so.Options)
	var rec reconcile.Reconciler = r
	if so.wrap != nil {
		rec = so.wrap(r)
	}
	if err := r.setupWith(mgr, controller.Options{MaxConcurrentReconciles: so.MaxConcurrentReconciles}, rec); err != nil {
		return fmt.Errorf("setting up the %s controller: %w", r.kind.kind, err)
	}
	if err := NewNamespaceReconciler(mgr, shared, so.Options).SetupWithManager(mgr); err != nil {
		return fmt.Errorf("setting up the namespace controller: %w", err)
	}
	if err := ctrlmetrics.Registry.Register(NewWorkloadCollector(mgr.GetClient(), mgr.Elected())); err != nil {
		return fmt.Errorf("registering metrics: %w", err)
	}
	if err := mgr.AddHealthzCheck("healthz", healthz.Ping); err != nil {
		return err
	}
	// Ready once the cache has synced: the webhook answers from it.
	cacheSynced := func(req *http.Request) error {
		if !mgr.GetCache().WaitForCacheSync(req.Context()) {
			return fmt.Errorf("cache not synced")
		}
		return nil
	}
	if err := mgr.AddReadyzCheck("cache", cacheSynced); err != nil {
		return err
	}
	if !so.Webhook {
		return nil
	}
	NewDeploymentWebhook(mgr.GetCache(), admission.NewDecoder(mgr.GetScheme()), shared, so.Options).Register(mgr.GetWebhookServer())
	if err := mgr.AddReadyzCheck("webhook", mgr.GetWebhookServer().StartedChecker()); err != nil {
		return err
	}
	if so.Certs != nil {
		if err := mgr.Add(so.Certs); err != nil {
			return err
		}
	}
	return nil
}
