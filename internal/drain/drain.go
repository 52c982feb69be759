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

// Package drain is the one decision both write paths make for a workload:
// the reconciler (server-side apply of what already exists) and the admission
// webhook (the user's own write). From the same inputs, read from the same
// cache, it gives the same answer: the settings in force, the load balancers
// found, the plan and what applying it would change.
package drain

import (
	corev1 "k8s.io/api/core/v1"

	gdv1 "github.com/gracefuldrain/gracefuldrain/api/v1alpha1"
	"github.com/gracefuldrain/gracefuldrain/internal/discovery"
	"github.com/gracefuldrain/gracefuldrain/internal/invalid"
	"github.com/gracefuldrain/gracefuldrain/internal/plan"
	"github.com/gracefuldrain/gracefuldrain/internal/settings"
	"github.com/gracefuldrain/gracefuldrain/internal/workload"
)

// Input is everything the decision for one workload is a function of.
type Input struct {
	Workload  workload.Workload
	Namespace *corev1.Namespace
	// Neighbours are the objects of the workload's namespace (and the
	// cluster's IngressClasses) that discovery looks at; their Workload is
	// ignored.
	Neighbours discovery.Inputs
	Defaults   plan.Defaults
	// ForceAudit makes every namespace behave as audit (--force-audit).
	ForceAudit bool
}

// Decision is what gracefuldrain makes of one workload.
type Decision struct {
	Settings settings.Effective
	// Mode in force: the settings' mode, or audit under ForceAudit.
	Mode  gdv1.Mode
	Found discovery.Result
	Plan  plan.Plan
	// Pending are the changes applying the plan would make to the workload.
	Pending []plan.Change
	// Problems are the settings and load-balancer values that were refused.
	Problems []invalid.Setting
}

// Settings reads the workload's own settings against its namespace. A
// workload whose namespace has not opted in is never looked at further.
func Settings(ns *corev1.Namespace, w workload.Workload) settings.Effective {
	return settings.Parse(
		settings.Source{Ref: "Namespace " + ns.Name, Labels: ns.Labels, Annotations: ns.Annotations},
		settings.Source{Ref: w.Ref(), Annotations: w.Annotations})
}

// Decide computes the decision. It reads nothing but its input.
func Decide(in Input) Decision {
	d := Decision{Settings: Settings(in.Namespace, in.Workload)}
	d.Mode = d.Settings.Mode
	if in.ForceAudit && d.Mode == gdv1.ModeEnforce {
		d.Mode = gdv1.ModeAudit
	}
	if !d.Settings.Managed {
		return d
	}
	neighbours := in.Neighbours
	neighbours.Workload = in.Workload
	d.Found = discovery.Discover(neighbours)
	if len(d.Found.Attachments) == 0 {
		return d
	}
	d.Problems = append(append([]invalid.Setting(nil), d.Settings.Problems...), d.Found.Problems...)
	d.Plan, d.Pending = plan.ComputeWithChanges(plan.Input{Workload: in.Workload, Attachments: d.Found.Attachments, Defaults: in.Defaults, Overrides: d.Settings.Overrides})
	return d
}

// Managed says whether gracefuldrain looks after the workload: its namespace
// opted in, it is not off, and an AWS load balancer sends it traffic.
func (d Decision) Managed() bool {
	return d.Settings.Managed && len(d.Found.Attachments) > 0
}

// MayWrite says whether gracefuldrain may change the workload: it is managed
// in enforce mode and nothing about it is invalid.
func (d Decision) MayWrite() bool {
	return d.Managed() && d.Mode == gdv1.ModeEnforce && len(d.Problems) == 0
}
