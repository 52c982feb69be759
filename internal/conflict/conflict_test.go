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

package conflict

import (
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	gdv1 "github.com/gracefuldrain/gracefuldrain/api/v1alpha1"
)

func TestTrack(t *testing.T) {
	p := Policy{MaxReapplies: 3, Window: time.Hour}
	t0 := time.Date(2026, 11, 21, 12, 0, 0, 0, time.UTC)
	status := func(count int32, last time.Time, token string) *gdv1.RevertStatus {
		first, lastT := metav1.NewTime(t0), metav1.NewTime(last)
		return &gdv1.RevertStatus{Count: count, Manager: "flux", FirstTime: &first, LastTime: &lastT, RetryToken: token}
	}
	tests := []struct {
		name      string
		prev      *gdv1.RevertStatus
		obs       Observation
		wantCount int32
		wantHold  bool
		wantNil   bool
		wantToken string
	}{
		{name: "nothing happened", obs: Observation{Now: t0}, wantNil: true},
		{name: "first revert", obs: Observation{Reverted: true, Manager: "flux", Now: t0}, wantCount: 1},
		{name: "third revert still answered", prev: status(2, t0, ""), obs: Observation{Reverted: true, Now: t0.Add(time.Minute)}, wantCount: 3},
		{name: "fourth revert holds", prev: status(3, t0, ""), obs: Observation{Reverted: true, Now: t0.Add(2 * time.Minute)}, wantCount: 4, wantHold: true},
		{name: "holding stays holding", prev: status(4, t0, ""), obs: Observation{Now: t0.Add(30 * time.Minute)}, wantCount: 4, wantHold: true},
		{name: "quiet window resumes", prev: status(4, t0, ""), obs: Observation{Now: t0.Add(61 * time.Minute)}, wantNil: true},
		{name: "revert after quiet window counts afresh", prev: status(4, t0, ""), obs: Observation{Reverted: true, Manager: "flux", Now: t0.Add(2 * time.Hour)}, wantCount: 1},
		{name: "new retry token resumes", prev: status(4, t0, ""), obs: Observation{RetryToken: "1", Now: t0.Add(time.Minute)}, wantCount: 0, wantToken: "1"},
		{name: "same retry token does not", prev: status(4, t0, "1"), obs: Observation{RetryToken: "1", Now: t0.Add(time.Minute)}, wantCount: 4, wantHold: true, wantToken: "1"},
		{name: "retry token then revert", prev: status(4, t0, ""), obs: Observation{RetryToken: "2", Reverted: true, Manager: "flux", Now: t0.Add(time.Minute)}, wantCount: 1, wantToken: "2"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			next, hold := Track(tt.prev, tt.obs, p)
			if tt.wantNil {
				if next != nil || hold {
					t.Fatalf("got %+v hold=%v, want nil", next, hold)
				}
				return
			}
			if next == nil || next.Count != tt.wantCount || hold != tt.wantHold || next.RetryToken != tt.wantToken {
				t.Fatalf("got %+v hold=%v, want count %d hold %v token %q", next, hold, tt.wantCount, tt.wantHold, tt.wantToken)
			}
			if tt.obs.Reverted && (next.LastTime.Time != tt.obs.Now || next.Manager != "flux") {
				t.Fatalf("revert not recorded: %+v", next)
			}
		})
	}
	// The caller's status is not modified in place.
	prev := status(1, t0, "")
	Track(prev, Observation{Reverted: true, Now: t0.Add(time.Minute)}, p)
	if prev.Count != 1 {
		t.Fatalf("prev modified: %+v", prev)
	}
}

func TestRetryAfter(t *testing.T) {
	p := Policy{MaxReapplies: 3, Window: time.Hour}
	t0 := time.Date(2026, 11, 21, 12, 0, 0, 0, time.UTC)
	last := metav1.NewTime(t0)
	st := &gdv1.RevertStatus{Count: 4, LastTime: &last}
	if got := RetryAfter(st, t0.Add(20*time.Minute), p); got != 40*time.Minute {
		t.Fatalf("RetryAfter = %v", got)
	}
	if got := RetryAfter(st, t0.Add(2*time.Hour), p); got != time.Second {
		t.Fatalf("RetryAfter past the window = %v", got)
	}
	if RetryAfter(nil, t0, p) != 0 {
		t.Fatal("no status, no retry")
	}
}
