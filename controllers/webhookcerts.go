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
	"os"
	"path/filepath"
	"time"

	admissionregistrationv1 "k8s.io/api/admissionregistration/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/util/retry"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/log"

	"github.com/gracefuldrain/gracefuldrain/internal/certs"
)

// Keys of the webhook's certificate Secret, as cert-manager writes them.
const (
	secretCAKey   = "ca.crt"
	secretCertKey = corev1.TLSCertKey
	secretKeyKey  = corev1.TLSPrivateKeyKey
)

// WebhookCerts keeps the admission webhook's serving certificate without
// cert-manager: one CA and certificate for all replicas, kept in the
// install's own Secret, written where the webhook server reads it, and its CA
// injected into the install's own MutatingWebhookConfiguration. It reads and
// writes those two objects by name only (RBAC resourceNames), never lists.
type WebhookCerts struct {
	// Reader reads around the cache (the objects are not watched).
	Reader client.Reader
	Writer client.Client
	// Secret holds ca.crt, tls.crt and tls.key; the install creates it empty.
	Secret types.NamespacedName
	// Configuration is the MutatingWebhookConfiguration whose webhooks get the CA.
	Configuration string
	// Names are the DNS names (or IP addresses) the certificate must serve.
	Names []string
	// Dir, CertName and KeyName are where the webhook server reads the pair.
	Dir, CertName, KeyName string
	// Interval between checks (renewal, a CA bundle someone reset).
	Interval time.Duration
	// Now is the clock (tests may replace it).
	Now func() time.Time
}

// The certificate keeper's rights: the install's own Secret and webhook
// configuration, by name; nothing cluster-wide on Secrets.
// +kubebuilder:rbac:groups="",resources=secrets,verbs=get;update,namespace=gracefuldrain-system,resourceNames=gracefuldrain-webhook-server-cert
// +kubebuilder:rbac:groups=admissionregistration.k8s.io,resources=mutatingwebhookconfigurations,verbs=get;update,resourceNames=gracefuldrain-mutating-webhook-configuration

// Ensure makes one round: a valid certificate in the Secret (a new one when
// it is missing, wrong or due for renewal; when another replica wrote one
// meanwhile, that one), the pair on disk, the CA in the webhook configuration.
func (c *WebhookCerts) Ensure(ctx context.Context) error {
	bundle, err := c.ensureSecret(ctx)
	if err != nil {
		return err
	}
	if err := c.writeFiles(bundle); err != nil {
		return err
	}
	return c.injectCA(ctx, bundle.CACert)
}

func (c *WebhookCerts) now() time.Time {
	if c.Now != nil {
		return c.Now()
	}
	return time.Now()
}

func (c *WebhookCerts) ensureSecret(ctx context.Context) (certs.Bundle, error) {
	for attempt := 0; ; attempt++ {
		var secret corev1.Secret
		if err := c.Reader.Get(ctx, c.Secret, &secret); err != nil {
			return certs.Bundle{}, fmt.Errorf("reading the webhook certificate Secret %s (the install creates it): %w", c.Secret, err)
		}
		bundle := certs.Bundle{CACert: secret.Data[secretCAKey], Cert: secret.Data[secretCertKey], Key: secret.Data[secretKeyKey]}
		why := bundle.Check(c.Names, c.now())
		if why == nil {
			return bundle, nil
		}
		fresh, err := certs.New(c.Names, c.now())
		if err != nil {
			return certs.Bundle{}, err
		}
		if secret.Data == nil {
			secret.Data = map[string][]byte{}
		}
		secret.Data[secretCAKey], secret.Data[secretCertKey], secret.Data[secretKeyKey] = fresh.CACert, fresh.Cert, fresh.Key
		// The resourceVersion makes this a compare-and-swap: when two replicas
		// renew at once, one wins and the other reads the winner's bundle.
		err = c.Writer.Update(ctx, &secret)
		if apierrors.IsConflict(err) && attempt < 3 {
			continue
		}
		if err != nil {
			return certs.Bundle{}, fmt.Errorf("storing a new webhook certificate in Secret %s: %w", c.Secret, err)
		}
		log.FromContext(ctx).Info("made a new webhook serving certificate", "secret", c.Secret, "names", c.Names, "why", why.Error())
		return fresh, nil
	}
}

// writeFiles puts the pair where the webhook server reads it, each file
// replaced in one rename so the server never reads half a file (it reloads
// on change).
func (c *WebhookCerts) writeFiles(b certs.Bundle) error {
	if err := os.MkdirAll(c.Dir, 0o700); err != nil {
		return err
	}
	for name, data := range map[string][]byte{c.KeyName: b.Key, c.CertName: b.Cert} {
		path := filepath.Join(c.Dir, name)
		if current, err := os.ReadFile(path); err == nil && string(current) == string(data) {
			continue
		}
		tmp := path + ".tmp"
		if err := os.WriteFile(tmp, data, 0o600); err != nil {
			return err
		}
		if err := os.Rename(tmp, path); err != nil {
			return err
		}
	}
	return nil
}

// injectCA puts the CA into every webhook of the configuration. Another
// replica may be doing the same: on a conflict it reads again and retries.
func (c *WebhookCerts) injectCA(ctx context.Context, ca []byte) error {
	changed := false
	err := retry.RetryOnConflict(retry.DefaultRetry, func() error {
		var cfg admissionregistrationv1.MutatingWebhookConfiguration
		if err := c.Reader.Get(ctx, types.NamespacedName{Name: c.Configuration}, &cfg); err != nil {
			return err
		}
		changed = false
		for i := range cfg.Webhooks {
			if !certs.SameCA(cfg.Webhooks[i].ClientConfig.CABundle, ca) {
				cfg.Webhooks[i].ClientConfig.CABundle = ca
				changed = true
			}
		}
		if !changed {
			return nil
		}
		return c.Writer.Update(ctx, &cfg)
	})
	if err != nil {
		return fmt.Errorf("injecting the CA into MutatingWebhookConfiguration %s: %w", c.Configuration, err)
	}
	if changed {
		log.FromContext(ctx).Info("injected the webhook CA", "mutatingWebhookConfiguration", c.Configuration)
	}
	return nil
}

// Start checks every Interval until ctx ends; errors are logged and retried
// at the next check. It runs on every replica: each serves the webhook.
func (c *WebhookCerts) Start(ctx context.Context) error {
	ticker := time.NewTicker(c.Interval)
	defer ticker.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-ticker.C:
			if err := c.Ensure(ctx); err != nil {
				log.FromContext(ctx).Error(err, "keeping the webhook certificate")
			}
		}
	}
}

// NeedLeaderElection is false: every replica serves the webhook.
func (c *WebhookCerts) NeedLeaderElection() bool { return false }
