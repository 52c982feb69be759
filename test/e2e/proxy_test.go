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
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

type fixedBackend struct {
	addrs []string
	i     int
}

func (b *fixedBackend) Pick() (string, bool) {
	if len(b.addrs) == 0 {
		return "", false
	}
	b.i++
	return b.addrs[b.i%len(b.addrs)], true
}

func proxyCode(t *testing.T, b Backend, timeout time.Duration) int {
	t.Helper()
	rec := httptest.NewRecorder()
	NewProxy(b, timeout, 2, time.Minute).ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/", nil))
	return rec.Code
}

func TestProxyMapsFailuresAsAnALB(t *testing.T) {
	ok := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { _, _ = w.Write([]byte("ok")) }))
	defer ok.Close()
	slow := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-time.After(2 * time.Second):
		case <-r.Context().Done():
		}
	}))
	defer slow.Close()
	reset := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		conn, _, err := w.(http.Hijacker).Hijack()
		if err == nil {
			_ = conn.(*net.TCPConn).SetLinger(0) // RST instead of FIN
			_ = conn.Close()
		}
	}))
	defer reset.Close()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	refused := ln.Addr().String()
	_ = ln.Close() // nothing listens there now

	for name, tc := range map[string]struct {
		addrs []string
		want  int
	}{
		"target answers":         {[]string{strings.TrimPrefix(ok.URL, "http://")}, http.StatusOK},
		"no targets":             {nil, http.StatusServiceUnavailable},
		"connection refused":     {[]string{refused}, http.StatusBadGateway},
		"connection reset":       {[]string{strings.TrimPrefix(reset.URL, "http://")}, http.StatusBadGateway},
		"no answer within limit": {[]string{strings.TrimPrefix(slow.URL, "http://")}, http.StatusGatewayTimeout},
	} {
		t.Run(name, func(t *testing.T) {
			if got := proxyCode(t, &fixedBackend{addrs: tc.addrs}, 300*time.Millisecond); got != tc.want {
				t.Errorf("got %d, want %d", got, tc.want)
			}
		})
	}
}

// A container on SIGTERM refuses new connections at once but finishes what is in flight.
func TestContainerTerminateRefusesNewFinishesInFlight(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	_ = ln.Close()
	c := &Container{Name: "c", Addr: addr, ServiceTime: 300 * time.Millisecond}
	c.Start(0, nil)
	<-c.started
	if err := c.Err(); err != nil {
		t.Fatal(err)
	}
	inFlight := make(chan int, 1)
	go func() {
		resp, err := http.Get("http://" + addr + "/")
		if err != nil {
			inFlight <- 0
			return
		}
		_ = resp.Body.Close()
		inFlight <- resp.StatusCode
	}()
	if err := WaitFor(t.Context(), "request in flight", 2*time.Second, time.Millisecond, func() (bool, error) {
		return c.inFlight.Load() == 1, nil
	}); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- c.Terminate(t.Context()) }()
	if err := WaitFor(t.Context(), "listener closed", 2*time.Second, 5*time.Millisecond, func() (bool, error) {
		conn, err := net.DialTimeout("tcp", addr, 100*time.Millisecond)
		if err == nil {
			_ = conn.Close()
		}
		return err != nil, nil
	}); err != nil {
		t.Fatal(err)
	}
	if code := <-inFlight; code != http.StatusOK {
		t.Errorf("request in flight at SIGTERM: got %d, want 200", code)
	}
	if err := <-done; err != nil {
		t.Errorf("terminate: %v", err)
	}
}

// startContainer runs a simulated container on a free loopback port and returns its address.
func startContainer(t *testing.T, name string) (*Container, string) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	_ = ln.Close()
	c := &Container{Name: name, Addr: addr}
	c.Start(0, nil)
	<-c.started
	if err := c.Err(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.Kill)
	return c, addr
}

func body(t *testing.T, h http.Handler) (int, string) {
	t.Helper()
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/", nil))
	return rec.Code, strings.TrimSpace(rec.Body.String())
}

// Instance targets: kube-proxy picks the pod when the ALB opens a connection to the node, and the
// connection stays on that pod (conntrack) until the pod closes it, whatever the rules say by then.
func TestNodeProxyPinsConnectionsUntilThePodClosesThem(t *testing.T) {
	a, addrA := startContainer(t, "a")
	_, addrB := startContainer(t, "b")
	rules := &fixedBackend{addrs: []string{addrA}}
	p := NewNodeProxy(rules, time.Second, 1, time.Minute)
	defer p.Close()
	if code, got := body(t, p); code != http.StatusOK || got != "served by a" {
		t.Fatalf("first request: %d %q, want 200 from a", code, got)
	}
	rules.addrs = []string{addrB} // kube-proxy removed a from its rules
	if _, got := body(t, p); got != "served by a" {
		t.Errorf("after a left the rules: %q, want still a (the connection is pinned)", got)
	}
	if err := a.Terminate(t.Context()); err != nil { // SIGTERM: a closes its idle keep-alive connections
		t.Fatal(err)
	}
	if err := WaitFor(t.Context(), "a new connection to b", 2*time.Second, 10*time.Millisecond, func() (bool, error) {
		_, got := body(t, p)
		return got == "served by b", nil
	}); err != nil {
		t.Error(err)
	}
	for _, f := range p.Failures.All() {
		if f.Target != strings.Split(addrA, ":")[0] {
			t.Errorf("failure %+v not on a's connection", f)
		}
	}
}

// NLB: each connection is a flow to one target; a refused one reaches the client as a reset and is
// recorded with its target.
func TestNLBPassesFlowsAndResetsRefusedOnes(t *testing.T) {
	_, ok := startContainer(t, "ok")
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	refused := ln.Addr().String()
	_ = ln.Close()
	backend := &fixedBackend{addrs: []string{ok}}
	nlb := NewNLB(backend, time.Second)
	front, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go nlb.Serve(front)
	defer nlb.Close()
	client := &http.Client{Timeout: 2 * time.Second, Transport: &http.Transport{Proxy: nil, DisableKeepAlives: true}}
	resp, err := client.Get("http://" + front.Addr().String() + "/")
	if err != nil {
		t.Fatal(err)
	}
	_ = resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Errorf("through the NLB: %d, want 200", resp.StatusCode)
	}
	backend.addrs = []string{refused}
	if resp, err := client.Get("http://" + front.Addr().String() + "/"); err == nil {
		_ = resp.Body.Close()
		t.Errorf("to a refusing target: %d, want a reset", resp.StatusCode)
	}
	fs := nlb.Failures.All()
	if len(fs) != 1 || fs[0].Kind != FailRefused || fs[0].Target != "127.0.0.1" {
		t.Errorf("failures %+v, want one refused on 127.0.0.1", fs)
	}
}
