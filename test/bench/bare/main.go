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

// bare is the memory floor of `make bench`: a controller-runtime manager that
// caches the same kinds as gracefuldrain (Deployments, StatefulSets,
// DaemonSets, Services, Ingresses, IngressClasses, Namespaces, Pods, Nodes,
// GracefulDrains, CustomResourceDefinitions as metadata, and with --rollouts
// Argo Rollouts as unstructured objects, as the operator reads them) with
// default caching and no logic. It prints "SYNCED" once every informer has listed, then idles
// until it is stopped, so the bench can read its peak RSS (VmHWM).
package main

import (
	"flag"
	"fmt"
	"os"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	utilruntime "k8s.io/apimachinery/pkg/util/runtime"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	metricsserver "sigs.k8s.io/controller-runtime/pkg/metrics/server"

	gdv1 "github.com/gracefuldrain/gracefuldrain/api/v1alpha1"
	views "github.com/gracefuldrain/gracefuldrain/internal/workload"
)

func main() {
	metricsAddr := flag.String("metrics-bind-address", "0", "Prometheus endpoint")
	rollouts := flag.Bool("rollouts", false, "cache Argo Rollouts too (the operator does whenever their CRD exists)")
	flag.Parse()
	if err := run(*metricsAddr, *rollouts); err != nil {
		fmt.Fprintln(os.Stderr, "bare:", err)
		os.Exit(1)
	}
}

func run(metricsAddr string, rollouts bool) error {
	scheme := runtime.NewScheme()
	utilruntime.Must(clientgoscheme.AddToScheme(scheme))
	utilruntime.Must(gdv1.AddToScheme(scheme))
	cfg, err := ctrl.GetConfig() // --kubeconfig, registered by controller-runtime
	if err != nil {
		return err
	}
	mgr, err := ctrl.NewManager(cfg, ctrl.Options{
		Scheme:                 scheme,
		Metrics:                metricsserver.Options{BindAddress: metricsAddr},
		HealthProbeBindAddress: "0",
	})
	if err != nil {
		return err
	}
	ctx := ctrl.SetupSignalHandler()
	// What the operator's cache holds (controllers/setup.go, watches.go,
	// crds.go, sleepmethod.go): its workload kinds, what points at them, their
	// pods, the nodes (kubelet versions) and CRDs' metadata (optional kinds).
	crds := &metav1.PartialObjectMetadata{}
	crds.SetGroupVersionKind(apiextensionsv1.SchemeGroupVersion.WithKind("CustomResourceDefinition"))
	kinds := []client.Object{
		&appsv1.Deployment{}, &appsv1.StatefulSet{}, &appsv1.DaemonSet{},
		&corev1.Service{}, &networkingv1.Ingress{}, &networkingv1.IngressClass{},
		&corev1.Namespace{}, &corev1.Pod{}, &corev1.Node{}, &gdv1.GracefulDrain{}, crds,
	}
	if rollouts {
		r := &unstructured.Unstructured{}
		r.SetGroupVersionKind(views.RolloutGVK)
		kinds = append(kinds, r)
	}
	for _, k := range kinds {
		// Registering before Start: the informers start with the manager.
		if _, err := mgr.GetCache().GetInformer(ctx, k); err != nil {
			return fmt.Errorf("informer for %T: %w", k, err)
		}
	}
	errc := make(chan error, 1)
	go func() { errc <- mgr.Start(ctx) }()
	if !mgr.GetCache().WaitForCacheSync(ctx) {
		return fmt.Errorf("cache did not sync: %w", <-errc)
	}
	fmt.Println("SYNCED")
	return <-errc
}
