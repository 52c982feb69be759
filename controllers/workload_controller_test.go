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
	"regexp"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	. "github.com/onsi/gomega"
	admissionregistrationv1 "k8s.io/api/admissionregistration/v1"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	eventsv1 "k8s.io/api/events/v1"
	networkingv1 "k8s.io/api/networking/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/serializer"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/client-go/util/retry"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/yaml"

	gdv1 "github.com/gracefuldrain/gracefuldrain/api/v1alpha1"
	"github.com/gracefuldrain/gracefuldrain/internal/awslb"
	"github.com/gracefuldrain/gracefuldrain/internal/settings"
	"github.com/gracefuldrain/gracefuldrain/internal/testsupport"
	"github.com/gracefuldrain/gracefuldrain/internal/workload"
)

const (
	timeout  = 30 * time.Second
	interval = 100 * time.Millisecond
)

var nsCounter atomic.Int64

// notInName are the characters a test name has and a namespace name cannot.
var notInName = regexp.MustCompile(`[^a-z0-9-]+`)

// newNamespace creates a namespace of the test's own with the given labels.
func newNamespace(t *testing.T, labels map[string]string) string {
	t.Helper()
	name := fmt.Sprintf("t%d-%s", nsCounter.Add(1), notInName.ReplaceAllString(strings.ToLower(t.Name()), "-"))
	if len(name) > 63 {
		name = name[:63]
	}
	name = strings.TrimRight(name, "-")
	ns := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: name, Labels: labels}}
	NewWithT(t).Expect(k8s.Create(context.Background(), ns)).To(Succeed())
	return name
}

func enforce() map[string]string { return map[string]string{settings.ModeKey: "enforce"} }

// albApp creates a Deployment "web" (one container "app" serving port 8080),
// a Service "web" and an ALB Ingress "web" with the given target type.
func albApp(t *testing.T, ns, targetType string, mutate func(*appsv1.Deployment)) *appsv1.Deployment {
	t.Helper()
	g := NewWithT(t)
	ctx := context.Background()
	d := deployment(ns, corev1.Container{
		Name: "app", Image: "example/web:1",
		Ports: []corev1.ContainerPort{{Name: "http", ContainerPort: 8080}},
	})
	if mutate != nil {
		mutate(d)
	}
	g.Expect(k8s.Create(ctx, d)).To(Succeed())
	g.Expect(k8s.Create(ctx, &corev1.Service{
		ObjectMeta: metav1.ObjectMeta{Name: "web", Namespace: ns},
		Spec: corev1.ServiceSpec{
			Selector: map[string]string{"app": "web"},
			Ports:    []corev1.ServicePort{{Name: "http", Port: 80, TargetPort: intstr.FromString("http")}},
		},
	})).To(Succeed())
	g.Expect(k8s.Create(ctx, testsupport.ALBIngress(ns, "web", "web", targetType))).To(Succeed())
	return d
}

func getDeployment(g Gomega, ns, name string) *appsv1.Deployment {
	d := &appsv1.Deployment{}
	g.Expect(k8s.Get(context.Background(), types.NamespacedName{Namespace: ns, Name: name}, d)).To(Succeed())
	return d
}

func getGD(g Gomega, ns, name string) *gdv1.GracefulDrain {
	gd := &gdv1.GracefulDrain{}
	g.Expect(k8s.Get(context.Background(), types.NamespacedName{Namespace: ns, Name: name}, gd)).To(Succeed())
	// The operator creates a GracefulDrain and then writes its status: a test
	// that reads in between sees neither plan nor conditions yet.
	g.Expect(gd.Status.Plan).NotTo(BeNil(), "GracefulDrain %s/%s has no status yet", ns, name)
	return gd
}

func condition(gd *gdv1.GracefulDrain, t string) metav1.Condition {
	if c := meta.FindStatusCondition(gd.Status.Conditions, t); c != nil {
		return *c
	}
	return metav1.Condition{Type: t, Status: "Missing"}
}

// eventually polls f until it passes or the deadline.
func eventually(t *testing.T, f func(g Gomega)) {
	t.Helper()
	NewWithT(t).Eventually(f).WithTimeout(timeout).WithPolling(interval).Should(Succeed())
}

// eventsFor returns the Events (events.k8s.io) regarding the object with the given reason.
func eventsFor(g Gomega, ns, regarding, reason string) []eventsv1.Event {
	var list eventsv1.EventList
	g.Expect(k8s.List(context.Background(), &list, client.InNamespace(ns))).To(Succeed())
	var out []eventsv1.Event
	for _, e := range list.Items {
		if e.Regarding.Name == regarding && e.Reason == reason {
			out = append(out, e)
		}
	}
	return out
}

// finishRollout does what kube-controller-manager and the AWS Load Balancer
// Controller's webhook would: marks the Deployment rolled out and creates its
// pods, with or without the target-health readiness gate.
func finishRollout(t *testing.T, ns, name string, withGate bool) {
	t.Helper()
	ctx := context.Background()
	g := NewWithT(t)
	d := getDeployment(g, ns, name)
	replicas := *d.Spec.Replicas
	hash := fmt.Sprintf("h%d", d.Generation)
	for i := int32(0); i < replicas; i++ {
		pod := &corev1.Pod{
			ObjectMeta: metav1.ObjectMeta{
				Name: fmt.Sprintf("%s-%s-%d", name, hash, i), Namespace: ns,
				Labels:          map[string]string{"app": d.Spec.Template.Labels["app"], appsv1.DefaultDeploymentUniqueLabelKey: hash},
				OwnerReferences: []metav1.OwnerReference{{APIVersion: "apps/v1", Kind: "ReplicaSet", Name: name + "-" + hash, UID: types.UID(name + hash)}},
			},
			Spec: corev1.PodSpec{Containers: []corev1.Container{{Name: "app", Image: "example/web:1"}}},
		}
		if withGate {
			pod.Spec.ReadinessGates = []corev1.PodReadinessGate{{ConditionType: awslb.ReadinessGatePrefix + "k8s-web-0123456789"}}
		}
		g.Expect(k8s.Create(ctx, pod)).To(Succeed())
	}
	// The operator may write the Deployment meanwhile: retry on conflicts with the latest object.
	g.Expect(retry.RetryOnConflict(retry.DefaultRetry, func() error {
		d := getDeployment(g, ns, name)
		d.Status = appsv1.DeploymentStatus{ObservedGeneration: d.Generation, Replicas: replicas, UpdatedReplicas: replicas, ReadyReplicas: replicas, AvailableReplicas: replicas}
		return k8s.Status().Update(ctx, d)
	})).To(Succeed())
}

// waitForReconcile returns once the operator has finished at least one more
// reconcile of the Deployment namespace/name after trigger.
func waitForReconcile(t *testing.T, namespace, name string, trigger func()) {
	t.Helper()
	key := reconcileKey(workload.Deployment, namespace, name)
	before := reconciled.of(key)
	trigger()
	eventually(t, func(g Gomega) { g.Expect(reconciled.of(key)).To(BeNumerically(">", before), key) })
}

func TestSeed000AsWritten(t *testing.T) {
	ctx := context.Background()
	g := NewWithT(t)
	// The seed's manifests exactly as the field report wrote them; the test
	// adds only the opt-in label, as a user would with kubectl label.
	raw, err := os.ReadFile(filepath.Join("..", "config", "samples", "seed000-nginx-demo.yaml"))
	g.Expect(err).NotTo(HaveOccurred())
	decoder := serializer.NewCodecFactory(testScheme).UniversalDeserializer()
	for _, doc := range strings.Split(string(raw), "\n---") {
		if strings.TrimSpace(stripComments(doc)) == "" {
			continue
		}
		obj, _, err := decoder.Decode([]byte(doc), nil, nil)
		g.Expect(err).NotTo(HaveOccurred(), doc)
		if ns, ok := obj.(*corev1.Namespace); ok {
			ns.Labels = map[string]string{settings.ModeKey: "enforce"}
		}
		g.Expect(k8s.Create(ctx, obj.(client.Object))).To(Succeed())
	}
	const ns, name = "demo-nginx", "demo-nginx-deployment"

	eventually(t, func(g Gomega) {
		d := getDeployment(g, ns, name)
		spec := d.Spec.Template.Spec
		g.Expect(spec.TerminationGracePeriodSeconds).To(HaveValue(BeEquivalentTo(70)))
		c := spec.Containers[0]
		g.Expect(c.Lifecycle).NotTo(BeNil())
		g.Expect(c.Lifecycle.PreStop.Sleep).NotTo(BeNil())
		g.Expect(c.Lifecycle.PreStop.Sleep.Seconds).To(BeEquivalentTo(40))
		g.Expect(c.ReadinessProbe).NotTo(BeNil())
		g.Expect(c.ReadinessProbe.HTTPGet).NotTo(BeNil())
		g.Expect(c.ReadinessProbe.HTTPGet.Path).To(Equal("/"))
		g.Expect(c.ReadinessProbe.HTTPGet.Port.IntValue()).To(Equal(80))
		g.Expect(c.ReadinessProbe.FailureThreshold).To(BeEquivalentTo(2))
		g.Expect(c.ReadinessProbe.TimeoutSeconds).To(BeEquivalentTo(5))
		// nothing else of the seed was touched
		g.Expect(c.Image).To(Equal("nginx:latest"))
		g.Expect(*d.Spec.Replicas).To(BeEquivalentTo(10))
	})
	var namespace corev1.Namespace
	g.Expect(k8s.Get(ctx, types.NamespacedName{Name: ns}, &namespace)).To(Succeed())
	g.Expect(namespace.Labels).To(HaveKeyWithValue(awslb.ReadinessGateInjectLabel, "enabled"))

	// The gate label is injected only at pod creation: it must go on before the Deployment is patched.
	nsWrite := indexOf(writes.matching(), "PATCH /api/v1/namespaces/"+ns)
	deployWrite := indexOf(writes.matching(), "PATCH /apis/apps/v1/namespaces/"+ns+"/deployments/"+name)
	g.Expect(nsWrite).To(BeNumerically(">=", 0))
	g.Expect(deployWrite).To(BeNumerically(">", nsWrite))

	eventually(t, func(g Gomega) {
		gd := getGD(g, ns, name)
		g.Expect(gd.Status.Mode).To(Equal(gdv1.ModeEnforce))
		g.Expect(gd.Status.LoadBalancer).To(Equal("ALB/ip"))
		g.Expect(gd.Status.Attachments).To(HaveLen(1))
		a := gd.Status.Attachments[0]
		g.Expect(a.Source).To(Equal(gdv1.ObjectReference{Kind: "Ingress", Name: "ingress-nginx"}))
		g.Expect(a.Service).To(Equal("service-demo-nginx"))
		g.Expect(a.TargetType).To(Equal("ip"))
		g.Expect(a.Container).To(Equal("demo-nginx"))
		g.Expect(a.ContainerPort).To(BeEquivalentTo(80))
		g.Expect(a.HealthCheck.Protocol).To(Equal("HTTP"))
		g.Expect(a.HealthCheck.IntervalSeconds).To(BeEquivalentTo(15))
		g.Expect(a.DeregistrationDelaySeconds).To(BeEquivalentTo(300))
		g.Expect(gd.Status.Plan).NotTo(BeNil())
		g.Expect(gd.Status.Plan.PreStopSeconds).To(BeEquivalentTo(40))
		g.Expect(gd.Status.Plan.ShutdownSeconds).To(BeEquivalentTo(30))
		g.Expect(gd.Status.Plan.TerminationGracePeriodSeconds).To(BeEquivalentTo(70))
		g.Expect(gd.Status.Plan.SleepMethod).To(Equal("Sleep"))
		g.Expect(gd.Status.Plan.ReadinessGateLabel).To(BeTrue())
		g.Expect(condition(gd, gdv1.ConditionPlanApplied).Status).To(Equal(metav1.ConditionTrue))
		// no kube-controller-manager here: the rollout has not run
		g.Expect(condition(gd, gdv1.ConditionReady).Status).To(Equal(metav1.ConditionFalse))
		g.Expect(condition(gd, gdv1.ConditionReady).Reason).To(Equal(gdv1.ReasonRolloutInProgress))
		g.Expect(gd.OwnerReferences).To(HaveLen(1))
		g.Expect(gd.OwnerReferences[0].Name).To(Equal(name))
	})
	eventually(t, func(g Gomega) {
		evs := eventsFor(g, ns, name, EventDrainSettingsApplied)
		g.Expect(evs).NotTo(BeEmpty())
		g.Expect(evs[0].Note).To(ContainSubstring("terminationGracePeriodSeconds: 30 -> 70"))
	})

	// The rollout finishes and the new pods carry the gate: protected.
	finishRollout(t, ns, name, true)
	eventually(t, func(g Gomega) {
		gd := getGD(g, ns, name)
		ready := condition(gd, gdv1.ConditionReady)
		g.Expect(ready.Status).To(Equal(metav1.ConditionTrue), ready.Message)
		g.Expect(ready.Reason).To(Equal(gdv1.ReasonProtected))
		g.Expect(ready.ObservedGeneration).To(Equal(gd.Generation))
		g.Expect(condition(gd, gdv1.ConditionReadinessGates).Reason).To(Equal(gdv1.ReasonGatesInjected))
	})
}

func stripComments(doc string) string {
	var b strings.Builder
	for _, line := range strings.Split(doc, "\n") {
		if !strings.HasPrefix(strings.TrimSpace(line), "#") {
			b.WriteString(line + "\n")
		}
	}
	return b.String()
}

func indexOf(list []string, entry string) int {
	for i, e := range list {
		if e == entry {
			return i
		}
	}
	return -1
}

func TestPodsWithoutGateAreReported(t *testing.T) {
	ns := newNamespace(t, enforce())
	albApp(t, ns, "ip", nil)
	eventually(t, func(g Gomega) {
		g.Expect(condition(getGD(g, ns, "web"), gdv1.ConditionPlanApplied).Status).To(Equal(metav1.ConditionTrue))
	})
	finishRollout(t, ns, "web", false)
	eventually(t, func(g Gomega) {
		gd := getGD(g, ns, "web")
		ready := condition(gd, gdv1.ConditionReady)
		g.Expect(ready.Status).To(Equal(metav1.ConditionFalse))
		// The pods were created after the operator labelled the namespace, yet
		// have no gate: nothing in this cluster injects them.
		g.Expect(ready.Reason).To(Equal(gdv1.ReasonNoGateInjector))
		g.Expect(ready.Message).To(ContainSubstring("2 of 2 pods"))
		g.Expect(ready.Message).To(ContainSubstring("webhook"))
		g.Expect(eventsFor(g, ns, "web", gdv1.ReasonNoGateInjector)).NotTo(BeEmpty())
	})
}

func TestAuditModeChangesNothing(t *testing.T) {
	ctx := context.Background()
	ns := newNamespace(t, map[string]string{settings.ModeKey: "audit"})
	d := albApp(t, ns, "ip", nil)
	eventually(t, func(g Gomega) {
		gd := getGD(g, ns, "web")
		g.Expect(gd.Status.Mode).To(Equal(gdv1.ModeAudit))
		g.Expect(gd.Status.Plan).NotTo(BeNil())
		g.Expect(gd.Status.Plan.PreStopSeconds).To(BeEquivalentTo(40))
		c := condition(gd, gdv1.ConditionPlanApplied)
		g.Expect(c.Status).To(Equal(metav1.ConditionFalse))
		g.Expect(c.Reason).To(Equal(gdv1.ReasonAuditOnly))
		g.Expect(c.Message).To(ContainSubstring("terminationGracePeriodSeconds: 30 -> 70"))
		g.Expect(condition(gd, gdv1.ConditionReady).Reason).To(Equal(gdv1.ReasonAuditOnly))
	})
	g := NewWithT(t)
	after := getDeployment(g, ns, "web")
	g.Expect(after.Generation).To(Equal(d.Generation))
	g.Expect(after.Spec.Template.Spec.Containers[0].Lifecycle).To(BeNil())
	var namespace corev1.Namespace
	g.Expect(k8s.Get(ctx, types.NamespacedName{Name: ns}, &namespace)).To(Succeed())
	g.Expect(namespace.Labels).NotTo(HaveKey(awslb.ReadinessGateInjectLabel))
	g.Expect(writes.matching("/namespaces/" + ns + "/deployments")).To(BeEmpty())
	g.Expect(writes.matching("PATCH /api/v1/namespaces/" + ns)).To(BeEmpty())
}

func TestInstanceTargets(t *testing.T) {
	ctx := context.Background()
	ns := newNamespace(t, enforce())
	albApp(t, ns, "instance", nil)
	eventually(t, func(g Gomega) {
		d := getDeployment(g, ns, "web")
		g.Expect(d.Spec.Template.Spec.TerminationGracePeriodSeconds).To(HaveValue(BeEquivalentTo(40)))
		g.Expect(preStopSleep(d, 0)).To(BeEquivalentTo(10))
		gd := getGD(g, ns, "web")
		g.Expect(gd.Status.LoadBalancer).To(Equal("ALB/instance"))
		g.Expect(condition(gd, gdv1.ConditionReadinessGates).Reason).To(Equal(gdv1.ReasonGatesNotNeeded))
	})
	var namespace corev1.Namespace
	NewWithT(t).Expect(k8s.Get(ctx, types.NamespacedName{Name: ns}, &namespace)).To(Succeed())
	NewWithT(t).Expect(namespace.Labels).NotTo(HaveKey(awslb.ReadinessGateInjectLabel))
	// Instance targets need no gate, so the rollout alone makes it Ready.
	finishRollout(t, ns, "web", false)
	eventually(t, func(g Gomega) {
		g.Expect(condition(getGD(g, ns, "web"), gdv1.ConditionReady).Status).To(Equal(metav1.ConditionTrue))
	})
}

func TestNoWriteWhenNothingChanged(t *testing.T) {
	ctx := context.Background()
	ns := newNamespace(t, enforce())
	albApp(t, ns, "ip", nil)
	eventually(t, func(g Gomega) {
		g.Expect(condition(getGD(g, ns, "web"), gdv1.ConditionPlanApplied).Status).To(Equal(metav1.ConditionTrue))
	})
	deployPath := "/apis/apps/v1/namespaces/" + ns + "/deployments/web"
	nsPath := "PATCH /api/v1/namespaces/" + ns
	g := NewWithT(t)
	// Settled: one apply of the Deployment, one label on the namespace.
	g.Eventually(func() []string { return writes.matching(deployPath) }).WithTimeout(timeout).Should(HaveLen(1))
	g.Expect(writes.matching(nsPath)).To(HaveLen(1))
	// One status write: the status written with the apply already describes
	// the Deployment the apply produced, so the reconcile it triggers writes nothing.
	g.Expect(writes.matching("/namespaces/" + ns + "/gracefuldrains/web/status")).To(HaveLen(1))
	g.Expect(writes.matching("POST /apis/gracefuldrain.io/v1alpha1/namespaces/" + ns + "/gracefuldrains")).To(HaveLen(1))
	generation := getDeployment(g, ns, "web").Generation
	all := len(writes.matching("/namespaces/" + ns + "/"))

	// An unrelated update: a label on the Deployment's metadata.
	waitForReconcile(t, ns, "web", func() {
		d := getDeployment(g, ns, "web")
		d.Labels = map[string]string{"team": "shop"}
		g.Expect(k8s.Update(ctx, d)).To(Succeed())
	})
	// A second reconcile of the same state: touch the Service.
	waitForReconcile(t, ns, "web", func() {
		var svc corev1.Service
		g.Expect(k8s.Get(ctx, types.NamespacedName{Namespace: ns, Name: "web"}, &svc)).To(Succeed())
		svc.Annotations = map[string]string{"touched": "yes"}
		g.Expect(k8s.Update(ctx, &svc)).To(Succeed())
	})
	g.Consistently(func() int { return len(writes.matching("/namespaces/" + ns + "/")) }).
		WithTimeout(2 * time.Second).WithPolling(interval).Should(Equal(all))
	g.Expect(writes.matching(deployPath)).To(HaveLen(1))
	g.Expect(writes.matching(nsPath)).To(HaveLen(1))
	g.Expect(getDeployment(g, ns, "web").Generation).To(Equal(generation))
}

func TestUserGraceAndCustomHookKept(t *testing.T) {
	ns := newNamespace(t, enforce())
	hook := &corev1.LifecycleHandler{Exec: &corev1.ExecAction{Command: []string{"/bin/drain", "--wait"}}}
	albApp(t, ns, "ip", func(d *appsv1.Deployment) {
		d.Spec.Template.Spec.TerminationGracePeriodSeconds = ptr.To[int64](200)
		d.Spec.Template.Spec.Containers[0].Lifecycle = &corev1.Lifecycle{PreStop: hook}
		d.Spec.Template.Spec.Containers = append(d.Spec.Template.Spec.Containers, corev1.Container{Name: "sidecar", Image: "example/proxy:1"})
	})
	eventually(t, func(g Gomega) {
		d := getDeployment(g, ns, "web")
		g.Expect(d.Spec.Template.Spec.TerminationGracePeriodSeconds).To(HaveValue(BeEquivalentTo(200)))
		g.Expect(d.Spec.Template.Spec.Containers[0].Lifecycle.PreStop).To(Equal(hook))
		// the other container still gets the sleep
		g.Expect(d.Spec.Template.Spec.Containers[1].Lifecycle).NotTo(BeNil())
		g.Expect(preStopSleep(d, 1)).To(BeEquivalentTo(40))
		gd := getGD(g, ns, "web")
		g.Expect(gd.Status.Plan.TerminationGracePeriodSeconds).To(BeEquivalentTo(200))
		hooks := condition(gd, gdv1.ConditionHooksProtected)
		g.Expect(hooks.Status).To(Equal(metav1.ConditionFalse))
		g.Expect(hooks.Reason).To(Equal(gdv1.ReasonCustomPreStopHook))
		g.Expect(hooks.Message).To(ContainSubstring("app"))
		g.Expect(condition(gd, gdv1.ConditionReady).Reason).To(Equal(gdv1.ReasonCustomPreStopHook))
		g.Expect(eventsFor(g, ns, "web", gdv1.ReasonCustomPreStopHook)).NotTo(BeEmpty())
		g.Expect(eventsFor(g, ns, "web", gdv1.ReasonCustomPreStopHook)[0].Type).To(Equal(corev1.EventTypeWarning))
	})
}

func TestInvalidAnnotation(t *testing.T) {
	ctx := context.Background()
	ns := newNamespace(t, enforce())
	d := albApp(t, ns, "ip", func(d *appsv1.Deployment) {
		d.Annotations = map[string]string{settings.PreStopSecondsKey: "forty"}
	})
	// A second, valid Deployment in the same namespace still converges.
	other := d.DeepCopy()
	other.ObjectMeta = metav1.ObjectMeta{Name: "api", Namespace: ns}
	other.Spec.Selector.MatchLabels = map[string]string{"app": "api"}
	other.Spec.Template.Labels = map[string]string{"app": "api"}
	other.Spec.Template.Spec.Containers[0].Lifecycle = nil
	g := NewWithT(t)
	g.Expect(k8s.Create(ctx, other)).To(Succeed())
	g.Expect(k8s.Create(ctx, &corev1.Service{
		ObjectMeta: metav1.ObjectMeta{Name: "api", Namespace: ns},
		Spec:       corev1.ServiceSpec{Selector: map[string]string{"app": "api"}, Ports: []corev1.ServicePort{{Port: 80, TargetPort: intstr.FromInt32(8080)}}},
	})).To(Succeed())
	g.Expect(k8s.Create(ctx, testsupport.ALBIngress(ns, "api", "api", "ip"))).To(Succeed())

	eventually(t, func(g Gomega) {
		gd := getGD(g, ns, "web")
		c := condition(gd, gdv1.ConditionReady)
		g.Expect(c.Status).To(Equal(metav1.ConditionFalse))
		g.Expect(c.Reason).To(Equal(gdv1.ReasonInvalidConfiguration))
		g.Expect(c.Message).To(ContainSubstring(settings.PreStopSecondsKey))
		g.Expect(c.Message).To(ContainSubstring(`"forty"`))
		evs := eventsFor(g, ns, "web", gdv1.ReasonInvalidConfiguration)
		g.Expect(evs).To(HaveLen(1))
		g.Expect(evs[0].Type).To(Equal(corev1.EventTypeWarning))
		g.Expect(evs[0].Note).To(ContainSubstring("forty"))
	})
	eventually(t, func(g Gomega) {
		g.Expect(getDeployment(g, ns, "api").Spec.Template.Spec.TerminationGracePeriodSeconds).To(HaveValue(BeEquivalentTo(70)))
	})
	after := getDeployment(g, ns, "web")
	g.Expect(after.Generation).To(Equal(d.Generation))
	g.Expect(after.Spec.Template.Spec.Containers[0].Lifecycle).To(BeNil())
	g.Expect(writes.matching("/namespaces/" + ns + "/deployments/web")).To(BeEmpty())

	// Fixing the annotation lets the operator apply the plan with the override.
	after.Annotations[settings.PreStopSecondsKey] = "70"
	g.Expect(k8s.Update(ctx, after)).To(Succeed())
	eventually(t, func(g Gomega) {
		d := getDeployment(g, ns, "web")
		g.Expect(preStopSleep(d, 0)).To(BeEquivalentTo(70))
		g.Expect(d.Spec.Template.Spec.TerminationGracePeriodSeconds).To(HaveValue(BeEquivalentTo(100)))
	})
}

func TestLeavingManagementDeletesGracefulDrain(t *testing.T) {
	ctx := context.Background()
	g := NewWithT(t)
	gone := func(ns string) func(g Gomega) {
		return func(g Gomega) {
			err := k8s.Get(ctx, types.NamespacedName{Namespace: ns, Name: "web"}, &gdv1.GracefulDrain{})
			g.Expect(apierrors.IsNotFound(err)).To(BeTrue(), "GracefulDrain still there: %v", err)
		}
	}
	applied := func(ns string) func(g Gomega) {
		return func(g Gomega) {
			g.Expect(getDeployment(g, ns, "web").Spec.Template.Spec.TerminationGracePeriodSeconds).To(HaveValue(BeEquivalentTo(70)))
			getGD(g, ns, "web")
		}
	}

	t.Run("namespace label removed", func(t *testing.T) {
		ns := newNamespace(t, enforce())
		albApp(t, ns, "ip", nil)
		eventually(t, applied(ns))
		var namespace corev1.Namespace
		g.Expect(k8s.Get(ctx, types.NamespacedName{Name: ns}, &namespace)).To(Succeed())
		delete(namespace.Labels, settings.ModeKey)
		g.Expect(k8s.Update(ctx, &namespace)).To(Succeed())
		eventually(t, gone(ns))
		// The Deployment keeps its settings: removing them would start a rollout.
		g.Expect(getDeployment(g, ns, "web").Spec.Template.Spec.TerminationGracePeriodSeconds).To(HaveValue(BeEquivalentTo(70)))
	})
	t.Run("ingress deleted", func(t *testing.T) {
		ns := newNamespace(t, enforce())
		albApp(t, ns, "ip", nil)
		eventually(t, applied(ns))
		g.Expect(k8s.Delete(ctx, &networkingv1.Ingress{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "web"}})).To(Succeed())
		eventually(t, gone(ns))
		g.Expect(preStopSleep(getDeployment(g, ns, "web"), 0)).To(BeEquivalentTo(40))
	})
	t.Run("mode off annotation", func(t *testing.T) {
		ns := newNamespace(t, enforce())
		albApp(t, ns, "ip", nil)
		eventually(t, applied(ns))
		d := getDeployment(g, ns, "web")
		d.Annotations = map[string]string{settings.ModeKey: "off"}
		g.Expect(k8s.Update(ctx, d)).To(Succeed())
		eventually(t, gone(ns))
	})
}

func TestIngressClassAndLateService(t *testing.T) {
	ctx := context.Background()
	g := NewWithT(t)
	ns := newNamespace(t, enforce())
	// The Ingress names a class that does not exist yet and a Service that does not exist yet.
	className := ns + "-alb"
	d := &appsv1.Deployment{
		ObjectMeta: metav1.ObjectMeta{Name: "web", Namespace: ns},
		Spec: appsv1.DeploymentSpec{
			Selector: &metav1.LabelSelector{MatchLabels: map[string]string{"app": "web"}},
			Template: corev1.PodTemplateSpec{
				ObjectMeta: metav1.ObjectMeta{Labels: map[string]string{"app": "web", "tier": "front"}},
				Spec:       corev1.PodSpec{Containers: []corev1.Container{{Name: "app", Image: "example/web:1", Ports: []corev1.ContainerPort{{ContainerPort: 8080}}}}},
			},
		},
	}
	g.Expect(k8s.Create(ctx, d)).To(Succeed())
	ing := testsupport.ALBIngress(ns, "web", "web", "ip")
	ing.Annotations = map[string]string{"alb.ingress.kubernetes.io/target-type": "ip"}
	ing.Spec.IngressClassName = &className
	g.Expect(k8s.Create(ctx, ing)).To(Succeed())
	g.Expect(k8s.Create(ctx, &corev1.Service{
		ObjectMeta: metav1.ObjectMeta{Name: "web", Namespace: ns},
		Spec:       corev1.ServiceSpec{Selector: map[string]string{"tier": "front"}, Ports: []corev1.ServicePort{{Port: 80, TargetPort: intstr.FromInt32(8080)}}},
	})).To(Succeed())
	// No class yet: not behind an ALB, no GracefulDrain.
	g.Consistently(func() bool {
		return apierrors.IsNotFound(k8s.Get(ctx, types.NamespacedName{Namespace: ns, Name: "web"}, &gdv1.GracefulDrain{}))
	}).WithTimeout(time.Second).Should(BeTrue())
	// The AWS Load Balancer Controller's IngressClass appears: the Deployment is picked up.
	g.Expect(k8s.Create(ctx, &networkingv1.IngressClass{
		ObjectMeta: metav1.ObjectMeta{Name: className},
		Spec:       networkingv1.IngressClassSpec{Controller: "ingress.k8s.aws/alb"},
	})).To(Succeed())
	eventually(t, func(g Gomega) {
		gd := getGD(g, ns, "web")
		g.Expect(gd.Status.LoadBalancer).To(Equal("ALB/ip"))
		g.Expect(getDeployment(g, ns, "web").Spec.Template.Spec.Containers[0].ReadinessProbe).NotTo(BeNil())
	})
}

// preStopSleep is the native preStop sleep of container i, or -1 when it has none.
func preStopSleep(d *appsv1.Deployment, i int) int64 {
	c := d.Spec.Template.Spec.Containers[i]
	if c.Lifecycle == nil || c.Lifecycle.PreStop == nil || c.Lifecycle.PreStop.Sleep == nil {
		return -1
	}
	return c.Lifecycle.PreStop.Sleep.Seconds
}

// TestInstallManifests applies `kubectl kustomize config/default` to the real
// API server: the CRD, RBAC and manager Deployment must all be accepted, and
// the manager pod must pass the namespace's Pod Security "restricted" level.
func TestInstallManifests(t *testing.T) {
	// The install's webhook configuration points at a Service with no manager
	// behind it here: fail-open (Ignore), but the suite's other tests should
	// not pay a failed call on every write.
	t.Cleanup(func() {
		mwc := &admissionregistrationv1.MutatingWebhookConfiguration{ObjectMeta: metav1.ObjectMeta{Name: "gracefuldrain-mutating-webhook-configuration"}}
		NewWithT(t).Expect(client.IgnoreNotFound(k8s.Delete(context.Background(), mwc))).To(Succeed())
	})
	for _, dir := range []string{"default", "audit", "cert-manager"} {
		t.Run(dir, func(t *testing.T) {
			g := NewWithT(t)
			if dir == "cert-manager" {
				checkCertManagerOverlay(t)
				return
			}
			out, err := exec.Command(filepath.Join(os.Getenv("KUBEBUILDER_ASSETS"), "kubectl"), "kustomize", filepath.Join("..", "config", dir)).Output()
			g.Expect(err).NotTo(HaveOccurred())
			var kinds []string
			for _, doc := range strings.Split(string(out), "\n---\n") {
				obj := &unstructured.Unstructured{}
				g.Expect(yaml.Unmarshal([]byte(doc), &obj.Object)).To(Succeed())
				if len(obj.Object) == 0 {
					continue
				}
				kinds = append(kinds, obj.GetKind())
				// Server-side apply, as `kubectl apply --server-side` would: the CRD already exists.
				g.Expect(k8s.Patch(context.Background(), obj, client.Apply, client.FieldOwner("install-test"), client.ForceOwnership)).
					To(Succeed(), "%s %s", obj.GetKind(), obj.GetName())
			}
			g.Expect(kinds).To(ContainElements("Namespace", "CustomResourceDefinition", "ClusterRole", "ClusterRoleBinding", "ServiceAccount", "Deployment"))
			var ns corev1.Namespace
			g.Expect(k8s.Get(context.Background(), types.NamespacedName{Name: "gracefuldrain-system"}, &ns)).To(Succeed())
			g.Expect(ns.Labels).To(HaveKeyWithValue("pod-security.kubernetes.io/enforce", "restricted"))
			var mgr appsv1.Deployment
			g.Expect(k8s.Get(context.Background(), types.NamespacedName{Namespace: "gracefuldrain-system", Name: "gracefuldrain-controller-manager"}, &mgr)).To(Succeed())
			args := strings.Join(mgr.Spec.Template.Spec.Containers[0].Args, " ")
			g.Expect(args).To(ContainSubstring("--leader-elect"))
			if dir == "audit" {
				g.Expect(args).To(ContainSubstring("--force-audit"))
				g.Expect(args).To(ContainSubstring("--webhook-port=0"))
				g.Expect(kinds).NotTo(ContainElement("MutatingWebhookConfiguration"), "report only: no admission webhook")
			} else {
				g.Expect(kinds).To(ContainElements("MutatingWebhookConfiguration", "Secret", "PodDisruptionBudget"))
				g.Expect(*mgr.Spec.Replicas).To(BeEquivalentTo(2), "two replicas serve the webhook")
				var mwc admissionregistrationv1.MutatingWebhookConfiguration
				g.Expect(k8s.Get(context.Background(), types.NamespacedName{Name: "gracefuldrain-mutating-webhook-configuration"}, &mwc)).To(Succeed())
				var resources []string
				for _, wh := range mwc.Webhooks {
					resources = append(resources, wh.Rules[0].Resources...)
					g.Expect(*wh.FailurePolicy).To(Equal(admissionregistrationv1.Ignore), "a write is never refused because of the webhook")
					g.Expect(*wh.SideEffects).To(Equal(admissionregistrationv1.SideEffectClassNone))
					g.Expect(wh.NamespaceSelector.MatchExpressions).To(ContainElement(metav1.LabelSelectorRequirement{
						Key: settings.ModeKey, Operator: metav1.LabelSelectorOpIn, Values: []string{"enforce"}}), wh.Name)
					g.Expect(wh.MatchConditions).To(HaveLen(2), wh.Name)
					g.Expect(wh.ClientConfig.Service.Name).To(Equal("gracefuldrain-webhook-service"))
				}
				g.Expect(resources).To(ConsistOf("deployments", "statefulsets", "daemonsets", "rollouts"), "one webhook per workload kind")
			}
			// The API server does enforce the level there: a root pod is refused.
			rootPod := &corev1.Pod{
				ObjectMeta: metav1.ObjectMeta{GenerateName: "root-", Namespace: "gracefuldrain-system"},
				Spec:       corev1.PodSpec{Containers: []corev1.Container{{Name: "c", Image: "busybox"}}},
			}
			err = k8s.Create(context.Background(), rootPod, client.DryRunAll)
			g.Expect(apierrors.IsForbidden(err)).To(BeTrue(), "restricted level not enforced: %v", err)
		})
	}
}

// checkCertManagerOverlay renders config/cert-manager (cert-manager's CRDs are
// not in this API server, so it is checked, not applied): cert-manager makes
// the Secret and injects the CA, the manager serves its files.
func checkCertManagerOverlay(t *testing.T) {
	g := NewWithT(t)
	kinds := map[string]*unstructured.Unstructured{}
	for _, o := range kustomize(t, "cert-manager") {
		kinds[o.GetKind()+"/"+o.GetName()] = o
	}
	g.Expect(kinds).To(HaveKey("Certificate/gracefuldrain-serving-cert"))
	g.Expect(kinds).NotTo(HaveKey("Secret/gracefuldrain-webhook-server-cert"), "cert-manager makes the Secret")
	mwc := kinds["MutatingWebhookConfiguration/gracefuldrain-mutating-webhook-configuration"]
	g.Expect(mwc).NotTo(BeNil())
	g.Expect(mwc.GetAnnotations()).To(HaveKeyWithValue("cert-manager.io/inject-ca-from", "gracefuldrain-system/gracefuldrain-serving-cert"))
	var mgr appsv1.Deployment
	g.Expect(runtime.DefaultUnstructuredConverter.FromUnstructured(kinds["Deployment/gracefuldrain-controller-manager"].Object, &mgr)).To(Succeed())
	g.Expect(mgr.Spec.Template.Spec.Containers[0].Args).To(ContainElement("--webhook-cert-path=/tmp/k8s-webhook-server/serving-certs"))
	g.Expect(mgr.Spec.Template.Spec.Volumes[0].Secret).NotTo(BeNil())
	g.Expect(mgr.Spec.Template.Spec.Volumes[0].Secret.SecretName).To(Equal("gracefuldrain-webhook-server-cert"))
}
