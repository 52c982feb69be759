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
	"context"
	"sync"

	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	toolscache "k8s.io/client-go/tools/cache"
	"sigs.k8s.io/controller-runtime/pkg/cache"
)

// crdFollower runs what depends on an optional CRD (the AWS Load Balancer
// Controller's TargetGroupBinding, Argo Rollouts' Rollout) once the CRD
// exists, on every replica, without a restart: the cache follows CRDs'
// metadata only.
type crdFollower struct {
	mu        sync.Mutex
	installed map[string]bool
	waiting   map[string][]func()
}

func newCRDFollower(ctx context.Context, c cache.Cache) (*crdFollower, error) {
	f := &crdFollower{installed: map[string]bool{}, waiting: map[string][]func(){}}
	crds, err := c.GetInformer(ctx, crdMetadata())
	if err != nil {
		return nil, err
	}
	seen := func(o any) {
		if m, ok := o.(metav1.Object); ok {
			f.seen(m.GetName())
		}
	}
	_, err = crds.AddEventHandler(toolscache.ResourceEventHandlerFuncs{
		AddFunc:    seen,
		UpdateFunc: func(_, o any) { seen(o) },
	})
	return f, err
}

// crdMetadata is the CRD informer's object: metadata only, so the cache never
// holds CRD schemas.
func crdMetadata() *metav1.PartialObjectMetadata {
	m := &metav1.PartialObjectMetadata{}
	m.SetGroupVersionKind(apiextensionsv1.SchemeGroupVersion.WithKind("CustomResourceDefinition"))
	return m
}

func (f *crdFollower) seen(name string) {
	f.mu.Lock()
	if f.installed[name] {
		f.mu.Unlock()
		return
	}
	f.installed[name] = true
	run := f.waiting[name]
	delete(f.waiting, name)
	f.mu.Unlock()
	for _, fn := range run {
		go fn()
	}
}

// onInstalled runs fn once the named CRD exists: at once (in a goroutine) if
// it does already.
func (f *crdFollower) onInstalled(name string, fn func()) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.installed[name] {
		go fn()
		return
	}
	f.waiting[name] = append(f.waiting[name], fn)
}
