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
	"os"
	"strings"
	"time"
)

// Backend picks the target of a new request; false when there is none.
type Backend interface {
	Pick() (addr string, ok bool)
}

// Proxy is the load balancer's data plane on loopback: each request goes to
// the target Backend picks, over keep-alive connections to the targets, and
// failures map to what an ALB answers: 503 with no target, 502 when the target
// refuses or resets the connection (or closes it without answering), 504 when
// it does not answer within Timeout. Like an ALB, it never retries a request.
type Proxy struct {
	Backend   Backend
	Timeout   time.Duration
	transport *http.Transport
}

// NewProxy makes a proxy keeping up to idlePerTarget keep-alive connections per target.
func NewProxy(b Backend, timeout time.Duration, idlePerTarget int) *Proxy {
	dialer := &net.Dialer{Timeout: timeout}
	return &Proxy{Backend: b, Timeout: timeout, transport: &http.Transport{
		Proxy: nil, // targets are on loopback: never through an HTTP proxy from the environment
		DialContext: func(ctx context.Context, network, addr string) (net.Conn, error) {
			return dialer.DialContext(ctx, network, Loopback(addr))
		},
		MaxIdleConnsPerHost: idlePerTarget,
		IdleConnTimeout:     60 * time.Second, // the ALB's default idle timeout
	}}
}

func (p *Proxy) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	addr, ok := p.Backend.Pick()
	if !ok {
		http.Error(w, "503 Service Temporarily Unavailable", http.StatusServiceUnavailable)
		return
	}
	ctx, cancel := context.WithTimeout(r.Context(), p.Timeout)
	defer cancel()
	out, err := http.NewRequestWithContext(ctx, r.Method, "http://"+addr+r.URL.RequestURI(), nil)
	if err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	// A body that cannot be rewound makes the request non-replayable: Go's transport would otherwise
	// resend a GET whose keep-alive connection the target closed, and the ALB does not.
	out.Body = io.NopCloser(strings.NewReader(""))
	out.Header = r.Header.Clone()
	resp, err := p.transport.RoundTrip(out)
	if err != nil {
		code := http.StatusBadGateway
		if isTimeout(err) {
			code = http.StatusGatewayTimeout
		}
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
func (p *Proxy) Close() { p.transport.CloseIdleConnections() }

func isTimeout(err error) bool {
	var ne net.Error
	return errors.Is(err, context.DeadlineExceeded) || errors.Is(err, os.ErrDeadlineExceeded) || (errors.As(err, &ne) && ne.Timeout())
}
