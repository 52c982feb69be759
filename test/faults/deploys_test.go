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
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"

	gdv1 "github.com/gracefuldrain/gracefuldrain/api/v1alpha1"
	"github.com/gracefuldrain/gracefuldrain/internal/plan"
	"github.com/gracefuldrain/gracefuldrain/internal/testsupport"
)

// Totals of the user deploys, printed on the FAULTS_TOTAL line.
var totalUserWrites, totalUserRefused, totalUserLost, totalUnmutated atomic.Int64

// The API server's own validation of a native preStop sleep: it must be
// shorter than the grace period.
const sleepValidation = "must be non-negative and less than terminationGracePeriodSeconds"

// deployApp is one user's app: a Helm-like chart that renders its Deployment
// with an explicit terminationGracePeriodSeconds (30, Kubernetes' default
// that many charts write, or 45), both below the plan's (plannedGrace).
type deployApp struct {
	ns, name string
	grace    int64
	attempts int // versions sent: the next write sends attempts+1
	admitted int // the last version admitted (0: none, the Deployment does not exist)
	refused  int // the last version refused, while newer than admitted: the pipeline retries it
	// userGenerations counts the admitted writes: each creates the
	// Deployment or changes its pod template (a new image), so each is one
	// generation; what the operator adds to that is its own applies.
	userGenerations int64
	unmutated       int // writes admitted without the plan (the webhook was not reached)
}

// deployWrite is one write of the stream, as the user saw it.
type deployWrite struct {
	app                      *deployApp
	create, retry            bool
	version                  int
	phase                    string
	readyBefore, readyAfter  int // ready webhook endpoints when the write was sent and answered
	admitted, mutated        bool
	refusedByValidation      bool
	err                      error
	sent, answered           time.Time
	at                       time.Duration // sent, since the stream started
	admittedImage, wantImage string
}

func appImage(version int) string { return fmt.Sprintf("example/web:v%d", version) }

// The plan of an ALB app with ip targets under the manager's default flags.
var (
	plannedSleep = int64(plan.DefaultALBIPPreStopSeconds)
	plannedGrace = int64(plan.DefaultALBIPPreStopSeconds + plan.DefaultShutdownSeconds)
)

// carriesDrainPlan: the plan of an ALB app with ip targets (plannedSleep,
// plannedGrace, a readiness probe) is in the pod template.
func carriesDrainPlan(d *appsv1.Deployment) bool {
	s := d.Spec.Template.Spec
	if len(s.Containers) == 0 || s.TerminationGracePeriodSeconds == nil || *s.TerminationGracePeriodSeconds != plannedGrace {
		return false
	}
	c := s.Containers[0]
	return c.Lifecycle != nil && c.Lifecycle.PreStop != nil && c.Lifecycle.PreStop.Sleep != nil &&
		c.Lifecycle.PreStop.Sleep.Seconds == plannedSleep && c.ReadinessProbe != nil
}

// send is one deploy: the first creates the Deployment (helm install), the
// next ones set a new image with the chart's grace period (helm upgrade: a
// three-way strategic merge patch that sends every field of the manifest
// that differs from the live object, here the image and the grace period).
func (a *deployApp) send(ctx context.Context, version int) (*appsv1.Deployment, error) {
	if a.admitted == 0 {
		d := testsupport.ALBApp(a.ns, a.name).Deployment
		d.Spec.Template.Spec.Containers[0].Image = appImage(version)
		d.Spec.Template.Spec.TerminationGracePeriodSeconds = ptr.To(a.grace)
		return d, k8s.Create(ctx, d, client.FieldOwner("helm"))
	}
	patch, err := json.Marshal(map[string]any{"spec": map[string]any{"template": map[string]any{"spec": map[string]any{
		"terminationGracePeriodSeconds": a.grace,
		"containers":                    []map[string]any{{"name": "app", "image": appImage(version)}},
	}}}})
	if err != nil {
		return nil, err
	}
	d := &appsv1.Deployment{ObjectMeta: metav1.ObjectMeta{Namespace: a.ns, Name: a.name}}
	return d, k8s.Patch(ctx, d, client.RawPatch(types.StrategicMergePatchType, patch), client.FieldOwner("helm"))
}

// testWebhookDownDuringDeploys: users keep deploying (a write every 200-500
// ms, creates and new images, each with a grace period below the plan) while
// the manager processes that serve the webhook are killed: first the leader
// of two (the other keeps serving), then the other (no replica: the webhook
// is down), then two new ones start. Checked:
//   - every write sent while a replica was ready is admitted and carries the
//     plan (the webhook raised the grace period in the same write);
//   - while none was ready, writes are admitted as they came, except a new
//     image whose grace period (30 or 45) is below the native preStop sleep
//     the Deployment already has: the API server's own validation refuses it
//     (sleep must be shorter than the grace period). No other refusal; the
//     pipeline retries those once the webhook is back;
//   - nothing is lost: each Deployment ends with the last image its user
//     sent, and the plan;
//   - no double rollout: each Deployment's generation is its user's admitted
//     writes plus at most one operator apply, and that only when one of its
//     writes was admitted without the plan (the catch-up; 0 otherwise).
func testWebhookDownDuringDeploys(t *testing.T) {
	const (
		apps            = 16
		phaseLength     = 5 * time.Second
		outage          = 6 * time.Second
		maxWriteSpacing = 500 * time.Millisecond
		// connectionNoticed bounds how long the API server may take to see
		// a killed process's connection close.
		connectionNoticed = 200 * time.Millisecond
	)
	ctx := context.Background()
	seed := uint64(time.Now().UnixNano())
	if s := os.Getenv("FAULTS_SEED"); s != "" {
		_, _ = fmt.Sscan(s, &seed)
	}
	rng := rand.New(rand.NewPCG(seed, seed^0x2545f4914f6cdd1d))
	namespaces := []string{"deploys-0", "deploys-1"}
	for _, ns := range namespaces {
		must(t, k8s.Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns, Labels: map[string]string{"gracefuldrain.io/mode": "enforce"}}}))
	}
	allNamespaces = append(allNamespaces, namespaces...)
	var all []*deployApp
	for i := range apps {
		a := &deployApp{ns: namespaces[i%2], name: fmt.Sprintf("web-%02d", i), grace: 30}
		if (i/2)%2 == 1 {
			a.grace = 45
		}
		all = append(all, a)
		// The chart's Service and Ingress exist before its Deployment
		// (Helm installs Services first).
		app := testsupport.ALBApp(a.ns, a.name)
		must(t, k8s.Create(ctx, app.Service))
		must(t, k8s.Create(ctx, app.Ingress))
	}

	args := []string{"--leader-elect", "--leader-election-namespace", systemNamespace}
	replicas := []*operator{startOperator(t, args...), startOperator(t, args...)}
	waitFor(t, "both replicas ready (cache synced, webhook serving)", time.Minute, func() bool { return webhook.ready() == 2 })
	const acquired = "successfully acquired lease"
	var leader, standby *operator
	waitFor(t, "a leader", time.Minute, func() bool {
		for i, o := range replicas {
			if o.logContains(acquired) {
				leader, standby = o, replicas[1-i]
			}
		}
		return leader != nil
	})

	// The stream. Apps are created in order as the phases make them
	// available (the first 10 at once, 3 during the outage, 3 after it), so
	// that creates happen in every phase; otherwise a random app of the pool
	// gets a new image, or its refused one again once a replica is ready.
	var (
		mu     sync.Mutex
		phase  = "two-replicas"
		pool   = 10
		log    []*deployWrite
		kills  [][2]time.Time // when each kill started and ended
		stop   = make(chan struct{})
		done   = make(chan struct{})
		start  = time.Now()
		setPhs = func(p string, n int) {
			mu.Lock()
			defer mu.Unlock()
			phase, pool = p, n
		}
	)
	go func() {
		defer close(done)
		for {
			select {
			case <-stop:
				return
			default:
			}
			mu.Lock()
			ph, n := phase, pool
			mu.Unlock()
			w := &deployWrite{phase: ph}
			for _, a := range all[:n] {
				if a.admitted == 0 && a.refused == 0 {
					w.app, w.create = a, true
					break
				}
			}
			if w.app == nil && webhook.ready() > 0 {
				for _, a := range all[:n] {
					if a.refused > a.admitted {
						w.app, w.retry = a, true
						break
					}
				}
			}
			if w.app == nil {
				w.app = all[rng.IntN(n)]
			}
			a := w.app
			if w.retry {
				w.version = a.refused
			} else {
				a.attempts++
				w.version = a.attempts
			}
			w.wantImage = appImage(w.version)
			w.readyBefore = webhook.ready()
			w.sent = time.Now()
			w.at = w.sent.Sub(start)
			d, err := a.send(ctx, w.version)
			w.answered = time.Now()
			w.readyAfter = webhook.ready()
			switch {
			case err == nil:
				w.admitted, w.mutated = true, carriesDrainPlan(d)
				w.admittedImage = d.Spec.Template.Spec.Containers[0].Image
				a.admitted = w.version
				a.userGenerations++
				if !w.mutated {
					a.unmutated++
				}
			case apierrors.IsInvalid(err) && strings.Contains(err.Error(), sleepValidation):
				w.refusedByValidation, w.err = true, err
				a.refused = w.version
			default:
				w.err = err
				if w.version > a.refused {
					a.refused = w.version
				}
			}
			log = append(log, w)
			select {
			case <-stop:
				return
			case <-time.After(200*time.Millisecond + time.Duration(rng.IntN(int(maxWriteSpacing-200*time.Millisecond)))):
			}
		}
	}()

	// The faults, on a clock: these waits are the injected timeline.
	kill := func(o *operator) {
		mu.Lock()
		defer mu.Unlock()
		kills = append(kills, [2]time.Time{time.Now()})
		o.kill()
		kills[len(kills)-1][1] = time.Now()
	}
	time.Sleep(phaseLength)
	setPhs("one-replica", 10)
	kill(leader)
	time.Sleep(phaseLength)
	setPhs("no-replica", 13)
	kill(standby)
	down := time.Now()
	time.Sleep(outage)
	setPhs("restarting", 16)
	replicas = append(replicas, startOperator(t, args...), startOperator(t, args...))
	waitFor(t, "a new replica ready", time.Minute, func() bool { return webhook.ready() > 0 })
	downtime := time.Since(down)
	setPhs("recovered", 16)
	time.Sleep(phaseLength)
	close(stop)
	<-done
	// Refused writes not retried yet (the stream stopped first): the
	// pipeline's retry, now that a replica is ready.
	for _, a := range all {
		if a.refused > a.admitted {
			w := &deployWrite{app: a, retry: true, version: a.refused, wantImage: appImage(a.refused), phase: "recovered", readyBefore: webhook.ready(), sent: time.Now()}
			w.at = w.sent.Sub(start)
			d, err := a.send(ctx, a.refused)
			w.answered, w.readyAfter = time.Now(), webhook.ready()
			if w.err = err; err == nil {
				w.admitted, w.mutated, w.admittedImage = true, carriesDrainPlan(d), d.Spec.Template.Spec.Containers[0].Image
				a.admitted = a.refused
				a.userGenerations++
			}
			log = append(log, w)
		}
	}

	// Converged: every Deployment carries the plan and its last admitted
	// image, and its GracefulDrain has seen its latest generation.
	took, _ := await(t, "every deployed app converged", convergeTimeout, func() bool {
		for _, a := range all {
			if a.admitted == 0 {
				continue
			}
			var d appsv1.Deployment
			var gd gdv1.GracefulDrain
			key := types.NamespacedName{Namespace: a.ns, Name: a.name}
			if k8s.Get(ctx, key, &d) != nil || k8s.Get(ctx, key, &gd) != nil || !carriesDrainPlan(&d) || gd.Status.WorkloadGeneration != d.Generation {
				return false
			}
			if c := meta.FindStatusCondition(gd.Status.Conditions, gdv1.ConditionPlanApplied); c == nil || c.Status != metav1.ConditionTrue {
				return false
			}
		}
		return true
	})

	var writes, admitted, mutated, unmutated, refused, retried, lost, catchUps, duplicates, created, deployments int
	var oneReplicaWrites, oneReplicaUnmutated, outageWrites, createdUnmutated int
	// servedAfter[phase]: writes of the phase a ready replica served
	// throughout, and how many of them carried the plan: whether the webhook
	// came back after each kill is measured on them.
	served, servedWithPlan := map[string]int{}, map[string]int{}
	for _, w := range log {
		writes++
		if w.retry {
			retried++
		}
		if w.phase == "one-replica" {
			oneReplicaWrites++
			if w.admitted && !w.mutated {
				oneReplicaUnmutated++
			}
		}
		// A replica was ready from the write's start to its answer, and
		// none was killed meanwhile: a call in flight to a killed process
		// fails (as may one sent on its connection just after, before the
		// API server has seen it close), and the write is admitted as it
		// came, as in an outage.
		servedThroughout := w.readyBefore > 0 && w.readyAfter > 0
		for _, k := range kills {
			if !w.answered.Before(k[0]) && !w.sent.After(k[1].Add(connectionNoticed)) {
				servedThroughout = false
			}
		}
		if !servedThroughout {
			outageWrites++
		} else if w.admitted {
			served[w.phase]++
			if w.mutated {
				servedWithPlan[w.phase]++
			}
		}
		switch {
		case w.admitted:
			admitted++
			if w.create {
				created++
			}
			if w.mutated {
				mutated++
			} else {
				unmutated++
				if w.create {
					createdUnmutated++
				}
			}
			if w.admittedImage != w.wantImage {
				t.Errorf("%s/%s at %s: wrote %s, the API server answered %s", w.app.ns, w.app.name, w.at.Round(time.Millisecond), w.wantImage, w.admittedImage)
			}
			if servedThroughout && !w.mutated {
				t.Errorf("%s/%s at %s (%s): admitted without the plan while a webhook replica was ready", w.app.ns, w.app.name, w.at.Round(time.Millisecond), w.phase)
			}
		case w.refusedByValidation:
			refused++
			if servedThroughout || w.create || w.app.grace > plannedSleep {
				t.Errorf("%s/%s at %s (%s, grace %d, create %v, ready %d/%d): refused: %v", w.app.ns, w.app.name, w.at.Round(time.Millisecond), w.phase, w.app.grace, w.create, w.readyBefore, w.readyAfter, w.err)
			}
		default:
			refused++
			t.Errorf("%s/%s at %s (%s): refused, not by the preStop sleep validation: %v", w.app.ns, w.app.name, w.at.Round(time.Millisecond), w.phase, w.err)
		}
	}
	caughtUp := true // every app admitted without the plan carries it at the end
	for _, a := range all {
		if a.admitted == 0 {
			continue
		}
		deployments++
		var d appsv1.Deployment
		must(t, k8s.Get(ctx, types.NamespacedName{Namespace: a.ns, Name: a.name}, &d))
		if !carriesDrainPlan(&d) {
			caughtUp = false
			t.Errorf("%s/%s: does not carry the drain plan at the end (%d writes admitted without it)", a.ns, a.name, a.unmutated)
		}
		if img := d.Spec.Template.Spec.Containers[0].Image; img != appImage(a.admitted) || a.refused > a.admitted {
			lost++
			t.Errorf("%s/%s: image %s, want the last one sent, %s (last refused: v%d)", a.ns, a.name, img, appImage(a.admitted), a.refused)
		}
		operator := d.Generation - a.userGenerations
		allowed := int64(0)
		if a.unmutated > 0 {
			allowed = 1
		}
		catchUps += int(operator)
		if operator < 0 || operator > allowed {
			duplicates++
			t.Errorf("%s/%s: generation %d = %d user writes + %d operator applies; want at most %d (%d writes admitted without the plan)",
				a.ns, a.name, d.Generation, a.userGenerations, operator, allowed, a.unmutated)
		}
	}
	if unmutated == 0 || outageWrites == 0 {
		t.Errorf("no write reached the API server while the webhook was down (%d writes then, %d admitted without the plan): the outage was not tested", outageWrites, unmutated)
	}
	totalUserWrites.Add(int64(writes))
	totalUserRefused.Add(int64(refused))
	totalUserLost.Add(int64(lost))
	totalUnmutated.Add(int64(unmutated))
	// Kill 1 (the leader) is recovered when the standby alone served the
	// next phase's writes, each with the plan; kill 2 (the last replica)
	// when new replicas served the writes after the outage with the plan and
	// every write admitted without it meanwhile was caught up, without a
	// second rollout.
	recovered := 0
	if served["one-replica"] > 0 && servedWithPlan["one-replica"] == served["one-replica"] {
		recovered++
	}
	if served["recovered"] > 0 && servedWithPlan["recovered"] == served["recovered"] && caughtUp && duplicates == 0 && lost == 0 {
		recovered++
	}
	report(t, "webhook-down-deploys", 2, recovered, duplicates, fmt.Sprintf(
		"deployments=%d user_writes=%d creates=%d admitted=%d with_plan=%d without_plan=%d creates_without_plan=%d refused_by_sleep_validation=%d retried=%d lost=%d catch_up_applies=%d one_replica_writes=%d one_replica_without_plan=%d webhook_downtime=%s converged_after_stream=%s seed=%d",
		deployments, writes, created, admitted, mutated, unmutated, createdUnmutated, refused, retried, lost, catchUps, oneReplicaWrites, oneReplicaUnmutated,
		downtime.Round(time.Millisecond), took.Round(time.Millisecond), seed))
	for _, o := range replicas {
		o.stop()
	}
}
