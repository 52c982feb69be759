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

package slim

import (
	"strings"
	"sync"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	gdv1 "github.com/gracefuldrain/gracefuldrain/api/v1alpha1"
)

// Decoding gives every string of every object its own copy, so a namespace
// name, a label key or a condition reason that thousands of cached objects
// share is held thousands of times. The transforms below replace such
// strings by one shared copy. Only strings with few distinct values are
// interned: a name or a label value that one or two objects carry would cost
// the table more than the copy it saves.
//
// The table is a plain map, not Go's unique package: unique keeps its copy
// only while a unique.Handle is alive, and the cache keeps strings, not
// handles, so after each garbage collection the next object would get a new
// copy. When the table reaches its limit it starts over: objects keep the
// copies they share, later objects share the new table's. So a cluster with
// more distinct values than the limit costs the table at most the limit, and
// a string no object carries any more is not held for ever.
var interned = &stringTable{limit: 1 << 14} // about 1 MB of strings at the limit

// stringTable holds one copy of each string it has seen, up to limit.
type stringTable struct {
	mu     sync.RWMutex
	copies map[string]string
	limit  int
}

// intern returns the shared copy of s.
func intern(s string) string { return interned.get(s) }

func (t *stringTable) get(s string) string {
	if s == "" {
		return s
	}
	t.mu.RLock()
	c, ok := t.copies[s]
	t.mu.RUnlock()
	if ok {
		return c
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	if c, ok := t.copies[s]; ok {
		return c
	}
	if t.copies == nil || len(t.copies) >= t.limit {
		t.copies = map[string]string{}
	}
	c = strings.Clone(s) // s may point into a larger buffer
	t.copies[c] = c
	return c
}

// internKeys returns m with its keys interned (values untouched); a new map,
// as keys cannot be replaced in place.
func internKeys(m map[string]string) map[string]string {
	if len(m) == 0 {
		return m
	}
	out := make(map[string]string, len(m))
	for k, v := range m {
		out[intern(k)] = v
	}
	return out
}

// internObjectMeta interns the namespace, label and annotation keys, owner
// kinds and managedFields' manager, operation and API version.
func internObjectMeta(m *metav1.ObjectMeta) {
	m.Namespace = intern(m.Namespace)
	m.Labels = internKeys(m.Labels)
	m.Annotations = internKeys(m.Annotations)
	for i := range m.OwnerReferences {
		r := &m.OwnerReferences[i]
		r.APIVersion, r.Kind = intern(r.APIVersion), intern(r.Kind)
	}
	for i := range m.ManagedFields {
		f := &m.ManagedFields[i]
		f.Manager, f.APIVersion, f.FieldsType, f.Subresource = intern(f.Manager), intern(f.APIVersion), intern(f.FieldsType), intern(f.Subresource)
		f.Operation = metav1.ManagedFieldsOperationType(intern(string(f.Operation)))
	}
}

// Intern shares the repeated metadata strings of a typed object (see
// internObjectMeta; for workloads their pod template's too, and the label
// keys of selectors), and of a GracefulDrain the status strings that take a
// few values across workloads (condition types, statuses, reasons and
// messages, the plan's sleep method and hooks, health checks). Other objects
// (unstructured ones, tombstones) pass through.
func Intern(in any) (any, error) {
	o, ok := in.(metav1.ObjectMetaAccessor)
	if !ok {
		return in, nil
	}
	m := o.GetObjectMeta()
	if om, ok := m.(*metav1.ObjectMeta); ok {
		internObjectMeta(om)
	}
	switch o := in.(type) {
	case *gdv1.GracefulDrain:
		internDrainStatus(&o.Status)
	case *appsv1.Deployment:
		internSelector(o.Spec.Selector)
		internObjectMeta(&o.Spec.Template.ObjectMeta)
	case *appsv1.StatefulSet:
		internSelector(o.Spec.Selector)
		internObjectMeta(&o.Spec.Template.ObjectMeta)
	case *appsv1.DaemonSet:
		internSelector(o.Spec.Selector)
		internObjectMeta(&o.Spec.Template.ObjectMeta)
	case *corev1.Service:
		o.Spec.Selector = internKeys(o.Spec.Selector)
	}
	return in, nil
}

func internSelector(s *metav1.LabelSelector) {
	if s != nil {
		s.MatchLabels = internKeys(s.MatchLabels)
	}
}

// internDrainStatus interns the low-cardinality strings of a GracefulDrain's
// status. Condition messages are among them: across a fleet most workloads
// have the same healthy ones ("2 of 2 pods are ready to take traffic."); the
// few that name a pod or a Service cost the table an entry until it starts
// over. Names are left alone: they differ per workload.
func internDrainStatus(s *gdv1.GracefulDrainStatus) {
	s.Mode = gdv1.Mode(intern(string(s.Mode)))
	s.LoadBalancer = intern(s.LoadBalancer)
	if w := s.Workload; w != nil {
		w.APIVersion, w.Kind = intern(w.APIVersion), intern(w.Kind)
	}
	if r := s.Reverts; r != nil {
		r.Manager = intern(r.Manager)
	}
	for i := range s.Attachments {
		a := &s.Attachments[i]
		a.LoadBalancer, a.Source.Kind, a.TargetType, a.ServicePort = intern(a.LoadBalancer), intern(a.Source.Kind), intern(a.TargetType), intern(a.ServicePort)
		a.Container = intern(a.Container)
		h := &a.HealthCheck
		h.Protocol, h.Path, h.Port, h.SuccessCodes = intern(h.Protocol), intern(h.Path), intern(h.Port), intern(h.SuccessCodes)
	}
	if p := s.Plan; p != nil {
		p.SleepMethod, p.SleepMethodReason = intern(p.SleepMethod), intern(p.SleepMethodReason)
		for i := range p.Containers {
			c := &p.Containers[i]
			c.Name, c.PreStop, c.ExistingPreStop, c.ReadinessProbe = intern(c.Name), intern(c.PreStop), intern(c.ExistingPreStop), intern(c.ReadinessProbe)
		}
	}
	for i := range s.Conditions {
		c := &s.Conditions[i]
		c.Type, c.Reason, c.Message = intern(c.Type), intern(c.Reason), intern(c.Message)
		c.Status = metav1.ConditionStatus(intern(string(c.Status)))
	}
}
