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
	"math"
	"testing"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
)

func TestSleepSeconds(t *testing.T) {
	tests := []struct {
		name string
		h    *corev1.LifecycleHandler
		want int32
		ok   bool
	}{
		{"nil", nil, 0, false},
		{"native", nativeSleep(40), 40, true},
		{"native zero", nativeSleep(0), 0, true},
		{"native negative", nativeSleep(-1), 0, false},
		{"native beyond int32", nativeSleep(math.MaxInt64), math.MaxInt32, true},
		{"exec sleep", execHook("sleep", "15"), 15, true},
		{"exec /bin/sleep", execHook("/bin/sleep", "15"), 15, true},
		{"exec /usr/bin/sleep", execHook("/usr/bin/sleep", "15"), 15, true},
		{"seconds suffix", execHook("sleep", "15s"), 15, true},
		{"minutes suffix", execHook("sleep", "2m"), 120, true},
		{"hours suffix", execHook("sleep", "1h"), 3600, true},
		{"huge", execHook("sleep", "99999999999999999999"), math.MaxInt32, true},
		{"sh -c", execHook("sh", "-c", "sleep 15"), 15, true},
		{"/bin/sh -c", execHook("/bin/sh", "-c", "sleep 15"), 15, true},
		{"bash -c", execHook("/bin/bash", "-c", "/bin/sleep 15"), 15, true},
		{"sh -c with more", execHook("sh", "-c", "sleep 15 && kill 1"), 0, false},
		{"sh without -c", execHook("sh", "sleep", "15"), 0, false},
		{"fraction", execHook("sleep", "1.5"), 0, false},
		{"negative", execHook("sleep", "-5"), 0, false},
		{"empty operand", execHook("sleep", ""), 0, false},
		{"unit only", execHook("sleep", "s"), 0, false},
		{"two operands", execHook("sleep", "1", "2"), 0, false},
		{"other binary", execHook("/bin/drain", "15"), 0, false},
		{"empty exec", execHook(), 0, false},
		{"httpGet", httpHook(8080, "/drain"), 0, false},
		{"two handler types", &corev1.LifecycleHandler{Sleep: &corev1.SleepAction{Seconds: 5}, Exec: &corev1.ExecAction{Command: []string{"sleep", "5"}}}, 0, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, ok := SleepSeconds(tt.h)
			if got != tt.want || ok != tt.ok {
				t.Errorf("SleepSeconds() = %d, %v; want %d, %v", got, ok, tt.want, tt.ok)
			}
		})
	}
}

func TestDescribeHandler(t *testing.T) {
	tests := []struct {
		h    *corev1.LifecycleHandler
		want string
	}{
		{nil, ""},
		{nativeSleep(40), "sleep 40s"},
		{execHook("sleep", "5"), "exec [sleep 5]"},
		{execHook("/bin/drain"), "exec [/bin/drain]"},
		{httpHook(8080, "/drain"), "httpGet :8080/drain"},
		{&corev1.LifecycleHandler{HTTPGet: &corev1.HTTPGetAction{Path: "/drain", Port: intstr.FromString("admin"), Scheme: corev1.URISchemeHTTPS, Host: "localhost"}}, "httpGet HTTPS localhost:admin/drain"},
		{&corev1.LifecycleHandler{TCPSocket: &corev1.TCPSocketAction{Port: intstr.FromInt(9000)}}, "tcpSocket :9000"},
		{&corev1.LifecycleHandler{}, "empty handler"},
	}
	for _, tt := range tests {
		if got := DescribeHandler(tt.h); got != tt.want {
			t.Errorf("DescribeHandler(%v) = %q, want %q", tt.h, got, tt.want)
		}
	}
}

func TestDescribeProbe(t *testing.T) {
	tests := []struct {
		p        *corev1.Probe
		want     string
		wantLong string
	}{
		{nil, "none", "none"},
		{
			&corev1.Probe{ProbeHandler: corev1.ProbeHandler{HTTPGet: &corev1.HTTPGetAction{Path: "/", Port: intstr.FromInt(80)}}},
			"httpGet HTTP :80/ every 10s", "httpGet HTTP :80/ every 10s, timeout 1s, success 1, failure 3",
		},
		{
			&corev1.Probe{ProbeHandler: corev1.ProbeHandler{TCPSocket: &corev1.TCPSocketAction{Port: intstr.FromInt(8443)}}, PeriodSeconds: 5, TimeoutSeconds: 2, FailureThreshold: 4, InitialDelaySeconds: 3},
			"tcpSocket :8443 every 5s", "tcpSocket :8443 every 5s, timeout 2s, success 1, failure 4, initial delay 3s",
		},
		{&corev1.Probe{ProbeHandler: corev1.ProbeHandler{GRPC: &corev1.GRPCAction{Port: 9000}}}, "grpc :9000 every 10s", ""},
		{&corev1.Probe{ProbeHandler: corev1.ProbeHandler{Exec: &corev1.ExecAction{Command: []string{"cat", "/tmp/ready"}}}}, "exec [cat /tmp/ready] every 10s", ""},
	}
	for _, tt := range tests {
		if got := DescribeProbe(tt.p); got != tt.want {
			t.Errorf("DescribeProbe() = %q, want %q", got, tt.want)
		}
		if got := describeProbeLong(tt.p); tt.wantLong != "" && got != tt.wantLong {
			t.Errorf("describeProbeLong() = %q, want %q", got, tt.wantLong)
		}
	}
}
