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
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"go.uber.org/zap/zapcore"
	admissionregistrationv1 "k8s.io/api/admissionregistration/v1"
	corev1 "k8s.io/api/core/v1"
	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	utilruntime "k8s.io/apimachinery/pkg/util/runtime"
	"k8s.io/client-go/discovery"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"
	"k8s.io/client-go/rest"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/envtest"
	"sigs.k8s.io/controller-runtime/pkg/log/zap"
	metricsserver "sigs.k8s.io/controller-runtime/pkg/metrics/server"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"
	"sigs.k8s.io/controller-runtime/pkg/webhook"
	"sigs.k8s.io/yaml"

	gdv1 "github.com/gracefuldrain/gracefuldrain/api/v1alpha1"
	"github.com/gracefuldrain/gracefuldrain/internal/plan"
	"github.com/gracefuldrain/gracefuldrain/internal/workload"
)

// The suite runs one real etcd + kube-apiserver (envtest) and one manager for
// all tests; each test works in namespaces of its own.
var (
	testScheme = runtime.NewScheme()
	k8s        client.Client // the tests' own client, not counted as the operator's
	writes     = &writeLog{}
	reconciled = &reconcileCounts{counts: map[string]int{}}
)

func init() {
	utilruntime.Must(clientgoscheme.AddToScheme(testScheme))
	utilruntime.Must(gdv1.AddToScheme(testScheme))
	utilruntime.Must(apiextensionsv1.AddToScheme(testScheme))
}

func TestMain(m *testing.M) {
	if os.Getenv("KUBEBUILDER_ASSETS") == "" {
		fmt.Fprintln(os.Stderr, "controllers tests need a real etcd and kube-apiserver: run `make test` (it builds and caches them) or set KUBEBUILDER_ASSETS")
		os.Exit(1)
	}
	ctrl.SetLogger(zap.New(zap.WriteTo(os.Stderr), zap.UseDevMode(true), zap.Level(zapLevel())))
	webhooks, err := installedWebhooks()
	if err != nil {
		fmt.Fprintln(os.Stderr, "reading config/webhook:", err)
		os.Exit(1)
	}
	env := &envtest.Environment{
		CRDDirectoryPaths:     []string{filepath.Join("..", "config", "crd", "bases")},
		ErrorIfCRDPathMissing: true,
		// The admission webhook as the install registers it (its scope
		// included); envtest points it at the manager below, over TLS.
		WebhookInstallOptions: envtest.WebhookInstallOptions{MutatingWebhooks: webhooks},
	}
	cfg, err := env.Start()
	if err != nil {
		fmt.Fprintln(os.Stderr, "starting envtest:", err)
		os.Exit(1)
	}
	code := func() int {
		ctx, cancel := context.WithCancel(context.Background())
		defer cancel()
		if k8s, err = client.New(cfg, client.Options{Scheme: testScheme}); err != nil {
			fmt.Fprintln(os.Stderr, err)
			return 1
		}
		if kubeconfig, err = writeKubeconfig(env); err != nil {
			fmt.Fprintln(os.Stderr, "writing a kubeconfig for kubectl:", err)
			return 1
		}
		// The install's field-level policy is in force for the whole suite,
		// and the manager runs as the identity it binds to: everything the
		// suite's operator writes passes the policy, or a test fails.
		if err := installOperatorPolicy(ctx); err != nil {
			fmt.Fprintln(os.Stderr, "installing config/policy:", err)
			return 1
		}
		operatorUser, err := env.AddUser(envtest.User{Name: operatorServiceAccount, Groups: []string{"system:masters"}}, nil)
		if err != nil {
			fmt.Fprintln(os.Stderr, "adding the operator's user:", err)
			return 1
		}
		operatorConfig = operatorUser.Config()
		if err := waitOperatorPolicyEnforced(ctx, operatorConfig); err != nil {
			fmt.Fprintln(os.Stderr, err)
			return 1
		}
		done, err := startManager(ctx, operatorConfig, &env.WebhookInstallOptions)
		if err != nil {
			fmt.Fprintln(os.Stderr, "starting manager:", err)
			return 1
		}
		code := m.Run()
		cancel()
		<-done
		// Every test passed with the policy in force; it must also never
		// have refused a write of the operator's (a refused apply would be
		// retried, and could go unnoticed while the tests still converge).
		if denied := writes.policyDenials(); len(denied) > 0 {
			fmt.Fprintf(os.Stderr, "config/policy refused %d writes of the operator during the suite:\n%s\n", len(denied), strings.Join(denied, "\n"))
			code = 1
		}
		return code
	}()
	if err := env.Stop(); err != nil {
		fmt.Fprintln(os.Stderr, "stopping envtest:", err)
	}
	os.Exit(code)
}

func zapLevel() zapcore.Level {
	if os.Getenv("TEST_VERBOSE_LOGS") != "" {
		return zapcore.DebugLevel
	}
	return zapcore.FatalLevel + 1 // quiet unless asked: the tests assert, the logs are for debugging
}

// operatorServiceAccount is the username of the install's manager (its
// ServiceAccount in gracefuldrain-system), which config/policy binds to.
const operatorServiceAccount = "system:serviceaccount:gracefuldrain-system:gracefuldrain-controller-manager"

// operatorConfig authenticates as operatorServiceAccount, in group
// system:masters so that RBAC does not get in the way here (test/faults runs
// the manager with nothing but the generated RBAC). The suite's manager uses
// it, and so do the policy tests (without the manager's write recording).
var operatorConfig *rest.Config

// installOperatorPolicy applies the ValidatingAdmissionPolicies and their
// bindings of the install (`kubectl kustomize config/default`), as the
// install renders them.
func installOperatorPolicy(ctx context.Context) error {
	objs, err := renderedOperatorPolicy()
	if err != nil {
		return err
	}
	for _, o := range objs {
		if err := k8s.Patch(ctx, o, client.Apply, client.FieldOwner("gracefuldrain-tests"), client.ForceOwnership); err != nil {
			return fmt.Errorf("%s %s: %w", o.GetKind(), o.GetName(), err)
		}
	}
	return nil
}

// renderedOperatorPolicy returns config/default's ValidatingAdmissionPolicies
// and bindings, and fails when there are none.
func renderedOperatorPolicy() ([]*unstructured.Unstructured, error) {
	out, err := exec.Command(filepath.Join(os.Getenv("KUBEBUILDER_ASSETS"), "kubectl"), "kustomize", filepath.Join("..", "config", "default")).Output()
	if err != nil {
		return nil, fmt.Errorf("kubectl kustomize config/default: %w", err)
	}
	var objs []*unstructured.Unstructured
	policies, bindings := 0, 0
	for _, doc := range strings.Split(string(out), "\n---\n") {
		o := &unstructured.Unstructured{}
		if err := yaml.Unmarshal([]byte(doc), &o.Object); err != nil {
			return nil, err
		}
		switch o.GetKind() {
		case "ValidatingAdmissionPolicy":
			policies++
		case "ValidatingAdmissionPolicyBinding":
			bindings++
		default:
			continue
		}
		objs = append(objs, o)
	}
	if policies == 0 || bindings != policies {
		return nil, fmt.Errorf("config/default renders %d ValidatingAdmissionPolicies and %d bindings", policies, bindings)
	}
	return objs, nil
}

// waitOperatorPolicyEnforced polls until the API server refuses a request of
// the operator that the policy forbids (creating a Namespace, dry run): a
// new policy is enforced only once the API server has compiled it and its
// informers have seen the binding.
func waitOperatorPolicyEnforced(ctx context.Context, cfg *rest.Config) error {
	c, err := client.New(cfg, client.Options{Scheme: testScheme})
	if err != nil {
		return err
	}
	deadline := time.Now().Add(time.Minute)
	for {
		ns := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "policy-probe"}}
		err := c.Create(ctx, ns, client.DryRunAll)
		if apierrors.IsForbidden(err) && strings.Contains(err.Error(), "gracefuldrain-operator-namespace-label") {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("config/policy not enforced after a minute: the operator's dry-run Namespace create answered %v", err)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// kubeconfig lets tests run kubectl as users do (kubectl apply, client-side
// and server-side): an administrator of the envtest API server.
var kubeconfig string

func writeKubeconfig(env *envtest.Environment) (string, error) {
	user, err := env.AddUser(envtest.User{Name: "tests-kubectl", Groups: []string{"system:masters"}}, nil)
	if err != nil {
		return "", err
	}
	raw, err := user.KubeConfig()
	if err != nil {
		return "", err
	}
	f, err := os.CreateTemp("", "gracefuldrain-tests-kubeconfig-")
	if err != nil {
		return "", err
	}
	defer f.Close()
	_, err = f.Write(raw)
	return f.Name(), err
}

// installedWebhooks are the MutatingWebhookConfigurations of config/webhook,
// rendered as the install renders them (kubectl kustomize).
func installedWebhooks() ([]*admissionregistrationv1.MutatingWebhookConfiguration, error) {
	out, err := exec.Command(filepath.Join(os.Getenv("KUBEBUILDER_ASSETS"), "kubectl"), "kustomize", filepath.Join("..", "config", "webhook")).Output()
	if err != nil {
		return nil, err
	}
	var configs []*admissionregistrationv1.MutatingWebhookConfiguration
	for _, doc := range strings.Split(string(out), "\n---\n") {
		if !strings.Contains(doc, "kind: MutatingWebhookConfiguration") {
			continue
		}
		var c admissionregistrationv1.MutatingWebhookConfiguration
		if err := yaml.Unmarshal([]byte(doc), &c); err != nil {
			return nil, err
		}
		configs = append(configs, &c)
	}
	return configs, nil
}

// startManager runs the operator as main.go does, as the identity cfg
// authenticates (the operator's ServiceAccount), but with every request it
// sends recorded, so tests can count its writes, and with the webhook server
// envtest registered.
func startManager(ctx context.Context, cfg *rest.Config, wh *envtest.WebhookInstallOptions) (<-chan struct{}, error) {
	opCfg := rest.CopyConfig(cfg)
	opCfg.Wrap(func(rt http.RoundTripper) http.RoundTripper { return &recordingTransport{next: rt, log: writes} })
	mgr, err := ctrl.NewManager(opCfg, ctrl.Options{
		Scheme:                 testScheme,
		Metrics:                metricsserver.Options{BindAddress: "0"},
		HealthProbeBindAddress: "0",
		Cache:                  CacheOptions(),
		Client:                 ClientOptions(),
		WebhookServer: &switchableWebhookServer{Server: webhook.NewServer(webhook.Options{
			Host: wh.LocalServingHost, Port: wh.LocalServingPort, CertDir: wh.LocalServingCertDir})},
	})
	if err != nil {
		return nil, err
	}
	version, err := discovery.NewDiscoveryClientForConfigOrDie(cfg).ServerVersion()
	if err != nil {
		return nil, err
	}
	err = Setup(ctx, mgr, SetupOptions{
		Options:                 Options{Defaults: suiteDefaults()},
		MaxConcurrentReconciles: 4,
		Webhook:                 true,
		SleepMethodFlag:         plan.SleepMethodAuto,
		APIServerVersion:        version.GitVersion,
		wrap:                    func(r *WorkloadReconciler) reconcile.Reconciler { return &countingReconciler{WorkloadReconciler: r} },
	})
	if err != nil {
		return nil, err
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		if err := mgr.Start(ctx); err != nil {
			fmt.Fprintln(os.Stderr, "manager:", err)
		}
	}()
	return done, nil
}

// countingReconciler counts finished reconciles per workload, so a test can
// wait until the operator has seen a change to its own workload before
// asserting that it wrote nothing (other tests' reconciles do not count).
type countingReconciler struct{ *WorkloadReconciler }

func (c *countingReconciler) Reconcile(ctx context.Context, req ctrl.Request) (ctrl.Result, error) {
	res, err := c.WorkloadReconciler.Reconcile(ctx, req)
	reconciled.add(reconcileKey(c.kind.kind, req.Namespace, req.Name))
	return res, err
}

// reconcileCounts is the number of finished reconciles per workload key.
type reconcileCounts struct {
	mu     sync.Mutex
	counts map[string]int
}

func reconcileKey(kind workload.Kind, namespace, name string) string {
	return string(kind) + " " + namespace + "/" + name
}

func (r *reconcileCounts) add(key string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.counts[key]++
}

func (r *reconcileCounts) of(key string) int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.counts[key]
}

// writeLog records the operator's mutating requests in order.
type writeLog struct {
	mu      sync.Mutex
	entries []string // "PATCH /api/v1/namespaces/x"
	denied  []string // writes a ValidatingAdmissionPolicy refused, with the API server's answer
}

func (w *writeLog) deny(e string) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.denied = append(w.denied, e)
}

func (w *writeLog) policyDenials() []string {
	w.mu.Lock()
	defer w.mu.Unlock()
	return slices.Clone(w.denied)
}

func (w *writeLog) add(e string) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.entries = append(w.entries, e)
}

// matching returns the recorded writes whose path contains every fragment.
func (w *writeLog) matching(fragments ...string) []string {
	w.mu.Lock()
	defer w.mu.Unlock()
	var out []string
next:
	for _, e := range w.entries {
		for _, f := range fragments {
			if !strings.Contains(e, f) {
				continue next
			}
		}
		out = append(out, e)
	}
	return out
}

type recordingTransport struct {
	next http.RoundTripper
	log  *writeLog
}

func (t *recordingTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	resp, err := t.next.RoundTrip(req)
	if req.Method != http.MethodGet && err == nil && resp.StatusCode < 300 {
		t.log.add(req.Method + " " + req.URL.Path)
	}
	if req.Method != http.MethodGet && err == nil && resp.StatusCode == http.StatusForbidden {
		// Read the answer to tell a policy's refusal from RBAC's, and put
		// it back for the operator.
		body, readErr := io.ReadAll(resp.Body)
		_ = resp.Body.Close()
		resp.Body = io.NopCloser(bytes.NewReader(body))
		if readErr == nil && bytes.Contains(body, []byte("ValidatingAdmissionPolicy")) {
			t.log.deny(req.Method + " " + req.URL.Path + ": " + string(body))
		}
	}
	return resp, err
}

// webhookDown makes the admission webhook answer as the API server does when
// it cannot reach the webhook (failurePolicy Ignore): the write is admitted
// as it came. Tests of what the reconciler does for writes the webhook did
// not see set it, and reset it when they end.
var webhookDown atomic.Bool

func withWebhookDown(t *testing.T) {
	t.Helper()
	webhookDown.Store(true)
	t.Cleanup(func() { webhookDown.Store(false) })
}

// switchableWebhookServer serves the operator's webhooks through webhookDown.
type switchableWebhookServer struct{ webhook.Server }

func (s *switchableWebhookServer) Register(path string, hook http.Handler) {
	s.Server.Register(path, http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		if webhookDown.Load() {
			http.Error(w, "webhook down for this test", http.StatusServiceUnavailable)
			return
		}
		hook.ServeHTTP(w, req)
	}))
}

// suiteDefaults are the manager's settings in this suite: the shipped defaults
// with the first preStop numbers (ALB ip 40 s, NLB ip 90 s, instance 10 s),
// which the cases are written against: they test the controllers' rules, and
// keep the API server's own checks in reach (a manifest's grace of 45 s is
// below a 70 s sleep, above a 40 s one). The shipped numbers are tested in
// internal/plan and test/e2e, and run in test/faults, test/e2e and the demo.
func suiteDefaults() plan.Defaults {
	d := plan.DefaultSettings()
	d.ALBIPPreStopSeconds, d.NLBIPPreStopSeconds, d.InstancePreStopSeconds = 40, 90, 10
	return d
}
