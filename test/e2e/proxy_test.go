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
	NewProxy(b, timeout, 2).ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/", nil))
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
	c.Start(0)
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
	time.Sleep(50 * time.Millisecond) // the request is now inside its 300 ms of service time
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
