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
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gracefuldrain/gracefuldrain/internal/plan"
)

// curvePreStops are the drain curve's points per target type (seconds). 1 s stands for "no sleep":
// the operator's smallest prestop-seconds. The operator's default is added when missing.
var curvePreStops = map[TargetType][]int{
	ALBIP:       {1, 10, 20, 30, 40, 60, 90},
	ALBInstance: {1, 5, 10, 20, 30, 40, 60, 90},
	NLBIP:       {1, 10, 20, 30, 40, 60, 90, 120, 150, 180},
}

// operatorDefaults are the operator's default preStop per target type (internal/plan).
var operatorDefaults = map[TargetType]int{
	ALBIP:       int(plan.DefaultALBIPPreStopSeconds),
	ALBInstance: int(plan.DefaultInstancePreStopSeconds),
	NLBIP:       int(plan.DefaultNLBIPPreStopSeconds),
}

var curveTargets = []TargetType{ALBIP, ALBInstance, NLBIP}

// kindPrefix names the scenarios of the other workload kinds.
var kindPrefix = map[Kind]string{KindStatefulSet: "sts", KindRollout: "rollout-canary"}

// shortKinds: the short run (CI) includes sts-alb-ip-on and rollout-canary-alb-ip-on. Measured on
// 2 shared cores (docs/e2e.md, "Other kinds"): 159 s without them and 258 s with them at the 40 s
// ALB ip default, 163 s and 327 s at 70 s. The StatefulSet, one pod at a time, is the longest
// run; the others fit beside it.
const shortKinds = true

// only keeps the scenarios whose name matches E2E_ONLY (a regular expression), all when it is empty.
func only(pattern string, scs []Scenario) ([]Scenario, error) {
	if pattern == "" {
		return scs, nil
	}
	re, err := regexp.Compile(pattern)
	if err != nil {
		return nil, fmt.Errorf("E2E_ONLY=%q: %w", pattern, err)
	}
	var out []Scenario
	for _, sc := range scs {
		if re.MatchString(sc.Name) {
			out = append(out, sc)
		}
	}
	return out, nil
}

// argoRollouts returns the rollouts-controller binary and the directory of Argo Rollouts' CRDs:
// E2E_ROLLOUTS_CONTROLLER and E2E_ARGO_CRDS (hack/e2e.sh sets them), else hack/tools.sh (built once
// and cached).
func argoRollouts(ctx context.Context, repoRoot string) (string, string, error) {
	bin, crds := os.Getenv("E2E_ROLLOUTS_CONTROLLER"), os.Getenv("E2E_ARGO_CRDS")
	if bin != "" && crds != "" {
		return bin, crds, nil
	}
	out, err := exec.CommandContext(ctx, filepath.Join(repoRoot, "hack", "tools.sh"), "rollouts-controller", "argo-rollouts-crds").Output()
	if err != nil {
		return "", "", fmt.Errorf("hack/tools.sh rollouts-controller argo-rollouts-crds: %w", err)
	}
	lines := strings.Fields(string(out))
	if len(lines) != 2 {
		return "", "", fmt.Errorf("hack/tools.sh rollouts-controller argo-rollouts-crds printed %q", out)
	}
	return lines[0], lines[1], nil
}

// scenarios is what make e2e runs: seed 000 per target type without and with the operator (the
// "with" one applied into an enforced namespace, its load balancer first), a Helm-like upgrade,
// seed 000's pod template as a StatefulSet and as an Argo Rollouts canary (ALB ip, off and on),
// and the drain curve. E2E_SHORT=1 (CI) keeps ALB ip off and on, the Helm upgrade, the StatefulSet
// and the canary with the operator, and two curve points: one far below the default (errors
// expected) and the default (none expected).
func scenarios(short bool) (main []Scenario, curve []Scenario) {
	rollouts, targets := 3, curveTargets
	if short {
		rollouts, targets = 1, []TargetType{ALBIP}
	}
	for _, t := range targets {
		for _, op := range []bool{false, true} {
			main = append(main, Scenario{Name: fmt.Sprintf("seed000-%s-%s", t, onOff(op)), Target: t, Operator: op, Rollouts: rollouts})
		}
	}
	main = append(main, Scenario{Name: "helm-upgrade-alb-ip", Target: ALBIP, Operator: true, Rollouts: 1, Helm: true})
	// Other kinds, ALB ip targets, one image change each: a StatefulSet rolls one pod at a time, each
	// behind the previous one's preStop, so one rollout takes as long as three of the Deployment's.
	for _, k := range []Kind{KindStatefulSet, KindRollout} {
		for _, op := range []bool{false, true} {
			if short && (!op || !shortKinds) {
				continue
			}
			main = append(main, Scenario{Name: fmt.Sprintf("%s-%s-%s", kindPrefix[k], ALBIP, onOff(op)), Target: ALBIP, Operator: op, Rollouts: 1, Kind: k})
		}
	}
	for _, t := range curveTargets {
		points := curvePreStops[t]
		if !slices.Contains(points, operatorDefaults[t]) {
			points = append(slices.Clone(points), operatorDefaults[t])
		}
		if short {
			if t != ALBIP {
				continue
			}
			points = []int{1, operatorDefaults[t]}
		}
		for _, s := range points {
			curve = append(curve, Scenario{Name: fmt.Sprintf("curve-%s-%d", t, s), Target: t, Operator: true, PreStop: s, Rollouts: 1})
		}
	}
	return main, curve
}

// TestRollouts changes seed 000's image under steady load through the simulated load balancers,
// without the operator and with it, on a real kube-apiserver and kube-controller-manager, and draws
// the drain curve. make e2e runs it (GRACEFULDRAIN_E2E=1).
func TestRollouts(t *testing.T) {
	if os.Getenv("GRACEFULDRAIN_E2E") != "1" {
		t.Skip("rollout e2e: run with make e2e (GRACEFULDRAIN_E2E=1)")
	}
	if os.Getenv("KUBEBUILDER_ASSETS") == "" {
		t.Fatal("KUBEBUILDER_ASSETS must hold etcd, kube-apiserver, kube-controller-manager and kubectl (hack/k8s-binaries.sh all)")
	}
	short := os.Getenv("E2E_SHORT") == "1"
	P := Defaults()
	if v := os.Getenv("E2E_TIME_SCALE"); v != "" {
		s, err := strconv.ParseFloat(v, 64)
		if err != nil || s < 1 {
			t.Fatalf("E2E_TIME_SCALE=%q: want a number >= 1", v)
		}
		P.TimeScale = s
	}
	parallel := 3
	if v := os.Getenv("E2E_PARALLEL"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 {
			t.Fatalf("E2E_PARALLEL=%q: want a number >= 1", v)
		}
		parallel = n
	}
	main, curve := scenarios(short)
	var err error
	if main, err = only(os.Getenv("E2E_ONLY"), main); err != nil {
		t.Fatal(err)
	}
	if curve, err = only(os.Getenv("E2E_ONLY"), curve); err != nil {
		t.Fatal(err)
	}
	if len(main)+len(curve) == 0 {
		t.Fatalf("E2E_ONLY=%q matches no scenario", os.Getenv("E2E_ONLY"))
	}
	repoRoot, err := filepath.Abs(filepath.Join("..", ".."))
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Minute)
	defer cancel()
	dir := t.TempDir()
	env, err := StartEnv(ctx, repoRoot, dir, P, t.Logf)
	if err != nil {
		t.Fatal(err)
	}
	defer env.Stop()
	defer func() {
		if t.Failed() {
			for _, name := range []string{"kube-controller-manager", "manager", "rollouts-controller"} {
				if data, err := os.ReadFile(filepath.Join(dir, name+".log")); err == nil {
					t.Logf("last of %s.log:\n%s", name, tail(string(data), 3000))
				}
			}
		}
	}()
	t.Logf("time scale %g: every model duration runs %gx faster; %s; %s; %s", P.TimeScale, P.TimeScale,
		P.ALBDeregPropagation, P.NLBDeregPropagation, P.KubeProxyPropagation)

	if slices.ContainsFunc(main, func(sc Scenario) bool { return sc.Kind == KindRollout }) {
		bin, crds, err := argoRollouts(ctx, repoRoot)
		if err != nil {
			t.Fatal(err)
		}
		if err := env.StartArgoRollouts(ctx, bin, crds); err != nil {
			t.Fatal(err)
		}
		t.Logf("Argo Rollouts: %s, CRDs from %s", bin, crds)
	}
	results := runAll(ctx, t, env, append(slices.Clone(main), curve...), parallel)
	if errs := env.SimulationErrors(); len(errs) > 0 {
		t.Errorf("the simulation itself went wrong:\n%s", strings.Join(errs, "\n"))
	}
	if t.Failed() && len(results) < len(main)+len(curve) {
		return
	}

	// Check every run, then report in a fixed order.
	for _, r := range results {
		check(t, r)
	}
	var out bytes.Buffer
	var table []RolloutResult
	var rows [][]ChartPanel
	offErrors, onErrors, onRequests := 0, 0, 0
	for _, sc := range main {
		r := results[sc.Name]
		table = append(table, r.Rollouts...)
		for _, ro := range r.Rollouts {
			if sc.Operator {
				onErrors += ro.ErrorCount()
				onRequests += ro.Requests
			} else {
				offErrors += ro.ErrorCount()
			}
		}
		if !sc.Helm && sc.Kind == KindDeployment { // the chart is seed 000's Deployment per target type
			if !sc.Operator || len(rows) == 0 {
				rows = append(rows, nil)
			}
			rows[len(rows)-1] = append(rows[len(rows)-1], r.Panel)
		}
	}
	WriteTable(&out, table)
	fmt.Fprintln(&out)
	for _, sc := range main {
		r := results[sc.Name]
		if sc.Operator {
			fmt.Fprintf(&out, "REVISIONS scenario=%s install_generation=%d install_replicasets=%d final_generation=%d final_replicasets=%d image_changes=%d\n",
				sc.Name, r.Install.Generation, r.Install.ReplicaSets, r.Final.Generation, r.Final.ReplicaSets, sc.Rollouts)
		}
	}
	// The pods a load balancer reached after their preStop, in the runs at the operator's defaults.
	for _, sc := range main {
		late := results[sc.Name].Late
		for i, l := range late {
			if i == 4 && len(late) > 5 {
				fmt.Fprintf(&out, "LATE scenario=%s ... and %d more pods\n", sc.Name, len(late)-i)
				break
			}
			fmt.Fprintln(&out, l.LateLine(sc.Name))
		}
	}
	for _, t := range curveTargets {
		var lateness, lag []time.Duration
		for _, r := range results {
			if r.Scenario.Target == t && r.Scenario.Operator {
				lateness = append(lateness, r.Lateness...)
				lag = append(lag, r.KubeletLag...)
			}
		}
		if len(lateness) > 0 {
			fmt.Fprintf(&out, "DEREG target=%s pods=%d stop_p50_s=%.1f stop_p99_s=%.1f stop_max_s=%.1f kubelet_lag_p50_s=%.2f kubelet_lag_max_s=%.2f\n",
				t, len(lateness), Percentile(lateness, 50).Seconds(), Percentile(lateness, 99).Seconds(), Percentile(lateness, 100).Seconds(),
				Percentile(lag, 50).Seconds(), Percentile(lag, 100).Seconds())
		}
	}
	fmt.Fprintln(&out)
	var points []CurvePoint
	var verdicts []Verdict
	for _, target := range curveTargets {
		var tp []CurvePoint
		for _, sc := range curve {
			if sc.Target != target {
				continue
			}
			r := results[sc.Name]
			p := CurvePoint{Target: target, PreStop: sc.PreStop, Requests: len(r.Answers), Errors: r.Errors(), Causes: r.Causes, Lateness: r.Lateness}
			fmt.Fprintf(&out, "%-58s causes %s\n", p.CurveLine(), CauseSummary(p.Causes))
			tp = append(tp, p)
		}
		if len(tp) == 0 {
			continue
		}
		v := Judge(P, target, operatorDefaults[target], tp)
		fmt.Fprintln(&out, v.DefaultLine())
		if !v.ErrorsBelow {
			t.Errorf("%s: no curve point below the default %d s has an error: the model cannot fail, so it proves nothing", target, v.Default)
		}
		if v.AtDefault != 0 {
			t.Errorf("%s: %d errors at the default %d s: the default is below where the curve reaches zero", target, v.AtDefault, v.Default)
		}
		points, verdicts = append(points, tp...), append(verdicts, v)
	}
	fmt.Fprintln(&out)
	fmt.Fprintln(&out, E2ELine(len(main), offErrors, onErrors, onRequests))
	if path := os.Getenv("E2E_REPORT"); path == "" {
		fmt.Print(out.String()) // else hack/e2e.sh prints the report after go test's output
	} else {
		if err := os.WriteFile(path, out.Bytes(), 0o644); err != nil {
			t.Error(err)
		}
	}
	if path := os.Getenv("E2E_SVG"); path != "" {
		var svg bytes.Buffer
		if err := WriteChart(&svg, rows); err != nil {
			t.Error(err)
		} else if err := os.WriteFile(path, svg.Bytes(), 0o644); err != nil {
			t.Error(err)
		}
	}
	if path := os.Getenv("E2E_CURVE_SVG"); path != "" {
		var svg bytes.Buffer
		if err := WriteCurveChart(&svg, points, verdicts); err != nil {
			t.Error(err)
		} else if err := os.WriteFile(path, svg.Bytes(), 0o644); err != nil {
			t.Error(err)
		}
	}
}

// runAll runs the scenarios, at most parallel at a time, the longest (highest preStop, most
// rollouts) first.
func runAll(ctx context.Context, t *testing.T, env *Env, all []Scenario, parallel int) map[string]*RunResult {
	slices.SortStableFunc(all, func(a, b Scenario) int { return weight(b) - weight(a) })
	results := map[string]*RunResult{}
	var mu sync.Mutex
	sem := make(chan struct{}, parallel)
	var wg sync.WaitGroup
	for _, sc := range all {
		sem <- struct{}{} // here, not in the goroutine: the runs start in the sorted order
		wg.Go(func() {
			defer func() { <-sem }()
			start := time.Now()
			r, err := env.Run(ctx, sc)
			if err != nil {
				t.Errorf("%s: %v", sc.Name, err)
				return
			}
			t.Logf("%s: %d requests, %d non-2xx %s, in %s", sc.Name, len(r.Answers), r.Errors(), CauseSummary(r.Causes), time.Since(start).Round(time.Second))
			mu.Lock()
			results[sc.Name] = r
			mu.Unlock()
		})
	}
	wg.Wait()
	return results
}

// weight orders the runs, longest first: a StatefulSet's one rollout takes about three of a
// Deployment's (one pod at a time).
func weight(sc Scenario) int {
	w := sc.PreStop + 60*sc.Rollouts
	if sc.Kind == KindStatefulSet {
		w += 180
	}
	return w
}

// check fails the test for what a run found wrong: its own checks, failures the drain plan should
// have prevented (with the operator), no failure at all (without it: the simulation would not
// reproduce seed 000's 502s), or a load below 50 requests/s.
func check(t *testing.T, r *RunResult) {
	t.Helper()
	name := r.Scenario.Name
	for _, p := range r.Problems {
		t.Errorf("%s: %s", name, p)
	}
	if r.Rate < 50 {
		t.Errorf("%s: load was %.1f requests/s, want at least 50", name, r.Rate)
	}
	if !r.Scenario.Operator {
		if r.Errors() == 0 {
			t.Errorf("%s: no errors at all without the operator; the simulation does not reproduce seed 000's 502s, so it proves nothing", name)
		}
		return
	}
	if n := r.Preventable(); n > 0 {
		var lines []string
		for _, f := range r.Failures {
			if f.Cause.Preventable() && len(lines) < 10 {
				lines = append(lines, fmt.Sprintf("  %s to %s (%s) at %s", f.Cause, f.Target, f.Kind, f.Picked.Format("15:04:05.000")))
			}
		}
		t.Errorf("%s: %d non-2xx answers the drain plan should have prevented, %s:\n%s", name, n, CauseSummary(r.Causes), strings.Join(lines, "\n"))
	}
}

func tail(s string, n int) string {
	if len(s) > n {
		return s[len(s)-n:]
	}
	return s
}
