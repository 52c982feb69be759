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
	"fmt"
	"slices"
	"sync"
	"time"

	discoveryv1 "k8s.io/api/discovery/v1"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/cache"
)

// PodTimeline is what happened to one pod and what the load balancer did about
// it, in wall time (Params.Model converts a span to model time). A zero time
// means "not (yet)".
type PodTimeline struct {
	Namespace, Pod, IP string
	Started            time.Time // the container process started
	Listening          time.Time // the app accepts connections
	// Deleted is when the deletion was first seen, by the kubelet or (earlier, when this process is
	// busy) as the pod's endpoint turning terminating: the preStop hook's clock starts there.
	Deleted    time.Time
	KubeletSaw time.Time     // when the simulated kubelet saw the deletion
	PreStop    time.Duration // model time the pod's preStop hook sleeps (0: none)
	Sigterm    time.Time     // the app got SIGTERM: it stops accepting and closes idle connections
	Exited     time.Time
	Killed     time.Time // SIGKILL at the end of the grace period
	// EndpointTerminating is when an EndpointSlice first showed the pod's
	// endpoint terminating: kube-controller-manager's part.
	EndpointTerminating time.Time
	// EndpointGone is when the endpoint first left an EndpointSlice.
	EndpointGone time.Time
	// Deregistered is when the AWS controller's DeregisterTargets call was done (ip targets).
	Deregistered time.Time
	// Stopped is when the data plane sends the pod no new request (ALB) or
	// connection (NLB, kube-proxy) any more.
	Stopped time.Time
}

// Timelines records a timeline per pod IP (the simulated kubelet never reuses one).
type Timelines struct {
	mu   sync.Mutex
	pods map[string]*PodTimeline
}

// NewTimelines makes an empty record.
func NewTimelines() *Timelines { return &Timelines{pods: map[string]*PodTimeline{}} }

// Update changes the timeline of the pod with this IP, creating it when new.
func (t *Timelines) Update(ip string, change func(*PodTimeline)) {
	t.mu.Lock()
	defer t.mu.Unlock()
	tl := t.pods[ip]
	if tl == nil {
		tl = &PodTimeline{IP: ip}
		t.pods[ip] = tl
	}
	change(tl)
}

// Get returns the timeline of the pod with this IP.
func (t *Timelines) Get(ip string) (PodTimeline, bool) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if tl, ok := t.pods[ip]; ok {
		return *tl, true
	}
	return PodTimeline{}, false
}

// Namespace returns the timelines of a namespace's pods.
func (t *Timelines) Namespace(ns string) []PodTimeline {
	t.mu.Lock()
	defer t.mu.Unlock()
	var out []PodTimeline
	for _, tl := range t.pods {
		if tl.Namespace == ns {
			out = append(out, *tl)
		}
	}
	slices.SortFunc(out, func(a, b PodTimeline) int { return a.Deleted.Compare(b.Deleted) })
	return out
}

// first sets *t to at unless it is already set: every timeline entry is the first time it happened.
func first(t *time.Time, at time.Time) {
	if t.IsZero() {
		*t = at
	}
}

// WatchEndpoints records, for the pods of the namespaces owns accepts, when an
// EndpointSlice first showed their endpoint terminating, and first dropped it.
func (t *Timelines) WatchEndpoints(ctx context.Context, c kubernetes.Interface, owns func(string) bool) error {
	factory := informers.NewSharedInformerFactory(c, 0)
	inf := factory.Discovery().V1().EndpointSlices().Informer()
	var mu sync.Mutex
	seen := map[string][]string{} // slice namespace/name -> pod IPs it listed
	on := func(obj any, gone bool) {
		if tomb, ok := obj.(cache.DeletedFinalStateUnknown); ok {
			obj, gone = tomb.Obj, true
		}
		s, ok := obj.(*discoveryv1.EndpointSlice)
		if !ok || !owns(s.Namespace) {
			return
		}
		now := time.Now()
		key := s.Namespace + "/" + s.Name
		var listed []string
		if !gone {
			for _, ep := range s.Endpoints {
				if len(ep.Addresses) == 0 {
					continue
				}
				ip := ep.Addresses[0]
				listed = append(listed, ip)
				if isTrue(ep.Conditions.Terminating) {
					t.Update(ip, func(tl *PodTimeline) { first(&tl.EndpointTerminating, now) })
				}
			}
		}
		mu.Lock()
		before := seen[key]
		seen[key] = listed
		mu.Unlock()
		for _, ip := range before {
			if !slices.Contains(listed, ip) {
				t.Update(ip, func(tl *PodTimeline) { first(&tl.EndpointGone, now) })
			}
		}
	}
	if _, err := inf.AddEventHandler(cache.ResourceEventHandlerFuncs{
		AddFunc:    func(obj any) { on(obj, false) },
		UpdateFunc: func(_, obj any) { on(obj, false) },
		DeleteFunc: func(obj any) { on(obj, true) },
	}); err != nil {
		return err
	}
	factory.Start(ctx.Done())
	if !cache.WaitForCacheSync(ctx.Done(), inf.HasSynced) {
		return fmt.Errorf("endpointslice cache did not sync")
	}
	return nil
}

// FailureKind is how a request failed at the load balancer.
type FailureKind string

// How a request can fail at the load balancer.
const (
	FailNoTarget FailureKind = "no-target" // nothing to send it to (no registered target, no programmed endpoint)
	FailRefused  FailureKind = "refused"   // the connection to the target was refused
	FailClosed   FailureKind = "closed"    // the target closed or reset the connection without answering
	FailTimeout  FailureKind = "timeout"   // no answer within the target timeout
)

// Failure is one request a load balancer could not get answered.
type Failure struct {
	Picked     time.Time // the load balancer chose the target (or found none)
	Failed     time.Time
	Target     string // pod IP; "" when there was none
	Kind       FailureKind
	Reused     bool      // sent on a keep-alive connection opened for an earlier request
	ConnOpened time.Time // when that connection was opened
}

// FailureLog collects a load balancer's failures.
type FailureLog struct {
	mu   sync.Mutex
	list []Failure
}

// Add records a failure.
func (l *FailureLog) Add(f Failure) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.list = append(l.list, f)
}

// All returns the failures so far.
func (l *FailureLog) All() []Failure {
	l.mu.Lock()
	defer l.mu.Unlock()
	return slices.Clone(l.list)
}

// Cause says why a request failed, from the failure and the timeline of its pod.
type Cause string

// Causes. Preventable ones are what a correct drain plan prevents; a run with
// the operator fails on any of them. The others are printed.
const (
	// CauseNoPreStop: the load balancer still sent the pod a new request after its SIGTERM, which came at
	// deletion because the pod had no preStop sleep.
	CauseNoPreStop Cause = "no-prestop"
	// CausePreStopShort: the same with a preStop sleep shorter than the plan's.
	CausePreStopShort Cause = "prestop-short"
	// CauseSigtermEarly: SIGTERM came before the planned preStop was over (grace period too short) and the
	// load balancer, within the bound, still sent requests.
	CauseSigtermEarly Cause = "sigterm-early"
	// CauseNotListening: a new pod got a request before its app listened (no readiness probe, or a gate
	// that did not hold it back).
	CauseNotListening Cause = "not-listening"
	// CauseNoTarget: the load balancer had nothing to send the request to.
	CauseNoTarget Cause = "no-target"
	// CauseKilled: SIGKILL at the end of the grace period cut the request.
	CauseKilled Cause = "killed"
	// CauseUnexplained: none of the above; the simulation should explain every failure.
	CauseUnexplained Cause = "unexplained"

	// CauseBeyondBound: the load balancer still sent the pod new requests (or connections) after the
	// planned preStop: it stopped later than the bound the plan is made for (the tail of the propagation
	// delay, or an EndpointSlice that changed late). What the drain curve measures.
	CauseBeyondBound Cause = "lb-after-prestop"
	// CauseClosedAtSigterm: the request was on its way, or on a keep-alive connection pinned to the pod
	// (kube-proxy's conntrack for instance targets), when SIGTERM made the app close it. No sleep
	// prevents it; an app that ends keep-alive connections with "Connection: close" before closing does.
	CauseClosedAtSigterm Cause = "closed-at-sigterm"
	// CauseSlow: no answer within the target timeout from a pod that was serving: this machine stalled.
	CauseSlow Cause = "slow-answer"
	// CauseClient: a non-2xx the load saw that no load balancer recorded (the client's own timeout).
	CauseClient Cause = "client"
)

// Preventable says whether a correct drain plan prevents failures of this cause.
func (c Cause) Preventable() bool {
	switch c {
	case CauseBeyondBound, CauseClosedAtSigterm, CauseSlow, CauseClient:
		return false
	}
	return true
}

// Attribute finds the cause of a failure. planned is the preStop the drain
// plan promises (model time; 0 without the operator); P converts wall spans to
// model time.
func Attribute(f Failure, tl PodTimeline, known bool, planned time.Duration, P Params) Cause {
	if f.Kind == FailNoTarget {
		return CauseNoTarget
	}
	if !known {
		return CauseUnexplained
	}
	if !tl.Killed.IsZero() && !f.Failed.Before(tl.Killed) {
		return CauseKilled
	}
	if tl.Sigterm.IsZero() || f.Failed.Before(tl.Sigterm) {
		// The pod was not stopping when the request failed.
		switch {
		case f.Kind == FailTimeout:
			return CauseSlow
		case tl.Listening.IsZero() || f.Failed.Before(tl.Listening):
			return CauseNotListening
		}
		return CauseUnexplained
	}
	if f.Kind == FailTimeout {
		return CauseSlow
	}
	if f.Picked.Before(tl.Sigterm) || (f.Reused && f.ConnOpened.Before(tl.Sigterm)) {
		return CauseClosedAtSigterm
	}
	// The load balancer sent a new request (or connection) after SIGTERM.
	switch {
	case tl.PreStop == 0 && planned == 0:
		return CauseNoPreStop
	case tl.PreStop < planned:
		return CausePreStopShort
	}
	stopped := tl.Stopped
	if stopped.IsZero() || stopped.Before(f.Picked) {
		stopped = f.Picked // it had not stopped when it sent this one
	}
	if P.Model(stopped.Sub(tl.Deleted)) > planned {
		return CauseBeyondBound
	}
	return CauseSigtermEarly
}
