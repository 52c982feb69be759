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
// Balancer Controller with its ALB and NLB (awslb.go, targetgroup.go, nlb.go,
// webhook.go), kube-proxy for instance targets (kubeproxy.go) and the load
// balancers' data planes (proxy.go, nlb.go). Every pod's timeline and the
// cause of every failed request are in timeline.go; load and measurement in
// load.go, the report in report.go and chart.go; harness.go runs scenarios
// (the e2e test and `make demo` share it). docs/e2e.md explains the model,
// its sources and the fit of its distributions.
//
// The rollout test itself (rollout_test.go) runs only with GRACEFULDRAIN_E2E=1
// (make e2e); the unit tests of the simulated parts run in make test.
package e2e

import (
	"fmt"
	"math"
	"math/rand/v2"
	"sync"
	"time"
)

// Params holds every delay and rate of the simulation. Durations are model
// time (what they would be on EKS) unless a field says "wall"; the simulation
// runs TimeScale model seconds per wall-clock second (Wall, Model). Defaults()
// documents where each default comes from; docs/e2e.md repeats that in a table.
type Params struct {
	// TimeScale compresses every model duration by the same factor: a 40 s
	// preStop sleeps 40/TimeScale s of wall time, a 15 s health-check interval
	// is 15/TimeScale s, a propagation delay drawn as 12 s routes for
	// 12/TimeScale s. What the simulation measures is multiplied back.
	TimeScale float64

	// Kubelet.
	ImagePullAndStart Dist // pod bound -> container process started (imagePullPolicy: Always pulls first)
	AppStartup        Dist // container started -> the server listens
	ServiceTime       time.Duration

	// AWS Load Balancer Controller.
	ControllerDelay   Dist          // EndpointSlice change seen -> RegisterTargets/DeregisterTargets call done
	RegistrationDelay time.Duration // RegisterTargets -> the load balancer starts health checking the target
	HealthCheckJitter time.Duration // upper bound of the random offset of a new target's first health check
	TargetHealthPoll  time.Duration // how often the controller reads target health to set the pod condition

	// Data planes: DeregisterTargets -> no new request (ALB) or new connection (NLB) reaches the target.
	ALBDeregPropagation Dist
	NLBDeregPropagation Dist
	TargetTimeout       time.Duration // wall: no answer from a target within this -> 504
	ALBIdleTimeout      time.Duration // keep-alive connections to targets idle this long are closed
	ALBNodes            int           // ALB nodes (one per availability zone), each with its own connections to a target
	ALBConnsPerNode     int           // keep-alive connections one ALB node keeps to one target

	// kube-proxy (instance targets): EndpointSlice change -> the node's rules updated.
	KubeProxyPropagation Dist

	// Load, in wall time: a compressed run keeps the request rate of a real one per wall second.
	Rate        float64 // requests per wall second through the load balancer, all connections together
	Connections int     // keep-alive client connections the rate is spread over (ALB); NLB clients open one per request
	LeadIn      time.Duration
	Tail        time.Duration
}

// Wall is how long a model duration takes on this machine.
func (p Params) Wall(model time.Duration) time.Duration {
	return time.Duration(float64(model) / p.TimeScale)
}

// Model is the model duration a wall-clock duration stands for.
func (p Params) Model(wall time.Duration) time.Duration {
	return time.Duration(float64(wall) * p.TimeScale)
}

// DefaultTimeScale is the compression make e2e and make demo run with
// (E2E_TIME_SCALE overrides it): 4 model seconds per wall second keeps the
// shortest model delay that matters (the ~1 s kube-proxy and controller
// delays) at a few hundred milliseconds of wall time, well above the
// scheduling noise of a loaded 2-core machine, while a 180 s NLB preStop
// takes 45 s.
const DefaultTimeScale = 4

// Defaults are the parameters every scenario runs with. Sources are in
// docs/e2e.md ("Parameters" and "The fit"); in short:
//   - ALBDeregPropagation: median 12 s and p90 20 s (aws-load-balancer-controller #1719, "ELB API propagation
//     time: about 10s"; pod-graceful-drain's chart, "usually takes 10~20 seconds"), a power-law tail from 25 s
//     with P(> 60 s) = 0.1 % (pod-graceful-drain: "up to 60 seconds ... during the cluster upgrade"); it then
//     gives P(> 40 s) = 0.5 % (#2106: at 40 s "502 errors are very rarely found", at 70 s "not found (yet)").
//   - NLBDeregPropagation: median 120 s, p90 133 s (#2366 "consistently took 2 minutes", #3270 "about 2
//     minutes", aws/containers-roadmap #470 "the effective minimum delay seems to be 120 seconds"), a tail
//     from 140 s with P(> 180 s) = 0.1 % (istio #35964: "up to 180 seconds").
//   - KubeProxyPropagation: median 1 s (--iptables-min-sync-period), p99 3 s, P(> 10 s) = 0.1 % (a node's
//     kube-proxy under load; the SIG Scalability network-programming SLO allows p99 30 s at 5,000 nodes).
//   - ImagePullAndStart, AppStartup: seconds to tens of seconds for a pull with imagePullPolicy Always; nginx
//     (with its entrypoint scripts) listens about a second after start.
func Defaults() Params {
	return Params{
		TimeScale: DefaultTimeScale,

		ImagePullAndStart: LogNormal("image pull and start", 5*time.Second, 0.99, 30*time.Second, 60*time.Second),
		AppStartup:        LogNormal("app start", 1*time.Second, 0.99, 5*time.Second, 10*time.Second),
		ServiceTime:       2 * time.Millisecond,

		ControllerDelay:   Uniform("controller delay", 500*time.Millisecond, 2*time.Second),
		RegistrationDelay: 1 * time.Second,
		HealthCheckJitter: 2 * time.Second,
		TargetHealthPoll:  2 * time.Second,

		ALBDeregPropagation: HeavyTailed("ALB deregistration propagation", 12*time.Second, 0.90, 20*time.Second,
			25*time.Second, 60*time.Second, 0.001, 300*time.Second),
		NLBDeregPropagation: HeavyTailed("NLB deregistration propagation", 120*time.Second, 0.90, 133*time.Second,
			140*time.Second, 180*time.Second, 0.001, 300*time.Second),
		TargetTimeout:   10 * time.Second,
		ALBIdleTimeout:  60 * time.Second,
		ALBNodes:        3,
		ALBConnsPerNode: 8,

		KubeProxyPropagation: HeavyTailed("kube-proxy programming", 1*time.Second, 0.99, 3*time.Second,
			3*time.Second, 10*time.Second, 0.001, 60*time.Second),

		Rate:        60,
		Connections: 4,
		LeadIn:      3 * time.Second,
		Tail:        3 * time.Second,
	}
}

// Dist is a distribution of durations: uniform over [Min, Max], or a
// log-normal body (Median, Sigma) whose survival above TailFrom, when set,
// falls as a power law with exponent Alpha (a Pareto tail spliced on at
// TailFrom, keeping the distribution continuous), cut at Max.
type Dist struct {
	Name     string
	Min, Max time.Duration
	Median   time.Duration
	Sigma    float64
	TailFrom time.Duration
	Alpha    float64
}

// Uniform draws evenly from [min, max].
func Uniform(name string, min, max time.Duration) Dist {
	return Dist{Name: name, Min: min, Max: max}
}

// LogNormal has the given median and q-quantile xq, and no draw above max.
func LogNormal(name string, median time.Duration, q float64, xq, max time.Duration) Dist {
	return Dist{Name: name, Median: median, Sigma: math.Log(float64(xq)/float64(median)) / normalQuantile(q), Max: max}
}

// HeavyTailed is a log-normal body with the given median and q-quantile xq,
// whose tail from tailFrom on is a power law fitted so that P(X > at) =
// exceed; no draw above max.
func HeavyTailed(name string, median time.Duration, q float64, xq, tailFrom, at time.Duration, exceed float64, max time.Duration) Dist {
	d := LogNormal(name, median, q, xq, max)
	d.TailFrom = tailFrom
	d.Alpha = math.Log(exceed/d.bodySurvival(tailFrom)) / math.Log(float64(tailFrom)/float64(at))
	return d
}

func (d Dist) String() string {
	switch {
	case d.Median == 0:
		return fmt.Sprintf("%s: uniform %v-%v", d.Name, d.Min, d.Max)
	case d.TailFrom == 0:
		return fmt.Sprintf("%s: log-normal median %v sigma %.3f, at most %v", d.Name, d.Median, d.Sigma, d.Max)
	default:
		return fmt.Sprintf("%s: log-normal median %v sigma %.3f, power-law tail from %v alpha %.2f, at most %v",
			d.Name, d.Median, d.Sigma, d.TailFrom, d.Alpha, d.Max)
	}
}

func (d Dist) bodySurvival(x time.Duration) float64 {
	if x <= 0 {
		return 1
	}
	z := math.Log(float64(x)/float64(d.Median)) / d.Sigma
	return 0.5 * math.Erfc(z/math.Sqrt2)
}

// Exceed is P(X > x).
func (d Dist) Exceed(x time.Duration) float64 {
	if x >= d.Max {
		return 0
	}
	if d.Median == 0 {
		switch {
		case x < d.Min:
			return 1
		default:
			return float64(d.Max-x) / float64(d.Max-d.Min)
		}
	}
	if d.TailFrom == 0 || x <= d.TailFrom {
		return d.bodySurvival(x)
	}
	return d.bodySurvival(d.TailFrom) * math.Pow(float64(d.TailFrom)/float64(x), d.Alpha)
}

// Quantile is the p-quantile (0 < p < 1), at most Max.
func (d Dist) Quantile(p float64) time.Duration {
	var v time.Duration
	switch {
	case d.Median == 0:
		v = d.Min + time.Duration(p*float64(d.Max-d.Min))
	case d.TailFrom > 0 && 1-p < d.bodySurvival(d.TailFrom):
		v = time.Duration(float64(d.TailFrom) * math.Pow(d.bodySurvival(d.TailFrom)/(1-p), 1/d.Alpha))
	default:
		v = time.Duration(float64(d.Median) * math.Exp(d.Sigma*normalQuantile(p)))
	}
	return min(max(v, d.Min), d.Max)
}

func normalQuantile(p float64) float64 { return math.Sqrt2 * math.Erfinv(2*p-1) }

var (
	rngMu sync.Mutex
	rng   = rand.New(rand.NewPCG(4, 2)) // fixed seed: draws differ only by event order
)

// Draw returns one sample (inverse transform of a uniform draw).
func (d Dist) Draw() time.Duration {
	rngMu.Lock()
	u := rng.Float64()
	rngMu.Unlock()
	return d.Quantile(max(u, math.SmallestNonzeroFloat64))
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
