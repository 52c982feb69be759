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

package controllers

import (
	corev1 "k8s.io/api/core/v1"
	"sigs.k8s.io/controller-runtime/pkg/cache"
	"sigs.k8s.io/controller-runtime/pkg/client"

	gdv1 "github.com/gracefuldrain/gracefuldrain/api/v1alpha1"
	"github.com/gracefuldrain/gracefuldrain/internal/awslb"
	"github.com/gracefuldrain/gracefuldrain/internal/fieldowners"
	"github.com/gracefuldrain/gracefuldrain/internal/plan"
	"github.com/gracefuldrain/gracefuldrain/internal/slim"
)

// CacheOptions keeps in memory only what the operator reads: other managers'
// managedFields are dropped from every object (the operator needs only its
// own entry, to know which fields it owns; none of its GracefulDrains'), so
// are kubectl's last-applied copies and the fields slim.DropUnread lists
// (most of a Deployment's pod template), and pods are cut down to labels,
// owners, readiness gates and status. What many objects repeat (namespaces,
// label keys, condition reasons) is then held once (slim.Intern).
func CacheOptions() cache.Options {
	return cache.Options{
		DefaultTransform: slim.Chain(slim.KeepOwnManagedFields(plan.FieldManager), slim.DropUnread, slim.Intern),
		ByObject: map[client.Object]cache.ByObject{
			&corev1.Pod{}: {Transform: slim.Chain(slim.Pod, slim.Intern)},
			// Only the kubelet version is read (the sleep method).
			&corev1.Node{}: {Transform: slim.Node},
			// Only Deployments' and Namespaces' ownership is read; a GracefulDrain's entries describe its status.
			&gdv1.GracefulDrain{}: {Transform: slim.Chain(slim.DropManagedFields, slim.DropUnread, slim.Intern)},
			// The namespace entries that own the readiness-gate label tell when it was set.
			&corev1.Namespace{}: {Transform: slim.Chain(
				slim.KeepManagedFieldsOwning(plan.FieldManager, fieldowners.Label(awslb.ReadinessGateInjectLabel)), slim.DropUnread, slim.Intern)},
		},
	}
}

// ClientOptions make the manager's client read unstructured objects (Argo
// Rollouts, TargetGroupBindings) from the cache too, with their field
// indexes, instead of listing them from the API server at every reconcile.
func ClientOptions() client.Options {
	return client.Options{Cache: &client.CacheOptions{Unstructured: true}}
}
