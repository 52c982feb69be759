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
	"io"
	"os"
	"runtime"
	"sort"
	"strings"
	"text/tabwriter"
	"time"
)

const mib = 1 << 20

// printResults writes the table and, last, the BENCH line scripts read.
func printResults(out io.Writer, c config, r *results) {
	n := float64(r.n)
	far := r.end.Add(time.Hour)
	opConverge := r.converged.Sub(r.opStart).Seconds()
	floorSeconds := r.floorEnd.Sub(r.floorStart).Seconds()
	convergeWrites := count(r.reqs, operatorUser, r.opStart, r.converged, true)
	settleWrites := count(r.reqs, operatorUser, r.converged, r.drained, true)
	steadyWrites := count(r.reqs, operatorUser, r.drained, far, true)
	opWrites := count(r.reqs, operatorUser, r.opStart, r.drained, true)
	opReads := count(r.reqs, operatorUser, r.opStart, far, false)
	floorWrites := count(r.reqs, floorUser, r.floorStart, far, true)
	eventWrites := 0
	for k, v := range opWrites {
		if strings.HasSuffix(k, " events") {
			eventWrites += v
		}
	}
	writesPerDeploy := float64(opWrites.total()) / n
	convergeRatio := opConverge / floorSeconds
	memRatio := r.opPeakRSS / r.barePeakRSS

	host, _ := os.Hostname()
	fmt.Fprintf(out, "\ngracefuldrain bench: N=%d Deployments in %d namespaces (each with a Service, an ALB Ingress with ip targets, and %d running pods)\n",
		r.n, r.n/deploysPerNamespace, c.pods)
	fmt.Fprintf(out, "client qps %g, burst %d, %d reconcile workers / floor workers; host %s, %d CPUs, %s\n",
		c.qps, c.burst, c.concurrency, host, runtime.NumCPU(), runtime.Version())
	fmt.Fprintf(out, "setup (not measured): fleet created in %.1fs, floor fleet in %.1fs; logs in %s\n\n",
		r.createSeconds, r.floorCreateSeconds, c.workDir)

	tw := tabwriter.NewWriter(out, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "measure\toperator\tfloor\tratio\t")
	fmt.Fprintf(tw, "converge (s)\t%.1f\t%.1f\t%.2f\t\n", opConverge, floorSeconds, convergeRatio)
	fmt.Fprintf(tw, "writes until drained\t%d\t%d\t%.2f\t\n", opWrites.total(), floorWrites.total(), float64(opWrites.total())/float64(max(1, floorWrites.total())))
	fmt.Fprintf(tw, "writes per Deployment\t%.2f\t%.2f\t\t\n", writesPerDeploy, float64(floorWrites.total())/n)
	fmt.Fprintf(tw, "  of which Events\t%.2f\t0\t\t\n", float64(eventWrites)/n)
	fmt.Fprintf(tw, "peak RSS (MiB)\t%.1f\t%.1f\t%.2f\t\n", r.opPeakRSS/mib, r.barePeakRSS/mib, memRatio)
	fmt.Fprintf(tw, "RSS at end (MiB)\t%.1f\t%.1f\t%.2f\t\n", r.opRSS/mib, r.bareRSS/mib, r.opRSS/r.bareRSS)
	fmt.Fprintf(tw, "peak heap in use (MiB, 1 s samples)\t%.1f\t%.1f\t%.2f\t\n", r.opPeakHeap/mib, r.barePeakHeap/mib, r.opPeakHeap/r.barePeakHeap)
	fmt.Fprintf(tw, "heap in use at end (MiB)\t%.1f\t\t\t\n", r.opHeapEnd/mib)
	fmt.Fprintf(tw, "CPU (s)\t%.1f\t%.1f\t\t\n", r.opCPU, r.bareCPU)
	fmt.Fprintf(tw, "writes converged->drained\t%d\t\t\t\n", settleWrites.total())
	fmt.Fprintf(tw, "steady-state writes (%.0fs, forced resync of %.0f reconciles)\t%d\t\t\t\n",
		r.end.Sub(r.drained).Seconds(), r.resyncReconciles, steadyWrites.total())
	tw.Flush()

	fmt.Fprintln(out, "\nrequests by verb and resource (audit log, ResponseComplete)")
	tw = tabwriter.NewWriter(out, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "request\toperator: converge\tsettle\tsteady\tall reads\tfloor\t")
	all := requestCounts{}
	for _, cs := range []requestCounts{convergeWrites, settleWrites, steadyWrites, opReads, floorWrites} {
		for k := range cs {
			all[k] = 1
		}
	}
	keys := all.keys()
	sort.SliceStable(keys, func(i, j int) bool { return isWriteKey(keys[i]) && !isWriteKey(keys[j]) })
	for _, k := range keys {
		fmt.Fprintf(tw, "%s\t%d\t%d\t%d\t%d\t%d\t\n", k, convergeWrites[k], settleWrites[k], steadyWrites[k], readsOnly(opReads, k), floorWrites[k])
	}
	tw.Flush()

	var ready []string
	for k, v := range r.readyReasons {
		ready = append(ready, fmt.Sprintf("%s=%d", k, v))
	}
	sort.Strings(ready)
	fmt.Fprintf(out, "\nGracefulDrain Ready conditions at the end: %s (no kubelet or controller-manager: rollouts never finish)\n\n",
		strings.Join(ready, " "))
	fmt.Fprintf(out, "BENCH n=%d converge_s=%.1f floor_s=%.1f converge_ratio=%.2f steady_writes=%d writes_per_deploy=%.2f rss_mb=%.1f bare_rss_mb=%.1f mem_ratio=%.2f\n",
		r.n, opConverge, floorSeconds, convergeRatio, steadyWrites.total(), writesPerDeploy, r.opPeakRSS/mib, r.barePeakRSS/mib, memRatio)
}

func isWriteKey(k string) bool { return request{Verb: strings.Fields(k)[0]}.write() }

func readsOnly(c requestCounts, k string) int {
	if isWriteKey(k) {
		return 0
	}
	return c[k]
}
