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

// Package plan computes, without a client, the drain settings a Deployment needs
// for the load balancers in front of it, the server-side apply configuration
// that carries them, and the list of changes that apply would make.
package plan

import (
	corev1 "k8s.io/api/core/v1"
	"sigs.k8s.io/structured-merge-diff/v6/fieldpath"

	"github.com/gracefuldrain/gracefuldrain/internal/discovery"
	"github.com/gracefuldrain/gracefuldrain/internal/workload"
)

// FieldManager is the server-side apply field manager of the operator.
const FieldManager = "gracefuldrain"

// SleepMethod is how the preStop sleep is expressed in the pod spec.
type SleepMethod string

const (
	// SleepNative is lifecycle.preStop.sleep.seconds: the kubelet sleeps, so it
	// works on images without /bin/sleep (API server 1.30 or newer).
	SleepNative SleepMethod = "Sleep"
	// SleepExec is lifecycle.preStop.exec.command: ["sleep", "N"].
	SleepExec SleepMethod = "Exec"
)

// Defaults are the operator-wide settings, each a manager flag.
type Defaults struct {
	ALBIPPreStopSeconds    int32 // ip targets behind an ALB (40)
	NLBIPPreStopSeconds    int32 // ip targets behind an NLB (90)
	InstancePreStopSeconds int32 // instance targets (10)
	ShutdownSeconds        int32 // the app's own shutdown after the sleep (30)
	SleepMethod            SleepMethod
	// SleepMethodReason says why SleepMethod was chosen (ChooseSleepMethod).
	SleepMethodReason string
}

// Overrides are the per-Deployment annotations, already validated.
type Overrides struct {
	PreStopSeconds  *int32 // gracefuldrain.io/prestop-seconds
	ShutdownSeconds *int32 // gracefuldrain.io/shutdown-seconds
	// LeaveReadinessProbes is gracefuldrain.io/readiness-probe: leave.
	LeaveReadinessProbes bool
}

// Input is everything the plan is a function of.
type Input struct {
	Workload    workload.Workload
	Attachments []discovery.Attachment
	Defaults    Defaults
	Overrides   Overrides
}

// PreStopAction is what the plan does with one container's preStop hook.
type PreStopAction string

const (
	PreStopSet    PreStopAction = "Set"    // no hook, or the operator's own: the operator sets the plan's sleep
	PreStopRaise  PreStopAction = "Raise"  // a user's shorter sleep: raised, in the same form (native or exec)
	PreStopKeep   PreStopAction = "Keep"   // a user's sleep at least as long: left alone
	PreStopCustom PreStopAction = "Custom" // another handler (custom exec, httpGet): never replaced, reported
)

// ProbeAction is what the plan does with one container's readiness probe.
type ProbeAction string

const (
	ProbeDerive     ProbeAction = "Derive"     // serves a target port and has no probe (or the operator's): derived from the health check
	ProbeKeep       ProbeAction = "Keep"       // the user's probe: never replaced
	ProbeNotServing ProbeAction = "NotServing" // serves no target port of an attached Service
	ProbeLeave      ProbeAction = "Leave"      // gracefuldrain.io/readiness-probe: leave
)

// ContainerPlan is the plan for one regular container.
type ContainerPlan struct {
	Name    string
	PreStop PreStopAction
	// ExistingPreStop describes the hook found before the plan ("" when none),
	// for example "sleep 5s", "exec [sleep 5]", "exec [/bin/drain]", "httpGet :8080/drain".
	ExistingPreStop string
	// PreStopHook is the handler the operator sends when PreStop is PreStopSet or
	// PreStopRaise (nil otherwise). It has exactly one handler type, the form
	// chosen so that server-side apply never leaves two handler types on a hook.
	PreStopHook    *corev1.LifecycleHandler
	ReadinessProbe ProbeAction
	// Probe is the derived probe when ReadinessProbe is ProbeDerive, with every
	// field the API server would default set explicitly.
	Probe *corev1.Probe
}

// Plan is the drain settings for one Deployment.
type Plan struct {
	PreStopSeconds int32
	SleepMethod    SleepMethod
	// SleepMethodReason says why (versions of the API server and kubelets, or the flag).
	SleepMethodReason string
	ShutdownSeconds   int32
	// TerminationGracePeriodSeconds is max(current, PreStopSeconds+ShutdownSeconds): never lowered.
	// A user's sleep that is kept because it is longer than PreStopSeconds counts
	// instead of PreStopSeconds, so that the kubelet does not kill the pod in the
	// middle of the sleep, before the app has had its shutdown time.
	TerminationGracePeriodSeconds int32
	// NeedsReadinessGate is true when an attachment registers pod IPs (ip targets).
	NeedsReadinessGate bool
	Containers         []ContainerPlan
}

// Change is one field that applying the plan changes, for Events and logs.
type Change struct {
	Field string // for example "containers[app].lifecycle.preStop" or "terminationGracePeriodSeconds"
	// Path is the field in managedFields terms, to tell who owns it.
	Path   fieldpath.Path
	Before string // "none" when absent
	After  string
}
