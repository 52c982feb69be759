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

package certs

import (
	"crypto/tls"
	"strings"
	"testing"
	"time"
)

func TestNewAndCheck(t *testing.T) {
	now := time.Date(2026, 11, 30, 12, 0, 0, 0, time.UTC)
	names := []string{"gracefuldrain-webhook-service.gracefuldrain-system.svc", "127.0.0.1"}
	b, err := New(names, now)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := tls.X509KeyPair(b.Cert, b.Key); err != nil {
		t.Fatalf("the webhook server could not load the pair: %v", err)
	}
	other, err := New(names, now)
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name   string
		bundle Bundle
		names  []string
		at     time.Time
		want   string // "" for valid
	}{
		{name: "fresh", bundle: b, names: names, at: now},
		{name: "half-way through its life", bundle: b, names: names, at: now.Add(ServingLifetime / 2)},
		{name: "a third of its life left: renew", bundle: b, names: names, at: now.Add(ServingLifetime * 2 / 3), want: "due for renewal"},
		{name: "expired", bundle: b, names: names, at: now.Add(ServingLifetime + time.Hour), want: "not valid"},
		{name: "another Service name", bundle: b, names: []string{"other.gracefuldrain-system.svc"}, at: now, want: "not valid for other"},
		{name: "empty Secret", bundle: Bundle{}, names: names, at: now, want: "no certificate"},
		{name: "key of another pair", bundle: Bundle{CACert: b.CACert, Cert: b.Cert, Key: other.Key}, names: names, at: now, want: "does not match"},
		{name: "signed by another CA", bundle: Bundle{CACert: other.CACert, Cert: b.Cert, Key: b.Key}, names: names, at: now, want: "not valid"},
		{name: "garbage", bundle: Bundle{CACert: []byte("x"), Cert: []byte("y"), Key: []byte("z")}, names: names, at: now, want: "no PEM"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.bundle.Check(tt.names, tt.at)
			switch {
			case tt.want == "" && err != nil:
				t.Fatalf("Check = %v, want valid", err)
			case tt.want != "" && (err == nil || !strings.Contains(err.Error(), tt.want)):
				t.Fatalf("Check = %v, want an error with %q", err, tt.want)
			}
		})
	}
	if !SameCA(b.CACert, append(append([]byte{}, b.CACert...), '\n')) || SameCA(b.CACert, other.CACert) {
		t.Fatal("SameCA does not tell CAs apart")
	}
}
