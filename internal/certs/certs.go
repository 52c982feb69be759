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

// Package certs makes and checks the admission webhook's serving certificate
// and the CA that signs it, so that the manager can keep its own (no
// cert-manager needed). Pure crypto: storing them is the caller's job.
package certs

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"fmt"
	"math/big"
	"net"
	"time"
)

// Lifetimes. The serving certificate is renewed when a third of its life is
// left, so a manager that is down for months still renews in time.
const (
	CALifetime      = 10 * 365 * 24 * time.Hour
	ServingLifetime = 365 * 24 * time.Hour
	// Organization names the issuer in both certificates.
	Organization = "gracefuldrain"
)

// Bundle is a CA and a serving certificate it signed, PEM encoded, as a
// kubernetes.io/tls Secret holds them (ca.crt, tls.crt, tls.key).
type Bundle struct {
	CACert []byte
	Cert   []byte
	Key    []byte
}

// New makes a CA and a serving certificate for names (DNS names or IP
// addresses), valid from now.
func New(names []string, now time.Time) (Bundle, error) {
	caKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return Bundle{}, err
	}
	caTemplate := &x509.Certificate{
		SerialNumber:          serial(),
		Subject:               pkix.Name{CommonName: Organization + "-webhook-ca", Organization: []string{Organization}},
		NotBefore:             now.Add(-time.Hour), // clock skew between nodes
		NotAfter:              now.Add(CALifetime),
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageDigitalSignature,
		BasicConstraintsValid: true,
		IsCA:                  true,
	}
	caDER, err := x509.CreateCertificate(rand.Reader, caTemplate, caTemplate, &caKey.PublicKey, caKey)
	if err != nil {
		return Bundle{}, err
	}
	ca, err := x509.ParseCertificate(caDER)
	if err != nil {
		return Bundle{}, err
	}
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return Bundle{}, err
	}
	serving := &x509.Certificate{
		SerialNumber: serial(),
		Subject:      pkix.Name{CommonName: names[0], Organization: []string{Organization}},
		NotBefore:    now.Add(-time.Hour),
		NotAfter:     now.Add(ServingLifetime),
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	for _, n := range names {
		if ip := net.ParseIP(n); ip != nil {
			serving.IPAddresses = append(serving.IPAddresses, ip)
		} else {
			serving.DNSNames = append(serving.DNSNames, n)
		}
	}
	der, err := x509.CreateCertificate(rand.Reader, serving, ca, &key.PublicKey, caKey)
	if err != nil {
		return Bundle{}, err
	}
	keyDER, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		return Bundle{}, err
	}
	return Bundle{
		CACert: pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: caDER}),
		Cert:   pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}),
		Key:    pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: keyDER}),
	}, nil
}

// Check says why the bundle cannot serve names at now, nil when it can: it
// parses, the key matches, the CA signed the certificate for every name, and
// more than a third of the certificate's life is left.
func (b Bundle) Check(names []string, now time.Time) error {
	if len(b.CACert) == 0 || len(b.Cert) == 0 || len(b.Key) == 0 {
		return errors.New("no certificate yet")
	}
	ca, err := parseCert(b.CACert)
	if err != nil {
		return fmt.Errorf("CA: %w", err)
	}
	cert, err := parseCert(b.Cert)
	if err != nil {
		return fmt.Errorf("serving certificate: %w", err)
	}
	if err := matchKey(cert, b.Key); err != nil {
		return err
	}
	pool := x509.NewCertPool()
	pool.AddCert(ca)
	for _, n := range names {
		if _, err := cert.Verify(x509.VerifyOptions{DNSName: n, Roots: pool, CurrentTime: now}); err != nil {
			return fmt.Errorf("not valid for %s: %w", n, err)
		}
	}
	if left := cert.NotAfter.Sub(now); left < cert.NotAfter.Sub(cert.NotBefore)/3 {
		return fmt.Errorf("expires at %s: due for renewal", cert.NotAfter.UTC().Format(time.RFC3339))
	}
	if ca.NotAfter.Before(cert.NotAfter) {
		return errors.New("the CA expires before the certificate")
	}
	return nil
}

func parseCert(data []byte) (*x509.Certificate, error) {
	block, _ := pem.Decode(data)
	if block == nil || block.Type != "CERTIFICATE" {
		return nil, errors.New("no PEM certificate")
	}
	return x509.ParseCertificate(block.Bytes)
}

func matchKey(cert *x509.Certificate, keyPEM []byte) error {
	block, _ := pem.Decode(keyPEM)
	if block == nil {
		return errors.New("no PEM key")
	}
	key, err := x509.ParseECPrivateKey(block.Bytes)
	if err != nil {
		return fmt.Errorf("key: %w", err)
	}
	pub, ok := cert.PublicKey.(*ecdsa.PublicKey)
	if !ok || !pub.Equal(&key.PublicKey) {
		return errors.New("the key does not match the certificate")
	}
	return nil
}

// SameCA says whether two PEM CA bundles hold the same certificates.
func SameCA(a, b []byte) bool {
	return bytes.Equal(bytes.TrimSpace(a), bytes.TrimSpace(b))
}

func serial() *big.Int {
	n, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 127))
	if err != nil {
		panic(err) // crypto/rand never fails on supported platforms
	}
	return n
}
