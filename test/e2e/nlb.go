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
	"errors"
	"io"
	"net"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
)

// NLB is a Network Load Balancer's data plane on loopback: TCP passed
// through. Each new client connection goes to the target Backend picks and
// stays there for its whole life (a flow). A refused connection reaches the
// client as a reset, as the NLB passes the target's RST on; a target that
// closes a connection without answering leaves the client with an EOF. Every
// failure is recorded in Failures with its target, for Attribute.
type NLB struct {
	Backend     Backend
	DialTimeout time.Duration // wall
	Failures    *FailureLog

	mu     sync.Mutex
	ln     net.Listener
	conns  map[net.Conn]bool
	closed bool
}

// NewNLB makes the data plane of one NLB listener.
func NewNLB(b Backend, dialTimeout time.Duration) *NLB {
	return &NLB{Backend: b, DialTimeout: dialTimeout, Failures: &FailureLog{}, conns: map[net.Conn]bool{}}
}

// Serve accepts client connections on ln until Close.
func (n *NLB) Serve(ln net.Listener) {
	n.mu.Lock()
	n.ln = ln
	n.mu.Unlock()
	for {
		c, err := ln.Accept()
		if err != nil {
			return
		}
		go n.flow(c)
	}
}

// Close stops accepting and ends every flow.
func (n *NLB) Close() {
	n.mu.Lock()
	defer n.mu.Unlock()
	n.closed = true
	if n.ln != nil {
		_ = n.ln.Close()
	}
	for c := range n.conns {
		_ = c.Close()
	}
}

func (n *NLB) track(c net.Conn, on bool) bool {
	n.mu.Lock()
	defer n.mu.Unlock()
	if on && n.closed {
		return false
	}
	if on {
		n.conns[c] = true
	} else {
		delete(n.conns, c)
	}
	return true
}

func (n *NLB) flow(client net.Conn) {
	if !n.track(client, true) {
		_ = client.Close()
		return
	}
	defer n.track(client, false)
	picked := time.Now()
	addr, ok := n.Backend.Pick()
	if !ok {
		n.Failures.Add(Failure{Picked: picked, Failed: picked, Kind: FailNoTarget})
		reset(client)
		return
	}
	pod, _, _ := net.SplitHostPort(addr)
	target, err := net.DialTimeout("tcp", Loopback(addr), n.DialTimeout)
	if err != nil {
		kind := FailClosed
		switch {
		case errors.Is(err, syscall.ECONNREFUSED):
			kind = FailRefused
		case isTimeout(err):
			kind = FailTimeout
		}
		n.Failures.Add(Failure{Picked: picked, Failed: time.Now(), Target: pod, Kind: kind})
		reset(client)
		return
	}
	opened := time.Now()
	if !n.track(target, true) {
		_ = target.Close()
		return
	}
	defer n.track(target, false)
	var fromClient atomic.Int64
	done := make(chan struct{})
	go func() {
		defer close(done)
		k, _ := io.Copy(target, client)
		fromClient.Add(k)
		if tc, ok := target.(*net.TCPConn); ok {
			_ = tc.CloseWrite()
		}
	}()
	fromTarget, _ := io.Copy(client, target)
	if fromTarget == 0 {
		// The target closed without a byte of answer: give the client sender a moment to see its
		// own side end, then record it when the client had asked something.
		_ = client.SetReadDeadline(time.Now().Add(100 * time.Millisecond))
		<-done
		if fromClient.Load() > 0 {
			n.Failures.Add(Failure{Picked: picked, Failed: time.Now(), Target: pod, Kind: FailClosed, ConnOpened: opened})
		}
	}
	_ = client.Close()
	_ = target.Close()
	<-done
}

// reset closes c with an RST, as a refused connection passed through looks to the client.
func reset(c net.Conn) {
	if tc, ok := c.(*net.TCPConn); ok {
		_ = tc.SetLinger(0)
	}
	_ = c.Close()
}
