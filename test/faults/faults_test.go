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

package faults

import (
	"context"
	"fmt"
	"math/rand/v2"
	"net"
	"os"
	"reflect"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	coordinationv1 "k8s.io/api/coordination/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/util/retry"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"

	gdv1 "github.com/gracefuldrain/gracefuldrain/api/v1alpha1"
	"github.com/gracefuldrain/gracefuldrain/internal/testsupport"
)

// Totals over every scenario, printed as the FAULTS_TOTAL line.
var (
	totalInjected, totalRecovered, totalDuplicates atomic.Int64
	// totalWriterConflicts: the other writer's own 409s (write-conflicts),
	// apart from the faults the operator survives.
	totalWriterConflicts atomic.Int64
	// expectedSpec is the pod spec an uninterrupted run produces (baseline).
	expectedSpec *corev1.PodSpec
	// restartWindow is when the API server was down or starting up: its RBAC
	// authorizer answers 403 until its caches have synced, whatever the role.
	restartWindow [2]time.Time
	// allNamespaces holds every namespace a scenario created, for the audit checks.
	allNamespaces []string
)

const (
	convergeTimeout = 4 * time.Minute
	poll            = 200 * time.Millisecond
	// controller-runtime's defaults, which main.go keeps.
	leaseDuration = 15 * time.Second
	retryPeriod   = 2 * time.Second
	// takeoverBound: a killed leader cannot release its Lease, so the standby
	// waits for it to expire. client-go's leader election measures expiry from
	// when the standby itself observed the last renewal (it polls every retry
	// period, jittered by up to 1.2x), then acquires at its next poll: at most
	// the lease duration plus two jittered retry periods after the kill.
	takeoverBound = leaseDuration + 2*retryPeriod*22/10
)

// fleet creates n Deployments spread over nsCount namespaces (labelled
// enforce), each behind its own Service and ALB Ingress with ip targets.
func fleet(t *testing.T, prefix string, nsCount, n int) []string {
	t.Helper()
	ctx := context.Background()
	var namespaces []string
	for i := range nsCount {
		ns := fmt.Sprintf("%s-%d", prefix, i)
		must(t, k8s.Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns, Labels: map[string]string{"gracefuldrain.io/mode": "enforce"}}}))
		namespaces = append(namespaces, ns)
	}
	allNamespaces = append(allNamespaces, namespaces...)
	var wg sync.WaitGroup
	errs := make(chan error, n)
	sem := make(chan struct{}, 8)
	for i := range n {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			ns, name := namespaces[i%nsCount], fmt.Sprintf("app-%03d", i)
			for _, o := range appObjects(ns, name) {
				if err := retryCreate(ctx, o); err != nil {
					errs <- err
					return
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	return namespaces
}

func retryCreate(ctx context.Context, o client.Object) error {
	deadline := time.Now().Add(time.Minute)
	for {
		err := k8s.Create(ctx, o)
		if err == nil || apierrors.IsAlreadyExists(err) || time.Now().After(deadline) {
			return client.IgnoreAlreadyExists(err)
		}
		time.Sleep(poll) // the API server may be restarting
	}
}

func appObjects(ns, name string) []client.Object {
	app := testsupport.ALBApp(ns, name)
	app.Deployment.Spec.Template.Spec.Containers[0].Image = "example/web:1"
	return []client.Object{app.Deployment, app.Service, app.Ingress}
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

// progress counts the Deployments the operator has applied (generation 2 or
// more) and those with a duplicate rollout (generation above 2). Errors (an
// API server down) count as no progress.
func progress(namespaces []string) (applied, duplicates, total int) {
	for _, ns := range namespaces {
		var list appsv1.DeploymentList
		if err := k8s.List(context.Background(), &list, client.InNamespace(ns)); err != nil {
			return 0, 0, 0
		}
		for _, d := range list.Items {
			total++
			if d.Generation >= 2 {
				applied++
			}
			if d.Generation > 2 {
				duplicates++
			}
		}
	}
	return applied, duplicates, total
}

// waitFor polls cond until it is true or the deadline passes (fatal).
func waitFor(t *testing.T, what string, timeout time.Duration, cond func() bool) time.Duration {
	t.Helper()
	took, ok := await(t, what, timeout, cond)
	if !ok {
		t.FailNow()
	}
	return took
}

// await polls cond until it is true or the deadline passes; when it passed it
// fails the test but returns, so that the scenario still measures and
// reports how far it recovered.
func await(t *testing.T, what string, timeout time.Duration, cond func() bool) (time.Duration, bool) {
	t.Helper()
	start := time.Now()
	for !cond() {
		if time.Since(start) > timeout {
			t.Errorf("timed out after %s waiting for %s", timeout, what)
			return time.Since(start), false
		}
		time.Sleep(poll)
	}
	return time.Since(start), true
}

// unconverged lists the Deployments ("ns/name") not yet converged (applied,
// and reported PlanApplied by their GracefulDrain): what a fault injected
// now interrupts. Errors (an API server down) list nothing.
func unconverged(namespaces []string) []string {
	ctx := context.Background()
	var out []string
	for _, ns := range namespaces {
		var list appsv1.DeploymentList
		var gds gdv1.GracefulDrainList
		if k8s.List(ctx, &list, client.InNamespace(ns)) != nil || k8s.List(ctx, &gds, client.InNamespace(ns)) != nil {
			return nil
		}
		reported := map[string]bool{}
		for _, gd := range gds.Items {
			if c := meta.FindStatusCondition(gd.Status.Conditions, gdv1.ConditionPlanApplied); c != nil && c.Status == metav1.ConditionTrue {
				reported[gd.Name] = true
			}
		}
		for _, d := range list.Items {
			if d.Generation < 2 || !reported[d.Name] {
				out = append(out, ns+"/"+d.Name)
			}
		}
	}
	return out
}

// endState is what checkEndState measured of a fleet.
type endState struct {
	deployments, duplicates int
	// correct holds the Deployments ("ns/name") that rolled out exactly once,
	// have the pod spec of an uninterrupted run, and whose GracefulDrain says
	// the plan is applied.
	correct map[string]bool
}

// recovered says whether every Deployment in interrupted ended correct: a
// fault counts as recovered only for what was measured after it, Deployment
// by Deployment. A fault that interrupted nothing recovers when it did no
// harm: no duplicate rollout anywhere.
func (e endState) recovered(interrupted []string) bool {
	for _, key := range interrupted {
		if !e.correct[key] {
			return false
		}
	}
	return e.duplicates == 0
}

// checkEndState: every Deployment's generation rose exactly once, its pod
// spec is the one an uninterrupted run produces, and its GracefulDrain says
// the plan is applied. Each failure is a test error; the result says which
// Deployments are correct.
func checkEndState(t *testing.T, namespaces []string, n int) endState {
	t.Helper()
	ctx := context.Background()
	e := endState{correct: map[string]bool{}}
	for _, ns := range namespaces {
		var gds gdv1.GracefulDrainList
		must(t, k8s.List(ctx, &gds, client.InNamespace(ns)))
		reported := map[string]bool{}
		for _, gd := range gds.Items {
			if c := meta.FindStatusCondition(gd.Status.Conditions, gdv1.ConditionPlanApplied); c == nil || c.Status != metav1.ConditionTrue {
				t.Errorf("%s/%s: PlanApplied %+v", ns, gd.Name, c)
			} else {
				reported[gd.Name] = true
			}
		}
		var list appsv1.DeploymentList
		must(t, k8s.List(ctx, &list, client.InNamespace(ns)))
		for _, d := range list.Items {
			e.deployments++
			ok := reported[d.Name]
			if d.Generation != 2 {
				ok = false
				t.Errorf("%s/%s: generation %d, want exactly 2 (one rollout)", ns, d.Name, d.Generation)
				if d.Generation > 2 {
					e.duplicates++
				}
			}
			if expectedSpec != nil && !reflect.DeepEqual(&d.Spec.Template.Spec, expectedSpec) {
				ok = false
				t.Errorf("%s/%s: pod spec differs from an uninterrupted run:\n%+v\nwant\n%+v", ns, d.Name, d.Spec.Template.Spec, *expectedSpec)
			}
			e.correct[ns+"/"+d.Name] = ok
		}
		if len(gds.Items) != len(list.Items) {
			t.Errorf("%s: %d GracefulDrains for %d Deployments", ns, len(gds.Items), len(list.Items))
		}
	}
	if e.deployments != n {
		t.Errorf("%d Deployments, want %d", e.deployments, n)
	}
	return e
}

// correctCount is the number of Deployments that ended correct.
func (e endState) correctCount() int {
	n := 0
	for _, ok := range e.correct {
		if ok {
			n++
		}
	}
	return n
}

// waitConverged waits until every Deployment is applied and has a
// GracefulDrain with PlanApplied True; past the deadline it fails the test
// and returns, so that the end state is still measured.
func waitConverged(t *testing.T, namespaces []string, n int) time.Duration {
	t.Helper()
	took, _ := await(t, "convergence", convergeTimeout, func() bool {
		applied, _, total := progress(namespaces)
		if applied < n || total < n {
			return false
		}
		ready := 0
		for _, ns := range namespaces {
			var gds gdv1.GracefulDrainList
			if err := k8s.List(context.Background(), &gds, client.InNamespace(ns)); err != nil {
				return false
			}
			for _, gd := range gds.Items {
				if c := meta.FindStatusCondition(gd.Status.Conditions, gdv1.ConditionPlanApplied); c != nil && c.Status == metav1.ConditionTrue {
					ready++
				}
			}
		}
		return ready >= n
	})
	return took
}

func report(t *testing.T, scenario string, injected, recovered, duplicates int, extra string) {
	totalInjected.Add(int64(injected))
	totalRecovered.Add(int64(recovered))
	totalDuplicates.Add(int64(duplicates))
	line := fmt.Sprintf("FAULT scenario=%s injected=%d recovered=%d duplicate_rollouts=%d %s", scenario, injected, recovered, duplicates, extra)
	t.Log(line)
	fmt.Println(line)
}

// TestFaults runs the scenarios in order on one control plane.
func TestFaults(t *testing.T) {
	t.Run("Baseline", testBaseline)
	if expectedSpec == nil {
		t.Fatal("no baseline")
	}
	t.Run("APIServerRestart", testAPIServerRestart)
	t.Run("LeaderKilled", testLeaderKilled)
	t.Run("RandomKills", testRandomKills)
	t.Run("WriteConflicts", testWriteConflicts)
	t.Run("WebhookDownDuringDeploys", testWebhookDownDuringDeploys)
	line := fmt.Sprintf("FAULTS_TOTAL injected=%d recovered=%d duplicate_rollouts=%d writer_conflicts=%d user_writes=%d user_writes_refused=%d user_writes_lost=%d admitted_without_plan=%d",
		totalInjected.Load(), totalRecovered.Load(), totalDuplicates.Load(), totalWriterConflicts.Load(), totalUserWrites.Load(), totalUserRefused.Load(), totalUserLost.Load(), totalUnmutated.Load())
	t.Log(line)
	fmt.Println(line)
}

// testBaseline is an uninterrupted run: its result is what every faulty run must equal.
func testBaseline(t *testing.T) {
	const n = 5
	namespaces := fleet(t, "baseline", 1, n)
	op := startOperator(t)
	took := waitConverged(t, namespaces, n)
	var d appsv1.Deployment
	must(t, k8s.Get(context.Background(), types.NamespacedName{Namespace: namespaces[0], Name: "app-000"}, &d))
	expectedSpec = d.Spec.Template.Spec.DeepCopy()
	if g := expectedSpec.TerminationGracePeriodSeconds; g == nil || *g != plannedGrace {
		t.Fatalf("baseline grace %v, want %d", g, plannedGrace)
	}
	if e := checkEndState(t, namespaces, n); e.correctCount() != n {
		t.Fatalf("baseline: %d of %d Deployments correct", e.correctCount(), n)
	}
	op.stop()
	t.Logf("baseline: %d Deployments converged in %s", n, took.Round(time.Millisecond))
}

// testAPIServerRestart stops the API server (etcd keeps running) while 200
// Deployments converge, and starts it again on the same port after a 5 s outage.
func testAPIServerRestart(t *testing.T) {
	const n = 200
	namespaces := fleet(t, "restart", 10, n)
	// A lower client rate stretches convergence so that the restart lands in the middle.
	op := startOperator(t, "--kube-api-qps=20", "--kube-api-burst=20")
	waitFor(t, "the first Deployments applied", convergeTimeout, func() bool {
		applied, _, _ := progress(namespaces)
		return applied >= n/10
	})
	appliedBefore, _, _ := progress(namespaces)
	interrupted := unconverged(namespaces)
	api := env.ControlPlane.GetAPIServer()
	down := time.Now()
	// SIGTERM; envtest sends SIGKILL when the API server has not exited
	// within StopTimeout (it waits for open watches), and says so.
	how := "SIGTERM"
	if err := api.Stop(); err != nil {
		if !strings.Contains(err.Error(), "timeout waiting") {
			t.Fatal(err)
		}
		how = "SIGTERM+SIGKILL"
	}
	waitFor(t, "the API server port to close", time.Minute, func() bool {
		c, err := net.DialTimeout("tcp", api.SecureServing.ListenAddr.HostPort(), time.Second)
		if err == nil {
			_ = c.Close()
		}
		return err != nil
	})
	time.Sleep(5 * time.Second) // the outage itself: the injected fault, not a wait for a condition
	must(t, api.Start())
	outage := time.Since(down)
	restartWindow = [2]time.Time{down, time.Now().Add(30 * time.Second)}
	took := waitConverged(t, namespaces, n)
	alive := op.alive()
	if !alive {
		t.Errorf("the operator exited instead of recovering:\n%s", op.tail(30))
	}
	end := checkEndState(t, namespaces, n)
	op.stop()
	if len(interrupted) == 0 {
		t.Errorf("the restart came after convergence (%d of %d applied): not mid-run", appliedBefore, n)
	}
	recovered := 0
	if alive && len(interrupted) > 0 && end.recovered(interrupted) {
		recovered = 1
	}
	report(t, "apiserver-restart", 1, recovered, end.duplicates, fmt.Sprintf("deployments=%d correct=%d interrupted=%d stop=%s applied_before_restart=%d outage=%s converged_after_restart=%s",
		n, end.correctCount(), len(interrupted), how, appliedBefore, outage.Round(time.Millisecond), took.Round(time.Millisecond)))
}

// testLeaderKilled runs two replicas with leader election, kills the leader
// (SIGKILL: it cannot release the lease) in the middle of a run, and measures
// how long the other takes to acquire the lease.
func testLeaderKilled(t *testing.T) {
	const n = 100
	namespaces := fleet(t, "leader", 5, n)
	args := []string{"--leader-elect", "--leader-election-namespace", systemNamespace, "--kube-api-qps=20", "--kube-api-burst=20"}
	a := startOperator(t, args...)
	b := startOperator(t, args...)
	const acquired = "successfully acquired lease"
	var leader, standby *operator
	waitFor(t, "a leader", time.Minute, func() bool {
		switch {
		case a.logContains(acquired):
			leader, standby = a, b
		case b.logContains(acquired):
			leader, standby = b, a
		}
		return leader != nil
	})
	waitFor(t, "the leader to apply the first Deployments", convergeTimeout, func() bool {
		applied, _, _ := progress(namespaces)
		return applied >= n/10
	})
	appliedBefore, _, _ := progress(namespaces)
	interrupted := unconverged(namespaces)
	holderBefore := leaseHolder()
	leader.kill()
	killed := time.Now()
	takeover, tookOver := await(t, "the standby to take over", 2*leaseDuration+retryPeriod, func() bool {
		h := leaseHolder()
		return h != "" && h != holderBefore && standby.logContains(acquired)
	})
	waitConverged(t, namespaces, n)
	converged := time.Since(killed)
	end := checkEndState(t, namespaces, n)
	if takeover > takeoverBound {
		t.Errorf("takeover took %s, more than %s: the lease duration %s plus the standby's polling", takeover, takeoverBound, leaseDuration)
	}
	if len(interrupted) == 0 {
		t.Errorf("the leader was killed after convergence: not mid-run")
	}
	standby.stop()
	recovered := 0
	if tookOver && takeover <= takeoverBound && len(interrupted) > 0 && end.recovered(interrupted) {
		recovered = 1
	}
	report(t, "leader-killed", 1, recovered, end.duplicates, fmt.Sprintf("deployments=%d correct=%d interrupted=%d applied_before_kill=%d takeover=%s lease_duration=%s converged_after_kill=%s",
		n, end.correctCount(), len(interrupted), appliedBefore, takeover.Round(time.Millisecond), leaseDuration, converged.Round(time.Millisecond)))
}

func leaseHolder() string {
	var l coordinationv1.Lease
	if err := k8s.Get(context.Background(), types.NamespacedName{Namespace: systemNamespace, Name: "gracefuldrain.gracefuldrain.io"}, &l); err != nil {
		return ""
	}
	return ptr.Deref(l.Spec.HolderIdentity, "")
}

// testRandomKills kills the operator (SIGKILL) at random points of a run, six
// times, each after a random number of newly applied Deployments or a random
// time, then lets a last instance finish.
func testRandomKills(t *testing.T) {
	const n, kills = 100, 6
	seed := uint64(time.Now().UnixNano())
	if s := os.Getenv("FAULTS_SEED"); s != "" {
		_, _ = fmt.Sscan(s, &seed)
	}
	rng := rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15))
	namespaces := fleet(t, "kills", 5, n)
	var points []string
	var interrupted [][]string // per kill, what it interrupted
	for i := range kills {
		op := startOperator(t, "--kube-api-qps=20", "--kube-api-burst=20")
		before, _, _ := progress(namespaces)
		step := 1 + rng.IntN(25)
		limit := time.Duration(500+rng.IntN(4000)) * time.Millisecond
		start := time.Now()
		for time.Since(start) < limit {
			applied, _, _ := progress(namespaces)
			if applied >= before+step {
				break
			}
			time.Sleep(50 * time.Millisecond)
		}
		interrupted = append(interrupted, unconverged(namespaces))
		op.kill()
		applied, _, _ := progress(namespaces)
		points = append(points, fmt.Sprintf("%d:%d/%d@%s", i+1, applied, n, time.Since(start).Round(10*time.Millisecond)))
	}
	last := startOperator(t)
	took := waitConverged(t, namespaces, n)
	end := checkEndState(t, namespaces, n)
	last.stop()
	recovered := 0
	for _, keys := range interrupted {
		if end.recovered(keys) {
			recovered++
		}
	}
	report(t, "random-kills", kills, recovered, end.duplicates, fmt.Sprintf("deployments=%d correct=%d seed=%d kill_points=%s converged_after_last_start=%s",
		n, end.correctCount(), seed, strings.Join(points, ","), took.Round(time.Millisecond)))
}

// testWriteConflicts runs a second writer that edits the same Deployments
// (metadata, which starts no rollout) with update-on-resourceVersion while
// the operator applies them. Each writer first uses a copy it read before
// the operator's apply, so the API server answers 409 Conflict; it then
// retries on the latest object. At the end nothing either side set is lost.
//
// The faults the operator lives with are the other writer's updates landing
// on its Deployments; each counts as recovered when, measured at the end, its
// labels are there and the Deployment still carries the plan from a single
// rollout. The writer's own 409s are its problem, not the operator's, and are
// reported apart (writer_conflicts).
func testWriteConflicts(t *testing.T) {
	const n, rounds = 50, 4
	ctx := context.Background()
	namespaces := fleet(t, "conflicts", 2, n)
	// Stale copies, read before the operator runs.
	stale := map[types.NamespacedName]*appsv1.Deployment{}
	for _, ns := range namespaces {
		var list appsv1.DeploymentList
		must(t, k8s.List(ctx, &list, client.InNamespace(ns)))
		for i := range list.Items {
			d := list.Items[i]
			stale[client.ObjectKeyFromObject(&d)] = &d
		}
	}
	op := startOperator(t)
	// conflicts: the writer's 409s; updated: its updates that landed.
	var conflicts, updated atomic.Int64
	var wg sync.WaitGroup
	keys := make([]types.NamespacedName, 0, len(stale))
	for k := range stale {
		keys = append(keys, k)
	}
	sort.Slice(keys, func(i, j int) bool { return keys[i].String() < keys[j].String() })
	errs := make(chan error, len(keys))
	for w := range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for r := range rounds {
				for i := w; i < len(keys); i += 4 {
					key := keys[i]
					first := true
					err := retry.RetryOnConflict(retry.DefaultRetry, func() error {
						d := &appsv1.Deployment{}
						if first && r == 0 {
							// The stale copy: its resourceVersion predates the operator's apply.
							d = stale[key].DeepCopy()
							first = false
							waitApplied(ctx, key)
						} else if err := k8s.Get(ctx, key, d); err != nil {
							return err
						}
						// Labels only: a Deployment's generation also rises
						// on annotation changes (apps strategy), labels do not.
						if d.Labels == nil {
							d.Labels = map[string]string{}
						}
						d.Labels["writer.example.com/round"] = fmt.Sprint(r)
						d.Labels[fmt.Sprintf("writer.example.com/r%d", r)] = "set"
						d.Labels["team"] = fmt.Sprintf("t%d", r)
						err := k8s.Update(ctx, d)
						if apierrors.IsConflict(err) {
							conflicts.Add(1)
						}
						return err
					})
					if err != nil {
						errs <- fmt.Errorf("%s round %d: %w", key, r, err)
						continue
					}
					updated.Add(1)
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	took := waitConverged(t, namespaces, n)
	end := checkEndState(t, namespaces, n)
	// Nothing the other writer set is lost, nor anything the operator set.
	recovered := 0
	for _, key := range keys {
		var d appsv1.Deployment
		must(t, k8s.Get(ctx, key, &d))
		kept := 0
		for r := range rounds {
			if d.Labels[fmt.Sprintf("writer.example.com/r%d", r)] != "set" {
				t.Errorf("%s: the writer's round %d label is lost: %v", key, r, d.Labels)
			} else {
				kept++
			}
		}
		if d.Labels["writer.example.com/round"] != fmt.Sprint(rounds-1) || d.Labels["team"] != fmt.Sprintf("t%d", rounds-1) {
			t.Errorf("%s: the writer's last values are lost: %v", key, d.Labels)
			kept = 0
		}
		if end.correct[key.String()] {
			recovered += kept
		}
	}
	op.stop()
	if conflicts.Load() < int64(n) {
		t.Errorf("only %d conflicts for %d Deployments: each stale update must have been refused", conflicts.Load(), n)
	}
	totalWriterConflicts.Add(conflicts.Load())
	report(t, "write-conflicts", int(updated.Load()), recovered, end.duplicates, fmt.Sprintf("deployments=%d correct=%d writer_conflicts=%d converged=%s",
		n, end.correctCount(), conflicts.Load(), took.Round(time.Millisecond)))
}

// waitApplied waits until the operator has applied the Deployment, so that a
// copy read before is stale (bounded: the conflict count checks the result).
func waitApplied(ctx context.Context, key types.NamespacedName) {
	deadline := time.Now().Add(convergeTimeout)
	for time.Now().Before(deadline) {
		var d appsv1.Deployment
		if err := k8s.Get(ctx, key, &d); err == nil && d.Generation >= 2 {
			return
		}
		time.Sleep(poll)
	}
}
