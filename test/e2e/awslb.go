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
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net"
	"strconv"
	"strings"
	"sync"
	"time"

	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	networkingv1 "k8s.io/api/networking/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/kubernetes"
	listerscorev1 "k8s.io/client-go/listers/core/v1"
	listersdiscoveryv1 "k8s.io/client-go/listers/discovery/v1"
	listersnetworkingv1 "k8s.io/client-go/listers/networking/v1"
	"k8s.io/client-go/tools/cache"
)

const (
	// The simulated AWS controller spells the names it shares with the operator
	// (internal/awslb) on its own, as the real controller does: a typo on either
	// side then shows as a failed rollout instead of passing unnoticed.

	// ReadinessGatePrefix is the condition type prefix of the AWS Load Balancer Controller's readiness gates.
	ReadinessGatePrefix = "target-health.elbv2.k8s.aws/"
	// GateInjectLabel makes the controller's webhook inject readiness gates into a namespace's new pods.
	GateInjectLabel = "elbv2.k8s.aws/pod-readiness-gate-inject"
	albAnnotation   = "alb.ingress.kubernetes.io/"
	nlbAnnotation   = "service.beta.kubernetes.io/aws-load-balancer-"
)

// LBController simulates the AWS Load Balancer Controller for ALB Ingresses
// and NLB Services with ip targets: one target group per backend Service port,
// targets registered from the Service's EndpointSlices after a controller
// delay, health-checked as the annotations say (HTTP for an ALB, TCP for an
// NLB, with AWS's defaults), the target-health pod condition set from the
// result, and (webhook.go) readiness gates injected into new pods. Instance
// targets are routed by KubeProxy instead. Every delay runs compressed by
// Params.TimeScale; health-check timeouts stay in wall time.
type LBController struct {
	Client    kubernetes.Interface
	Owns      func(namespace string) bool
	P         Params
	Timelines *Timelines // told when each target is deregistered and when its data plane stops

	ingresses listersnetworkingv1.IngressLister
	services  listerscorev1.ServiceLister
	slices    listersdiscoveryv1.EndpointSliceLister
	pods      listerscorev1.PodLister

	mu      sync.Mutex
	groups  map[string]*simTargetGroup // by namespace/service:port
	pending map[string]bool            // namespaces with a reconcile scheduled
	errs    []string
	ctx     context.Context
}

type simTargetGroup struct {
	*TargetGroup
	namespace   string
	gate        corev1.PodConditionType
	pods        map[string]string // target addr -> pod name
	deregs      time.Duration     // deregistration delay attribute (model time)
	propagation Dist              // DeregisterTargets -> the data plane stops
}

// Errors returns what went wrong inside the simulation.
func (c *LBController) Errors() []string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]string(nil), c.errs...)
}

func (c *LBController) fail(format string, args ...any) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.errs = append(c.errs, fmt.Sprintf(format, args...))
}

// Start runs the informers and the target-health loop until ctx ends.
func (c *LBController) Start(ctx context.Context) error {
	c.ctx = ctx
	c.groups, c.pending = map[string]*simTargetGroup{}, map[string]bool{}
	factory := informers.NewSharedInformerFactory(c.Client, 0)
	c.ingresses = factory.Networking().V1().Ingresses().Lister()
	c.services = factory.Core().V1().Services().Lister()
	c.slices = factory.Discovery().V1().EndpointSlices().Lister()
	c.pods = factory.Core().V1().Pods().Lister()
	handler := cache.ResourceEventHandlerFuncs{
		AddFunc:    func(obj any) { c.changed(obj) },
		UpdateFunc: func(_, obj any) { c.changed(obj) },
		DeleteFunc: func(obj any) { c.changed(obj) },
	}
	for _, inf := range []cache.SharedIndexInformer{
		factory.Networking().V1().Ingresses().Informer(), factory.Core().V1().Services().Informer(),
		factory.Discovery().V1().EndpointSlices().Informer(), factory.Core().V1().Pods().Informer(),
	} {
		if _, err := inf.AddEventHandler(handler); err != nil {
			return err
		}
	}
	factory.Start(ctx.Done())
	for typ, ok := range factory.WaitForCacheSync(ctx.Done()) {
		if !ok {
			return fmt.Errorf("cache of %v did not sync", typ)
		}
	}
	go c.targetHealthLoop(ctx)
	return nil
}

// TargetGroup returns the target group of a Service port once the controller made it.
func (c *LBController) TargetGroup(namespace, service string, port int32) *TargetGroup {
	c.mu.Lock()
	defer c.mu.Unlock()
	if g := c.groups[fmt.Sprintf("%s/%s:%d", namespace, service, port)]; g != nil {
		return g.TargetGroup
	}
	return nil
}

func (c *LBController) changed(obj any) {
	if tomb, ok := obj.(cache.DeletedFinalStateUnknown); ok {
		obj = tomb.Obj
	}
	m, ok := obj.(metav1.Object)
	if !ok || !c.Owns(m.GetNamespace()) {
		return
	}
	ns := m.GetNamespace()
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.pending[ns] {
		return // the scheduled reconcile will see this change too
	}
	c.pending[ns] = true
	time.AfterFunc(c.P.Wall(c.P.ControllerDelay.Draw()), func() {
		c.mu.Lock()
		delete(c.pending, ns)
		c.mu.Unlock()
		if c.ctx.Err() == nil {
			c.reconcile(ns)
		}
	})
}

// lbBackend is one Service port a load balancer sends traffic to: an ALB
// Ingress backend, or a port of an NLB Service.
type lbBackend struct {
	nlb     bool
	ingress *networkingv1.Ingress // ALB only
	service *corev1.Service
	port    corev1.ServicePort
}

// annotation reads a load balancer annotation: for an ALB the Service's
// alb.ingress.kubernetes.io/ one wins over the Ingress's; for an NLB the Service's own.
func (b lbBackend) annotation(key string) string {
	if b.nlb {
		return b.service.Annotations[nlbAnnotation+key]
	}
	if v, ok := b.service.Annotations[albAnnotation+key]; ok {
		return v
	}
	return b.ingress.Annotations[albAnnotation+key]
}

func (b lbBackend) targetType() string {
	if b.nlb {
		if t := b.annotation("nlb-target-type"); t != "" {
			return t
		}
		if b.annotation("type") == "nlb-ip" {
			return "ip"
		}
		return "instance"
	}
	if t := b.annotation("target-type"); t != "" {
		return t
	}
	return "instance"
}

// isNLB says whether the controller makes an NLB for svc.
func isNLB(svc *corev1.Service) bool {
	if svc.Spec.Type != corev1.ServiceTypeLoadBalancer {
		return false
	}
	if c := svc.Spec.LoadBalancerClass; c != nil && *c != "" {
		return *c == "service.k8s.aws/nlb"
	}
	t := svc.Annotations[nlbAnnotation+"type"]
	return t == "external" || t == "nlb-ip"
}

// backends lists the load balancer backends of a namespace: ALB Ingress backends, then NLB Service ports.
func (c *LBController) backends(ns string) []lbBackend {
	ings, _ := c.ingresses.Ingresses(ns).List(labels.Everything())
	var out []lbBackend
	for _, ing := range ings {
		class := ing.Annotations["kubernetes.io/ingress.class"]
		if ing.Spec.IngressClassName != nil {
			class = *ing.Spec.IngressClassName
		}
		if class != "alb" {
			continue
		}
		var refs []*networkingv1.IngressServiceBackend
		if ing.Spec.DefaultBackend != nil && ing.Spec.DefaultBackend.Service != nil {
			refs = append(refs, ing.Spec.DefaultBackend.Service)
		}
		for _, r := range ing.Spec.Rules {
			if r.HTTP == nil {
				continue
			}
			for _, p := range r.HTTP.Paths {
				if p.Backend.Service != nil {
					refs = append(refs, p.Backend.Service)
				}
			}
		}
		for _, ref := range refs {
			svc, err := c.services.Services(ns).Get(ref.Name)
			if err != nil {
				continue
			}
			for _, sp := range svc.Spec.Ports {
				if (ref.Port.Name != "" && sp.Name == ref.Port.Name) || (ref.Port.Number != 0 && sp.Port == ref.Port.Number) {
					out = append(out, lbBackend{ingress: ing, service: svc, port: sp})
				}
			}
		}
	}
	svcs, _ := c.services.Services(ns).List(labels.Everything())
	for _, svc := range svcs {
		if !isNLB(svc) {
			continue
		}
		for _, sp := range svc.Spec.Ports {
			out = append(out, lbBackend{nlb: true, service: svc, port: sp})
		}
	}
	return out
}

// gateName is the target-health condition type of a target group binding, named as the controller names
// TargetGroupBindings: k8s-<namespace[:8]>-<service[:8]>-<hash>.
func gateName(ns, svc string, port int32) corev1.PodConditionType {
	sum := sha256.Sum256([]byte(fmt.Sprintf("%s/%s:%d", ns, svc, port)))
	return corev1.PodConditionType(fmt.Sprintf("%sk8s-%s-%s-%s", ReadinessGatePrefix, trunc(ns, 8), trunc(svc, 8), hex.EncodeToString(sum[:])[:10]))
}

func trunc(s string, n int) string {
	if len(s) > n {
		return s[:n]
	}
	return s
}

// healthCheck reads the target group's health check: the annotations over AWS's defaults, ALB HTTP / 15 s
// 5 s 2 2 success 200, NLB (ip targets) TCP 10 s 10 s 3 3.
func (c *LBController) healthCheck(b lbBackend) (HealthCheck, error) {
	hc := HealthCheck{Protocol: "HTTP", Path: "/", Interval: 15 * time.Second, Timeout: 5 * time.Second, HealthyThreshold: 2, UnhealthyThreshold: 2,
		SuccessCodes: func(code int) bool { return code == 200 }}
	keys := map[string]string{"interval": "healthcheck-interval-seconds", "timeout": "healthcheck-timeout-seconds",
		"healthy": "healthy-threshold-count", "unhealthy": "unhealthy-threshold-count", "codes": "success-codes"}
	if b.nlb {
		hc = HealthCheck{Protocol: "TCP", Interval: 10 * time.Second, Timeout: 10 * time.Second, HealthyThreshold: 3, UnhealthyThreshold: 3,
			SuccessCodes: func(code int) bool { return code >= 200 && code < 400 }}
		keys = map[string]string{"interval": "healthcheck-interval", "timeout": "healthcheck-timeout",
			"healthy": "healthcheck-healthy-threshold", "unhealthy": "healthcheck-unhealthy-threshold", "codes": "healthcheck-success-codes"}
	}
	if p := b.annotation("healthcheck-protocol"); p != "" {
		hc.Protocol = strings.ToUpper(p)
		if hc.Path == "" {
			hc.Path = "/"
		}
	}
	if p := b.annotation("healthcheck-path"); p != "" {
		hc.Path = p
	}
	for key, set := range map[string]func(int){
		keys["interval"]:  func(n int) { hc.Interval = time.Duration(n) * time.Second },
		keys["timeout"]:   func(n int) { hc.Timeout = time.Duration(n) * time.Second },
		keys["healthy"]:   func(n int) { hc.HealthyThreshold = n },
		keys["unhealthy"]: func(n int) { hc.UnhealthyThreshold = n },
	} {
		if v := b.annotation(key); v != "" {
			n, err := strconv.Atoi(v)
			if err != nil {
				return hc, fmt.Errorf("annotation %s=%q: %w", key, v, err)
			}
			set(n)
		}
	}
	if codes := b.annotation(keys["codes"]); codes != "" {
		hc.SuccessCodes = func(code int) bool { return containsCode(strings.Split(codes, ","), strconv.Itoa(code)) }
	}
	return hc, nil
}

func containsCode(list []string, s string) bool {
	for _, v := range list {
		if strings.TrimSpace(v) == s {
			return true
		}
	}
	return false
}

// deregistrationDelay reads deregistration_delay.timeout_seconds (default 300 s).
func deregistrationDelay(b lbBackend) time.Duration {
	for _, kv := range strings.Split(b.annotation("target-group-attributes"), ",") {
		if v, ok := strings.CutPrefix(strings.TrimSpace(kv), "deregistration_delay.timeout_seconds="); ok {
			if n, err := strconv.Atoi(v); err == nil {
				return time.Duration(n) * time.Second
			}
		}
	}
	return 300 * time.Second
}

// reconcile brings the target groups of a namespace in line with its EndpointSlices.
func (c *LBController) reconcile(ns string) {
	for _, b := range c.backends(ns) {
		if b.targetType() != "ip" {
			continue // instance targets: the node is the target; KubeProxy routes
		}
		key := fmt.Sprintf("%s/%s:%d", ns, b.service.Name, b.port.Port)
		c.mu.Lock()
		g := c.groups[key]
		if g == nil {
			hc, err := c.healthCheck(b)
			if err != nil {
				c.mu.Unlock()
				c.fail("%s: %v", key, err)
				continue
			}
			g = &simTargetGroup{TargetGroup: NewTargetGroup(key, hc), namespace: ns,
				gate: gateName(ns, b.service.Name, b.port.Port), pods: map[string]string{}, deregs: deregistrationDelay(b),
				propagation: c.P.ALBDeregPropagation}
			if b.nlb {
				g.propagation = c.P.NLBDeregPropagation
			}
			c.groups[key] = g
		}
		c.mu.Unlock()

		desired := map[string]string{} // addr -> pod
		epSlices, _ := c.slices.EndpointSlices(ns).List(labels.SelectorFromSet(labels.Set{discoveryv1.LabelServiceName: b.service.Name}))
		for _, s := range epSlices {
			port := slicePort(s, b.port)
			if port == 0 {
				continue
			}
			for _, ep := range s.Endpoints {
				if ep.TargetRef == nil || ep.TargetRef.Kind != "Pod" || len(ep.Addresses) == 0 {
					continue
				}
				if isTrue(ep.Conditions.Terminating) {
					continue
				}
				ready := isTrue(ep.Conditions.Ready)
				if !ready {
					// A pod held back by its own readiness gate is registered once its containers are ready:
					// the gate waits for the target to become healthy.
					pod, err := c.pods.Pods(ns).Get(ep.TargetRef.Name)
					ready = err == nil && hasGate(pod, g.gate) && conditionTrue(pod.Status.Conditions, corev1.ContainersReady)
				}
				if ready {
					desired[net.JoinHostPort(ep.Addresses[0], strconv.Itoa(int(port)))] = ep.TargetRef.Name
				}
			}
		}
		for addr, pod := range desired {
			hctx, cancel := context.WithCancel(c.ctx)
			if g.Register(addr, cancel) {
				c.mu.Lock()
				g.pods[addr] = pod
				c.mu.Unlock()
				go c.healthChecks(hctx, g, addr)
			} else {
				cancel()
			}
		}
		for _, addr := range g.Registered() {
			if _, ok := desired[addr]; ok {
				continue
			}
			now := time.Now()
			stop := g.Deregister(addr, c.P.Wall(g.propagation.Draw()))
			if ip, _, err := net.SplitHostPort(addr); err == nil && !stop.IsZero() {
				c.Timelines.Update(ip, func(tl *PodTimeline) { first(&tl.Deregistered, now); first(&tl.Stopped, stop) })
			}
		}
		g.Forget(c.P.Wall(g.deregs))
	}
}

// slicePort is the endpoint port of a slice for a Service port (matched by name, as the API does).
func slicePort(s *discoveryv1.EndpointSlice, sp corev1.ServicePort) int32 {
	for _, p := range s.Ports {
		if p.Name != nil && *p.Name == sp.Name && p.Port != nil {
			return *p.Port
		}
	}
	return 0
}

func isTrue(b *bool) bool { return b != nil && *b }

func hasGate(pod *corev1.Pod, gate corev1.PodConditionType) bool {
	for _, g := range pod.Spec.ReadinessGates {
		if g.ConditionType == gate {
			return true
		}
	}
	return false
}

// healthChecks runs the load balancer's health checks of one target until it is deregistered.
func (c *LBController) healthChecks(ctx context.Context, g *simTargetGroup, addr string) {
	first := c.P.Wall(c.P.RegistrationDelay + jitter(c.P.HealthCheckJitter))
	timer := time.NewTimer(first)
	defer timer.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-timer.C:
		}
		var ok bool
		if g.HC.Protocol == "TCP" {
			conn, err := net.DialTimeout("tcp", Loopback(addr), g.HC.Timeout)
			ok = err == nil
			if conn != nil {
				_ = conn.Close()
			}
		} else {
			ok = httpCheck(ctx, "http://"+Loopback(addr)+g.HC.Path, g.HC.Timeout, g.HC.SuccessCodes)
		}
		if ctx.Err() != nil {
			return
		}
		g.RecordHealth(addr, ok)
		timer.Reset(c.P.Wall(g.HC.Interval))
	}
}

// targetHealthLoop sets each registered pod's target-health condition from its target's health, as the
// controller does after reading DescribeTargetHealth.
func (c *LBController) targetHealthLoop(ctx context.Context) {
	tick := time.NewTicker(c.P.Wall(c.P.TargetHealthPoll))
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
		c.mu.Lock()
		groups := make([]*simTargetGroup, 0, len(c.groups))
		for _, g := range c.groups {
			groups = append(groups, g)
		}
		c.mu.Unlock()
		for _, g := range groups {
			for _, addr := range g.Registered() {
				c.mu.Lock()
				name := g.pods[addr]
				c.mu.Unlock()
				pod, err := c.pods.Pods(g.namespace).Get(name)
				if err != nil || !hasGate(pod, g.gate) || pod.DeletionTimestamp != nil {
					continue
				}
				c.setTargetHealth(ctx, pod, g.gate, g.State(addr))
			}
		}
	}
}

func (c *LBController) setTargetHealth(ctx context.Context, pod *corev1.Pod, gate corev1.PodConditionType, state TargetState) {
	want := corev1.ConditionFalse
	reason, msg := "Elb.InitialHealthChecking", "Initial health checks in progress"
	switch state {
	case TargetHealthy:
		want, reason, msg = corev1.ConditionTrue, "", ""
	case TargetUnhealthy:
		reason, msg = "Target.ResponseCodeMismatch", "Health checks failed"
	}
	for _, cond := range pod.Status.Conditions {
		if cond.Type == gate && cond.Status == want {
			return
		}
	}
	patch, _ := json.Marshal(map[string]any{"status": map[string]any{"conditions": []corev1.PodCondition{{
		Type: gate, Status: want, Reason: reason, Message: msg, LastTransitionTime: metav1.Now(), LastProbeTime: metav1.Now()}}}})
	_, err := c.Client.CoreV1().Pods(pod.Namespace).Patch(ctx, pod.Name, types.StrategicMergePatchType, patch, metav1.PatchOptions{}, "status")
	if err != nil && !apierrors.IsNotFound(err) && ctx.Err() == nil {
		c.fail("setting %s on %s/%s: %v", gate, pod.Namespace, pod.Name, err)
	}
}

// gatesFor lists the readiness gates the webhook injects into a new pod: one per ip target group whose
// Service selects the pod. Like the controller's webhook, which looks up TargetGroupBindings, it knows
// only the target groups it has already made: a pod created before is admitted without a gate.
func (c *LBController) gatesFor(ns string, podLabels map[string]string) []corev1.PodConditionType {
	var out []corev1.PodConditionType
	for _, b := range c.backends(ns) {
		sel := b.service.Spec.Selector
		if b.targetType() != "ip" || len(sel) == 0 || !labels.SelectorFromSet(sel).Matches(labels.Set(podLabels)) ||
			c.TargetGroup(ns, b.service.Name, b.port.Port) == nil {
			continue
		}
		out = append(out, gateName(ns, b.service.Name, b.port.Port))
	}
	return out
}
