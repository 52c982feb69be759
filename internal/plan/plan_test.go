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
	"testing"

	. "github.com/onsi/gomega"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/utils/ptr"

	gdv1 "github.com/gracefuldrain/gracefuldrain/api/v1alpha1"
	"github.com/gracefuldrain/gracefuldrain/internal/discovery"
	"github.com/gracefuldrain/gracefuldrain/internal/workload"
)

func TestComputeSeed000(t *testing.T) {
	g := NewWithT(t)
	p := Compute(Input{
		Workload:    workload.OfDeployment(seed000()),
		Attachments: []discovery.Attachment{seed000Attachment()},
		Defaults:    ruleSettings(),
	})

	g.Expect(p.PreStopSeconds).To(Equal(int32(40)))
	g.Expect(p.ShutdownSeconds).To(Equal(int32(30)))
	g.Expect(p.TerminationGracePeriodSeconds).To(Equal(int32(70)))
	g.Expect(p.SleepMethod).To(Equal(SleepNative))
	g.Expect(p.NeedsReadinessGate).To(BeTrue())
	g.Expect(p.Containers).To(Equal([]ContainerPlan{{
		Name:           "demo-nginx",
		PreStop:        PreStopSet,
		PreStopHook:    nativeSleep(40),
		ReadinessProbe: ProbeDerive,
		Probe: &corev1.Probe{
			ProbeHandler: corev1.ProbeHandler{HTTPGet: &corev1.HTTPGetAction{
				Path: "/", Port: intstr.FromInt32(80), Scheme: corev1.URISchemeHTTP,
			}},
			TimeoutSeconds: 5, PeriodSeconds: 10, SuccessThreshold: 1, FailureThreshold: 2,
		},
	}}))
}

func TestComputePreStopAndGrace(t *testing.T) {
	app := func() *appsv1.Deployment { return deployment(container("app", 8080)) }
	tests := []struct {
		name        string
		d           *appsv1.Deployment
		attachments []discovery.Attachment
		defaults    func(*Defaults)
		overrides   Overrides
		preStop     int32
		shutdown    int32
		grace       int32
		gate        bool
	}{
		{name: "ALB ip", d: app(), attachments: []discovery.Attachment{albIP("app", 8080)}, preStop: 40, shutdown: 30, grace: 70, gate: true},
		{name: "ALB instance", d: app(), attachments: []discovery.Attachment{albInstance("app", 8080)}, preStop: 10, shutdown: 30, grace: 40},
		{name: "NLB ip", d: app(), attachments: []discovery.Attachment{nlbIP("app", 8080)}, preStop: 90, shutdown: 30, grace: 120, gate: true},
		{name: "NLB instance", d: app(), attachments: []discovery.Attachment{nlbInstance("app", 8080)}, preStop: 10, shutdown: 30, grace: 40},
		{
			name: "several attachments: the longest drain",
			d:    app(), attachments: []discovery.Attachment{albInstance("app", 8080), nlbIP("app", 8080), albIP("app", 8080)},
			preStop: 90, shutdown: 30, grace: 120, gate: true,
		},
		{
			name: "instance and ALB ip",
			d:    app(), attachments: []discovery.Attachment{albInstance("app", 8080), albIP("app", 8080)},
			preStop: 40, shutdown: 30, grace: 70, gate: true,
		},
		{
			name: "manager flags",
			d:    app(), attachments: []discovery.Attachment{albIP("app", 8080)},
			defaults: func(d *Defaults) { d.ALBIPPreStopSeconds, d.ShutdownSeconds = 70, 15 },
			preStop:  70, shutdown: 15, grace: 85, gate: true,
		},
		{
			name: "prestop-seconds override, longer",
			d:    app(), attachments: []discovery.Attachment{albIP("app", 8080)},
			overrides: Overrides{PreStopSeconds: ptr.To[int32](120)},
			preStop:   120, shutdown: 30, grace: 150, gate: true,
		},
		{
			name: "prestop-seconds override, shorter than the load balancer needs",
			d:    app(), attachments: []discovery.Attachment{nlbIP("app", 8080)},
			overrides: Overrides{PreStopSeconds: ptr.To[int32](5)},
			preStop:   5, shutdown: 30, grace: 35, gate: true,
		},
		{
			name: "shutdown-seconds override",
			d:    app(), attachments: []discovery.Attachment{albIP("app", 8080)},
			overrides: Overrides{ShutdownSeconds: ptr.To[int32](60)},
			preStop:   40, shutdown: 60, grace: 100, gate: true,
		},
		{
			name: "user's longer grace is kept",
			d:    withGrace(app(), 300), attachments: []discovery.Attachment{albIP("app", 8080)},
			preStop: 40, shutdown: 30, grace: 300, gate: true,
		},
		{
			name: "user's shorter grace is raised",
			d:    withGrace(app(), 45), attachments: []discovery.Attachment{albIP("app", 8080)},
			preStop: 40, shutdown: 30, grace: 70, gate: true,
		},
		{
			name: "grace never lowered, even by overrides",
			d:    withGrace(app(), 70), attachments: []discovery.Attachment{albIP("app", 8080)},
			overrides: Overrides{PreStopSeconds: ptr.To[int32](5), ShutdownSeconds: ptr.To[int32](5)},
			preStop:   5, shutdown: 5, grace: 70, gate: true,
		},
		{
			name: "a kept longer user sleep counts for the grace period",
			d:    deployment(withPreStop(container("app", 8080), nativeSleep(120))), attachments: []discovery.Attachment{albIP("app", 8080)},
			preStop: 40, shutdown: 30, grace: 150, gate: true,
		},
		{
			name: "no attachments",
			d:    app(), preStop: 0, shutdown: 30, grace: 30,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			g := NewWithT(t)
			defaults := ruleSettings()
			if tt.defaults != nil {
				tt.defaults(&defaults)
			}
			p := Compute(Input{Workload: workload.OfDeployment(tt.d), Attachments: tt.attachments, Defaults: defaults, Overrides: tt.overrides})
			g.Expect(p.PreStopSeconds).To(Equal(tt.preStop), "preStop")
			g.Expect(p.ShutdownSeconds).To(Equal(tt.shutdown), "shutdown")
			g.Expect(p.TerminationGracePeriodSeconds).To(Equal(tt.grace), "grace")
			g.Expect(p.NeedsReadinessGate).To(Equal(tt.gate), "readiness gate")
		})
	}
}

func TestComputePreStopHooks(t *testing.T) {
	tests := []struct {
		name     string
		hook     *corev1.LifecycleHandler
		method   SleepMethod
		owned    string // FieldsV1 of the container owned by the operator, "" for none
		override *int32
		action   PreStopAction
		existing string
		sent     *corev1.LifecycleHandler
	}{
		{name: "no hook, native method", method: SleepNative, action: PreStopSet, sent: nativeSleep(40)},
		{name: "no hook, exec method", method: SleepExec, action: PreStopSet, sent: execHook("sleep", "40")},
		{name: "no hook, method unset means native", action: PreStopSet, sent: nativeSleep(40)},
		{name: "native sleep longer: kept", hook: nativeSleep(60), action: PreStopKeep, existing: "sleep 60s"},
		{name: "native sleep as long: kept", hook: nativeSleep(40), action: PreStopKeep, existing: "sleep 40s"},
		{name: "native sleep shorter: raised natively", hook: nativeSleep(5), method: SleepExec, action: PreStopRaise, existing: "sleep 5s", sent: nativeSleep(40)},
		{name: "exec sleep longer: kept", hook: execHook("sleep", "60"), action: PreStopKeep, existing: "exec [sleep 60]"},
		{name: "exec sleep shorter: raised as exec", hook: execHook("sleep", "5"), method: SleepNative, action: PreStopRaise, existing: "exec [sleep 5]", sent: execHook("sleep", "40")},
		{name: "/bin/sleep shorter: keeps the path", hook: execHook("/bin/sleep", "5"), action: PreStopRaise, existing: "exec [/bin/sleep 5]", sent: execHook("/bin/sleep", "40")},
		{name: "/usr/bin/sleep as long: kept", hook: execHook("/usr/bin/sleep", "40"), action: PreStopKeep, existing: "exec [/usr/bin/sleep 40]"},
		{name: "sleep with minutes: kept", hook: execHook("sleep", "1m"), action: PreStopKeep, existing: "exec [sleep 1m]"},
		{name: "sh -c sleep shorter: raised in the shell", hook: execHook("sh", "-c", "sleep 5"), action: PreStopRaise, existing: "exec [sh -c sleep 5]", sent: execHook("sh", "-c", "sleep 40")},
		{name: "/bin/sh -c sleep longer: kept", hook: execHook("/bin/sh", "-c", " sleep 100 "), action: PreStopKeep, existing: "exec [/bin/sh -c  sleep 100 ]"},
		{name: "custom exec", hook: execHook("/bin/drain"), action: PreStopCustom, existing: "exec [/bin/drain]"},
		{name: "shell doing more than sleeping", hook: execHook("sh", "-c", "sleep 5; nginx -s quit"), action: PreStopCustom, existing: "exec [sh -c sleep 5; nginx -s quit]"},
		{name: "fractional sleep is not guessed", hook: execHook("sleep", "2.5"), action: PreStopCustom, existing: "exec [sleep 2.5]"},
		{name: "httpGet hook", hook: httpHook(8080, "/drain"), action: PreStopCustom, existing: "httpGet :8080/drain"},
		{
			name: "operator's native sleep is re-applied with the plan's value",
			hook: nativeSleep(40), owned: ownedSleepFields, override: ptr.To[int32](20),
			action: PreStopSet, existing: "", sent: nativeSleep(20), // the operator's own hook is no "existing" one
		},
		{
			name: "operator's exec sleep stays exec when the method is native",
			hook: execHook("sleep", "40"), owned: ownedExecFields, method: SleepNative, override: ptr.To[int32](60),
			action: PreStopSet, existing: "", sent: execHook("sleep", "60"),
		},
		{
			name: "operator's sleep at the plan's value is still sent (it owns it)",
			hook: nativeSleep(40), owned: ownedSleepFields,
			action: PreStopSet, existing: "", sent: nativeSleep(40),
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			g := NewWithT(t)
			c := container("app", 8080)
			if tt.hook != nil {
				c = withPreStop(c, tt.hook)
			}
			d := deployment(c)
			if tt.owned != "" {
				d.ManagedFields = append(d.ManagedFields, operatorOwns(containerFields("app", tt.owned)))
			}
			defaults := ruleSettings()
			defaults.SleepMethod = tt.method
			p := Compute(Input{
				Workload: workload.OfDeployment(d), Attachments: []discovery.Attachment{albIP("app", 8080)},
				Defaults: defaults, Overrides: Overrides{PreStopSeconds: tt.override},
			})
			g.Expect(p.Containers).To(HaveLen(1))
			cp := p.Containers[0]
			g.Expect(cp.PreStop).To(Equal(tt.action))
			g.Expect(cp.ExistingPreStop).To(Equal(tt.existing))
			g.Expect(cp.PreStopHook).To(Equal(tt.sent))
		})
	}
}

func TestComputeReadinessProbes(t *testing.T) {
	userProbe := &corev1.Probe{ProbeHandler: corev1.ProbeHandler{HTTPGet: &corev1.HTTPGetAction{Path: "/ready", Port: intstr.FromString("http")}}}
	httpProbe := func(path string, port int32, scheme corev1.URIScheme, timeout, period, failure int32) *corev1.Probe {
		return &corev1.Probe{
			ProbeHandler:   corev1.ProbeHandler{HTTPGet: &corev1.HTTPGetAction{Path: path, Port: intstr.FromInt32(port), Scheme: scheme}},
			TimeoutSeconds: timeout, PeriodSeconds: period, SuccessThreshold: 1, FailureThreshold: failure,
		}
	}
	tcpProbe := func(port int32, timeout, period, failure int32) *corev1.Probe {
		return &corev1.Probe{
			ProbeHandler:   corev1.ProbeHandler{TCPSocket: &corev1.TCPSocketAction{Port: intstr.FromInt32(port)}},
			TimeoutSeconds: timeout, PeriodSeconds: period, SuccessThreshold: 1, FailureThreshold: failure,
		}
	}
	tests := []struct {
		name        string
		c           corev1.Container
		owned       string
		attachments []discovery.Attachment
		leave       bool
		action      ProbeAction
		probe       *corev1.Probe
	}{
		{name: "ALB defaults", c: container("app", 8080), attachments: []discovery.Attachment{albIP("app", 8080)}, action: ProbeDerive, probe: httpProbe("/", 8080, "HTTP", 5, 10, 2)},
		{name: "NLB defaults: tcpSocket", c: container("app", 8443), attachments: []discovery.Attachment{nlbIP("app", 8443)}, action: ProbeDerive, probe: tcpProbe(8443, 10, 10, 3)},
		{
			name: "HTTPS on a health path, interval under 10 s",
			c:    container("app", 8443),
			attachments: []discovery.Attachment{withHealthCheck(albIP("app", 8443), func(hc *gdv1.HealthCheck) {
				hc.Protocol, hc.Path, hc.IntervalSeconds, hc.TimeoutSeconds, hc.UnhealthyThreshold = "HTTPS", "/healthz", 5, 2, 4
			})},
			action: ProbeDerive, probe: httpProbe("/healthz", 8443, "HTTPS", 2, 5, 4),
		},
		{
			name: "NLB HTTP health check",
			c:    container("app", 8080),
			attachments: []discovery.Attachment{withHealthCheck(nlbIP("app", 8080), func(hc *gdv1.HealthCheck) {
				hc.Protocol, hc.Path = "HTTP", "/health"
			})},
			action: ProbeDerive, probe: httpProbe("/health", 8080, "HTTP", 10, 10, 3),
		},
		{
			name: "GRPC: tcpSocket",
			c:    container("app", 9000),
			attachments: []discovery.Attachment{withHealthCheck(albIP("app", 9000), func(hc *gdv1.HealthCheck) {
				hc.Protocol, hc.Path, hc.SuccessCodes = "GRPC", "/AWS.ALB/healthcheck", "12"
			})},
			action: ProbeDerive, probe: tcpProbe(9000, 5, 10, 2),
		},
		{
			name: "numeric health port the container declares",
			c:    container("app", 8080, 8081),
			attachments: []discovery.Attachment{withHealthCheck(albIP("app", 8080), func(hc *gdv1.HealthCheck) {
				hc.Port, hc.Path = "8081", "/healthz"
			})},
			action: ProbeDerive, probe: httpProbe("/healthz", 8081, "HTTP", 5, 10, 2),
		},
		{
			name: "numeric health port the container does not declare",
			c:    container("app", 8080),
			attachments: []discovery.Attachment{withHealthCheck(albIP("app", 8080), func(hc *gdv1.HealthCheck) {
				hc.Port = "31080"
			})},
			action: ProbeDerive, probe: httpProbe("/", 8080, "HTTP", 5, 10, 2),
		},
		{
			name: "success codes the kubelet would fail on: tcpSocket",
			c:    container("app", 8080),
			attachments: []discovery.Attachment{withHealthCheck(albIP("app", 8080), func(hc *gdv1.HealthCheck) {
				hc.SuccessCodes = "200-499"
			})},
			action: ProbeDerive, probe: tcpProbe(8080, 5, 10, 2),
		},
		{
			name: "success code range within 200-399",
			c:    container("app", 8080),
			attachments: []discovery.Attachment{withHealthCheck(albIP("app", 8080), func(hc *gdv1.HealthCheck) {
				hc.SuccessCodes = "200-299, 302"
			})},
			action: ProbeDerive, probe: httpProbe("/", 8080, "HTTP", 5, 10, 2),
		},
		{
			name: "HTTP preferred over an earlier TCP attachment",
			c:    container("app", 8080),
			attachments: []discovery.Attachment{nlbIP("app", 8080), withHealthCheck(albIP("app", 8080), func(hc *gdv1.HealthCheck) {
				hc.Path = "/second"
			}), withHealthCheck(albIP("app", 8080), func(hc *gdv1.HealthCheck) {
				hc.Path = "/third"
			})},
			action: ProbeDerive, probe: httpProbe("/second", 8080, "HTTP", 5, 10, 2),
		},
		{
			name: "zero health-check numbers become the API defaults",
			c:    container("app", 8080),
			attachments: []discovery.Attachment{withHealthCheck(albIP("app", 8080), func(hc *gdv1.HealthCheck) {
				hc.Path, hc.IntervalSeconds, hc.TimeoutSeconds, hc.UnhealthyThreshold = "", 0, 0, 0
			})},
			action: ProbeDerive, probe: httpProbe("/", 8080, "HTTP", 1, 10, 3),
		},
		{name: "user's probe kept", c: withProbe(container("app", 8080), userProbe), attachments: []discovery.Attachment{albIP("app", 8080)}, action: ProbeKeep},
		{
			name: "operator's probe re-derived",
			c:    withProbe(container("app", 8080), httpProbe("/old", 8080, "HTTP", 5, 10, 2)), owned: ownedProbeFields,
			attachments: []discovery.Attachment{withHealthCheck(albIP("app", 8080), func(hc *gdv1.HealthCheck) { hc.Path = "/new" })},
			action:      ProbeDerive, probe: httpProbe("/new", 8080, "HTTP", 5, 10, 2),
		},
		{name: "leave", c: container("app", 8080), attachments: []discovery.Attachment{albIP("app", 8080)}, leave: true, action: ProbeLeave},
		{name: "leave with the operator's probe", c: withProbe(container("app", 8080), httpProbe("/", 8080, "HTTP", 5, 10, 2)), owned: ownedProbeFields, attachments: []discovery.Attachment{albIP("app", 8080)}, leave: true, action: ProbeLeave},
		{name: "attachment for another container", c: container("app", 8080), attachments: []discovery.Attachment{albIP("other", 8080)}, action: ProbeNotServing},
		{name: "unresolved target port", c: container("app", 8080), attachments: []discovery.Attachment{albIP("app", 0)}, action: ProbeNotServing},
		{name: "user's probe on a container not serving", c: withProbe(container("app", 8080), userProbe), attachments: []discovery.Attachment{albIP("other", 8080)}, action: ProbeNotServing},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			g := NewWithT(t)
			d := deployment(tt.c)
			if tt.owned != "" {
				d.ManagedFields = append(d.ManagedFields, operatorOwns(containerFields(tt.c.Name, tt.owned)))
			}
			p := Compute(Input{Workload: workload.OfDeployment(d), Attachments: tt.attachments, Defaults: ruleSettings(), Overrides: Overrides{LeaveReadinessProbes: tt.leave}})
			g.Expect(p.Containers[0].ReadinessProbe).To(Equal(tt.action))
			g.Expect(p.Containers[0].Probe).To(Equal(tt.probe))
		})
	}
}

func TestComputeMultiContainer(t *testing.T) {
	g := NewWithT(t)
	d := deployment(
		container("app", 8080),
		withPreStop(container("envoy", 9901), execHook("/usr/local/bin/drain-envoy")),
		container("log-shipper"),
	)
	always := corev1.ContainerRestartPolicyAlways
	d.Spec.Template.Spec.InitContainers = []corev1.Container{
		container("migrate"),
		{Name: "istio-proxy", Image: "istio/proxyv2", RestartPolicy: &always, Ports: []corev1.ContainerPort{{ContainerPort: 15090}}},
	}
	p := Compute(Input{Workload: workload.OfDeployment(d), Attachments: []discovery.Attachment{albIP("app", 8080), albIP("istio-proxy", 15090)}, Defaults: ruleSettings()})

	type summary struct {
		Name    string
		PreStop PreStopAction
		Probe   ProbeAction
	}
	var got []summary
	for _, c := range p.Containers {
		got = append(got, summary{c.Name, c.PreStop, c.ReadinessProbe})
	}
	g.Expect(got).To(Equal([]summary{
		{"app", PreStopSet, ProbeDerive},
		{"envoy", PreStopCustom, ProbeNotServing},
		{"log-shipper", PreStopSet, ProbeNotServing},
	}), "init containers and native sidecars are not planned")
	g.Expect(p.CustomPreStops()).To(Equal([]string{"envoy"}))
	g.Expect(Describe(p)).To(Equal("preStop sleep 40s, grace 70s (shutdown 30s), custom preStop kept for envoy, readinessProbe derived for app, needs readiness gate"))

	ac := ApplyConfiguration(workload.OfDeployment(d), p)
	g.Expect(ac.Spec.Template.Spec.InitContainers).To(BeEmpty())
	var names []string
	for _, c := range ac.Spec.Template.Spec.Containers {
		names = append(names, *c.Name)
	}
	g.Expect(names).To(Equal([]string{"app", "log-shipper"}))
}

func TestComputeDoesNotModifyInput(t *testing.T) {
	g := NewWithT(t)
	d := deployment(withPreStop(container("app", 8080), execHook("sh", "-c", "sleep 5")))
	d.ManagedFields = []metav1.ManagedFieldsEntry{operatorOwns(containerFields("app", ownedExecFields))}
	before := d.DeepCopy()
	p := Compute(Input{Workload: workload.OfDeployment(d), Attachments: []discovery.Attachment{albIP("app", 8080)}, Defaults: ruleSettings()})
	p.Containers[0].PreStopHook.Exec.Command[0] = "changed"
	g.Expect(d).To(Equal(before))
}

func TestComputeWithoutTemplate(t *testing.T) {
	g := NewWithT(t)
	p := Compute(Input{Attachments: []discovery.Attachment{albIP("app", 8080)}, Defaults: ruleSettings()})
	g.Expect(p.Containers).To(BeEmpty())
	g.Expect(p.TerminationGracePeriodSeconds).To(Equal(int32(70)))
	g.Expect(Changes(workload.Workload{}, p)).To(HaveLen(1))
}

// The defaults users get, per target type, as the README's "Why these
// defaults" lists them with their evidence (test/e2e ties them to the fitted
// model).
func TestDefaultsFromTheEvidence(t *testing.T) {
	for _, tt := range []struct {
		name           string
		attachment     discovery.Attachment
		preStop, grace int32
	}{
		{"ALB ip", albIP("app", 8080), 70, 100},
		{"NLB ip", nlbIP("app", 8080), 190, 220},
		{"ALB instance", albInstance("app", 8080), 20, 50},
		{"NLB instance", nlbInstance("app", 8080), 20, 50},
	} {
		t.Run(tt.name, func(t *testing.T) {
			p := Compute(Input{Workload: workload.OfDeployment(deployment(container("app", 8080))), Attachments: []discovery.Attachment{tt.attachment}, Defaults: DefaultSettings()})
			if p.PreStopSeconds != tt.preStop || p.TerminationGracePeriodSeconds != tt.grace {
				t.Errorf("preStop %d s, grace %d s; want %d s and %d s", p.PreStopSeconds, p.TerminationGracePeriodSeconds, tt.preStop, tt.grace)
			}
		})
	}
}
