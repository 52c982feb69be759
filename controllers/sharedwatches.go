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

package controllers

import (
	"context"
	"fmt"
	"reflect"
	"sync"

	"k8s.io/client-go/util/workqueue"
	"sigs.k8s.io/controller-runtime/pkg/cache"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/event"
	"sigs.k8s.io/controller-runtime/pkg/handler"
	"sigs.k8s.io/controller-runtime/pkg/predicate"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"
	"sigs.k8s.io/controller-runtime/pkg/source"
)

// sharedWatches gives the kind controllers one informer event handler per
// watched kind instead of one each. Every controller that watches Services
// through its own source.Kind costs client-go a listener: two goroutines, a
// buffer of events that never shrinks, and its own delivery of every event.
// Four kind controllers watching Namespaces, Services, Ingresses,
// IngressClasses, Pods and GracefulDrains made 24 listeners; shared, 6. Each
// controller keeps its own handler (map function), predicates and queue.
//
// A controller that joins a shared watch after its informer has delivered the
// objects that exist (the Argo Rollouts controller, started when its CRD
// appears) does not get them again: they could only enqueue workloads that
// the controller's own For watch enqueues at its start anyway.
type sharedWatches struct {
	cache cache.Cache
	mu    sync.Mutex
	kinds map[reflect.Type]*sharedWatch
}

func newSharedWatches(c cache.Cache) *sharedWatches {
	return &sharedWatches{cache: c, kinds: map[reflect.Type]*sharedWatch{}}
}

// source returns a source for a controller's Watches: obj's events, mapped by
// h after the predicates, into the controller's queue.
func (s *sharedWatches) source(obj client.Object, h handler.EventHandler, predicates ...predicate.Predicate) source.SyncingSource {
	return &sharedSource{watches: s, obj: obj, target: watchTarget{handler: h, predicates: predicates}}
}

// join adds a target to obj's shared watch, starting the watch for the first.
func (s *sharedWatches) join(ctx context.Context, obj client.Object, t watchTarget) (*sharedWatch, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	key := reflect.TypeOf(obj)
	w, ok := s.kinds[key]
	if !ok {
		w = &sharedWatch{synced: make(chan struct{})}
		// The queue argument is unused: the shared watch delivers into each
		// target's own queue.
		kind := source.Kind(s.cache, obj, handler.EventHandler(w))
		if err := kind.Start(ctx, nil); err != nil {
			return nil, fmt.Errorf("watching %T: %w", obj, err)
		}
		go func() {
			w.syncErr = kind.WaitForSync(ctx)
			close(w.synced)
		}()
		s.kinds[key] = w
	}
	w.add(t)
	return w, nil
}

// sharedSource is one controller's place in a shared watch.
type sharedSource struct {
	watches *sharedWatches
	obj     client.Object
	target  watchTarget
	watch   *sharedWatch
}

func (s *sharedSource) Start(ctx context.Context, queue workqueue.TypedRateLimitingInterface[reconcile.Request]) error {
	s.target.queue = queue
	w, err := s.watches.join(ctx, s.obj, s.target)
	s.watch = w
	return err
}

// WaitForSync waits, as source.Kind's does, until the informer has synced
// and delivered the objects that existed when the shared watch started.
func (s *sharedSource) WaitForSync(ctx context.Context) error {
	select {
	case <-s.watch.synced:
		return s.watch.syncErr
	case <-ctx.Done():
		return fmt.Errorf("waiting for the shared watch of %T: %w", s.obj, ctx.Err())
	}
}

func (s *sharedSource) String() string { return fmt.Sprintf("shared watch of %T", s.obj) }

// watchTarget is one controller's handler, predicates and queue.
type watchTarget struct {
	handler    handler.EventHandler
	predicates []predicate.Predicate
	queue      workqueue.TypedRateLimitingInterface[reconcile.Request]
}

// sharedWatch is the one event handler of a kind: it passes each event to
// every target whose predicates let it through.
type sharedWatch struct {
	mu      sync.RWMutex
	targets []watchTarget
	synced  chan struct{}
	syncErr error
}

func (w *sharedWatch) add(t watchTarget) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.targets = append(w.targets, t)
}

func (w *sharedWatch) each(pass func(predicate.Predicate) bool, deliver func(watchTarget)) {
	w.mu.RLock()
	targets := w.targets
	w.mu.RUnlock()
	for _, t := range targets {
		if allow(t.predicates, pass) {
			deliver(t)
		}
	}
}

func allow(predicates []predicate.Predicate, pass func(predicate.Predicate) bool) bool {
	for _, p := range predicates {
		if !pass(p) {
			return false
		}
	}
	return true
}

func (w *sharedWatch) Create(ctx context.Context, e event.CreateEvent, _ workqueue.TypedRateLimitingInterface[reconcile.Request]) {
	w.each(func(p predicate.Predicate) bool { return p.Create(e) },
		func(t watchTarget) { t.handler.Create(ctx, e, t.queue) })
}

func (w *sharedWatch) Update(ctx context.Context, e event.UpdateEvent, _ workqueue.TypedRateLimitingInterface[reconcile.Request]) {
	w.each(func(p predicate.Predicate) bool { return p.Update(e) },
		func(t watchTarget) { t.handler.Update(ctx, e, t.queue) })
}

func (w *sharedWatch) Delete(ctx context.Context, e event.DeleteEvent, _ workqueue.TypedRateLimitingInterface[reconcile.Request]) {
	w.each(func(p predicate.Predicate) bool { return p.Delete(e) },
		func(t watchTarget) { t.handler.Delete(ctx, e, t.queue) })
}

func (w *sharedWatch) Generic(ctx context.Context, e event.GenericEvent, _ workqueue.TypedRateLimitingInterface[reconcile.Request]) {
	w.each(func(p predicate.Predicate) bool { return p.Generic(e) },
		func(t watchTarget) { t.handler.Generic(ctx, e, t.queue) })
}
