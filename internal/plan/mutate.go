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
	"strconv"

	"gomodules.xyz/jsonpatch/v2"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/equality"

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

// templateSpecPath is where the pod spec sits in every kind gracefuldrain
// admits (Deployment, StatefulSet, DaemonSet, Argo Rollout), as a JSON pointer.
const templateSpecPath = "/spec/template/spec"

// MutationPatch is Mutate as a JSON patch of the object w views, for the
// admission webhook's answer: an operation for each drain field Mutate
// changed (the grace period, a container's preStop hook, its readiness
// probe) and nothing else. Built from the fields rather than by diffing the
// whole re-encoded object, it never touches a field this build does not know
// (a newer API server's) and costs the webhook a fraction of a diff. Mutate
// changes w's template in place, as it does.
func MutationPatch(w workload.Workload, p Plan) []jsonpatch.JsonPatchOperation {
	if w.Template == nil || len(w.Template.Spec.Containers) == 0 {
		return nil // no pod to protect (and no pod spec to patch)
	}
	spec := &w.Template.Spec
	type drainFields struct {
		lifecycle *corev1.Lifecycle
		probe     *corev1.Probe
	}
	graceBefore := spec.TerminationGracePeriodSeconds
	before := make([]drainFields, len(spec.Containers))
	for i := range spec.Containers {
		before[i] = drainFields{spec.Containers[i].Lifecycle.DeepCopy(), spec.Containers[i].ReadinessProbe.DeepCopy()}
	}
	Mutate(w, p)

	var ops []jsonpatch.JsonPatchOperation
	// "add" sets a member whether or not it exists (RFC 6902 4.1).
	if grace := spec.TerminationGracePeriodSeconds; grace != nil && (graceBefore == nil || *graceBefore != *grace) {
		ops = append(ops, jsonpatch.NewOperation("add", templateSpecPath+"/terminationGracePeriodSeconds", *grace))
	}
	for i := range spec.Containers {
		c, was := &spec.Containers[i], before[i]
		path := templateSpecPath + "/containers/" + strconv.Itoa(i)
		switch {
		case c.Lifecycle == nil:
		case was.lifecycle == nil:
			ops = append(ops, jsonpatch.NewOperation("add", path+"/lifecycle", c.Lifecycle))
		case !equality.Semantic.DeepEqual(was.lifecycle.PreStop, c.Lifecycle.PreStop): // Mutate sets only the preStop hook
			ops = append(ops, jsonpatch.NewOperation("add", path+"/lifecycle/preStop", c.Lifecycle.PreStop))
		}
		switch {
		case c.ReadinessProbe == nil && was.probe != nil:
			ops = append(ops, jsonpatch.NewOperation("remove", path+"/readinessProbe", nil))
		case c.ReadinessProbe != nil && !equality.Semantic.DeepEqual(was.probe, c.ReadinessProbe):
			ops = append(ops, jsonpatch.NewOperation("add", path+"/readinessProbe", c.ReadinessProbe))
		}
	}
	return ops
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
