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
	"bytes"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"sigs.k8s.io/yaml"
)

// nonDefaultValues sets every value the chart has a template branch for to
// something other than its default. The CI values file of the chart, so that
// chart-testing (`ct lint`) would exercise it too.
const nonDefaultValues = "charts/gracefuldrain/ci/nondefault-values.yaml"

// TestChartRendersTheKustomizeInstall is the contract of the chart: with the
// default values, `helm template` gives the objects `kustomize build
// config/default` gives, field by field. Three differences are by design and
// normalised (see compareInstalls): no Namespace, managed-by Helm, and an
// unlabelled CRD.
func TestChartRendersTheKustomizeInstall(t *testing.T) {
	compareInstalls(t, kustomizeBuild(t, defaultConfig), helmTemplate(t))
}

// TestChartMonitoringRendersConfigPrometheus: the chart's ServiceMonitor and
// PrometheusRule are config/prometheus's, as installed when a user uncomments
// "- ../prometheus" in config/default (done here on a copy of config/).
func TestChartMonitoringRendersConfigPrometheus(t *testing.T) {
	kust := kustomizeBuild(t, configWithPrometheus(t))
	for _, kind := range []string{"ServiceMonitor", "PrometheusRule"} {
		if !hasKind(kust, kind) {
			t.Fatalf("config/default with ../prometheus uncommented renders no %s: %v", kind, ids(kust))
		}
	}
	compareInstalls(t, kust, helmTemplate(t, "serviceMonitor.enabled=true", "prometheusRule.enabled=true"))
}

// configWithPrometheus copies config/ to a temporary directory and uncomments
// the "#- ../prometheus" line of its default kustomization, returning the
// copy's default directory.
func configWithPrometheus(t *testing.T) string {
	t.Helper()
	dst := filepath.Join(t.TempDir(), "config")
	if err := os.CopyFS(dst, os.DirFS(filepath.Join(repoRoot, "config"))); err != nil {
		t.Fatal(err)
	}
	kustomization := filepath.Join(dst, "default", "kustomization.yaml")
	b, err := os.ReadFile(kustomization)
	if err != nil {
		t.Fatal(err)
	}
	const commented = "\n#- ../prometheus\n"
	if !bytes.Contains(b, []byte(commented)) {
		t.Fatalf("config/default/kustomization.yaml has no %q line to uncomment", strings.TrimSpace(commented))
	}
	b = bytes.Replace(b, []byte(commented), []byte("\n- ../prometheus\n"), 1)
	if err := os.WriteFile(kustomization, b, 0o644); err != nil {
		t.Fatal(err)
	}
	return filepath.Join(dst, "default")
}

const managedByLabel = "app.kubernetes.io/managed-by"

// compareInstalls fails with a diff (-kustomize +helm) unless the two
// renderings hold the same objects once these designed differences are
// normalised, each of them checked rather than ignored:
//   - kustomize creates the Namespace, Helm leaves it to --create-namespace; its
//     Pod Security labels must then be documented for Helm users.
//   - app.kubernetes.io/managed-by is "kustomize" on one side and "Helm" on
//     the other (Helm needs "Helm" to adopt objects).
//   - kustomize labels the CRD too; Helm installs crds/ untemplated, so the
//     chart's CRD has no labels. Its content is checked by
//     TestChartCopiesAreCurrent.
func compareInstalls(t *testing.T, kust, chart []*unstructured.Unstructured) {
	t.Helper()
	kust = withoutDocumentedNamespace(t, kust)
	for _, o := range kust {
		if o.GetKind() == "CustomResourceDefinition" {
			stripKustomizeCRDLabels(t, o)
			continue
		}
		normaliseManagedBy(t, o, "kustomize")
	}
	for _, o := range chart {
		if o.GetKind() != "CustomResourceDefinition" {
			normaliseManagedBy(t, o, "Helm")
		}
	}
	want, got := byID(t, kust), byID(t, chart)
	for _, id := range sortedKeys(want, got) {
		w, inKust := want[id]
		g, inChart := got[id]
		switch {
		case !inChart:
			t.Errorf("%s: rendered by kustomize only", id)
		case !inKust:
			t.Errorf("%s: rendered by the chart only", id)
		default:
			if diff := cmp.Diff(w, g); diff != "" {
				t.Errorf("%s differs (-kustomize +helm):\n%s", id, diff)
			}
		}
	}
}

// sortedKeys returns the keys of both maps, once each, sorted.
func sortedKeys(a, b map[string]map[string]any) []string {
	seen := map[string]bool{}
	for k := range a {
		seen[k] = true
	}
	for k := range b {
		seen[k] = true
	}
	keys := make([]string, 0, len(seen))
	for k := range seen {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// withoutDocumentedNamespace drops the kustomize install's only Namespace,
// after checking that the Pod Security labels it carries are what the chart
// README and the project README tell Helm users to set.
func withoutDocumentedNamespace(t *testing.T, objs []*unstructured.Unstructured) []*unstructured.Unstructured {
	t.Helper()
	ns := find(t, objs, "Namespace")
	if ns.GetName() != releaseNS {
		t.Fatalf("kustomize install creates namespace %q, want %q", ns.GetName(), releaseNS)
	}
	docs := map[string]string{
		"charts/gracefuldrain/README.md": string(readFile(t, "charts/gracefuldrain/README.md")),
		"README.md":                      string(readFile(t, "README.md")),
	}
	found := 0
	for k, v := range ns.GetLabels() {
		if !strings.HasPrefix(k, "pod-security.kubernetes.io/") {
			continue
		}
		found++
		for doc, text := range docs {
			if !strings.Contains(text, k+"="+v) {
				t.Errorf("%s does not tell Helm users to label the namespace %s=%s, as the kustomize install does", doc, k, v)
			}
		}
	}
	if found == 0 {
		t.Errorf("the kustomize install's namespace has no Pod Security label: %v", ns.GetLabels())
	}
	var rest []*unstructured.Unstructured
	for _, o := range objs {
		if o != ns {
			rest = append(rest, o)
		}
	}
	return rest
}

// normaliseManagedBy checks that every label set of the object (its own and
// its pod template's) says who manages it, then replaces that value with the
// same placeholder on both sides.
func normaliseManagedBy(t *testing.T, o *unstructured.Unstructured, want string) {
	t.Helper()
	paths := [][]string{{"metadata", "labels"}}
	if _, ok, _ := unstructured.NestedMap(o.Object, "spec", "template", "metadata", "labels"); ok {
		paths = append(paths, []string{"spec", "template", "metadata", "labels"})
	}
	for _, p := range paths {
		labels, _, _ := unstructured.NestedStringMap(o.Object, p...)
		if got := labels[managedByLabel]; got != want {
			t.Errorf("%s %s: %s=%q, want %q", objectID(o), strings.Join(p, "."), managedByLabel, got, want)
			continue
		}
		labels[managedByLabel] = "<installer>"
		if err := unstructured.SetNestedStringMap(o.Object, labels, p...); err != nil {
			t.Fatal(err)
		}
	}
}

// stripKustomizeCRDLabels removes the labels config/default adds to the CRD,
// failing if it carries any other (those would be missing from the chart's).
func stripKustomizeCRDLabels(t *testing.T, crd *unstructured.Unstructured) {
	t.Helper()
	want := map[string]string{"app.kubernetes.io/name": "gracefuldrain", managedByLabel: "kustomize"}
	if diff := cmp.Diff(want, crd.GetLabels()); diff != "" {
		t.Errorf("the kustomize install's CRD has labels beyond config/default's (-want +got):\n%s", diff)
	}
	unstructured.RemoveNestedField(crd.Object, "metadata", "labels")
}

// TestChartCopiesAreCurrent: the chart's copies of generated or shared files
// are byte for byte their sources, which `make manifests` copies.
func TestChartCopiesAreCurrent(t *testing.T) {
	for copied, source := range map[string]string{
		"charts/gracefuldrain/crds/gracefuldrain.io_gracefuldrains.yaml": "config/crd/bases/gracefuldrain.io_gracefuldrains.yaml",
		"charts/gracefuldrain/files/manager-role.yaml":                   "config/rbac/role.yaml",
		"charts/gracefuldrain/files/prometheus-rules.yaml":               "config/prometheus/rules.yaml",
	} {
		if !bytes.Equal(readFile(t, copied), readFile(t, source)) {
			t.Errorf("%s is not a copy of %s: run make manifests", copied, source)
		}
	}
}

// TestChartLint runs helm's own checks, warnings included, on the default
// values and on the non-default ones.
func TestChartLint(t *testing.T) {
	helm := tool(t, "HELM")
	run(t, helm, "lint", "--strict", chartDir)
	run(t, helm, "lint", "--strict", chartDir, "--values", nonDefaultValues)
}

// TestChartNonDefaultValues renders the CI values file (audit mode, every
// manager flag changed, 2 replicas with a PodDisruptionBudget, monitoring on)
// and checks each value reaches its object. The manager's arguments are
// compared with testdata/nondefault-args.yaml, which the manager's own test
// (chart_values_test.go at the root) parses with the manager's flag parser, so
// a flag renamed on either side fails one of the two.
func TestChartNonDefaultValues(t *testing.T) {
	out := run(t, tool(t, "HELM"), "template", releaseName, chartDir, "--namespace", releaseNS, "--values", nonDefaultValues)
	objs := decode(t, out)

	deploy := find(t, objs, "Deployment")
	replicas, _, _ := unstructured.NestedInt64(deploy.Object, "spec", "replicas")
	if replicas != 2 {
		t.Errorf("replicas = %d, want 2", replicas)
	}
	containers, _, _ := unstructured.NestedSlice(deploy.Object, "spec", "template", "spec", "containers")
	if len(containers) != 1 {
		t.Fatalf("want the manager container only, got %d containers", len(containers))
	}
	manager := containers[0].(map[string]any)
	var wantArgs []string
	if err := yaml.Unmarshal(readFile(t, "test/install/testdata/nondefault-args.yaml"), &wantArgs); err != nil {
		t.Fatal(err)
	}
	gotArgs, _, _ := unstructured.NestedStringSlice(manager, "args")
	if diff := cmp.Diff(wantArgs, gotArgs); diff != "" {
		t.Errorf("manager args (-testdata/nondefault-args.yaml +rendered):\n%s", diff)
	}
	if manager["image"] != "registry.example.com/gracefuldrain:v9.9.9" || manager["imagePullPolicy"] != "IfNotPresent" {
		t.Errorf("image %v, pull policy %v: want the values' image and IfNotPresent", manager["image"], manager["imagePullPolicy"])
	}

	pdb := find(t, objs, "PodDisruptionBudget")
	minAvailable, _, _ := unstructured.NestedFieldNoCopy(pdb.Object, "spec", "minAvailable")
	if minAvailable != int64(1) {
		t.Errorf("PodDisruptionBudget minAvailable = %v (%T), want 1", minAvailable, minAvailable)
	}
	deploySelector, _, _ := unstructured.NestedStringMap(deploy.Object, "spec", "selector", "matchLabels")
	pdbSelector, _, _ := unstructured.NestedStringMap(pdb.Object, "spec", "selector", "matchLabels")
	if diff := cmp.Diff(deploySelector, pdbSelector); diff != "" {
		t.Errorf("the PodDisruptionBudget does not select the manager's pods (-deployment +pdb):\n%s", diff)
	}

	monitor := find(t, objs, "ServiceMonitor")
	if monitor.GetLabels()["release"] != "kube-prometheus-stack" {
		t.Errorf("ServiceMonitor labels %v lack serviceMonitor.labels", monitor.GetLabels())
	}
	endpoints, _, _ := unstructured.NestedSlice(monitor.Object, "spec", "endpoints")
	if len(endpoints) != 1 || endpoints[0].(map[string]any)["interval"] != "15s" {
		t.Errorf("ServiceMonitor endpoints %v: want one, with interval 15s", endpoints)
	}
	service := findNamed(t, objs, "Service", releaseName+"-controller-manager-metrics-service")
	monitorSelector, _, _ := unstructured.NestedStringMap(monitor.Object, "spec", "selector", "matchLabels")
	for k, v := range monitorSelector {
		if service.GetLabels()[k] != v {
			t.Errorf("ServiceMonitor selects %s=%s, which the metrics Service %s lacks (labels %v)", k, v, service.GetName(), service.GetLabels())
		}
	}
	rule := find(t, objs, "PrometheusRule")
	if rule.GetLabels()["release"] != "kube-prometheus-stack" {
		t.Errorf("PrometheusRule labels %v lack prometheusRule.labels", rule.GetLabels())
	}
	groups, _, _ := unstructured.NestedSlice(rule.Object, "spec", "groups")
	if len(groups) == 0 {
		t.Errorf("PrometheusRule has no rule groups")
	}
	for _, kind := range []string{"MutatingWebhookConfiguration", "Secret"} {
		if hasKind(objs, kind) {
			t.Errorf("webhook.enabled=false still renders a %s", kind)
		}
	}
}

// TestChartWebhookWithCertManager renders webhook.certManager.enabled=true as
// config/cert-manager does (cert-manager's CRDs are not in the test API
// server, so it is checked, not applied): cert-manager makes the Secret and
// injects the CA, the manager serves the mounted files.
func TestChartWebhookWithCertManager(t *testing.T) {
	objs := decode(t, run(t, tool(t, "HELM"), "template", releaseName, chartDir, "--namespace", releaseNS, "--set", "webhook.certManager.enabled=true"))
	if hasKind(objs, "Secret") {
		t.Error("cert-manager makes the Secret; the chart must not")
	}
	cert := find(t, objs, "Certificate")
	secretName, _, _ := unstructured.NestedString(cert.Object, "spec", "secretName")
	dnsNames, _, _ := unstructured.NestedStringSlice(cert.Object, "spec", "dnsNames")
	if secretName != releaseName+"-webhook-server-cert" || len(dnsNames) == 0 || dnsNames[0] != releaseName+"-webhook-service."+releaseNS+".svc" {
		t.Errorf("Certificate secretName %q dnsNames %v", secretName, dnsNames)
	}
	mwc := find(t, objs, "MutatingWebhookConfiguration")
	if got := mwc.GetAnnotations()["cert-manager.io/inject-ca-from"]; got != releaseNS+"/"+cert.GetName() {
		t.Errorf("inject-ca-from = %q, want the Certificate", got)
	}
	manager, _, _ := unstructured.NestedSlice(find(t, objs, "Deployment").Object, "spec", "template", "spec", "containers")
	args, _, _ := unstructured.NestedStringSlice(manager[0].(map[string]any), "args")
	if !slices.Contains(args, "--webhook-cert-path=/tmp/k8s-webhook-server/serving-certs") {
		t.Errorf("manager args %v lack --webhook-cert-path", args)
	}
	volumes, _, _ := unstructured.NestedSlice(find(t, objs, "Deployment").Object, "spec", "template", "spec", "volumes")
	if len(volumes) != 1 || volumes[0].(map[string]any)["secret"] == nil {
		t.Errorf("volumes %v: want cert-manager's Secret mounted", volumes)
	}
}

// TestChartRefusesWhatTheManagerWouldRefuse: values.schema.json and the
// templates stop a bad value at `helm install` instead of at the manager's
// start (or, for the PodDisruptionBudget, at the next node drain).
func TestChartRefusesWhatTheManagerWouldRefuse(t *testing.T) {
	for _, tc := range []struct {
		set     string
		message string // a fragment of helm's error
	}{
		{"manager.sleepMethod=nap", "sleepMethod"},
		{"manager.albIPPreStopSeconds=0", "albIPPreStopSeconds"},
		{"manager.shutdownSeconds=3601", "shutdownSeconds"},
		{"manager.revertWindow=soon", "revertWindow"},
		{"manager.maxReapplies=101", "maxReapplies"},
		{"serviceMonitor.interval=soon", "interval"},
		{"replicas=2", "replicas"},                         // a typo of replicaCount
		{"replicaCount=1", "would block every node drain"}, // with the default PodDisruptionBudget
	} {
		t.Run(tc.set, func(t *testing.T) {
			_, err := helmTemplateErr(t, tc.set)
			if err == nil {
				t.Fatalf("helm template --set %s succeeded, want it refused", tc.set)
			}
			if !strings.Contains(err.Error(), tc.message) {
				t.Errorf("helm template --set %s failed without naming %q: %v", tc.set, tc.message, err)
			}
		})
	}
}

// TestChartNamesFollowTheRelease: another release name prefixes every name
// (two releases do not collide on cluster-wide names), and every reference
// between objects follows.
func TestChartNamesFollowTheRelease(t *testing.T) {
	out := run(t, tool(t, "HELM"), "template", "edge", chartDir, "--namespace", "ops")
	objs := decode(t, out)
	prefix := regexp.MustCompile(`^edge-gracefuldrain-`)
	for _, o := range objs {
		if !prefix.MatchString(o.GetName()) {
			t.Errorf("%s is not prefixed edge-gracefuldrain-", objectID(o))
		}
		if o.GetNamespace() != "" && o.GetNamespace() != "ops" {
			t.Errorf("%s is not in the release namespace ops", objectID(o))
		}
	}
	binding := find(t, objs, "ClusterRoleBinding")
	roleRef, _, _ := unstructured.NestedString(binding.Object, "roleRef", "name")
	subjects, _, _ := unstructured.NestedSlice(binding.Object, "subjects")
	if roleRef != "edge-gracefuldrain-manager-role" || len(subjects) != 1 ||
		subjects[0].(map[string]any)["name"] != "edge-gracefuldrain-controller-manager" || subjects[0].(map[string]any)["namespace"] != "ops" {
		t.Errorf("ClusterRoleBinding refers to role %q and subjects %v, want the release's", roleRef, subjects)
	}
	sa, _, _ := unstructured.NestedString(find(t, objs, "Deployment").Object, "spec", "template", "spec", "serviceAccountName")
	if sa != find(t, objs, "ServiceAccount").GetName() {
		t.Errorf("the Deployment runs as %q, not the chart's ServiceAccount", sa)
	}
}
