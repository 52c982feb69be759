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

package settings

import (
	"fmt"
	"strings"
	"testing"

	gdv1 "github.com/gracefuldrain/gracefuldrain/api/v1alpha1"
	"github.com/gracefuldrain/gracefuldrain/internal/slim"
)

func TestParse(t *testing.T) {
	enforce := map[string]string{ModeKey: "enforce"}
	audit := map[string]string{ModeKey: "audit"}
	i32 := func(v int32) *int32 { return &v }

	tests := []struct {
		name          string
		nsLabels      map[string]string
		nsAnnotations map[string]string
		annotations   map[string]string
		wantAdopt     Adopt // "" means the default, now
		wantManaged   bool
		wantMode      gdv1.Mode
		wantPreStop   *int32
		wantShut      *int32
		wantLeave     bool
		wantProblem   string // key of the single expected problem, "" for none
	}{
		{name: "namespace not labelled", nsLabels: nil, wantManaged: false, wantMode: gdv1.ModeOff},
		{name: "not labelled, deployment asks enforce", annotations: map[string]string{ModeKey: "enforce"}, wantManaged: false, wantMode: gdv1.ModeOff},
		{name: "enforce", nsLabels: enforce, wantManaged: true, wantMode: gdv1.ModeEnforce},
		{name: "audit", nsLabels: audit, wantManaged: true, wantMode: gdv1.ModeAudit},
		{name: "deployment audit in enforce namespace", nsLabels: enforce, annotations: map[string]string{ModeKey: "audit"}, wantManaged: true, wantMode: gdv1.ModeAudit},
		{name: "deployment enforce in audit namespace", nsLabels: audit, annotations: map[string]string{ModeKey: "enforce"}, wantManaged: true, wantMode: gdv1.ModeEnforce},
		{name: "deployment off", nsLabels: enforce, annotations: map[string]string{ModeKey: "off"}, wantManaged: false, wantMode: gdv1.ModeOff},
		{name: "unknown namespace mode", nsLabels: map[string]string{ModeKey: "on"}, wantManaged: true, wantMode: gdv1.ModeAudit, wantProblem: ModeKey},
		{name: "namespace mode with capital", nsLabels: map[string]string{ModeKey: "Enforce"}, wantManaged: true, wantMode: gdv1.ModeAudit, wantProblem: ModeKey},
		{name: "unknown deployment mode", nsLabels: enforce, annotations: map[string]string{ModeKey: "yes"}, wantManaged: true, wantMode: gdv1.ModeEnforce, wantProblem: ModeKey},
		{name: "empty deployment mode", nsLabels: enforce, annotations: map[string]string{ModeKey: ""}, wantManaged: true, wantMode: gdv1.ModeEnforce, wantProblem: ModeKey},
		{name: "prestop override", nsLabels: enforce, annotations: map[string]string{PreStopSecondsKey: "70"}, wantManaged: true, wantMode: gdv1.ModeEnforce, wantPreStop: i32(70)},
		{name: "shutdown override zero", nsLabels: enforce, annotations: map[string]string{ShutdownSecondsKey: "0"}, wantManaged: true, wantMode: gdv1.ModeEnforce, wantShut: i32(0)},
		{name: "prestop non-numeric", nsLabels: enforce, annotations: map[string]string{PreStopSecondsKey: "abc"}, wantManaged: true, wantMode: gdv1.ModeEnforce, wantProblem: PreStopSecondsKey},
		{name: "prestop negative", nsLabels: enforce, annotations: map[string]string{PreStopSecondsKey: "-5"}, wantManaged: true, wantMode: gdv1.ModeEnforce, wantProblem: PreStopSecondsKey},
		{name: "prestop zero", nsLabels: enforce, annotations: map[string]string{PreStopSecondsKey: "0"}, wantManaged: true, wantMode: gdv1.ModeEnforce, wantProblem: PreStopSecondsKey},
		{name: "prestop fractional", nsLabels: enforce, annotations: map[string]string{PreStopSecondsKey: "4.5"}, wantManaged: true, wantMode: gdv1.ModeEnforce, wantProblem: PreStopSecondsKey},
		{name: "prestop with unit", nsLabels: enforce, annotations: map[string]string{PreStopSecondsKey: "40s"}, wantManaged: true, wantMode: gdv1.ModeEnforce, wantProblem: PreStopSecondsKey},
		{name: "prestop beyond int32", nsLabels: enforce, annotations: map[string]string{PreStopSecondsKey: "99999999999"}, wantManaged: true, wantMode: gdv1.ModeEnforce, wantProblem: PreStopSecondsKey},
		{name: "prestop beyond an hour", nsLabels: enforce, annotations: map[string]string{PreStopSecondsKey: "3601"}, wantManaged: true, wantMode: gdv1.ModeEnforce, wantProblem: PreStopSecondsKey},
		{name: "prestop empty", nsLabels: enforce, annotations: map[string]string{PreStopSecondsKey: ""}, wantManaged: true, wantMode: gdv1.ModeEnforce, wantProblem: PreStopSecondsKey},
		{name: "prestop padded", nsLabels: enforce, annotations: map[string]string{PreStopSecondsKey: " 40"}, wantManaged: true, wantMode: gdv1.ModeEnforce, wantProblem: PreStopSecondsKey},
		{name: "shutdown negative", nsLabels: enforce, annotations: map[string]string{ShutdownSecondsKey: "-1"}, wantManaged: true, wantMode: gdv1.ModeEnforce, wantProblem: ShutdownSecondsKey},
		{name: "readiness leave", nsLabels: enforce, annotations: map[string]string{ReadinessProbeKey: "leave"}, wantManaged: true, wantMode: gdv1.ModeEnforce, wantLeave: true},
		{name: "readiness derive", nsLabels: enforce, annotations: map[string]string{ReadinessProbeKey: "derive"}, wantManaged: true, wantMode: gdv1.ModeEnforce},
		{name: "readiness unknown", nsLabels: enforce, annotations: map[string]string{ReadinessProbeKey: "off"}, wantManaged: true, wantMode: gdv1.ModeEnforce, wantProblem: ReadinessProbeKey},
		{name: "adopt next-rollout by the namespace", nsLabels: enforce, nsAnnotations: map[string]string{AdoptKey: "next-rollout"}, wantManaged: true, wantMode: gdv1.ModeEnforce, wantAdopt: AdoptNextRollout},
		{name: "adopt: the workload's choice wins", nsLabels: enforce, nsAnnotations: map[string]string{AdoptKey: "next-rollout"}, annotations: map[string]string{AdoptKey: "now"}, wantManaged: true, wantMode: gdv1.ModeEnforce, wantAdopt: AdoptNow},
		{name: "adopt next-rollout by the workload", nsLabels: enforce, annotations: map[string]string{AdoptKey: "next-rollout"}, wantManaged: true, wantMode: gdv1.ModeEnforce, wantAdopt: AdoptNextRollout},
		{name: "adopt unknown on the workload", nsLabels: enforce, annotations: map[string]string{AdoptKey: "later"}, wantManaged: true, wantMode: gdv1.ModeEnforce, wantProblem: AdoptKey},
		{name: "adopt unknown on the namespace", nsLabels: enforce, nsAnnotations: map[string]string{AdoptKey: "Now"}, wantManaged: true, wantMode: gdv1.ModeEnforce, wantProblem: AdoptKey},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := Parse(Source{Ref: "Namespace shop", Labels: tt.nsLabels, Annotations: tt.nsAnnotations}, Source{Ref: "Deployment shop/web", Annotations: tt.annotations})
			if got.Managed != tt.wantManaged || got.Mode != tt.wantMode {
				t.Fatalf("managed=%v mode=%q, want managed=%v mode=%q", got.Managed, got.Mode, tt.wantManaged, tt.wantMode)
			}
			if !equalPtr(got.Overrides.PreStopSeconds, tt.wantPreStop) || !equalPtr(got.Overrides.ShutdownSeconds, tt.wantShut) {
				t.Fatalf("overrides prestop=%v shutdown=%v", got.Overrides.PreStopSeconds, got.Overrides.ShutdownSeconds)
			}
			if want := tt.wantAdopt; got.Managed && tt.wantProblem == "" && (want == "" && got.Adopt != AdoptNow || want != "" && got.Adopt != want) {
				t.Fatalf("adopt=%q, want %q", got.Adopt, want)
			}
			if got.Overrides.LeaveReadinessProbes != tt.wantLeave {
				t.Fatalf("leave=%v, want %v", got.Overrides.LeaveReadinessProbes, tt.wantLeave)
			}
			if tt.wantProblem == "" {
				if len(got.Problems) != 0 {
					t.Fatalf("unexpected problems %+v", got.Problems)
				}
				return
			}
			if len(got.Problems) != 1 || got.Problems[0].Key != tt.wantProblem {
				t.Fatalf("problems %+v, want one for %s", got.Problems, tt.wantProblem)
			}
			p := got.Problems[0]
			value, ok := tt.annotations[tt.wantProblem]
			if !ok {
				value = tt.nsAnnotations[tt.wantProblem]
			}
			if tt.nsLabels[ModeKey] != "enforce" && tt.nsLabels[ModeKey] != "audit" {
				value = tt.nsLabels[ModeKey]
			}
			if p.Value != value {
				t.Fatalf("problem value %q, want %q", p.Value, value)
			}
			if text := p.String(); !strings.Contains(text, tt.wantProblem) || !strings.Contains(text, p.Object) || !strings.Contains(text, fmt.Sprintf("%q", value)) {
				t.Fatalf("%q must name the object, the key and the value", text)
			}
		})
	}
}

func equalPtr(a, b *int32) bool {
	if a == nil || b == nil {
		return a == b
	}
	return *a == *b
}

// The operator's cache keeps of a workload's annotations only those with
// slim.OperatorKeyPrefix: a key without it would never be seen.
func TestKeysSurviveTheCache(t *testing.T) {
	for _, key := range []string{ModeKey, PreStopSecondsKey, ShutdownSecondsKey, ReadinessProbeKey, RetryKey, AdoptKey} {
		if !strings.HasPrefix(key, slim.OperatorKeyPrefix) {
			t.Errorf("%s lacks the prefix %s that the cache keeps", key, slim.OperatorKeyPrefix)
		}
	}
}
