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
	"time"

	"github.com/go-logr/logr"
	admissionv1 "k8s.io/api/admission/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/log"
	"sigs.k8s.io/controller-runtime/pkg/webhook"
	"sigs.k8s.io/controller-runtime/pkg/webhook/admission"
	kjson "sigs.k8s.io/json"

	"github.com/gracefuldrain/gracefuldrain/internal/drain"
	"github.com/gracefuldrain/gracefuldrain/internal/plan"
	"github.com/gracefuldrain/gracefuldrain/internal/report"
)

// Results of one admission, the result label of gracefuldrain_webhook_admissions_total.
const (
	admissionMutated   = "mutated"   // the plan was put into the write
	admissionUnchanged = "unchanged" // managed, and the write already carries the plan
	admissionSkipped   = "skipped"   // not gracefuldrain's to change: template untouched, not managed, audit, invalid
	admissionError     = "error"     // the request could not be read; allowed unchanged
)

// DrainWebhook puts the drain plan into the user's own write of a workload:
// on CREATE, and on every UPDATE that changes the pod template. It decides
// with drain.Decide from the same cache as the reconciler, so both give the
// same answer, and it never refuses a write: whatever goes wrong, the write
// is allowed as it came (failurePolicy Ignore does the same when the webhook
// is unreachable) and the reconciler catches up.
type DrainWebhook struct {
	reader  client.Reader // the manager's cache
	decoder admission.Decoder
	kind    *workloadKind
	opts    Options
	shared  *Shared
}

// newDrainWebhook returns the admission webhook for one workload kind.
func newDrainWebhook(reader client.Reader, decoder admission.Decoder, k *workloadKind, shared *Shared, opts Options) *DrainWebhook {
	return &DrainWebhook{reader: reader, decoder: decoder, kind: k, opts: opts.withDefaults(), shared: shared}
}

// Path is where the webhook server serves the kind's webhook.
func (h *DrainWebhook) Path() string { return h.kind.webhookPath }

// Register serves the webhook on the server.
func (h *DrainWebhook) Register(server webhook.Server) {
	server.Register(h.Path(), h.Webhook())
}

// Webhook is the handler as controller-runtime serves it over HTTP.
func (h *DrainWebhook) Webhook() *webhook.Admission {
	return &webhook.Admission{Handler: h, LogConstructor: admissionLogger}
}

// admissionLogger is the logger controller-runtime hands each admission: its
// base, without the default's six values, which it encodes twice per request
// even when nothing is logged (controller-runtime logs only at V(5) or when a
// response cannot be written). The handler's own lines name the kind,
// namespace, name, operation and user.
func admissionLogger(base logr.Logger, _ *admission.Request) logr.Logger {
	return base
}

// decode reads an admitted object. A typed object is decoded in one pass, as
// the API machinery's JSON serializer decodes it once it knows the kind (the
// request says the kind, so its second pass to find it is skipped).
func (h *DrainWebhook) decode(raw []byte, into client.Object) error {
	if _, ok := into.(runtime.Unstructured); ok {
		return h.decoder.DecodeRaw(runtime.RawExtension{Raw: raw}, into)
	}
	return kjson.UnmarshalCaseSensitivePreserveInts(raw, into)
}

// podTemplate reads only spec.template of an admitted object, where every
// kind gracefuldrain admits keeps its pod template; nil when it has none (an
// Argo Rollout with a workloadRef).
func podTemplate(raw []byte) (*corev1.PodTemplateSpec, error) {
	var o struct {
		Spec struct {
			Template *corev1.PodTemplateSpec `json:"template"`
		} `json:"spec"`
	}
	err := kjson.UnmarshalCaseSensitivePreserveInts(raw, &o)
	return o.Spec.Template, err
}

// One webhook per workload kind, each the same handler (workloadKind.webhookPath).
// +kubebuilder:webhook:path=/mutate-apps-v1-deployment,mutating=true,failurePolicy=ignore,sideEffects=None,groups=apps,resources=deployments,verbs=create;update,versions=v1,name=deployments.gracefuldrain.io,admissionReviewVersions=v1,reinvocationPolicy=IfNeeded,timeoutSeconds=3
// +kubebuilder:webhook:path=/mutate-apps-v1-statefulset,mutating=true,failurePolicy=ignore,sideEffects=None,groups=apps,resources=statefulsets,verbs=create;update,versions=v1,name=statefulsets.gracefuldrain.io,admissionReviewVersions=v1,reinvocationPolicy=IfNeeded,timeoutSeconds=3
// +kubebuilder:webhook:path=/mutate-apps-v1-daemonset,mutating=true,failurePolicy=ignore,sideEffects=None,groups=apps,resources=daemonsets,verbs=create;update,versions=v1,name=daemonsets.gracefuldrain.io,admissionReviewVersions=v1,reinvocationPolicy=IfNeeded,timeoutSeconds=3
// +kubebuilder:webhook:path=/mutate-argoproj-io-v1alpha1-rollout,mutating=true,failurePolicy=ignore,sideEffects=None,groups=argoproj.io,resources=rollouts,verbs=create;update,versions=v1alpha1,name=rollouts.gracefuldrain.io,admissionReviewVersions=v1,reinvocationPolicy=IfNeeded,timeoutSeconds=3

// Handle answers one AdmissionReview.
func (h *DrainWebhook) Handle(ctx context.Context, req admission.Request) admission.Response {
	start := time.Now()
	resp, result := h.handle(ctx, req)
	observeAdmission(h.kind.kind, string(req.Operation), result, time.Since(start))
	return resp
}

func (h *DrainWebhook) handle(ctx context.Context, req admission.Request) (admission.Response, string) {
	// Built only when something is logged: most admissions log nothing, and
	// a logger with values costs an allocation of its own (the webhook's
	// allocations are what its tail latency under a burst of deploys follows).
	logger := func() logr.Logger {
		return log.FromContext(ctx).WithValues("kind", h.kind.kind, "namespace", req.Namespace, "name", req.Name, "operation", req.Operation)
	}
	if req.Operation == admissionv1.Update {
		// Only a write that starts a rollout anyway carries the plan: the
		// webhook never starts one of its own. Decided first, from the two
		// pod templates alone, as most UPDATEs (status-less scale, label
		// and annotation writes) leave the template as it was.
		oldTemplate, err := podTemplate(req.OldObject.Raw)
		if err != nil {
			logger().Error(err, "admission request's old object unreadable; allowed unchanged")
			return admission.Allowed("gracefuldrain could not read the old object; allowed unchanged"), admissionError
		}
		template, err := podTemplate(req.Object.Raw)
		if err != nil {
			logger().Error(err, "admission request unreadable; allowed unchanged")
			return admission.Allowed("gracefuldrain could not read the object; allowed unchanged"), admissionError
		}
		if equality.Semantic.DeepEqual(oldTemplate, template) {
			return admission.Allowed("pod template unchanged"), admissionSkipped
		}
	}
	obj := h.kind.newObject()
	if err := h.decode(req.Object.Raw, obj); err != nil {
		logger().Error(err, "admission request unreadable; allowed unchanged")
		return admission.Allowed("gracefuldrain could not read the object; allowed unchanged"), admissionError
	}
	obj.SetNamespace(req.Namespace) // a CREATE may leave it to the request
	w, err := h.kind.view(ctx, h.reader, obj)
	if err != nil {
		logger().Error(err, "admission request's pod template unreadable; allowed unchanged")
		return admission.Allowed("gracefuldrain could not read the pod template; allowed unchanged"), admissionError
	}
	if w.Template == nil || w.TemplateFrom != "" {
		// An Argo Rollout with a workloadRef: its template is the
		// Deployment's, whose own writes carry the plan.
		return admission.Allowed("no pod template of its own"), admissionSkipped
	}
	var ns corev1.Namespace
	if err := h.reader.Get(ctx, types.NamespacedName{Name: req.Namespace}, &ns); err != nil {
		if !apierrors.IsNotFound(err) {
			logger().Error(err, "reading the namespace; allowed unchanged")
			return admission.Allowed("gracefuldrain could not read the namespace; allowed unchanged"), admissionError
		}
		return admission.Allowed("namespace not known yet"), admissionSkipped
	}
	if !drain.Settings(&ns, w).Managed {
		return admission.Allowed("namespace not opted in"), admissionSkipped
	}
	neighbours, err := neighbours(ctx, h.reader, h.shared.targetGroupBindings, w)
	if err != nil {
		logger().Error(err, "reading the workload's Services and load balancers; allowed unchanged")
		return admission.Allowed("gracefuldrain could not read the load balancers; allowed unchanged"), admissionError
	}
	decision := drain.Decide(drain.Input{Workload: w, Namespace: &ns, Neighbours: neighbours, Defaults: h.shared.defaults(h.opts.Defaults), ForceAudit: h.opts.ForceAudit})
	switch {
	case !decision.MayWrite():
		return admission.Allowed("not gracefuldrain's to change (not behind a load balancer, audit mode, or an invalid setting)"), admissionSkipped
	case len(decision.Pending) == 0:
		return admission.Allowed("carries the drain plan"), admissionUnchanged
	}
	patch := plan.MutationPatch(w, decision.Plan)
	if len(patch) == 0 {
		return admission.Allowed("no pod template to change"), admissionSkipped
	}
	if debug := log.FromContext(ctx).V(1); debug.Enabled() {
		logger().V(1).Info("put the drain plan into the write", "user", req.UserInfo.Username, "changes", report.DescribeChanges(decision.Pending))
	}
	resp := admission.Patched("", patch...)
	// The writer sees what changed, as kubectl, Helm and Argo CD print
	// admission warnings. No Event: an admission sends no API request, and
	// a GitOps tool re-applying every few seconds would flood the Events.
	for _, ch := range decision.Pending {
		resp.Warnings = append(resp.Warnings, fmt.Sprintf("gracefuldrain set %s: %s -> %s", ch.Field, ch.Before, ch.After))
	}
	return resp, admissionMutated
}
