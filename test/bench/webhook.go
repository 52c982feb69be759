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

package main

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	goruntime "runtime"
	"runtime/debug"
	"sort"
	"strings"
	"time"

	admissionv1 "k8s.io/api/admission/v1"
	admissionregistrationv1 "k8s.io/api/admissionregistration/v1"
	appsv1 "k8s.io/api/apps/v1"
	authenticationv1 "k8s.io/api/authentication/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/uuid"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/gracefuldrain/gracefuldrain/test/localinstall"
)

// The admission part of the bench: AdmissionReviews sent to the running
// manager over TLS, as the API server sends them (POST to the URL of the
// install's MutatingWebhookConfiguration, trusting the CA bundle the manager
// injected into it), for writes a user makes against the converged fleet.
// They go to the manager directly rather than through the API server, so that
// the time measured is the webhook's round trip alone and the API server
// counts no write: the API requests the manager sends meanwhile are what the
// admissions cost it (target: none, they are answered from the cache).

// reviewKind is one kind of write a user makes.
type reviewKind int

const (
	// createBehindService: a new Deployment (a "green" track of web-N) whose
	// pods the fleet's Service selects, so its Ingress sends them traffic:
	// mutated, the first pods carry the plan.
	createBehindService reviewKind = iota
	// updateImageLowerGrace: a deploy of a new image from a manifest that
	// says terminationGracePeriodSeconds: 30 (as many Helm charts do), below
	// the plan's: mutated, the grace period is raised to the plan's.
	updateImageLowerGrace
	// updateReplicasOnly: a scale. The pod template is unchanged, so it is
	// answered without a mutation. The install's matchConditions keep the API
	// server from sending these at all; the bench sends them anyway, to time
	// the webhook's own answer to them.
	updateReplicasOnly
	reviewKinds
)

func (k reviewKind) String() string {
	return [...]string{"CREATE behind a Service (mutated)", "UPDATE image, grace 30 (mutated)", "UPDATE replicas only (not mutated)"}[k]
}

// mutates is whether the webhook must answer the kind with a patch.
func (k reviewKind) mutates() bool { return k != updateReplicasOnly }

// gracePath is the JSON patch path a mutation of both mutated kinds touches:
// the plan's grace period replaces the default or the manifest's 30.
const gracePath = "/spec/template/spec/terminationGracePeriodSeconds"

// reviewUser is who the reviews say wrote: a deploy tool, not the operator
// (whose own writes the install's matchConditions leave out).
var reviewUser = authenticationv1.UserInfo{Username: "bench-deployer", Groups: []string{"system:authenticated"}}

// review is one prepared AdmissionReview body.
type review struct {
	kind reviewKind
	uid  types.UID
	body []byte
}

// webhookResults are the admission figures.
type webhookResults struct {
	url              string
	senders          int
	warmup           int
	start, end       time.Time
	latencies        []time.Duration // measured reviews, round trip as the sender saw it
	byKind           [reviewKinds][]time.Duration
	wrong            []string // answers that were not as expected (first few)
	wrongCount       int
	admissionsBefore float64 // gracefuldrain_webhook_admissions_total before the warm-up: the API server's calls during convergence
	admissions       map[string]float64
	handleSeconds    float64            // server-side handling time (the manager's histogram), summed over the measured reviews
	handledWithin    map[string]float64 // measured reviews the manager handled within each histogram bound ("0.001", ...)
	restRequests     float64            // the manager's rest_client_requests_total during the measured reviews
	gcCycles         float64            // the manager's garbage collections during the measured reviews
	allocated        float64            // bytes the manager allocated during the measured reviews
	scrapeTook       time.Duration      // one scrape of the manager's metrics, just before the reviews
	hostStart        hostSample
	hostEnd          hostSample
	apiRequests      requestCounts
}

func (w *webhookResults) percentile(p float64) time.Duration { return percentile(w.latencies, p) }

// percentile is the p-th percentile (0..100) of sorted durations, nearest rank.
func percentile(sorted []time.Duration, p float64) time.Duration {
	if len(sorted) == 0 {
		return 0
	}
	i := int(float64(len(sorted))*p/100+0.999999) - 1
	return sorted[max(0, min(i, len(sorted)-1))]
}

// deploymentWebhookPath is where the manager serves Deployments' admissions
// (one webhook per workload kind in the install's configuration).
const deploymentWebhookPath = "/mutate-apps-v1-deployment"

// webhookEndpoint reads the URL and CA bundle the API server would use for a
// Deployment from the install's MutatingWebhookConfiguration, once the
// manager has injected its CA.
func webhookEndpoint(ctx context.Context, c client.Client) (string, *x509.CertPool, error) {
	var cfg admissionregistrationv1.MutatingWebhookConfiguration
	if err := c.Get(ctx, types.NamespacedName{Name: localinstall.Configuration}, &cfg); err != nil {
		return "", nil, err
	}
	var cc *admissionregistrationv1.WebhookClientConfig
	for i := range cfg.Webhooks {
		if u := cfg.Webhooks[i].ClientConfig.URL; u != nil && strings.HasSuffix(*u, deploymentWebhookPath) {
			cc = &cfg.Webhooks[i].ClientConfig
		}
	}
	if cc == nil {
		return "", nil, fmt.Errorf("MutatingWebhookConfiguration %s: no webhook with a URL ending in %s", cfg.Name, deploymentWebhookPath)
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(cc.CABundle) {
		return "", nil, fmt.Errorf("MutatingWebhookConfiguration %s has no CA bundle yet", cfg.Name)
	}
	return *cc.URL, pool, nil
}

// prepareReviews builds n AdmissionReview bodies, cycling through the kinds
// and the converged Deployments. created are the Deployments as the API
// server returned them at creation, before the operator (the template of the
// new ones); live are the converged ones as stored now.
func prepareReviews(n int, created map[types.NamespacedName]*appsv1.Deployment, live []appsv1.Deployment) ([]review, error) {
	out := make([]review, 0, n)
	for i := 0; i < n; i++ {
		kind := reviewKind(i % int(reviewKinds))
		old := live[(i/int(reviewKinds))%len(live)].DeepCopy()
		old.APIVersion, old.Kind = "apps/v1", "Deployment"
		req := &admissionv1.AdmissionRequest{
			UID:             uuid.NewUUID(),
			Kind:            metav1.GroupVersionKind{Group: "apps", Version: "v1", Kind: "Deployment"},
			Resource:        metav1.GroupVersionResource{Group: "apps", Version: "v1", Resource: "deployments"},
			RequestKind:     &metav1.GroupVersionKind{Group: "apps", Version: "v1", Kind: "Deployment"},
			RequestResource: &metav1.GroupVersionResource{Group: "apps", Version: "v1", Resource: "deployments"},
			Namespace:       old.Namespace,
			UserInfo:        reviewUser,
			DryRun:          ptr.To(false),
		}
		var obj *appsv1.Deployment
		switch kind {
		case createBehindService:
			base, ok := created[types.NamespacedName{Namespace: old.Namespace, Name: old.Name}]
			if !ok {
				return nil, fmt.Errorf("no created Deployment %s/%s", old.Namespace, old.Name)
			}
			obj = greenTrack(base)
			req.Operation = admissionv1.Create
			req.Options = runtime.RawExtension{Raw: []byte(`{"kind":"CreateOptions","apiVersion":"meta.k8s.io/v1","fieldManager":"kubectl-client-side-apply"}`)}
		case updateImageLowerGrace:
			obj = old.DeepCopy()
			obj.Spec.Template.Spec.Containers[0].Image = "public.ecr.aws/nginx/nginx:1.28"
			obj.Spec.Template.Spec.TerminationGracePeriodSeconds = ptr.To[int64](30)
			req.Operation = admissionv1.Update
		case updateReplicasOnly:
			obj = old.DeepCopy()
			obj.Spec.Replicas = ptr.To(*old.Spec.Replicas + 1)
			req.Operation = admissionv1.Update
		}
		req.Name = obj.Name
		var err error
		if req.Object.Raw, err = json.Marshal(obj); err != nil {
			return nil, err
		}
		if req.Operation == admissionv1.Update {
			req.Options = runtime.RawExtension{Raw: []byte(`{"kind":"UpdateOptions","apiVersion":"meta.k8s.io/v1","fieldManager":"kubectl-client-side-apply"}`)}
			if req.OldObject.Raw, err = json.Marshal(old); err != nil {
				return nil, err
			}
		}
		body, err := json.Marshal(&admissionv1.AdmissionReview{
			TypeMeta: metav1.TypeMeta{APIVersion: "admission.k8s.io/v1", Kind: "AdmissionReview"},
			Request:  req,
		})
		if err != nil {
			return nil, err
		}
		out = append(out, review{kind: kind, uid: req.UID, body: body})
	}
	return out, nil
}

// greenTrack is a new Deployment next to base: named <base>-green, its pods
// labelled as base's plus track=green, so base's Service (which selects the
// app name only) and its ALB Ingress send them traffic. It is what the API
// server hands a mutating webhook on CREATE: defaulted, no UID, no status.
func greenTrack(base *appsv1.Deployment) *appsv1.Deployment {
	d := base.DeepCopy()
	d.APIVersion, d.Kind = "apps/v1", "Deployment"
	d.ObjectMeta = metav1.ObjectMeta{Namespace: base.Namespace, Name: base.Name + "-green", Labels: base.Labels}
	d.Status = appsv1.DeploymentStatus{}
	selector := map[string]string{"track": "green"}
	for k, v := range base.Spec.Selector.MatchLabels {
		selector[k] = v
	}
	d.Spec.Selector = &metav1.LabelSelector{MatchLabels: selector}
	labels := map[string]string{"track": "green"}
	for k, v := range base.Spec.Template.Labels {
		labels[k] = v
	}
	d.Spec.Template.Labels = labels
	return d
}

// sendReviews posts the reviews to url from `senders` goroutines sharing one
// HTTP client (keep-alive, HTTP/2 when the server offers it, as the API
// server's webhook client), with the API server's timeout for this webhook
// (timeoutSeconds: 3). It returns each review's round trip and checks each
// answer: allowed, the request's UID, and a patch exactly for the kinds that
// mutate. Answers are checked after the last one came back, so that decoding
// them does not take CPU from the manager while it is timed (in a cluster the
// API server runs on other machines).
func sendReviews(ctx context.Context, hc *http.Client, url string, reviews []review, senders int) ([]time.Duration, []string, error) {
	took := make([]time.Duration, len(reviews))
	status := make([]int, len(reviews))
	answers := make([][]byte, len(reviews))
	err := parallel(ctx, senders, len(reviews), func(i int) error {
		t := time.Now()
		resp, err := hc.Post(url, "application/json", bytes.NewReader(reviews[i].body))
		if err != nil {
			return fmt.Errorf("admission review %d: %w", i, err)
		}
		answers[i], err = io.ReadAll(resp.Body)
		resp.Body.Close()
		took[i], status[i] = time.Since(t), resp.StatusCode
		return err
	})
	if err != nil {
		return nil, nil, err
	}
	var wrong []string
	for i, r := range reviews {
		if why := checkAnswer(r, status[i], answers[i]); why != "" {
			wrong = append(wrong, fmt.Sprintf("%s: %s", r.kind, why))
		}
	}
	return took, wrong, nil
}

func checkAnswer(r review, status int, body []byte) string {
	if status != http.StatusOK {
		return fmt.Sprintf("HTTP %d: %s", status, body)
	}
	var ar admissionv1.AdmissionReview
	if err := json.Unmarshal(body, &ar); err != nil {
		return err.Error()
	}
	resp := ar.Response
	switch {
	case resp == nil:
		return "no response"
	case resp.UID != r.uid:
		return "response for another request"
	case !resp.Allowed:
		return "refused"
	}
	if !r.kind.mutates() {
		if len(resp.Patch) > 0 {
			return fmt.Sprintf("mutated: %s", resp.Patch)
		}
		return ""
	}
	var ops []struct {
		Op, Path string
		Value    json.RawMessage
	}
	if err := json.Unmarshal(resp.Patch, &ops); err != nil {
		return fmt.Sprintf("patch: %v", err)
	}
	for _, op := range ops {
		var grace int64
		if op.Path == gracePath && json.Unmarshal(op.Value, &grace) == nil && grace > 30 {
			return ""
		}
	}
	return fmt.Sprintf("no raised grace period in the patch (%s)", resp.Patch)
}

// measureWebhook warms the webhook up, then sends the measured reviews and
// reads the manager's own counters around them.
func measureWebhook(ctx context.Context, c config, op, bare *process, admin client.Client, created map[types.NamespacedName]*appsv1.Deployment) (*webhookResults, error) {
	res := &webhookResults{senders: c.senders, warmup: c.warmup}
	url, pool, err := webhookEndpoint(ctx, admin)
	if err != nil {
		return nil, err
	}
	res.url = url
	var list appsv1.DeploymentList
	if err := admin.List(ctx, &list); err != nil {
		return nil, err
	}
	var live []appsv1.Deployment
	for _, d := range list.Items {
		if _, ok := created[types.NamespacedName{Namespace: d.Namespace, Name: d.Name}]; ok {
			live = append(live, d)
		}
	}
	if len(live) == 0 {
		return nil, fmt.Errorf("no fleet Deployments to review")
	}
	// Interleave namespaces, so consecutive reviews are not for one namespace.
	sort.Slice(live, func(i, j int) bool {
		a, b := live[i], live[j]
		if a.Name != b.Name {
			return a.Name < b.Name
		}
		return a.Namespace < b.Namespace
	})
	reviews, err := prepareReviews(c.warmup+c.reviews, created, live)
	if err != nil {
		return nil, err
	}
	hc := &http.Client{
		Timeout: 3 * time.Second, // the webhook's timeoutSeconds
		Transport: &http.Transport{
			TLSClientConfig:     &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12},
			ForceAttemptHTTP2:   true,
			MaxIdleConnsPerHost: c.senders,
		},
	}
	defer hc.CloseIdleConnections()

	before, err := op.scrape()
	if err != nil {
		return nil, err
	}
	res.admissionsBefore = before.sum("gracefuldrain_webhook_admissions_total")
	logf("webhook: %d warm-up reviews to %s", c.warmup, url)
	if _, wrong, err := sendReviews(ctx, hc, url, reviews[:c.warmup], c.senders); err != nil {
		return nil, err
	} else if len(wrong) > 0 {
		return nil, fmt.Errorf("warm-up: %d answers not as expected, first: %s", len(wrong), wrong[0])
	}

	measured := reviews[c.warmup:]
	// No heap sample of either manager falls into the timed reviews; the
	// scrape just before them is timed and printed instead.
	defer op.holdSampling()()
	defer bare.holdSampling()()
	scrapeStart := time.Now()
	before, err = op.scrape()
	if err != nil {
		return nil, err
	}
	res.scrapeTook = time.Since(scrapeStart)
	logf("webhook: %d reviews from %d senders", len(measured), c.senders)
	// The bench holds the whole fleet in memory: a collection of its heap
	// during the timed reviews would be timed as the webhook's round trip
	// (an API server's own collector is not part of it either: it runs on
	// other machines). So the bench collects first and not again until the
	// last answer is in; the reviews' own garbage is a few tens of MB.
	goruntime.GC()
	gcPercent := debug.SetGCPercent(-1)
	res.hostStart = sampleHost()
	res.start = time.Now()
	took, wrong, err := sendReviews(ctx, hc, url, measured, c.senders)
	res.end = time.Now()
	debug.SetGCPercent(gcPercent)
	res.hostEnd = sampleHost()
	if err != nil {
		return nil, err
	}
	after, err := op.scrape()
	if err != nil {
		return nil, err
	}
	res.wrongCount = len(wrong)
	res.wrong = wrong[:min(len(wrong), 5)]
	for i, r := range measured {
		res.byKind[r.kind] = append(res.byKind[r.kind], took[i])
	}
	for k := range res.byKind {
		sort.Slice(res.byKind[k], func(i, j int) bool { return res.byKind[k][i] < res.byKind[k][j] })
	}
	res.latencies = took
	sort.Slice(res.latencies, func(i, j int) bool { return res.latencies[i] < res.latencies[j] })
	res.admissions = map[string]float64{}
	for _, result := range []string{"mutated", "unchanged", "skipped", "error"} {
		frag := `result="` + result + `"`
		res.admissions[result] = after.sum("gracefuldrain_webhook_admissions_total", frag) - before.sum("gracefuldrain_webhook_admissions_total", frag)
	}
	res.handleSeconds = after.sum("gracefuldrain_webhook_admission_duration_seconds_sum") - before.sum("gracefuldrain_webhook_admission_duration_seconds_sum")
	res.handledWithin = map[string]float64{}
	for _, le := range handlingBounds {
		frag := `le="` + le + `"`
		res.handledWithin[le] = after.sum("gracefuldrain_webhook_admission_duration_seconds_bucket", frag) - before.sum("gracefuldrain_webhook_admission_duration_seconds_bucket", frag)
	}
	res.restRequests = after.sum("rest_client_requests_total") - before.sum("rest_client_requests_total")
	res.gcCycles = after.sum("go_gc_duration_seconds_count") - before.sum("go_gc_duration_seconds_count")
	res.allocated = after.sum("go_memstats_alloc_bytes_total") - before.sum("go_memstats_alloc_bytes_total")
	logf("webhook: p50 %.2f ms, p99 %.2f ms", ms(res.percentile(50)), ms(res.percentile(99)))
	return res, nil
}

// handlingBounds are buckets of gracefuldrain_webhook_admission_duration_seconds
// the bench reports: where the manager's own handling ends and the round
// trip's transport and scheduling begin.
var handlingBounds = []string{"0.001", "0.0025", "0.005", "0.01"}

func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }

// admissionAPICalls splits the operator's API requests during the measured
// reviews into those the admissions could have caused and those that run on
// their own clock: informers renewing their watches, and the certificate
// keeper's once-a-minute check of its Secret and webhook configuration (two
// GETs by name). Both are printed; only the first count per admission.
func admissionAPICalls(reqs requestCounts) (perAdmission, periodic requestCounts) {
	perAdmission, periodic = requestCounts{}, requestCounts{}
	for k, v := range reqs {
		switch {
		case strings.HasPrefix(k, "watch "), k == "get secrets", k == "get mutatingwebhookconfigurations":
			periodic[k] = v
		default:
			perAdmission[k] = v
		}
	}
	return perAdmission, periodic
}
