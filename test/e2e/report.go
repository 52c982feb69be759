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

package e2e

import (
	"fmt"
	"io"
	"math"
	"slices"
	"strings"
	"time"
)

// RolloutResult is one image change under load.
type RolloutResult struct {
	Scenario string
	Operator bool
	Index    int
	Requests int
	Errors   map[int]int // non-2xx answers by status code (0: no answer)
	Rollout  time.Duration
	PreStop  time.Duration
	DeregP99 time.Duration // p99 of the run's deletion-to-cutoff times
}

// ErrorCount is the number of non-2xx answers.
func (r RolloutResult) ErrorCount() int {
	n := 0
	for _, v := range r.Errors {
		n += v
	}
	return n
}

// Tally counts requests and non-2xx answers sent in [from, to).
func Tally(answers []Answer, from, to time.Time) (int, map[int]int) {
	errs := map[int]int{}
	n := 0
	for _, a := range answers {
		if a.At.Before(from) || !a.At.Before(to) {
			continue
		}
		n++
		if a.Code < 200 || a.Code > 299 {
			errs[a.Code]++
		}
	}
	return n, errs
}

// Percentile returns the p-th percentile (nearest rank) of ds, 0 when empty.
func Percentile(ds []time.Duration, p float64) time.Duration {
	if len(ds) == 0 {
		return 0
	}
	s := slices.Clone(ds)
	slices.Sort(s)
	rank := int(math.Ceil(p/100*float64(len(s)))) - 1
	return s[min(max(rank, 0), len(s)-1)]
}

// WriteTable prints the results and, last, the machine-readable E2E line.
func WriteTable(w io.Writer, results []RolloutResult, scenarios int) {
	fmt.Fprintf(w, "%-12s %-8s %-7s %8s %-24s %9s %8s %14s %15s\n",
		"SCENARIO", "OPERATOR", "ROLLOUT", "REQUESTS", "ERRORS (BY CODE)", "ROLLOUT_S", "PRESTOP_S", "DEREG_P99_S", "DRAIN_OVERHEAD")
	var offErr, onErr, onReq int
	for _, r := range results {
		op := "off"
		if r.Operator {
			op = "on"
			onErr += r.ErrorCount()
			onReq += r.Requests
		} else {
			offErr += r.ErrorCount()
		}
		overhead := "-"
		if r.DeregP99 > 0 {
			overhead = fmt.Sprintf("%.2f", r.PreStop.Seconds()/r.DeregP99.Seconds())
		}
		fmt.Fprintf(w, "%-12s %-8s %-7d %8d %-24s %9.1f %8.0f %14.1f %15s\n",
			r.Scenario, op, r.Index, r.Requests, FormatErrors(r.Errors), r.Rollout.Seconds(), r.PreStop.Seconds(), r.DeregP99.Seconds(), overhead)
	}
	fmt.Fprintf(w, "E2E scenarios=%d off_errors=%d on_errors=%d on_requests=%d\n", scenarios, offErr, onErr, onReq)
}

// FormatErrors prints errors as "total (502:n 503:m)".
func FormatErrors(errs map[int]int) string {
	codes := make([]int, 0, len(errs))
	total := 0
	for c, n := range errs {
		codes = append(codes, c)
		total += n
	}
	if total == 0 {
		return "0"
	}
	slices.Sort(codes)
	parts := make([]string, 0, len(codes))
	for _, c := range codes {
		name := fmt.Sprint(c)
		if c == 0 {
			name = "none"
		}
		parts = append(parts, fmt.Sprintf("%s:%d", name, errs[c]))
	}
	return fmt.Sprintf("%d (%s)", total, strings.Join(parts, " "))
}
