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
	"os"
	"path/filepath"
	"time"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/yaml"

	views "github.com/gracefuldrain/gracefuldrain/internal/workload"
)

// argoCRDFiles are the CRDs Argo Rollouts ships (manifests/crds), which
// hack/tools.sh argo-rollouts-crds copies from its Go module.
var argoCRDFiles = []string{
	"analysis-run-crd.yaml", "analysis-template-crd.yaml", "cluster-analysis-template-crd.yaml",
	"experiment-crd.yaml", "rollout-crd.yaml",
}

// installArgoCRDs applies Argo Rollouts' CRDs server-side, as its docs say
// (they are too big for kubectl's last-applied annotation), and waits until
// Rollouts are served.
func installArgoCRDs(ctx context.Context, c client.Client, dir string) error {
	for _, name := range argoCRDFiles {
		raw, err := os.ReadFile(filepath.Join(dir, name))
		if err != nil {
			return err
		}
		crd := &unstructured.Unstructured{}
		if err := yaml.Unmarshal(raw, &crd.Object); err != nil {
			return fmt.Errorf("%s: %w", name, err)
		}
		if err := c.Apply(ctx, client.ApplyConfigurationFromUnstructured(crd), client.FieldOwner("argo-rollouts-install"), client.ForceOwnership); err != nil {
			return fmt.Errorf("applying %s: %w", name, err)
		}
	}
	return poll(ctx, time.Minute, 200*time.Millisecond, func() (bool, error) {
		l := &unstructured.UnstructuredList{}
		l.SetGroupVersionKind(views.RolloutGVK.GroupVersion().WithKind("RolloutList"))
		return c.List(ctx, l, client.Limit(1)) == nil, nil
	})
}
