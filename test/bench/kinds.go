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
	"strconv"
	"strings"

	views "github.com/gracefuldrain/gracefuldrain/internal/workload"
)

// defaultMix is the fleet's kinds per namespace of 10 workloads: mostly
// Deployments, and one of each other kind gracefuldrain manages.
const defaultMix = "deployment=7,statefulset=1,daemonset=1,rollout=1"

// mix is how many workloads of each kind a namespace of the fleet holds, in
// the order of views.Kinds; the counts add up to workloadsPerNamespace.
type mix map[views.Kind]int

// parseMix reads "deployment=7,statefulset=1,daemonset=1,rollout=1". A kind
// without a count shares the slots the counted ones leave, evenly (so
// "deployment" alone is the Deployments-only fleet of earlier benches, and
// "deployment,statefulset" is 5 and 5).
func parseMix(s string) (mix, error) {
	m := mix{}
	var uncounted []views.Kind
	left := workloadsPerNamespace
	for _, part := range strings.Split(s, ",") {
		name, count, counted := strings.Cut(strings.TrimSpace(part), "=")
		kind, ok := kindNamed(name)
		if !ok {
			return nil, fmt.Errorf("unknown kind %q in %q (deployment, statefulset, daemonset, rollout)", name, s)
		}
		if _, dup := m[kind]; dup || contains(uncounted, kind) {
			return nil, fmt.Errorf("kind %s twice in %q", name, s)
		}
		if !counted {
			uncounted = append(uncounted, kind)
			continue
		}
		n, err := strconv.Atoi(count)
		if err != nil || n < 0 {
			return nil, fmt.Errorf("count of %s in %q: want a number of workloads per namespace", name, s)
		}
		m[kind] = n
		left -= n
	}
	if len(uncounted) > 0 {
		if left < 0 || left%len(uncounted) != 0 {
			return nil, fmt.Errorf("%q: %d slots per namespace left do not divide among %d kinds", s, left, len(uncounted))
		}
		for _, k := range uncounted {
			m[k] = left / len(uncounted)
		}
		left = 0
	}
	if left != 0 {
		return nil, fmt.Errorf("%q: the counts must add up to %d workloads per namespace", s, workloadsPerNamespace)
	}
	for k, n := range m {
		if n == 0 {
			delete(m, k)
		}
	}
	return m, nil
}

func kindNamed(name string) (views.Kind, bool) {
	for _, k := range views.Kinds {
		if strings.EqualFold(name, string(k)) {
			return k, true
		}
	}
	return "", false
}

func contains(ks []views.Kind, k views.Kind) bool {
	for _, x := range ks {
		if x == k {
			return true
		}
	}
	return false
}

// kinds lists the kind of each slot of a namespace: slot i holds web-i.
func (m mix) kinds() []views.Kind {
	var out []views.Kind
	for _, k := range views.Kinds {
		for i := 0; i < m[k]; i++ {
			out = append(out, k)
		}
	}
	return out
}

// has says whether the fleet holds workloads of the kind.
func (m mix) has(k views.Kind) bool { return m[k] > 0 }

// String is the mix per namespace, "7 Deployments, 1 StatefulSet, ...".
func (m mix) String() string {
	var parts []string
	for _, k := range views.Kinds {
		if m[k] > 0 {
			parts = append(parts, plural(m[k], string(k)))
		}
	}
	return strings.Join(parts, ", ")
}

// flag is the mix as KINDS takes it.
func (m mix) flag() string {
	var parts []string
	for _, k := range views.Kinds {
		if m[k] > 0 {
			parts = append(parts, fmt.Sprintf("%s=%d", strings.ToLower(string(k)), m[k]))
		}
	}
	return strings.Join(parts, ",")
}

// totals is the mix over n workloads, "700 Deployments, 100 StatefulSets, ...".
func (m mix) totals(n int) string {
	var parts []string
	for _, k := range views.Kinds {
		if m[k] > 0 {
			parts = append(parts, plural(m[k]*n/workloadsPerNamespace, string(k)))
		}
	}
	return strings.Join(parts, ", ")
}

func plural(n int, noun string) string {
	if n == 1 {
		return fmt.Sprintf("%d %s", n, noun)
	}
	return fmt.Sprintf("%d %ss", n, noun)
}

// drainName is the name of a workload's GracefulDrain, the operator's rule
// (controllers/kinds.go, drainName): a Deployment's has its name, another
// kind's is <name>-<kind>.
func drainName(k views.Kind, name string) string {
	if k == views.Deployment {
		return name
	}
	return name + "-" + strings.ToLower(string(k))
}
