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

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/types"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/controller"
	"sigs.k8s.io/controller-runtime/pkg/handler"
	"sigs.k8s.io/controller-runtime/pkg/healthz"
	"sigs.k8s.io/controller-runtime/pkg/log"
	ctrlmetrics "sigs.k8s.io/controller-runtime/pkg/metrics"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"
	"sigs.k8s.io/controller-runtime/pkg/source"
	"sigs.k8s.io/controller-runtime/pkg/webhook/admission"

	"github.com/gracefuldrain/gracefuldrain/internal/workload"
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
	// SleepMethodFlag (--sleep-method) and APIServerVersion choose, with the
	// nodes' kubelet versions, how new preStop sleeps are written.
	SleepMethodFlag, APIServerVersion string
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
	if shared.sleep, err = newSleepMethods(ctx, mgr.GetCache(), so.SleepMethodFlag, so.APIServerVersion); err != nil {
		return fmt.Errorf("following the nodes' kubelet versions: %w", err)
	}
	for _, k := range kinds {
		if err := setupKind(mgr, k, shared, so); err != nil {
			return err
		}
	}
	// Argo Rollouts' CRD may be absent: its kind is set up when it appears,
	// without a restart (the manager starts controllers added while it runs).
	shared.crds.onInstalled(workload.RolloutCRDName, func() {
		if err := setupRollouts(ctx, mgr, shared, so); err != nil {
			log.FromContext(ctx).Error(err, "setting up Argo Rollouts")
		}
	})
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
	decoder := admission.NewDecoder(mgr.GetScheme())
	for _, k := range append(kinds, rollouts) {
		newDrainWebhook(mgr.GetCache(), decoder, k, shared, so.Options).Register(mgr.GetWebhookServer())
	}
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

// setupKind sets up one kind's reconciler and its watches.
func setupKind(mgr ctrl.Manager, k *workloadKind, shared *Shared, so SetupOptions) error {
	r := newWorkloadReconciler(mgr, k, shared, so.Options)
	var rec reconcile.Reconciler = r
	if so.wrap != nil {
		rec = so.wrap(r)
	}
	if err := r.setupWith(mgr, controller.Options{MaxConcurrentReconciles: so.MaxConcurrentReconciles}, rec); err != nil {
		return fmt.Errorf("setting up the %s controller: %w", k.kind, err)
	}
	return nil
}

// setupRollouts registers Argo Rollouts' indexes once its CRD is served,
// then its reconciler (which runs on the leader, as the others do).
func setupRollouts(ctx context.Context, mgr ctrl.Manager, shared *Shared, so SetupOptions) error {
	for _, ix := range rolloutIndexes() {
		if !retryUntilServed(ctx, "Rollout", func() error { return addIndexes(ctx, mgr.GetFieldIndexer(), []fieldIndex{ix}) }) {
			return ctx.Err()
		}
	}
	shared.rolloutsServed.Store(true)
	if err := setupKind(mgr, rollouts, shared, so); err != nil {
		return err
	}
	// A Deployment that becomes (or stops being) a Rollout's workloadRef
	// leaves (or rejoins) management: its reconciler hears of the Rollout.
	if c := shared.controller(workload.Deployment); c != nil {
		toDeployment := handler.EnqueueRequestsFromMapFunc(func(_ context.Context, o client.Object) []reconcile.Request {
			name := workload.RolloutWorkloadRef(o.(*unstructured.Unstructured))
			if name == "" {
				return nil
			}
			return []reconcile.Request{{NamespacedName: types.NamespacedName{Namespace: o.GetNamespace(), Name: name}}}
		})
		if err := c.Watch(source.Kind[client.Object](mgr.GetCache(), newRollout(), toDeployment)); err != nil {
			return err
		}
	}
	log.FromContext(ctx).Info("Argo Rollouts CRD found; managing Rollouts")
	return nil
}
