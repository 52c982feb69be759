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

package conflict

import (
	"sort"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/gracefuldrain/gracefuldrain/internal/fieldowners"
	"github.com/gracefuldrain/gracefuldrain/internal/plan"
)

// Reverters names the field managers, other than the operator, that own a
// field one of the changes touches, most recent first. When the operator's
// fields were undone, the most recent of them is the one that undid them
// (a GitOps tool re-applying its manifest, a script, a person with kubectl).
func Reverters(managedFields []metav1.ManagedFieldsEntry, changes []plan.Change) []string {
	type owner struct {
		name string
		unix int64
	}
	var owners []owner
	seen := map[string]bool{}
	for _, e := range fieldowners.Of(managedFields) {
		if e.Manager == plan.FieldManager || seen[e.Manager] {
			continue
		}
		for _, ch := range changes {
			if len(ch.Path) > 0 && e.Owns(ch.Path) {
				var unix int64
				if e.Time != nil {
					unix = e.Time.Unix()
				}
				owners = append(owners, owner{e.Manager, unix})
				seen[e.Manager] = true
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
