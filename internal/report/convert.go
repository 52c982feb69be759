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

package report

import (
	"sort"
	"strings"

	gdv1 "github.com/gracefuldrain/gracefuldrain/api/v1alpha1"
	"github.com/gracefuldrain/gracefuldrain/internal/discovery"
	"github.com/gracefuldrain/gracefuldrain/internal/plan"
)

// LoadBalancerSummary is e.g. "ALB/ip" or "ALB/ip,NLB/instance", deduplicated.
func LoadBalancerSummary(atts []discovery.Attachment) string {
	seen := map[string]bool{}
	var parts []string
	for _, a := range atts {
		s := a.Summary()
		if !seen[s] {
			seen[s] = true
			parts = append(parts, s)
		}
	}
	sort.Strings(parts)
	return strings.Join(parts, ",")
}

func attachments(atts []discovery.Attachment) []gdv1.Attachment {
	out := make([]gdv1.Attachment, 0, len(atts))
	for _, a := range atts {
		out = append(out, gdv1.Attachment{
			LoadBalancer:               string(a.LoadBalancer),
			Source:                     gdv1.ObjectReference{Kind: string(a.SourceKind), Name: a.SourceName},
			Group:                      a.Group,
			Service:                    a.ServiceName,
			ServicePort:                a.ServicePort,
			TargetType:                 string(a.TargetType),
			Container:                  a.Container,
			ContainerPort:              a.ContainerPort,
			HealthCheck:                a.HealthCheck,
			DeregistrationDelaySeconds: a.DeregistrationDelaySeconds,
		})
	}
	return out
}

func drainPlan(p plan.Plan) *gdv1.DrainPlan {
	out := &gdv1.DrainPlan{
		PreStopSeconds:                p.PreStopSeconds,
		SleepMethod:                   string(p.SleepMethod),
		SleepMethodReason:             p.SleepMethodReason,
		ShutdownSeconds:               p.ShutdownSeconds,
		TerminationGracePeriodSeconds: p.TerminationGracePeriodSeconds,
		ReadinessGateLabel:            p.NeedsReadinessGate,
	}
	for _, c := range p.Containers {
		out.Containers = append(out.Containers, gdv1.ContainerPlan{
			Name: c.Name, PreStop: string(c.PreStop), ExistingPreStop: c.ExistingPreStop, ReadinessProbe: string(c.ReadinessProbe),
		})
	}
	return out
}
