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
// killed at random points, and write conflicts from a concurrent writer. The
// operator runs as its own user with only the generated RBAC, and the API
// server's audit log records every write it makes.
//
// The tests are slow (minutes) and run only with GRACEFULDRAIN_FAULTS=1
// (hack/test-faults.sh, `make test-faults`).
package faults

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"go.uber.org/zap/zapcore"
	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	utilruntime "k8s.io/apimachinery/pkg/util/runtime"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/envtest"
	logf "sigs.k8s.io/controller-runtime/pkg/log"
	"sigs.k8s.io/controller-runtime/pkg/log/zap"
	"sigs.k8s.io/yaml"

	gdv1 "github.com/gracefuldrain/gracefuldrain/api/v1alpha1"
)

const (
	operatorUser    = "gracefuldrain"
	systemNamespace = "gracefuldrain-system"
)

var (
	scheme     = runtime.NewScheme()
	env        *envtest.Environment
	k8s        client.Client // the test's own (admin) client
	workDir    string
	kubeconfig string // the operator's, with only the generated RBAC
	auditLog   string
	managerBin string
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
	if err := installRBAC(context.Background()); err != nil {
		return 1, fmt.Errorf("installing RBAC: %w", err)
	}
	// The operator's own user: no groups, only what installRBAC bound to it.
	user, err := env.AddUser(envtest.User{Name: operatorUser}, nil)
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
	return m.Run(), nil
}

// installRBAC binds the generated ClusterRole (config/rbac/role.yaml) and the
// leader-election Role to the operator's user, as config/default binds them
// to its ServiceAccount.
func installRBAC(ctx context.Context) error {
	var cr rbacv1.ClusterRole
	if err := readYAML(filepath.Join("..", "..", "config", "rbac", "role.yaml"), &cr); err != nil {
		return err
	}
	var role rbacv1.Role
	if err := readYAML(filepath.Join("..", "..", "config", "rbac", "leader_election_role.yaml"), &role); err != nil {
		return err
	}
	role.Namespace = systemNamespace
	subject := []rbacv1.Subject{{Kind: rbacv1.UserKind, APIGroup: rbacv1.GroupName, Name: operatorUser}}
	for _, o := range []client.Object{
		&corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: systemNamespace}},
		&cr, &role,
		&rbacv1.ClusterRoleBinding{
			ObjectMeta: metav1.ObjectMeta{Name: "manager-rolebinding"},
			RoleRef:    rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "ClusterRole", Name: cr.Name},
			Subjects:   subject,
		},
		&rbacv1.RoleBinding{
			ObjectMeta: metav1.ObjectMeta{Name: "leader-election-rolebinding", Namespace: systemNamespace},
			RoleRef:    rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "Role", Name: role.Name},
			Subjects:   subject,
		},
	} {
		if err := k8s.Create(ctx, o); err != nil {
			return fmt.Errorf("%T %s: %w", o, o.GetName(), err)
		}
	}
	return nil
}

func readYAML(path string, into any) error {
	raw, err := os.ReadFile(path)
	if err != nil {
		return err
	}
	return yaml.Unmarshal(raw, into)
}

// operator is one bin/manager process.
type operator struct {
	name string
	cmd  *exec.Cmd
	log  string
	done chan struct{}
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
	args := append([]string{"--kubeconfig", kubeconfig, "--metrics-bind-address=0", "--health-probe-bind-address=0", "--webhook-port=0"}, extra...)
	cmd := exec.Command(managerBin, args...)
	cmd.Stdout, cmd.Stderr = f, f
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	o := &operator{name: name, cmd: cmd, log: logPath, done: make(chan struct{})}
	go func() {
		_ = cmd.Wait()
		_ = f.Close()
		close(o.done)
	}()
	t.Cleanup(func() { o.kill() })
	return o
}

// kill is SIGKILL: no lease release, no graceful shutdown.
func (o *operator) kill() {
	select {
	case <-o.done:
		return
	default:
	}
	_ = o.cmd.Process.Kill()
	<-o.done
}

// stop is SIGTERM, as the kubelet does first.
func (o *operator) stop() {
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
