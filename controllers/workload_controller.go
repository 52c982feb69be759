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

// Package controllers holds gracefuldrain's reconcilers, their watches, field
// indexes and cache settings, and the envtest suite. The reconcilers are thin:
// they read from the cache, hand the objects to the pure packages under
// internal/ (drain.Decide, report.Status), apply what those decide and write
// the status once. docs/architecture.md maps every rule to its file.
package controllers

import (
	"context"
	"fmt"
	"time"

	"github.com/google/go-cmp/cmp"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/tools/events"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/controller/controllerutil"
	"sigs.k8s.io/controller-runtime/pkg/log"

	gdv1 "github.com/gracefuldrain/gracefuldrain/api/v1alpha1"
	"github.com/gracefuldrain/gracefuldrain/internal/awslb"
	"github.com/gracefuldrain/gracefuldrain/internal/conflict"
	"github.com/gracefuldrain/gracefuldrain/internal/drain"
	"github.com/gracefuldrain/gracefuldrain/internal/plan"
	"github.com/gracefuldrain/gracefuldrain/internal/report"
	"github.com/gracefuldrain/gracefuldrain/internal/settings"
	"github.com/gracefuldrain/gracefuldrain/internal/workload"
)

// Options are the operator-wide settings of the reconcilers, each a manager flag.
type Options struct {
	// Defaults of the plan; zero values are taken from plan.DefaultSettings().
	Defaults plan.Defaults
	// ForceAudit makes every namespace behave as audit: nothing but
	// GracefulDrains is written.
	ForceAudit bool
	// RevertPolicy bounds re-applies against another field manager; the zero
	// value is conflict.DefaultPolicy.
	RevertPolicy conflict.Policy
	// Now is the clock (tests may replace it).
	Now func() time.Time
}

// withDefaults fills what was left zero.
func (o Options) withDefaults() Options {
	def := plan.DefaultSettings()
	if o.Defaults.ALBIPPreStopSeconds == 0 {
		o.Defaults.ALBIPPreStopSeconds = def.ALBIPPreStopSeconds
	}
	if o.Defaults.NLBIPPreStopSeconds == 0 {
		o.Defaults.NLBIPPreStopSeconds = def.NLBIPPreStopSeconds
	}
	if o.Defaults.InstancePreStopSeconds == 0 {
		o.Defaults.InstancePreStopSeconds = def.InstancePreStopSeconds
	}
	if o.Defaults.SleepMethod == "" {
		o.Defaults.SleepMethod = def.SleepMethod
	}
	// ShutdownSeconds 0 is a valid choice (--shutdown-seconds=0), so it is
	// taken as given; main.go starts the flag from the default.
	if o.RevertPolicy.Window == 0 {
		o.RevertPolicy = conflict.DefaultPolicy
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	return o
}

// WorkloadReconciler keeps one GracefulDrain per managed workload of its kind
// and, in enforce mode, the workload's drain settings.
type WorkloadReconciler struct {
	client client.Client
	// apiReader reads around the cache; used only to name the field manager
	// that reverted the operator's fields (the cache keeps no other managers).
	apiReader client.Reader
	recorder  events.EventRecorder
	kind      *workloadKind
	opts      Options
	shared    *Shared
	memo      statusMemo
}

// NewDeploymentReconciler returns the reconciler of Deployments. Options left
// zero take their defaults from the plan and conflict packages.
func NewDeploymentReconciler(mgr ctrl.Manager, shared *Shared, opts Options) *WorkloadReconciler {
	return newWorkloadReconciler(mgr, deployments, shared, opts)
}

func newWorkloadReconciler(mgr ctrl.Manager, k *workloadKind, shared *Shared, opts Options) *WorkloadReconciler {
	return &WorkloadReconciler{
		client:    mgr.GetClient(),
		apiReader: mgr.GetAPIReader(),
		recorder:  shared.recorder,
		kind:      k,
		opts:      opts.withDefaults(),
		shared:    shared,
	}
}

// +kubebuilder:rbac:groups=apps,resources=deployments;statefulsets;daemonsets,verbs=get;list;watch;patch
// +kubebuilder:rbac:groups=argoproj.io,resources=rollouts,verbs=get;list;watch;patch
// +kubebuilder:rbac:groups="",resources=namespaces,verbs=get;list;watch;patch
// +kubebuilder:rbac:groups="",resources=services;pods,verbs=get;list;watch
// +kubebuilder:rbac:groups=networking.k8s.io,resources=ingresses;ingressclasses,verbs=get;list;watch
// +kubebuilder:rbac:groups=gracefuldrain.io,resources=gracefuldrains,verbs=get;list;watch;create;delete
// +kubebuilder:rbac:groups=gracefuldrain.io,resources=gracefuldrains/status,verbs=get;update;patch
// +kubebuilder:rbac:groups=events.k8s.io,resources=events,verbs=create;patch
// +kubebuilder:rbac:groups=elbv2.k8s.aws,resources=targetgroupbindings,verbs=get;list;watch
// +kubebuilder:rbac:groups=apiextensions.k8s.io,resources=customresourcedefinitions,verbs=get;list;watch

// Reconcile brings one workload's GracefulDrain (and, in enforce mode, its
// drain settings) up to date: fetch, decide with pure code, apply, write the
// status once.
func (r *WorkloadReconciler) Reconcile(ctx context.Context, req ctrl.Request) (ctrl.Result, error) {
	logger := log.FromContext(ctx)

	obj := r.kind.newObject()
	if err := r.client.Get(ctx, req.NamespacedName, obj); err != nil {
		if apierrors.IsNotFound(err) {
			// The ownerReference's garbage collection does the same; this is faster.
			return ctrl.Result{}, r.deleteDrain(ctx, types.NamespacedName{Namespace: req.Namespace, Name: drainName(r.kind.kind, req.Name)}, req.Name)
		}
		return ctrl.Result{}, err
	}
	if obj.GetDeletionTimestamp() != nil {
		return ctrl.Result{}, nil
	}
	w, err := r.kind.view(ctx, r.client, obj)
	if err != nil {
		return ctrl.Result{}, err
	}
	var ns corev1.Namespace
	if err := r.client.Get(ctx, types.NamespacedName{Name: w.Namespace}, &ns); err != nil {
		return ctrl.Result{}, client.IgnoreNotFound(err)
	}
	if !drain.Settings(&ns, w).Managed {
		return ctrl.Result{}, r.leaveManagement(ctx, w, "not opted in")
	}
	if w.Template == nil {
		return ctrl.Result{}, r.leaveManagement(ctx, w, "its workloadRef Deployment does not exist")
	}
	if owner, err := r.templateOwner(ctx, w); err != nil || owner != "" {
		if err != nil {
			return ctrl.Result{}, err
		}
		return ctrl.Result{}, r.leaveManagement(ctx, w, "its pod template is the workloadRef of "+owner+", whose GracefulDrain reports it")
	}
	neighbours, err := neighbours(ctx, r.client, r.shared.targetGroupBindings, w)
	if err != nil {
		return ctrl.Result{}, err
	}
	decision := drain.Decide(drain.Input{Workload: w, Namespace: &ns, Neighbours: neighbours, Defaults: r.shared.defaults(r.opts.Defaults), ForceAudit: r.opts.ForceAudit})
	if !decision.Managed() {
		return ctrl.Result{}, r.leaveManagement(ctx, w, "behind no AWS load balancer")
	}
	for _, warning := range decision.Found.Warnings {
		logger.V(1).Info("discovery warning", "warning", warning)
	}

	key := types.NamespacedName{Namespace: w.Namespace, Name: drainName(w.Kind, w.Name)}
	gd, exists, err := r.getDrain(ctx, key)
	if err != nil {
		return ctrl.Result{}, err
	}
	if exists && !metav1.IsControlledBy(gd, obj) {
		// The name rule cannot collide for workloads of one kind; across kinds
		// (a Deployment named web-statefulset next to a StatefulSet web) the
		// workload that got the name first keeps it.
		r.reportNameTaken(ctx, obj, gd)
		return ctrl.Result{}, nil
	}
	cachedVersion := gd.ResourceVersion
	gd, exists = r.memo.lastWritten(key, gd, exists)

	in := report.Input{
		Mode:                   decision.Mode,
		Problems:               decision.Problems,
		Attachments:            decision.Found.Attachments,
		UnresolvedTargetPorts:  decision.Found.UnresolvedTargetPorts,
		Plan:                   decision.Plan,
		Pending:                decision.Pending,
		GateLabelValue:         ns.Labels[awslb.ReadinessGateInjectLabel],
		NamespaceManagedFields: ns.ManagedFields,
		Reverts:                gd.Status.Reverts,
		Now:                    r.opts.Now(),
	}
	var requeue time.Duration
	if decision.MayWrite() {
		if err := r.trackReverts(ctx, w, gd.Status, &in); err != nil {
			return ctrl.Result{}, err
		}
		switch {
		case in.Holding:
			requeue = conflict.RetryAfter(in.Reverts, in.Now, r.opts.RevertPolicy)
		case len(in.Pending) > 0 && decision.Settings.Adopt == settings.AdoptNextRollout:
			// The user's next template change carries the plan (admission
			// webhook); the label goes on now so that its pods get their gates.
			in.WaitingForRollout = true
			in.ApplyError = r.labelNamespace(ctx, obj, &ns, &in)
		default:
			in.ApplyError = r.enforce(ctx, obj, &w, &ns, &in)
		}
		if in.ApplyError != nil {
			logger.Error(in.ApplyError, "applying drain plan failed")
		}
	}
	if in.Pods, err = r.pods(ctx, w); err != nil {
		return ctrl.Result{}, err
	}
	in.Workload, in.Rollout = w, r.kind.rollout(obj, w, in.Pods)

	if !exists {
		if gd, err = r.createDrain(ctx, obj, key); err != nil {
			return ctrl.Result{}, err
		}
		r.memo.remember(key, gd, cachedVersion)
	}
	newStatus := report.Status(gd.Status, gd.Generation, in)
	r.recordWarnings(ctx, obj, gd.Status, newStatus, in.Problems)
	if !equality.Semantic.DeepEqual(gd.Status, newStatus) {
		if v := logger.V(1); v.Enabled() {
			v.Info("status changed", "diff", cmp.Diff(gd.Status, newStatus))
		}
		patch := client.MergeFrom(gd.DeepCopy())
		before := gd.ResourceVersion
		gd.Status = newStatus
		if err := r.client.Status().Patch(ctx, gd, patch); err != nil {
			r.memo.forget(key)
			return ctrl.Result{}, err
		}
		r.memo.remember(key, gd, cachedVersion, before)
	}
	if in.ApplyError != nil {
		return ctrl.Result{}, in.ApplyError // retried with backoff
	}
	return ctrl.Result{RequeueAfter: requeue}, nil
}

// trackReverts notices another field manager undoing the plan: the workload
// carried it at the last reconcile (PlanApplied was True) and its spec has
// changed since so that it no longer does. After a few such reverts the
// operator holds back instead of answering each with a new rollout.
func (r *WorkloadReconciler) trackReverts(ctx context.Context, w workload.Workload, old gdv1.GracefulDrainStatus, in *report.Input) error {
	applied := meta.FindStatusCondition(old.Conditions, gdv1.ConditionPlanApplied)
	reverted := len(in.Pending) > 0 && applied != nil && applied.Status == metav1.ConditionTrue &&
		old.WorkloadGeneration > 0 && old.WorkloadGeneration < w.Generation
	var manager string
	if reverted && r.apiReader != nil {
		live := r.kind.newObject()
		if err := r.apiReader.Get(ctx, types.NamespacedName{Namespace: w.Namespace, Name: w.Name}, live); err != nil {
			return err
		}
		liveView, err := r.kind.view(ctx, r.apiReader, live)
		if err != nil {
			return err
		}
		if names := conflict.Reverters(liveView.ManagedFields, in.Pending); len(names) > 0 {
			manager = names[0]
		}
		log.FromContext(ctx).Info("drain settings reverted by another field manager", "manager", manager, "changes", report.DescribeChanges(in.Pending))
	}
	in.Reverts, in.Holding = conflict.Track(old.Reverts, conflict.Observation{
		Reverted: reverted, Manager: manager, RetryToken: w.Annotations[settings.RetryKey], Now: in.Now,
	}, r.opts.RevertPolicy)
	return nil
}

// enforce labels the namespace for readiness gates (first: gates are injected
// only when a pod is created) and then applies the plan to the workload. w
// then describes the workload as the apply left it, so that the status
// written now is the one the next reconcile computes too: one status write
// per apply instead of two.
func (r *WorkloadReconciler) enforce(ctx context.Context, obj client.Object, w *workload.Workload, ns *corev1.Namespace, in *report.Input) error {
	if err := r.labelNamespace(ctx, obj, ns, in); err != nil {
		return err
	}
	if len(in.Pending) == 0 {
		return nil
	}
	generation, err := r.kind.applyPlan(ctx, r.client, *w, in.Plan)
	if err != nil {
		return fmt.Errorf("applying drain settings to %s: %w", w.Ref(), err)
	}
	appliesTotal.WithLabelValues(resourceLabel(w.Kind)).Inc()
	in.Applied = true
	obj.SetGeneration(generation)
	w.Generation = generation
	changes := report.DescribeChanges(in.Pending)
	r.recorder.Eventf(obj, nil, corev1.EventTypeNormal, EventDrainSettingsApplied, "ApplyDrainPlan", "Applied drain settings: %s. %s", changes, report.CatchUpReason)
	log.FromContext(ctx).Info("applied drain settings", "changes", changes)
	return nil
}

// labelNamespace puts the readiness-gate label on the namespace when the plan
// needs it and the cached namespace lacks it.
func (r *WorkloadReconciler) labelNamespace(ctx context.Context, obj client.Object, ns *corev1.Namespace, in *report.Input) error {
	if !in.Plan.NeedsReadinessGate {
		return nil
	}
	if _, set := ns.Labels[awslb.ReadinessGateInjectLabel]; set {
		return nil
	}
	value, err := r.shared.labeler.ensure(ctx, obj, ns)
	if value != "" {
		in.GateLabelValue = value
	}
	return err
}

// getDrain returns the GracefulDrain from the cache, or a new unsaved one
// when there is none yet.
func (r *WorkloadReconciler) getDrain(ctx context.Context, key types.NamespacedName) (*gdv1.GracefulDrain, bool, error) {
	gd := &gdv1.GracefulDrain{}
	err := r.client.Get(ctx, key, gd)
	if apierrors.IsNotFound(err) {
		return &gdv1.GracefulDrain{}, false, nil
	}
	return gd, err == nil, err
}

// createDrain creates the workload's GracefulDrain, owned by the workload so
// that it is garbage-collected with it.
func (r *WorkloadReconciler) createDrain(ctx context.Context, owner client.Object, key types.NamespacedName) (*gdv1.GracefulDrain, error) {
	gd := &gdv1.GracefulDrain{ObjectMeta: metav1.ObjectMeta{Name: key.Name, Namespace: key.Namespace}}
	if err := controllerutil.SetControllerReference(owner, gd, r.client.Scheme()); err != nil {
		return nil, err
	}
	if err := r.client.Create(ctx, gd); err != nil {
		return nil, err
	}
	return gd, nil
}

// leaveManagement deletes the GracefulDrain of a workload that is no longer
// managed; the workload keeps its settings (removing them would start a rollout).
func (r *WorkloadReconciler) leaveManagement(ctx context.Context, w workload.Workload, why string) error {
	key := types.NamespacedName{Namespace: w.Namespace, Name: drainName(w.Kind, w.Name)}
	r.memo.forget(key)
	var gd gdv1.GracefulDrain
	if err := r.client.Get(ctx, key, &gd); err != nil {
		return client.IgnoreNotFound(err)
	}
	if !r.ownedByKind(&gd, w.Name) {
		return nil // another workload's (name rule, see drainName)
	}
	log.FromContext(ctx).Info("workload left management; deleting its GracefulDrain and leaving its spec as it is", "why", why)
	return client.IgnoreNotFound(r.client.Delete(ctx, &gd))
}

func (r *WorkloadReconciler) deleteDrain(ctx context.Context, key types.NamespacedName, workloadName string) error {
	r.memo.forget(key)
	var gd gdv1.GracefulDrain
	if err := r.client.Get(ctx, key, &gd); err != nil || !r.ownedByKind(&gd, workloadName) {
		return client.IgnoreNotFound(err)
	}
	return client.IgnoreNotFound(r.client.Delete(ctx, &gd))
}

// ownedByKind says whether the GracefulDrain is the one of this kind's
// workload of that name (its controller ownerReference).
func (r *WorkloadReconciler) ownedByKind(gd *gdv1.GracefulDrain, workloadName string) bool {
	ref := metav1.GetControllerOf(gd)
	return ref != nil && ref.Kind == string(r.kind.kind) && ref.Name == workloadName
}

// reportNameTaken reports a workload whose GracefulDrain name another
// workload's GracefulDrain has.
func (r *WorkloadReconciler) reportNameTaken(ctx context.Context, obj client.Object, gd *gdv1.GracefulDrain) {
	owner := "another object"
	if ref := metav1.GetControllerOf(gd); ref != nil {
		owner = ref.Kind + " " + ref.Name
	}
	msg := fmt.Sprintf("GracefulDrain %s/%s belongs to %s, so this %s has none and gracefuldrain leaves it alone; rename one of the two workloads.",
		gd.Namespace, gd.Name, owner, r.kind.kind)
	log.FromContext(ctx).Info("GracefulDrain name taken by another workload", "gracefulDrain", client.ObjectKeyFromObject(gd), "owner", owner)
	r.recorder.Eventf(obj, gd, corev1.EventTypeWarning, EventGracefulDrainNameTaken, "Report", "%s", msg)
}

// templateOwner names the Argo Rollout whose workloadRef is this Deployment
// ("" when none, or not a Deployment): that Rollout's GracefulDrain reports
// it and its reconciler applies the plan to the Deployment's template.
func (r *WorkloadReconciler) templateOwner(ctx context.Context, w workload.Workload) (string, error) {
	if w.Kind != workload.Deployment || !r.shared.rolloutsServed.Load() {
		return "", nil
	}
	refs, err := rolloutsReferencing(ctx, r.client, w.Namespace, w.Name)
	if err != nil || len(refs) == 0 {
		return "", err
	}
	return "Rollout " + refs[0].GetName(), nil
}
