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
	"strings"
	"testing"

	. "github.com/onsi/gomega"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/structured-merge-diff/v6/fieldpath"

	gdv1 "github.com/gracefuldrain/gracefuldrain/api/v1alpha1"
	"github.com/gracefuldrain/gracefuldrain/internal/discovery"
	"github.com/gracefuldrain/gracefuldrain/internal/workload"
)

func TestApplyConfigurationJSON(t *testing.T) {
	always := corev1.ContainerRestartPolicyAlways
	multi := deployment(
		container("app", 8080),
		withPreStop(container("envoy", 9901), execHook("/usr/local/bin/drain-envoy")),
		withProbe(withPreStop(container("worker", 9000), nativeSleep(300)), &corev1.Probe{ProbeHandler: corev1.ProbeHandler{TCPSocket: &corev1.TCPSocketAction{Port: intstr.FromInt(9000)}}}),
		withPreStop(container("legacy", 7000), execHook("sh", "-c", "sleep 3")),
	)
	multi.Spec.Template.Spec.InitContainers = []corev1.Container{{Name: "proxy", Image: "proxy", RestartPolicy: &always}}

	tests := []struct {
		name        string
		d           *appsv1.Deployment
		attachments []discovery.Attachment
		defaults    func(*Defaults)
		overrides   Overrides
		want        string
	}{
		{
			name: "seed 000", d: seed000(), attachments: []discovery.Attachment{seed000Attachment()},
			want: `{"kind":"Deployment","apiVersion":"apps/v1",
				"metadata":{"name":"demo-nginx-deployment","namespace":"demo-nginx"},
				"spec":{"template":{"spec":{"terminationGracePeriodSeconds":70,"containers":[{
					"name":"demo-nginx",
					"lifecycle":{"preStop":{"sleep":{"seconds":40}}},
					"readinessProbe":{"httpGet":{"path":"/","port":80,"scheme":"HTTP"},
						"timeoutSeconds":5,"periodSeconds":10,"successThreshold":1,"failureThreshold":2}}]}}}}`,
		},
		{
			name: "exec method, NLB tcp", d: deployment(container("app", 8443)), attachments: []discovery.Attachment{nlbIP("app", 8443)},
			defaults: func(d *Defaults) { d.SleepMethod = SleepExec },
			want: `{"kind":"Deployment","apiVersion":"apps/v1","metadata":{"name":"web","namespace":"shop"},
				"spec":{"template":{"spec":{"terminationGracePeriodSeconds":120,"containers":[{
					"name":"app",
					"lifecycle":{"preStop":{"exec":{"command":["sleep","90"]}}},
					"readinessProbe":{"tcpSocket":{"port":8443},
						"timeoutSeconds":10,"periodSeconds":10,"successThreshold":1,"failureThreshold":3}}]}}}}`,
		},
		{
			name: "only what the plan sets, per container", d: multi,
			attachments: []discovery.Attachment{albIP("app", 8080), albIP("envoy", 9901), albIP("worker", 9000), albIP("legacy", 0)},
			want: `{"kind":"Deployment","apiVersion":"apps/v1","metadata":{"name":"web","namespace":"shop"},
				"spec":{"template":{"spec":{"terminationGracePeriodSeconds":330,"containers":[
					{"name":"app","lifecycle":{"preStop":{"sleep":{"seconds":40}}},
						"readinessProbe":{"httpGet":{"path":"/","port":8080,"scheme":"HTTP"},
							"timeoutSeconds":5,"periodSeconds":10,"successThreshold":1,"failureThreshold":2}},
					{"name":"envoy",
						"readinessProbe":{"httpGet":{"path":"/","port":9901,"scheme":"HTTP"},
							"timeoutSeconds":5,"periodSeconds":10,"successThreshold":1,"failureThreshold":2}},
					{"name":"legacy","lifecycle":{"preStop":{"exec":{"command":["sh","-c","sleep 40"]}}}}
				]}}}}`,
		},
		{
			name: "leave probes, everything kept: only the grace period",
			d:    withGrace(deployment(withPreStop(container("app", 8080), nativeSleep(45))), 20), attachments: []discovery.Attachment{albIP("app", 8080)},
			overrides: Overrides{LeaveReadinessProbes: true},
			want: `{"kind":"Deployment","apiVersion":"apps/v1","metadata":{"name":"web","namespace":"shop"},
				"spec":{"template":{"spec":{"terminationGracePeriodSeconds":75}}}}`,
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
			got, err := json.Marshal(ApplyConfiguration(workload.OfDeployment(tt.d), p))
			g.Expect(err).NotTo(HaveOccurred())
			g.Expect(got).To(MatchJSON(tt.want))
		})
	}
}

// The managedFields paths the changes name, written out independently of the code under test.
var gracePath = fieldpath.MakePathOrDie("spec", "template", "spec", "terminationGracePeriodSeconds")

func preStopPath(container string) fieldpath.Path {
	return fieldpath.MakePathOrDie("spec", "template", "spec", "containers", fieldpath.KeyByFields("name", container), "lifecycle", "preStop")
}

func probePath(container string) fieldpath.Path {
	return fieldpath.MakePathOrDie("spec", "template", "spec", "containers", fieldpath.KeyByFields("name", container), "readinessProbe")
}

func TestChangesSeed000(t *testing.T) {
	g := NewWithT(t)
	d := seed000()
	applyAPIDefaults(d) // as read from the cluster
	p := Compute(Input{Workload: workload.OfDeployment(d), Attachments: []discovery.Attachment{seed000Attachment()}, Defaults: ruleSettings()})
	g.Expect(Changes(workload.OfDeployment(d), p)).To(Equal([]Change{
		{Field: "terminationGracePeriodSeconds", Path: gracePath, Before: "30", After: "70"},
		{Field: "containers[demo-nginx].lifecycle.preStop", Path: preStopPath("demo-nginx"), Before: "none", After: "sleep 40s"},
		{Field: "containers[demo-nginx].readinessProbe", Path: probePath("demo-nginx"), Before: "none", After: "httpGet HTTP :80/ every 10s"},
	}))
}

func TestChanges(t *testing.T) {
	derived := func() *corev1.Probe {
		return &corev1.Probe{
			ProbeHandler:   corev1.ProbeHandler{HTTPGet: &corev1.HTTPGetAction{Path: "/", Port: intstr.FromInt32(8080), Scheme: corev1.URISchemeHTTP}},
			TimeoutSeconds: 5, PeriodSeconds: 10, SuccessThreshold: 1, FailureThreshold: 2,
		}
	}
	tests := []struct {
		name  string
		c     corev1.Container
		owned string
		grace int64
		leave bool
		want  []Change
	}{
		{
			name: "carries the plan",
			c:    withProbe(withPreStop(container("app", 8080), nativeSleep(40)), derived()), owned: ownedSleepFields + "," + ownedProbeFields, grace: 70,
		},
		{
			name: "carries the plan, written by someone else",
			c:    withProbe(withPreStop(container("app", 8080), nativeSleep(40)), derived()), grace: 70,
		},
		{
			name: "raise an exec sleep, grace",
			c:    withPreStop(container("app", 8080), execHook("sleep", "5")), grace: 60,
			want: []Change{
				{Field: "terminationGracePeriodSeconds", Path: gracePath, Before: "60", After: "70"},
				{Field: "containers[app].lifecycle.preStop", Path: preStopPath("app"), Before: "exec [sleep 5]", After: "exec [sleep 40]"},
				{Field: "containers[app].readinessProbe", Path: probePath("app"), Before: "none", After: "httpGet HTTP :8080/ every 10s"},
			},
		},
		{
			name: "the operator's probe with another timeout: long descriptions",
			c: withProbe(withPreStop(container("app", 8080), nativeSleep(40)), func() *corev1.Probe {
				p := derived()
				p.TimeoutSeconds = 1
				return p
			}()), owned: ownedSleepFields + "," + ownedProbeFields, grace: 70,
			want: []Change{{
				Field:  "containers[app].readinessProbe",
				Path:   probePath("app"),
				Before: "httpGet HTTP :8080/ every 10s, timeout 1s, success 1, failure 2",
				After:  "httpGet HTTP :8080/ every 10s, timeout 5s, success 1, failure 2",
			}},
		},
		{
			name: "leave with the operator's probe: apply removes it",
			c:    withProbe(withPreStop(container("app", 8080), nativeSleep(40)), derived()), owned: ownedSleepFields + "," + ownedProbeFields, grace: 70, leave: true,
			want: []Change{{Field: "containers[app].readinessProbe", Path: probePath("app"), Before: "httpGet HTTP :8080/ every 10s", After: "none"}},
		},
		{
			name: "leave with the user's probe: nothing",
			c:    withProbe(withPreStop(container("app", 8080), nativeSleep(40)), derived()), grace: 70, leave: true,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			g := NewWithT(t)
			d := withGrace(deployment(tt.c), tt.grace)
			if tt.owned != "" {
				d.ManagedFields = append(d.ManagedFields, operatorOwns(containerFields("app", tt.owned)))
			}
			applyAPIDefaults(d)
			p := Compute(Input{Workload: workload.OfDeployment(d), Attachments: []discovery.Attachment{albIP("app", 8080)}, Defaults: ruleSettings(), Overrides: Overrides{LeaveReadinessProbes: tt.leave}})
			g.Expect(Changes(workload.OfDeployment(d), p)).To(Equal(tt.want))
		})
	}
}

// step is one reconcile against the fake API server: the inputs and the
// changes the plan must announce before it is applied.
type step struct {
	name        string
	attachments []discovery.Attachment
	defaults    func(*Defaults)
	overrides   Overrides
	before      func(*fakeAPIServer) // what users do before this step
	changes     []string             // the Field of every change expected
	check       func(Gomega, *appsv1.Deployment)
}

// TestApplyRoundTrip applies each plan through real server-side apply with
// managedFields and the API server's defaults, and checks that Changes
// announced exactly the fields that changed, that a Deployment carrying the
// plan gets no further change, and that applying again changes nothing.
func TestApplyRoundTrip(t *testing.T) {
	const userSSA, userCSA = "kubectl", "kubectl-client-side-apply"
	alb := []discovery.Attachment{albIP("app", 8080)}
	scenarios := []struct {
		name    string
		d       *appsv1.Deployment
		creator string
		steps   []step
	}{
		{
			name: "seed 000 created by kubectl apply", d: seed000(), creator: userCSA,
			steps: []step{{
				attachments: []discovery.Attachment{seed000Attachment()},
				changes:     []string{"terminationGracePeriodSeconds", "containers[demo-nginx].lifecycle.preStop", "containers[demo-nginx].readinessProbe"},
				check: func(g Gomega, d *appsv1.Deployment) {
					c := d.Spec.Template.Spec.Containers[0]
					g.Expect(c.Lifecycle.PreStop).To(Equal(nativeSleep(40)))
					g.Expect(*d.Spec.Template.Spec.TerminationGracePeriodSeconds).To(Equal(int64(70)))
					g.Expect(c.ReadinessProbe.HTTPGet.Port).To(Equal(intstr.FromInt(80)))
					g.Expect(c.Image).To(Equal("nginx:latest"), "the user's fields stay")
				},
			}},
		},
		{
			name: "seed 000 created by server-side apply, exec method", d: seed000(), creator: userSSA,
			steps: []step{{
				attachments: []discovery.Attachment{seed000Attachment()},
				defaults:    func(d *Defaults) { d.SleepMethod = SleepExec },
				changes:     []string{"terminationGracePeriodSeconds", "containers[demo-nginx].lifecycle.preStop", "containers[demo-nginx].readinessProbe"},
				check: func(g Gomega, d *appsv1.Deployment) {
					g.Expect(d.Spec.Template.Spec.Containers[0].Lifecycle.PreStop).To(Equal(execHook("sleep", "40")))
				},
			}},
		},
		{
			name: "short user sleeps raised in their own form", creator: userSSA,
			d: deployment(
				withPreStop(container("app", 8080), nativeSleep(5)),
				withPreStop(container("exec"), execHook("/bin/sleep", "5")),
				withPreStop(container("shell"), execHook("sh", "-c", "sleep 5")),
			),
			steps: []step{{
				attachments: alb,
				changes: []string{"terminationGracePeriodSeconds", "containers[app].lifecycle.preStop", "containers[app].readinessProbe",
					"containers[exec].lifecycle.preStop", "containers[shell].lifecycle.preStop"},
				check: func(g Gomega, d *appsv1.Deployment) {
					cs := d.Spec.Template.Spec.Containers
					g.Expect(cs[0].Lifecycle.PreStop).To(Equal(nativeSleep(40)))
					g.Expect(cs[1].Lifecycle.PreStop).To(Equal(execHook("/bin/sleep", "40")))
					g.Expect(cs[2].Lifecycle.PreStop).To(Equal(execHook("sh", "-c", "sleep 40")))
				},
			}},
		},
		{
			name: "user's longer sleep, custom hook, user's probe and grace are left alone", creator: userCSA,
			d: withGrace(deployment(
				withProbe(withPreStop(container("app", 8080), execHook("sleep", "60")), &corev1.Probe{ProbeHandler: corev1.ProbeHandler{HTTPGet: &corev1.HTTPGetAction{Path: "/ready", Port: intstr.FromInt(8080)}}}),
				withPreStop(container("envoy", 9901), httpHook(9901, "/drain")),
			), 600),
			steps: []step{{
				attachments: []discovery.Attachment{albIP("app", 8080), nlbIP("envoy", 9901)},
				// The NLB needs 90 s: the user's 60 s sleep is raised.
				changes: []string{"containers[app].lifecycle.preStop", "containers[envoy].readinessProbe"},
				check: func(g Gomega, d *appsv1.Deployment) {
					cs := d.Spec.Template.Spec.Containers
					g.Expect(cs[0].ReadinessProbe.HTTPGet.Path).To(Equal("/ready"))
					g.Expect(cs[1].Lifecycle.PreStop).To(Equal(&corev1.LifecycleHandler{HTTPGet: &corev1.HTTPGetAction{Path: "/drain", Port: intstr.FromInt(9901), Scheme: "HTTP"}}))
					g.Expect(cs[1].ReadinessProbe.TCPSocket.Port).To(Equal(intstr.FromInt(9901)))
					g.Expect(*d.Spec.Template.Spec.TerminationGracePeriodSeconds).To(Equal(int64(600)))
				},
			}},
		},
		{
			name: "already protected by its owner: no write", creator: userSSA,
			d: withGrace(deployment(withProbe(withPreStop(container("app", 8080), nativeSleep(60)), &corev1.Probe{
				ProbeHandler: corev1.ProbeHandler{TCPSocket: &corev1.TCPSocketAction{Port: intstr.FromInt(8080)}},
			})), 90),
			steps: []step{{attachments: alb}},
		},
		{
			name: "multi-container with init containers and a native sidecar", creator: userSSA,
			d: func() *appsv1.Deployment {
				always := corev1.ContainerRestartPolicyAlways
				d := deployment(container("app", 8080), container("metrics", 9090))
				d.Spec.Template.Spec.InitContainers = []corev1.Container{
					container("migrate"),
					{Name: "proxy", Image: "proxy", RestartPolicy: &always, Ports: []corev1.ContainerPort{{ContainerPort: 15001}}},
				}
				return d
			}(),
			steps: []step{{
				attachments: []discovery.Attachment{albIP("app", 8080), albIP("proxy", 15001)},
				changes:     []string{"terminationGracePeriodSeconds", "containers[app].lifecycle.preStop", "containers[app].readinessProbe", "containers[metrics].lifecycle.preStop"},
				check: func(g Gomega, d *appsv1.Deployment) {
					for _, c := range d.Spec.Template.Spec.InitContainers {
						g.Expect(c.Lifecycle).To(BeNil())
						g.Expect(c.ReadinessProbe).To(BeNil())
					}
					g.Expect(d.Spec.Template.Spec.Containers[1].ReadinessProbe).To(BeNil())
				},
			}},
		},
		{
			name: "the plan follows the load balancer and the annotations", d: deployment(container("app", 8080)), creator: userSSA,
			steps: []step{
				{
					name: "ALB", attachments: alb,
					changes: []string{"terminationGracePeriodSeconds", "containers[app].lifecycle.preStop", "containers[app].readinessProbe"},
				},
				{
					name: "health-check path changes", attachments: []discovery.Attachment{withHealthCheck(albIP("app", 8080), func(hc *gdv1.HealthCheck) { hc.Path = "/healthz" })},
					changes: []string{"containers[app].readinessProbe"},
				},
				{
					name: "now an NLB with a TCP health check", attachments: []discovery.Attachment{nlbIP("app", 8080)},
					changes: []string{"terminationGracePeriodSeconds", "containers[app].lifecycle.preStop", "containers[app].readinessProbe"},
					check: func(g Gomega, d *appsv1.Deployment) {
						p := d.Spec.Template.Spec.Containers[0].ReadinessProbe
						g.Expect(p.HTTPGet).To(BeNil(), "apply removed the operator's httpGet")
						g.Expect(p.TCPSocket.Port).To(Equal(intstr.FromInt(8080)))
					},
				},
				{
					name: "exec method flag does not rewrite the operator's native sleep", attachments: []discovery.Attachment{nlbIP("app", 8080)},
					defaults: func(d *Defaults) { d.SleepMethod = SleepExec },
				},
				{
					name: "prestop-seconds lowered: the operator's sleep follows, grace does not", attachments: []discovery.Attachment{nlbIP("app", 8080)},
					overrides: Overrides{PreStopSeconds: ptr.To[int32](30)},
					changes:   []string{"containers[app].lifecycle.preStop"},
					check: func(g Gomega, d *appsv1.Deployment) {
						g.Expect(d.Spec.Template.Spec.Containers[0].Lifecycle.PreStop).To(Equal(nativeSleep(30)))
						g.Expect(*d.Spec.Template.Spec.TerminationGracePeriodSeconds).To(Equal(int64(120)))
					},
				},
				{
					name: "readiness-probe: leave releases the operator's probe", attachments: []discovery.Attachment{nlbIP("app", 8080)},
					overrides: Overrides{PreStopSeconds: ptr.To[int32](30), LeaveReadinessProbes: true},
					changes:   []string{"containers[app].readinessProbe"},
					check: func(g Gomega, d *appsv1.Deployment) {
						g.Expect(d.Spec.Template.Spec.Containers[0].ReadinessProbe).To(BeNil())
					},
				},
				{
					name: "derive again", attachments: alb,
					changes: []string{"containers[app].lifecycle.preStop", "containers[app].readinessProbe"},
				},
				{
					name: "container stops serving: its probe is released", attachments: []discovery.Attachment{albIP("app", 0)},
					changes: []string{"containers[app].readinessProbe"},
				},
			},
		},
		{
			name: "a probe the user co-owns stays when the operator releases it", d: deployment(container("app", 8080)), creator: userSSA,
			steps: []step{
				{attachments: alb, changes: []string{"terminationGracePeriodSeconds", "containers[app].lifecycle.preStop", "containers[app].readinessProbe"}},
				{
					name: "user applies the same probe, then leave",
					before: func(s *fakeAPIServer) {
						d := deployment(withProbe(container("app", 8080), &corev1.Probe{
							ProbeHandler:   corev1.ProbeHandler{HTTPGet: &corev1.HTTPGetAction{Path: "/", Port: intstr.FromInt(8080), Scheme: "HTTP"}},
							TimeoutSeconds: 5, PeriodSeconds: 10, SuccessThreshold: 1, FailureThreshold: 2,
						}))
						if err := s.apply(d, userSSA, false); err != nil {
							s.t.Fatal(err)
						}
					},
					attachments: alb, overrides: Overrides{LeaveReadinessProbes: true},
					check: func(g Gomega, d *appsv1.Deployment) {
						g.Expect(d.Spec.Template.Spec.Containers[0].ReadinessProbe).NotTo(BeNil())
					},
				},
			},
		},
		{
			name: "a user's later edit of the operator's probe is reverted", d: deployment(container("app", 8080)), creator: userCSA,
			steps: []step{
				{attachments: alb, changes: []string{"terminationGracePeriodSeconds", "containers[app].lifecycle.preStop", "containers[app].readinessProbe"}},
				{
					name: "kubectl edit of the timeout and the delay",
					before: func(s *fakeAPIServer) {
						d := s.deployment()
						d.Spec.Template.Spec.Containers[0].ReadinessProbe.TimeoutSeconds = 1
						d.Spec.Template.Spec.Containers[0].ReadinessProbe.InitialDelaySeconds = 15
						s.update(d, "kubectl-edit")
					},
					attachments: alb, changes: []string{"containers[app].readinessProbe"},
					check: func(g Gomega, d *appsv1.Deployment) {
						p := d.Spec.Template.Spec.Containers[0].ReadinessProbe
						g.Expect(p.TimeoutSeconds).To(Equal(int32(5)))
						g.Expect(p.InitialDelaySeconds).To(Equal(int32(15)), "a field the operator does not send is the user's")
					},
				},
			},
		},
	}
	for _, sc := range scenarios {
		t.Run(sc.name, func(t *testing.T) {
			s := newFakeAPIServer(t)
			if sc.creator == userSSA {
				if err := s.apply(sc.d, userSSA, false); err != nil {
					t.Fatal(err)
				}
			} else {
				s.update(sc.d, sc.creator)
			}
			for i, st := range sc.steps {
				g := NewWithT(t)
				if st.before != nil {
					st.before(s)
				}
				defaults := ruleSettings()
				if st.defaults != nil {
					st.defaults(&defaults)
				}
				in := Input{Attachments: st.attachments, Defaults: defaults, Overrides: st.overrides}
				before := s.deployment()
				_, announced := s.applyPlan(in)
				after := s.deployment()

				var fields []string
				for _, c := range announced {
					fields = append(fields, c.Field)
				}
				g.Expect(fields).To(Equal(st.changes), "step %d %s: announced changes", i, st.name)
				expectChangedExactly(g, before, after, fields)
				if st.check != nil {
					st.check(g, after)
				}

				// The Deployment now carries the plan: nothing to write, and
				// writing anyway changes nothing.
				in.Workload = workload.OfDeployment(after)
				g.Expect(Changes(workload.OfDeployment(after), Compute(in))).To(BeEmpty(), "step %d %s: changes after apply", i, st.name)
				s.applyPlan(in)
				g.Expect(s.deployment().Spec).To(Equal(after.Spec), "step %d %s: second apply", i, st.name)
			}
		})
	}
}

// expectChangedExactly checks that the announced fields, and only they,
// differ between before and after.
func expectChangedExactly(g Gomega, before, after *appsv1.Deployment, fields []string) {
	patched := before.DeepCopy()
	for _, f := range fields {
		a := getField(g, after, f)
		g.Expect(a).NotTo(Equal(getField(g, before, f)), "%s was announced but did not change", f)
		setField(g, patched, f, a)
	}
	g.Expect(patched.Spec).To(Equal(after.Spec), "only the announced fields change")
}

// getField is the value of the part of d a Change names.
func getField(g Gomega, d *appsv1.Deployment, field string) any {
	spec := &d.Spec.Template.Spec
	if field == "terminationGracePeriodSeconds" {
		return spec.TerminationGracePeriodSeconds
	}
	c, rest := containerField(g, d, field)
	switch rest {
	case "lifecycle.preStop":
		if c.Lifecycle == nil {
			return (*corev1.LifecycleHandler)(nil)
		}
		return c.Lifecycle.PreStop
	case "readinessProbe":
		return c.ReadinessProbe
	}
	g.Expect(rest).To(BeEmpty(), "unknown field %s", field)
	return nil
}

func setField(g Gomega, d *appsv1.Deployment, field string, v any) {
	spec := &d.Spec.Template.Spec
	if field == "terminationGracePeriodSeconds" {
		spec.TerminationGracePeriodSeconds = v.(*int64)
		return
	}
	c, rest := containerField(g, d, field)
	switch rest {
	case "lifecycle.preStop":
		if c.Lifecycle == nil {
			c.Lifecycle = &corev1.Lifecycle{}
		}
		c.Lifecycle.PreStop = v.(*corev1.LifecycleHandler)
	case "readinessProbe":
		c.ReadinessProbe = v.(*corev1.Probe)
	}
}

// containerField splits "containers[app].readinessProbe" and finds the container.
func containerField(g Gomega, d *appsv1.Deployment, field string) (*corev1.Container, string) {
	name, ok := strings.CutPrefix(field, "containers[")
	g.Expect(ok).To(BeTrue(), "field %s", field)
	name, rest, ok := strings.Cut(name, "].")
	g.Expect(ok).To(BeTrue(), "field %s", field)
	cs := d.Spec.Template.Spec.Containers
	for i := range cs {
		if cs[i].Name == name {
			return &cs[i], rest
		}
	}
	g.Expect(name).To(BeEmpty(), "no container %s", name)
	return nil, ""
}
