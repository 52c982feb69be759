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

// Package install tests the two ways to install gracefuldrain, and its
// monitoring: the Helm chart renders what `kustomize build config/default`
// does, both are accepted by a real kube-apiserver, and the alerts and the
// dashboard query the metrics the manager exports.
//
// The tools come from the environment, as `make test` sets it: HELM, KUSTOMIZE,
// PROMTOOL (hack/tools.sh, Makefile), KUBEBUILDER_ASSETS and
// PROMETHEUS_OPERATOR_CRDS.
package install

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	utilyaml "k8s.io/apimachinery/pkg/util/yaml"
	"sigs.k8s.io/yaml"
)

// repoRoot is the checkout, seen from this package's directory (go test runs
// each package in its own directory).
var repoRoot = filepath.Join("..", "..")

const (
	chartDir      = "charts/gracefuldrain"
	releaseName   = "gracefuldrain"
	releaseNS     = "gracefuldrain-system"
	defaultConfig = "config/default"
)

// tool returns the path of a tool from the environment variable that names it,
// and fails the test, saying how to get it, when the variable is unset.
func tool(t *testing.T, env string) string {
	t.Helper()
	p := os.Getenv(env)
	if p == "" {
		t.Fatalf("%s is not set: run `make test`, which builds and caches what these tests need (hack/tools.sh, hack/k8s-binaries.sh, bin/kustomize), or set %s", env, env)
	}
	return p
}

// run runs a command in the checkout's root and returns its stdout, failing
// the test with stderr when it fails.
func run(t *testing.T, name string, args ...string) []byte {
	t.Helper()
	out, err := runErr(t, name, args...)
	if err != nil {
		t.Fatalf("%s %s: %v", filepath.Base(name), strings.Join(args, " "), err)
	}
	return out
}

// runErr runs a command in the checkout's root; a failure's error carries its
// stderr.
func runErr(t *testing.T, name string, args ...string) ([]byte, error) {
	t.Helper()
	cmd := exec.Command(name, args...)
	cmd.Dir = repoRoot
	// helm keeps caches and settings under HOME otherwise; a test must not
	// read the user's or leave anything behind.
	home := t.TempDir()
	cmd.Env = append(os.Environ(),
		"HELM_CACHE_HOME="+filepath.Join(home, "cache"),
		"HELM_CONFIG_HOME="+filepath.Join(home, "config"),
		"HELM_DATA_HOME="+filepath.Join(home, "data"),
	)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		return stdout.Bytes(), fmt.Errorf("%w: %s", err, strings.TrimSpace(stderr.String()))
	}
	return stdout.Bytes(), nil
}

// helmTemplate renders the chart as `helm install gracefuldrain ... -n
// gracefuldrain-system` would, with its CRD, and with --set style overrides.
func helmTemplate(t *testing.T, set ...string) []*unstructured.Unstructured {
	t.Helper()
	out, err := helmTemplateErr(t, set...)
	if err != nil {
		t.Fatalf("helm template: %v", err)
	}
	return decode(t, out)
}

func helmTemplateErr(t *testing.T, set ...string) ([]byte, error) {
	t.Helper()
	args := []string{"template", releaseName, chartDir, "--namespace", releaseNS, "--include-crds"}
	for _, s := range set {
		args = append(args, "--set", s)
	}
	return runErr(t, tool(t, "HELM"), args...)
}

// kustomizeBuild renders a kustomization directory, relative to the checkout
// or absolute.
func kustomizeBuild(t *testing.T, dir string) []*unstructured.Unstructured {
	t.Helper()
	return decode(t, run(t, tool(t, "KUSTOMIZE"), "build", dir))
}

// decode splits a multi-document YAML stream into objects, skipping empty
// documents (helm emits one per template that renders nothing). Numbers are
// decoded as the API machinery does (int64 when integral), so that the
// unstructured helpers read them.
func decode(t *testing.T, stream []byte) []*unstructured.Unstructured {
	t.Helper()
	r := utilyaml.NewYAMLReader(bufio.NewReader(bytes.NewReader(stream)))
	var objs []*unstructured.Unstructured
	for {
		doc, err := r.Read()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatalf("splitting rendered YAML: %v", err)
		}
		js, err := yaml.YAMLToJSON(doc)
		if err != nil {
			t.Fatalf("rendered YAML: %v\n%s", err, doc)
		}
		if s := string(bytes.TrimSpace(js)); s == "null" || s == "{}" {
			continue
		}
		o := &unstructured.Unstructured{}
		if err := o.UnmarshalJSON(js); err != nil {
			t.Fatalf("rendered object: %v\n%s", err, doc)
		}
		objs = append(objs, o)
	}
	return objs
}

// objectID names an object for sorting and for diffs.
func objectID(o *unstructured.Unstructured) string {
	return fmt.Sprintf("%s/%s %s/%s", o.GetAPIVersion(), o.GetKind(), o.GetNamespace(), o.GetName())
}

// byID indexes objects by objectID, failing on duplicates (two objects with
// the same identity would make the comparison meaningless).
func byID(t *testing.T, objs []*unstructured.Unstructured) map[string]map[string]any {
	t.Helper()
	m := map[string]map[string]any{}
	for _, o := range objs {
		id := objectID(o)
		if _, dup := m[id]; dup {
			t.Fatalf("rendered twice: %s", id)
		}
		m[id] = o.Object
	}
	return m
}

// ids lists the objects' identities, sorted.
func ids(objs []*unstructured.Unstructured) []string {
	var s []string
	for _, o := range objs {
		s = append(s, objectID(o))
	}
	sort.Strings(s)
	return s
}

// find returns the only rendered object of that kind, failing when there is
// not exactly one.
func find(t *testing.T, objs []*unstructured.Unstructured, kind string) *unstructured.Unstructured {
	t.Helper()
	var found []*unstructured.Unstructured
	for _, o := range objs {
		if o.GetKind() == kind {
			found = append(found, o)
		}
	}
	if len(found) != 1 {
		t.Fatalf("want exactly one %s, rendered %d: %v", kind, len(found), ids(objs))
	}
	return found[0]
}

// findNamed returns the one rendered object of that kind and name.
func findNamed(t *testing.T, objs []*unstructured.Unstructured, kind, name string) *unstructured.Unstructured {
	t.Helper()
	for _, o := range objs {
		if o.GetKind() == kind && o.GetName() == name {
			return o
		}
	}
	t.Fatalf("no %s %s rendered: %v", kind, name, ids(objs))
	return nil
}

// hasKind says whether any rendered object is of that kind.
func hasKind(objs []*unstructured.Unstructured, kind string) bool {
	for _, o := range objs {
		if o.GetKind() == kind {
			return true
		}
	}
	return false
}

// readFile reads a file of the checkout.
func readFile(t *testing.T, rel string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(repoRoot, rel))
	if err != nil {
		t.Fatal(err)
	}
	return b
}
