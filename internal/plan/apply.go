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
	"encoding/json"
	"fmt"
	"slices"
	"strconv"
	"strings"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	appsv1ac "k8s.io/client-go/applyconfigurations/apps/v1"
	corev1ac "k8s.io/client-go/applyconfigurations/core/v1"

	"github.com/gracefuldrain/gracefuldrain/internal/fieldowners"
	"github.com/gracefuldrain/gracefuldrain/internal/workload"
)

// ApplyConfiguration is the server-side apply request that carries the plan
// to a Deployment: its name and namespace, and the pod template's fields of
// PodSpecApplyConfiguration. spec.selector is not sent: it is only required
// when creating, and the operator never creates workloads.
func ApplyConfiguration(w workload.Workload, p Plan) *appsv1ac.DeploymentApplyConfiguration {
	return appsv1ac.Deployment(w.Name, w.Namespace).
		WithSpec(appsv1ac.DeploymentSpec().WithTemplate(corev1ac.PodTemplateSpec().WithSpec(PodSpecApplyConfiguration(p))))
}

// StatefulSetApplyConfiguration carries the plan to a StatefulSet.
func StatefulSetApplyConfiguration(w workload.Workload, p Plan) *appsv1ac.StatefulSetApplyConfiguration {
	return appsv1ac.StatefulSet(w.Name, w.Namespace).
		WithSpec(appsv1ac.StatefulSetSpec().WithTemplate(corev1ac.PodTemplateSpec().WithSpec(PodSpecApplyConfiguration(p))))
}

// DaemonSetApplyConfiguration carries the plan to a DaemonSet.
func DaemonSetApplyConfiguration(w workload.Workload, p Plan) *appsv1ac.DaemonSetApplyConfiguration {
	return appsv1ac.DaemonSet(w.Name, w.Namespace).
		WithSpec(appsv1ac.DaemonSetSpec().WithTemplate(corev1ac.PodTemplateSpec().WithSpec(PodSpecApplyConfiguration(p))))
}

// RolloutApplyConfiguration carries the plan to an Argo Rollout with a
// template of its own, as unstructured data (its CRD's schema keys
// containers by name, as a Deployment's does).
func RolloutApplyConfiguration(w workload.Workload, p Plan) (*unstructured.Unstructured, error) {
	raw, err := json.Marshal(PodSpecApplyConfiguration(p))
	if err != nil {
		return nil, err
	}
	var spec map[string]any
	if err := json.Unmarshal(raw, &spec); err != nil {
		return nil, err
	}
	u := &unstructured.Unstructured{Object: map[string]any{"spec": map[string]any{"template": map[string]any{"spec": spec}}}}
	u.SetGroupVersionKind(workload.RolloutGVK)
	u.SetName(w.Name)
	u.SetNamespace(w.Namespace)
	return u, nil
}

// PodSpecApplyConfiguration is the pod template's part of every kind's apply:
// the grace period, and per container (keyed by name, nothing else of it) the
// preStop hook the plan sets or raises and the readiness probe it derives.
// Containers the plan leaves alone are not listed, so the operator never
// co-owns them.
func PodSpecApplyConfiguration(p Plan) *corev1ac.PodSpecApplyConfiguration {
	podSpec := corev1ac.PodSpec().WithTerminationGracePeriodSeconds(int64(p.TerminationGracePeriodSeconds))
	for i := range p.Containers {
		cp := &p.Containers[i]
		c := corev1ac.Container().WithName(cp.Name)
		send := false
		if hook := sentPreStop(cp); hook != nil {
			c.WithLifecycle(corev1ac.Lifecycle().WithPreStop(handlerApply(hook)))
			send = true
		}
		if probe := sentProbe(cp); probe != nil {
			c.WithReadinessProbe(probeApply(probe))
			send = true
		}
		if send {
			podSpec.WithContainers(c)
		}
	}
	return podSpec
}

// sentPreStop is the hook the apply sends for a container, or nil.
func sentPreStop(cp *ContainerPlan) *corev1.LifecycleHandler {
	if cp.PreStop == PreStopSet || cp.PreStop == PreStopRaise {
		return cp.PreStopHook
	}
	return nil
}

// sentProbe is the readiness probe the apply sends for a container, or nil.
func sentProbe(cp *ContainerPlan) *corev1.Probe {
	if cp.ReadinessProbe == ProbeDerive {
		return cp.Probe
	}
	return nil
}

// handlerApply converts the handler forms the plan produces (sleep, exec).
func handlerApply(h *corev1.LifecycleHandler) *corev1ac.LifecycleHandlerApplyConfiguration {
	ac := corev1ac.LifecycleHandler()
	if h.Sleep != nil {
		ac.WithSleep(corev1ac.SleepAction().WithSeconds(h.Sleep.Seconds))
	}
	if h.Exec != nil {
		ac.WithExec(corev1ac.ExecAction().WithCommand(h.Exec.Command...))
	}
	return ac
}

// probeApply converts the probes the plan produces (httpGet, tcpSocket), with
// every numeric field, since the plan sets them all.
func probeApply(p *corev1.Probe) *corev1ac.ProbeApplyConfiguration {
	ac := corev1ac.Probe().
		WithTimeoutSeconds(p.TimeoutSeconds).
		WithPeriodSeconds(p.PeriodSeconds).
		WithSuccessThreshold(p.SuccessThreshold).
		WithFailureThreshold(p.FailureThreshold)
	if p.HTTPGet != nil {
		ac.WithHTTPGet(corev1ac.HTTPGetAction().
			WithPath(p.HTTPGet.Path).
			WithPort(p.HTTPGet.Port).
			WithScheme(p.HTTPGet.Scheme))
	}
	if p.TCPSocket != nil {
		ac.WithTCPSocket(corev1ac.TCPSocketAction().WithPort(p.TCPSocket.Port))
	}
	return ac
}

// Changes lists what applying the plan would change in d, in a stable order
// (grace period, then per container preStop and readiness probe). It compares
// only the fields the apply sends, with the API server's defaults filled in,
// plus a readiness probe the operator owns and no longer sends (leave, or the
// container stopped serving), whose fields apply removes unless another
// manager owns them too. An empty result means d already carries the plan: the
// operator must not write.
func Changes(w workload.Workload, p Plan) []Change {
	return changes(w, p, Owned(w.ManagedFields))
}

func changes(w workload.Workload, p Plan, own Ownership) []Change {
	var changes []Change
	spec := podSpec(w)
	current := apiDefaultGracePeriod
	if spec.TerminationGracePeriodSeconds != nil {
		current = clamp32(*spec.TerminationGracePeriodSeconds)
	}
	if current != p.TerminationGracePeriodSeconds {
		changes = append(changes, Change{
			Field:  "terminationGracePeriodSeconds",
			Path:   fieldowners.PodSpecField("terminationGracePeriodSeconds"),
			Before: strconv.Itoa(int(current)),
			After:  strconv.Itoa(int(p.TerminationGracePeriodSeconds)),
		})
	}

	for i := range p.Containers {
		cp := &p.Containers[i]
		var c *corev1.Container
		if j := slices.IndexFunc(spec.Containers, func(c corev1.Container) bool { return c.Name == cp.Name }); j >= 0 {
			c = &spec.Containers[j]
		} else {
			c = &corev1.Container{Name: cp.Name}
		}
		prefix := "containers[" + cp.Name + "]."

		var hook *corev1.LifecycleHandler
		if c.Lifecycle != nil {
			hook = c.Lifecycle.PreStop
		}
		if want := sentPreStop(cp); want != nil && !handlerCarries(hook, want) {
			changes = append(changes, Change{
				Field:  prefix + "lifecycle.preStop",
				Path:   fieldowners.ContainerField(cp.Name, "lifecycle", "preStop"),
				Before: orNone(DescribeHandler(hook)),
				After:  DescribeHandler(want),
			})
		}

		have := c.ReadinessProbe
		co := own.Containers[cp.Name]
		probePath := fieldowners.ContainerField(cp.Name, "readinessProbe")
		switch want := sentProbe(cp); {
		case want != nil && !probeCarries(have, want):
			before, after := DescribeProbe(have), DescribeProbe(want)
			if before == after {
				before, after = describeProbeLong(have), describeProbeLong(want)
			}
			changes = append(changes, Change{Field: prefix + "readinessProbe", Path: probePath, Before: before, After: after})
		case want == nil && have != nil && co.ReadinessProbeSole:
			// Apply removes the fields only the operator owns.
			after := "none"
			if co.ReadinessProbeOthers {
				after = "only the fields other managers own"
			}
			changes = append(changes, Change{Field: prefix + "readinessProbe", Path: probePath, Before: DescribeProbe(have), After: after})
		}
	}
	return changes
}

// handlerCarries says whether the live hook already has the fields want sets.
func handlerCarries(have, want *corev1.LifecycleHandler) bool {
	if have == nil {
		return false
	}
	if want.Sleep != nil && (have.Sleep == nil || have.Sleep.Seconds != want.Sleep.Seconds) {
		return false
	}
	if want.Exec != nil && (have.Exec == nil || !slices.Equal(have.Exec.Command, want.Exec.Command)) {
		return false
	}
	return true
}

// probeCarries says whether the live probe already has the fields want sets,
// reading absent numbers and scheme as the API server defaults them. Fields
// the plan does not send (initialDelaySeconds, headers) are someone else's.
func probeCarries(have, want *corev1.Probe) bool {
	if have == nil {
		return false
	}
	if orDefault(have.TimeoutSeconds, apiDefaultProbeTimeout) != want.TimeoutSeconds ||
		orDefault(have.PeriodSeconds, apiDefaultProbePeriod) != want.PeriodSeconds ||
		orDefault(have.SuccessThreshold, apiDefaultProbeSuccess) != want.SuccessThreshold ||
		orDefault(have.FailureThreshold, apiDefaultProbeFailure) != want.FailureThreshold {
		return false
	}
	if w := want.HTTPGet; w != nil {
		h := have.HTTPGet
		if h == nil || h.Path != w.Path || h.Port != w.Port || schemeOrDefault(h.Scheme) != schemeOrDefault(w.Scheme) {
			return false
		}
	}
	if w := want.TCPSocket; w != nil && (have.TCPSocket == nil || have.TCPSocket.Port != w.Port) {
		return false
	}
	return true
}

func schemeOrDefault(s corev1.URIScheme) corev1.URIScheme {
	if s == "" {
		return corev1.URISchemeHTTP
	}
	return s
}

func orNone(s string) string {
	if s == "" {
		return "none"
	}
	return s
}

// CustomPreStops names the containers whose preStop hook is not a sleep and is
// left as it is: the Deployment is then not fully protected (Warning
// CustomPreStopHook).
func (p Plan) CustomPreStops() []string {
	var names []string
	for _, c := range p.Containers {
		if c.PreStop == PreStopCustom {
			names = append(names, c.Name)
		}
	}
	return names
}

// Describe is a one-line summary of the plan for status messages and Events,
// for example "preStop sleep 40s, grace 70s (shutdown 30s), readinessProbe
// derived for app".
func Describe(p Plan) string {
	var b strings.Builder
	fmt.Fprintf(&b, "preStop sleep %ds, grace %ds (shutdown %ds)", p.PreStopSeconds, p.TerminationGracePeriodSeconds, p.ShutdownSeconds)
	group := func(label string, match func(ContainerPlan) bool) {
		var names []string
		for _, c := range p.Containers {
			if match(c) {
				names = append(names, c.Name)
			}
		}
		if len(names) > 0 {
			fmt.Fprintf(&b, ", %s %s", label, strings.Join(names, ","))
		}
	}
	group("user's longer sleep kept for", func(c ContainerPlan) bool { return c.PreStop == PreStopKeep })
	group("custom preStop kept for", func(c ContainerPlan) bool { return c.PreStop == PreStopCustom })
	group("readinessProbe derived for", func(c ContainerPlan) bool { return c.ReadinessProbe == ProbeDerive })
	group("user's readinessProbe kept for", func(c ContainerPlan) bool { return c.ReadinessProbe == ProbeKeep })
	if p.NeedsReadinessGate {
		b.WriteString(", needs readiness gate")
	}
	return b.String()
}
