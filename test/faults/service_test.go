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

package faults

import (
	"errors"
	"io"
	"net"
	"net/http"
	"strconv"
	"sync"
	"sync/atomic"
	"time"
)

// webhookService stands in for the install's webhook Service in front of
// every manager process: the API server calls the webhook at
// https://127.0.0.1:<its port> (test/localinstall registers that URL), and it
// passes each TCP connection through, TLS untouched, to a ready manager
// process, in turn. A process counts as ready while its /readyz answers 200
// (polled every 250 ms, as the install's readinessProbe does every 10 s:
// the cache has synced and the webhook server has started), and stops
// counting the moment the test kills or stops it, as an EndpointSlice that
// drops a pod at once. In a cluster the endpoint goes a little later, so
// calls in that gap fail and are ignored as in an outage; here they are not.
// With no ready process, the connection is closed: the API server's call
// fails and failurePolicy Ignore admits the write as it came.
type webhookService struct {
	ln       net.Listener
	mu       sync.Mutex
	backends []*backend
	next     int
	// Connections passed through, and closed for want of a ready process.
	passed, closed atomic.Int64
}

type backend struct {
	name     string
	addr     string // the process's webhook server
	readyz   string // its health endpoint
	ready    atomic.Bool
	done     chan struct{}
	stopOnce sync.Once
}

func startWebhookService() (*webhookService, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	s := &webhookService{ln: ln}
	go s.serve()
	return s, nil
}

func (s *webhookService) port() int { return s.ln.Addr().(*net.TCPAddr).Port }

func (s *webhookService) close() { _ = s.ln.Close() }

func (s *webhookService) serve() {
	for {
		c, err := s.ln.Accept()
		if err != nil {
			if errors.Is(err, net.ErrClosed) {
				return
			}
			continue
		}
		go s.forward(c)
	}
}

// add makes a process an endpoint once it is ready.
func (s *webhookService) add(name string, webhookPort, healthPort int) *backend {
	b := &backend{
		name:   name,
		addr:   "127.0.0.1:" + strconv.Itoa(webhookPort),
		readyz: "http://127.0.0.1:" + strconv.Itoa(healthPort) + "/readyz",
		done:   make(chan struct{}),
	}
	s.mu.Lock()
	s.backends = append(s.backends, b)
	s.mu.Unlock()
	go b.probe()
	return b
}

// remove drops a process from the endpoints (before it is killed or stopped).
func (s *webhookService) remove(b *backend) {
	b.stopOnce.Do(func() { close(b.done) })
	b.ready.Store(false)
	s.mu.Lock()
	defer s.mu.Unlock()
	for i, x := range s.backends {
		if x == b {
			s.backends = append(s.backends[:i], s.backends[i+1:]...)
			return
		}
	}
}

// ready is the number of ready endpoints.
func (s *webhookService) ready() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	n := 0
	for _, b := range s.backends {
		if b.ready.Load() {
			n++
		}
	}
	return n
}

func (b *backend) probe() {
	client := &http.Client{Timeout: time.Second}
	tick := time.NewTicker(250 * time.Millisecond)
	defer tick.Stop()
	for {
		resp, err := client.Get(b.readyz)
		ok := err == nil && resp.StatusCode == http.StatusOK
		if resp != nil {
			_ = resp.Body.Close()
		}
		select {
		case <-b.done:
			return
		default:
		}
		b.ready.Store(ok)
		select {
		case <-b.done:
			return
		case <-tick.C:
		}
	}
}

// forward passes c to the ready endpoints in turn, the first that accepts.
func (s *webhookService) forward(c net.Conn) {
	s.mu.Lock()
	var ready []*backend
	for i := range s.backends {
		b := s.backends[(s.next+i)%len(s.backends)]
		if b.ready.Load() {
			ready = append(ready, b)
		}
	}
	s.next++
	s.mu.Unlock()
	for _, b := range ready {
		up, err := net.DialTimeout("tcp", b.addr, time.Second)
		if err != nil {
			continue
		}
		s.passed.Add(1)
		go func() {
			_, _ = io.Copy(up, c)
			_ = up.Close()
		}()
		_, _ = io.Copy(c, up)
		_ = c.Close()
		return
	}
	s.closed.Add(1)
	_ = c.Close()
}
