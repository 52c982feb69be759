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
	"sync"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/util/managedfields"
	"k8s.io/apimachinery/pkg/util/managedfields/managedfieldstest"
	"k8s.io/client-go/applyconfigurations"
	"k8s.io/client-go/kubernetes/scheme"

	"github.com/gracefuldrain/gracefuldrain/internal/workload"
)

// fakeAPIServer holds one Deployment and changes it the way the API server
// does: real server-side apply and managedFields (the structured-merge-diff
// field manager with the built-in types' schema), then the API server's
// defaults for the fields the plan touches. It lets the tests check that
// Changes is empty exactly when an apply would not change anything.
type fakeAPIServer struct {
	t    testing.TB
	fm   *managedfields.FieldManager
	live runtime.Object
}

var deploymentGVK = appsv1.SchemeGroupVersion.WithKind("Deployment")

// typeConverter parses the built-in types' schema once: it takes a while.
var typeConverter = sync.OnceValue(func() managedfields.TypeConverter {
	return applyconfigurations.NewTypeConverter(scheme.Scheme)
})

func newFakeAPIServer(t testing.TB) *fakeAPIServer {
	t.Helper()
	tc := typeConverter()
	live := &unstructured.Unstructured{}
	live.SetGroupVersionKind(deploymentGVK)
	return &fakeAPIServer{t: t, fm: managedfieldstest.NewFakeFieldManager(tc, deploymentGVK), live: live}
}

// update is a PUT or client-side kubectl apply by manager (operation Update).
func (s *fakeAPIServer) update(d *appsv1.Deployment, manager string) {
	s.t.Helper()
	d = d.DeepCopy()
	d.SetGroupVersionKind(deploymentGVK)
	d.ManagedFields = s.deployment().ManagedFields
	u := toUnstructured(s.t, d)
	out, err := s.fm.Update(s.live, u, manager)
	if err != nil {
		s.t.Fatalf("update by %s: %v", manager, err)
	}
	s.store(out)
}

// apply is a server-side apply of obj (an apply configuration or a typed
// object) by manager.
func (s *fakeAPIServer) apply(obj any, manager string, force bool) error {
	s.t.Helper()
	raw, err := json.Marshal(obj)
	if err != nil {
		s.t.Fatal(err)
	}
	u := &unstructured.Unstructured{}
	if err := json.Unmarshal(raw, &u.Object); err != nil {
		s.t.Fatal(err)
	}
	// What kubectl strips from a typed object before applying it.
	delete(u.Object, "status")
	unstructured.RemoveNestedField(u.Object, "metadata", "creationTimestamp")
	unstructured.RemoveNestedField(u.Object, "spec", "template", "metadata", "creationTimestamp")
	u.SetGroupVersionKind(deploymentGVK)
	out, err := s.fm.Apply(s.live, u, manager, force)
	if err != nil {
		return err
	}
	s.store(out)
	return nil
}

// applyPlan computes the plan for the live Deployment and applies it as the
// operator does (forced). It returns the plan and the changes it announced.
func (s *fakeAPIServer) applyPlan(in Input) (Plan, []Change) {
	s.t.Helper()
	in.Workload = workload.OfDeployment(s.deployment())
	p := Compute(in)
	changes := Changes(in.Workload, p)
	if err := s.apply(ApplyConfiguration(in.Workload, p), FieldManager, true); err != nil {
		s.t.Fatalf("apply plan: %v", err)
	}
	return p, changes
}

// store defaults the object as the API server does and keeps it.
func (s *fakeAPIServer) store(obj runtime.Object) {
	s.t.Helper()
	var d appsv1.Deployment
	if err := runtime.DefaultUnstructuredConverter.FromUnstructured(obj.(*unstructured.Unstructured).Object, &d); err != nil {
		s.t.Fatal(err)
	}
	applyAPIDefaults(&d)
	d.SetGroupVersionKind(deploymentGVK)
	s.live = toUnstructured(s.t, &d)
}

func (s *fakeAPIServer) deployment() *appsv1.Deployment {
	s.t.Helper()
	var d appsv1.Deployment
	if err := runtime.DefaultUnstructuredConverter.FromUnstructured(s.live.(*unstructured.Unstructured).Object, &d); err != nil {
		s.t.Fatal(err)
	}
	return &d
}

func toUnstructured(t testing.TB, d *appsv1.Deployment) *unstructured.Unstructured {
	t.Helper()
	m, err := runtime.DefaultUnstructuredConverter.ToUnstructured(d)
	if err != nil {
		t.Fatal(err)
	}
	return &unstructured.Unstructured{Object: m}
}

// applyAPIDefaults sets what the API server's defaulting sets on the fields
// the plan reads or writes (pkg/apis/core/v1/defaults.go), plus a few
// container defaults so that objects look like the ones read from a cluster.
func applyAPIDefaults(d *appsv1.Deployment) {
	spec := &d.Spec.Template.Spec
	if spec.TerminationGracePeriodSeconds == nil {
		g := int64(30)
		spec.TerminationGracePeriodSeconds = &g
	}
	if spec.RestartPolicy == "" {
		spec.RestartPolicy = corev1.RestartPolicyAlways
	}
	if spec.DNSPolicy == "" {
		spec.DNSPolicy = corev1.DNSClusterFirst
	}
	for _, cs := range [][]corev1.Container{spec.InitContainers, spec.Containers} {
		for i := range cs {
			c := &cs[i]
			if c.TerminationMessagePath == "" {
				c.TerminationMessagePath = corev1.TerminationMessagePathDefault
			}
			if c.TerminationMessagePolicy == "" {
				c.TerminationMessagePolicy = corev1.TerminationMessageReadFile
			}
			if c.ImagePullPolicy == "" {
				c.ImagePullPolicy = corev1.PullIfNotPresent
			}
			for j := range c.Ports {
				if c.Ports[j].Protocol == "" {
					c.Ports[j].Protocol = corev1.ProtocolTCP
				}
			}
			for _, p := range []*corev1.Probe{c.ReadinessProbe, c.LivenessProbe, c.StartupProbe} {
				defaultProbe(p)
			}
			if c.Lifecycle != nil {
				for _, h := range []*corev1.LifecycleHandler{c.Lifecycle.PreStop, c.Lifecycle.PostStart} {
					if h != nil && h.HTTPGet != nil && h.HTTPGet.Scheme == "" {
						h.HTTPGet.Scheme = corev1.URISchemeHTTP
					}
				}
			}
		}
	}
}

func defaultProbe(p *corev1.Probe) {
	if p == nil {
		return
	}
	if p.TimeoutSeconds == 0 {
		p.TimeoutSeconds = 1
	}
	if p.PeriodSeconds == 0 {
		p.PeriodSeconds = 10
	}
	if p.SuccessThreshold == 0 {
		p.SuccessThreshold = 1
	}
	if p.FailureThreshold == 0 {
		p.FailureThreshold = 3
	}
	if p.HTTPGet != nil && p.HTTPGet.Scheme == "" {
		p.HTTPGet.Scheme = corev1.URISchemeHTTP
	}
}
