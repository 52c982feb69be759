package controllers

import (
	"context"
	"testing"

	. "github.com/onsi/gomega"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/gracefuldrain/gracefuldrain/internal/annotations"
	"github.com/gracefuldrain/gracefuldrain/internal/plan"
	"github.com/gracefuldrain/gracefuldrain/internal/report"
)

// Workers reconciling Deployments of one namespace before the cache shows the
// readiness-gate label: one claims it and labels; the others neither label
// again nor report the label missing once it is on.
func TestNamespaceLabelClaim(t *testing.T) {
	g := NewWithT(t)
	r := &DeploymentReconciler{} // no client: a second apply would panic
	ns := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "shop", UID: "ns-1", ResourceVersion: "7"}}

	first, mine := r.claimNamespaceLabel(ns)
	g.Expect(mine).To(BeTrue(), "the first worker labels")
	second, mine := r.claimNamespaceLabel(ns)
	g.Expect(mine).To(BeFalse(), "a second worker on the same cached version does not")
	g.Expect(second).To(BeIdenticalTo(first))

	other := &appsv1.Deployment{ObjectMeta: metav1.ObjectMeta{Namespace: "shop", Name: "api"}}
	reported := func() string {
		in := report.Input{Plan: plan.Plan{NeedsReadinessGate: true}}
		g.Expect(r.enforce(context.Background(), other, ns, &in)).To(Succeed())
		return in.GateLabelValue
	}
	g.Expect(reported()).To(BeEmpty(), "while the first worker's apply is under way the label is not on yet")
	first.labelled.Store(true)
	g.Expect(reported()).To(Equal(annotations.ReadinessGateInjectEnabled), "once it succeeded, the label is on though the cache lags")

	// The namespace changed since and still lacks the label (someone removed it): label again.
	changed := ns.DeepCopy()
	changed.ResourceVersion = "9"
	again, mine := r.claimNamespaceLabel(changed)
	g.Expect(mine).To(BeTrue())
	g.Expect(again).NotTo(BeIdenticalTo(first))
	g.Expect(again.labelled.Load()).To(BeFalse())
}
