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
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	. "github.com/onsi/gomega"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/intstr"
	appsv1ac "k8s.io/client-go/applyconfigurations/apps/v1"
	corev1ac "k8s.io/client-go/applyconfigurations/core/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/yaml"

	gdv1 "github.com/gracefuldrain/gracefuldrain/api/v1alpha1"
	"github.com/gracefuldrain/gracefuldrain/internal/awslb"
	"github.com/gracefuldrain/gracefuldrain/internal/settings"
	"github.com/gracefuldrain/gracefuldrain/internal/testsupport"
)

// deployment returns a Deployment "web" labelled app=web with the given containers.
func deployment(ns string, containers ...corev1.Container) *appsv1.Deployment {
	return testsupport.Deployment(ns, "web", map[string]string{"app": "web"}, containers...)
}

func TestNLBIPServiceWithNamedPorts(t *testing.T) {
	ctx := context.Background()
	g := NewWithT(t)
	ns := newNamespace(t, enforce())
	g.Expect(k8s.Create(ctx, deployment(ns, corev1.Container{Name: "app", Image: "example/tcp:1", Ports: []corev1.ContainerPort{
		{Name: "grpc", ContainerPort: 9000}, {Name: "admin", ContainerPort: 9100},
	}}))).To(Succeed())
	g.Expect(k8s.Create(ctx, &corev1.Service{
		ObjectMeta: metav1.ObjectMeta{Name: "web", Namespace: ns, Annotations: map[string]string{
			"service.beta.kubernetes.io/aws-load-balancer-type":                        "external",
			"service.beta.kubernetes.io/aws-load-balancer-nlb-target-type":             "ip",
			"service.beta.kubernetes.io/aws-load-balancer-target-group-attributes":     "deregistration_delay.timeout_seconds=120",
			"service.beta.kubernetes.io/aws-load-balancer-target-group-attributes.443": "deregistration_delay.timeout_seconds=30",
		}},
		Spec: corev1.ServiceSpec{
			Type:     corev1.ServiceTypeLoadBalancer,
			Selector: map[string]string{"app": "web"},
			Ports: []corev1.ServicePort{
				{Name: "rpc", Port: 443, TargetPort: intstr.FromString("grpc")},
				{Name: "metrics", Port: 9100, TargetPort: intstr.FromString("admin")},
			},
		},
	})).To(Succeed())
	eventually(t, func(g Gomega) {
		gd := getGD(g, ns, "web")
		g.Expect(gd.Status.LoadBalancer).To(Equal("NLB/ip"))
		g.Expect(gd.Status.Attachments).To(HaveLen(2))
		byPort := map[string]gdv1.Attachment{}
		for _, a := range gd.Status.Attachments {
			byPort[a.ServicePort] = a
		}
		g.Expect(byPort["443"].ContainerPort).To(BeEquivalentTo(9000))
		g.Expect(byPort["443"].HealthCheck.Protocol).To(Equal("TCP"))
		g.Expect(byPort["443"].DeregistrationDelaySeconds).To(BeEquivalentTo(30)) // the per-port form wins
		g.Expect(byPort["9100"].DeregistrationDelaySeconds).To(BeEquivalentTo(120))
		g.Expect(gd.Status.Plan.PreStopSeconds).To(BeEquivalentTo(90))
		d := getDeployment(g, ns, "web")
		g.Expect(d.Spec.Template.Spec.TerminationGracePeriodSeconds).To(HaveValue(BeEquivalentTo(120)))
		g.Expect(preStopSleep(d, 0)).To(BeEquivalentTo(90))
		probe := d.Spec.Template.Spec.Containers[0].ReadinessProbe
		g.Expect(probe).NotTo(BeNil())
		g.Expect(probe.TCPSocket).NotTo(BeNil(), "a TCP health check gives a tcpSocket probe")
	})
}

func TestTargetGroupBindingCRDInstalledLater(t *testing.T) {
	ctx := context.Background()
	g := NewWithT(t)
	ns := newNamespace(t, enforce())
	g.Expect(k8s.Create(ctx, deployment(ns, corev1.Container{Name: "app", Image: "example/web:1", Ports: []corev1.ContainerPort{{ContainerPort: 8080}}}))).To(Succeed())
	g.Expect(k8s.Create(ctx, &corev1.Service{
		ObjectMeta: metav1.ObjectMeta{Name: "web", Namespace: ns},
		Spec:       corev1.ServiceSpec{Selector: map[string]string{"app": "web"}, Ports: []corev1.ServicePort{{Port: 80, TargetPort: intstr.FromInt32(8080)}}},
	})).To(Succeed())

	// The operator started without the CRD: the Deployment is behind nothing it knows.
	waitForReconcile(t, ns, "web", func() {
		d := getDeployment(g, ns, "web")
		d.Annotations = map[string]string{"nudge": "1"}
		g.Expect(k8s.Update(ctx, d)).To(Succeed())
	})
	g.Expect(k8s.Get(ctx, types.NamespacedName{Namespace: ns, Name: "web"}, &gdv1.GracefulDrain{})).NotTo(Succeed())

	// The AWS Load Balancer Controller is installed now, with a binding to the Service.
	raw, err := os.ReadFile(filepath.Join("testdata", "targetgroupbinding-crd.yaml"))
	g.Expect(err).NotTo(HaveOccurred())
	crd := &apiextensionsv1.CustomResourceDefinition{}
	g.Expect(yaml.Unmarshal(raw, crd)).To(Succeed())
	g.Expect(k8s.Create(ctx, crd)).To(Succeed())
	tgb := &unstructured.Unstructured{Object: map[string]interface{}{
		"apiVersion": "elbv2.k8s.aws/v1beta1", "kind": "TargetGroupBinding",
		"metadata": map[string]interface{}{"name": "web-tg", "namespace": ns},
		"spec": map[string]interface{}{
			"targetGroupARN": "arn:aws:elasticloadbalancing:eu-west-1:111111111111:targetgroup/web/0123456789abcdef",
			"targetType":     "ip",
			"serviceRef":     map[string]interface{}{"name": "web", "port": int64(80)},
		},
	}}
	g.Eventually(func() error { return k8s.Create(ctx, tgb) }).WithTimeout(timeout).Should(Succeed()) // until the CRD is established

	eventually(t, func(g Gomega) {
		gd := getGD(g, ns, "web")
		g.Expect(gd.Status.Attachments).To(HaveLen(1))
		a := gd.Status.Attachments[0]
		g.Expect(a.Source).To(Equal(gdv1.ObjectReference{Kind: "TargetGroupBinding", Name: "web-tg"}))
		g.Expect(a.TargetType).To(Equal("ip"))
		g.Expect(a.ContainerPort).To(BeEquivalentTo(8080))
		// A target group made outside Kubernetes may be behind an NLB: the longer drain.
		g.Expect(getDeployment(g, ns, "web").Spec.Template.Spec.TerminationGracePeriodSeconds).To(HaveValue(BeEquivalentTo(120)))
	})
	var namespace corev1.Namespace
	g.Expect(k8s.Get(ctx, types.NamespacedName{Name: ns}, &namespace)).To(Succeed())
	g.Expect(namespace.Labels).To(HaveKeyWithValue(awslb.ReadinessGateInjectLabel, "enabled"))
}

func TestIngressGroupThroughTwoServices(t *testing.T) {
	ctx := context.Background()
	g := NewWithT(t)
	ns := newNamespace(t, enforce())
	g.Expect(k8s.Create(ctx, deployment(ns, corev1.Container{Name: "app", Image: "example/web:1", Ports: []corev1.ContainerPort{
		{Name: "http", ContainerPort: 8080}, {Name: "admin", ContainerPort: 8081},
	}}))).To(Succeed())
	for _, svc := range []struct{ name, port, hcPath, targetType string }{
		{"web-public", "http", "/healthz", "ip"},
		{"web-admin", "admin", "/admin/ping", "instance"},
	} {
		g.Expect(k8s.Create(ctx, &corev1.Service{
			ObjectMeta: metav1.ObjectMeta{Name: svc.name, Namespace: ns, Annotations: map[string]string{
				"alb.ingress.kubernetes.io/healthcheck-path": svc.hcPath,
			}},
			Spec: corev1.ServiceSpec{Type: corev1.ServiceTypeNodePort, Selector: map[string]string{"app": "web"},
				Ports: []corev1.ServicePort{{Port: 80, TargetPort: intstr.FromString(svc.port)}}},
		})).To(Succeed())
		ing := testsupport.ALBIngress(ns, svc.name, svc.name, svc.targetType)
		ing.Annotations["alb.ingress.kubernetes.io/group.name"] = "shop"
		g.Expect(k8s.Create(ctx, ing)).To(Succeed())
	}
	eventually(t, func(g Gomega) {
		gd := getGD(g, ns, "web")
		g.Expect(gd.Status.Attachments).To(HaveLen(2))
		for _, a := range gd.Status.Attachments {
			g.Expect(a.Group).To(Equal("shop"))
		}
		g.Expect(gd.Status.LoadBalancer).To(Equal("ALB/instance,ALB/ip"))
		// The most demanding attachment sets the plan: ip behind an ALB.
		g.Expect(gd.Status.Plan.PreStopSeconds).To(BeEquivalentTo(40))
		g.Expect(gd.Status.Plan.ReadinessGateLabel).To(BeTrue())
		paths := map[string]string{}
		for _, a := range gd.Status.Attachments {
			paths[a.Service] = a.HealthCheck.Path
		}
		g.Expect(paths).To(Equal(map[string]string{"web-public": "/healthz", "web-admin": "/admin/ping"}))
	})
}

func TestReadinessGatesOnPodsCreatedBeforeTheLabel(t *testing.T) {
	ctx := context.Background()
	g := NewWithT(t)
	// Audit first: the operator reports and labels nothing while the pods are created.
	ns := newNamespace(t, map[string]string{settings.ModeKey: "audit"})
	albApp(t, ns, "ip", nil)
	finishRollout(t, ns, "web", false)
	var pods corev1.PodList
	g.Expect(k8s.List(ctx, &pods, client.InNamespace(ns))).To(Succeed())
	g.Expect(pods.Items).NotTo(BeEmpty())
	created := pods.Items[0].CreationTimestamp.Time
	// Timestamps have one-second resolution: the label must be set in a later second.
	g.Eventually(func() bool { return time.Now().Truncate(time.Second).After(created) }).WithTimeout(3 * time.Second).Should(BeTrue())

	var namespace corev1.Namespace
	g.Expect(k8s.Get(ctx, types.NamespacedName{Name: ns}, &namespace)).To(Succeed())
	namespace.Labels[settings.ModeKey] = "enforce"
	g.Expect(k8s.Update(ctx, &namespace)).To(Succeed())
	eventually(t, func(g Gomega) {
		g.Expect(condition(getGD(g, ns, "web"), gdv1.ConditionPlanApplied).Reason).To(Equal(gdv1.ReasonApplied))
	})
	// The rollout is reported finished while the old pods are still there (as
	// if the new ReplicaSet had not replaced them yet).
	d := getDeployment(g, ns, "web")
	d.Status.ObservedGeneration = d.Generation
	g.Expect(k8s.Status().Update(ctx, d)).To(Succeed())
	eventually(t, func(g Gomega) {
		c := condition(getGD(g, ns, "web"), gdv1.ConditionReadinessGates)
		g.Expect(c.Reason).To(Equal(gdv1.ReasonPodsCreatedBeforeLabel), c.Message)
		g.Expect(c.Message).To(ContainSubstring("kubectl rollout restart deployment/web"))
	})
}

func TestRolloutProgressIsReportedWithCounts(t *testing.T) {
	ctx := context.Background()
	g := NewWithT(t)
	ns := newNamespace(t, enforce())
	albApp(t, ns, "instance", nil)
	eventually(t, func(g Gomega) {
		g.Expect(condition(getGD(g, ns, "web"), gdv1.ConditionPlanApplied).Status).To(Equal(metav1.ConditionTrue))
	})
	d := getDeployment(g, ns, "web")
	d.Status = appsv1.DeploymentStatus{ObservedGeneration: d.Generation, Replicas: 3, UpdatedReplicas: 1, ReadyReplicas: 2, AvailableReplicas: 2}
	g.Expect(k8s.Status().Update(ctx, d)).To(Succeed())
	eventually(t, func(g Gomega) {
		gd := getGD(g, ns, "web")
		c := condition(gd, gdv1.ConditionRolledOut)
		g.Expect(c.Reason).To(Equal(gdv1.ReasonRolloutInProgress))
		g.Expect(c.Message).To(ContainSubstring("1 of 2 new replicas updated"))
		g.Expect(condition(gd, gdv1.ConditionReady).Status).To(Equal(metav1.ConditionFalse))
	})
}

func TestServingHealthFromSeed003(t *testing.T) {
	ctx := context.Background()
	g := NewWithT(t)
	ns := newNamespace(t, enforce())
	albApp(t, ns, "ip", func(d *appsv1.Deployment) {
		d.Spec.Template.Spec.Containers[0].LivenessProbe = &corev1.Probe{ProbeHandler: corev1.ProbeHandler{
			HTTPGet: &corev1.HTTPGetAction{Path: "/live", Port: intstr.FromInt32(8080)}}}
	})
	eventually(t, func(g Gomega) {
		g.Expect(condition(getGD(g, ns, "web"), gdv1.ConditionPlanApplied).Status).To(Equal(metav1.ConditionTrue))
	})
	finishRollout(t, ns, "web", true)
	var pods corev1.PodList
	g.Expect(k8s.List(ctx, &pods, client.InNamespace(ns))).To(Succeed())

	// The readiness probe fails on every pod: the ALB has no healthy target.
	for i := range pods.Items {
		p := &pods.Items[i]
		p.Status.Phase = corev1.PodRunning
		p.Status.Conditions = []corev1.PodCondition{{Type: corev1.PodReady, Status: corev1.ConditionFalse}}
		g.Expect(k8s.Status().Update(ctx, p)).To(Succeed())
	}
	eventually(t, func(g Gomega) {
		c := condition(getGD(g, ns, "web"), gdv1.ConditionServing)
		g.Expect(c.Reason).To(Equal(gdv1.ReasonNoReadyPods))
		g.Expect(c.Message).To(ContainSubstring("every request with 502"))
		evs := eventsFor(g, ns, "web", gdv1.ReasonNoReadyPods)
		g.Expect(evs).NotTo(BeEmpty())
		g.Expect(evs[0].Type).To(Equal(corev1.EventTypeWarning))
	})

	// The pods are ready again, but the liveness probe restarted one container.
	for i := range pods.Items {
		p := &corev1.Pod{}
		g.Expect(k8s.Get(ctx, client.ObjectKeyFromObject(&pods.Items[i]), p)).To(Succeed())
		p.Status.Conditions = []corev1.PodCondition{{Type: corev1.PodReady, Status: corev1.ConditionTrue}}
		if i == 0 {
			p.Status.ContainerStatuses = []corev1.ContainerStatus{{Name: "app", Image: "example/web:1", ImageID: "x", Ready: true, RestartCount: 4,
				LastTerminationState: corev1.ContainerState{Terminated: &corev1.ContainerStateTerminated{ExitCode: 143, Reason: "Error", FinishedAt: metav1.Now()}}}}
		}
		g.Expect(k8s.Status().Update(ctx, p)).To(Succeed())
	}
	eventually(t, func(g Gomega) {
		c := condition(getGD(g, ns, "web"), gdv1.ConditionServing)
		g.Expect(c.Reason).To(Equal(gdv1.ReasonLivenessRestarts))
		g.Expect(c.Message).To(ContainSubstring("restarted 4 times"))
		g.Expect(eventsFor(g, ns, "web", gdv1.ReasonLivenessRestarts)).NotTo(BeEmpty())
	})
}

// A writer the admission webhook does not see (it is down, or unreachable)
// keeps reverting the plan: the operator answers a few times, then holds.
// With the webhook up the same writer changes nothing at all
// (TestGitOpsLoopWithTheWebhook).
func TestConflictWithAnotherFieldManager(t *testing.T) {
	ctx := context.Background()
	g := NewWithT(t)
	withWebhookDown(t)
	ns := newNamespace(t, enforce())
	albApp(t, ns, "ip", nil)
	eventually(t, func(g Gomega) {
		g.Expect(getDeployment(g, ns, "web").Spec.Template.Spec.TerminationGracePeriodSeconds).To(HaveValue(BeEquivalentTo(70)))
	})
	startGeneration := getDeployment(g, ns, "web").Generation

	// A GitOps tool re-applies its manifest, with terminationGracePeriodSeconds: 45, every few hundred
	// milliseconds. (Not 30: the API server refuses a grace period shorter than the native 40 s sleep.)
	stop := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		revert := appsv1ac.Deployment("web", ns).WithSpec(appsv1ac.DeploymentSpec().WithTemplate(
			corev1ac.PodTemplateSpec().WithSpec(corev1ac.PodSpec().WithTerminationGracePeriodSeconds(45))))
		for i := 0; i < 200; i++ { // bounded: 200 applies at most
			select {
			case <-stop:
				return
			case <-time.After(300 * time.Millisecond):
			}
			if err := k8s.Apply(ctx, revert, client.FieldOwner("flux"), client.ForceOwnership); err != nil {
				t.Logf("revert: %v", err)
			}
		}
	}()
	defer func() { close(stop); wg.Wait() }()

	eventually(t, func(g Gomega) {
		gd := getGD(g, ns, "web")
		c := condition(gd, gdv1.ConditionConflict)
		g.Expect(c.Status).To(Equal(metav1.ConditionTrue))
		g.Expect(c.Message).To(ContainSubstring(`"flux"`))
		g.Expect(condition(gd, gdv1.ConditionReady).Reason).To(Equal(gdv1.ReasonConflict))
		g.Expect(eventsFor(g, ns, "web", gdv1.ReasonConflict)).NotTo(BeEmpty())
	})
	// Bounded: the operator answered at most MaxReapplies reverts, each costing two generations.
	generation := getDeployment(g, ns, "web").Generation
	g.Expect(generation - startGeneration).To(BeNumerically("<=", 2*3+2))
	// And it stays out of the fight while the other side keeps applying.
	g.Consistently(func() int64 { return getDeployment(g, ns, "web").Generation }).
		WithTimeout(3 * time.Second).WithPolling(200 * time.Millisecond).Should(Equal(generation))
	t.Logf("generations during the fight: %d (from %d to %d)", generation-startGeneration, startGeneration, generation)

	// The user stops the other side and asks the operator to retry.
	close(stop)
	wg.Wait()
	stop = make(chan struct{})
	d := getDeployment(g, ns, "web")
	d.Annotations = map[string]string{settings.RetryKey: "1"}
	g.Expect(k8s.Update(ctx, d)).To(Succeed())
	eventually(t, func(g Gomega) {
		g.Expect(getDeployment(g, ns, "web").Spec.Template.Spec.TerminationGracePeriodSeconds).To(HaveValue(BeEquivalentTo(70)))
		gd := getGD(g, ns, "web")
		g.Expect(condition(gd, gdv1.ConditionConflict).Status).To(Equal(metav1.ConditionFalse), "%+v %+v", gd.Status.Reverts, gd.Status.Conditions)
	})
}
