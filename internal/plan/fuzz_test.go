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
	"reflect"
	"strconv"
	"testing"

	. "github.com/onsi/gomega"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/utils/ptr"

	gdv1 "github.com/gracefuldrain/gracefuldrain/api/v1alpha1"
	"github.com/gracefuldrain/gracefuldrain/internal/discovery"
	"github.com/gracefuldrain/gracefuldrain/internal/testsupport"
	"github.com/gracefuldrain/gracefuldrain/internal/workload"
)

// randomHook is a user's preStop hook of every kind the plan distinguishes.
func randomHook(s *testsupport.ByteSource) *corev1.LifecycleHandler {
	n := int64(s.Int32(0, 400))
	switch s.Pick(9) {
	case 1:
		return nativeSleep(n)
	case 2:
		return execHook("sleep", strconv.FormatInt(n, 10))
	case 3:
		return execHook("/bin/sh", "-c", "sleep "+strconv.FormatInt(n, 10))
	case 4:
		return execHook("/bin/drain", "--wait")
	case 5:
		return httpHook(8080, "/drain")
	case 6:
		return execHook("sleep", "forever")
	case 7:
		return &corev1.LifecycleHandler{TCPSocket: &corev1.TCPSocketAction{Port: intstr.FromInt32(8080)}}
	}
	return nil
}

func randomProbe(s *testsupport.ByteSource) *corev1.Probe {
	switch s.Pick(4) {
	case 1:
		return &corev1.Probe{ProbeHandler: corev1.ProbeHandler{HTTPGet: &corev1.HTTPGetAction{Path: "/user", Port: intstr.FromInt32(8080)}}, PeriodSeconds: 3}
	case 2:
		return &corev1.Probe{ProbeHandler: corev1.ProbeHandler{Exec: &corev1.ExecAction{Command: []string{"/check"}}}}
	}
	return nil
}

func randomAttachment(s *testsupport.ByteSource, containers []string) discovery.Attachment {
	a := discovery.Attachment{
		LoadBalancer: []discovery.LoadBalancer{discovery.ALB, discovery.NLB}[s.Pick(2)],
		SourceKind:   discovery.SourceIngress, SourceName: "web", ServiceName: "web", ServicePort: "80",
		TargetType: []discovery.TargetType{discovery.TargetIP, discovery.TargetInstance}[s.Pick(2)],
		HealthCheck: gdv1.HealthCheck{
			Protocol:           []string{"HTTP", "HTTPS", "TCP", "GRPC", "http"}[s.Pick(5)],
			Path:               []string{"/", "/healthz", "", "/AWS.ALB/healthcheck"}[s.Pick(4)],
			Port:               []string{"traffic-port", "8080", "9090", "30080"}[s.Pick(4)],
			IntervalSeconds:    s.Int32(5, 300),
			TimeoutSeconds:     s.Int32(2, 120),
			HealthyThreshold:   s.Int32(2, 10),
			UnhealthyThreshold: s.Int32(2, 10),
			SuccessCodes:       []string{"", "200", "200-399", "200-499", "12", "200,404"}[s.Pick(6)],
		},
		DeregistrationDelaySeconds: s.Int32(0, 3600),
	}
	if len(containers) > 0 && s.Pick(5) != 0 {
		a.Container = containers[s.Pick(len(containers))]
		a.ContainerPort = []int32{8080, 9090, 80}[s.Pick(3)]
	}
	return a
}

// FuzzPlanApply builds random Deployments (user hooks of every kind, user
// probes, grace periods) and random attachments, computes the plan, applies
// it through real server-side apply (fakeAPIServer) and checks: never
// panics; grace >= preStop + shutdown and never below the user's; a user's
// custom hook and a user's probe are never removed or changed; a user's
// sleep is never shortened; a second plan on the applied object changes
// nothing (no second rollout). Run: go test -fuzz FuzzPlanApply ./internal/plan/
func FuzzPlanApply(f *testing.F) {
	f.Add([]byte{})
	f.Add([]byte{2, 1, 1, 0, 40, 1, 0, 2, 1, 0, 1, 5, 0, 0, 0, 1})
	f.Add([]byte("a user's Deployment with hooks, probes and a long grace period, behind two balancers"))
	f.Add([]byte{3, 4, 4, 1, 255, 255, 5, 2, 0, 9, 9, 9, 9, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1})
	for i := range 6 {
		seed := make([]byte, 48)
		for j := range seed {
			seed[j] = byte((i*37 + j*11) % 253)
		}
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		s := testsupport.NewByteSource(data)
		var containers []corev1.Container
		var names []string
		for i := range 1 + s.Pick(3) {
			name := []string{"app", "side", "proxy"}[i]
			c := container(name, []int32{8080, 9090, 80}[s.Pick(3)])
			if h := randomHook(s); h != nil {
				c = withPreStop(c, h)
			}
			if p := randomProbe(s); p != nil {
				c = withProbe(c, p)
			}
			containers = append(containers, c)
			names = append(names, name)
		}
		d := deployment(containers...)
		if s.Pick(3) != 0 {
			d.Spec.Template.Spec.TerminationGracePeriodSeconds = ptr.To(int64(s.Int32(0, 5000)))
		}
		var attachments []discovery.Attachment
		for range 1 + s.Pick(3) {
			attachments = append(attachments, randomAttachment(s, names))
		}
		defaults := ruleSettings()
		defaults.ShutdownSeconds = s.Int32(0, 3600)
		if s.Pick(2) == 0 {
			defaults.SleepMethod = SleepExec
		}
		var ov Overrides
		if s.Pick(3) == 0 {
			ov.PreStopSeconds = ptr.To(s.Int32(1, 3600))
		}
		if s.Pick(3) == 0 {
			ov.ShutdownSeconds = ptr.To(s.Int32(0, 3600))
		}
		ov.LeaveReadinessProbes = s.Pick(4) == 0

		in := Input{Workload: workload.OfDeployment(d), Attachments: attachments, Defaults: defaults, Overrides: ov}
		g := NewWithT(t)
		checkInvariants(g, in, Compute(in))

		// Through the API server's real server-side apply, as the operator does it.
		api := newFakeAPIServer(t)
		api.update(d, "kubectl-client-side-apply")
		user := api.deployment()
		p, _ := api.applyPlan(in)
		after := api.deployment()

		userGrace := int64(apiDefaultGracePeriod)
		if g := user.Spec.Template.Spec.TerminationGracePeriodSeconds; g != nil {
			userGrace = *g
		}
		grace := *after.Spec.Template.Spec.TerminationGracePeriodSeconds
		if grace < userGrace {
			t.Fatalf("grace lowered from %d to %d", userGrace, grace)
		}
		if grace < int64(p.PreStopSeconds)+int64(p.ShutdownSeconds) {
			t.Fatalf("grace %d < preStop %d + shutdown %d", grace, p.PreStopSeconds, p.ShutdownSeconds)
		}
		for i, uc := range user.Spec.Template.Spec.Containers {
			ac := after.Spec.Template.Spec.Containers[i]
			if ac.Name != uc.Name {
				t.Fatalf("containers reordered: %q -> %q", uc.Name, ac.Name)
			}
			if uc.ReadinessProbe != nil && !reflect.DeepEqual(uc.ReadinessProbe, ac.ReadinessProbe) {
				t.Fatalf("container %s: user's probe changed:\n%+v\n->\n%+v", uc.Name, uc.ReadinessProbe, ac.ReadinessProbe)
			}
			var uh, ah *corev1.LifecycleHandler
			if uc.Lifecycle != nil {
				uh = uc.Lifecycle.PreStop
			}
			if ac.Lifecycle != nil {
				ah = ac.Lifecycle.PreStop
			}
			if uh == nil {
				continue
			}
			if ah == nil {
				t.Fatalf("container %s: user's preStop hook removed", uc.Name)
			}
			userSleep, isSleep := SleepSeconds(uh)
			if !isSleep {
				if !reflect.DeepEqual(uh, ah) {
					t.Fatalf("container %s: user's custom hook changed:\n%+v\n->\n%+v", uc.Name, uh, ah)
				}
				continue
			}
			newSleep, ok := SleepSeconds(ah)
			if !ok || newSleep < userSleep {
				t.Fatalf("container %s: user's sleep %d shortened to %d (%v)", uc.Name, userSleep, newSleep, ok)
			}
			if grace < min(int64(newSleep)+int64(p.ShutdownSeconds), 1<<31-1) {
				t.Fatalf("container %s: grace %d does not cover sleep %d + shutdown %d", uc.Name, grace, newSleep, p.ShutdownSeconds)
			}
		}
		// Converged: planning again on the applied object changes nothing.
		in.Workload = workload.OfDeployment(after)
		if ch := Changes(workload.OfDeployment(after), Compute(in)); len(ch) != 0 {
			t.Fatalf("second plan would change %+v (a second rollout)", ch)
		}
	})
}
