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

// Package controllers holds the gracefuldrain reconciler, its watches and
// field indexes. The reconciler is thin: it fetches objects, hands them to the
// pure packages under internal/, applies what they decide and writes status once.
package controllers

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/google/go-cmp/cmp"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	corev1ac "k8s.io/client-go/applyconfigurations/core/v1"
	"k8s.io/client-go/tools/events"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/controller/controllerutil"
	"sigs.k8s.io/controller-runtime/pkg/log"

	gdv1 "github.com/gracefuldrain/gracefuldrain/api/v1alpha1"
	"github.com/gracefuldrain/gracefuldrain/internal/awslb"
	"github.com/gracefuldrain/gracefuldrain/internal/conflict"
	"github.com/gracefuldrain/gracefuldrain/internal/discovery"
	"github.com/gracefuldrain/gracefuldrain/internal/fieldowners"
	"github.com/gracefuldrain/gracefuldrain/internal/plan"
	"github.com/gracefuldrain/gracefuldrain/internal/report"
	"github.com/gracefuldrain/gracefuldrain/internal/settings"
)

// Event reasons on Deployments (CamelCase, like condition reasons).
const (
	EventDrainSettingsApplied = "DrainSettingsApplied"
	EventNamespaceLabelled    = "ReadinessGateLabelAdded"
	EventInvalidConfiguration = gdv1.ReasonInvalidConfiguration
	EventCustomPreStopHook    = gdv1.ReasonCustomPreStopHook
	EventApplyFailed          = gdv1.ReasonApplyFailed
	EventGateLabelOverridden  = gdv1.ReasonGateLabelOverridden
	EventConflict             = gdv1.ReasonConflict
	EventNoReadyPods          = gdv1.ReasonNoReadyPods
	EventLivenessRestarts     = gdv1.ReasonLivenessRestarts
	EventNoGateInjector       = gdv1.ReasonNoGateInjector
)

// DeploymentReconciler keeps one GracefulDrain per managed Deployment and, in
// enforce mode, the Deployment's drain settings.
type DeploymentReconciler struct {
	client.Client
	// APIReader reads around the cache; used only to name the field manager
	// that reverted the operator's fields (the cache keeps no other managers).
	APIReader client.Reader
	Recorder  events.EventRecorder
	Defaults  plan.Defaults
	// ForceAudit makes every namespace behave as audit: nothing but GracefulDrains is written.
	ForceAudit bool
	// RevertPolicy bounds re-applies against another field manager.
	RevertPolicy conflict.Policy
	// Now is the clock (tests may replace it).
	Now func() time.Time

	// targetGroupBindings is set once the TargetGroupBinding CRD is watched.
	targetGroupBindings atomic.Bool
	// labelledNamespaces: namespace UID -> *namespaceLabelClaim (see
	// claimNamespaceLabel).
	labelledNamespaces sync.Map
	// written: Deployment key -> writtenDrain (see lastWritten).
	written sync.Map
}

// +kubebuilder:rbac:groups=apps,resources=deployments,verbs=get;list;watch;patch
// +kubebuilder:rbac:groups="",resources=namespaces,verbs=get;list;watch;patch
// +kubebuilder:rbac:groups="",resources=services;pods,verbs=get;list;watch
// +kubebuilder:rbac:groups=networking.k8s.io,resources=ingresses;ingressclasses,verbs=get;list;watch
// +kubebuilder:rbac:groups=gracefuldrain.io,resources=gracefuldrains,verbs=get;list;watch;create;delete
// +kubebuilder:rbac:groups=gracefuldrain.io,resources=gracefuldrains/status,verbs=get;update;patch
// +kubebuilder:rbac:groups=events.k8s.io,resources=events,verbs=create;patch
// +kubebuilder:rbac:groups=elbv2.k8s.aws,resources=targetgroupbindings,verbs=get;list;watch
// +kubebuilder:rbac:groups=apiextensions.k8s.io,resources=customresourcedefinitions,verbs=get;list;watch

// Reconcile brings one Deployment's GracefulDrain (and, in enforce mode, its
// drain settings) up to date.
func (r *DeploymentReconciler) Reconcile(ctx context.Context, req ctrl.Request) (ctrl.Result, error) {
	logger := log.FromContext(ctx)

	var deploy appsv1.Deployment
	if err := r.Get(ctx, req.NamespacedName, &deploy); err != nil {
		if apierrors.IsNotFound(err) {
			forgetDeployment(req.NamespacedName)
			return ctrl.Result{}, r.deleteGracefulDrain(ctx, req.NamespacedName) // the ownerReference GC does the same; this is faster
		}
		return ctrl.Result{}, err
	}
	if deploy.DeletionTimestamp != nil {
		return ctrl.Result{}, nil
	}
	var ns corev1.Namespace
	if err := r.Get(ctx, types.NamespacedName{Name: deploy.Namespace}, &ns); err != nil {
		return ctrl.Result{}, client.IgnoreNotFound(err)
	}

	settings := settings.Parse("Namespace "+ns.Name, ns.Labels, "Deployment "+req.String(), deploy.Annotations)
	if !settings.Managed {
		return ctrl.Result{}, r.leaveManagement(ctx, &deploy, "not opted in")
	}
	found, err := r.discover(ctx, &deploy)
	if err != nil {
		return ctrl.Result{}, err
	}
	if len(found.Attachments) == 0 {
		return ctrl.Result{}, r.leaveManagement(ctx, &deploy, "behind no AWS load balancer")
	}
	mode := settings.Mode
	if r.ForceAudit {
		mode = gdv1.ModeAudit
	}
	gd, exists, err := r.getGracefulDrain(ctx, &deploy)
	if err != nil {
		return ctrl.Result{}, err
	}
	cachedVersion := gd.ResourceVersion
	gd, exists = r.lastWritten(req.NamespacedName, gd, exists)

	drainPlan := plan.Compute(plan.Input{Deployment: &deploy, Attachments: found.Attachments, Defaults: r.Defaults, Overrides: settings.Overrides})
	in := report.Input{
		Mode:                  mode,
		Problems:              append(settings.Problems, found.Problems...),
		Attachments:           found.Attachments,
		UnresolvedTargetPorts: found.UnresolvedTargetPorts,
		Plan:                  drainPlan,
		Pending:               plan.Changes(&deploy, drainPlan),
		Deployment:            &deploy,
		GateLabelValue:        ns.Labels[awslb.ReadinessGateInjectLabel],
		GateLabelSince:        fieldowners.OwnedSince(ns.ManagedFields, fieldowners.Label(awslb.ReadinessGateInjectLabel)),
		Reverts:               gd.Status.Reverts,
		Now:                   r.now(),
	}
	for _, w := range found.Warnings {
		logger.V(1).Info("discovery warning", "warning", w)
	}

	var requeue time.Duration
	if mode == gdv1.ModeEnforce && len(in.Problems) == 0 {
		if err := r.trackReverts(ctx, &deploy, gd.Status, &in); err != nil {
			return ctrl.Result{}, err
		}
		if in.Holding {
			requeue = conflict.RetryAfter(in.Reverts, in.Now, r.RevertPolicy)
		} else if in.ApplyError = r.enforce(ctx, &deploy, &ns, &in); in.ApplyError != nil {
			logger.Error(in.ApplyError, "applying drain plan failed")
		}
	}
	if in.Pods, err = r.pods(ctx, &deploy); err != nil {
		return ctrl.Result{}, err
	}

	if !exists {
		if gd, err = r.createGracefulDrain(ctx, &deploy); err != nil {
			return ctrl.Result{}, err
		}
		r.remember(req.NamespacedName, gd, cachedVersion)
	}
	newStatus := report.Status(gd.Status, gd.Generation, in)
	r.recordTransitions(ctx, &deploy, gd.Status, newStatus, in)
	recordMetrics(req.NamespacedName, mode, newStatus, len(in.Problems) > 0)
	if !equality.Semantic.DeepEqual(gd.Status, newStatus) {
		if v := logger.V(1); v.Enabled() {
			v.Info("status changed", "diff", cmp.Diff(gd.Status, newStatus))
		}
		patch := client.MergeFrom(gd.DeepCopy())
		before := gd.ResourceVersion
		gd.Status = newStatus
		if err := r.Status().Patch(ctx, gd, patch); err != nil {
			r.written.Delete(req.NamespacedName)
			return ctrl.Result{}, err
		}
		r.remember(req.NamespacedName, gd, cachedVersion, before)
	}
	if in.ApplyError != nil {
		return ctrl.Result{}, in.ApplyError // retried with backoff
	}
	return ctrl.Result{RequeueAfter: requeue}, nil
}

func (r *DeploymentReconciler) now() time.Time {
	if r.Now != nil {
		return r.Now()
	}
	return time.Now()
}

// trackReverts notices another field manager undoing the plan: the Deployment
// carried it at the last reconcile (PlanApplied was True) and its spec has
// changed since so that it no longer does. After a few such reverts the
// operator holds back instead of answering each with a new rollout.
func (r *DeploymentReconciler) trackReverts(ctx context.Context, deploy *appsv1.Deployment, old gdv1.GracefulDrainStatus, in *report.Input) error {
	applied := meta.FindStatusCondition(old.Conditions, gdv1.ConditionPlanApplied)
	reverted := len(in.Pending) > 0 && applied != nil && applied.Status == metav1.ConditionTrue &&
		old.DeploymentGeneration > 0 && old.DeploymentGeneration < deploy.Generation
	var manager string
	if reverted && r.APIReader != nil {
		var live appsv1.Deployment
		if err := r.APIReader.Get(ctx, client.ObjectKeyFromObject(deploy), &live); err != nil {
			return err
		}
		if names := conflict.Reverters(live.ManagedFields, in.Pending); len(names) > 0 {
			manager = names[0]
		}
		log.FromContext(ctx).Info("drain settings reverted by another field manager", "manager", manager, "changes", report.DescribeChanges(in.Pending))
	}
	in.Reverts, in.Holding = conflict.Track(old.Reverts, conflict.Observation{
		Reverted: reverted, Manager: manager, RetryToken: deploy.Annotations[settings.RetryKey], Now: in.Now,
	}, r.RevertPolicy)
	return nil
}

// discover reads the Deployment's namespace from the cache and finds its attachments.
func (r *DeploymentReconciler) discover(ctx context.Context, deploy *appsv1.Deployment) (discovery.Result, error) {
	services, err := servicesSelecting(ctx, r.Client, deploy)
	if err != nil {
		return discovery.Result{}, err
	}
	in := discovery.Inputs{Deployment: deploy, Services: services}
	if len(services) == 0 {
		return discovery.Discover(in), nil
	}
	if in.TargetGroupBindings, err = r.listTargetGroupBindings(ctx, deploy.Namespace); err != nil {
		return discovery.Result{}, err
	}
	names := make([]string, 0, len(services))
	for _, s := range services {
		names = append(names, s.Name)
	}
	if in.Ingresses, err = ingressesForServices(ctx, r.Client, deploy.Namespace, names); err != nil {
		return discovery.Result{}, err
	}
	if len(in.Ingresses) > 0 {
		var classes networkingv1.IngressClassList
		if err := r.List(ctx, &classes, client.UnsafeDisableDeepCopy); err != nil {
			return discovery.Result{}, err
		}
		in.IngressClasses = classes.Items
	}
	return discovery.Discover(in), nil
}

// enforce labels the namespace for readiness gates (first: gates are injected
// only when a pod is created) and then applies the plan to the Deployment.
func (r *DeploymentReconciler) enforce(ctx context.Context, deploy *appsv1.Deployment, ns *corev1.Namespace, in *report.Input) error {
	logger := log.FromContext(ctx)
	if in.Plan.NeedsReadinessGate {
		if _, set := ns.Labels[awslb.ReadinessGateInjectLabel]; !set {
			if err := r.labelNamespace(ctx, deploy, ns, in); err != nil {
				return err
			}
		}
	}
	if len(in.Pending) == 0 {
		return nil
	}
	applied := plan.ApplyConfiguration(deploy, in.Plan)
	if err := r.Apply(ctx, applied, client.FieldOwner(plan.FieldManager), client.ForceOwnership); err != nil {
		return fmt.Errorf("applying drain settings to Deployment %s/%s: %w", deploy.Namespace, deploy.Name, err)
	}
	appliesTotal.WithLabelValues("deployment").Inc()
	in.Applied = true
	// Describe the Deployment as it now is (the apply answers with the object),
	// so the status written now is the one the next reconcile computes too: one
	// status write per apply instead of two.
	if applied.Generation != nil {
		deploy.Generation = *applied.Generation
	} else {
		deploy.Generation++ // a pod template change always bumps it by one
	}
	changes := report.DescribeChanges(in.Pending)
	r.Recorder.Eventf(deploy, nil, corev1.EventTypeNormal, EventDrainSettingsApplied, "ApplyDrainPlan", "Applied drain settings: %s", changes)
	logger.Info("applied drain settings", "changes", changes)
	return nil
}

// labelNamespace sets the readiness-gate label on a namespace whose cached
// copy lacks it, once: the first worker to claim the namespace applies the
// label; the others wait for that one request and report the label as set if
// it succeeded, so that their status does not say the label is missing only
// because the cache has not caught up (a second status write when it does).
func (r *DeploymentReconciler) labelNamespace(ctx context.Context, deploy *appsv1.Deployment, ns *corev1.Namespace, in *report.Input) error {
	claim, mine := r.claimNamespaceLabel(ns)
	if !mine {
		select {
		case <-claim.done:
		case <-ctx.Done():
			return ctx.Err()
		}
		if claim.labelled.Load() {
			in.GateLabelValue = awslb.ReadinessGateInjectEnabled
		}
		return nil
	}
	defer close(claim.done)
	nsApply := corev1ac.Namespace(ns.Name).WithLabels(map[string]string{
		awslb.ReadinessGateInjectLabel: awslb.ReadinessGateInjectEnabled,
	})
	if err := r.Apply(ctx, nsApply, client.FieldOwner(plan.FieldManager)); err != nil {
		r.labelledNamespaces.CompareAndDelete(ns.UID, claim)
		return fmt.Errorf("labelling namespace %s: %w", ns.Name, err)
	}
	claim.labelled.Store(true)
	appliesTotal.WithLabelValues("namespace").Inc()
	in.GateLabelValue = awslb.ReadinessGateInjectEnabled
	msg := fmt.Sprintf("Labelled namespace %s %s: none -> %s, so that new pods get the load balancer's readiness gate",
		ns.Name, awslb.ReadinessGateInjectLabel, awslb.ReadinessGateInjectEnabled)
	r.Recorder.Eventf(deploy, ns, corev1.EventTypeNormal, EventNamespaceLabelled, "LabelNamespace", msg)
	log.FromContext(ctx).Info("labelled namespace for readiness gates", "namespace", ns.Name, "label", awslb.ReadinessGateInjectLabel)
	return nil
}

// namespaceLabelClaim is one worker's claim to label a namespace, made on
// the cached version that lacked the label.
type namespaceLabelClaim struct {
	resourceVersion string
	done            chan struct{} // closed once the claimant's apply has returned
	labelled        atomic.Bool   // the apply succeeded
}

// claimNamespaceLabel makes one worker label a namespace once. Until the cache
// shows the label, other Deployments of the namespace see the old namespace;
// the claim holds while the cached namespace is the one the claim was made on.
// mine tells whether the caller holds the claim and must apply the label.
func (r *DeploymentReconciler) claimNamespaceLabel(ns *corev1.Namespace) (claim *namespaceLabelClaim, mine bool) {
	fresh := &namespaceLabelClaim{resourceVersion: ns.ResourceVersion, done: make(chan struct{})}
	prev, claimed := r.labelledNamespaces.LoadOrStore(ns.UID, fresh)
	if !claimed {
		return fresh, true
	}
	if claim := prev.(*namespaceLabelClaim); claim.resourceVersion == ns.ResourceVersion {
		return claim, false // labelled (or being labelled) on this very version
	}
	// The namespace changed since and still lacks the label (someone removed it): label again.
	r.labelledNamespaces.Store(ns.UID, fresh)
	return fresh, true
}

// pods returns the (slim) pods selected by the Deployment, from the cache.
func (r *DeploymentReconciler) pods(ctx context.Context, deploy *appsv1.Deployment) ([]corev1.Pod, error) {
	if deploy.Spec.Selector == nil {
		return nil, nil
	}
	sel, err := metav1.LabelSelectorAsSelector(deploy.Spec.Selector)
	if err != nil || sel.Empty() {
		return nil, nil //nolint:nilerr // an invalid selector selects no pods; the API server rejects it anyway
	}
	var pods corev1.PodList
	if err := r.List(ctx, &pods, client.InNamespace(deploy.Namespace), client.MatchingLabelsSelector{Selector: sel}, client.UnsafeDisableDeepCopy); err != nil {
		return nil, err
	}
	return pods.Items, nil
}

// getGracefulDrain returns the Deployment's GracefulDrain from the cache, or
// a new unsaved one when there is none yet.
func (r *DeploymentReconciler) getGracefulDrain(ctx context.Context, deploy *appsv1.Deployment) (*gdv1.GracefulDrain, bool, error) {
	gd := &gdv1.GracefulDrain{}
	err := r.Get(ctx, client.ObjectKeyFromObject(deploy), gd)
	if apierrors.IsNotFound(err) {
		return &gdv1.GracefulDrain{}, false, nil
	}
	return gd, err == nil, err
}

// writtenDrain is a GracefulDrain as the operator last wrote it, and the
// resourceVersions known to be older than that write ("" for "not created yet").
type writtenDrain struct {
	drain *gdv1.GracefulDrain
	stale map[string]bool
}

// remember records a write; older lists the versions it replaced.
func (r *DeploymentReconciler) remember(key types.NamespacedName, written *gdv1.GracefulDrain, older ...string) {
	w := writtenDrain{drain: written.DeepCopy(), stale: map[string]bool{}}
	if v, ok := r.written.Load(key); ok {
		for version := range v.(writtenDrain).stale {
			w.stale[version] = true
		}
	}
	for _, version := range older {
		w.stale[version] = true
	}
	r.written.Store(key, w)
}

// lastWritten returns what the operator last wrote while the cache has not
// caught up with it yet (the cache still holds the version from before the
// write, or no object after a create). Without it the reconcile that the
// write itself triggers would compare against the stale copy and write the
// same status a second time.
func (r *DeploymentReconciler) lastWritten(key types.NamespacedName, cached *gdv1.GracefulDrain, exists bool) (*gdv1.GracefulDrain, bool) {
	v, ok := r.written.Load(key)
	if !ok {
		return cached, exists
	}
	w := v.(writtenDrain)
	if (!exists && w.stale[""]) || (exists && cached.UID == w.drain.UID && w.stale[cached.ResourceVersion]) {
		return w.drain.DeepCopy(), true
	}
	r.written.Delete(key) // the cache has caught up (or someone else wrote): trust it
	return cached, exists
}

// createGracefulDrain creates the Deployment's GracefulDrain, owned by the
// Deployment so that it is garbage-collected with it.
func (r *DeploymentReconciler) createGracefulDrain(ctx context.Context, deploy *appsv1.Deployment) (*gdv1.GracefulDrain, error) {
	gd := &gdv1.GracefulDrain{ObjectMeta: metav1.ObjectMeta{Name: deploy.Name, Namespace: deploy.Namespace}}
	if err := controllerutil.SetControllerReference(deploy, gd, r.Scheme()); err != nil {
		return nil, err
	}
	if err := r.Create(ctx, gd); err != nil {
		return nil, err
	}
	return gd, nil
}

// leaveManagement deletes the GracefulDrain of a Deployment that is no longer
// managed; the Deployment keeps its settings (removing them would start a rollout).
func (r *DeploymentReconciler) leaveManagement(ctx context.Context, deploy *appsv1.Deployment, why string) error {
	key := client.ObjectKeyFromObject(deploy)
	forgetDeployment(key)
	r.written.Delete(key)
	var gd gdv1.GracefulDrain
	if err := r.Get(ctx, key, &gd); err != nil {
		return client.IgnoreNotFound(err)
	}
	log.FromContext(ctx).Info("Deployment left management; deleting its GracefulDrain and leaving its spec as it is", "why", why)
	return client.IgnoreNotFound(r.Delete(ctx, &gd))
}

func (r *DeploymentReconciler) deleteGracefulDrain(ctx context.Context, key types.NamespacedName) error {
	r.written.Delete(key)
	gd := &gdv1.GracefulDrain{ObjectMeta: metav1.ObjectMeta{Name: key.Name, Namespace: key.Namespace}}
	return client.IgnoreNotFound(r.Delete(ctx, gd))
}

// recordTransitions emits Warning Events and log lines when a problem appears
// or changes, not on every reconcile, so that a bad annotation is one Event.
func (r *DeploymentReconciler) recordTransitions(ctx context.Context, deploy *appsv1.Deployment, old, cur gdv1.GracefulDrainStatus, in report.Input) {
	logger := log.FromContext(ctx)
	changed := func(condType, reason string) (*metav1.Condition, bool) {
		c := meta.FindStatusCondition(cur.Conditions, condType)
		if c == nil || c.Reason != reason {
			return nil, false
		}
		prev := meta.FindStatusCondition(old.Conditions, condType)
		return c, prev == nil || prev.Reason != c.Reason || prev.Message != c.Message
	}
	if c, ok := changed(gdv1.ConditionPlanApplied, gdv1.ReasonInvalidConfiguration); ok {
		for _, p := range in.Problems {
			logger.Info("invalid configuration, Deployment left unchanged", "object", p.Object, "key", p.Key, "value", p.Value, "problem", p.Message)
		}
		invalidConfigurationsTotal.Inc()
		r.Recorder.Eventf(deploy, nil, corev1.EventTypeWarning, EventInvalidConfiguration, "Validate", "%s", c.Message)
	}
	if c, ok := changed(gdv1.ConditionHooksProtected, gdv1.ReasonCustomPreStopHook); ok {
		logger.Info("custom preStop hook kept", "message", c.Message)
		r.Recorder.Eventf(deploy, nil, corev1.EventTypeWarning, EventCustomPreStopHook, "Plan", "%s", c.Message)
	}
	if c, ok := changed(gdv1.ConditionReadinessGates, gdv1.ReasonGateLabelOverridden); ok {
		logger.Info("readiness-gate label set to another value, left alone", "message", c.Message)
		r.Recorder.Eventf(deploy, nil, corev1.EventTypeWarning, EventGateLabelOverridden, "Plan", "%s", c.Message)
	}
	if c, ok := changed(gdv1.ConditionPlanApplied, gdv1.ReasonApplyFailed); ok {
		r.Recorder.Eventf(deploy, nil, corev1.EventTypeWarning, EventApplyFailed, "ApplyDrainPlan", "%s", c.Message)
	}
	if c, ok := changed(gdv1.ConditionConflict, gdv1.ReasonConflict); ok {
		logger.Info("stopped re-applying drain settings: another field manager keeps reverting them", "message", c.Message)
		r.Recorder.Eventf(deploy, nil, corev1.EventTypeWarning, EventConflict, "ApplyDrainPlan", "%s", c.Message)
	}
	if c, ok := changed(gdv1.ConditionReadinessGates, gdv1.ReasonNoGateInjector); ok {
		r.Recorder.Eventf(deploy, nil, corev1.EventTypeWarning, EventNoGateInjector, "CheckReadinessGates", "%s", c.Message)
	}
	if c, ok := changed(gdv1.ConditionTargetPorts, gdv1.ReasonTargetPortUnresolved); ok {
		logger.Info("Service targetPort matches no container port", "message", c.Message)
		r.Recorder.Eventf(deploy, nil, corev1.EventTypeWarning, gdv1.ReasonTargetPortUnresolved, "Discover", "%s", c.Message)
	}
	for _, reason := range []string{gdv1.ReasonNoReadyPods, gdv1.ReasonLivenessRestarts} {
		if c, ok := changed(gdv1.ConditionServing, reason); ok {
			logger.Info("Deployment behind a load balancer is not serving", "reason", reason, "message", c.Message)
			r.Recorder.Eventf(deploy, nil, corev1.EventTypeWarning, reason, "CheckServing", "%s", c.Message)
		}
	}
}
