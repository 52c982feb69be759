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

// gracefuldrain's manager: finds Deployments behind AWS load balancers in
// opted-in namespaces and applies the drain settings they need.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"runtime/debug"
	"time"

	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/types"
	utilruntime "k8s.io/apimachinery/pkg/util/runtime"
	"k8s.io/client-go/discovery"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/log/zap"
	metricsserver "sigs.k8s.io/controller-runtime/pkg/metrics/server"
	"sigs.k8s.io/controller-runtime/pkg/webhook"

	gdv1 "github.com/gracefuldrain/gracefuldrain/api/v1alpha1"
	"github.com/gracefuldrain/gracefuldrain/controllers"
	"github.com/gracefuldrain/gracefuldrain/internal/conflict"
	"github.com/gracefuldrain/gracefuldrain/internal/plan"
)

var scheme = runtime.NewScheme()

func init() {
	utilruntime.Must(clientgoscheme.AddToScheme(scheme))
	utilruntime.Must(gdv1.AddToScheme(scheme))
}

// options are the manager's flags; README.md lists them with their reasons.
type options struct {
	metricsAddr, probeAddr string
	pprofAddr              string
	leaderElect            bool
	leaderElectionNS       string
	forceAudit             bool
	sleepMethod            string
	defaults               plan.Defaults
	qps                    float64
	burst                  int
	concurrency            int
	kubeconfig             string
	revertPolicy           conflict.Policy
	webhook                webhookOptions
}

// webhookOptions are the admission webhook's flags. The cert flags follow the
// kubebuilder scaffold: with --webhook-cert-path the manager serves those
// files (cert-manager's) and keeps no certificate of its own.
type webhookOptions struct {
	port                        int
	certPath, certName, certKey string
	certDir                     string
	namespace, service, host    string
	secret, configuration       string
}

func parseFlags(args []string) (options, *zap.Options, error) {
	var o options
	fs := flag.NewFlagSet("manager", flag.ContinueOnError)
	fs.StringVar(&o.metricsAddr, "metrics-bind-address", ":8080", "Address of the Prometheus metrics endpoint; \"0\" turns it off.")
	fs.StringVar(&o.probeAddr, "health-probe-bind-address", ":8081", "Address of the /healthz and /readyz endpoints.")
	fs.StringVar(&o.pprofAddr, "pprof-bind-address", "", "Address of Go's /debug/pprof endpoints, for profiling; off when empty.")
	fs.BoolVar(&o.leaderElect, "leader-elect", false, "Elect a leader so that only one replica writes; on in config/default.")
	fs.StringVar(&o.leaderElectionNS, "leader-election-namespace", "", "Namespace of the leader-election Lease (default: the pod's namespace).")
	fs.BoolVar(&o.forceAudit, "force-audit", false, "Report only: treat every opted-in namespace as mode audit and never write Deployments or Namespaces.")
	fs.StringVar(&o.sleepMethod, "sleep-method", plan.SleepMethodAuto, "How to express the preStop sleep: auto (native sleep on API server 1.30+, else exec), sleep, or exec.")
	def := plan.DefaultSettings()
	alb := fs.Int("alb-ip-prestop-seconds", int(def.ALBIPPreStopSeconds), "preStop sleep for ip targets behind an ALB (AWS LB controller issues #1719, #2106).")
	nlb := fs.Int("nlb-ip-prestop-seconds", int(def.NLBIPPreStopSeconds), "preStop sleep for ip targets behind an NLB (AWS LB controller issues #2366, #3270).")
	inst := fs.Int("instance-prestop-seconds", int(def.InstancePreStopSeconds), "preStop sleep for instance targets (kube-proxy endpoint propagation).")
	shutdown := fs.Int("shutdown-seconds", int(def.ShutdownSeconds), "Time left to the app after the sleep; terminationGracePeriodSeconds >= preStop + this.")
	fs.Float64Var(&o.qps, "kube-api-qps", 50, "Client queries per second to the API server.")
	fs.IntVar(&o.burst, "kube-api-burst", 100, "Client burst to the API server.")
	fs.IntVar(&o.concurrency, "max-concurrent-reconciles", 4, "Deployments reconciled in parallel.")
	maxReapplies := fs.Int("max-reapplies", int(conflict.DefaultPolicy.MaxReapplies), "Re-applies answered, per --revert-window, when another field manager reverts the drain settings; then Conflict.")
	fs.DurationVar(&o.revertPolicy.Window, "revert-window", conflict.DefaultPolicy.Window, "Reverts further apart start a new count; after this long without reverts a Conflict is retried.")
	fs.StringVar(&o.kubeconfig, "kubeconfig", "", "Path of a kubeconfig; default: in-cluster config, else $KUBECONFIG or ~/.kube/config.")
	fs.IntVar(&o.webhook.port, "webhook-port", webhook.DefaultPort, "Port of the admission webhook server; 0 turns the webhook off (the reconciler alone applies the plan).")
	fs.StringVar(&o.webhook.certPath, "webhook-cert-path", "", "Directory of the webhook serving certificate (cert-manager's); when empty the manager keeps its own in --webhook-secret.")
	fs.StringVar(&o.webhook.certName, "webhook-cert-name", "tls.crt", "File name of the webhook serving certificate.")
	fs.StringVar(&o.webhook.certDir, "webhook-cert-dir", filepath.Join(os.TempDir(), "k8s-webhook-server", "serving-certs"), "Where the manager writes its self-managed certificate for the webhook server (an emptyDir in the install).")
	fs.StringVar(&o.webhook.certKey, "webhook-cert-key", "tls.key", "File name of the webhook serving key.")
	fs.StringVar(&o.webhook.namespace, "webhook-namespace", envOr("POD_NAMESPACE", "gracefuldrain-system"), "Namespace of the webhook Service and certificate Secret.")
	fs.StringVar(&o.webhook.service, "webhook-service", "gracefuldrain-webhook-service", "Service the API server calls the webhook through; the certificate is made for it.")
	fs.StringVar(&o.webhook.host, "webhook-host", "", "An extra host name or IP address for the certificate, for a manager run outside the cluster (e.g. 127.0.0.1).")
	fs.StringVar(&o.webhook.secret, "webhook-secret", "gracefuldrain-webhook-server-cert", "Secret that holds the self-managed webhook certificate (created empty by the install).")
	fs.StringVar(&o.webhook.configuration, "webhook-configuration", "gracefuldrain-mutating-webhook-configuration", "MutatingWebhookConfiguration that gets the self-managed CA.")
	zapOpts := &zap.Options{Development: false}
	zapOpts.BindFlags(fs)
	if err := fs.Parse(args); err != nil {
		return o, nil, err
	}
	for name, v := range map[string]int{"alb-ip-prestop-seconds": *alb, "nlb-ip-prestop-seconds": *nlb, "instance-prestop-seconds": *inst} {
		if v < 1 || v > 3600 {
			return o, nil, fmt.Errorf("--%s=%d: must be from 1 to 3600", name, v)
		}
	}
	if *maxReapplies < 0 || *maxReapplies > 100 || o.revertPolicy.Window <= 0 {
		return o, nil, fmt.Errorf("--max-reapplies=%d --revert-window=%s: must be 0-100 and positive", *maxReapplies, o.revertPolicy.Window)
	}
	o.revertPolicy.MaxReapplies = int32(*maxReapplies)
	if o.webhook.port < 0 || o.webhook.port > 65535 {
		return o, nil, fmt.Errorf("--webhook-port=%d: must be from 0 to 65535", o.webhook.port)
	}
	if *shutdown < 0 || *shutdown > 3600 {
		return o, nil, fmt.Errorf("--shutdown-seconds=%d: must be from 0 to 3600", *shutdown)
	}
	if _, _, err := plan.ChooseSleepMethod(o.sleepMethod, "", nil); err != nil {
		return o, nil, err
	}
	o.defaults = plan.Defaults{
		ALBIPPreStopSeconds: int32(*alb), NLBIPPreStopSeconds: int32(*nlb),
		InstancePreStopSeconds: int32(*inst), ShutdownSeconds: int32(*shutdown),
	}
	return o, zapOpts, nil
}

func main() {
	o, zapOpts, err := parseFlags(os.Args[1:])
	if err != nil {
		if errors.Is(err, flag.ErrHelp) {
			os.Exit(0)
		}
		fmt.Fprintln(os.Stderr, err)
		os.Exit(2)
	}
	ctrl.SetLogger(zap.New(zap.UseFlagOptions(zapOpts)))
	setupLog := ctrl.Log.WithName("setup")
	setGCPercent(os.Getenv("GOGC"))
	cfg, err := restConfig(o.kubeconfig)
	if err != nil {
		setupLog.Error(err, "loading kubeconfig")
		os.Exit(1)
	}
	if err := run(ctrl.SetupSignalHandler(), cfg, o); err != nil {
		setupLog.Error(err, "manager stopped")
		os.Exit(1)
	}
}

// defaultGCPercent is the operator's GC target when GOGC is not set. Its heap
// is mostly the informer cache, which lives as long as the process, so Go's
// default (collect when the heap has doubled) makes the peak twice the cache;
// at 50 the peak is 1.5 times the cache, for a little more GC CPU
// (docs/benchmarks.md measures both).
const defaultGCPercent = 50

// setGCPercent applies defaultGCPercent unless GOGC is set (the runtime has
// already applied it then).
func setGCPercent(gogc string) {
	if gogc == "" {
		debug.SetGCPercent(defaultGCPercent)
	}
}

func restConfig(kubeconfig string) (*rest.Config, error) {
	if kubeconfig != "" {
		return clientcmd.BuildConfigFromFlags("", kubeconfig)
	}
	return ctrl.GetConfig()
}

func run(ctx context.Context, cfg *rest.Config, o options) error {
	setupLog := ctrl.Log.WithName("setup")
	cfg.QPS, cfg.Burst = float32(o.qps), o.burst

	apiServer, err := apiServerVersion(cfg, o.sleepMethod)
	if err != nil {
		return err
	}
	method, why, err := plan.ChooseSleepMethod(o.sleepMethod, apiServer, nil)
	if err != nil {
		return err
	}
	o.defaults.SleepMethod = method
	setupLog.Info("starting", "sleepMethod", method, "why", why, "defaults", o.defaults, "forceAudit", o.forceAudit)

	serving := webhookServing(o.webhook)
	mgr, err := ctrl.NewManager(cfg, ctrl.Options{
		WebhookServer:           webhook.NewServer(webhook.Options{Port: o.webhook.port, CertDir: serving.dir, CertName: o.webhook.certName, KeyName: o.webhook.certKey}),
		Scheme:                  scheme,
		Metrics:                 metricsserver.Options{BindAddress: o.metricsAddr},
		HealthProbeBindAddress:  o.probeAddr,
		PprofBindAddress:        o.pprofAddr,
		LeaderElection:          o.leaderElect,
		LeaderElectionID:        "gracefuldrain.gracefuldrain.io",
		LeaderElectionNamespace: o.leaderElectionNS,
		// Stepping down at once lets a new replica take over without waiting a lease duration.
		LeaderElectionReleaseOnCancel: true,
		Cache:                         controllers.CacheOptions(),
		Client:                        controllers.ClientOptions(),
	})
	if err != nil {
		return fmt.Errorf("creating manager: %w", err)
	}
	so := controllers.SetupOptions{
		Options:                 controllers.Options{Defaults: o.defaults, ForceAudit: o.forceAudit, RevertPolicy: o.revertPolicy},
		MaxConcurrentReconciles: o.concurrency,
		Webhook:                 o.webhook.port != 0,
		SleepMethodFlag:         o.sleepMethod,
		APIServerVersion:        apiServer,
	}
	if so.Webhook && serving.selfManaged {
		so.Certs = &controllers.WebhookCerts{
			Reader: mgr.GetAPIReader(), Writer: mgr.GetClient(),
			Secret:        types.NamespacedName{Namespace: o.webhook.namespace, Name: o.webhook.secret},
			Configuration: o.webhook.configuration,
			Names:         serving.names,
			Dir:           serving.dir, CertName: o.webhook.certName, KeyName: o.webhook.certKey,
			Interval: time.Minute,
		}
		// The webhook server reads the pair when it starts: it must be on disk first.
		if err := ensureCertsAtStart(ctx, so.Certs); err != nil {
			return err
		}
	}
	if err := controllers.Setup(ctx, mgr, so); err != nil {
		return err
	}
	return mgr.Start(ctx)
}

// serving is where the webhook's certificate comes from.
type serving struct {
	dir         string
	selfManaged bool
	names       []string // what a self-managed certificate is made for
}

func webhookServing(w webhookOptions) serving {
	if w.certPath != "" {
		return serving{dir: w.certPath}
	}
	svc := w.service + "." + w.namespace + ".svc"
	s := serving{
		dir:         w.certDir,
		selfManaged: true,
		names:       []string{svc, svc + ".cluster.local"},
	}
	if w.host != "" {
		s.names = append(s.names, w.host)
	}
	return s
}

// ensureCertsAtStart makes the first round of the certificate keeper, retrying
// while the API server or the install's objects are not there yet.
func ensureCertsAtStart(ctx context.Context, c *controllers.WebhookCerts) error {
	var err error
	for attempt := 1; attempt <= 10; attempt++ {
		if err = c.Ensure(ctx); err == nil {
			return nil
		}
		ctrl.Log.WithName("setup").Info("webhook certificate not ready yet", "attempt", attempt, "error", err.Error())
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(time.Duration(attempt) * time.Second):
		}
	}
	return fmt.Errorf("keeping the webhook certificate: %w", err)
}

func envOr(key, def string) string {
	if v := os.Getenv(key); v != "" {
		return v
	}
	return def
}

// apiServerVersion reads the API server's version ("v1.35.4"), which the
// sleep method depends on; not needed when the flag forces a method.
func apiServerVersion(cfg *rest.Config, sleepMethodFlag string) (string, error) {
	if sleepMethodFlag != plan.SleepMethodAuto {
		return "", nil
	}
	dc, err := discovery.NewDiscoveryClientForConfig(cfg)
	if err != nil {
		return "", err
	}
	var lastErr error
	for attempt := 1; attempt <= 5; attempt++ {
		v, err := dc.ServerVersion()
		if err == nil {
			return v.GitVersion, nil
		}
		lastErr = err
		time.Sleep(time.Duration(attempt) * time.Second) // the API server may still be starting
	}
	return "", fmt.Errorf("reading the API server version to choose the sleep method: %w", lastErr)
}
