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
	"bytes"
	"strings"
	"testing"
	"time"
)

// The fitted distributions give the quantiles docs/e2e.md quotes from the public reports.
func TestFittedDistributionsMatchTheReports(t *testing.T) {
	P := Defaults()
	for _, tc := range []struct {
		d      Dist
		at     time.Duration
		exceed float64 // P(X > at), within 10 %
	}{
		{P.ALBDeregPropagation, 12 * time.Second, 0.5},   // median 12 s: "about 10s" (#1719), "usually 10~20 seconds"
		{P.ALBDeregPropagation, 20 * time.Second, 0.10},  // p90 20 s
		{P.ALBDeregPropagation, 40 * time.Second, 0.005}, // #2106: at 40 s "502 erros are very rarely found"
		{P.ALBDeregPropagation, 60 * time.Second, 0.001}, // "up to 60 seconds ... during the cluster upgrade"
		{P.NLBDeregPropagation, 120 * time.Second, 0.5},  // "about 2 minutes" (#2366, #3270, containers-roadmap #470)
		{P.NLBDeregPropagation, 180 * time.Second, 0.001},
		{P.KubeProxyPropagation, 1 * time.Second, 0.5},
		{P.KubeProxyPropagation, 3 * time.Second, 0.01},
		{P.KubeProxyPropagation, 10 * time.Second, 0.001},
	} {
		if got := tc.d.Exceed(tc.at); got < tc.exceed*0.9 || got > tc.exceed*1.1 {
			t.Errorf("%s: P(> %v) = %.5f, want %.5f", tc.d, tc.at, got, tc.exceed)
		}
	}
	// Below 90 s an NLB target is almost never out of the data plane yet.
	if got := P.NLBDeregPropagation.Exceed(90 * time.Second); got < 0.999 {
		t.Errorf("NLB P(> 90 s) = %.5f, want almost 1", got)
	}
	d := P.ALBDeregPropagation
	if below, above := d.Exceed(d.TailFrom-time.Millisecond), d.Exceed(d.TailFrom+time.Millisecond); below-above > 1e-4 {
		t.Errorf("the survival jumps at the splice: %.6f -> %.6f", below, above)
	}
}

func TestDrawsFollowTheQuantiles(t *testing.T) {
	d := Defaults().ALBDeregPropagation
	var draws []time.Duration
	for range 20000 {
		v := d.Draw()
		if v < 0 || v > d.Max {
			t.Fatalf("draw %v out of [0, %v]", v, d.Max)
		}
		draws = append(draws, v)
	}
	for _, p := range []float64{50, 90, 99} {
		want := d.Quantile(p / 100)
		if got := Percentile(draws, p); got < want*85/100 || got > want*115/100 {
			t.Errorf("p%.0f of the draws %v, want about %v", p, got, want)
		}
	}
	if q := d.Quantile(0.999); q < 55*time.Second || q > 65*time.Second {
		t.Errorf("p99.9 %v, want about 60 s", q)
	}
}

func TestTimeScaleCompressesModelTime(t *testing.T) {
	P := Defaults()
	P.TimeScale = 4
	if got := P.Wall(40 * time.Second); got != 10*time.Second {
		t.Errorf("40 s of model time is %v of wall time, want 10 s", got)
	}
	if got := P.Model(10 * time.Second); got != 40*time.Second {
		t.Errorf("10 s of wall time is %v of model time, want 40 s", got)
	}
}

func TestTableShowsCodesAndCauses(t *testing.T) {
	var b bytes.Buffer
	WriteTable(&b, []RolloutResult{
		{Scenario: "s", Index: 1, Requests: 100, Errors: map[int]int{502: 3, 503: 1}, Causes: map[Cause]int{CauseNoPreStop: 3, CauseNoTarget: 1}, Rollout: time.Second},
		{Scenario: "s", Operator: true, Index: 1, Requests: 200, Errors: map[int]int{}, PreStop: 40 * time.Second, DeregP99: 20 * time.Second},
	})
	if !strings.Contains(b.String(), "4 (502:3 503:1)") || !strings.Contains(b.String(), "4 (no-prestop:3 no-target:1)") {
		t.Errorf("table misses errors by code or by cause:\n%s", b.String())
	}
	if got := E2ELine(1, 4, 0, 200); got != "E2E scenarios=1 off_errors=4 on_errors=0 on_requests=200" {
		t.Errorf("E2E line %q", got)
	}
}

func TestCurveVerdict(t *testing.T) {
	P := Defaults()
	pts := []CurvePoint{
		{Target: ALBIP, PreStop: 1, Requests: 1000, Errors: 90},
		{Target: ALBIP, PreStop: 20, Requests: 1000, Errors: 3},
		{Target: ALBIP, PreStop: 30, Requests: 1000},
		{Target: ALBIP, PreStop: 40, Requests: 1000},
		{Target: ALBIP, PreStop: 60, Requests: 1000},
	}
	v := Judge(P, ALBIP, 40, pts)
	if !v.ErrorsBelow || v.AtDefault != 0 || v.ZeroFrom != 30 {
		t.Errorf("verdict %+v: want errors below the default, none at it, zero from 30 s", v)
	}
	if v.Recommended < 60 || v.LateAtRecommended > MaxLatePerPod || v.LateAtDefault < 0.004 {
		t.Errorf("verdict %+v: want a recommendation of at least 60 s (P(late) <= 0.1 %%) and about 0.5 %% late at 40 s", v)
	}
	if got := pts[0].CurveLine(); got != "CURVE target=alb-ip prestop_s=1 requests=1000 errors=90" {
		t.Errorf("curve line %q", got)
	}
	// Errors at the last point: the curve has not reached zero; recommend above it.
	v = Judge(P, NLBIP, 90, []CurvePoint{{Target: NLBIP, PreStop: 90, Requests: 10, Errors: 5}, {Target: NLBIP, PreStop: 120, Requests: 10, Errors: 2}})
	if v.ZeroFrom != -1 || v.Recommended < 130 || v.AtDefault != 5 {
		t.Errorf("verdict %+v: want no zero, a recommendation above 120 s, 5 errors at the default", v)
	}
	var b bytes.Buffer
	if err := WriteCurveChart(&b, pts, []Verdict{Judge(P, ALBIP, 40, pts)}); err != nil || !strings.HasPrefix(b.String(), "<svg") || !strings.Contains(b.String(), "alb-ip") {
		t.Errorf("curve chart (%v):\n%s", err, b.String())
	}
}

// The operator's defaults are where the fitted model puts them: at most MaxLatePerPod of pod
// terminations see the load balancer still sending after the sleep, and no more than CurveMargin
// above the smallest multiple of 10 s that gives that (Judge adds CurveMargin over the measured
// curve's zero, which can be the larger bound). A refit of the model, or a default moved by hand,
// fails here; the drain curve of make e2e checks each default against the simulated rollouts.
func TestDefaultsAreWhereTheModelPutsThem(t *testing.T) {
	P := Defaults()
	for _, target := range curveTargets {
		def := operatorDefaults[target]
		if late := withinLate(ModelLate(P, target, sec(def))); late > MaxLatePerPod {
			t.Errorf("%s: default %d s leaves %.3f%% of pods late; want at most %.1f%%", target, def, 100*late, 100*MaxLatePerPod)
		}
		if below := def - CurveMargin - 10; below > 0 && withinLate(ModelLate(P, target, sec(below))) <= MaxLatePerPod {
			t.Errorf("%s: default %d s is more than %d s above what the model needs (%.3f%% late at %d s)", target, def, CurveMargin, 100*ModelLate(P, target, sec(below)), below)
		}
	}
}

// Every failure gets the cause its pod's timeline explains; the drain plan is blamed only for what it
// should have prevented.
func TestAttribute(t *testing.T) {
	P := Defaults()
	P.TimeScale = 4
	t0 := time.Unix(1000, 0)
	at := func(wall time.Duration) time.Time { return t0.Add(wall) }
	planned := 40 * time.Second // model; 10 s of wall time at scale 4
	drained := PodTimeline{IP: "10.244.0.1", Started: at(-60 * time.Second), Listening: at(-59 * time.Second), Deleted: at(0),
		PreStop: planned, Sigterm: at(10 * time.Second), Exited: at(10100 * time.Millisecond)}
	for name, tc := range map[string]struct {
		f       Failure
		tl      PodTimeline
		planned time.Duration
		want    Cause
	}{
		"nothing to send to": {Failure{Kind: FailNoTarget}, PodTimeline{}, planned, CauseNoTarget},
		"no preStop, LB still routing": {
			Failure{Picked: at(2 * time.Second), Failed: at(2 * time.Second), Target: "x", Kind: FailRefused},
			PodTimeline{Listening: at(-time.Minute), Deleted: at(0), Sigterm: at(0), Stopped: at(3 * time.Second)}, 0, CauseNoPreStop},
		"plan says 40 s, the pod slept 0": {
			Failure{Picked: at(2 * time.Second), Failed: at(2 * time.Second), Kind: FailRefused},
			PodTimeline{Listening: at(-time.Minute), Deleted: at(0), Sigterm: at(0), Stopped: at(3 * time.Second)}, planned, CausePreStopShort},
		"LB stopped 48 s (model) after deletion: beyond the 40 s bound": {
			Failure{Picked: at(11 * time.Second), Failed: at(11 * time.Second), Kind: FailRefused},
			withStop(drained, at(12*time.Second)), planned, CauseBeyondBound},
		"SIGTERM before the planned preStop, LB within the bound": {
			Failure{Picked: at(5 * time.Second), Failed: at(5 * time.Second), Kind: FailRefused},
			PodTimeline{Listening: at(-time.Minute), Deleted: at(0), PreStop: planned, Sigterm: at(4 * time.Second), Stopped: at(8 * time.Second)}, planned, CauseSigtermEarly},
		"new pod not listening yet": {
			Failure{Picked: at(0), Failed: at(0), Kind: FailRefused},
			PodTimeline{Started: at(-time.Second), Listening: at(time.Second)}, planned, CauseNotListening},
		"on a pinned keep-alive connection when the pod closed it": {
			Failure{Picked: at(10*time.Second + time.Millisecond), Failed: at(10*time.Second + 2*time.Millisecond), Kind: FailClosed, Reused: true, ConnOpened: at(-30 * time.Second)},
			drained, planned, CauseClosedAtSigterm},
		"picked while serving, failed after SIGTERM": {
			Failure{Picked: at(9999 * time.Millisecond), Failed: at(10001 * time.Millisecond), Kind: FailClosed},
			drained, planned, CauseClosedAtSigterm},
		"timeout from a serving pod": {
			Failure{Picked: at(-5 * time.Second), Failed: at(5 * time.Second), Kind: FailTimeout},
			drained, planned, CauseSlow},
		"SIGKILL cut it": {
			Failure{Picked: at(12 * time.Second), Failed: at(30 * time.Second), Kind: FailClosed},
			func() PodTimeline { tl := drained; tl.Killed = at(29 * time.Second); return tl }(), planned, CauseKilled},
		"a serving pod refused": {
			Failure{Picked: at(-5 * time.Second), Failed: at(-5 * time.Second), Kind: FailRefused},
			drained, planned, CauseUnexplained},
	} {
		known := tc.tl.IP != "" || !tc.tl.Listening.IsZero() || !tc.tl.Deleted.IsZero()
		if got := Attribute(tc.f, tc.tl, known || tc.f.Kind == FailNoTarget, tc.planned, P); got != tc.want {
			t.Errorf("%s: %s, want %s", name, got, tc.want)
		}
	}
	for _, c := range []Cause{CauseNoPreStop, CausePreStopShort, CauseSigtermEarly, CauseNotListening, CauseNoTarget, CauseKilled, CauseUnexplained} {
		if !c.Preventable() {
			t.Errorf("%s: want preventable", c)
		}
	}
	for _, c := range []Cause{CauseBeyondBound, CauseClosedAtSigterm, CauseSlow, CauseClient} {
		if c.Preventable() {
			t.Errorf("%s: want not preventable", c)
		}
	}
}

func withStop(tl PodTimeline, stop time.Time) PodTimeline {
	tl.Stopped = stop
	return tl
}
