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
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"
	ctrlmetrics "sigs.k8s.io/controller-runtime/pkg/metrics"

	gdv1 "github.com/gracefuldrain/gracefuldrain/api/v1alpha1"
	"github.com/gracefuldrain/gracefuldrain/internal/workload"
)

// Counters of what the operator did, served on the manager's metrics
// endpoint next to controller-runtime's own. docs/metrics.md lists every
// metric; what the workloads' state is comes from workloadCollector.
var (
	appliesTotal = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "gracefuldrain_applies_total",
		Help: "Server-side applies sent, by resource (deployment: drain settings, namespace: readiness-gate label).",
	}, []string{"resource"})
	invalidConfigurationsTotal = prometheus.NewCounter(prometheus.CounterOpts{
		Name: "gracefuldrain_invalid_configurations_total",
		Help: "Times a workload's configuration became (or changed while) invalid.",
	})
)

func init() {
	ctrlmetrics.Registry.MustRegister(appliesTotal, invalidConfigurationsTotal)
}

// resourceLabel is the resource label of gracefuldrain_applies_total for a workload kind.
func resourceLabel(k workload.Kind) string {
	return strings.ToLower(string(k))
}

// The workloads' state, computed at each scrape from the GracefulDrains in the
// cache: what the metrics say is what `kubectl get gd` says, with no second
// bookkeeping to drift from it.
var (
	workloadsDesc = prometheus.NewDesc("gracefuldrain_workloads",
		"Managed workloads (one GracefulDrain each), by workload kind, mode and Ready condition status.",
		[]string{"kind", "mode", "ready"}, nil)
	notReadySinceDesc = prometheus.NewDesc("gracefuldrain_workload_not_ready_since_timestamp_seconds",
		"For each managed workload whose Ready condition is not True: when it stopped being True (its lastTransitionTime), in Unix seconds.",
		[]string{"namespace", "name", "kind", "mode", "reason"}, nil)
	conflictDesc = prometheus.NewDesc("gracefuldrain_workload_conflict",
		"1 for each workload whose drain settings another field manager keeps reverting (condition Conflict=True), naming that manager.",
		[]string{"namespace", "name", "kind", "manager"}, nil)
	invalidDesc = prometheus.NewDesc("gracefuldrain_invalid_configurations",
		"Workloads whose configuration is invalid now (reason InvalidConfiguration): nothing is changed on them.",
		nil, nil)
)

// workloadCollector reports the workloads' state from the cached
// GracefulDrains. Only the leader reports it, so that two replicas do not
// double every sum.
type workloadCollector struct {
	reader  client.Reader
	elected <-chan struct{}
}

// NewWorkloadCollector returns the collector; elected closes when this
// replica leads (mgr.Elected()).
func NewWorkloadCollector(reader client.Reader, elected <-chan struct{}) prometheus.Collector {
	return &workloadCollector{reader: reader, elected: elected}
}

func (c *workloadCollector) Describe(ch chan<- *prometheus.Desc) {
	ch <- workloadsDesc
	ch <- notReadySinceDesc
	ch <- conflictDesc
	ch <- invalidDesc
}

func (c *workloadCollector) Collect(ch chan<- prometheus.Metric) {
	select {
	case <-c.elected:
	default:
		return
	}
	var list gdv1.GracefulDrainList
	if err := c.reader.List(context.Background(), &list, client.UnsafeDisableDeepCopy); err != nil {
		ch <- prometheus.NewInvalidMetric(workloadsDesc, err)
		return
	}
	for _, m := range workloadMetrics(list.Items) {
		ch <- m
	}
}

// workloadMetrics turns GracefulDrains into the series of workloadCollector.
func workloadMetrics(drains []gdv1.GracefulDrain) []prometheus.Metric {
	type group struct{ kind, mode, ready string }
	counts := map[group]float64{}
	var out []prometheus.Metric
	invalid := 0.0
	for i := range drains {
		gd := &drains[i]
		kind, name := owner(gd)
		mode := string(gd.Status.Mode)
		ready := meta.FindStatusCondition(gd.Status.Conditions, gdv1.ConditionReady)
		status := string(metav1.ConditionUnknown)
		if ready != nil {
			status = string(ready.Status)
		}
		counts[group{kind, mode, status}]++
		if ready != nil && ready.Status != metav1.ConditionTrue {
			out = append(out, prometheus.MustNewConstMetric(notReadySinceDesc, prometheus.GaugeValue,
				float64(ready.LastTransitionTime.Unix()), gd.Namespace, name, kind, mode, ready.Reason))
		}
		if c := meta.FindStatusCondition(gd.Status.Conditions, gdv1.ConditionConflict); c != nil && c.Status == metav1.ConditionTrue {
			manager := ""
			if gd.Status.Reverts != nil {
				manager = gd.Status.Reverts.Manager
			}
			out = append(out, prometheus.MustNewConstMetric(conflictDesc, prometheus.GaugeValue, 1, gd.Namespace, name, kind, manager))
		}
		if c := meta.FindStatusCondition(gd.Status.Conditions, gdv1.ConditionPlanApplied); c != nil && c.Reason == gdv1.ReasonInvalidConfiguration {
			invalid++
		}
	}
	for g, n := range counts {
		out = append(out, prometheus.MustNewConstMetric(workloadsDesc, prometheus.GaugeValue, n, g.kind, g.mode, g.ready))
	}
	return append(out, prometheus.MustNewConstMetric(invalidDesc, prometheus.GaugeValue, invalid))
}

// owner is the kind and name of the workload a GracefulDrain reports on.
func owner(gd *gdv1.GracefulDrain) (kind, name string) {
	if ref := metav1.GetControllerOf(gd); ref != nil {
		return ref.Kind, ref.Name
	}
	return "", gd.Name
}

// The admission webhook's work, by workload kind, operation and result.
var (
	webhookAdmissionsTotal = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "gracefuldrain_webhook_admissions_total",
		Help: "Admission reviews answered, by workload kind, operation (CREATE, UPDATE) and result: mutated (the plan was put into the write), unchanged (it carried the plan), skipped (not gracefuldrain's to change), error (allowed unchanged).",
	}, []string{"kind", "operation", "result"})
	webhookAdmissionDuration = prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Name:    "gracefuldrain_webhook_admission_duration_seconds",
		Help:    "Time to answer one admission review, in seconds, by workload kind and operation.",
		Buckets: []float64{0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5},
	}, []string{"kind", "operation"})
)

func init() {
	ctrlmetrics.Registry.MustRegister(webhookAdmissionsTotal, webhookAdmissionDuration)
}

func observeAdmission(k workload.Kind, operation, result string, took time.Duration) {
	webhookAdmissionsTotal.WithLabelValues(string(k), operation, result).Inc()
	webhookAdmissionDuration.WithLabelValues(string(k), operation).Observe(took.Seconds())
}
