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
	"encoding/json"

	"bytes"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
)

func testGroup(now *time.Time) *TargetGroup {
	tg := NewTargetGroup("tg", HealthCheck{HealthyThreshold: 2, UnhealthyThreshold: 2})
	tg.Now = func() time.Time { return *now }
	return tg
}

func picks(tg *TargetGroup, n int) map[string]int {
	out := map[string]int{}
	for range n {
		a, ok := tg.Pick()
		if !ok {
			a = "none"
		}
		out[a]++
	}
	return out
}

func TestTargetGroupRoutesToHealthyAndFailsOpen(t *testing.T) {
	now := time.Unix(0, 0)
	tg := testGroup(&now)
	if _, ok := tg.Pick(); ok {
		t.Fatal("empty group picked a target")
	}
	tg.Register("a", nil)
	tg.Register("b", nil)
	// Both initial: none healthy, so the ALB fails open to every registered target.
	if got := picks(tg, 4); got["a"] != 2 || got["b"] != 2 {
		t.Errorf("fail open: got %v, want a and b twice each", got)
	}
	tg.RecordHealth("a", true)
	if tg.State("a") != TargetInitial {
		t.Errorf("after 1 of 2 healthy checks: %s, want initial", tg.State("a"))
	}
	tg.RecordHealth("a", true)
	if got := picks(tg, 4); got["a"] != 4 {
		t.Errorf("only a healthy: got %v, want a only", got)
	}
	tg.RecordHealth("b", false)
	tg.RecordHealth("b", false)
	if tg.State("b") != TargetUnhealthy {
		t.Errorf("after 2 failed checks: %s, want unhealthy", tg.State("b"))
	}
}

func TestTargetGroupKeepsRoutingDuringPropagation(t *testing.T) {
	now := time.Unix(0, 0)
	tg := testGroup(&now)
	for _, a := range []string{"a", "b"} {
		tg.Register(a, nil)
		tg.RecordHealth(a, true)
		tg.RecordHealth(a, true)
	}
	stop := tg.Deregister("a", 10*time.Second)
	if want := now.Add(10 * time.Second); !stop.Equal(want) {
		t.Errorf("stop routing at %v, want %v", stop, want)
	}
	if tg.State("a") != TargetDraining || tg.Settled() {
		t.Errorf("just deregistered: state %s settled %v, want draining, not settled", tg.State("a"), tg.Settled())
	}
	if got := picks(tg, 4); got["a"] != 2 {
		t.Errorf("during propagation: got %v, want a still picked half the time", got)
	}
	now = now.Add(10 * time.Second)
	if got := picks(tg, 4); got["a"] != 0 || !tg.Settled() {
		t.Errorf("after propagation: got %v settled %v, want b only and settled", got, tg.Settled())
	}
	if reg := tg.Registered(); len(reg) != 1 || reg[0] != "b" {
		t.Errorf("registered %v, want [b]", reg)
	}
}

func TestChartIsSVGWithBothRuns(t *testing.T) {
	start := time.Unix(100, 0)
	var b bytes.Buffer
	err := WriteChart(&b, [][]ChartPanel{{
		{Title: "x off", Start: start, Answers: []Answer{{At: start, Code: 200}, {At: start.Add(time.Second), Code: 502}}, Changes: []time.Time{start}},
		{Title: "x on", Start: start, Answers: []Answer{{At: start, Code: 200}}},
	}})
	if err != nil {
		t.Fatal(err)
	}
	s := b.String()
	if !strings.HasPrefix(s, "<svg") || !strings.Contains(s, "x off: 2 requests, 1 non-2xx") || !strings.Contains(s, "x on: 1 requests, 0 non-2xx") {
		t.Errorf("chart:\n%s", s)
	}
}

func TestPreStopSleepReadsNativeAndExec(t *testing.T) {
	for _, tc := range []struct {
		yaml string
		want time.Duration
	}{
		{`{"name":"c"}`, 0},
		{`{"name":"c","lifecycle":{"preStop":{"sleep":{"seconds":40}}}}`, 40 * time.Second},
		{`{"name":"c","lifecycle":{"preStop":{"exec":{"command":["sleep","10"]}}}}`, 10 * time.Second},
		{`{"name":"c","lifecycle":{"preStop":{"exec":{"command":["/bin/sh","-c","sleep 25"]}}}}`, 25 * time.Second},
		{`{"name":"c","lifecycle":{"preStop":{"exec":{"command":["/app/drain"]}}}}`, 0},
	} {
		var c corev1Container
		if err := c.decode(tc.yaml); err != nil {
			t.Fatal(err)
		}
		if got := PreStopSleep(c.Container); got != tc.want {
			t.Errorf("%s: got %v, want %v", tc.yaml, got, tc.want)
		}
	}
}

type corev1Container struct{ corev1.Container }

func (c *corev1Container) decode(s string) error { return json.Unmarshal([]byte(s), &c.Container) }
