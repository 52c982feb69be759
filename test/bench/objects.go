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

package main

import (
	"context"
	"fmt"
	"sync"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"

	gdv1 "github.com/gracefuldrain/gracefuldrain/api/v1alpha1"
	"github.com/gracefuldrain/gracefuldrain/internal/awslb"
	"github.com/gracefuldrain/gracefuldrain/internal/settings"
	"github.com/gracefuldrain/gracefuldrain/internal/testsupport"
	views "github.com/gracefuldrain/gracefuldrain/internal/workload"
)

// workloadsPerNamespace: N workloads are spread over N/10 opted-in namespaces,
// each with the kinds of the mix (kinds.go).
const workloadsPerNamespace = 10

// workload is one workload (a Deployment, StatefulSet, DaemonSet or Argo
// Rollout with a template of its own) with the Service and ALB Ingress (ip
// targets) that put it behind a load balancer, as a typical EKS app is
// deployed. Exactly one of the kind's fields is set.
type workload struct {
	Kind        views.Kind
	Deployment  *appsv1.Deployment
	StatefulSet *appsv1.StatefulSet
	DaemonSet   *appsv1.DaemonSet
	Rollout     *unstructured.Unstructured
	Service     *corev1.Service
	Ingress     *networkingv1.Ingress
}

// object is the workload itself.
func (w *workload) object() client.Object {
	switch w.Kind {
	case views.StatefulSet:
		return w.StatefulSet
	case views.DaemonSet:
		return w.DaemonSet
	case views.Rollout:
		return w.Rollout
	}
	return w.Deployment
}

// view is the workload as the operator's pure packages see it.
func (w *workload) view() (views.Workload, error) {
	switch w.Kind {
	case views.StatefulSet:
		return views.OfStatefulSet(w.StatefulSet), nil
	case views.DaemonSet:
		return views.OfDaemonSet(w.DaemonSet), nil
	case views.Rollout:
		return views.OfRollout(w.Rollout, nil)
	}
	return views.OfDeployment(w.Deployment), nil
}

// fleet is the generated object set: namespaces and their workloads.
type fleet struct {
	Mix        mix
	Namespaces []*corev1.Namespace
	Workloads  map[string][]*workload // by namespace
}

// newFleet builds n workloads in namespaces named prefix-000, prefix-001, ...,
// each namespace with the kinds of the mix (web-0, web-1, ... in the order of
// the mix: Deployments first).
func newFleet(prefix string, n int, m mix) *fleet {
	f := &fleet{Mix: m, Workloads: map[string][]*workload{}}
	slots := m.kinds()
	for i := 0; i < n; i++ {
		nsName := fmt.Sprintf("%s-%03d", prefix, i/workloadsPerNamespace)
		if i%workloadsPerNamespace == 0 {
			f.Namespaces = append(f.Namespaces, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{
				Name:   nsName,
				Labels: map[string]string{settings.ModeKey: string(gdv1.ModeEnforce)},
			}})
		}
		slot := i % workloadsPerNamespace
		f.Workloads[nsName] = append(f.Workloads[nsName], newWorkload(nsName, fmt.Sprintf("web-%d", slot), slots[slot]))
	}
	return f
}

func newWorkload(ns, name string, kind views.Kind) *workload {
	labels := map[string]string{"app.kubernetes.io/name": name, "app.kubernetes.io/part-of": "bench"}
	selector := map[string]string{"app.kubernetes.io/name": name}
	app := testsupport.ALBApp(ns, name)
	// What a real app's objects carry besides what gracefuldrain reads: the
	// cache's memory is measured on objects of a realistic size.
	d := app.Deployment
	d.Labels, d.Spec.Selector.MatchLabels, d.Spec.Template.Labels = labels, selector, labels
	c := &d.Spec.Template.Spec.Containers[0]
	c.Image = "public.ecr.aws/nginx/nginx:1.27"
	c.Env = []corev1.EnvVar{{Name: "APP_NAME", Value: name}, {Name: "LOG_LEVEL", Value: "info"}}
	c.Resources = corev1.ResourceRequirements{Requests: corev1.ResourceList{
		corev1.ResourceCPU: resource.MustParse("100m"), corev1.ResourceMemory: resource.MustParse("128Mi"),
	}}
	app.Service.Labels, app.Service.Spec.Selector = labels, selector
	app.Ingress.Labels = labels
	app.Ingress.Annotations[awslb.ALBAnnotationPrefix+"scheme"] = "internet-facing"
	app.Ingress.Annotations[awslb.AnnotationALBHealthCheckPath] = "/healthz"
	app.Ingress.Spec.Rules[0].Host = name + "." + ns + ".example.com"
	w := &workload{Kind: kind, Service: app.Service, Ingress: app.Ingress}
	// The other kinds get the same pod template, replicas and selector.
	meta := metav1.ObjectMeta{Namespace: ns, Name: name, Labels: labels}
	switch kind {
	case views.Deployment:
		w.Deployment = d
	case views.StatefulSet:
		w.StatefulSet = &appsv1.StatefulSet{ObjectMeta: meta, Spec: appsv1.StatefulSetSpec{
			Replicas: d.Spec.Replicas, Selector: d.Spec.Selector, Template: d.Spec.Template, ServiceName: name,
		}}
	case views.DaemonSet:
		w.DaemonSet = &appsv1.DaemonSet{ObjectMeta: meta, Spec: appsv1.DaemonSetSpec{
			Selector: d.Spec.Selector, Template: d.Spec.Template,
		}}
	case views.Rollout:
		w.Rollout = newRollout(meta, d)
	}
	return w
}

// newRollout is an Argo Rollout with its own pod template (d's) and a
// canary strategy of weights and timed pauses, as Argo Rollouts' examples have.
func newRollout(meta metav1.ObjectMeta, d *appsv1.Deployment) *unstructured.Unstructured {
	template, err := runtime.DefaultUnstructuredConverter.ToUnstructured(&d.Spec.Template)
	if err != nil {
		panic(err) // a typed pod template always converts
	}
	selector, err := runtime.DefaultUnstructuredConverter.ToUnstructured(d.Spec.Selector)
	if err != nil {
		panic(err)
	}
	u := &unstructured.Unstructured{Object: map[string]any{
		"spec": map[string]any{
			"replicas":             int64(*d.Spec.Replicas),
			"revisionHistoryLimit": int64(10),
			"selector":             selector,
			"template":             template,
			"strategy": map[string]any{"canary": map[string]any{"steps": []any{
				map[string]any{"setWeight": int64(20)},
				map[string]any{"pause": map[string]any{"duration": "30s"}},
				map[string]any{"setWeight": int64(50)},
				map[string]any{"pause": map[string]any{"duration": "30s"}},
			}}},
		},
	}}
	u.SetGroupVersionKind(views.RolloutGVK)
	u.SetNamespace(meta.Namespace)
	u.SetName(meta.Name)
	u.SetLabels(meta.Labels)
	return u
}

// create sends the fleet to the API server with the (unthrottled) admin
// client, namespaces first. Created objects are updated in place with what
// the server returned (defaults, resourceVersion), which the floor plans from.
func (f *fleet) create(ctx context.Context, c client.Client, workers int) error {
	if err := parallel(ctx, workers, len(f.Namespaces), func(i int) error {
		return c.Create(ctx, f.Namespaces[i])
	}); err != nil {
		return err
	}
	var objs []client.Object
	for _, ns := range f.Namespaces {
		for _, w := range f.Workloads[ns.Name] {
			objs = append(objs, w.Service, w.Ingress, w.object())
		}
	}
	return parallel(ctx, workers, len(objs), func(i int) error { return c.Create(ctx, objs[i]) })
}

// parallel runs fn(0..n-1) on the given number of workers and returns the first error.
func parallel(ctx context.Context, workers, n int, fn func(i int) error) error {
	var (
		wg       sync.WaitGroup
		mu       sync.Mutex
		firstErr error
	)
	next := make(chan int)
	for w := 0; w < workers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range next {
				if err := fn(i); err != nil {
					mu.Lock()
					if firstErr == nil {
						firstErr = err
					}
					mu.Unlock()
				}
			}
		}()
	}
	for i := 0; i < n; i++ {
		mu.Lock()
		failed := firstErr != nil
		mu.Unlock()
		if failed || ctx.Err() != nil {
			break
		}
		next <- i
	}
	close(next)
	wg.Wait()
	if firstErr == nil {
		firstErr = ctx.Err()
	}
	return firstErr
}
