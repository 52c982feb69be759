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
	"sync"

	"github.com/prometheus/client_golang/prometheus"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/metrics"

	gdv1 "github.com/gracefuldrain/gracefuldrain/api/v1alpha1"
)

// Metrics beyond controller-runtime's own, served on the manager's metrics endpoint.
var (
	managedDeployments = prometheus.NewGaugeVec(prometheus.GaugeOpts{
		Name: "gracefuldrain_managed_deployments",
		Help: "Deployments with a GracefulDrain, by mode and by whether they are protected (Ready).",
	}, []string{"mode", "ready"})
	appliesTotal = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "gracefuldrain_applies_total",
		Help: "Server-side applies sent, by resource (deployment: drain settings, namespace: readiness-gate label).",
	}, []string{"resource"})
	invalidConfigurationsTotal = prometheus.NewCounter(prometheus.CounterOpts{
		Name: "gracefuldrain_invalid_configurations_total",
		Help: "Times a Deployment's configuration became (or changed while) invalid.",
	})
	invalidConfigurations = prometheus.NewGauge(prometheus.GaugeOpts{
		Name: "gracefuldrain_invalid_configurations",
		Help: "Deployments whose configuration is currently invalid (reason InvalidConfiguration).",
	})
)

func init() {
	metrics.Registry.MustRegister(managedDeployments, appliesTotal, invalidConfigurationsTotal, invalidConfigurations)
}

type deploymentState struct {
	mode    string
	ready   string
	invalid bool
}

// states remembers each Deployment's last reported state so that the gauges
// are moved, not recounted, on every reconcile.
var (
	statesMu sync.Mutex
	states   = map[types.NamespacedName]deploymentState{}
)

func recordMetrics(key types.NamespacedName, mode gdv1.Mode, st gdv1.GracefulDrainStatus, invalid bool) {
	ready := string(metav1.ConditionUnknown)
	if c := meta.FindStatusCondition(st.Conditions, gdv1.ConditionReady); c != nil {
		ready = string(c.Status)
	}
	next := deploymentState{mode: string(mode), ready: ready, invalid: invalid}
	statesMu.Lock()
	defer statesMu.Unlock()
	prev, known := states[key]
	if known && prev == next {
		return
	}
	if known {
		unrecord(prev)
	}
	states[key] = next
	managedDeployments.WithLabelValues(next.mode, next.ready).Inc()
	if next.invalid {
		invalidConfigurations.Inc()
	}
}

func forgetDeployment(key types.NamespacedName) {
	statesMu.Lock()
	defer statesMu.Unlock()
	if prev, known := states[key]; known {
		unrecord(prev)
		delete(states, key)
	}
}

func unrecord(s deploymentState) {
	managedDeployments.WithLabelValues(s.mode, s.ready).Dec()
	if s.invalid {
		invalidConfigurations.Dec()
	}
}
