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
	"bytes"
	"fmt"
	"os"
	"testing"
	"time"

	"sigs.k8s.io/controller-runtime/pkg/log/zap"
	"sigs.k8s.io/yaml"
)

// chartManagerValues says, for each manager.* value of the Helm chart, what the
// manager made of the arguments the chart rendered from it, in the form the
// value has in YAML. A value that is not a flag is nil here: test/install
// checks where it goes.
var chartManagerValues = map[string]func(o options, z *zap.Options) any{
	"leaderElect":             func(o options, _ *zap.Options) any { return o.leaderElect },
	"forceAudit":              func(o options, _ *zap.Options) any { return o.forceAudit },
	"albIPPreStopSeconds":     func(o options, _ *zap.Options) any { return float64(o.defaults.ALBIPPreStopSeconds) },
	"nlbIPPreStopSeconds":     func(o options, _ *zap.Options) any { return float64(o.defaults.NLBIPPreStopSeconds) },
	"instancePreStopSeconds":  func(o options, _ *zap.Options) any { return float64(o.defaults.InstancePreStopSeconds) },
	"shutdownSeconds":         func(o options, _ *zap.Options) any { return float64(o.defaults.ShutdownSeconds) },
	"sleepMethod":             func(o options, _ *zap.Options) any { return o.sleepMethod },
	"maxReapplies":            func(o options, _ *zap.Options) any { return float64(o.revertPolicy.MaxReapplies) },
	"revertWindow":            func(o options, _ *zap.Options) any { return o.revertPolicy.Window },
	"kubeAPIQPS":              func(o options, _ *zap.Options) any { return o.qps },
	"kubeAPIBurst":            func(o options, _ *zap.Options) any { return float64(o.burst) },
	"maxConcurrentReconciles": func(o options, _ *zap.Options) any { return float64(o.concurrency) },
	"logLevel": func(_ options, z *zap.Options) any {
		if z.Level == nil {
			return "info" // controller-runtime's zap default
		}
		return fmt.Sprint(z.Level)
	},
	"extraArgs":  nil,
	"goMemLimit": nil,
}

// TestChartValuesReachTheManager parses, with the manager's own flag parser,
// the arguments the Helm chart renders, and checks that the manager ends up
// with the values the chart says it sets:
//   - default values: the chart renders config/manager's arguments (test/install
//     checks that), so the values.yaml defaults must be what the manager does
//     with those, i.e. its own flag defaults;
//   - the chart's CI values: the chart renders test/install/testdata/nondefault-args.yaml
//     (test/install checks that), which must parse back to those values.
//
// A renamed flag, a changed default or a new chart value without a check here
// fails.
func TestChartValuesReachTheManager(t *testing.T) {
	defaults := chartValues(t, "charts/gracefuldrain/values.yaml")
	nonDefaults := chartValues(t, "charts/gracefuldrain/ci/nondefault-values.yaml")
	var nonDefaultArgs []string
	readYAML(t, "test/install/testdata/nondefault-args.yaml", &nonDefaultArgs)

	for _, tc := range []struct {
		name   string
		values map[string]any
		args   []string
	}{
		{"values.yaml with config/manager's arguments", defaults, managerArgs(t)},
		{"ci/nondefault-values.yaml with testdata/nondefault-args.yaml", nonDefaults, nonDefaultArgs},
	} {
		t.Run(tc.name, func(t *testing.T) {
			o, z, err := parseFlags(tc.args)
			if err != nil {
				t.Fatalf("the manager refuses the chart's arguments %v: %v", tc.args, err)
			}
			for key, value := range tc.values {
				parsed, known := chartManagerValues[key]
				if !known {
					t.Errorf("manager.%s has no check in chartManagerValues", key)
					continue
				}
				if parsed == nil {
					continue
				}
				want := value
				if key == "revertWindow" {
					d, err := time.ParseDuration(fmt.Sprint(value))
					if err != nil {
						t.Fatalf("manager.revertWindow %q: %v", value, err)
					}
					want = d
				}
				if got := parsed(o, z); got != want {
					t.Errorf("manager.%s is %v (%T) in the chart, but the manager got %v (%T)", key, want, want, got, got)
				}
			}
			for key, parsed := range chartManagerValues {
				if _, set := tc.values[key]; !set && parsed != nil {
					t.Errorf("manager.%s is missing from the values", key)
				}
			}
		})
	}
}

// chartValues returns the manager section of a chart values file.
func chartValues(t *testing.T, path string) map[string]any {
	t.Helper()
	var values struct {
		Manager map[string]any `json:"manager"`
	}
	readYAML(t, path, &values)
	if len(values.Manager) == 0 {
		t.Fatalf("%s has no manager values", path)
	}
	return values.Manager
}

// managerArgs returns the manager container's arguments in config/manager.
func managerArgs(t *testing.T) []string {
	t.Helper()
	b, err := os.ReadFile("config/manager/manager.yaml")
	if err != nil {
		t.Fatal(err)
	}
	for _, doc := range bytes.Split(b, []byte("\n---\n")) {
		var obj struct {
			Kind string `json:"kind"`
			Spec struct {
				Template struct {
					Spec struct {
						Containers []struct {
							Name string   `json:"name"`
							Args []string `json:"args"`
						} `json:"containers"`
					} `json:"spec"`
				} `json:"template"`
			} `json:"spec"`
		}
		if err := yaml.Unmarshal(doc, &obj); err != nil {
			t.Fatal(err)
		}
		for _, c := range obj.Spec.Template.Spec.Containers {
			if obj.Kind == "Deployment" && c.Name == "manager" {
				return c.Args
			}
		}
	}
	t.Fatal("config/manager/manager.yaml has no Deployment with a manager container")
	return nil
}

func readYAML(t *testing.T, path string, into any) {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := yaml.Unmarshal(b, into); err != nil {
		t.Fatalf("%s: %v", path, err)
	}
}
