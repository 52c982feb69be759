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
	"reflect"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"

	"github.com/gracefuldrain/gracefuldrain/internal/workload"
)

// Mutate puts the plan into the workload's pod template in place, as the
// admission webhook does to a user's write: the fields ApplyConfiguration
// sends, with the same values, so that afterwards Changes finds nothing
// pending. A readiness probe the operator alone owns and no longer sends is
// removed, as server-side apply would remove it; one that other managers
// co-own is left for the reconciler's apply, which removes exactly the
// operator's fields.
func Mutate(w workload.Workload, p Plan) {
	if w.Template == nil {
		return
	}
	spec := &w.Template.Spec
	grace := int64(p.TerminationGracePeriodSeconds)
	spec.TerminationGracePeriodSeconds = &grace
	own := Owned(w.ManagedFields)
	for i := range spec.Containers {
		c := &spec.Containers[i]
		cp := p.container(c.Name)
		if cp == nil {
			continue
		}
		if hook := sentPreStop(cp); hook != nil {
			if c.Lifecycle == nil {
				c.Lifecycle = &corev1.Lifecycle{}
			}
			c.Lifecycle.PreStop = hook.DeepCopy()
		}
		switch probe := sentProbe(cp); {
		case probe != nil:
			if c.ReadinessProbe == nil {
				c.ReadinessProbe = &corev1.Probe{}
			}
			mergeProbe(c.ReadinessProbe, probe)
		case c.ReadinessProbe != nil && own.Containers[c.Name].ReadinessProbeSole && !own.Containers[c.Name].ReadinessProbeOthers:
			c.ReadinessProbe = nil
		}
	}
}

// MutateRollout puts the plan into an Argo Rollout read as unstructured data,
// whose view w holds a converted copy of its template: Mutate changes the
// copy, and the drain fields (the grace period, and each container's
// lifecycle and readiness probe) are written back into u, nothing else.
func MutateRollout(u *unstructured.Unstructured, w workload.Workload, p Plan) error {
	if w.Template == nil {
		return nil
	}
	Mutate(w, p)
	spec := w.Template.Spec
	if err := unstructured.SetNestedField(u.Object, *spec.TerminationGracePeriodSeconds, "spec", "template", "spec", "terminationGracePeriodSeconds"); err != nil {
		return err
	}
	containers, _, err := unstructured.NestedSlice(u.Object, "spec", "template", "spec", "containers")
	if err != nil {
		return err
	}
	for i := range containers {
		c, ok := containers[i].(map[string]any)
		if !ok {
			continue
		}
		for _, mutated := range spec.Containers {
			if mutated.Name != c["name"] {
				continue
			}
			for field, value := range map[string]any{"lifecycle": mutated.Lifecycle, "readinessProbe": mutated.ReadinessProbe} {
				if reflect.ValueOf(value).IsNil() {
					delete(c, field)
					continue
				}
				m, err := runtime.DefaultUnstructuredConverter.ToUnstructured(value)
				if err != nil {
					return err
				}
				c[field] = m
			}
		}
	}
	return unstructured.SetNestedSlice(u.Object, containers, "spec", "template", "spec", "containers")
}

// mergeProbe sets the fields the plan sends and keeps the others (an initial
// delay someone else set), as server-side apply merges them.
func mergeProbe(have, want *corev1.Probe) {
	have.ProbeHandler = *want.ProbeHandler.DeepCopy()
	have.TimeoutSeconds = want.TimeoutSeconds
	have.PeriodSeconds = want.PeriodSeconds
	have.SuccessThreshold = want.SuccessThreshold
	have.FailureThreshold = want.FailureThreshold
}

// container is the plan of the named container, nil when it has none.
func (p Plan) container(name string) *ContainerPlan {
	for i := range p.Containers {
		if p.Containers[i].Name == name {
			return &p.Containers[i]
		}
	}
	return nil
}
