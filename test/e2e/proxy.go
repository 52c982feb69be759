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
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptrace"
	"os"
	"strings"
	"sync/atomic"
	"syscall"
	"time"
)

// Backend picks the target of a new request (ALB, ip targets) or of a new
// connection (NLB, kube-proxy); false when there is none.
type Backend interface {
	Pick() (addr string, ok bool)
}

// Proxy is an ALB's data plane on loopback. Failures map to what an ALB
// answers: 503 with no target, 502 when the target refuses or resets the
// connection (or closes it without answering), 504 when it does not answer
// within Timeout. Like an ALB, it never retries a request. Every failure is
// recorded in Failures with its target, for Attribute.
//
// With ip targets (NewProxy) each request goes to the target Backend picks,
// over keep-alive connections to that target. With instance targets
// (NewNodeProxy) the target is the node: the ALB keeps a few keep-alive
// connections to it and spreads requests over them, and each connection was
// sent by kube-proxy to one pod when it was opened (DNAT) and stays on that
// pod (conntrack) until the pod closes it, whatever the rules say by then.
type Proxy struct {
	Backend  Backend
	Timeout  time.Duration
	Failures *FailureLog

	node       bool
	transports []*http.Transport
	next       atomic.Uint64
}

// NewProxy is the data plane for ip targets, keeping up to idlePerTarget
// keep-alive connections per target, each closed after idleTimeout unused.
func NewProxy(b Backend, timeout time.Duration, idlePerTarget int, idleTimeout time.Duration) *Proxy {
	t := targetTransport(timeout, idleTimeout, func(_ context.Context, addr string) (string, error) { return addr, nil })
	t.MaxIdleConnsPerHost = idlePerTarget
	return &Proxy{Backend: b, Timeout: timeout, Failures: &FailureLog{}, transports: []*http.Transport{t}}
}

// NewNodeProxy is the data plane for instance targets: conns keep-alive
// connections to the node, each dialled to the endpoint endpoints.Pick
// returns when it is opened.
func NewNodeProxy(endpoints Backend, timeout time.Duration, conns int, idleTimeout time.Duration) *Proxy {
	p := &Proxy{Backend: endpoints, Timeout: timeout, Failures: &FailureLog{}, node: true}
	dnat := func(context.Context, string) (string, error) {
		addr, ok := endpoints.Pick()
		if !ok {
			return "", errNoEndpoint
		}
		return addr, nil
	}
	for range conns {
		t := targetTransport(timeout, idleTimeout, dnat)
		t.MaxConnsPerHost, t.MaxIdleConnsPerHost = 1, 1
		p.transports = append(p.transports, t)
	}
	return p
}

// errNoEndpoint is kube-proxy's REJECT rule for a Service without endpoints.
var errNoEndpoint = errors.New("no endpoint programmed for the service")

// trackedConn is a connection to a pod, with when it was opened.
type trackedConn struct {
	net.Conn
	pod    string // the pod's IP as the API knows it
	opened time.Time
}

// dialError is a failed connection to a pod.
type dialError struct {
	pod string
	err error
}

func (e *dialError) Error() string { return "dial " + e.pod + ": " + e.err.Error() }
func (e *dialError) Unwrap() error { return e.err }

// targetTransport dials the address route returns for the request's address.
func targetTransport(timeout, idleTimeout time.Duration, route func(context.Context, string) (string, error)) *http.Transport {
	dialer := &net.Dialer{Timeout: timeout}
	return &http.Transport{
		Proxy: nil, // targets are on loopback: never through an HTTP proxy from the environment
		DialContext: func(ctx context.Context, network, addr string) (net.Conn, error) {
			target, err := route(ctx, addr)
			if err != nil {
				return nil, err
			}
			pod, _, _ := net.SplitHostPort(target)
			conn, err := dialer.DialContext(ctx, network, Loopback(target))
			if err != nil {
				return nil, &dialError{pod: pod, err: err}
			}
			return &trackedConn{Conn: conn, pod: pod, opened: time.Now()}, nil
		},
		IdleConnTimeout: idleTimeout,
	}
}

func (p *Proxy) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	picked := time.Now()
	transport := p.transports[0]
	host := net.JoinHostPort(NodeIP, "30080") // instance targets: the node's port; only the dial's DNAT matters
	if p.node {
		transport = p.transports[p.next.Add(1)%uint64(len(p.transports))]
	} else {
		addr, ok := p.Backend.Pick()
		if !ok {
			p.Failures.Add(Failure{Picked: picked, Failed: picked, Kind: FailNoTarget})
			http.Error(w, "503 Service Temporarily Unavailable", http.StatusServiceUnavailable)
			return
		}
		host = addr
	}
	var conn *trackedConn
	var reused bool
	ctx := httptrace.WithClientTrace(r.Context(), &httptrace.ClientTrace{GotConn: func(info httptrace.GotConnInfo) {
		conn, _ = info.Conn.(*trackedConn)
		reused = info.Reused
	}})
	ctx, cancel := context.WithTimeout(ctx, p.Timeout)
	defer cancel()
	out, err := http.NewRequestWithContext(ctx, r.Method, "http://"+host+r.URL.RequestURI(), nil)
	if err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	// A body that cannot be rewound makes the request non-replayable: Go's transport would otherwise
	// resend a GET whose keep-alive connection the target closed, and the ALB does not.
	out.Body = io.NopCloser(strings.NewReader(""))
	out.Header = r.Header.Clone()
	resp, err := transport.RoundTrip(out)
	if err != nil && r.Context().Err() != nil {
		return // the client went away (the load stopped): no answer, no failure
	}
	if err != nil {
		f := Failure{Picked: picked, Failed: time.Now(), Kind: FailClosed, Reused: reused}
		if !p.node {
			f.Target, _, _ = net.SplitHostPort(host)
		}
		if conn != nil {
			f.Target, f.ConnOpened = conn.pod, conn.opened
		}
		var de *dialError
		if errors.As(err, &de) {
			f.Target = de.pod
		}
		code := http.StatusBadGateway
		switch {
		case errors.Is(err, errNoEndpoint):
			f.Kind = FailNoTarget
		case isTimeout(err):
			f.Kind, code = FailTimeout, http.StatusGatewayTimeout
		case errors.Is(err, syscall.ECONNREFUSED):
			f.Kind = FailRefused
		}
		p.Failures.Add(f)
		http.Error(w, http.StatusText(code), code)
		return
	}
	defer resp.Body.Close()
	for k, v := range resp.Header {
		w.Header()[k] = v
	}
	w.WriteHeader(resp.StatusCode)
	_, _ = io.Copy(w, resp.Body)
}

// Close drops the idle connections to the targets.
func (p *Proxy) Close() {
	for _, t := range p.transports {
		t.CloseIdleConnections()
	}
}

func isTimeout(err error) bool {
	var ne net.Error
	return errors.Is(err, context.DeadlineExceeded) || errors.Is(err, os.ErrDeadlineExceeded) || (errors.As(err, &ne) && ne.Timeout())
}
