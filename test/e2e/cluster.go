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

package e2e

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"syscall"
	"time"

	admissionregistrationv1 "k8s.io/api/admissionregistration/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"sigs.k8s.io/controller-runtime/pkg/envtest"
)

// ControlPlane is etcd and kube-apiserver (envtest), kube-controller-manager,
// and optionally the operator, each a real process.
type ControlPlane struct {
	Env        *envtest.Environment
	Config     *rest.Config
	Client     kubernetes.Interface
	Kubeconfig string
	Dir        string // logs and kubeconfig
	procs      []*exec.Cmd
}

// StartControlPlane starts etcd and kube-apiserver with the CRDs and the pod
// webhook registered (envtest; KUBEBUILDER_ASSETS must be set), and kube-controller-manager.
func StartControlPlane(repoRoot, dir string, webhook *admissionregistrationv1.MutatingWebhookConfiguration) (*ControlPlane, error) {
	cp := &ControlPlane{Dir: dir, Env: &envtest.Environment{
		CRDDirectoryPaths:     []string{filepath.Join(repoRoot, "config", "crd", "bases")},
		ErrorIfCRDPathMissing: true,
		WebhookInstallOptions: envtest.WebhookInstallOptions{
			MutatingWebhooks: []*admissionregistrationv1.MutatingWebhookConfiguration{webhook},
			LocalServingHost: "127.0.0.1",
		},
	}}
	cfg, err := cp.Env.Start()
	if err != nil {
		return nil, fmt.Errorf("starting etcd and kube-apiserver: %w", err)
	}
	cp.Config = cfg
	user, err := cp.Env.AddUser(envtest.User{Name: "e2e-admin", Groups: []string{"system:masters"}}, nil)
	if err != nil {
		cp.Stop()
		return nil, err
	}
	kc, err := user.KubeConfig()
	if err != nil {
		cp.Stop()
		return nil, err
	}
	cp.Kubeconfig = filepath.Join(dir, "kubeconfig")
	if err := os.WriteFile(cp.Kubeconfig, kc, 0o600); err != nil {
		cp.Stop()
		return nil, err
	}
	adminCfg := user.Config()
	adminCfg.QPS, adminCfg.Burst = 200, 400     // the simulated kubelet and controller write pod status often
	adminCfg.WarningHandler = rest.NoWarnings{} // the operator's webhook warns of every field it sets: the report says it
	cp.Client, err = kubernetes.NewForConfig(adminCfg)
	if err != nil {
		cp.Stop()
		return nil, err
	}
	kcm := filepath.Join(os.Getenv("KUBEBUILDER_ASSETS"), "kube-controller-manager")
	if err := cp.Spawn("kube-controller-manager", kcm,
		"--kubeconfig="+cp.Kubeconfig,
		"--controllers=deployment,replicaset,statefulset,endpointslice",
		"--leader-elect=false",
		"--use-service-account-credentials=false",
		"--secure-port=0",
		"--kube-api-qps=100", "--kube-api-burst=200",
	); err != nil {
		cp.Stop()
		return nil, err
	}
	return cp, nil
}

// Spawn starts a process whose output goes to Dir/<name>.log; Stop ends it.
func (cp *ControlPlane) Spawn(name, bin string, args ...string) error {
	log, err := os.Create(filepath.Join(cp.Dir, name+".log"))
	if err != nil {
		return err
	}
	cmd := exec.Command(bin, args...)
	cmd.Stdout, cmd.Stderr = log, log
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL} // never outlive the test
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("starting %s: %w", name, err)
	}
	cp.procs = append(cp.procs, cmd)
	return nil
}

// Stop ends the processes (SIGTERM, then SIGKILL after 10 s) and the control plane.
func (cp *ControlPlane) Stop() {
	for i := len(cp.procs) - 1; i >= 0; i-- {
		cmd := cp.procs[i]
		_ = cmd.Process.Signal(syscall.SIGTERM)
		done := make(chan struct{})
		go func() { _ = cmd.Wait(); close(done) }()
		select {
		case <-done:
		case <-time.After(10 * time.Second):
			_ = cmd.Process.Kill()
			<-done
		}
	}
	_ = cp.Env.Stop()
}

// WaitFor polls cond every interval until it is true, fails, or the timeout passes.
func WaitFor(ctx context.Context, what string, timeout, interval time.Duration, cond func() (bool, error)) error {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	var last error
	for {
		ok, err := cond()
		if ok {
			return nil
		}
		if err != nil {
			last = err
		}
		select {
		case <-ctx.Done():
			if last != nil {
				return fmt.Errorf("%s: not within %v: %w", what, timeout, last)
			}
			return fmt.Errorf("%s: not within %v", what, timeout)
		case <-time.After(interval):
		}
	}
}
