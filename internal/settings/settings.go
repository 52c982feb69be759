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

// Package settings reads gracefuldrain's own settings: the namespace opt-in
// label and the per-workload annotations that override the plan. A value it
// does not understand is never guessed at: it is returned as an
// invalid.Setting naming the object, the key and the value.
package settings

import (
	"fmt"
	"strconv"
	"strings"

	gdv1 "github.com/gracefuldrain/gracefuldrain/api/v1alpha1"
	"github.com/gracefuldrain/gracefuldrain/internal/invalid"
	"github.com/gracefuldrain/gracefuldrain/internal/plan"
)

// User-facing keys (DESIGN.md: a contract).
const (
	// ModeKey is the namespace opt-in label and the per-Deployment override annotation.
	ModeKey = "gracefuldrain.io/mode"
	// PreStopSecondsKey overrides the preStop sleep of a Deployment.
	PreStopSecondsKey = "gracefuldrain.io/prestop-seconds"
	// ShutdownSecondsKey overrides the app's shutdown time after the sleep.
	ShutdownSecondsKey = "gracefuldrain.io/shutdown-seconds"
	// ReadinessProbeKey is derive (default) or leave.
	ReadinessProbeKey = "gracefuldrain.io/readiness-probe"
	// RetryKey: setting it to a new value makes the operator re-apply after a Conflict.
	RetryKey = "gracefuldrain.io/retry"
	// AdoptKey, a Namespace or workload annotation (the workload's wins), says
	// how a workload that exists without the plan gets it: now or next-rollout.
	AdoptKey = "gracefuldrain.io/adopt"
)

// Adopt is how a workload that exists without the plan gets it.
type Adopt string

const (
	// AdoptNow: the operator applies the plan at once (one rollout).
	AdoptNow Adopt = "now"
	// AdoptNextRollout: the operator writes nothing; the user's next change
	// of the pod template carries the plan through the admission webhook.
	AdoptNextRollout Adopt = "next-rollout"
)

// Source is an object settings are read from: how messages name it, its
// labels and its annotations.
type Source struct {
	Ref         string // for example "Namespace shop" or "Deployment shop/web"
	Labels      map[string]string
	Annotations map[string]string
}

// Bounds for the seconds overrides. An hour is far beyond any load balancer's
// deregistration propagation; a larger value is almost certainly a typo.
const (
	MinPreStopSeconds  = 1
	MaxPreStopSeconds  = 3600
	MinShutdownSeconds = 0
	MaxShutdownSeconds = 3600
)

// Effective is the parsed configuration of one workload.
type Effective struct {
	// Managed is false when the namespace has not opted in or the Deployment says mode: off.
	Managed   bool
	Mode      gdv1.Mode
	Overrides plan.Overrides
	// Adopt is how the workload gets the plan when it exists without it.
	Adopt Adopt
	// Problems are invalid values; when non-empty nothing may be changed.
	Problems []invalid.Setting
}

// Parse combines the namespace's label and annotations with the workload's
// annotations. A namespace without the label is not managed, whatever the
// workload says: opting in is the namespace owner's decision.
func Parse(namespace, workload Source) Effective {
	namespaceRef, deploymentRef, annotations := namespace.Ref, workload.Ref, workload.Annotations
	nsValue, labelled := namespace.Labels[ModeKey]
	if !labelled {
		return Effective{Managed: false, Mode: gdv1.ModeOff}
	}
	s := Effective{Managed: true}
	switch gdv1.Mode(nsValue) {
	case gdv1.ModeEnforce, gdv1.ModeAudit:
		s.Mode = gdv1.Mode(nsValue)
	default:
		s.Problems = append(s.Problems, problem(namespaceRef, ModeKey, nsValue, "Expected enforce or audit."))
		s.Mode = gdv1.ModeAudit // never write while the namespace's intent is unknown
	}

	if v, ok := annotations[ModeKey]; ok {
		switch gdv1.Mode(v) {
		case gdv1.ModeEnforce, gdv1.ModeAudit:
			if len(s.Problems) == 0 {
				s.Mode = gdv1.Mode(v)
			}
		case gdv1.ModeOff:
			return Effective{Managed: false, Mode: gdv1.ModeOff}
		default:
			s.Problems = append(s.Problems, problem(deploymentRef, ModeKey, v, "Expected enforce, audit or off."))
		}
	}
	s.Overrides.PreStopSeconds = s.secondsOverride(deploymentRef, annotations, PreStopSecondsKey, MinPreStopSeconds, MaxPreStopSeconds)
	s.Overrides.ShutdownSeconds = s.secondsOverride(deploymentRef, annotations, ShutdownSecondsKey, MinShutdownSeconds, MaxShutdownSeconds)
	if v, ok := annotations[ReadinessProbeKey]; ok {
		switch v {
		case "derive":
		case "leave":
			s.Overrides.LeaveReadinessProbes = true
		default:
			s.Problems = append(s.Problems, problem(deploymentRef, ReadinessProbeKey, v, "Expected derive or leave."))
		}
	}
	s.Adopt = AdoptNow
	for _, src := range []Source{namespace, workload} { // the workload's own choice wins
		if v, ok := src.Annotations[AdoptKey]; ok {
			switch Adopt(v) {
			case AdoptNow, AdoptNextRollout:
				s.Adopt = Adopt(v)
			default:
				s.Problems = append(s.Problems, problem(src.Ref, AdoptKey, v, "Expected now or next-rollout."))
			}
		}
	}
	return s
}

// secondsOverride reads an optional seconds annotation: nil when absent or
// invalid (then a Problem is recorded).
func (s *Effective) secondsOverride(ref string, annotations map[string]string, key string, lowest, highest int64) *int32 {
	v, ok := annotations[key]
	if !ok {
		return nil
	}
	n, p := seconds(ref, key, v, lowest, highest)
	if p != nil {
		s.Problems = append(s.Problems, *p)
		return nil
	}
	return &n
}

func seconds(ref, key, value string, lowest, highest int64) (int32, *invalid.Setting) {
	n, err := strconv.ParseInt(strings.TrimSpace(value), 10, 32)
	if err != nil || n < lowest || n > highest || strings.TrimSpace(value) != value {
		p := problem(ref, key, value, fmt.Sprintf("Expected a whole number of seconds from %d to %d.", lowest, highest))
		return 0, &p
	}
	return int32(n), nil
}

func problem(ref, key, value, expected string) invalid.Setting {
	return invalid.Setting{Object: ref, Key: key, Value: value, Message: expected}
}
