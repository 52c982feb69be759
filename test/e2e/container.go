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
	"fmt"
	"net"
	"net/http"
	"sync"
	"sync/atomic"
	"time"
)

// Container stands in for the pod's serving container (nginx in seed 000): an
// HTTP server on the pod's own loopback IP that answers 200 to every path.
//
// Its SIGTERM behaviour is nginx's: the listener and idle keep-alive
// connections close at once (new connections are refused, a request sent on a
// connection being closed is reset), requests in flight finish. Kill is
// SIGKILL: every connection closes, whatever it is doing.
type Container struct {
	Name        string
	Addr        string // ip:port
	ServiceTime time.Duration

	inFlight atomic.Int32 // requests being served: a test's condition, not the model's
	mu       sync.Mutex
	srv      *http.Server
	started  chan struct{} // closed when listening (or when start failed)
	stopped  bool
	err      error
}

// Start makes the server listen after startup (wall time) and serve until
// Terminate or Kill; listening, when not nil, is told when it listens.
func (c *Container) Start(startup time.Duration, listening func(time.Time)) {
	c.started = make(chan struct{})
	go func() {
		defer close(c.started)
		if startup > 0 {
			time.Sleep(startup) // the process is starting: connections are refused meanwhile
		}
		c.mu.Lock()
		defer c.mu.Unlock()
		if c.stopped {
			return
		}
		ln, err := net.Listen("tcp", c.Addr)
		if err != nil {
			c.err = fmt.Errorf("container %s: listen %s: %w", c.Name, c.Addr, err)
			return
		}
		c.srv = &http.Server{Handler: http.HandlerFunc(c.serve), ReadHeaderTimeout: 10 * time.Second}
		go func() { _ = c.srv.Serve(ln) }()
		if listening != nil {
			listening(time.Now())
		}
	}()
}

func (c *Container) serve(w http.ResponseWriter, _ *http.Request) {
	c.inFlight.Add(1)
	defer c.inFlight.Add(-1)
	if c.ServiceTime > 0 {
		time.Sleep(c.ServiceTime)
	}
	w.Header().Set("Content-Type", "text/plain")
	_, _ = fmt.Fprintf(w, "served by %s\n", c.Name)
}

// Err reports a failure to listen (after the startup delay).
func (c *Container) Err() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.err
}

// Terminate is SIGTERM: close the listener and idle connections now, let
// requests in flight finish. It returns when the process has exited, or with
// the context's error when the grace period ran out first (then call Kill).
func (c *Container) Terminate(ctx context.Context) error {
	srv := c.stop()
	if srv == nil {
		return nil
	}
	err := srv.Shutdown(ctx)
	if errors.Is(err, context.DeadlineExceeded) || errors.Is(err, context.Canceled) {
		return err
	}
	return nil
}

// Kill is SIGKILL.
func (c *Container) Kill() {
	if srv := c.stop(); srv != nil {
		_ = srv.Close()
	}
}

func (c *Container) stop() *http.Server {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.stopped = true
	return c.srv
}
