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

package settings

import (
	"strconv"
	"strings"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	gdv1 "github.com/gracefuldrain/gracefuldrain/api/v1alpha1"
	"github.com/gracefuldrain/gracefuldrain/internal/discovery"
	"github.com/gracefuldrain/gracefuldrain/internal/invalid"
	"github.com/gracefuldrain/gracefuldrain/internal/plan"
	"github.com/gracefuldrain/gracefuldrain/internal/workload"
)

// FuzzParse feeds arbitrary label and annotation values to Parse and checks
// its promises: it never panics; a value it accepts is exactly a value the
// README documents (and in range); a value it refuses is a Problem naming the
// object, the key and the value; an unknown namespace mode never lets the
// Deployment be written (mode audit); and the plan built from accepted
// overrides keeps grace >= preStop + shutdown.
// Run: go test -fuzz FuzzParse ./internal/annotations/
func FuzzParse(f *testing.F) {
	for _, s := range []struct{ ns, mode, pre, shut, probe string }{
		{"enforce", "", "", "", ""},
		{"audit", "enforce", "40", "30", "derive"},
		{"enforce", "off", "1", "0", "leave"},
		{"Enforce", "audit", "forty", "-1", "Leave"},
		{"", "on", "1.5", "3600", ""},
		{"enforce", "enforce", "99999999999", "3601", "derive "},
		{"enforce", "audit", " 40", "40 ", "x"},
		{"enforce", "", "+40", "0x10", ""},
		{"audit", "", "0", "00", ""},
		{"enforce", "", "3600", "\x00", "ø"},
	} {
		f.Add(s.ns, s.mode, s.pre, s.shut, s.probe, uint8(0xff))
	}
	f.Fuzz(func(t *testing.T, nsMode, depMode, preStop, shutdown, probe string, present uint8) {
		nsLabels := map[string]string{}
		if present&1 != 0 {
			nsLabels[ModeKey] = nsMode
		}
		ann := map[string]string{}
		for i, kv := range [][2]string{{ModeKey, depMode}, {PreStopSecondsKey, preStop}, {ShutdownSecondsKey, shutdown}, {ReadinessProbeKey, probe}} {
			if present&(2<<i) != 0 {
				ann[kv[0]] = kv[1]
			}
		}
		nsCopy, annCopy := clone(nsLabels), clone(ann)
		s := Parse(Source{Ref: "Namespace shop", Labels: nsLabels}, Source{Ref: "Deployment shop/web", Annotations: ann})
		if !equalMaps(nsLabels, nsCopy) || !equalMaps(ann, annCopy) {
			t.Fatal("Parse modified its input")
		}

		if present&1 == 0 {
			if s.Managed || len(s.Problems) > 0 {
				t.Fatalf("unlabelled namespace must be unmanaged and silent, got %+v", s)
			}
			return
		}
		if v, ok := ann[ModeKey]; ok && v == "off" {
			if s.Managed {
				t.Fatalf("mode off must be unmanaged, got %+v", s)
			}
			return
		}
		if !s.Managed {
			t.Fatalf("labelled namespace must be managed, got %+v", s)
		}
		if s.Mode != gdv1.ModeEnforce && s.Mode != gdv1.ModeAudit {
			t.Fatalf("mode %q", s.Mode)
		}
		if nsMode != "enforce" && nsMode != "audit" {
			if s.Mode != gdv1.ModeAudit || !hasProblem(s.Problems, "Namespace shop", ModeKey, nsMode) {
				t.Fatalf("unknown namespace mode %q must be a Problem and mode audit, got %+v", nsMode, s)
			}
		}
		// Every refused value is named; every accepted value is documented.
		checkKey := func(key, value string, accept func(string) bool) {
			v, ok := ann[key]
			if !ok {
				return
			}
			refused := hasProblem(s.Problems, "Deployment shop/web", key, v)
			if accept(value) == refused {
				t.Fatalf("%s=%q: accepted=%v but refused=%v (problems %+v)", key, value, accept(value), refused, s.Problems)
			}
		}
		checkKey(ModeKey, depMode, func(v string) bool { return v == "enforce" || v == "audit" || v == "off" })
		checkKey(PreStopSecondsKey, preStop, func(v string) bool { return strictSeconds(v, MinPreStopSeconds, MaxPreStopSeconds) })
		checkKey(ShutdownSecondsKey, shutdown, func(v string) bool { return strictSeconds(v, MinShutdownSeconds, MaxShutdownSeconds) })
		checkKey(ReadinessProbeKey, probe, func(v string) bool { return v == "derive" || v == "leave" })
		for _, p := range s.Problems {
			if p.Object == "" || p.Key == "" || p.Message == "" || !strings.Contains(p.String(), strconv.Quote(p.Value)) {
				t.Fatalf("problem does not name object, key and value: %+v", p)
			}
		}
		if o := s.Overrides.PreStopSeconds; o != nil && (*o < MinPreStopSeconds || *o > MaxPreStopSeconds) {
			t.Fatalf("preStop override %d out of range", *o)
		}
		if o := s.Overrides.ShutdownSeconds; o != nil && (*o < MinShutdownSeconds || *o > MaxShutdownSeconds) {
			t.Fatalf("shutdown override %d out of range", *o)
		}

		// The plan built from what was accepted keeps its invariants.
		grace := int64(len(preStop)) * 17 // some user grace, sometimes below the plan
		d := &appsv1.Deployment{
			ObjectMeta: metav1.ObjectMeta{Name: "web", Namespace: "shop"},
			Spec: appsv1.DeploymentSpec{Template: corev1.PodTemplateSpec{Spec: corev1.PodSpec{
				TerminationGracePeriodSeconds: &grace,
				Containers:                    []corev1.Container{{Name: "app", Ports: []corev1.ContainerPort{{ContainerPort: 8080}}}},
			}}},
		}
		att := discovery.Attachment{LoadBalancer: discovery.ALB, TargetType: discovery.TargetIP, Container: "app", ContainerPort: 8080,
			HealthCheck: gdv1.HealthCheck{Protocol: "HTTP", Path: "/", Port: "traffic-port", IntervalSeconds: 15, TimeoutSeconds: 5, HealthyThreshold: 2, UnhealthyThreshold: 2}}
		p := plan.Compute(plan.Input{Workload: workload.OfDeployment(d), Attachments: []discovery.Attachment{att}, Defaults: plan.DefaultSettings(), Overrides: s.Overrides})
		if int64(p.TerminationGracePeriodSeconds) < int64(p.PreStopSeconds)+int64(p.ShutdownSeconds) {
			t.Fatalf("grace %d < preStop %d + shutdown %d", p.TerminationGracePeriodSeconds, p.PreStopSeconds, p.ShutdownSeconds)
		}
		if int64(p.TerminationGracePeriodSeconds) < grace {
			t.Fatalf("grace lowered from %d to %d", grace, p.TerminationGracePeriodSeconds)
		}
		if s.Overrides.PreStopSeconds != nil && p.PreStopSeconds != *s.Overrides.PreStopSeconds {
			t.Fatalf("preStop override %d ignored: plan %d", *s.Overrides.PreStopSeconds, p.PreStopSeconds)
		}
	})
}

// strictSeconds is the README's "whole seconds" grammar: optional sign-free
// decimal digits only (Go's ParseInt also allows a leading + or -), in range.
func strictSeconds(v string, lo, hi int64) bool {
	if v == "" {
		return false
	}
	n, err := strconv.ParseInt(v, 10, 64)
	if err != nil {
		return false
	}
	return n >= lo && n <= hi
}

func hasProblem(ps []invalid.Setting, object, key, value string) bool {
	for _, p := range ps {
		if p.Object == object && p.Key == key && p.Value == value {
			return true
		}
	}
	return false
}

func clone(m map[string]string) map[string]string {
	out := make(map[string]string, len(m))
	for k, v := range m {
		out[k] = v
	}
	return out
}

func equalMaps(a, b map[string]string) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if w, ok := b[k]; !ok || w != v {
			return false
		}
	}
	return true
}
