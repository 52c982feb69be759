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

package plan

import (
	"strconv"
	"strings"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/util/intstr"

	gdv1 "github.com/gracefuldrain/gracefuldrain/api/v1alpha1"
	"github.com/gracefuldrain/gracefuldrain/internal/awslb"
	"github.com/gracefuldrain/gracefuldrain/internal/discovery"
	"github.com/gracefuldrain/gracefuldrain/internal/workload"
)

// Defaults of the manager flags, set from the e2e drain curve under load-balancer
// delays fitted to the public reports (docs/e2e.md, README "Why these
// defaults"): the smallest multiple of 10 s at or above the curve's zero where
// the fitted model leaves at most 1 pod termination in 1,000 reached after its
// sleep. ALB ip: AWS Load Balancer Controller #1719, #2106 (40 s "very rarely"
// 502, 70 s none), pod-graceful-drain ("up to 60 s"); NLB ip: #2366, #3270,
// containers-roadmap #470 (about two minutes), istio #35964 (up to 180 s);
// instance: kube-proxy's programming delay plus pinned keep-alive connections.
const (
	DefaultALBIPPreStopSeconds    int32 = 70
	DefaultNLBIPPreStopSeconds    int32 = 190
	DefaultInstancePreStopSeconds int32 = 20
	DefaultShutdownSeconds        int32 = 30
)

// What the API server writes for absent fields; the plan compares against and
// sends these values so that a round trip through the API server is a no-op.
const (
	apiDefaultGracePeriod  int32 = 30
	apiDefaultProbeTimeout int32 = 1
	apiDefaultProbePeriod  int32 = 10
	apiDefaultProbeSuccess int32 = 1
	apiDefaultProbeFailure int32 = 3
)

// maxProbePeriod caps the readiness probe period: the load balancer's own
// health check is what gates traffic, the probe only has to notice a failure
// within a few seconds so that the Service's endpoints follow.
const maxProbePeriod int32 = 10

// DefaultSettings returns the Defaults the manager flags start from.
func DefaultSettings() Defaults {
	return Defaults{
		ALBIPPreStopSeconds:    DefaultALBIPPreStopSeconds,
		NLBIPPreStopSeconds:    DefaultNLBIPPreStopSeconds,
		InstancePreStopSeconds: DefaultInstancePreStopSeconds,
		ShutdownSeconds:        DefaultShutdownSeconds,
		SleepMethod:            SleepNative,
	}
}

// Compute is the plan for one workload. It only reads its input. An empty
// Defaults.SleepMethod means SleepNative. With no attachments PreStopSeconds is
// 0 unless overridden: callers only plan workloads behind a load balancer.
func Compute(in Input) Plan {
	return compute(in, Owned(in.Workload.ManagedFields))
}

// ComputeWithChanges is Compute and then Changes for the same workload, which
// reads the workload's field ownership (parsed JSON, most of the work) once.
func ComputeWithChanges(in Input) (Plan, []Change) {
	own := Owned(in.Workload.ManagedFields)
	p := compute(in, own)
	return p, changes(in.Workload, p, own)
}

func compute(in Input, own Ownership) Plan {
	p := Plan{
		PreStopSeconds:    preStopSeconds(in),
		SleepMethod:       in.Defaults.SleepMethod,
		SleepMethodReason: in.Defaults.SleepMethodReason,
		ShutdownSeconds:   in.Defaults.ShutdownSeconds,
	}
	if p.SleepMethod == "" {
		p.SleepMethod = SleepNative
	}
	if in.Overrides.ShutdownSeconds != nil {
		p.ShutdownSeconds = *in.Overrides.ShutdownSeconds
	}
	for _, a := range in.Attachments {
		if a.TargetType == discovery.TargetIP {
			p.NeedsReadinessGate = true
		}
	}

	spec := podSpec(in.Workload)
	longest := p.PreStopSeconds // the longest sleep any container will do
	p.Containers = make([]ContainerPlan, 0, len(spec.Containers))
	// Only regular containers: init containers finish before, and native
	// sidecars (init containers with restartPolicy Always) stop after them.
	for i := range spec.Containers {
		c := &spec.Containers[i]
		co := own.Containers[c.Name]
		cp := ContainerPlan{Name: c.Name}
		if kept := planPreStop(&cp, c, co, p); kept > longest {
			longest = kept
		}
		planProbe(&cp, c, co, in)
		p.Containers = append(p.Containers, cp)
	}

	current := apiDefaultGracePeriod
	if spec.TerminationGracePeriodSeconds != nil {
		current = clamp32(*spec.TerminationGracePeriodSeconds)
	}
	p.TerminationGracePeriodSeconds = max(current, clamp32(int64(longest)+int64(p.ShutdownSeconds)))
	return p
}

// podSpec is the workload's pod spec; an empty one when it has no template.
func podSpec(w workload.Workload) *corev1.PodSpec {
	if w.Template == nil {
		return &corev1.PodSpec{}
	}
	return &w.Template.Spec
}

// preStopSeconds is the override, else the longest drain time over the attachments.
func preStopSeconds(in Input) int32 {
	if in.Overrides.PreStopSeconds != nil {
		return *in.Overrides.PreStopSeconds
	}
	var n int32
	for _, a := range in.Attachments {
		n = max(n, drainSeconds(a, in.Defaults))
	}
	return n
}

// drainSeconds is how long the load balancer may still send new connections to
// a terminating pod: with ip targets the pod IP is deregistered, which takes
// longest on an NLB; with instance targets kube-proxy on the node stops
// forwarding as soon as the endpoint goes, so a short sleep is enough.
func drainSeconds(a discovery.Attachment, d Defaults) int32 {
	if a.TargetType != discovery.TargetIP {
		return d.InstancePreStopSeconds
	}
	switch a.LoadBalancer {
	case discovery.NLB:
		return d.NLBIPPreStopSeconds
	case discovery.ALB:
		return d.ALBIPPreStopSeconds
	}
	// A TargetGroupBinding's target group may sit behind either: take the
	// longer drain, since a sleep too short is what drops requests.
	return max(d.ALBIPPreStopSeconds, d.NLBIPPreStopSeconds)
}

// planPreStop fills the preStop part of cp and returns how long a kept user
// sleep lasts (0 when none is kept), which the grace period must cover.
func planPreStop(cp *ContainerPlan, c *corev1.Container, co ContainerOwnership, p Plan) int32 {
	var hook *corev1.LifecycleHandler
	if c.Lifecycle != nil {
		hook = c.Lifecycle.PreStop
	}
	cp.ExistingPreStop = DescribeHandler(hook)
	if hook == nil {
		cp.PreStop = PreStopSet
		cp.PreStopHook = sleepHandler(p.SleepMethod, p.PreStopSeconds)
		return 0
	}
	form, ok := parseSleep(hook)
	switch {
	case !ok:
		// Also when the operator owns a field of it: unreachable in practice,
		// since whoever changes a field takes its ownership, and a handler
		// that is not a sleep is never replaced.
		cp.PreStop = PreStopCustom
	case co.PreStop:
		// The operator's own sleep, kept in the form it has so that a changed
		// sleep-method flag does not restart every Deployment. It is no
		// "existing" hook of the user's: reporting it would make the status
		// after an apply differ from the one written with it.
		cp.PreStop = PreStopSet
		cp.PreStopHook = form.withSeconds(p.PreStopSeconds)
		cp.ExistingPreStop = ""
	case form.seconds >= p.PreStopSeconds:
		cp.PreStop = PreStopKeep
		return form.seconds
	default:
		cp.PreStop = PreStopRaise
		cp.PreStopHook = form.withSeconds(p.PreStopSeconds)
	}
	return 0
}

// planProbe fills the readiness-probe part of cp. Under readiness-probe: leave
// the operator sends no probe at all; a probe it applied earlier is then
// released, and server-side apply removes it unless another manager owns it
// too (Changes reports that).
func planProbe(cp *ContainerPlan, c *corev1.Container, co ContainerOwnership, in Input) {
	if in.Overrides.LeaveReadinessProbes {
		cp.ReadinessProbe = ProbeLeave
		return
	}
	a, ok := servingAttachment(in.Attachments, c.Name)
	switch {
	case !ok:
		cp.ReadinessProbe = ProbeNotServing
	case c.ReadinessProbe != nil && !co.ReadinessProbe:
		cp.ReadinessProbe = ProbeKeep
	default:
		cp.ReadinessProbe = ProbeDerive
		cp.Probe = deriveProbe(a, c)
	}
}

// servingAttachment picks the attachment a container's probe is derived from:
// the first whose health check can become an httpGet probe, else the first
// one. Attachments whose target port did not resolve (ContainerPort 0) do not
// count.
func servingAttachment(as []discovery.Attachment, container string) (discovery.Attachment, bool) {
	var found *discovery.Attachment
	for i := range as {
		a := &as[i]
		if a.Container != container || a.ContainerPort == 0 {
			continue
		}
		if httpHealthCheck(a.HealthCheck) {
			return *a, true
		}
		if found == nil {
			found = a
		}
	}
	if found == nil {
		return discovery.Attachment{}, false
	}
	return *found, true
}

// httpHealthCheck says whether the health check can be mirrored by an httpGet
// probe: HTTP or HTTPS, and success codes the kubelet also counts as success
// (200-399). A health check that accepts, say, 404 would make an httpGet
// probe fail forever and stall the rollout, so it gets a tcpSocket probe.
func httpHealthCheck(hc gdv1.HealthCheck) bool {
	switch strings.ToUpper(hc.Protocol) {
	case awslb.ProtocolHTTP, awslb.ProtocolHTTPS:
	default:
		return false
	}
	if hc.SuccessCodes == "" {
		return true // AWS default 200
	}
	for _, part := range strings.Split(hc.SuccessCodes, ",") {
		lo, hi, isRange := strings.Cut(strings.TrimSpace(part), "-")
		if !isRange {
			hi = lo
		}
		l, err1 := strconv.Atoi(strings.TrimSpace(lo))
		h, err2 := strconv.Atoi(strings.TrimSpace(hi))
		if err1 != nil || err2 != nil || l < 200 || h > 399 || l > h {
			return false
		}
	}
	return true
}

// deriveProbe mirrors the load balancer's health check, with every field the
// API server would default set explicitly.
func deriveProbe(a discovery.Attachment, c *corev1.Container) *corev1.Probe {
	hc := a.HealthCheck
	p := &corev1.Probe{
		TimeoutSeconds: orDefault(hc.TimeoutSeconds, apiDefaultProbeTimeout),
		PeriodSeconds:  min(orDefault(hc.IntervalSeconds, maxProbePeriod), maxProbePeriod),
		// One success is enough: the load balancer applies its own healthy
		// threshold before it sends traffic to an ip target.
		SuccessThreshold: apiDefaultProbeSuccess,
		FailureThreshold: orDefault(hc.UnhealthyThreshold, apiDefaultProbeFailure),
	}
	if !httpHealthCheck(hc) {
		p.TCPSocket = &corev1.TCPSocketAction{Port: intstr.FromInt32(a.ContainerPort)}
		return p
	}
	port := a.ContainerPort
	// A numeric health-check port is used when this container listens on it
	// (a separate health port); anything else, traffic-port included, means
	// the port the traffic goes to.
	if n, err := strconv.ParseInt(hc.Port, 10, 32); err == nil && declaresPort(c, int32(n)) {
		port = int32(n)
	}
	scheme := corev1.URISchemeHTTP
	if strings.EqualFold(hc.Protocol, awslb.ProtocolHTTPS) {
		scheme = corev1.URISchemeHTTPS
	}
	path := hc.Path
	if path == "" {
		path = "/"
	}
	p.HTTPGet = &corev1.HTTPGetAction{Path: path, Port: intstr.FromInt32(port), Scheme: scheme}
	return p
}

func declaresPort(c *corev1.Container, port int32) bool {
	for _, p := range c.Ports {
		if p.ContainerPort == port {
			return true
		}
	}
	return false
}
