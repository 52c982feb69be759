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
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	. "github.com/onsi/gomega"
	appsv1 "k8s.io/api/apps/v1"
	autoscalingv1 "k8s.io/api/autoscaling/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"
	ctrlmetrics "sigs.k8s.io/controller-runtime/pkg/metrics"

	gdv1 "github.com/gracefuldrain/gracefuldrain/api/v1alpha1"
	"github.com/gracefuldrain/gracefuldrain/internal/awslb"
	"github.com/gracefuldrain/gracefuldrain/internal/settings"
	"github.com/gracefuldrain/gracefuldrain/internal/testsupport"
)

// These tests go through the admission webhook for real: the API server
// calls the manager over TLS (envtest registered config/webhook's
// MutatingWebhookConfiguration, scope included), as it would in a cluster.

// lbFirst creates the Service and the ALB Ingress (ip targets) of app "web"
// before any Deployment, as a user whose load balancer already exists does.
func lbFirst(t *testing.T, ns string) {
	t.Helper()
	g := NewWithT(t)
	app := testsupport.ALBApp(ns, "web")
	g.Expect(k8s.Create(context.Background(), app.Service)).To(Succeed())
	g.Expect(k8s.Create(context.Background(), app.Ingress)).To(Succeed())
}

// userDeployment is the manifest a Helm chart renders for "web": it says
// terminationGracePeriodSeconds: 30 explicitly, as many charts do.
func userDeployment(ns, image string) string {
	return fmt.Sprintf(`apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
  namespace: %s
spec:
  replicas: 2
  selector:
    matchLabels: {app: web}
  template:
    metadata:
      labels: {app: web}
    spec:
      terminationGracePeriodSeconds: 30
      containers:
      - name: app
        image: %s
        ports:
        - {name: http, containerPort: 8080}
`, ns, image)
}

// kubectl runs kubectl against the suite's API server with stdin.
func kubectl(t *testing.T, stdin string, args ...string) (string, error) {
	t.Helper()
	cmd := exec.Command(filepath.Join(os.Getenv("KUBEBUILDER_ASSETS"), "kubectl"), append([]string{"--kubeconfig", kubeconfig}, args...)...)
	cmd.Stdin = strings.NewReader(stdin)
	out, err := cmd.CombinedOutput()
	return string(out), err
}

// carriesPlan checks the seed's plan in a Deployment: grace 70, native sleep
// 40 s, the derived probe.
func carriesPlan(g Gomega, d *appsv1.Deployment) {
	spec := d.Spec.Template.Spec
	g.Expect(spec.TerminationGracePeriodSeconds).To(HaveValue(BeEquivalentTo(70)))
	g.Expect(spec.Containers[0].Lifecycle).NotTo(BeNil())
	g.Expect(spec.Containers[0].Lifecycle.PreStop.Sleep).To(Equal(&corev1.SleepAction{Seconds: 40}))
	g.Expect(spec.Containers[0].ReadinessProbe).NotTo(BeNil())
}

// operatorPatches are the operator's own writes to the Deployment.
func operatorPatches(ns, name string) []string {
	return writes.matching("/namespaces/" + ns + "/deployments/" + name)
}

// admissions reads gracefuldrain_webhook_admissions_total for Deployments.
func admissions(g Gomega, operation, result string) float64 {
	families, err := ctrlmetrics.Registry.Gather()
	g.Expect(err).NotTo(HaveOccurred())
	for _, f := range families {
		if f.GetName() != "gracefuldrain_webhook_admissions_total" {
			continue
		}
		for _, m := range f.GetMetric() {
			labels := map[string]string{}
			for _, l := range m.GetLabel() {
				labels[l.GetName()] = l.GetValue()
			}
			if labels["kind"] == "Deployment" && labels["operation"] == operation && labels["result"] == result {
				return m.GetCounter().GetValue()
			}
		}
	}
	return 0
}

// A new Deployment behind an existing load balancer is protected by its
// own create: generation 1 carries the plan, its first pods get the gates
// (the namespace was labelled when the Ingress appeared), and the operator
// never writes to it.
func TestCreateCarriesThePlan(t *testing.T) {
	g := NewWithT(t)
	ns := newNamespace(t, enforce())
	lbFirst(t, ns)
	// The namespace gets the gate label as soon as the ip-target Ingress exists.
	eventually(t, func(g Gomega) {
		var namespace corev1.Namespace
		g.Expect(k8s.Get(context.Background(), types.NamespacedName{Name: ns}, &namespace)).To(Succeed())
		g.Expect(namespace.Labels).To(HaveKeyWithValue(awslb.ReadinessGateInjectLabel, awslb.ReadinessGateInjectEnabled))
	})
	mutatedBefore := admissions(g, "CREATE", admissionMutated)

	out, err := kubectl(t, userDeployment(ns, "example/web:1"), "apply", "-f", "-")
	g.Expect(err).NotTo(HaveOccurred(), out)
	g.Expect(out).To(ContainSubstring("gracefuldrain set terminationGracePeriodSeconds: 30 -> 70"), "the writer sees what changed")

	d := getDeployment(g, ns, "web")
	g.Expect(d.Generation).To(BeEquivalentTo(1))
	carriesPlan(g, d)
	g.Expect(admissions(g, "CREATE", admissionMutated)).To(Equal(mutatedBefore + 1))
	eventually(t, func(g Gomega) {
		c := condition(getGD(g, ns, "web"), gdv1.ConditionPlanApplied)
		g.Expect(c.Status).To(Equal(metav1.ConditionTrue))
		g.Expect(c.Reason).To(Equal(gdv1.ReasonAlreadyCompliant))
	})
	g.Expect(getDeployment(g, ns, "web").Generation).To(BeEquivalentTo(1), "one rollout, not two")
	g.Expect(operatorPatches(ns, "web")).To(BeEmpty(), "the operator never had to patch a Deployment it admitted")
}

// The field report behind the admission path: a chart that writes
// terminationGracePeriodSeconds: 30, deployed again with a new image, client-
// side (Helm, Argo CD) or server-side with force (Flux, Argo CD with SSA).
// Without the webhook the API server refuses the deploy (the 40 s native
// sleep must be shorter than the grace period); with it, it lands, once.
func TestRedeployOfAManifestWithItsOwnGracePeriod(t *testing.T) {
	for _, tool := range []struct {
		name string
		args []string
	}{
		{"kubectl apply (client-side, as Helm and Argo CD)", []string{"apply", "-f", "-"}},
		{"kubectl apply --server-side --force-conflicts (as Flux)", []string{"apply", "--server-side", "--force-conflicts", "--field-manager=flux", "-f", "-"}},
	} {
		t.Run(tool.name, func(t *testing.T) {
			g := NewWithT(t)
			ns := newNamespace(t, enforce())
			lbFirst(t, ns)
			out, err := kubectl(t, userDeployment(ns, "example/web:1"), tool.args...)
			g.Expect(err).NotTo(HaveOccurred(), out)
			g.Expect(getDeployment(g, ns, "web").Generation).To(BeEquivalentTo(1))

			// The next deploy: a new image, the chart's grace period of 30 again.
			out, err = kubectl(t, userDeployment(ns, "example/web:2"), tool.args...)
			g.Expect(err).NotTo(HaveOccurred(), "the deploy was refused: %s", out)
			d := getDeployment(g, ns, "web")
			g.Expect(d.Spec.Template.Spec.Containers[0].Image).To(Equal("example/web:2"))
			g.Expect(d.Generation).To(BeEquivalentTo(2), "exactly one new generation")
			carriesPlan(g, d)

			// The same manifest again changes nothing: no generation without a manifest change.
			out, err = kubectl(t, userDeployment(ns, "example/web:2"), tool.args...)
			g.Expect(err).NotTo(HaveOccurred(), out)
			g.Expect(getDeployment(g, ns, "web").Generation).To(BeEquivalentTo(2))
			g.Expect(operatorPatches(ns, "web")).To(BeEmpty())

			// Why the webhook is needed: while it is unreachable the API server
			// refuses the same deploy, with the very error of the field report.
			withWebhookDown(t)
			out, err = kubectl(t, userDeployment(ns, "example/web:3"), tool.args...)
			g.Expect(err).To(HaveOccurred())
			g.Expect(out).To(ContainSubstring("must be non-negative and less than terminationGracePeriodSeconds"))
		})
	}
}

// A GitOps tool re-applies its manifest (grace 30) 15 times, every 3
// seconds, Flux-style (server-side, forced) in one namespace and Argo CD-style
// (client-side) in another, at the same time. The webhook raises the grace
// period inside each write, so the stored object never changes: no new
// generation, no revert counted, no Conflict, no operator write.
func TestGitOpsLoopWithTheWebhook(t *testing.T) {
	tools := []struct {
		name string
		args []string
	}{
		{"flux", []string{"apply", "--server-side", "--force-conflicts", "--field-manager=flux", "-f", "-"}},
		{"argocd", []string{"apply", "-f", "-"}},
	}
	namespaces := make([]string, len(tools))
	starts := make([]int64, len(tools))
	for i, tool := range tools {
		g := NewWithT(t)
		namespaces[i] = newNamespace(t, enforce())
		lbFirst(t, namespaces[i])
		out, err := kubectl(t, userDeployment(namespaces[i], "example/web:1"), tool.args...)
		g.Expect(err).NotTo(HaveOccurred(), out)
		eventually(t, func(g Gomega) { g.Expect(getGD(g, namespaces[i], "web").Status.Conditions).NotTo(BeEmpty()) })
		starts[i] = getDeployment(g, namespaces[i], "web").Generation
	}

	// A count of syncs, not a minute of them: a loaded machine takes longer,
	// the loop is the same.
	const syncs = 15
	applies := make([]int, len(tools))
	var wg sync.WaitGroup
	for i, tool := range tools {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range syncs {
				if out, err := kubectl(t, userDeployment(namespaces[i], "example/web:1"), tool.args...); err != nil {
					t.Errorf("%s: apply refused: %s", tool.name, out)
					return
				}
				applies[i]++
				time.Sleep(3 * time.Second) // the GitOps tool's sync interval: the scenario, not a wait for a condition
			}
		}()
	}
	wg.Wait()
	for i, tool := range tools {
		g := NewWithT(t)
		ns := namespaces[i]
		d := getDeployment(g, ns, "web")
		g.Expect(d.Generation).To(Equal(starts[i]), "%s: no rollout without a manifest change", tool.name)
		carriesPlan(g, d)
		gd := getGD(g, ns, "web")
		g.Expect(condition(gd, gdv1.ConditionConflict).Status).To(Equal(metav1.ConditionFalse), tool.name)
		g.Expect(gd.Status.Reverts).To(BeNil(), "%s: no revert counted", tool.name)
		g.Expect(operatorPatches(ns, "web")).To(BeEmpty(), tool.name)
		g.Expect(applies[i]).To(Equal(syncs), "%s applied every 3 s", tool.name)
		t.Logf("%s: %d applies, generation stayed %d", tool.name, applies[i], d.Generation)
	}
}

// Writes that start no rollout are never mutated: the webhook never starts one
// of its own. With adoption next-rollout the operator waits, and the user's
// next template change carries the plan.
func TestAdoptNextRolloutAndUpdatesThatStartNoRollout(t *testing.T) {
	g := NewWithT(t)
	ctx := context.Background()
	ns := newNamespace(t, enforce())
	lbFirst(t, ns)
	// A Deployment admitted without the plan (the webhook was down).
	func() {
		withWebhookDown(t)
		d := testsupport.ALBApp(ns, "web").Deployment
		d.Annotations = map[string]string{settings.AdoptKey: string(settings.AdoptNextRollout)}
		g.Expect(k8s.Create(ctx, d)).To(Succeed())
		webhookDown.Store(false)
	}()
	eventually(t, func(g Gomega) {
		gd := getGD(g, ns, "web")
		g.Expect(condition(gd, gdv1.ConditionPlanApplied).Reason).To(Equal(gdv1.ReasonWaitingForRollout))
		g.Expect(condition(gd, gdv1.ConditionReady).Reason).To(Equal(gdv1.ReasonWaitingForRollout))
	})

	// Scale (the scale subresource and a plain update of replicas), a label,
	// an annotation: none changes the pod template, none is mutated.
	scale := &appsv1.Deployment{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "web"}}
	g.Expect(k8s.SubResource("scale").Update(ctx, scale, client.WithSubResourceBody(&autoscalingv1.Scale{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "web"}, Spec: autoscalingv1.ScaleSpec{Replicas: 3}}))).To(Succeed())
	d := getDeployment(g, ns, "web")
	d.Spec.Replicas = ptr.To[int32](4)
	d.Labels = map[string]string{"team": "shop"}
	d.Annotations["example.com/owner"] = "shop"
	g.Expect(k8s.Update(ctx, d)).To(Succeed())
	d = getDeployment(g, ns, "web")
	g.Expect(d.Generation).To(BeEquivalentTo(3), "two replica changes, no template change")
	g.Expect(d.Spec.Template.Spec.TerminationGracePeriodSeconds).To(HaveValue(BeEquivalentTo(30)), "not mutated")
	g.Expect(d.Spec.Template.Spec.Containers[0].Lifecycle).To(BeNil())
	g.Consistently(func(g Gomega) {
		g.Expect(operatorPatches(ns, "web")).To(BeEmpty())
	}).WithTimeout(2 * time.Second).WithPolling(200 * time.Millisecond).Should(Succeed())

	// The user's next template change carries the plan: one rollout.
	d.Spec.Template.Spec.Containers[0].Image = "example/web:2"
	g.Expect(k8s.Update(ctx, d)).To(Succeed())
	d = getDeployment(g, ns, "web")
	g.Expect(d.Generation).To(BeEquivalentTo(4))
	carriesPlan(g, d)
	eventually(t, func(g Gomega) {
		g.Expect(condition(getGD(g, ns, "web"), gdv1.ConditionPlanApplied).Status).To(Equal(metav1.ConditionTrue))
	})
	g.Expect(operatorPatches(ns, "web")).To(BeEmpty())
}

// Audit mode, mode off and an invalid setting: the webhook does what the
// reconciler does, which is to change nothing.
func TestAdmissionChangesNothingTheReconcilerWouldNot(t *testing.T) {
	for _, tt := range []struct {
		name        string
		annotations map[string]string
		nsLabels    map[string]string
	}{
		{name: "audit workload", annotations: map[string]string{settings.ModeKey: "audit"}},
		{name: "off", annotations: map[string]string{settings.ModeKey: "off"}},
		{name: "invalid prestop-seconds", annotations: map[string]string{settings.PreStopSecondsKey: "soon"}},
		{name: "audit namespace", nsLabels: map[string]string{settings.ModeKey: "audit"}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			g := NewWithT(t)
			labels := tt.nsLabels
			if labels == nil {
				labels = enforce()
			}
			ns := newNamespace(t, labels)
			lbFirst(t, ns)
			d := testsupport.ALBApp(ns, "web").Deployment
			d.Annotations = tt.annotations
			g.Expect(k8s.Create(context.Background(), d)).To(Succeed())
			got := getDeployment(g, ns, "web")
			g.Expect(got.Spec.Template.Spec.Containers[0].Lifecycle).To(BeNil(), "not mutated")
			g.Expect(got.Spec.Template.Spec.TerminationGracePeriodSeconds).To(HaveValue(BeEquivalentTo(30)))
		})
	}
}

// While the webhook is unreachable, writes succeed unmutated; the reconciler
// then catches up as the adoption choice says, and says why.
func TestWebhookBypassedTheReconcilerCatchesUp(t *testing.T) {
	g := NewWithT(t)
	ns := newNamespace(t, enforce())
	lbFirst(t, ns)
	func() {
		withWebhookDown(t)
		d := testsupport.ALBApp(ns, "web").Deployment
		g.Expect(k8s.Create(context.Background(), d)).To(Succeed())
		// The create's answer is what was admitted; a read could already
		// see the reconciler's catch-up apply.
		g.Expect(d.Spec.Template.Spec.Containers[0].Lifecycle).To(BeNil(), "admitted as it came")
		g.Expect(d.Generation).To(BeEquivalentTo(1))
		webhookDown.Store(false)
	}()
	eventually(t, func(g Gomega) {
		d := getDeployment(g, ns, "web")
		carriesPlan(g, d)
		g.Expect(d.Generation).To(BeEquivalentTo(2))
		c := condition(getGD(g, ns, "web"), gdv1.ConditionPlanApplied)
		g.Expect(c.Reason).To(Equal(gdv1.ReasonApplied))
		g.Expect(c.Message).To(ContainSubstring("admission webhook was unreachable"))
		events := eventsFor(g, ns, "web", EventDrainSettingsApplied)
		g.Expect(events).NotTo(BeEmpty())
		g.Expect(events[0].Note).To(ContainSubstring("admission webhook was unreachable"))
	})
	g.Expect(operatorPatches(ns, "web")).To(HaveLen(1), "one apply")
}
