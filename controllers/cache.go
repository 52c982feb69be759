package controllers

import (
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/fields"
	"sigs.k8s.io/controller-runtime/pkg/cache"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/gracefuldrain/gracefuldrain/internal/annotations"
	"github.com/gracefuldrain/gracefuldrain/internal/plan"
	"github.com/gracefuldrain/gracefuldrain/internal/slim"
)

// CacheOptions keeps in memory only what the operator reads: other managers'
// managedFields are dropped from every object (the operator needs only its
// own entry, to know which fields it owns), so are kubectl's last-applied
// copies and the fields slim.DropUnread lists, and pods are cut down to
// labels, owners, readiness gates and status.
func CacheOptions() cache.Options {
	return cache.Options{
		DefaultTransform: slim.Chain(slim.KeepOwnManagedFields(plan.FieldManager), slim.DropUnread),
		ByObject: map[client.Object]cache.ByObject{
			&corev1.Pod{}: {Transform: slim.Pod},
			// The namespace entries that own the readiness-gate label tell when it was set.
			&corev1.Namespace{}: {Transform: slim.Chain(
				slim.KeepManagedFieldsMentioning(plan.FieldManager, "f:"+annotations.ReadinessGateInjectLabel), slim.DropUnread)},
			crdMetadata(): {Field: fields.OneTermEqualSelector("metadata.name", TargetGroupBindingCRDName)},
		},
	}
}
