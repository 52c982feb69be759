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

package main

import (
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"time"
)

// The bench shares its machine: times and latencies mean little if other
// processes took the CPU meanwhile. hostSample records, at one moment, the
// CPU time the whole machine has been busy and the CPU time the bench and
// its children (etcd, kube-apiserver, the operator, the bare manager,
// kubectl) have used, so that the CPU others took in a phase is the
// difference. /proc/stat and /proc/PID/stat count in clock ticks (USER_HZ,
// 100 on Linux).
type hostSample struct {
	at        time.Time
	busyTicks float64 // user+nice+system+irq+softirq, all CPUs
	ownTicks  float64 // this process and its descendants, live and reaped
	loadavg   string  // the first three fields of /proc/loadavg
}

const clockTicks = 100

func sampleHost() hostSample {
	s := hostSample{at: time.Now()}
	if b, err := os.ReadFile("/proc/stat"); err == nil {
		f := strings.Fields(strings.SplitN(string(b), "\n", 2)[0]) // "cpu user nice system idle iowait irq softirq steal ..."
		for _, i := range []int{1, 2, 3, 6, 7} {
			if i < len(f) {
				v, _ := strconv.ParseFloat(f[i], 64)
				s.busyTicks += v
			}
		}
	}
	if b, err := os.ReadFile("/proc/loadavg"); err == nil {
		if f := strings.Fields(string(b)); len(f) >= 3 {
			s.loadavg = strings.Join(f[:3], " ")
		}
	}
	s.ownTicks = descendantTicks(os.Getpid())
	return s
}

// descendantTicks is the CPU time of pid and every live descendant, each
// with its reaped children's (cutime, cstime).
func descendantTicks(root int) float64 {
	type proc struct {
		ppid  int
		ticks float64
	}
	procs := map[int]proc{}
	dirs, _ := filepath.Glob("/proc/[0-9]*")
	for _, d := range dirs {
		pid, err := strconv.Atoi(filepath.Base(d))
		if err != nil {
			continue
		}
		b, err := os.ReadFile(filepath.Join(d, "stat"))
		if err != nil {
			continue
		}
		// The command name (field 2) may hold spaces: fields are counted after its ')'.
		i := strings.LastIndexByte(string(b), ')')
		if i < 0 {
			continue
		}
		f := strings.Fields(string(b)[i+1:]) // f[0] is field 3 (state)
		if len(f) < 15 {
			continue
		}
		p := proc{}
		p.ppid, _ = strconv.Atoi(f[1])
		for _, j := range []int{11, 12, 13, 14} { // utime, stime, cutime, cstime (fields 14-17)
			v, _ := strconv.ParseFloat(f[j], 64)
			p.ticks += v
		}
		procs[pid] = p
	}
	children := map[int][]int{}
	for pid, p := range procs {
		children[p.ppid] = append(children[p.ppid], pid)
	}
	total := 0.0
	stack := []int{root}
	for len(stack) > 0 {
		pid := stack[len(stack)-1]
		stack = stack[:len(stack)-1]
		total += procs[pid].ticks
		stack = append(stack, children[pid]...)
	}
	return total
}

// othersCPU is the share of the machine's CPUs (0..1) that processes other
// than the bench's used between two samples.
func othersCPU(from, to hostSample) float64 {
	seconds := to.at.Sub(from.at).Seconds()
	if seconds <= 0 {
		return 0
	}
	others := ((to.busyTicks - from.busyTicks) - (to.ownTicks - from.ownTicks)) / clockTicks
	return max(0, others/(seconds*float64(runtime.NumCPU())))
}

// describeHost says how busy the machine was in a phase.
func describeHost(phase string, from, to hostSample) string {
	return fmt.Sprintf("%s: load average %s at its start, %s at its end; other processes used %.0f%% of the %d CPUs",
		phase, from.loadavg, to.loadavg, 100*othersCPU(from, to), runtime.NumCPU())
}
