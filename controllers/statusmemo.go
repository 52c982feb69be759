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
	"sync"

	"k8s.io/apimachinery/pkg/types"

	gdv1 "github.com/gracefuldrain/gracefuldrain/api/v1alpha1"
)

// statusMemo remembers the GracefulDrains the operator wrote until its cache
// shows them: read-your-writes. Without it, the reconcile that the write
// itself triggers would compare against the stale cached copy and write the
// same status a second time.
type statusMemo struct {
	written sync.Map // GracefulDrain key -> *writtenDrain
}

// writtenDrain is a GracefulDrain as the operator last wrote it, and the
// resourceVersions known to be older than that write ("" for "not created yet").
type writtenDrain struct {
	drain *gdv1.GracefulDrain
	stale map[string]bool
}

// remember records a write; older lists the versions it replaced. The copy
// kept is what the cache would hold: no managedFields, which were half of it.
func (m *statusMemo) remember(key types.NamespacedName, written *gdv1.GracefulDrain, older ...string) {
	kept := written.DeepCopy()
	kept.ManagedFields = nil
	w := &writtenDrain{drain: kept, stale: map[string]bool{}}
	if v, ok := m.written.Load(key); ok {
		for version := range v.(*writtenDrain).stale {
			w.stale[version] = true
		}
	}
	for _, version := range older {
		w.stale[version] = true
	}
	m.written.Store(key, w)
}

// lastWritten returns what the operator last wrote while the cache has not
// caught up with it yet (the cache still holds the version from before the
// write, or no object after a create); otherwise the cached object.
func (m *statusMemo) lastWritten(key types.NamespacedName, cached *gdv1.GracefulDrain, exists bool) (*gdv1.GracefulDrain, bool) {
	v, ok := m.written.Load(key)
	if !ok {
		return cached, exists
	}
	w := v.(*writtenDrain)
	if (!exists && w.stale[""]) || (exists && cached.UID == w.drain.UID && w.stale[cached.ResourceVersion]) {
		return w.drain.DeepCopy(), true
	}
	m.written.Delete(key) // the cache has caught up (or someone else wrote): trust it
	return cached, exists
}

// cacheShows forgets a write as soon as the cache holds it or anything newer
// (the GracefulDrain informer's events): the memo then holds only writes in
// flight, not every write whose follow-up reconcile waits in a long queue
// (5,000 of them at the end of a first convergence).
func (m *statusMemo) cacheShows(cached *gdv1.GracefulDrain) {
	key := types.NamespacedName{Namespace: cached.Namespace, Name: cached.Name}
	if v, ok := m.written.Load(key); ok {
		w := v.(*writtenDrain)
		if cached.UID != w.drain.UID || !w.stale[cached.ResourceVersion] {
			m.written.CompareAndDelete(key, v)
		}
	}
}

// cacheDropped forgets a write whose GracefulDrain the cache saw deleted
// (not an older one's deletion arriving after the write).
func (m *statusMemo) cacheDropped(cached *gdv1.GracefulDrain) {
	key := types.NamespacedName{Namespace: cached.Namespace, Name: cached.Name}
	if v, ok := m.written.Load(key); ok && v.(*writtenDrain).drain.UID == cached.UID {
		m.written.CompareAndDelete(key, v)
	}
}

// forget drops what is remembered of a GracefulDrain (deleted, or a write failed).
func (m *statusMemo) forget(key types.NamespacedName) {
	m.written.Delete(key)
}
