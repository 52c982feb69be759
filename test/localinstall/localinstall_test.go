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

package localinstall

import (
	"context"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	. "github.com/onsi/gomega"
	admissionregistrationv1 "k8s.io/api/admissionregistration/v1"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/types"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/envtest"

	"github.com/gracefuldrain/gracefuldrain/internal/plan"
	"github.com/gracefuldrain/gracefuldrain/internal/settings"
	"github.com/gracefuldrain/gracefuldrain/internal/testsupport"
)

// The manager as a process of its own, keeping its own certificate: it fills
// the install's empty Secret, injects the CA, and the API server calls it
// over TLS: a Deployment created behind an ALB carries the plan at generation 1.
func TestManagerProcessServesTheWebhookWithItsOwnCertificate(t *testing.T) {
	if os.Getenv("KUBEBUILDER_ASSETS") == "" {
		t.Fatal("needs a real etcd and kube-apiserver: run `make test` (it builds and caches them) or set KUBEBUILDER_ASSETS")
	}
	g := NewWithT(t)
	ctx := context.Background()
	root, err := filepath.Abs(filepath.Join("..", ".."))
	g.Expect(err).NotTo(HaveOccurred())
	env := &envtest.Environment{CRDDirectoryPaths: []string{filepath.Join(root, "config", "crd", "bases")}, ErrorIfCRDPathMissing: true}
	cfg, err := env.Start()
	g.Expect(err).NotTo(HaveOccurred())
	t.Cleanup(func() { _ = env.Stop() })
	scheme := runtime.NewScheme()
	g.Expect(clientgoscheme.AddToScheme(scheme)).To(Succeed())
	c, err := client.New(cfg, client.Options{Scheme: scheme})
	g.Expect(err).NotTo(HaveOccurred())

	dir := t.TempDir()
	manager := filepath.Join(dir, "manager")
	build := exec.Command("go", "build", "-o", manager, ".")
	build.Dir = root
	out, err := build.CombinedOutput()
	g.Expect(err).NotTo(HaveOccurred(), string(out))
	user, err := env.AddUser(envtest.User{Name: "manager", Groups: []string{"system:masters"}}, nil)
	g.Expect(err).NotTo(HaveOccurred())
	kubeconfig, err := user.KubeConfig()
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(os.WriteFile(filepath.Join(dir, "kubeconfig"), kubeconfig, 0o600)).To(Succeed())

	port := freePort(t)
	flags, err := Webhook(ctx, c, root, KubectlFromAssets(), port, filepath.Join(dir, "certs"))
	g.Expect(err).NotTo(HaveOccurred())
	cmd := exec.Command(manager, append([]string{"--kubeconfig", filepath.Join(dir, "kubeconfig"),
		"--metrics-bind-address=0", "--health-probe-bind-address=0"}, flags...)...)
	logs, err := os.Create(filepath.Join(dir, "manager.log"))
	g.Expect(err).NotTo(HaveOccurred())
	cmd.Stdout, cmd.Stderr = logs, logs
	g.Expect(cmd.Start()).To(Succeed())
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
		if t.Failed() {
			raw, _ := os.ReadFile(logs.Name())
			t.Logf("manager log:\n%s", raw)
		}
	})

	// The manager fills the Secret and injects the CA.
	g.Eventually(func(g Gomega) {
		var s corev1.Secret
		g.Expect(c.Get(ctx, types.NamespacedName{Namespace: Namespace, Name: Secret}, &s)).To(Succeed())
		g.Expect(s.Data).To(HaveKey("ca.crt"))
		var mwc admissionregistrationv1.MutatingWebhookConfiguration
		g.Expect(c.Get(ctx, types.NamespacedName{Name: Configuration}, &mwc)).To(Succeed())
		g.Expect(mwc.Webhooks[0].ClientConfig.CABundle).To(Equal(s.Data["ca.crt"]))
	}).WithTimeout(time.Minute).WithPolling(200 * time.Millisecond).Should(Succeed())

	ns := "shop"
	g.Expect(c.Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns, Labels: map[string]string{settings.ModeKey: "enforce"}}})).To(Succeed())
	app := testsupport.ALBApp(ns, "web")
	g.Expect(c.Create(ctx, app.Service)).To(Succeed())
	g.Expect(c.Create(ctx, app.Ingress)).To(Succeed())
	// The webhook answers from the manager's cache: wait until the cache has
	// the Ingress (the namespace gets its gate label from it), then create.
	g.Eventually(func(g Gomega) {
		var n corev1.Namespace
		g.Expect(c.Get(ctx, types.NamespacedName{Name: ns}, &n)).To(Succeed())
		g.Expect(n.Labels).To(HaveKey("elbv2.k8s.aws/pod-readiness-gate-inject"))
	}).WithTimeout(time.Minute).WithPolling(200 * time.Millisecond).Should(Succeed())
	g.Expect(c.Create(ctx, app.Deployment)).To(Succeed())
	var d appsv1.Deployment
	g.Expect(c.Get(ctx, types.NamespacedName{Namespace: ns, Name: "web"}, &d)).To(Succeed())
	g.Expect(d.Generation).To(BeEquivalentTo(1))
	g.Expect(d.Spec.Template.Spec.TerminationGracePeriodSeconds).To(HaveValue(BeEquivalentTo(plan.DefaultALBIPPreStopSeconds+plan.DefaultShutdownSeconds)), "the webhook over TLS with the manager's own certificate")
	g.Expect(d.Spec.Template.Spec.Containers[0].Lifecycle.PreStop.Sleep.Seconds).To(BeEquivalentTo(plan.DefaultALBIPPreStopSeconds))
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
