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
	"net"
	"slices"
	"strconv"
	"sync"
	"time"

	discoveryv1 "k8s.io/api/discovery/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/kubernetes"
	listersdiscoveryv1 "k8s.io/client-go/listers/discovery/v1"
	"k8s.io/client-go/tools/cache"
)

// KubeProxy simulates kube-proxy on the node for instance targets: the ALB's
// target is the node (always healthy), and the node forwards each new
// connection to one of the ready endpoints of the Service as its rules last
// programmed them (DNAT); conntrack keeps an established connection on the
// pod it was sent to whatever the rules say later (the ALB proxy dials
// through Pick, once per connection). Each EndpointSlice change reaches the
// rules after a propagation delay; a later state that is programmed first
// wins (the rules are rewritten whole).
type KubeProxy struct {
	Client    kubernetes.Interface
	Owns      func(namespace string) bool
	P         Params
	Timelines *Timelines // told when a pod's endpoint leaves the rules

	slices listersdiscoveryv1.EndpointSliceLister
	mu     sync.Mutex
	tables map[string]*ServiceTable // namespace/service
}

// ServiceTable is the programmed endpoint list of one Service port: a Backend for the Proxy.
type ServiceTable struct {
	mu sync.Mutex
	// carries: a load balancer sends this Service's traffic through the node (instance targets); only
	// then is a pod leaving the rules the moment traffic to it stops.
	carries   bool
	seq       int // of the newest snapshot taken
	applied   int // of the snapshot in the rules
	endpoints []string
	rr        int
}

// Pick chooses the endpoint of a new connection, round robin over the programmed endpoints (kube-proxy
// picks at random; the spread is the same).
func (t *ServiceTable) Pick() (string, bool) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if len(t.endpoints) == 0 {
		return "", false
	}
	t.rr++
	return t.endpoints[t.rr%len(t.endpoints)], true
}

// Endpoints returns the programmed endpoints.
func (t *ServiceTable) Endpoints() []string {
	t.mu.Lock()
	defer t.mu.Unlock()
	return slices.Clone(t.endpoints)
}

// Table returns the rules of a Service a load balancer sends its traffic through (instance targets).
func (k *KubeProxy) Table(namespace, service string) *ServiceTable {
	t := k.table(namespace, service)
	t.mu.Lock()
	defer t.mu.Unlock()
	t.carries = true
	return t
}

// table returns the rules of a Service, created empty on first use.
func (k *KubeProxy) table(namespace, service string) *ServiceTable {
	k.mu.Lock()
	defer k.mu.Unlock()
	key := namespace + "/" + service
	if k.tables[key] == nil {
		k.tables[key] = &ServiceTable{}
	}
	return k.tables[key]
}

// Start runs the EndpointSlice informer until ctx ends.
func (k *KubeProxy) Start(ctx context.Context) error {
	k.tables = map[string]*ServiceTable{}
	factory := informers.NewSharedInformerFactory(k.Client, 0)
	inf := factory.Discovery().V1().EndpointSlices().Informer()
	k.slices = factory.Discovery().V1().EndpointSlices().Lister()
	on := func(obj any) {
		if tomb, ok := obj.(cache.DeletedFinalStateUnknown); ok {
			obj = tomb.Obj
		}
		if s, ok := obj.(*discoveryv1.EndpointSlice); ok && k.Owns(s.Namespace) {
			k.snapshot(ctx, s.Namespace, s.Labels[discoveryv1.LabelServiceName])
		}
	}
	if _, err := inf.AddEventHandler(cache.ResourceEventHandlerFuncs{
		AddFunc: on, UpdateFunc: func(_, obj any) { on(obj) }, DeleteFunc: on,
	}); err != nil {
		return err
	}
	factory.Start(ctx.Done())
	if !cache.WaitForCacheSync(ctx.Done(), inf.HasSynced) {
		return fmt.Errorf("endpointslice cache did not sync")
	}
	return nil
}

// snapshot takes the Service's ready endpoints now and programs them after the propagation delay.
func (k *KubeProxy) snapshot(ctx context.Context, ns, svc string) {
	if svc == "" {
		return
	}
	list, _ := k.slices.EndpointSlices(ns).List(labels.SelectorFromSet(labels.Set{discoveryv1.LabelServiceName: svc}))
	var eps []string
	for _, s := range list {
		if len(s.Ports) == 0 || s.Ports[0].Port == nil {
			continue
		}
		for _, ep := range s.Endpoints {
			if isTrue(ep.Conditions.Ready) && len(ep.Addresses) > 0 {
				eps = append(eps, net.JoinHostPort(ep.Addresses[0], strconv.Itoa(int(*s.Ports[0].Port))))
			}
		}
	}
	slices.Sort(eps)
	t := k.table(ns, svc)
	t.mu.Lock()
	t.seq++
	seq := t.seq
	t.mu.Unlock()
	time.AfterFunc(k.P.Wall(k.P.KubeProxyPropagation.Draw()), func() {
		if ctx.Err() != nil {
			return
		}
		t.mu.Lock()
		defer t.mu.Unlock()
		if seq <= t.applied {
			return // a newer state is already programmed
		}
		now := time.Now()
		for _, old := range t.endpoints {
			if t.carries && !slices.Contains(eps, old) {
				if ip, _, err := net.SplitHostPort(old); err == nil {
					k.Timelines.Update(ip, func(tl *PodTimeline) { first(&tl.Stopped, now) })
				}
			}
		}
		t.applied, t.endpoints = seq, eps
	})
}
