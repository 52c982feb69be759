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
	"fmt"
	"math"
	"strconv"
	"strings"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
)

// sleepForm is a recognised sleep hook and how to write it again with another
// duration without changing its handler type or its executable.
type sleepForm struct {
	seconds int32
	native  bool     // lifecycle.preStop.sleep.seconds
	command []string // exec.command; the duration is its last element
	shell   bool     // the last element is a shell script "sleep N"
}

// Executables recognised as sleep, with and without a path: images differ in
// whether PATH is set for exec hooks, so users write all of these.
var sleepBinaries = map[string]bool{"sleep": true, "/bin/sleep": true, "/usr/bin/sleep": true}

// Shells whose "-c 'sleep N'" form is recognised. bash is not in the brief of
// the design but is as common in charts as sh and means the same thing here.
var shells = map[string]bool{"sh": true, "/bin/sh": true, "bash": true, "/bin/bash": true}

// parseSleep recognises a hook that only sleeps: native sleep, exec
// [sleep N] (also /bin/sleep and /usr/bin/sleep), or [sh -c "sleep N"].
func parseSleep(h *corev1.LifecycleHandler) (sleepForm, bool) {
	if h == nil || handlerTypes(h) != 1 {
		return sleepForm{}, false
	}
	switch {
	case h.Sleep != nil:
		if h.Sleep.Seconds < 0 {
			return sleepForm{}, false
		}
		return sleepForm{seconds: clamp32(h.Sleep.Seconds), native: true}, true
	case h.Exec != nil:
		cmd := h.Exec.Command
		switch {
		case len(cmd) == 2 && sleepBinaries[cmd[0]]:
			if s, ok := parseDuration(cmd[1]); ok {
				return sleepForm{seconds: s, command: cmd}, true
			}
		case len(cmd) == 3 && shells[cmd[0]] && cmd[1] == "-c":
			f := strings.Fields(cmd[2])
			if len(f) == 2 && sleepBinaries[f[0]] {
				if s, ok := parseDuration(f[1]); ok {
					return sleepForm{seconds: s, command: cmd, shell: true}, true
				}
			}
		}
	}
	return sleepForm{}, false
}

// parseDuration reads a sleep(1) operand: whole seconds with an optional s, m
// or h suffix, as GNU coreutils and busybox accept. Fractions are not
// recognised: such a hook is reported as custom rather than guessed at.
func parseDuration(s string) (int32, bool) {
	mult := int64(1)
	switch {
	case strings.HasSuffix(s, "s"):
		s = strings.TrimSuffix(s, "s")
	case strings.HasSuffix(s, "m"):
		s, mult = strings.TrimSuffix(s, "m"), 60
	case strings.HasSuffix(s, "h"):
		s, mult = strings.TrimSuffix(s, "h"), 3600
	}
	if s == "" || strings.TrimLeft(s, "0123456789") != "" {
		return 0, false
	}
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil {
		return math.MaxInt32, true // longer than any plan: kept as it is
	}
	if n > math.MaxInt32/mult {
		return math.MaxInt32, true
	}
	return int32(n * mult), true
}

// withSeconds is the same hook sleeping n seconds: native stays native, exec
// keeps its executable (or shell), so the apply replaces exec.command as a
// whole and never adds a second handler type next to the user's.
func (f sleepForm) withSeconds(n int32) *corev1.LifecycleHandler {
	if f.native {
		return &corev1.LifecycleHandler{Sleep: &corev1.SleepAction{Seconds: int64(n)}}
	}
	cmd := append([]string(nil), f.command...)
	if f.shell {
		cmd[2] = strings.Fields(cmd[2])[0] + " " + strconv.Itoa(int(n))
	} else {
		cmd[1] = strconv.Itoa(int(n))
	}
	return &corev1.LifecycleHandler{Exec: &corev1.ExecAction{Command: cmd}}
}

// sleepHandler is a new preStop sleep of n seconds in the given method.
func sleepHandler(m SleepMethod, n int32) *corev1.LifecycleHandler {
	if m == SleepExec {
		return &corev1.LifecycleHandler{Exec: &corev1.ExecAction{Command: []string{"sleep", strconv.Itoa(int(n))}}}
	}
	return &corev1.LifecycleHandler{Sleep: &corev1.SleepAction{Seconds: int64(n)}}
}

// SleepSeconds returns how long a hook sleeps when all it does is sleep: native
// sleep.seconds, exec ["sleep"|"/bin/sleep"|"/usr/bin/sleep", "N"], or
// ["sh"|"/bin/sh"|"bash"|"/bin/bash", "-c", "sleep N"]. N may carry an s, m or
// h suffix. Any other hook, or nil, returns false.
func SleepSeconds(h *corev1.LifecycleHandler) (int32, bool) {
	f, ok := parseSleep(h)
	return f.seconds, ok
}

// DescribeHandler is a short human description of a lifecycle handler, for
// example "sleep 40s", "exec [sleep 40]", "exec [/bin/drain]",
// "httpGet :8080/drain" or "tcpSocket :8080". It is "" for nil.
func DescribeHandler(h *corev1.LifecycleHandler) string {
	if h == nil {
		return ""
	}
	var parts []string
	if h.Sleep != nil {
		parts = append(parts, fmt.Sprintf("sleep %ds", h.Sleep.Seconds))
	}
	if h.Exec != nil {
		parts = append(parts, describeExec(h.Exec))
	}
	if h.HTTPGet != nil {
		// The scheme is shown only when it is not the default, to keep the common case short.
		scheme := ""
		if h.HTTPGet.Scheme != "" && h.HTTPGet.Scheme != corev1.URISchemeHTTP {
			scheme = string(h.HTTPGet.Scheme) + " "
		}
		parts = append(parts, "httpGet "+scheme+hostPort(h.HTTPGet.Host, h.HTTPGet.Port)+h.HTTPGet.Path)
	}
	if h.TCPSocket != nil {
		parts = append(parts, "tcpSocket "+hostPort(h.TCPSocket.Host, h.TCPSocket.Port))
	}
	if len(parts) == 0 {
		return "empty handler"
	}
	return strings.Join(parts, " + ")
}

// DescribeProbe is a short human description of a probe, for example
// "httpGet HTTP :80/ every 10s" or "tcpSocket :8080 every 10s"; "none" for nil.
// It leaves out timeouts and thresholds: see describeProbeLong.
func DescribeProbe(p *corev1.Probe) string {
	if p == nil {
		return "none"
	}
	var handler string
	switch {
	case p.HTTPGet != nil:
		scheme := p.HTTPGet.Scheme
		if scheme == "" {
			scheme = corev1.URISchemeHTTP
		}
		handler = fmt.Sprintf("httpGet %s %s%s", scheme, hostPort(p.HTTPGet.Host, p.HTTPGet.Port), p.HTTPGet.Path)
	case p.TCPSocket != nil:
		handler = "tcpSocket " + hostPort(p.TCPSocket.Host, p.TCPSocket.Port)
	case p.GRPC != nil:
		handler = fmt.Sprintf("grpc :%d", p.GRPC.Port)
	case p.Exec != nil:
		handler = describeExec(p.Exec)
	default:
		handler = "no handler"
	}
	return fmt.Sprintf("%s every %ds", handler, orDefault(p.PeriodSeconds, apiDefaultProbePeriod))
}

// describeProbeLong adds what DescribeProbe leaves out, for a change that only
// touches a timeout or a threshold.
func describeProbeLong(p *corev1.Probe) string {
	if p == nil {
		return "none"
	}
	s := fmt.Sprintf("%s, timeout %ds, success %d, failure %d", DescribeProbe(p),
		orDefault(p.TimeoutSeconds, apiDefaultProbeTimeout),
		orDefault(p.SuccessThreshold, apiDefaultProbeSuccess),
		orDefault(p.FailureThreshold, apiDefaultProbeFailure))
	if p.InitialDelaySeconds != 0 {
		s += fmt.Sprintf(", initial delay %ds", p.InitialDelaySeconds)
	}
	return s
}

func describeExec(e *corev1.ExecAction) string {
	return "exec [" + strings.Join(e.Command, " ") + "]"
}

func hostPort(host string, port intstr.IntOrString) string {
	return host + ":" + port.String()
}

func handlerTypes(h *corev1.LifecycleHandler) int {
	n := 0
	for _, set := range []bool{h.Exec != nil, h.HTTPGet != nil, h.TCPSocket != nil, h.Sleep != nil} {
		if set {
			n++
		}
	}
	return n
}

func clamp32(v int64) int32 {
	switch {
	case v > math.MaxInt32:
		return math.MaxInt32
	case v < math.MinInt32:
		return math.MinInt32
	}
	return int32(v)
}

func orDefault(v, def int32) int32 {
	if v == 0 {
		return def
	}
	return v
}
