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

	corev1 "k8s.io/api/core/v1"
	toolscache "k8s.io/client-go/tools/cache"
	"sigs.k8s.io/controller-runtime/pkg/cache"
	"sigs.k8s.io/controller-runtime/pkg/log"

	"github.com/gracefuldrain/gracefuldrain/internal/plan"
)

// sleepMethods follows the nodes' kubelet versions (EKS allows node groups
// several minor versions behind the control plane) and keeps the sleep
// method new preStop hooks get: the native sleep only while the API server
// and every kubelet run it (plan.ChooseSleepMethod). Node events update it;
// reconciles and admissions only read it.
type sleepMethods struct {
	flag, apiServer string
	mu              sync.Mutex
	kubelets        map[string]string // node name -> kubelet version
	method          plan.SleepMethod
	reason          string
}

// +kubebuilder:rbac:groups="",resources=nodes,verbs=get;list;watch

func newSleepMethods(ctx context.Context, c cache.Cache, flag, apiServer string) (*sleepMethods, error) {
	s := &sleepMethods{flag: flag, apiServer: apiServer, kubelets: map[string]string{}}
	if err := s.recompute(ctx); err != nil {
		return nil, err
	}
	if flag != plan.SleepMethodAuto && flag != "" {
		return s, nil // forced: the nodes do not matter
	}
	nodes, err := c.GetInformer(ctx, &corev1.Node{})
	if err != nil {
		return nil, err
	}
	_, err = nodes.AddEventHandler(toolscache.ResourceEventHandlerFuncs{
		AddFunc:    func(o any) { s.node(ctx, o, false) },
		UpdateFunc: func(_, o any) { s.node(ctx, o, false) },
		DeleteFunc: func(o any) {
			if d, ok := o.(toolscache.DeletedFinalStateUnknown); ok {
				o = d.Obj
			}
			s.node(ctx, o, true)
		},
	})
	return s, err
}

func (s *sleepMethods) node(ctx context.Context, o any, deleted bool) {
	n, ok := o.(*corev1.Node)
	if !ok {
		return
	}
	s.mu.Lock()
	before := s.kubelets[n.Name]
	if deleted {
		delete(s.kubelets, n.Name)
	} else {
		s.kubelets[n.Name] = n.Status.NodeInfo.KubeletVersion
	}
	changed := deleted || before != n.Status.NodeInfo.KubeletVersion
	s.mu.Unlock()
	if changed {
		if err := s.recompute(ctx); err != nil {
			log.FromContext(ctx).Error(err, "choosing the sleep method")
		}
	}
}

func (s *sleepMethods) recompute(ctx context.Context) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	versions := make([]string, 0, len(s.kubelets))
	for _, v := range s.kubelets {
		versions = append(versions, v)
	}
	method, reason, err := plan.ChooseSleepMethod(s.flag, s.apiServer, versions)
	if err != nil {
		return err
	}
	if method != s.method && s.method != "" {
		log.FromContext(ctx).Info("sleep method for new preStop hooks changed", "method", method, "why", reason)
	}
	s.method, s.reason = method, reason
	return nil
}

// current is the sleep method for new hooks and why.
func (s *sleepMethods) current() (plan.SleepMethod, string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.method, s.reason
}
