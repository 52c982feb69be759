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

package plan

import (
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/structured-merge-diff/v6/fieldpath"

	"github.com/gracefuldrain/gracefuldrain/internal/fieldowners"
)

// Ownership is what the operator's server-side apply owns in a Deployment's
// pod template, read from metadata.managedFields. It matters because apply
// removes a field its manager owned and no longer sends: the plan re-sends
// what the operator owns, and only treats as the user's what it does not.
type Ownership struct {
	// TerminationGracePeriodSeconds is owned by the operator.
	TerminationGracePeriodSeconds bool
	// Containers by container name. A container missing from the map owns nothing.
	Containers map[string]ContainerOwnership
}

// ContainerOwnership is the operator's part of one container.
type ContainerOwnership struct {
	// PreStop: the operator owns a field under lifecycle.preStop.
	PreStop bool
	// ReadinessProbe: the operator owns a field under readinessProbe.
	ReadinessProbe bool
	// ReadinessProbeSole: at least one readiness-probe field the operator owns
	// has no other owner, so the operator no longer sending the probe removes
	// that field.
	ReadinessProbeSole bool
	// ReadinessProbeOthers: another field manager (any operation) owns a field
	// under readinessProbe, which stays when the operator stops sending it.
	ReadinessProbeOthers bool
}

// Owned reads the operator's ownership from the managedFields entry of manager
// FieldManager with operation Apply on the main resource. An entry whose
// FieldsV1 cannot be parsed counts as owning nothing: the plan then treats the
// fields as the user's, which never overwrites anything.
func Owned(managedFields []metav1.ManagedFieldsEntry) Ownership {
	o := Ownership{Containers: map[string]ContainerOwnership{}}
	// Only the operator's own entry is parsed up front: parsing is most of the
	// cost, and the other entries matter only for a readiness probe it owns.
	ours, applied := fieldowners.AppliedBy(managedFields, FieldManager)
	if !applied {
		return o
	}
	var others []fieldowners.Entry
	othersParsed := false
	o.TerminationGracePeriodSeconds = ours.Fields.Has(fieldowners.PodSpecField("terminationGracePeriodSeconds"))
	containers := ours.Under(fieldowners.PodSpecField("containers"))
	containers.Children.Iterate(func(key fieldpath.PathElement) {
		name, ok := containerName(key)
		if !ok {
			return
		}
		var co ContainerOwnership
		co.PreStop = ours.Owns(fieldowners.ContainerField(name, "lifecycle", "preStop"))
		probe := fieldowners.ContainerField(name, "readinessProbe")
		if ours.Owns(probe) {
			co.ReadinessProbe = true
			if !othersParsed {
				others, othersParsed = fieldowners.OfAllBut(managedFields, FieldManager), true
			}
			othersLeaves := &fieldpath.Set{}
			for _, e := range others {
				if e.Owns(probe) {
					co.ReadinessProbeOthers = true
					othersLeaves = othersLeaves.Union(leaves(e, probe))
				}
			}
			// Alone under the probe, the operator owns some field there by
			// itself; the leaves are compared only when somebody else is there too.
			co.ReadinessProbeSole = !co.ReadinessProbeOthers || !leaves(ours, probe).Difference(othersLeaves).Empty()
		}
		if co != (ContainerOwnership{}) {
			o.Containers[name] = co
		}
	})
	return o
}

// leaves are the fields e owns at or below p that have nothing below them.
// Only p's subtree is walked: the entry's other fields never matter here.
func leaves(e fieldowners.Entry, p fieldpath.Path) *fieldpath.Set {
	out := &fieldpath.Set{}
	below := e.Under(p)
	if below.Empty() {
		if e.Fields.Has(p) {
			out.Insert(p)
		}
		return out
	}
	below.Leaves().Iterate(func(rel fieldpath.Path) {
		out.Insert(append(p.Copy(), rel...))
	})
	return out
}

// containerName reads the container name from a list-item key such as k:{"name":"app"}.
func containerName(pe fieldpath.PathElement) (string, bool) {
	if pe.Key == nil {
		return "", false
	}
	for _, f := range *pe.Key {
		if f.Name == "name" && f.Value.IsString() && f.Value.AsString() != "" {
			return f.Value.AsString(), true
		}
	}
	return "", false
}
