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
	"fmt"
	"io"
	"math"
	"slices"
	"strings"
	"time"
)

// RolloutResult is one image change under load.
type RolloutResult struct {
	Scenario string
	Operator bool
	Index    int
	Requests int
	Errors   map[int]int   // non-2xx answers by status code (0: no answer at all)
	Causes   map[Cause]int // the load balancer's failures in this window by cause
	Rollout  time.Duration // model time
	PreStop  time.Duration
	DeregP99 time.Duration // p99 of the run's deletion -> load balancer stop times (model)
}

// ErrorCount is the number of non-2xx answers.
func (r RolloutResult) ErrorCount() int {
	n := 0
	for _, v := range r.Errors {
		n += v
	}
	return n
}

// Tally counts requests and non-2xx answers sent in [from, to).
func Tally(answers []Answer, from, to time.Time) (int, map[int]int) {
	errs := map[int]int{}
	n := 0
	for _, a := range answers {
		if a.At.Before(from) || !a.At.Before(to) {
			continue
		}
		n++
		if a.Code < 200 || a.Code > 299 {
			errs[a.Code]++
		}
	}
	return n, errs
}

// Percentile returns the p-th percentile (nearest rank) of ds, 0 when empty.
func Percentile(ds []time.Duration, p float64) time.Duration {
	if len(ds) == 0 {
		return 0
	}
	s := slices.Clone(ds)
	slices.Sort(s)
	rank := int(math.Ceil(p/100*float64(len(s)))) - 1
	return s[min(max(rank, 0), len(s)-1)]
}

// WriteTable prints one line per rollout: requests, non-2xx by status code and by cause.
func WriteTable(w io.Writer, results []RolloutResult) {
	fmt.Fprintf(w, "%-25s %-8s %-7s %8s %-20s %9s %9s %11s  %s\n",
		"SCENARIO", "OPERATOR", "ROLLOUT", "REQUESTS", "NON-2XX (BY CODE)", "ROLLOUT_S", "PRESTOP_S", "DEREG_P99_S", "CAUSES")
	for _, r := range results {
		fmt.Fprintf(w, "%-25s %-8s %-7d %8d %-20s %9.0f %9.0f %11.1f  %s\n",
			r.Scenario, onOff(r.Operator), r.Index, r.Requests, FormatErrors(r.Errors), r.Rollout.Seconds(), r.PreStop.Seconds(),
			r.DeregP99.Seconds(), CauseSummary(r.Causes))
	}
}

// E2ELine is the machine-readable last line of make e2e.
func E2ELine(scenarios, offErrors, onErrors, onRequests int) string {
	return fmt.Sprintf("E2E scenarios=%d off_errors=%d on_errors=%d on_requests=%d", scenarios, offErrors, onErrors, onRequests)
}

// FormatErrors prints errors as "total (502:n 503:m)".
func FormatErrors(errs map[int]int) string {
	codes := make([]int, 0, len(errs))
	total := 0
	for c, n := range errs {
		codes = append(codes, c)
		total += n
	}
	if total == 0 {
		return "0"
	}
	slices.Sort(codes)
	parts := make([]string, 0, len(codes))
	for _, c := range codes {
		name := fmt.Sprint(c)
		if c == 0 {
			name = "none"
		}
		parts = append(parts, fmt.Sprintf("%s:%d", name, errs[c]))
	}
	return fmt.Sprintf("%d (%s)", total, strings.Join(parts, " "))
}

// CurvePoint is one rollout of the drain curve: seed 000 with the operator, its preStop set by annotation.
type CurvePoint struct {
	Target   TargetType
	PreStop  int // seconds
	Requests int
	Errors   int
	Causes   map[Cause]int
	Lateness []time.Duration // per pod: deletion -> the load balancer's stop (model)
}

// Rate is the share of non-2xx answers.
func (p CurvePoint) Rate() float64 {
	if p.Requests == 0 {
		return 0
	}
	return float64(p.Errors) / float64(p.Requests)
}

// CurveLine is the machine-readable line of one point.
func (p CurvePoint) CurveLine() string {
	return fmt.Sprintf("CURVE target=%s prestop_s=%d requests=%d errors=%d", p.Target, p.PreStop, p.Requests, p.Errors)
}

// Verdict is what the curve and the fitted model say about one target type's default.
type Verdict struct {
	Target  TargetType
	Default int // the operator's default preStop, seconds
	// ZeroFrom is the lowest measured preStop from which every measured point has no error (-1: none).
	ZeroFrom int
	// ErrorsBelow: some point below the default has errors (the model can fail).
	ErrorsBelow bool
	// AtDefault is the errors measured at the default (-1: not measured).
	AtDefault int
	// LateAtDefault is the fitted model's probability that the load balancer still sends a pod new
	// requests after the default preStop; Recommended is the lowest multiple of 10 s at least CurveMargin
	// above the curve's zero where that probability is at most MaxLatePerPod.
	LateAtDefault, LateAtRecommended float64
	Recommended                      int
}

// withinLate rounds a probability to the three digits the report prints, so that a distribution
// fitted to exactly MaxLatePerPod at a point meets it there.
func withinLate(p float64) float64 { return math.Round(p*1e5) / 1e5 }

// CurveMargin is the least a recommended default sits above the preStop from which the measured
// curve shows no error: one curve point's worth, for what a run of a few dozen pods cannot see.
const CurveMargin = 10

// MaxLatePerPod is the per-pod probability of a late load balancer a recommended default allows: one
// pod termination in a thousand may see some errors (one rollout of seed 000 in a hundred).
const MaxLatePerPod = 0.001

// Judge reads the curve of one target type against its default.
func Judge(P Params, target TargetType, def int, points []CurvePoint) Verdict {
	v := Verdict{Target: target, Default: def, ZeroFrom: -1, AtDefault: -1, LateAtDefault: ModelLate(P, target, sec(def))}
	slices.SortFunc(points, func(a, b CurvePoint) int { return a.PreStop - b.PreStop })
	for _, p := range points {
		if p.PreStop < def && p.Errors > 0 {
			v.ErrorsBelow = true
		}
		if p.PreStop == def {
			v.AtDefault = p.Errors
		}
		if p.Errors > 0 {
			v.ZeroFrom = -1
		} else if v.ZeroFrom < 0 {
			v.ZeroFrom = p.PreStop
		}
	}
	from := v.ZeroFrom
	if from < 0 && len(points) > 0 {
		from = points[len(points)-1].PreStop + 10 // errors up to the last point: above it
	}
	v.Recommended = (max(from+CurveMargin, 10) + 9) / 10 * 10
	for withinLate(ModelLate(P, target, sec(v.Recommended))) > MaxLatePerPod {
		v.Recommended += 10
	}
	v.LateAtRecommended = ModelLate(P, target, sec(v.Recommended))
	return v
}

// DefaultLine is the machine-readable verdict.
func (v Verdict) DefaultLine() string {
	zero := "none"
	if v.ZeroFrom >= 0 {
		zero = fmt.Sprint(v.ZeroFrom)
	}
	return fmt.Sprintf("DEFAULT target=%s default_s=%d errors_at_default=%d curve_zero_from_s=%s default_margin_s=%s model_late_at_default=%.3f%% recommended_s=%d recommended_margin_s=%s model_late_at_recommended=%.3f%%",
		v.Target, v.Default, v.AtDefault, zero, marginOver(v, v.Default), 100*v.LateAtDefault, v.Recommended, marginOver(v, v.Recommended), 100*v.LateAtRecommended)
}

// marginOver is how far preStop sits above the point where the curve reaches zero.
func marginOver(v Verdict, preStop int) string {
	if v.ZeroFrom < 0 {
		return "none"
	}
	return fmt.Sprint(preStop - v.ZeroFrom)
}

func sec(s int) time.Duration { return time.Duration(s) * time.Second }

// ModelLate is the fitted model's probability that the load balancer still sends a pod new requests
// (connections) more than preStop after its deletion: for ip targets the controller's delay plus the
// load balancer's propagation, for instance targets kube-proxy's. Kubernetes' own EndpointSlice
// update is not in it: it is real in the e2e, and measured (EndpointLag).
func ModelLate(P Params, target TargetType, preStop time.Duration) float64 {
	if target == ALBInstance {
		return P.KubeProxyPropagation.Exceed(preStop)
	}
	prop := P.ALBDeregPropagation
	if target == NLBIP {
		prop = P.NLBDeregPropagation
	}
	// P(C + X > x) with C uniform: the mean of P(X > x - c) over c.
	c := P.ControllerDelay
	const steps = 200
	sum := 0.0
	for i := range steps {
		ci := c.Min + time.Duration((float64(i)+0.5)/steps*float64(c.Max-c.Min))
		sum += prop.Exceed(preStop - ci)
	}
	return sum / steps
}
