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

// Package e2e proves gracefuldrain's promise, "no 502 during a rollout", on a
// real kube-apiserver and kube-controller-manager. Only what this machine cannot
// run is simulated: the kubelet (kubelet.go, container.go), the AWS Load
// Balancer Controller with its ALB (awslb.go, targetgroup.go, webhook.go),
// kube-proxy for instance targets (kubeproxy.go) and the load balancer's data
// plane (proxy.go). Load and measurement are in load.go, the report in
// report.go and chart.go. docs/e2e.md explains the model and its sources.
//
// The rollout test itself (rollout_test.go) runs only with GRACEFULDRAIN_E2E=1
// (make e2e); the unit tests of the simulated parts run in make test.
package e2e

import (
	"math"
	"math/rand/v2"
	"sync"
	"time"
)

// Params holds every delay and rate of the simulation. Defaults() documents
// where each default comes from; docs/e2e.md repeats that in a table.
type Params struct {
	// Kubelet.
	ImagePullAndStart Dist          // pod bound -> container process started (imagePullPolicy: Always pulls first)
	AppStartup        time.Duration // container started -> the server listens (nginx binds in milliseconds)
	ServiceTime       time.Duration // how long the app takes to answer one request

	// AWS Load Balancer Controller (ip targets).
	ControllerDelay   Dist          // EndpointSlice change seen -> RegisterTargets/DeregisterTargets call done
	RegistrationDelay time.Duration // RegisterTargets -> the ALB starts health checking the target
	TargetHealthPoll  time.Duration // how often the controller reads target health to set the pod condition

	// ALB data plane.
	DeregPropagation  Dist          // DeregisterTargets -> the data plane stops sending new requests to the target
	TargetTimeout     time.Duration // no answer from a target within this -> 504
	ProxyIdlePerHost  int           // keep-alive connections the ALB keeps per target
	HealthCheckJitter time.Duration // upper bound of the random offset of a new target's first health check

	// kube-proxy (instance targets).
	KubeProxyPropagation Dist // EndpointSlice change -> iptables rules on the node updated

	// Load.
	Rate        float64       // requests per second through the load balancer, all connections together
	Connections int           // keep-alive client connections the rate is spread over
	LeadIn      time.Duration // load before the image is changed
	Tail        time.Duration // load after the last old pod is gone and the targets have settled
}

// Defaults are the parameters every scenario runs with. Sources (also in docs/e2e.md):
//   - DeregPropagation: AWS Load Balancer Controller issue #2366 (maintainer: after DeregisterTargets "it still
//     takes time for the changes to be actually propagated to ELB's dataplane"), #1719 ("ELB API propagation time:
//     about 10s"), #1064 (a 5 s preStop sleep was not enough, 25 s gave 100 % availability), #2106 (40 s removed
//     almost all 502s). Modelled as log-normal, median 10 s, p99 25 s, cut at 30 s.
//   - ControllerDelay: the controller reconciles the TargetGroupBinding on the EndpointSlice event and calls the
//     ELB API (a few hundred ms per call, batched): 0.5-2 s.
//   - Health checks: taken from the Ingress annotations (ALB defaults 15 s / 5 s / 2 / 2 when absent), not here.
//   - KubeProxyPropagation: kube-proxy's --iptables-min-sync-period is 1 s and a sync of a small cluster takes
//     milliseconds; the Kubernetes network-programming-latency SLO allows p99 <= 30 s at 5000 nodes. Modelled
//     log-normal, median 1 s, p99 3 s, cut at 5 s (small cluster).
//   - ImagePullAndStart: imagePullPolicy Always on a cached image (manifest check + container create), 1-3 s.
func Defaults() Params {
	return Params{
		ImagePullAndStart: Uniform(1*time.Second, 3*time.Second),
		AppStartup:        500 * time.Millisecond,
		ServiceTime:       2 * time.Millisecond,

		ControllerDelay:   Uniform(500*time.Millisecond, 2*time.Second),
		RegistrationDelay: 1 * time.Second,
		TargetHealthPoll:  2 * time.Second,

		DeregPropagation:  LogNormal(10*time.Second, 25*time.Second, 30*time.Second),
		TargetTimeout:     10 * time.Second,
		ProxyIdlePerHost:  8,
		HealthCheckJitter: 2 * time.Second,

		KubeProxyPropagation: LogNormal(1*time.Second, 3*time.Second, 5*time.Second),

		Rate:        60,
		Connections: 4,
		LeadIn:      3 * time.Second,
		Tail:        3 * time.Second,
	}
}

// Dist is a distribution of durations; every draw is in [Min, Max].
type Dist struct {
	Name string
	Min  time.Duration
	Max  time.Duration
	// log-normal when Median > 0: exp(N(ln median, sigma)), cut to [Min, Max]
	Median time.Duration
	Sigma  float64
}

// Uniform draws evenly from [min, max].
func Uniform(min, max time.Duration) Dist {
	return Dist{Name: "uniform " + min.String() + "-" + max.String(), Min: min, Max: max}
}

// LogNormal has the given median and 99th percentile, and no draw above max.
func LogNormal(median, p99, max time.Duration) Dist {
	const z99 = 2.3263478740408408 // standard normal quantile at 0.99
	sigma := math.Log(float64(p99)/float64(median)) / z99
	return Dist{Name: "log-normal median " + median.String() + " p99 " + p99.String() + " max " + max.String(),
		Max: max, Median: median, Sigma: sigma}
}

var (
	rngMu sync.Mutex
	rng   = rand.New(rand.NewPCG(4, 2)) // fixed seed: draws differ only by event order
)

// Draw returns one sample.
func (d Dist) Draw() time.Duration {
	rngMu.Lock()
	defer rngMu.Unlock()
	var v time.Duration
	if d.Median > 0 {
		v = time.Duration(float64(d.Median) * math.Exp(d.Sigma*rng.NormFloat64()))
	} else {
		v = d.Min + time.Duration(rng.Float64()*float64(d.Max-d.Min))
	}
	return min(max(v, d.Min), d.Max)
}

// jitter returns a uniform duration in [0, upTo).
func jitter(upTo time.Duration) time.Duration {
	if upTo <= 0 {
		return 0
	}
	rngMu.Lock()
	defer rngMu.Unlock()
	return time.Duration(rng.Int64N(int64(upTo)))
}
