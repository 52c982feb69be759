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

// Package conflict is the no-fight rule: it names the field manager that
// reverts the drain settings and decides when the operator stops re-applying
// them, so that the two never fight each other into endless rollouts.
package conflict

import (
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	gdv1 "github.com/gracefuldrain/gracefuldrain/api/v1alpha1"
)

// Policy bounds the fight. Each revert the operator answers costs the
// Deployment two rollouts (theirs and the re-apply), so the default allows a
// handful: enough to ride out a one-off `kubectl apply` of an old manifest,
// few enough that a GitOps loop ends in a Conflict condition within minutes.
type Policy struct {
	// MaxReapplies is how many reverts within Window the operator answers by
	// re-applying; the next one makes it stop.
	MaxReapplies int32
	// Window: reverts further apart than this start a new count, and a
	// stopped operator tries once more after this long without reverts.
	Window time.Duration
}

// DefaultPolicy: 3 re-applies per hour.
var DefaultPolicy = Policy{MaxReapplies: 3, Window: time.Hour}

// Observation is what one reconcile saw.
type Observation struct {
	// Reverted: the Deployment carried the plan at the last reconcile and its
	// spec has since changed so that it no longer does.
	Reverted bool
	// Manager that owns the reverted fields now (most recent), if known.
	Manager string
	// RetryToken is the Deployment's gracefuldrain.io/retry annotation ("" when absent).
	RetryToken string
	Now        time.Time
}

// Track returns the new revert status and whether the operator must hold back
// its apply. A new retry token from the user starts afresh; so does a quiet
// Window since the last revert.
func Track(prev *gdv1.RevertStatus, obs Observation, p Policy) (next *gdv1.RevertStatus, hold bool) {
	now := metav1.NewTime(obs.Now)
	if prev != nil {
		cp := *prev
		next = &cp
	}
	if next != nil && obs.RetryToken != "" && obs.RetryToken != next.RetryToken {
		next = &gdv1.RevertStatus{RetryToken: obs.RetryToken}
	}
	if next != nil && next.Count > 0 && next.LastTime != nil && obs.Now.Sub(next.LastTime.Time) > p.Window {
		next = &gdv1.RevertStatus{RetryToken: next.RetryToken}
	}
	if obs.Reverted {
		if next == nil {
			next = &gdv1.RevertStatus{}
		}
		if next.Count == 0 {
			next.FirstTime = &now
		}
		next.Count++
		next.LastTime = &now
		if obs.Manager != "" {
			next.Manager = obs.Manager
		}
	}
	if next != nil && next.Count == 0 && next.RetryToken == "" {
		next = nil // nothing worth keeping in status
	}
	return next, next != nil && next.Count > p.MaxReapplies
}

// RetryAfter is how long until a holding operator tries again by itself.
func RetryAfter(st *gdv1.RevertStatus, now time.Time, p Policy) time.Duration {
	if st == nil || st.LastTime == nil {
		return 0
	}
	d := st.LastTime.Add(p.Window).Sub(now)
	if d < time.Second {
		d = time.Second
	}
	return d
}
