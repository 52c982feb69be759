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
	"encoding/json"
	"sort"
	"strings"

	appsv1 "k8s.io/api/apps/v1"
)

// Reverters names the field managers, other than the operator, that own a
// field one of the changes touches, most recent first. When the operator's
// fields were undone, the most recent of them is the one that undid them
// (a GitOps tool re-applying its manifest, a script, a person with kubectl).
func Reverters(d *appsv1.Deployment, changes []Change) []string {
	type owner struct {
		name string
		unix int64
	}
	var owners []owner
	seen := map[string]bool{}
	for _, mf := range d.ManagedFields {
		if mf.Manager == FieldManager || mf.Subresource != "" || mf.FieldsV1 == nil || seen[mf.Manager] {
			continue
		}
		var root fieldSet
		if err := json.Unmarshal(mf.FieldsV1.Raw, &root); err != nil {
			continue
		}
		podSpec := root.get("f:spec", "f:template", "f:spec")
		for _, ch := range changes {
			if ownsChangedField(podSpec, ch.Field) {
				var unix int64
				if mf.Time != nil {
					unix = mf.Time.Unix()
				}
				owners = append(owners, owner{mf.Manager, unix})
				seen[mf.Manager] = true
				break
			}
		}
	}
	sort.SliceStable(owners, func(i, j int) bool { return owners[i].unix > owners[j].unix })
	names := make([]string, 0, len(owners))
	for _, o := range owners {
		names = append(names, o.name)
	}
	return names
}

// ownsChangedField maps a Change.Field ("terminationGracePeriodSeconds",
// "containers[app].lifecycle.preStop", "containers[app].readinessProbe") to
// its FieldsV1 path below the pod spec.
func ownsChangedField(podSpec fieldSet, field string) bool {
	if field == "terminationGracePeriodSeconds" {
		return podSpec.has("f:terminationGracePeriodSeconds")
	}
	rest, ok := strings.CutPrefix(field, "containers[")
	if !ok {
		return false
	}
	name, sub, ok := strings.Cut(rest, "].")
	if !ok {
		return false
	}
	for key, c := range podSpec.get("f:containers") {
		if n, ok := containerKey(key); !ok || n != name {
			continue
		}
		switch sub {
		case "lifecycle.preStop":
			return c.get("f:lifecycle").has("f:preStop")
		case "readinessProbe":
			return c.has("f:readinessProbe")
		}
	}
	return false
}
