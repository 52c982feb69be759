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
	"testing"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"

	gdv1 "github.com/gracefuldrain/gracefuldrain/api/v1alpha1"
)

func TestStatusMemo(t *testing.T) {
	key := types.NamespacedName{Namespace: "shop", Name: "web"}
	drain := func(uid, version, mode string) *gdv1.GracefulDrain {
		return &gdv1.GracefulDrain{
			ObjectMeta: metav1.ObjectMeta{Namespace: key.Namespace, Name: key.Name, UID: types.UID(uid), ResourceVersion: version,
				ManagedFields: []metav1.ManagedFieldsEntry{{Manager: "gracefuldrain"}}},
			Status: gdv1.GracefulDrainStatus{Mode: gdv1.Mode(mode)},
		}
	}
	// The operator wrote version 11 (mode enforce) over version 10 (mode audit).
	written := drain("a", "11", "enforce")
	for _, tc := range []struct {
		name string
		// event is what the cache shows next (nil: nothing), deleted whether it is a deletion.
		event   *gdv1.GracefulDrain
		deleted bool
		// then the reconcile reads this from the cache.
		cached     *gdv1.GracefulDrain
		wantMode   string
		wantMemo   bool // still remembered after the event
		wantExists bool
	}{
		{name: "cache behind, no event: the write is read back", cached: drain("a", "10", "audit"),
			wantMode: "enforce", wantMemo: true, wantExists: true},
		{name: "the event of an older version keeps the write", event: drain("a", "10", "audit"), cached: drain("a", "10", "audit"),
			wantMode: "enforce", wantMemo: true, wantExists: true},
		{name: "the event of the write forgets it", event: drain("a", "11", "enforce"), cached: drain("a", "11", "enforce"),
			wantMode: "enforce", wantMemo: false, wantExists: true},
		{name: "a newer version (someone else's write) wins", event: drain("a", "12", "audit"), cached: drain("a", "12", "audit"),
			wantMode: "audit", wantMemo: false, wantExists: true},
		{name: "its deletion forgets it", event: drain("a", "13", "enforce"), deleted: true,
			wantMemo: false, wantExists: false},
		{name: "an earlier GracefulDrain's deletion keeps it", event: drain("old", "5", "audit"), deleted: true, cached: drain("a", "10", "audit"),
			wantMode: "enforce", wantMemo: true, wantExists: true},
		{name: "a recreated GracefulDrain wins", event: drain("b", "20", "audit"), cached: drain("b", "20", "audit"),
			wantMode: "audit", wantMemo: false, wantExists: true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var m statusMemo
			m.remember(key, written, "10")
			switch {
			case tc.event != nil && tc.deleted:
				m.cacheDropped(tc.event)
			case tc.event != nil:
				m.cacheShows(tc.event)
			}
			if _, ok := m.written.Load(key); ok != tc.wantMemo {
				t.Fatalf("remembered after the event = %v, want %v", ok, tc.wantMemo)
			}
			got, exists := m.lastWritten(key, tc.cached, tc.cached != nil)
			if exists != tc.wantExists {
				t.Fatalf("exists = %v, want %v", exists, tc.wantExists)
			}
			if exists && string(got.Status.Mode) != tc.wantMode {
				t.Errorf("read back mode %q, want %q", got.Status.Mode, tc.wantMode)
			}
			if exists && got == tc.cached && tc.wantMemo {
				t.Errorf("read back the cached object, want the remembered write")
			}
		})
	}
	t.Run("the remembered copy holds no managedFields and is not the caller's", func(t *testing.T) {
		var m statusMemo
		m.remember(key, written, "10")
		got, _ := m.lastWritten(key, drain("a", "10", "audit"), true)
		if got.ManagedFields != nil {
			t.Errorf("managedFields kept: %v", got.ManagedFields)
		}
		if written.ManagedFields == nil {
			t.Errorf("the caller's object lost its managedFields")
		}
	})
}
