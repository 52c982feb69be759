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

// bench is `make bench`: gracefuldrain at N workloads on a real etcd and
// kube-apiserver (envtest), side by side with its floors, in one run.
//
//  1. Installs Argo Rollouts' CRDs (as its project ships them) and creates N/10
//     opted-in namespaces, each with 10 workloads of the kinds of -kinds
//     (default 7 Deployments, 1 StatefulSet, 1 DaemonSet, 1 Argo Rollout),
//     each behind a Service and an ALB Ingress (ip targets), each with -pods
//     running pods (default 2, its replicas) and the ReplicaSet in between
//     where its kind has one, written as the controller-manager, the Argo
//     Rollouts controller and the kubelet would (pods.go).
//  2. Registers the install's admission webhook for a manager on this machine
//     (test/localinstall), starts bin/manager fresh with it, as its own
//     process and as the install's service account, and times it until every
//     GracefulDrain reports PlanApplied=True (convergence).
//  3. Steady state: for at least --steady after the operator's work queue has
//     drained, with one full resync forced in it (a label on every namespace,
//     which maps to every workload), counts the operator's writes (must be 0).
//     A bare controller-runtime manager caching the same kinds, with the
//     operator's GC settings, runs meanwhile (the memory floor).
//  4. Sends AdmissionReviews to the operator's webhook over TLS as the API
//     server would (webhook.go) and times them; counts the API requests the
//     operator sends meanwhile (must be none: it answers from its cache).
//  5. Stops both, creates a second, identical fleet and sends it the minimal
//     writes (the write floor) with the same client QPS, burst and concurrency.
//  6. Prints the figures and the targets, and exits 1 when one is missed.
//
// Requests are counted by verb and resource from the API server's audit log,
// per authenticated user, so nothing in the operator is instrumented. Memory is
// the kernel's peak RSS (VmHWM) of each process, heap from its Prometheus endpoint.
// The machine is shared: the bench reports how much CPU other processes took
// in each timed phase (host.go).
package main

import (
	"context"
	"flag"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"go.uber.org/zap/zapcore"
	admissionregistrationv1 "k8s.io/api/admissionregistration/v1"
	appsv1 "k8s.io/api/apps/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/types"
	utilruntime "k8s.io/apimachinery/pkg/util/runtime"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"
	"k8s.io/client-go/rest"
	toolscache "k8s.io/client-go/tools/cache"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/cache"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/envtest"
	"sigs.k8s.io/controller-runtime/pkg/log/zap"

	gdv1 "github.com/gracefuldrain/gracefuldrain/api/v1alpha1"
	"github.com/gracefuldrain/gracefuldrain/internal/plan"
	views "github.com/gracefuldrain/gracefuldrain/internal/workload"
	"github.com/gracefuldrain/gracefuldrain/test/localinstall"
)

// controlPoll is how often the bench polls the operator's metrics to know a
// phase is over (work queue drained, resync done). Each poll is work for the
// operator (a series for each workload not Ready, all of them in this bench),
// and the polls fall where its memory peaks, so they come no more often than
// this.
const controlPoll = 5 * time.Second

type config struct {
	n           int
	mix         mix
	argoCRDs    string
	pods        int
	manager     string
	bare        string
	crdDir      string
	qps         float64
	burst       int
	concurrency int
	steady      time.Duration
	scrape      time.Duration
	timeout     time.Duration
	workDir     string
	managerArgs string
	managerEnv  string
	repoRoot    string
	reviews     int
	warmup      int
	senders     int
}

func main() {
	var c config
	flag.IntVar(&c.n, "n", 1000, "workloads (10 per namespace)")
	kinds := flag.String("kinds", defaultMix, "workload kinds per namespace of 10: kind=count,... (deployment, statefulset, daemonset, rollout); a kind without a count takes the slots left, so \"deployment\" is a fleet of Deployments only")
	flag.StringVar(&c.argoCRDs, "argo-rollouts-crds", "", "directory of Argo Rollouts' CRDs (hack/tools.sh argo-rollouts-crds), installed by server-side apply; required when the mix has Rollouts")
	flag.IntVar(&c.pods, "pods", 2, "running pods per workload (its replicas), with a ReplicaSet for Deployments and Rollouts; 0 for none")
	flag.StringVar(&c.manager, "manager", "bin/manager", "operator binary")
	flag.StringVar(&c.bare, "bare", "bin/bench-bare", "bare manager binary (test/bench/bare), the memory floor")
	flag.StringVar(&c.crdDir, "crd-dir", "config/crd/bases", "CRDs to install")
	flag.Float64Var(&c.qps, "qps", 50, "client QPS of the operator (--kube-api-qps) and of the write floor")
	flag.IntVar(&c.burst, "burst", 100, "client burst of the operator (--kube-api-burst) and of the write floor")
	flag.IntVar(&c.concurrency, "concurrency", 4, "operator --max-concurrent-reconciles, and the write floor's workers")
	flag.DurationVar(&c.steady, "steady", 2*time.Minute, "steady-state window after convergence")
	flag.DurationVar(&c.scrape, "scrape-interval", 15*time.Second, "how often both managers' metrics are scraped for their heap in use, as a Prometheus would (each scrape costs the operator a series per workload not Ready)")
	flag.DurationVar(&c.timeout, "timeout", 30*time.Minute, "deadline for each phase (creation, convergence, floor)")
	flag.StringVar(&c.workDir, "work-dir", "", "where logs, kubeconfigs and the audit log go (default: a new temp dir)")
	flag.StringVar(&c.managerArgs, "manager-args", "", "extra operator flags, space separated")
	flag.StringVar(&c.managerEnv, "manager-env", "", "extra environment of the operator process only, space separated (e.g. GOGC=100); the bare manager gets the operator's GC settings")
	flag.StringVar(&c.repoRoot, "repo-root", ".", "the checkout, for config/webhook (the install's webhook configuration)")
	flag.IntVar(&c.reviews, "reviews", 2000, "admission reviews sent to the operator's webhook, measured")
	flag.IntVar(&c.warmup, "warmup", 200, "admission reviews sent first, not measured")
	flag.IntVar(&c.senders, "senders", 2, "concurrent senders of admission reviews")
	flag.Parse()
	ctrl.SetLogger(zap.New(zap.WriteTo(os.Stderr), zap.Level(zapcore.FatalLevel+1)))
	if c.n < workloadsPerNamespace || c.n%workloadsPerNamespace != 0 {
		fmt.Fprintf(os.Stderr, "bench: -n must be a positive multiple of %d\n", workloadsPerNamespace)
		os.Exit(2)
	}
	var err error
	if c.mix, err = parseMix(*kinds); err != nil {
		fmt.Fprintln(os.Stderr, "bench: -kinds:", err)
		os.Exit(2)
	}
	if c.mix.has(views.Rollout) && c.argoCRDs == "" {
		fmt.Fprintln(os.Stderr, "bench: the mix has Argo Rollouts: -argo-rollouts-crds must name the directory of its CRDs (hack/tools.sh argo-rollouts-crds)")
		os.Exit(2)
	}
	if c.reviews < 1 || c.warmup < 0 || c.senders < 1 {
		fmt.Fprintln(os.Stderr, "bench: -reviews and -senders must be positive, -warmup not negative")
		os.Exit(2)
	}
	if err := run(c); err != nil {
		fmt.Fprintln(os.Stderr, "bench:", err)
		os.Exit(1)
	}
}

func logf(format string, args ...any) {
	fmt.Fprintf(os.Stderr, "%s  %s\n", time.Now().Format("15:04:05"), fmt.Sprintf(format, args...))
}

// results are the figures the table and the BENCH line print.
type results struct {
	n                                  int
	createSeconds, floorCreateSeconds  float64
	opStart, converged, drained, end   time.Time
	resyncReconciles                   float64
	floorStart, floorEnd               time.Time
	opRSS, opPeakRSS, opPeakHeap       float64
	opParts, bareParts                 memoryParts // at the end
	opHeapEnd, opCPU                   float64
	bareRSS, barePeakRSS, barePeakHeap float64
	bareCPU                            float64
	scrapeInterval                     time.Duration // of the heap samples
	readyReasons                       map[string]int
	reqs                               []request
	// GC settings as each process reports them (go_gc_gogc_percent,
	// go_gc_gomemlimit_bytes): the bare manager runs with the operator's.
	opGOGC, bareGOGC         float64
	opMemLimit, bareMemLimit float64
	webhook                  *webhookResults
	// How busy the machine was: at the operator's start and convergence,
	// and around the write floor (the webhook's are in webhook).
	hostOpStart, hostConverged, hostFloorStart, hostFloorEnd hostSample
}

func run(c config) error {
	ctx, cancel := context.WithCancel(ctrl.SetupSignalHandler())
	defer cancel()
	if c.workDir == "" {
		d, err := os.MkdirTemp("", "gracefuldrain-bench-")
		if err != nil {
			return err
		}
		c.workDir = d
	}
	logf("work dir %s (logs, kubeconfigs, audit log)", c.workDir)
	res := &results{n: c.n, scrapeInterval: c.scrape}

	// Control plane, with an audit log of the measured users' requests.
	policy := filepath.Join(c.workDir, "audit-policy.yaml")
	auditLog := filepath.Join(c.workDir, "audit.log")
	if err := os.WriteFile(policy, []byte(auditPolicy), 0o600); err != nil {
		return err
	}
	env := &envtest.Environment{
		CRDDirectoryPaths: []string{c.crdDir}, ErrorIfCRDPathMissing: true,
		// A loaded API server with an audit log to flush takes longer than the default 20s to stop.
		ControlPlaneStopTimeout: 2 * time.Minute,
	}
	env.ControlPlane.GetAPIServer().Configure().
		Set("audit-policy-file", policy).
		Set("audit-log-path", auditLog).
		Set("audit-log-format", "json").
		// envtest's default /24 holds 254 Services; the bench needs N.
		Set("service-cluster-ip-range", "10.96.0.0/12")
	adminCfg, err := env.Start()
	if err != nil {
		return fmt.Errorf("starting envtest: %w", err)
	}
	defer func() {
		if err := env.Stop(); err != nil {
			logf("stopping envtest: %v", err)
		}
	}()
	scheme := runtime.NewScheme()
	utilruntime.Must(clientgoscheme.AddToScheme(scheme))
	utilruntime.Must(gdv1.AddToScheme(scheme))
	adminCfg.QPS, adminCfg.Burst = 2000, 4000 // the bench's own setup traffic is not what is measured
	admin, err := client.New(adminCfg, client.Options{Scheme: scheme})
	if err != nil {
		return err
	}
	if c.argoCRDs != "" {
		logf("installing Argo Rollouts' CRDs from %s", c.argoCRDs)
		if err := withTimeout(ctx, c.timeout, func(ctx context.Context) error { return installArgoCRDs(ctx, admin, c.argoCRDs) }); err != nil {
			return fmt.Errorf("installing Argo Rollouts' CRDs: %w", err)
		}
	}
	kubeconfigs := map[string]string{}
	userCfgs := map[string]*rest.Config{}
	for _, name := range []string{operatorUser, floorUser, bareUser} {
		u, err := env.AddUser(envtest.User{Name: name, Groups: []string{"system:masters"}}, nil)
		if err != nil {
			return fmt.Errorf("adding user %s: %w", name, err)
		}
		kc, err := u.KubeConfig()
		if err != nil {
			return err
		}
		kubeconfigs[name] = filepath.Join(c.workDir, kubeconfigName[name])
		if err := os.WriteFile(kubeconfigs[name], kc, 0o600); err != nil {
			return err
		}
		userCfgs[name] = u.Config()
	}

	// Convergence is read from a watch on GracefulDrains, not by polling lists.
	progress, err := watchPlanApplied(ctx, adminCfg, scheme, "bench-", c.n)
	if err != nil {
		return err
	}

	ops := newFleet("bench", c.n, c.mix)
	logf("creating %d namespaces, %d workloads (%s), Services and Ingresses", len(ops.Namespaces), c.n, c.mix.totals(c.n))
	t := time.Now()
	if err := withTimeout(ctx, c.timeout, func(ctx context.Context) error { return ops.create(ctx, admin, 16) }); err != nil {
		return fmt.Errorf("creating the fleet: %w", err)
	}
	if c.pods > 0 {
		logf("creating %d running pods, their ReplicaSets and the workloads' status", c.n*c.pods)
		if err := withTimeout(ctx, c.timeout, func(ctx context.Context) error { return ops.createPods(ctx, admin, 16, c.pods) }); err != nil {
			return fmt.Errorf("creating the pods: %w", err)
		}
	}
	res.createSeconds = time.Since(t).Seconds()

	// The install's webhook, registered for the operator process about to
	// start (after the fleet, which is the cluster as it was before the
	// operator came). The operator fills in the CA.
	root, err := filepath.Abs(c.repoRoot)
	if err != nil {
		return err
	}
	webhookPort, err := freePort()
	if err != nil {
		return err
	}
	webhookFlags, err := localinstall.Webhook(ctx, admin, root, localinstall.KubectlFromAssets(), webhookPort, filepath.Join(c.workDir, "webhook-certs"))
	if err != nil {
		return fmt.Errorf("registering the webhook: %w", err)
	}

	if err := measureOperator(ctx, c, res, kubeconfigs, webhookFlags, progress, admin, ops); err != nil {
		return err
	}
	// The operator is gone: without its configuration the API server would
	// try to call it for every write of the floor's Deployments.
	if err := admin.Delete(ctx, &admissionregistrationv1.MutatingWebhookConfiguration{ObjectMeta: metav1.ObjectMeta{Name: localinstall.Configuration}}); err != nil {
		return fmt.Errorf("removing the webhook configuration: %w", err)
	}

	// The write floor, on a second identical fleet (the operator is stopped).
	floorFleet := newFleet("floor", c.n, c.mix)
	logf("creating the write floor's fleet")
	t = time.Now()
	if err := withTimeout(ctx, c.timeout, func(ctx context.Context) error { return floorFleet.create(ctx, admin, 16) }); err != nil {
		return fmt.Errorf("creating the floor fleet: %w", err)
	}
	res.floorCreateSeconds = time.Since(t).Seconds()
	floorCfg := rest.CopyConfig(userCfgs[floorUser])
	floorCfg.QPS, floorCfg.Burst = float32(c.qps), c.burst
	floorClient, err := client.New(floorCfg, client.Options{Scheme: scheme})
	if err != nil {
		return err
	}
	logf("write floor: minimal writes at qps %.0f burst %d, %d workers", c.qps, c.burst, c.concurrency)
	res.hostFloorStart = sampleHost()
	res.floorStart = time.Now()
	if err := withTimeout(ctx, c.timeout, func(ctx context.Context) error {
		return runFloor(ctx, floorClient, floorFleet, floorDefaults(), c.concurrency)
	}); err != nil {
		return err
	}
	res.floorEnd = time.Now()
	res.hostFloorEnd = sampleHost()

	if res.reqs, err = readAudit(auditLog); err != nil {
		return fmt.Errorf("reading the audit log: %w", err)
	}
	if missed := printResults(os.Stdout, c, res); len(missed) > 0 {
		return fmt.Errorf("targets missed: %s", strings.Join(missed, "; "))
	}
	return nil
}

// workloadReconciles sums the reconciles of the workload controllers of the
// kinds in the mix (controller="gracefuldrain-deployment", ...): the
// namespace controller (gracefuldrain-namespace) reconciles too, and its
// reconciles must not count towards "every workload reconciled again".
func workloadReconciles(m metrics, mx mix) float64 {
	total := 0.0
	for _, k := range views.Kinds {
		if mx.has(k) {
			total += m.sum("controller_runtime_reconcile_total", `controller="gracefuldrain-`+strings.ToLower(string(k))+`"`)
		}
	}
	return total
}

// floorDefaults are the operator's flag defaults, with the sleep method it
// picks on this (1.35) API server.
func floorDefaults() plan.Defaults {
	d := plan.DefaultSettings()
	d.SleepMethod = plan.SleepNative
	return d
}

func measureOperator(ctx context.Context, c config, res *results, kubeconfigs map[string]string, webhookFlags []string, progress *planAppliedWatch, admin client.Client, ops *fleet) error {
	args := []string{
		"--kubeconfig", kubeconfigs[operatorUser], "--health-probe-bind-address=0",
		fmt.Sprintf("--kube-api-qps=%g", c.qps), fmt.Sprintf("--kube-api-burst=%d", c.burst),
		fmt.Sprintf("--max-concurrent-reconciles=%d", c.concurrency),
	}
	args = append(args, webhookFlags...)
	args = append(args, strings.Fields(c.managerArgs)...)
	logf("starting the operator: %s %s %s", c.managerEnv, c.manager, strings.Join(args, " "))
	res.hostOpStart = sampleHost()
	op, err := startProcess("operator", c.manager, filepath.Join(c.workDir, "operator.log"), strings.Fields(c.managerEnv), args...)
	if err != nil {
		return err
	}
	defer op.stop()
	res.opStart = op.started
	sampleCtx, stopSampling := context.WithCancel(ctx)
	defer stopSampling()
	if err := op.waitMetrics(ctx, time.Minute); err != nil {
		return err
	}
	go op.sampleHeap(sampleCtx, c.scrape)
	// The GC settings the operator runs with (GOGC=50 unless set; see
	// main.go), which the bare manager gets too: a like-for-like memory floor.
	gc, err := op.scrape()
	if err != nil {
		return err
	}
	res.opGOGC, res.opMemLimit = gc.sum("go_gc_gogc_percent"), gc.sum("go_gc_gomemlimit_bytes")
	if res.opGOGC == 0 || res.opMemLimit == 0 {
		return fmt.Errorf("the operator's metrics have no go_gc_gogc_percent or go_gc_gomemlimit_bytes")
	}

	lastLog := time.Now()
	if err := poll(ctx, c.timeout, 100*time.Millisecond, func() (bool, error) {
		done, at := progress.state()
		if time.Since(lastLog) > 10*time.Second {
			logf("converging: %d/%d GracefulDrains PlanApplied=True", done, c.n)
			lastLog = time.Now()
		}
		if done < c.n {
			return false, nil
		}
		res.converged = at
		res.hostConverged = sampleHost()
		return true, nil
	}); err != nil {
		return fmt.Errorf("waiting for convergence: %w (see %s/operator.log)", err, c.workDir)
	}
	logf("converged in %.1fs", res.converged.Sub(res.opStart).Seconds())

	// Drained: nothing queued and nothing being reconciled, twice a poll apart,
	// so that follow-up reconciles of the operator's own writes are over.
	idleSamples := 0
	if err := poll(ctx, c.timeout, controlPoll, func() (bool, error) {
		m, err := op.scrape()
		if err != nil {
			return false, err
		}
		if m.sum("workqueue_depth", `name="gracefuldrain-`) == 0 && m.sum("controller_runtime_active_workers", `controller="gracefuldrain-`) == 0 {
			idleSamples++
		} else {
			idleSamples = 0
		}
		return idleSamples >= 2, nil
	}); err != nil {
		return fmt.Errorf("waiting for the work queue to drain: %w", err)
	}
	res.drained = time.Now()
	windowEnd := res.drained.Add(c.steady)
	logf("work queue drained; steady-state window of %s starts, bare manager starting", c.steady)

	bareArgs := []string{"--kubeconfig", kubeconfigs[bareUser]}
	if c.argoCRDs != "" {
		bareArgs = append(bareArgs, "--rollouts") // the operator caches Rollouts whenever their CRD exists
	}
	bare, err := startProcess("bare", c.bare, filepath.Join(c.workDir, "bare.log"), gcEnv(res.opGOGC, res.opMemLimit), bareArgs...)
	if err != nil {
		return err
	}
	defer bare.stop()
	if err := bare.waitMetrics(ctx, time.Minute); err != nil {
		return err
	}
	go bare.sampleHeap(sampleCtx, c.scrape)
	if gc, err = bare.scrape(); err != nil {
		return err
	}
	res.bareGOGC, res.bareMemLimit = gc.sum("go_gc_gogc_percent"), gc.sum("go_gc_gomemlimit_bytes")

	// Forced resync: a label change on every namespace passes the operator's
	// namespace predicate and maps to every workload in it, so every
	// workload is reconciled once more against unchanged objects (the
	// workload controllers' reconciles are counted, N at least).
	before, err := op.scrape()
	if err != nil {
		return err
	}
	reconcilesBefore := workloadReconciles(before, c.mix)
	stamp := fmt.Sprint(time.Now().Unix())
	if err := parallel(ctx, 8, len(ops.Namespaces), func(i int) error {
		ns := ops.Namespaces[i].DeepCopy()
		patch := client.MergeFrom(ns.DeepCopy())
		ns.Labels["bench.gracefuldrain.io/resync"] = stamp
		return admin.Patch(ctx, ns, patch)
	}); err != nil {
		return fmt.Errorf("forcing a resync: %w", err)
	}
	if err := poll(ctx, c.timeout, controlPoll, func() (bool, error) {
		m, err := op.scrape()
		if err != nil {
			return false, err
		}
		res.resyncReconciles = workloadReconciles(m, c.mix) - reconcilesBefore
		return res.resyncReconciles >= float64(c.n), nil
	}); err != nil {
		return fmt.Errorf("waiting for the forced resync to reconcile every workload: %w", err)
	}
	logf("resync: %.0f reconciles", res.resyncReconciles)
	if err := poll(ctx, c.timeout, time.Second, func() (bool, error) {
		b, err := os.ReadFile(filepath.Join(c.workDir, "bare.log"))
		return strings.Contains(string(b), "SYNCED"), err
	}); err != nil {
		return fmt.Errorf("waiting for the bare manager's cache: %w", err)
	}
	// The rest of the window is the measurement itself: writes are counted over it.
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-time.After(time.Until(windowEnd)):
	}

	// Admissions against the converged fleet, answered by the operator that
	// has been reconciling it (its memory and CPU below include them).
	created := map[types.NamespacedName]*appsv1.Deployment{}
	for _, ws := range ops.Workloads {
		for _, w := range ws {
			if w.Kind == views.Deployment {
				created[client.ObjectKeyFromObject(w.Deployment)] = w.Deployment
			}
		}
	}
	if res.webhook, err = measureWebhook(ctx, c, op, bare, admin, created); err != nil {
		return fmt.Errorf("measuring the webhook: %w (see %s/operator.log)", err, c.workDir)
	}
	res.end = time.Now()

	m, err := op.scrape()
	if err != nil {
		return err
	}
	res.opCPU, res.opHeapEnd = m.sum("process_cpu_seconds_total"), m.sum("go_memstats_heap_inuse_bytes")
	if res.opRSS, res.opPeakRSS, err = op.memory(); err != nil {
		return err
	}
	res.opPeakHeap = op.peakHeap()
	if res.opParts, err = op.memoryParts(); err != nil {
		return err
	}
	if res.bareParts, err = bare.memoryParts(); err != nil {
		return err
	}
	if bm, err := bare.scrape(); err == nil {
		res.bareCPU = bm.sum("process_cpu_seconds_total")
	}
	if res.bareRSS, res.barePeakRSS, err = bare.memory(); err != nil {
		return err
	}
	res.barePeakHeap = bare.peakHeap()
	res.readyReasons = progress.readyReasons()
	return nil
}

// gcEnv is the environment that gives a Go process these GC settings.
func gcEnv(gogc, memLimit float64) []string {
	env := []string{fmt.Sprintf("GOGC=%.0f", gogc)}
	if memLimit < math.MaxInt64 {
		env = append(env, fmt.Sprintf("GOMEMLIMIT=%.0f", memLimit))
	}
	return env
}

func withTimeout(ctx context.Context, d time.Duration, fn func(context.Context) error) error {
	ctx, cancel := context.WithTimeout(ctx, d)
	defer cancel()
	return fn(ctx)
}

// planAppliedWatch follows GracefulDrains in namespaces with a prefix and
// records when the count of PlanApplied=True first reached the target.
type planAppliedWatch struct {
	prefix string
	target int

	mu      sync.Mutex
	applied map[string]bool
	ready   map[string]string // Ready condition reason per GracefulDrain
	reached time.Time
}

func watchPlanApplied(ctx context.Context, cfg *rest.Config, scheme *runtime.Scheme, prefix string, target int) (*planAppliedWatch, error) {
	w := &planAppliedWatch{prefix: prefix, target: target, applied: map[string]bool{}, ready: map[string]string{}}
	c, err := cache.New(cfg, cache.Options{Scheme: scheme})
	if err != nil {
		return nil, err
	}
	inf, err := c.GetInformer(ctx, &gdv1.GracefulDrain{})
	if err != nil {
		return nil, err
	}
	if _, err := inf.AddEventHandler(toolscache.ResourceEventHandlerFuncs{
		AddFunc:    func(o any) { w.observe(o, false) },
		UpdateFunc: func(_, o any) { w.observe(o, false) },
		DeleteFunc: func(o any) { w.observe(o, true) },
	}); err != nil {
		return nil, err
	}
	go func() { _ = c.Start(ctx) }()
	if !c.WaitForCacheSync(ctx) {
		return nil, fmt.Errorf("GracefulDrain watch did not sync")
	}
	return w, nil
}

func (w *planAppliedWatch) observe(o any, deleted bool) {
	if t, ok := o.(toolscache.DeletedFinalStateUnknown); ok {
		o, deleted = t.Obj, true
	}
	gd, ok := o.(*gdv1.GracefulDrain)
	if !ok || !strings.HasPrefix(gd.Namespace, w.prefix) {
		return
	}
	key := gd.Namespace + "/" + gd.Name
	w.mu.Lock()
	defer w.mu.Unlock()
	if deleted {
		delete(w.applied, key)
		delete(w.ready, key)
		return
	}
	w.applied[key] = meta.IsStatusConditionTrue(gd.Status.Conditions, gdv1.ConditionPlanApplied)
	if r := meta.FindStatusCondition(gd.Status.Conditions, "Ready"); r != nil {
		w.ready[key] = string(r.Status) + "/" + r.Reason
	}
	if w.reached.IsZero() && w.countLocked() >= w.target {
		w.reached = time.Now()
	}
}

func (w *planAppliedWatch) countLocked() int {
	n := 0
	for _, ok := range w.applied {
		if ok {
			n++
		}
	}
	return n
}

func (w *planAppliedWatch) state() (int, time.Time) {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.countLocked(), w.reached
}

func (w *planAppliedWatch) readyReasons() map[string]int {
	w.mu.Lock()
	defer w.mu.Unlock()
	out := map[string]int{}
	for _, r := range w.ready {
		out[r]++
	}
	return out
}
