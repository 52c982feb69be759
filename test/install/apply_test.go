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

package install

import (
	"context"
	"sort"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/envtest"
)

// TestChartInstallsOnAPIServer applies the chart, as `helm install` would
// after the README's namespace step, to a real kube-apiserver: first with the
// default values, then upgraded to the CI values (every option on, including
// the PodDisruptionBudget, ServiceMonitor and PrometheusRule, whose CRDs come
// from the prometheus-operator module, see hack/tools.sh). Every object must be
// accepted, including by the CRDs' schemas and by Pod Security "restricted"
// enforced on the namespace.
func TestChartInstallsOnAPIServer(t *testing.T) {
	tool(t, "KUBEBUILDER_ASSETS") // read by envtest itself
	env := &envtest.Environment{
		CRDDirectoryPaths:     []string{tool(t, "PROMETHEUS_OPERATOR_CRDS")},
		ErrorIfCRDPathMissing: true,
	}
	cfg, err := env.Start()
	if err != nil {
		t.Fatalf("starting kube-apiserver and etcd: %v", err)
	}
	t.Cleanup(func() {
		if err := env.Stop(); err != nil {
			t.Errorf("stopping kube-apiserver and etcd: %v", err)
		}
	})
	scheme := runtime.NewScheme()
	if err := clientgoscheme.AddToScheme(scheme); err != nil {
		t.Fatal(err)
	}
	c, err := client.New(cfg, client.Options{Scheme: scheme})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()

	// The namespace as the chart README says to prepare it for Helm.
	ns := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{
		Name:   releaseNS,
		Labels: map[string]string{"pod-security.kubernetes.io/enforce": "restricted"},
	}}
	if err := c.Create(ctx, ns); err != nil {
		t.Fatal(err)
	}

	for _, step := range []struct {
		name    string
		objects []*unstructured.Unstructured
	}{
		{"install with the default values", helmTemplate(t)},
		{"upgrade to the CI values", decode(t, run(t, tool(t, "HELM"), "template", releaseName, chartDir,
			"--namespace", releaseNS, "--include-crds", "--values", nonDefaultValues))},
	} {
		t.Run(step.name, func(t *testing.T) {
			objs := step.objects
			// Helm creates crds/ before the templates.
			sort.SliceStable(objs, func(i, j int) bool {
				return objs[i].GetKind() == "CustomResourceDefinition" && objs[j].GetKind() != "CustomResourceDefinition"
			})
			for _, o := range objs {
				if err := c.Patch(ctx, o, client.Apply, client.FieldOwner("helm"), client.ForceOwnership); err != nil {
					t.Errorf("%s refused: %v", objectID(o), err)
				}
			}
			// Read back: each object exists as sent.
			for _, o := range objs {
				got := &unstructured.Unstructured{}
				got.SetGroupVersionKind(o.GroupVersionKind())
				if err := c.Get(ctx, client.ObjectKeyFromObject(o), got); err != nil {
					t.Errorf("%s not found after apply: %v", objectID(o), err)
				}
			}
			managerPodAdmitted(t, ctx, c, find(t, objs, "Deployment"))
		})
	}

	// The namespace does enforce the level: a pod that breaks it is refused,
	// so the admissions above mean something.
	rootPod := &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{GenerateName: "root-", Namespace: releaseNS},
		Spec:       corev1.PodSpec{Containers: []corev1.Container{{Name: "c", Image: "busybox"}}},
	}
	if err := c.Create(ctx, rootPod, client.DryRunAll); !apierrors.IsForbidden(err) {
		t.Errorf("a root pod was not refused in %s (Pod Security restricted not enforced?): %v", releaseNS, err)
	}
}

// managerPodAdmitted creates, dry-run, the pod the manager Deployment would
// create: Pod Security admission judges pods, not Deployments.
func managerPodAdmitted(t *testing.T, ctx context.Context, c client.Client, deployment *unstructured.Unstructured) {
	t.Helper()
	var d appsv1.Deployment
	if err := runtime.DefaultUnstructuredConverter.FromUnstructured(deployment.Object, &d); err != nil {
		t.Fatal(err)
	}
	pod := &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{GenerateName: "manager-", Namespace: d.Namespace, Labels: d.Spec.Template.Labels},
		Spec:       d.Spec.Template.Spec,
	}
	if err := c.Create(ctx, pod, client.DryRunAll); err != nil {
		t.Errorf("the manager's pod is refused in %s: %v", d.Namespace, err)
	}
}
