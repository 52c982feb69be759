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
	"math"
	"os"
	"runtime"
	"sort"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"
)

const mib = 1 << 20

// Targets (docs/benchmarks.md, "Targets"). A run that misses one exits non-zero.
const (
	maxConvergeRatio   = 1.5
	maxMemRatio        = 1.0
	maxWebhookP99      = 10 * time.Millisecond
	maxCertWrites      = 2 // per install: the certificate into its Secret, the CA into the webhook configuration
	designWritesPerDep = 4 // per workload of any kind: apply, GracefulDrain create, its status, the DrainSettingsApplied Event
	designWritesPerNS  = 2 // the readiness-gate label apply and its Event
)

// certificateResources are the objects the certificate keeper writes, once
// per install rather than per workload.
var certificateResources = map[string]bool{"secrets": true, "mutatingwebhookconfigurations": true}

// target is one checked figure.
type target struct {
	name, want, got string
	met             bool
}

// printResults writes the table, the BENCH and WEBHOOK lines scripts read and
// the targets, and returns the targets missed.
func printResults(out io.Writer, c config, r *results) []string {
	n := float64(r.n)
	namespaces := r.n / workloadsPerNamespace
	far := r.end.Add(time.Hour)
	opConverge := r.converged.Sub(r.opStart).Seconds()
	floorSeconds := r.floorEnd.Sub(r.floorStart).Seconds()
	convergeWrites := count(r.reqs, operatorUser, r.opStart, r.converged, true)
	settleWrites := count(r.reqs, operatorUser, r.converged, r.drained, true)
	steadyWrites := count(r.reqs, operatorUser, r.drained, far, true)
	opWrites := count(r.reqs, operatorUser, r.opStart, r.drained, true)
	opRequests := count(r.reqs, operatorUser, r.opStart, r.drained, false)
	opReads := count(r.reqs, operatorUser, r.opStart, far, false)
	floorWrites := count(r.reqs, floorUser, r.floorStart, far, true)
	floorRequests := count(r.reqs, floorUser, r.floorStart, far, false)
	eventWrites, certWrites := 0, 0
	for k, v := range opWrites {
		switch resource := strings.Fields(k)[1]; {
		case resource == "events":
			eventWrites += v
		case certificateResources[resource]:
			certWrites += v
		}
	}
	writesPerDeploy := float64(opWrites.total()-certWrites) / n
	designWrites := float64(designWritesPerDep*r.n+designWritesPerNS*namespaces) / n
	convergeRatio := opConverge / floorSeconds
	memRatio := r.opPeakRSS / r.barePeakRSS

	host, _ := os.Hostname()
	fmt.Fprintf(out, "\ngracefuldrain bench: N=%d workloads in %d namespaces (each with a Service, an ALB Ingress with ip targets, and %d running pods)\n",
		r.n, namespaces, c.pods)
	fmt.Fprintf(out, "kinds: %s per namespace (KINDS=%s), %s in all\n", c.mix, c.mix.flag(), c.mix.totals(r.n))
	fmt.Fprintf(out, "client qps %g, burst %d, %d reconcile workers / floor workers; host %s, %d CPUs, %s\n",
		c.qps, c.burst, c.concurrency, host, runtime.NumCPU(), runtime.Version())
	fmt.Fprintf(out, "GC: operator GOGC=%.0f GOMEMLIMIT=%s, bare manager GOGC=%.0f GOMEMLIMIT=%s (the bare manager runs with the operator's)\n",
		r.opGOGC, memLimit(r.opMemLimit), r.bareGOGC, memLimit(r.bareMemLimit))
	fmt.Fprintf(out, "setup (not measured): fleet created in %.1fs, floor fleet in %.1fs; logs in %s\n\n",
		r.createSeconds, r.floorCreateSeconds, c.workDir)

	tw := tabwriter.NewWriter(out, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "measure\toperator\tfloor\tratio\t")
	fmt.Fprintf(tw, "converge (s)\t%.1f\t%.1f\t%.2f\t\n", opConverge, floorSeconds, convergeRatio)
	fmt.Fprintf(tw, "client rate limit alone (s): slowest bucket, (writes - burst) / qps\t%.1f\t%.1f\t\t\n",
		rateLimitSeconds(convergeWrites, c.qps, c.burst), rateLimitSeconds(floorWrites, c.qps, c.burst))
	fmt.Fprintf(tw, "API requests until drained (reads and writes)\t%d\t%d\t%.2f\t\n", opRequests.total(), floorRequests.total(), float64(opRequests.total())/float64(max(1, floorRequests.total())))
	fmt.Fprintf(tw, "writes until drained\t%d\t%d\t%.2f\t\n", opWrites.total(), floorWrites.total(), float64(opWrites.total())/float64(max(1, floorWrites.total())))
	fmt.Fprintf(tw, "  of which the webhook certificate (once per install)\t%d\t0\t\t\n", certWrites)
	fmt.Fprintf(tw, "writes per workload (without the certificate)\t%.2f\t%.2f\t\t\n", writesPerDeploy, float64(floorWrites.total())/n)
	fmt.Fprintf(tw, "  of which Events\t%.2f\t0\t\t\n", float64(eventWrites)/n)
	fmt.Fprintf(tw, "peak RSS (MiB)\t%.1f\t%.1f\t%.2f\t\n", r.opPeakRSS/mib, r.barePeakRSS/mib, memRatio)
	fmt.Fprintf(tw, "RSS at end (MiB)\t%.1f\t%.1f\t%.2f\t\n", r.opRSS/mib, r.bareRSS/mib, r.opRSS/r.bareRSS)
	fmt.Fprintf(tw, "peak heap in use (MiB, %s samples)\t%.1f\t%.1f\t%.2f\t\n", r.scrapeInterval, r.opPeakHeap/mib, r.barePeakHeap/mib, r.opPeakHeap/r.barePeakHeap)
	fmt.Fprintf(tw, "heap in use at end (MiB)\t%.1f\t\t\t\n", r.opHeapEnd/mib)
	o, b := r.opParts, r.bareParts
	fmt.Fprintf(tw, "at end: RSS anonymous / file-backed, the binary's touched pages (MiB)\t%.1f / %.1f\t%.1f / %.1f\t\t\n", o.rssAnon/mib, o.rssFile/mib, b.rssAnon/mib, b.rssFile/mib)
	fmt.Fprintf(tw, "at end: heap in use / freed but kept / stacks / runtime (MiB)\t%.1f / %.1f / %.1f / %.1f\t%.1f / %.1f / %.1f / %.1f\t\t\n",
		o.heapInuse/mib, o.heapIdleKept/mib, o.stacks/mib, o.runtime/mib, b.heapInuse/mib, b.heapIdleKept/mib, b.stacks/mib, b.runtime/mib)
	fmt.Fprintf(tw, "at end: goroutines\t%.0f\t%.0f\t\t\n", o.goroutines, b.goroutines)
	fmt.Fprintf(tw, "CPU (s)\t%.1f\t%.1f\t\t\n", r.opCPU, r.bareCPU)
	fmt.Fprintf(tw, "writes converged->drained\t%d\t\t\t\n", settleWrites.total())
	fmt.Fprintf(tw, "steady-state writes (%.0fs: a forced resync of %.0f workload reconciles, the admission reviews)\t%d\t\t\t\n",
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
	allReads := opReads.total() - convergeWrites.total() - settleWrites.total() - steadyWrites.total()
	fmt.Fprintf(tw, "total\t%d\t%d\t%d\t%d\t%d\t\n", convergeWrites.total(), settleWrites.total(), steadyWrites.total(), allReads, floorRequests.total())
	tw.Flush()

	var ready []string
	for k, v := range r.readyReasons {
		ready = append(ready, fmt.Sprintf("%s=%d", k, v))
	}
	sort.Strings(ready)
	fmt.Fprintf(out, "\nGracefulDrain Ready conditions at the end: %s (no kubelet or controller-manager: rollouts never finish)\n",
		strings.Join(ready, " "))
	fmt.Fprintf(out, "\nthe machine (shared): %s\n", describeHost("convergence", r.hostOpStart, r.hostConverged))
	fmt.Fprintf(out, "  %s\n", describeHost("admission reviews", r.webhook.hostStart, r.webhook.hostEnd))
	fmt.Fprintf(out, "  %s\n", describeHost("write floor", r.hostFloorStart, r.hostFloorEnd))

	w := r.webhook
	apiCalls, periodic := admissionAPICalls(count(r.reqs, operatorUser, w.start, w.end, false))
	callsPerAdmission := float64(apiCalls.total()) / float64(len(w.latencies))
	p50, p99 := w.percentile(50), w.percentile(99)
	printWebhook(out, w, apiCalls, periodic)

	fmt.Fprintf(out, "\nBENCH n=%d converge_s=%.1f floor_s=%.1f converge_ratio=%.2f steady_writes=%d writes_per_deploy=%.2f rss_mb=%.1f bare_rss_mb=%.1f mem_ratio=%.2f\n",
		r.n, opConverge, floorSeconds, convergeRatio, steadyWrites.total(), writesPerDeploy, r.opPeakRSS/mib, r.barePeakRSS/mib, memRatio)
	fmt.Fprintf(out, "WEBHOOK n=%d reviews=%d p50_ms=%.2f p99_ms=%.2f api_calls_per_admission=%.4g\n",
		r.n, len(w.latencies), ms(p50), ms(p99), callsPerAdmission)

	targets := []target{
		{"steady-state writes", "0", fmt.Sprint(steadyWrites.total()), steadyWrites.total() == 0},
		{"writes per workload", fmt.Sprintf("<= %.2f (design minimum with Events)", designWrites), fmt.Sprintf("%.2f", writesPerDeploy), writesPerDeploy <= designWrites+1e-9},
		{"webhook certificate writes", fmt.Sprintf("<= %d", maxCertWrites), fmt.Sprint(certWrites), certWrites <= maxCertWrites},
		{"convergence ratio", fmt.Sprintf("<= %.1f", maxConvergeRatio), fmt.Sprintf("%.2f", convergeRatio), convergeRatio <= maxConvergeRatio},
		{"memory ratio (same GC settings)", fmt.Sprintf("<= %.1f", maxMemRatio), fmt.Sprintf("%.2f", memRatio), memRatio <= maxMemRatio && r.opGOGC == r.bareGOGC && r.opMemLimit == r.bareMemLimit},
		{"webhook p99", fmt.Sprintf("<= %.0f ms", ms(maxWebhookP99)), fmt.Sprintf("%.2f ms", ms(p99)), p99 <= maxWebhookP99},
		{"API calls per admission", "0", fmt.Sprintf("%.4g", callsPerAdmission), apiCalls.total() == 0},
		{"admission answers as expected", fmt.Sprintf("%d", len(w.latencies)), fmt.Sprint(len(w.latencies) - w.wrongCount), w.wrongCount == 0},
		{"operator's own applies sent to its webhook", "0 (matchConditions)", fmt.Sprintf("%.0f", w.admissionsBefore), w.admissionsBefore == 0},
	}
	fmt.Fprintln(out, "\ntargets (docs/benchmarks.md)")
	tw = tabwriter.NewWriter(out, 0, 0, 2, ' ', 0)
	var missed []string
	for _, t := range targets {
		verdict := "met"
		if !t.met {
			verdict = "MISSED"
			missed = append(missed, fmt.Sprintf("%s %s (target %s)", t.name, t.got, t.want))
		}
		fmt.Fprintf(tw, "  %s\t%s\ttarget %s\t%s\n", t.name, t.got, t.want, verdict)
	}
	tw.Flush()
	return missed
}

func printWebhook(out io.Writer, w *webhookResults, apiCalls, periodic requestCounts) {
	fmt.Fprintf(out, "\nadmission webhook: %d reviews (after %d to warm up) from %d senders to %s over TLS, trusting the injected CA bundle\n",
		len(w.latencies), w.warmup, w.senders, w.url)
	tw := tabwriter.NewWriter(out, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "review\treviews\tp50 (ms)\tp99 (ms)\tmax (ms)\t")
	for k := reviewKind(0); k < reviewKinds; k++ {
		d := w.byKind[k]
		fmt.Fprintf(tw, "%s\t%d\t%.2f\t%.2f\t%.2f\t\n", k, len(d), ms(percentile(d, 50)), ms(percentile(d, 99)), ms(percentile(d, 100)))
	}
	fmt.Fprintf(tw, "all\t%d\t%.2f\t%.2f\t%.2f\t\n", len(w.latencies), ms(w.percentile(50)), ms(w.percentile(99)), ms(w.percentile(100)))
	tw.Flush()
	seconds := w.end.Sub(w.start).Seconds()
	var within []string
	for _, le := range handlingBounds {
		within = append(within, fmt.Sprintf("%.1f%% within %s ms", 100*w.handledWithin[le]/float64(len(w.latencies)), strings.TrimSuffix(fmt.Sprintf("%g", 1000*mustFloat(le)), ".0")))
	}
	fmt.Fprintf(out, "%.0f reviews/s; the manager's own handling (gracefuldrain_webhook_admission_duration_seconds): mean %.3f ms, %s\n",
		float64(len(w.latencies))/seconds, 1000*w.handleSeconds/float64(len(w.latencies)), strings.Join(within, ", "))
	var results []string
	for _, k := range []string{"mutated", "unchanged", "skipped", "error"} {
		results = append(results, fmt.Sprintf("%s=%.0f", k, w.admissions[k]))
	}
	fmt.Fprintf(out, "the manager counted (gracefuldrain_webhook_admissions_total): %s; answers not as expected: %d %s\n",
		strings.Join(results, " "), w.wrongCount, strings.Join(w.wrong, "; "))
	fmt.Fprintf(out, "the operator's API requests during the %.1f s of reviews (audit log): %s; on their own clock (watch renewals, the certificate keeper's minute check): %s; its rest client counted %.0f\n",
		seconds, describeCounts(apiCalls), describeCounts(periodic), w.restRequests)
	fmt.Fprintf(out, "the manager allocated %.0f KB per review and its garbage collector ran %.0f times during the reviews; no heap sample was scraped during them (one scrape of the manager's metrics just before took %.0f ms: it builds a series for each workload not Ready)\n",
		w.allocated/1024/float64(max(1, len(w.latencies))), w.gcCycles, ms(w.scrapeTook))
	fmt.Fprintf(out, "(in a cluster the API server sends no UPDATE that leaves the pod template alone: the install's matchConditions leave them out; they are sent here to time the webhook's own answer)\n")
}

func mustFloat(s string) float64 {
	f, err := strconv.ParseFloat(s, 64)
	if err != nil {
		panic(err)
	}
	return f
}

func describeCounts(c requestCounts) string {
	if c.total() == 0 {
		return "none"
	}
	var parts []string
	for _, k := range c.keys() {
		parts = append(parts, fmt.Sprintf("%s %d", k, c[k]))
	}
	return strings.Join(parts, ", ")
}

// rateLimitSeconds is how long client-go's token buckets alone need for these
// writes: controller-runtime's client has one bucket (qps, burst) per kind,
// shared by its subresources (a GracefulDrain's create and its status), and
// Events go through the recorder's own client and bucket; each bucket starts
// full. The slowest bucket bounds the whole.
func rateLimitSeconds(writes requestCounts, qps float64, burst int) float64 {
	perBucket := map[string]int{}
	for k, v := range writes {
		resource, _, _ := strings.Cut(strings.Fields(k)[1], "/")
		perBucket[resource] += v
	}
	slowest := 0.0
	for _, v := range perBucket {
		slowest = max(slowest, float64(v-burst)/qps)
	}
	return slowest
}

func memLimit(bytes float64) string {
	if bytes >= math.MaxInt64 {
		return "off"
	}
	return fmt.Sprintf("%.0fMiB", bytes/mib)
}

func isWriteKey(k string) bool { return request{Verb: strings.Fields(k)[0]}.write() }

func readsOnly(c requestCounts, k string) int {
	if isWriteKey(k) {
		return 0
	}
	return c[k]
}
