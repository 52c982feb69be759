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

package controllers

import (
	"context"
	"testing"
	"time"

	. "github.com/onsi/gomega"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/gracefuldrain/gracefuldrain/internal/awslb"
	"github.com/gracefuldrain/gracefuldrain/internal/plan"
	"github.com/gracefuldrain/gracefuldrain/internal/report"
)

// Workers reconciling Deployments of one namespace before the cache shows the
// readiness-gate label: one claims it and labels; the others neither label
// again nor report the label missing once it is on.
func TestNamespaceLabelClaim(t *testing.T) {
	g := NewWithT(t)
	l := &namespaceLabeler{} // no client: a second apply would panic
	ns := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "shop", UID: "ns-1", ResourceVersion: "7"}}

	first, mine := l.claim(ns)
	g.Expect(mine).To(BeTrue(), "the first worker labels")
	second, mine := l.claim(ns)
	g.Expect(mine).To(BeFalse(), "a second worker on the same cached version does not")
	g.Expect(second).To(BeIdenticalTo(first))

	other := &appsv1.Deployment{ObjectMeta: metav1.ObjectMeta{Namespace: "shop", Name: "api"}}
	// otherWorker reconciles "api" on the given cached namespace; it waits for
	// the claimant's apply, then reports the label value it saw.
	otherWorker := func(ns *corev1.Namespace) <-chan string {
		reported := make(chan string, 1)
		go func() {
			value, err := l.ensure(context.Background(), other, ns)
			if err != nil {
				value = "error: " + err.Error()
			}
			reported <- value
		}()
		return reported
	}
	reported := otherWorker(ns)
	g.Consistently(reported).WithTimeout(100*time.Millisecond).ShouldNot(Receive(), "it waits while the claimant's apply is under way")
	first.labelled.Store(true) // the claimant's apply succeeds
	close(first.done)
	g.Expect(<-reported).To(Equal(awslb.ReadinessGateInjectEnabled), "the label is on, though the cache lags")

	// The namespace changed since and still lacks the label (someone removed it): label again.
	changed := ns.DeepCopy()
	changed.ResourceVersion = "9"
	again, mine := l.claim(changed)
	g.Expect(mine).To(BeTrue())
	g.Expect(again).NotTo(BeIdenticalTo(first))

	// When the claimant's apply fails, the workers that waited for it fail
	// too and are retried: none patches its workload without the label.
	reported = otherWorker(changed)
	close(again.done) // returned without labelling
	g.Expect(<-reported).To(HavePrefix("error: "))
}

// The failing path end to end in the reconciler: a worker waiting for
// another's label apply, which fails, does not patch its Deployment.
func TestNoPatchBeforeTheLabel(t *testing.T) {
	g := NewWithT(t)
	ns := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "shop", UID: "ns-9", ResourceVersion: "3"}}
	r := &WorkloadReconciler{kind: deployments, shared: &Shared{labeler: &namespaceLabeler{}}}
	claim, mine := r.shared.labeler.claim(ns) // another worker holds the claim
	g.Expect(mine).To(BeTrue())
	close(claim.done) // and its apply failed
	d := &appsv1.Deployment{ObjectMeta: metav1.ObjectMeta{Namespace: "shop", Name: "web"}}
	w := deployments.view
	view, err := w(context.Background(), nil, d)
	g.Expect(err).NotTo(HaveOccurred())
	in := report.Input{Plan: plan.Plan{NeedsReadinessGate: true}, Pending: []plan.Change{{Field: "terminationGracePeriodSeconds"}}}
	// r.client is nil: reaching the apply would panic, so an error here proves it was never tried.
	err = r.enforce(context.Background(), d, &view, ns, &in)
	g.Expect(err).To(MatchError(ContainSubstring("could not be set on the namespace")))
	g.Expect(in.Applied).To(BeFalse())
}
