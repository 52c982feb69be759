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

package v1alpha1

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	"sigs.k8s.io/yaml"
)

// `kubectl explain gracefuldrain.status` must read well at every level: every
// field of the generated schema has a description (a doc comment here).
func TestEveryFieldIsExplained(t *testing.T) {
	raw, err := os.ReadFile(filepath.Join("..", "..", "config", "crd", "bases", "gracefuldrain.io_gracefuldrains.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	var crd apiextensionsv1.CustomResourceDefinition
	if err := yaml.Unmarshal(raw, &crd); err != nil {
		t.Fatal(err)
	}
	version := crd.Spec.Versions[0]
	status := version.Schema.OpenAPIV3Schema.Properties["status"]
	var missing []string
	var walk func(path string, s apiextensionsv1.JSONSchemaProps)
	walk = func(path string, s apiextensionsv1.JSONSchemaProps) {
		if strings.TrimSpace(s.Description) == "" {
			missing = append(missing, path)
		}
		for name, p := range s.Properties {
			walk(path+"."+name, p)
		}
		if s.Items != nil && s.Items.Schema != nil {
			for name, p := range s.Items.Schema.Properties {
				walk(path+"[]."+name, p)
			}
		}
	}
	walk("status", status)
	if len(missing) > 0 {
		t.Fatalf("fields without a description (kubectl explain shows nothing for them): %v", missing)
	}

	// kubectl get gd: KIND by default; the workload's name and the Ready
	// message with -o wide.
	columns := map[string]int32{}
	for _, c := range version.AdditionalPrinterColumns {
		columns[c.Name] = c.Priority
	}
	for name, priority := range map[string]int32{"Kind": 0, "Mode": 0, "Load Balancer": 0, "PreStop": 0, "Grace": 0,
		"Ready": 0, "Reason": 0, "Age": 0, "Workload": 1, "Message": 1} {
		if p, ok := columns[name]; !ok || p != priority {
			t.Errorf("printer column %q: priority %d (present %v), want %d", name, p, ok, priority)
		}
	}
}
