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

// demo is `make demo`: seed 000 rolled out under steady traffic through the
// e2e's simulated ALB, on a real etcd + kube-apiserver + kube-controller-manager,
// once without the operator and once with it (its own process, default
// settings, its admission webhook), side by side; then what the operator
// reports. It stops everything it started and ends with one line:
//
//	DEMO requests_off=N errors_off=N requests_on=N errors_on=N ready=True|False
//
// Run it from the repository root with KUBEBUILDER_ASSETS set (hack/demo.sh does).
package main

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/gracefuldrain/gracefuldrain/test/e2e"
)

func main() {
	os.Exit(run())
}

func step(format string, args ...any) { fmt.Printf("\n\033[1m== "+format+"\033[0m\n", args...) }

func run() int {
	repoRoot, err := os.Getwd()
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	P := e2e.Defaults()
	if v := os.Getenv("E2E_TIME_SCALE"); v != "" {
		if s, err := strconv.ParseFloat(v, 64); err == nil && s >= 1 {
			P.TimeScale = s
		}
	}
	dir, err := os.MkdirTemp("", "gracefuldrain-demo-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer os.RemoveAll(dir)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()

	step("Starting etcd, kube-apiserver and kube-controller-manager v1.35.4, a simulated node, ALB and AWS Load Balancer Controller, and gracefuldrain (bin/manager, default settings, admission webhook)")
	quiet := func(string, ...any) {}
	env, err := e2e.StartEnv(ctx, repoRoot, dir, P, quiet)
	if err != nil {
		fmt.Fprintln(os.Stderr, "starting:", err)
		return 1
	}
	defer func() {
		step("Stopping everything the demo started")
		env.Stop()
	}()
	kubectl := func(args ...string) {
		fmt.Printf("$ kubectl %s\n", strings.Join(args, " "))
		cmd := exec.CommandContext(ctx, env.Kubectl, append([]string{"--kubeconfig", env.CP.Kubeconfig}, args...)...)
		cmd.Stdout, cmd.Stderr = os.Stdout, os.Stdout
		_ = cmd.Run()
	}

	step("Seed 000 (10 nginx pods, ALB Ingress, ip targets) twice, side by side; its image changed under %.0f requests/s", P.Rate)
	fmt.Printf("   demo-nginx-off: as the report wrote it\n")
	fmt.Printf("   demo-nginx-on:  the same, in a namespace labelled gracefuldrain.io/mode=enforce\n")
	fmt.Printf("   (time runs %gx faster than on EKS, health checks and delays included; docs/e2e.md)\n", P.TimeScale)
	off := e2e.Scenario{Name: "seed000-off", NS: "demo-nginx-off", Target: e2e.ALBIP, Rollouts: 1}
	on := e2e.Scenario{Name: "seed000-on", NS: "demo-nginx-on", Target: e2e.ALBIP, Operator: true, Rollouts: 1}
	results := make([]*e2e.RunResult, 2)
	errs := make([]error, 2)
	var wg sync.WaitGroup
	for i, sc := range []e2e.Scenario{off, on} {
		wg.Go(func() {
			start := time.Now()
			results[i], errs[i] = env.Run(ctx, sc)
			if errs[i] == nil {
				fmt.Printf("   %s: rolled out under load in %s\n", sc.NS, time.Since(start).Round(time.Second))
			}
		})
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			fmt.Fprintf(os.Stderr, "%s: %v\n", []string{off.NS, on.NS}[i], err)
			return 1
		}
	}
	rOff, rOn := results[0], results[1]

	step("Side by side")
	fmt.Printf("   %-16s %8s %8s  %s\n", "", "requests", "non-2xx", "why (docs/e2e.md, causes)")
	for _, r := range []*e2e.RunResult{rOff, rOn} {
		fmt.Printf("   %-16s %8d %8d  %s\n", r.Scenario.NS, len(r.Answers), r.Errors(), e2e.CauseSummary(r.Causes))
	}
	how := "the webhook put the plan into the Deployment's first write"
	if rOn.Install.Generation != 1 {
		how = "the plan came in a later write"
	}
	fmt.Printf("   with the operator: generation %d at creation (%s), %d after the image change, %d ReplicaSets\n",
		rOn.Install.Generation, how, rOn.Final.Generation, rOn.Final.ReplicaSets)
	for _, p := range append(rOff.Problems, rOn.Problems...) {
		fmt.Printf("   problem: %s\n", p)
	}

	step("What gracefuldrain reports")
	kubectl("get", "gd", "-n", on.NS)
	kubectl("get", "deploy", "-n", on.NS, "demo-nginx-deployment", "-o",
		"jsonpath=terminationGracePeriodSeconds: {.spec.template.spec.terminationGracePeriodSeconds}{\"\\n\"}preStop: {.spec.template.spec.containers[0].lifecycle.preStop}{\"\\n\"}readinessProbe: {.spec.template.spec.containers[0].readinessProbe}{\"\\n\"}")
	step("Events from gracefuldrain")
	kubectl("get", "events", "--all-namespaces", "--field-selector", "reportingComponent=gracefuldrain",
		"--sort-by=.lastTimestamp", "-o", "custom-columns=TYPE:.type,REASON:.reason,KIND:.involvedObject.kind,OBJECT:.involvedObject.name,MESSAGE:.message")

	ready := readyCondition(ctx, env.Kubectl, env.CP.Kubeconfig, on.NS)
	fmt.Printf("\nDEMO requests_off=%d errors_off=%d requests_on=%d errors_on=%d ready=%s\n",
		len(rOff.Answers), rOff.Errors(), len(rOn.Answers), rOn.Errors(), ready)
	return 0
}

// readyCondition reads the GracefulDrain's Ready condition status ("True", "False", or "Unknown").
func readyCondition(ctx context.Context, kubectl, kubeconfig, ns string) string {
	out, err := exec.CommandContext(ctx, kubectl, "--kubeconfig", kubeconfig, "get", "gd", "-n", ns, "demo-nginx-deployment",
		"-o", `jsonpath={.status.conditions[?(@.type=="Ready")].status}`).Output()
	if err != nil || len(strings.TrimSpace(string(out))) == 0 {
		return "Unknown"
	}
	return strings.TrimSpace(string(out))
}
