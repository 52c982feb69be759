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
	"strings"

	appsv1 "k8s.io/api/apps/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
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
func Owned(d *appsv1.Deployment) Ownership {
	o := Ownership{Containers: map[string]ContainerOwnership{}}
	if d == nil {
		return o
	}
	// Readiness-probe leaves by container, the operator's and everyone else's.
	ours, others := map[string]map[string]bool{}, map[string]map[string]bool{}
	for _, mf := range d.ManagedFields {
		if mf.Subresource != "" || mf.FieldsV1 == nil {
			continue
		}
		var root fieldSet
		if err := json.Unmarshal(mf.FieldsV1.Raw, &root); err != nil {
			continue
		}
		isOurs := mf.Manager == FieldManager && mf.Operation == metav1.ManagedFieldsOperationApply
		podSpec := root.get("f:spec", "f:template", "f:spec")
		if isOurs && podSpec.has("f:terminationGracePeriodSeconds") {
			o.TerminationGracePeriodSeconds = true
		}
		for key, c := range podSpec.get("f:containers") {
			name, ok := containerKey(key)
			if !ok {
				continue
			}
			leaves := others
			if isOurs {
				leaves = ours
				if c.get("f:lifecycle").has("f:preStop") {
					co := o.Containers[name]
					co.PreStop = true
					o.Containers[name] = co
				}
			}
			if c.has("f:readinessProbe") {
				if leaves[name] == nil {
					leaves[name] = map[string]bool{}
				}
				c.get("f:readinessProbe").leaves("", leaves[name])
			}
		}
	}
	for name, set := range ours {
		co := o.Containers[name]
		co.ReadinessProbe = true
		co.ReadinessProbeOthers = others[name] != nil
		for leaf := range set {
			if !others[name][leaf] {
				co.ReadinessProbeSole = true
			}
		}
		o.Containers[name] = co
	}
	return o
}

// fieldSet is a FieldsV1 document: every key is a field ("f:name"), a list item
// by key ("k:{...}") or by value ("v:..."), or "." for the item itself.
type fieldSet map[string]fieldSet

func (s fieldSet) get(path ...string) fieldSet {
	for _, p := range path {
		if s == nil {
			return nil
		}
		s = s[p]
	}
	return s
}

// leaves adds the paths of the fields in s, below prefix, to out. A field
// with nothing below it ("f:port":{}) is a leaf; "." marks an owned map or list
// item itself and counts as a leaf too.
func (s fieldSet) leaves(prefix string, out map[string]bool) {
	if len(s) == 0 {
		out[prefix] = true
		return
	}
	for k, v := range s {
		if k == "." {
			out[prefix] = true
			continue
		}
		v.leaves(prefix+"/"+k, out)
	}
}

func (s fieldSet) has(key string) bool {
	_, ok := s[key]
	return ok
}

// containerKey reads the container name from a list-item key such as k:{"name":"app"}.
func containerKey(key string) (string, bool) {
	raw, ok := strings.CutPrefix(key, "k:")
	if !ok {
		return "", false
	}
	var k struct {
		Name string `json:"name"`
	}
	if err := json.Unmarshal([]byte(raw), &k); err != nil || k.Name == "" {
		return "", false
	}
	return k.Name, true
}
