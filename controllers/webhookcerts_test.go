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
	"crypto/tls"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	. "github.com/onsi/gomega"
	admissionregistrationv1 "k8s.io/api/admissionregistration/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/utils/ptr"

	"github.com/gracefuldrain/gracefuldrain/internal/certs"
)

// The self-managed certificate: two replicas keep one certificate in the
// install's Secret, serve it from disk, inject its CA, renew it in time and
// put back a CA bundle someone reset.
func TestWebhookCertsKeptByTwoReplicas(t *testing.T) {
	ctx := context.Background()
	g := NewWithT(t)
	ns := newNamespace(t, nil)
	secret := &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "webhook-server-cert"}}
	g.Expect(k8s.Create(ctx, secret)).To(Succeed())
	cfgName := ns + "-webhook" // cluster-scoped: named after the test's namespace
	mwc := &admissionregistrationv1.MutatingWebhookConfiguration{
		ObjectMeta: metav1.ObjectMeta{Name: cfgName},
		Webhooks: []admissionregistrationv1.MutatingWebhook{{
			Name:                    "deployments.gracefuldrain.io",
			ClientConfig:            admissionregistrationv1.WebhookClientConfig{URL: ptr.To("https://127.0.0.1:1/none")},
			SideEffects:             ptr.To(admissionregistrationv1.SideEffectClassNone),
			AdmissionReviewVersions: []string{"v1"},
		}},
	}
	g.Expect(k8s.Create(ctx, mwc)).To(Succeed())
	t.Cleanup(func() { _ = k8s.Delete(ctx, mwc) })

	names := []string{"gracefuldrain-webhook-service." + ns + ".svc", "127.0.0.1"}
	keeper := func(dir string, now time.Time) *WebhookCerts {
		return &WebhookCerts{
			Reader: k8s, Writer: k8s,
			Secret: types.NamespacedName{Namespace: ns, Name: secret.Name}, Configuration: cfgName, Names: names,
			Dir: dir, CertName: "tls.crt", KeyName: "tls.key", Interval: time.Minute,
			Now: func() time.Time { return now },
		}
	}
	now := time.Now()
	replicas := []*WebhookCerts{keeper(t.TempDir(), now), keeper(t.TempDir(), now)}
	var wg sync.WaitGroup
	errs := make([]error, len(replicas))
	for i, r := range replicas {
		wg.Add(1)
		go func() { defer wg.Done(); errs[i] = r.Ensure(ctx) }()
	}
	wg.Wait()
	g.Expect(errs).To(HaveEach(BeNil()), "both replicas start")

	stored := func() certs.Bundle {
		var s corev1.Secret
		g.Expect(k8s.Get(ctx, types.NamespacedName{Namespace: ns, Name: secret.Name}, &s)).To(Succeed())
		return certs.Bundle{CACert: s.Data["ca.crt"], Cert: s.Data["tls.crt"], Key: s.Data["tls.key"]}
	}
	first := stored()
	g.Expect(first.Check(names, now)).To(Succeed())
	for _, r := range replicas {
		onDisk, err := os.ReadFile(filepath.Join(r.Dir, "tls.crt"))
		g.Expect(err).NotTo(HaveOccurred())
		g.Expect(onDisk).To(Equal(first.Cert), "every replica serves the one certificate in the Secret")
		_, err = tls.LoadX509KeyPair(filepath.Join(r.Dir, "tls.crt"), filepath.Join(r.Dir, "tls.key"))
		g.Expect(err).NotTo(HaveOccurred())
	}
	caBundle := func() []byte {
		var got admissionregistrationv1.MutatingWebhookConfiguration
		g.Expect(k8s.Get(ctx, types.NamespacedName{Name: cfgName}, &got)).To(Succeed())
		return got.Webhooks[0].ClientConfig.CABundle
	}
	g.Expect(caBundle()).To(Equal(first.CACert))

	// A second round changes nothing.
	g.Expect(replicas[0].Ensure(ctx)).To(Succeed())
	g.Expect(stored()).To(Equal(first))

	// Someone resets the CA bundle (an install re-applied by a tool that owns it): put back.
	var reset admissionregistrationv1.MutatingWebhookConfiguration
	g.Expect(k8s.Get(ctx, types.NamespacedName{Name: cfgName}, &reset)).To(Succeed())
	reset.Webhooks[0].ClientConfig.CABundle = nil
	g.Expect(k8s.Update(ctx, &reset)).To(Succeed())
	g.Expect(replicas[1].Ensure(ctx)).To(Succeed())
	g.Expect(caBundle()).To(Equal(first.CACert))

	// Eight months on, a third of the year's certificate is left: renewed.
	later := now.Add(certs.ServingLifetime * 2 / 3)
	g.Expect(keeper(replicas[0].Dir, later).Ensure(ctx)).To(Succeed())
	renewed := stored()
	g.Expect(renewed.Cert).NotTo(Equal(first.Cert))
	g.Expect(renewed.Check(names, later)).To(Succeed())
	g.Expect(caBundle()).To(Equal(renewed.CACert))
	onDisk, err := os.ReadFile(filepath.Join(replicas[0].Dir, "tls.crt"))
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(onDisk).To(Equal(renewed.Cert))
}
