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
	"slices"
	"sync"
	"time"
)

// TargetState is a target's state in an ALB target group.
type TargetState string

const (
	TargetInitial   TargetState = "initial"
	TargetHealthy   TargetState = "healthy"
	TargetUnhealthy TargetState = "unhealthy"
	TargetDraining  TargetState = "draining"
)

// HealthCheck is a target group's health check (from the Ingress annotations).
type HealthCheck struct {
	Protocol           string // HTTP or TCP
	Path               string
	Interval           time.Duration
	Timeout            time.Duration
	HealthyThreshold   int
	UnhealthyThreshold int
	SuccessCodes       func(int) bool
}

// Target is one registered ip:port.
type Target struct {
	Addr      string
	State     TargetState // as the control plane (DescribeTargetHealth) reports it
	successes int
	failures  int
	// Deregistration: the data plane keeps routing new requests as if the
	// target were still in routedAs until stopRoutingAt (propagation delay).
	deregisteredAt time.Time
	stopRoutingAt  time.Time
	routedAs       TargetState
	stopChecks     context.CancelFunc
}

// TargetGroup is the ALB's view of one target group: registered targets, their
// health, and how the data plane picks one for a new request.
type TargetGroup struct {
	Name string
	HC   HealthCheck
	Now  func() time.Time // time.Now unless a test sets it

	mu      sync.Mutex
	targets map[string]*Target
	rr      int
}

// NewTargetGroup makes an empty target group.
func NewTargetGroup(name string, hc HealthCheck) *TargetGroup {
	return &TargetGroup{Name: name, HC: hc, Now: time.Now, targets: map[string]*Target{}}
}

// Register adds addr in state initial (a no-op when it is registered and not
// deregistered). It returns true when the target is new, so the caller starts health checks.
func (tg *TargetGroup) Register(addr string, stopChecks context.CancelFunc) bool {
	tg.mu.Lock()
	defer tg.mu.Unlock()
	if t, ok := tg.targets[addr]; ok && t.deregisteredAt.IsZero() {
		return false
	}
	tg.targets[addr] = &Target{Addr: addr, State: TargetInitial, stopChecks: stopChecks}
	return true
}

// Deregister starts draining addr. New requests still reach it for propagation
// (the data plane has not heard yet); it returns when the data plane stops, or
// the zero time when addr is not registered.
func (tg *TargetGroup) Deregister(addr string, propagation time.Duration) time.Time {
	tg.mu.Lock()
	defer tg.mu.Unlock()
	t, ok := tg.targets[addr]
	if !ok || !t.deregisteredAt.IsZero() {
		return time.Time{}
	}
	now := tg.Now()
	t.deregisteredAt, t.stopRoutingAt, t.routedAs = now, now.Add(propagation), t.State
	t.State = TargetDraining
	if t.stopChecks != nil {
		t.stopChecks() // draining targets are not health checked
	}
	return t.stopRoutingAt
}

// Registered lists the addresses registered and not deregistered.
func (tg *TargetGroup) Registered() []string {
	tg.mu.Lock()
	defer tg.mu.Unlock()
	var out []string
	for a, t := range tg.targets {
		if t.deregisteredAt.IsZero() {
			out = append(out, a)
		}
	}
	slices.Sort(out)
	return out
}

// State returns addr's state, "" when unknown.
func (tg *TargetGroup) State(addr string) TargetState {
	tg.mu.Lock()
	defer tg.mu.Unlock()
	if t, ok := tg.targets[addr]; ok {
		return t.State
	}
	return ""
}

// Settled reports whether no deregistered target still receives new requests.
func (tg *TargetGroup) Settled() bool {
	tg.mu.Lock()
	defer tg.mu.Unlock()
	now := tg.Now()
	for _, t := range tg.targets {
		if !t.deregisteredAt.IsZero() && now.Before(t.stopRoutingAt) {
			return false
		}
	}
	return true
}

// RecordHealth applies one health check result with the thresholds.
func (tg *TargetGroup) RecordHealth(addr string, ok bool) {
	tg.mu.Lock()
	defer tg.mu.Unlock()
	t, found := tg.targets[addr]
	if !found || !t.deregisteredAt.IsZero() {
		return
	}
	if ok {
		t.failures = 0
		t.successes++
		if t.State != TargetHealthy && t.successes >= tg.HC.HealthyThreshold {
			t.State = TargetHealthy
		}
		return
	}
	t.successes = 0
	t.failures++
	if t.State != TargetUnhealthy && t.failures >= tg.HC.UnhealthyThreshold {
		t.State = TargetUnhealthy
	}
}

// Pick chooses the target of a new request, round robin over the healthy ones,
// or over every registered one when none is healthy (the ALB fails open). A
// deregistered target counts as it was until its propagation delay is over.
func (tg *TargetGroup) Pick() (string, bool) {
	tg.mu.Lock()
	defer tg.mu.Unlock()
	now := tg.Now()
	var healthy, all []string
	for a, t := range tg.targets {
		state := t.State
		if !t.deregisteredAt.IsZero() {
			if !now.Before(t.stopRoutingAt) {
				continue
			}
			state = t.routedAs
		}
		all = append(all, a)
		if state == TargetHealthy {
			healthy = append(healthy, a)
		}
	}
	pool := healthy
	if len(pool) == 0 {
		pool = all
	}
	if len(pool) == 0 {
		return "", false
	}
	slices.Sort(pool)
	tg.rr++
	return pool[tg.rr%len(pool)], true
}

// Forget drops deregistered targets whose deregistration delay is over.
func (tg *TargetGroup) Forget(deregistrationDelay time.Duration) {
	tg.mu.Lock()
	defer tg.mu.Unlock()
	now := tg.Now()
	for a, t := range tg.targets {
		if !t.deregisteredAt.IsZero() && now.After(t.stopRoutingAt) && now.Sub(t.deregisteredAt) > deregistrationDelay {
			delete(tg.targets, a)
		}
	}
}
