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

// Package faults injects faults into a run of the real manager binary
// (bin/manager) against a real etcd + kube-apiserver (envtest): the API server
// restarted mid-convergence, the leader of two replicas killed, the operator
// killed at random points, write conflicts from a concurrent writer, and every
// manager process killed while users keep deploying. The operator runs as the
// install's ServiceAccount with nothing but the install's RBAC and its
// field-level policy (config/default), every process serves the install's
// admission webhook, and the API server's audit log records every write it
// makes.
//
// The tests are slow (minutes) and run only with GRACEFULDRAIN_FAULTS=1
// (hack/test-faults.sh, `make test-faults`).
package faults

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"go.uber.org/zap/zapcore"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/types"
	utilruntime "k8s.io/apimachinery/pkg/util/runtime"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"
	"k8s.io/client-go/rest"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/envtest"
	logf "sigs.k8s.io/controller-runtime/pkg/log"
	"sigs.k8s.io/controller-runtime/pkg/log/zap"
	"sigs.k8s.io/yaml"

	gdv1 "github.com/gracefuldrain/gracefuldrain/api/v1alpha1"
	"github.com/gracefuldrain/gracefuldrain/test/localinstall"
)

const (
	// operatorUser is the install's ServiceAccount, as the API server names
	// it: config/default's RBAC bindings and config/policy match it.
	operatorUser    = "system:serviceaccount:gracefuldrain-system:gracefuldrain-controller-manager"
	systemNamespace = "gracefuldrain-system"
	// fieldManager is the operator's server-side apply field manager.
	fieldManager = "gracefuldrain"
)

var (
	scheme     = runtime.NewScheme()
	env        *envtest.Environment
	k8s        client.Client // the test's own (admin) client
	workDir    string
	kubeconfig string // the operator's, with only the generated RBAC
	auditLog   string
	managerBin string
	// webhook is the stand-in for the webhook Service; webhookFlags are the
	// flags every manager process gets for it (test/localinstall's, but the
	// port and certificate directory, which are each process's own).
	webhook      *webhookService
	webhookFlags []string
)

func init() {
	utilruntime.Must(clientgoscheme.AddToScheme(scheme))
	utilruntime.Must(gdv1.AddToScheme(scheme))
}

func TestMain(m *testing.M) {
	if os.Getenv("GRACEFULDRAIN_FAULTS") == "" {
		fmt.Println("test/faults: skipped (slow); run `make test-faults` or set GRACEFULDRAIN_FAULTS=1")
		os.Exit(0)
	}
	if os.Getenv("KUBEBUILDER_ASSETS") == "" {
		fmt.Fprintln(os.Stderr, "test/faults needs KUBEBUILDER_ASSETS (hack/k8s-binaries.sh prints it)")
		os.Exit(1)
	}
	logf.SetLogger(zap.New(zap.WriteTo(os.Stderr), zap.Level(zapcore.ErrorLevel)))
	code, err := run(m)
	if err != nil {
		fmt.Fprintln(os.Stderr, "test/faults:", err)
		os.Exit(1)
	}
	os.Exit(code)
}

func run(m *testing.M) (int, error) {
	var err error
	if workDir, err = os.MkdirTemp("", "gracefuldrain-faults-"); err != nil {
		return 1, err
	}
	defer func() {
		if os.Getenv("GRACEFULDRAIN_FAULTS_KEEP") == "" {
			_ = os.RemoveAll(workDir)
		} else {
			fmt.Println("test/faults: work directory kept:", workDir)
		}
	}()
	managerBin, err = filepath.Abs(filepath.Join("..", "..", "bin", "manager"))
	if err != nil {
		return 1, err
	}
	if _, err := os.Stat(managerBin); err != nil {
		return 1, fmt.Errorf("%s missing: run `make build` (make test-faults does): %w", managerBin, err)
	}

	// Audit every request of the operator's user; nothing else.
	policy := filepath.Join(workDir, "audit-policy.yaml")
	auditLog = filepath.Join(workDir, "audit.log")
	if err := os.WriteFile(policy, []byte(`apiVersion: audit.k8s.io/v1
kind: Policy
omitStages: ["RequestReceived"]
rules:
- level: Metadata
  users: ["`+operatorUser+`"]
- level: None
`), 0o600); err != nil {
		return 1, err
	}
	certDir := filepath.Join(workDir, "certs")
	if err := os.MkdirAll(certDir, 0o700); err != nil {
		return 1, err
	}
	env = &envtest.Environment{
		CRDDirectoryPaths:     []string{filepath.Join("..", "..", "config", "crd", "bases")},
		ErrorIfCRDPathMissing: true,
	}
	api := env.ControlPlane.GetAPIServer()
	// A fixed cert dir keeps the serving certificate and the client CA across
	// an API server restart, so every client reconnects to the same port.
	api.CertDir = certDir
	api.StopTimeout = 10 * time.Second
	api.Configure().
		Set("audit-policy-file", policy).
		Set("audit-log-path", auditLog).
		Set("audit-log-mode", "blocking").
		// envtest's /24 holds 254 Services; the scenarios create about 460.
		Set("service-cluster-ip-range", "10.0.0.0/16")
	cfg, err := env.Start()
	if err != nil {
		return 1, fmt.Errorf("starting envtest: %w", err)
	}
	defer func() { _ = env.Stop() }()
	if k8s, err = client.New(cfg, client.Options{Scheme: scheme}); err != nil {
		return 1, err
	}
	ctx := context.Background()
	if webhook, err = startWebhookService(); err != nil {
		return 1, err
	}
	defer webhook.close()
	root, err := filepath.Abs(filepath.Join("..", ".."))
	if err != nil {
		return 1, err
	}
	flags, err := localinstall.Webhook(ctx, k8s, root, localinstall.KubectlFromAssets(), webhook.port(), filepath.Join(workDir, "unused-certs"))
	if err != nil {
		return 1, fmt.Errorf("registering the webhook: %w", err)
	}
	for _, f := range flags {
		if !strings.HasPrefix(f, "--webhook-port=") && !strings.HasPrefix(f, "--webhook-cert-dir=") {
			webhookFlags = append(webhookFlags, f)
		}
	}
	if err := installFromDefault(ctx); err != nil {
		return 1, fmt.Errorf("installing config/default's RBAC and policy: %w", err)
	}
	// The operator's own user: the ServiceAccount's name and groups (as its
	// token would give them), bound to nothing but what installFromDefault
	// installed.
	user, err := env.AddUser(envtest.User{Name: operatorUser, Groups: []string{"system:serviceaccounts", "system:serviceaccounts:" + systemNamespace}}, nil)
	if err != nil {
		return 1, err
	}
	kc, err := user.KubeConfig()
	if err != nil {
		return 1, err
	}
	kubeconfig = filepath.Join(workDir, "operator.kubeconfig")
	if err := os.WriteFile(kubeconfig, kc, 0o600); err != nil {
		return 1, err
	}
	if err := waitPolicyEnforced(ctx, user.Config()); err != nil {
		return 1, err
	}
	return m.Run(), nil
}

// installFromDefault applies, from the install (`kubectl kustomize
// config/default`), the ServiceAccount, every Role and ClusterRole and their
// bindings (the generated manager-role, ClusterRole and namespaced Role, and
// the leader-election Role), and the field-level policy with its bindings:
// the operator's user holds exactly what an installed operator holds.
func installFromDefault(ctx context.Context) error {
	out, err := exec.Command(localinstall.KubectlFromAssets(), "kustomize", filepath.Join("..", "..", "config", "default")).Output()
	if err != nil {
		return fmt.Errorf("kubectl kustomize config/default: %w", err)
	}
	kinds := map[string]bool{
		"ServiceAccount": true, "ClusterRole": true, "ClusterRoleBinding": true, "Role": true, "RoleBinding": true,
		"ValidatingAdmissionPolicy": true, "ValidatingAdmissionPolicyBinding": true,
	}
	installed := map[string]int{}
	for _, doc := range strings.Split(string(out), "\n---\n") {
		o := &unstructured.Unstructured{}
		if err := yaml.Unmarshal([]byte(doc), &o.Object); err != nil {
			return err
		}
		if !kinds[o.GetKind()] {
			continue
		}
		if err := k8s.Patch(ctx, o, client.Apply, client.FieldOwner("faults-install"), client.ForceOwnership); err != nil {
			return fmt.Errorf("%s %s: %w", o.GetKind(), o.GetName(), err)
		}
		installed[o.GetKind()]++
	}
	for kind := range kinds {
		if installed[kind] == 0 {
			return fmt.Errorf("config/default renders no %s", kind)
		}
	}
	return nil
}

// policyProbeNamespace is the Namespace waitPolicyEnforced tries to label
// (dry run) as the operator; TestWriteAudit leaves those probes out.
const policyProbeNamespace = "default"

// waitPolicyEnforced polls until the API server refuses, as the policy says,
// a request of the operator that its RBAC allows (a dry-run label on the
// default Namespace): a new policy is enforced once the API server has
// compiled it and seen its binding.
func waitPolicyEnforced(ctx context.Context, cfg *rest.Config) error {
	c, err := client.New(cfg, client.Options{Scheme: scheme})
	if err != nil {
		return err
	}
	deadline := time.Now().Add(time.Minute)
	for {
		err := c.Patch(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: policyProbeNamespace}},
			client.RawPatch(types.MergePatchType, []byte(`{"metadata":{"labels":{"policy-probe":"x"}}}`)), client.DryRunAll)
		if apierrors.IsForbidden(err) && strings.Contains(err.Error(), "ValidatingAdmissionPolicy 'gracefuldrain-operator-namespace-label'") {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("config/policy not enforced after a minute: the operator's dry-run Namespace label answered %v", err)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// operator is one bin/manager process, serving the webhook behind webhook.
type operator struct {
	name     string
	cmd      *exec.Cmd
	log      string
	done     chan struct{}
	endpoint *backend
}

var opCounter struct {
	sync.Mutex
	n int
}

func startOperator(t *testing.T, extra ...string) *operator {
	t.Helper()
	opCounter.Lock()
	opCounter.n++
	name := fmt.Sprintf("op%d", opCounter.n)
	opCounter.Unlock()
	logPath := filepath.Join(workDir, name+".log")
	f, err := os.Create(logPath)
	if err != nil {
		t.Fatal(err)
	}
	webhookPort, healthPort := freePort(t), freePort(t)
	args := append([]string{"--kubeconfig", kubeconfig, "--metrics-bind-address=0",
		fmt.Sprintf("--health-probe-bind-address=127.0.0.1:%d", healthPort),
		fmt.Sprintf("--webhook-port=%d", webhookPort),
		"--webhook-cert-dir=" + filepath.Join(workDir, name+"-certs")}, webhookFlags...)
	args = append(args, extra...)
	cmd := exec.Command(managerBin, args...)
	cmd.Stdout, cmd.Stderr = f, f
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	o := &operator{name: name, cmd: cmd, log: logPath, done: make(chan struct{}), endpoint: webhook.add(name, webhookPort, healthPort)}
	go func() {
		_ = cmd.Wait()
		_ = f.Close()
		close(o.done)
	}()
	t.Cleanup(func() { o.kill() })
	return o
}

// kill is SIGKILL: no lease release, no graceful shutdown. The process
// leaves the webhook's endpoints first, as a pod that is gone.
func (o *operator) kill() {
	webhook.remove(o.endpoint)
	select {
	case <-o.done:
		return
	default:
	}
	_ = o.cmd.Process.Kill()
	<-o.done
}

// stop is SIGTERM, as the kubelet does first (a terminating pod has left
// the endpoints).
func (o *operator) stop() {
	webhook.remove(o.endpoint)
	select {
	case <-o.done:
		return
	default:
	}
	_ = o.cmd.Process.Signal(os.Interrupt)
	select {
	case <-o.done:
	case <-time.After(30 * time.Second):
		o.kill()
	}
}

func freePort(t *testing.T) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

func (o *operator) alive() bool {
	select {
	case <-o.done:
		return false
	default:
		return true
	}
}

func (o *operator) logContains(s string) bool {
	raw, err := os.ReadFile(o.log)
	return err == nil && strings.Contains(strings.ToLower(string(raw)), strings.ToLower(s))
}

func (o *operator) tail(n int) string {
	raw, _ := os.ReadFile(o.log)
	lines := strings.Split(strings.TrimSpace(string(raw)), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}

// auditEvent is the part of an audit.k8s.io/v1 Event the checks read.
type auditEvent struct {
	Stage string `json:"stage"`
	Verb  string `json:"verb"`
	User  struct {
		Username string `json:"username"`
	} `json:"user"`
	ObjectRef *struct {
		Resource    string `json:"resource"`
		Namespace   string `json:"namespace"`
		Name        string `json:"name"`
		APIGroup    string `json:"apiGroup"`
		Subresource string `json:"subresource"`
	} `json:"objectRef"`
	ResponseStatus *struct {
		Code int `json:"code"`
	} `json:"responseStatus"`
	RequestURI string    `json:"requestURI"`
	Received   time.Time `json:"requestReceivedTimestamp"`
	// Annotations hold, among others, a ValidatingAdmissionPolicy's refusal
	// (validation.policy.admission.k8s.io/validation_failure: its binding
	// audits what it denies).
	Annotations map[string]string `json:"annotations"`
}

func readAudit(t *testing.T) []auditEvent {
	t.Helper()
	f, err := os.Open(auditLog)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var out []auditEvent
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 1<<20), 16<<20)
	for sc.Scan() {
		var e auditEvent
		if err := json.Unmarshal(sc.Bytes(), &e); err != nil {
			continue
		}
		if e.User.Username == operatorUser && e.Stage == "ResponseComplete" {
			out = append(out, e)
		}
	}
	return out
}
