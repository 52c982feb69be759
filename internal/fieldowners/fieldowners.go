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

// Package fieldowners reads metadata.managedFields: which field manager owns
// which field, and since when. Every part of gracefuldrain that asks "who set
// this field" (the plan's own fields, the manager that reverted them, when the
// readiness-gate label was set, what the cache keeps) asks it here, through
// structured-merge-diff's fieldpath, the API server's own representation.
package fieldowners

import (
	"bytes"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/structured-merge-diff/v6/fieldpath"
)

// Entry is one managedFields entry of an object's main resource, its fields parsed.
type Entry struct {
	Manager   string
	Operation metav1.ManagedFieldsOperationType
	Time      *metav1.Time
	Fields    *fieldpath.Set
}

// Of parses the entries of the main resource. Entries of subresources
// (status, scale) are left out: they never own the spec or labels. An entry
// whose FieldsV1 cannot be parsed owns nothing, which never makes gracefuldrain
// overwrite a field: it then treats the field as somebody else's.
func Of(entries []metav1.ManagedFieldsEntry) []Entry {
	return OfAllBut(entries, "")
}

// OfAllBut is Of without the Apply entry of manager (none left out when
// manager is empty): the other owners, parsed only when they are needed.
func OfAllBut(entries []metav1.ManagedFieldsEntry, manager string) []Entry {
	out := make([]Entry, 0, len(entries))
	for _, mf := range entries {
		if !mainResource(mf) || (manager != "" && isApplyOf(mf, manager)) {
			continue
		}
		if e, ok := parse(mf); ok {
			out = append(out, e)
		}
	}
	return out
}

// AppliedBy returns the entry of manager's server-side apply on the main
// resource, if any. Only that entry is parsed.
func AppliedBy(entries []metav1.ManagedFieldsEntry, manager string) (Entry, bool) {
	for _, mf := range entries {
		if mainResource(mf) && isApplyOf(mf, manager) {
			return parse(mf)
		}
	}
	return Entry{}, false
}

func mainResource(mf metav1.ManagedFieldsEntry) bool {
	return mf.Subresource == "" && mf.FieldsV1 != nil
}

func isApplyOf(mf metav1.ManagedFieldsEntry, manager string) bool {
	return mf.Manager == manager && mf.Operation == metav1.ManagedFieldsOperationApply
}

func parse(mf metav1.ManagedFieldsEntry) (Entry, bool) {
	set := &fieldpath.Set{}
	if err := set.FromJSON(bytes.NewReader(mf.FieldsV1.Raw)); err != nil {
		return Entry{}, false
	}
	return Entry{Manager: mf.Manager, Operation: mf.Operation, Time: mf.Time, Fields: set}, true
}

// Under returns the fields the entry owns below p, without p itself.
func (e Entry) Under(p fieldpath.Path) *fieldpath.Set {
	s := e.Fields
	for _, pe := range p {
		s = s.WithPrefix(pe)
	}
	return s
}

// Owns says whether the entry owns the field at p or any field below it.
func (e Entry) Owns(p fieldpath.Path) bool {
	return e.Fields.Has(p) || !e.Under(p).Empty()
}

// EntryOwns says whether one managedFields entry of the main resource owns
// the field at p or any field below it.
func EntryOwns(mf metav1.ManagedFieldsEntry, p fieldpath.Path) bool {
	if !mainResource(mf) {
		return false
	}
	e, ok := parse(mf)
	return ok && e.Owns(p)
}

// OwnedSince is when the field at p got its current owners: the earliest
// time of the entries that own it. Nil when no entry owns it or none says when.
func OwnedSince(entries []metav1.ManagedFieldsEntry, p fieldpath.Path) *metav1.Time {
	var since *metav1.Time
	for _, e := range Of(entries) {
		if e.Time == nil || !e.Owns(p) {
			continue
		}
		if since == nil || e.Time.Before(since) {
			since = e.Time
		}
	}
	return since
}

// PodSpec is the pod template's spec in every workload kind gracefuldrain
// manages (Deployment, StatefulSet, DaemonSet, Argo Rollout).
var PodSpec = fieldpath.MakePathOrDie("spec", "template", "spec")

// PodSpecField is a field of the pod template's spec, such as terminationGracePeriodSeconds.
func PodSpecField(parts ...string) fieldpath.Path {
	return join(PodSpec, fields(parts))
}

// Container is a regular container of the pod template, keyed by name as
// containers are in server-side apply.
func Container(name string) fieldpath.Path {
	return join(PodSpec, fieldpath.Path{fieldpath.FieldNameElement("containers"), fieldpath.KeyElementByFields("name", name)})
}

// ContainerField is a field of a regular container, such as lifecycle.preStop.
func ContainerField(name string, parts ...string) fieldpath.Path {
	return join(Container(name), fields(parts))
}

// Label is metadata.labels[key].
func Label(key string) fieldpath.Path {
	return fieldpath.MakePathOrDie("metadata", "labels", key)
}

func fields(names []string) fieldpath.Path {
	p := make(fieldpath.Path, 0, len(names))
	for _, n := range names {
		p = append(p, fieldpath.FieldNameElement(n))
	}
	return p
}

func join(a, b fieldpath.Path) fieldpath.Path {
	out := make(fieldpath.Path, 0, len(a)+len(b))
	return append(append(out, a...), b...)
}
