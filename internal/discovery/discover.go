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

package discovery

import (
	"cmp"
	"fmt"
	"slices"
	"strconv"

	corev1 "k8s.io/api/core/v1"

	"github.com/gracefuldrain/gracefuldrain/internal/invalid"
	"github.com/gracefuldrain/gracefuldrain/internal/workload"
)

// Discover finds every load balancer attachment of in.Workload (DESIGN.md,
// "Which Deployments sit behind an AWS load balancer"). The workload is
// behind an AWS load balancer exactly when Attachments is not empty.
// Discover never panics and reads nothing but its input.
func Discover(in Inputs) Result {
	if in.Workload.Template == nil {
		return Result{}
	}
	x := newDiscoverer(in)
	x.ingresses()           // rule 1: ALB Ingresses
	x.nlbServices()         // rule 2: NLB Services
	x.targetGroupBindings() // rule 3: TargetGroupBindings
	return x.result()
}

// Summary is the LOAD BALANCER column of `kubectl get gd`, for example "ALB/ip".
func (a Attachment) Summary() string {
	return string(a.LoadBalancer) + "/" + string(a.TargetType)
}

type discoverer struct {
	in       Inputs
	workload workload.Workload
	// services are the Services of the workload's namespace by name;
	// selecting are those that select its pod template, in input order.
	services  map[string]*corev1.Service
	selecting []*corev1.Service
	selects   map[string]bool

	attachments []Attachment
	problems    []invalid.Setting
	warnings    []string
	unresolved  []string
}

func newDiscoverer(in Inputs) *discoverer {
	x := &discoverer{
		in:       in,
		workload: in.Workload,
		services: make(map[string]*corev1.Service, len(in.Services)),
		selects:  map[string]bool{},
	}
	labels := in.Workload.Template.Labels
	for i := range in.Services {
		svc := &in.Services[i]
		if !x.sameNamespace(svc.Namespace) {
			continue
		}
		if _, dup := x.services[svc.Name]; dup {
			continue
		}
		x.services[svc.Name] = svc
		if ServiceSelectsTemplate(svc, labels) {
			x.selecting = append(x.selecting, svc)
			x.selects[svc.Name] = true
		}
	}
	return x
}

// sameNamespace keeps objects of other namespaces out; an empty namespace
// (objects built in tests, or not yet defaulted) matches any.
func (x *discoverer) sameNamespace(ns string) bool {
	return ns == "" || x.workload.Namespace == "" || ns == x.workload.Namespace
}

// attach records a, with the container that serves the Service port.
func (x *discoverer) attach(a Attachment, svc *corev1.Service, sp *corev1.ServicePort) {
	if c, p, ok := resolveTargetPort(x.workload.Containers(), sp); ok {
		a.Container, a.ContainerPort = c, p
	} else {
		x.warnings = append(x.warnings, fmt.Sprintf(
			"Service %s port %d has targetPort %s, which no container of %s declares.",
			svcKey(svc), sp.Port, targetPortText(sp), x.workload.Ref()))
		x.unresolved = append(x.unresolved, fmt.Sprintf("Service %s port %d targetPort %s", svc.Name, sp.Port, targetPortText(sp)))
	}
	x.attachments = append(x.attachments, a)
}

func (x *discoverer) result() Result {
	slices.SortStableFunc(x.attachments, compareAttachments)
	x.attachments = slices.CompactFunc(x.attachments, func(a, b Attachment) bool { return compareAttachments(a, b) == 0 })

	slices.SortFunc(x.problems, func(a, b invalid.Setting) int {
		return cmp.Or(cmp.Compare(a.Object, b.Object), cmp.Compare(a.Key, b.Key),
			cmp.Compare(a.Value, b.Value), cmp.Compare(a.Message, b.Message))
	})
	x.problems = slices.Compact(x.problems)

	slices.Sort(x.warnings)
	x.warnings = slices.Compact(x.warnings)

	slices.Sort(x.unresolved)
	x.unresolved = slices.Compact(x.unresolved)

	return Result{Attachments: x.attachments, Problems: x.problems, Warnings: x.warnings, UnresolvedTargetPorts: x.unresolved}
}

// compareAttachments orders by source kind, source name, Service and
// Service port; equal means the same path to the pods, reached twice.
func compareAttachments(a, b Attachment) int {
	return cmp.Or(
		cmp.Compare(a.SourceKind, b.SourceKind),
		cmp.Compare(a.SourceName, b.SourceName),
		cmp.Compare(a.ServiceName, b.ServiceName),
		comparePorts(a.ServicePort, b.ServicePort),
	)
}

// comparePorts puts numbers first, in numeric order (80 before 443), then names.
func comparePorts(a, b string) int {
	na, errA := strconv.Atoi(a)
	nb, errB := strconv.Atoi(b)
	switch {
	case errA == nil && errB == nil:
		return cmp.Or(cmp.Compare(na, nb), cmp.Compare(a, b))
	case errA == nil:
		return -1
	case errB == nil:
		return 1
	}
	return cmp.Compare(a, b)
}
