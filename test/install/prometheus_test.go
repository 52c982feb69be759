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
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"testing"

	"sigs.k8s.io/yaml"
)

// contractMetrics are the metrics the manager exports (docs/metrics.md), by
// name and type. Alerts and the dashboard may query only these, Prometheus's
// own `up`, and controller-runtime's metrics (controllerRuntimeMetrics).
var contractMetrics = map[string]string{
	"gracefuldrain_workloads":                                  "gauge",
	"gracefuldrain_workload_not_ready_since_timestamp_seconds": "gauge",
	"gracefuldrain_workload_conflict":                          "gauge",
	"gracefuldrain_invalid_configurations":                     "gauge",
	"gracefuldrain_invalid_configurations_total":               "counter",
	"gracefuldrain_applies_total":                              "counter",
	"gracefuldrain_webhook_admissions_total":                   "counter",
	"gracefuldrain_webhook_admission_duration_seconds":         "histogram",
}

// prometheusRule is the part of a PrometheusRule (config/prometheus/rules.yaml)
// the tests read; its spec is a Prometheus rules file.
type prometheusRule struct {
	Spec struct {
		Groups []struct {
			Name  string `json:"name"`
			Rules []struct {
				Alert       string            `json:"alert"`
				Expr        string            `json:"expr"`
				For         string            `json:"for"`
				Labels      map[string]string `json:"labels"`
				Annotations map[string]string `json:"annotations"`
			} `json:"rules"`
		} `json:"groups"`
	} `json:"spec"`
}

func readRules(t *testing.T) prometheusRule {
	t.Helper()
	var r prometheusRule
	if err := yaml.Unmarshal(readFile(t, "config/prometheus/rules.yaml"), &r); err != nil {
		t.Fatal(err)
	}
	if len(r.Spec.Groups) == 0 {
		t.Fatal("config/prometheus/rules.yaml has no rule groups")
	}
	return r
}

// TestAlertRules checks the rules with promtool and runs their unit tests
// (config/prometheus/tests), after checking that every alert is tested both
// firing and not firing.
func TestAlertRules(t *testing.T) {
	promtool := tool(t, "PROMTOOL")
	dir := t.TempDir()
	// promtool reads plain rules files: the PrometheusRule's spec is one.
	var spec struct {
		Spec json.RawMessage `json:"spec"`
	}
	if err := yaml.Unmarshal(readFile(t, "config/prometheus/rules.yaml"), &spec); err != nil {
		t.Fatal(err)
	}
	rulesFile := filepath.Join(dir, "gracefuldrain.rules.yaml")
	rulesYAML, err := yaml.JSONToYAML(spec.Spec)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(rulesFile, rulesYAML, 0o644); err != nil {
		t.Fatal(err)
	}
	run(t, promtool, "check", "rules", rulesFile)

	testFiles, err := filepath.Glob(filepath.Join(repoRoot, "config", "prometheus", "tests", "*.yaml"))
	if err != nil || len(testFiles) == 0 {
		t.Fatalf("no promtool tests in config/prometheus/tests (%v)", err)
	}
	firing, quiet := map[string]int{}, map[string]int{}
	var copies []string
	for _, f := range testFiles {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		var tests struct {
			Tests []struct {
				AlertRuleTest []struct {
					Alertname string `json:"alertname"`
					ExpAlerts []any  `json:"exp_alerts"`
				} `json:"alert_rule_test"`
			} `json:"tests"`
		}
		if err := yaml.Unmarshal(b, &tests); err != nil {
			t.Fatalf("%s: %v", f, err)
		}
		for _, tc := range tests.Tests {
			for _, a := range tc.AlertRuleTest {
				if len(a.ExpAlerts) > 0 {
					firing[a.Alertname]++
				} else {
					quiet[a.Alertname]++
				}
			}
		}
		c := filepath.Join(dir, filepath.Base(f))
		if err := os.WriteFile(c, b, 0o644); err != nil {
			t.Fatal(err)
		}
		copies = append(copies, c)
	}
	for _, g := range readRules(t).Spec.Groups {
		for _, r := range g.Rules {
			if r.Alert != "" && (firing[r.Alert] == 0 || quiet[r.Alert] == 0) {
				t.Errorf("%s is tested firing %d times and not firing %d times in config/prometheus/tests: want both", r.Alert, firing[r.Alert], quiet[r.Alert])
			}
		}
	}
	out := run(t, promtool, append([]string{"test", "rules"}, copies...)...)
	t.Logf("promtool test rules:\n%s", out)
}

// TestAlertRulesAreActionable: every alert is named GracefulDrain..., has a
// severity a platform team routes on, and says what happened and what to run.
func TestAlertRulesAreActionable(t *testing.T) {
	alerts := 0
	for _, g := range readRules(t).Spec.Groups {
		for _, r := range g.Rules {
			if r.Alert == "" {
				continue
			}
			alerts++
			if !regexp.MustCompile(`^GracefulDrain[A-Z][A-Za-z]+$`).MatchString(r.Alert) {
				t.Errorf("alert %q: want GracefulDrain followed by a CamelCase name", r.Alert)
			}
			if s := r.Labels["severity"]; s != "warning" && s != "info" {
				t.Errorf("%s: severity %q, want warning or info", r.Alert, s)
			}
			if r.Annotations["summary"] == "" {
				t.Errorf("%s has no summary", r.Alert)
			}
			if !strings.Contains(r.Annotations["description"], "`kubectl ") {
				t.Errorf("%s: the description names no kubectl command to run: %q", r.Alert, r.Annotations["description"])
			}
			if r.For == "" {
				t.Errorf("%s has no `for`: a single evaluation would page", r.Alert)
			}
		}
	}
	if alerts < 6 {
		t.Errorf("%d alerts, want the 6 of docs/metrics.md", alerts)
	}
}

// TestMonitoringQueriesUseExportedMetrics: every metric an alert or a
// dashboard panel queries is one the manager exports, one of
// controller-runtime's, or `up`, and every dashboard query parses.
func TestMonitoringQueriesUseExportedMetrics(t *testing.T) {
	known := controllerRuntimeMetrics(t)
	for name, typ := range contractMetrics {
		known[name] = typ
	}
	known["up"] = "gauge"
	check := func(where, expr string) {
		t.Helper()
		names := metricNames(expr)
		if len(names) == 0 {
			t.Errorf("%s: no metric found in %q", where, expr)
		}
		for _, n := range names {
			if !isKnownMetric(known, n) {
				t.Errorf("%s queries %s, which neither the manager nor controller-runtime exports", where, n)
			}
		}
	}
	for _, g := range readRules(t).Spec.Groups {
		for _, r := range g.Rules {
			check("alert "+r.Alert, r.Expr)
		}
	}
	exprs := dashboardQueries(t)
	for where, expr := range exprs {
		check(where, expr)
	}

	// Every query must parse: promtool checks them as recording rules, with
	// Grafana's variables replaced by values of the right kind.
	grafanaVariables := strings.NewReplacer("$__rate_interval", "5m", "$__range", "1h", "$job", "gracefuldrain")
	type rule struct {
		Record string `json:"record"`
		Expr   string `json:"expr"`
	}
	var rules []rule
	for _, where := range sortedStrings(exprs) {
		rules = append(rules, rule{Record: fmt.Sprintf("dashboard:query_%d", len(rules)), Expr: grafanaVariables.Replace(exprs[where])})
	}
	b, err := yaml.Marshal(map[string]any{"groups": []any{map[string]any{"name": "dashboard", "rules": rules}}})
	if err != nil {
		t.Fatal(err)
	}
	f := filepath.Join(t.TempDir(), "dashboard.rules.yaml")
	if err := os.WriteFile(f, b, 0o644); err != nil {
		t.Fatal(err)
	}
	run(t, tool(t, "PROMTOOL"), "check", "rules", f)
}

// isKnownMetric accepts a histogram's or summary's series by their suffix.
func isKnownMetric(known map[string]string, name string) bool {
	if _, ok := known[name]; ok {
		return true
	}
	for _, suffix := range []string{"_bucket", "_sum", "_count"} {
		if base, ok := strings.CutSuffix(name, suffix); ok && known[base] == "histogram" {
			return true
		}
	}
	return false
}

var (
	promqlStrings   = regexp.MustCompile("\"(?:[^\"\\\\]|\\\\.)*\"|'(?:[^'\\\\]|\\\\.)*'|`[^`]*`")
	promqlMatchers  = regexp.MustCompile(`\{[^}]*\}`)
	promqlRanges    = regexp.MustCompile(`\[[^\]]*\]`)
	promqlGrouping  = regexp.MustCompile(`(?i)\b(by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)`)
	promqlIdent     = regexp.MustCompile(`\b[a-zA-Z_:][a-zA-Z0-9_:]*`)
	promqlKeywords  = map[string]bool{"and": true, "or": true, "unless": true, "bool": true, "offset": true, "by": true, "without": true, "on": true, "ignoring": true, "group_left": true, "group_right": true, "inf": true, "nan": true}
	grafanaVariable = regexp.MustCompile(`\$\{?[A-Za-z_]\w*\}?`)
)

// metricNames returns the metric names a PromQL expression selects: what is
// left once strings, label matchers, ranges, grouping labels, function calls
// and keywords are taken out.
func metricNames(expr string) []string {
	s := promqlStrings.ReplaceAllString(expr, `""`)
	s = promqlMatchers.ReplaceAllString(s, "{}")
	s = promqlRanges.ReplaceAllString(s, "[]")
	s = promqlGrouping.ReplaceAllString(s, "")
	s = grafanaVariable.ReplaceAllString(s, "")
	var names []string
	for _, loc := range promqlIdent.FindAllStringIndex(s, -1) {
		ident := s[loc[0]:loc[1]]
		if promqlKeywords[strings.ToLower(ident)] {
			continue
		}
		if rest := strings.TrimLeft(s[loc[1]:], " \t\n"); strings.HasPrefix(rest, "(") {
			continue // a function or an aggregation
		}
		names = append(names, ident)
	}
	return names
}

func TestMetricNames(t *testing.T) {
	for expr, want := range map[string]string{
		`sum by (kind, mode) (max without (instance, pod) (gracefuldrain_workloads{job=~"$job", ready="True"}))`:                "gracefuldrain_workloads",
		`histogram_quantile(0.99, sum by (le) (rate(foo_seconds_bucket{a="b{c}"}[$__rate_interval])))`:                          "foo_seconds_bucket",
		`time() - max by (namespace) (a_timestamp_seconds{mode="enforce"}) > 3600`:                                              "a_timestamp_seconds",
		`up{job="gracefuldrain"} == 0 or absent(up{job="gracefuldrain"})`:                                                       "up up",
		`count(max by (namespace, kind, name) (c{job=~"$job"}) > 0) or vector(0)`:                                               "c",
		`sum(rate(a_total[5m])) / ignoring(result) group_left sum(rate(b_total[5m] offset 1h)) and on(controller) c > bool 1e3`: "a_total b_total c",
	} {
		if got := strings.Join(metricNames(expr), " "); got != want {
			t.Errorf("metricNames(%q) = %q, want %q", expr, got, want)
		}
	}
}

// controllerRuntimeMetrics reads the metric names controller-runtime defines
// for controllers and webhooks from its source, at the version go.mod
// requires, with their types.
func controllerRuntimeMetrics(t *testing.T) map[string]string {
	t.Helper()
	dir := strings.TrimSpace(string(run(t, "go", "list", "-m", "-f", "{{.Dir}}", "sigs.k8s.io/controller-runtime")))
	def := regexp.MustCompile(`prometheus\.New(Counter|Gauge|Histogram|Summary)(?:Vec)?\(\s*prometheus\.\w+Opts\{\s*Name:\s*"(controller_runtime_\w+)"`)
	metrics := map[string]string{}
	for _, pkg := range []string{"pkg/internal/controller/metrics", "pkg/webhook/internal/metrics"} {
		files, _ := filepath.Glob(filepath.Join(dir, pkg, "*.go"))
		for _, f := range files {
			b, err := os.ReadFile(f)
			if err != nil {
				t.Fatal(err)
			}
			for _, m := range def.FindAllStringSubmatch(string(b), -1) {
				metrics[m[2]] = strings.ToLower(m[1])
			}
		}
	}
	// The two the alerts are written against must be among them.
	for _, name := range []string{"controller_runtime_reconcile_errors_total", "controller_runtime_webhook_requests_total"} {
		if _, ok := metrics[name]; !ok {
			t.Fatalf("controller-runtime in %s defines no %s (found %v)", dir, name, sortedStrings(metrics))
		}
	}
	return metrics
}

// dashboardQueries checks the Grafana dashboard's JSON and data source
// variable, and returns its queries by panel.
func dashboardQueries(t *testing.T) map[string]string {
	t.Helper()
	var dash struct {
		Templating struct {
			List []struct {
				Name  string `json:"name"`
				Type  string `json:"type"`
				Query any    `json:"query"`
			} `json:"list"`
		} `json:"templating"`
		Panels []dashboardPanel `json:"panels"`
	}
	b := readFile(t, "config/prometheus/grafana/gracefuldrain.json")
	if err := json.Unmarshal(b, &dash); err != nil {
		t.Fatalf("config/prometheus/grafana/gracefuldrain.json is not valid JSON: %v", err)
	}
	datasourceVariable := false
	for _, v := range dash.Templating.List {
		if v.Name == "datasource" && v.Type == "datasource" && v.Query == "prometheus" {
			datasourceVariable = true
		}
	}
	if !datasourceVariable {
		t.Errorf("the dashboard has no Prometheus data source variable named datasource")
	}
	queries := map[string]string{}
	var walk func([]dashboardPanel)
	walk = func(panels []dashboardPanel) {
		for _, p := range panels {
			walk(p.Panels)
			if p.Type == "row" {
				continue
			}
			if p.Datasource.UID != "${datasource}" {
				t.Errorf("panel %q uses data source %q, not the ${datasource} variable", p.Title, p.Datasource.UID)
			}
			if len(p.Targets) == 0 {
				t.Errorf("panel %q has no query", p.Title)
			}
			for _, q := range p.Targets {
				if q.Datasource.UID != "${datasource}" {
					t.Errorf("panel %q query %s uses data source %q, not the ${datasource} variable", p.Title, q.RefID, q.Datasource.UID)
				}
				queries[fmt.Sprintf("panel %q query %s", p.Title, q.RefID)] = q.Expr
			}
		}
	}
	walk(dash.Panels)
	if len(queries) == 0 {
		t.Fatal("the dashboard has no queries")
	}
	return queries
}

type dashboardPanel struct {
	Title      string `json:"title"`
	Type       string `json:"type"`
	Datasource struct {
		UID string `json:"uid"`
	} `json:"datasource"`
	Targets []struct {
		RefID      string `json:"refId"`
		Expr       string `json:"expr"`
		Datasource struct {
			UID string `json:"uid"`
		} `json:"datasource"`
	} `json:"targets"`
	Panels []dashboardPanel `json:"panels"`
}

// TestMetricsDocumented: docs/metrics.md describes every metric of the
// contract and every alert.
func TestMetricsDocumented(t *testing.T) {
	doc := string(readFile(t, "docs/metrics.md"))
	for name, typ := range contractMetrics {
		if !regexp.MustCompile("(?m)^\\| `" + name + "(\\{[^`]*\\})?` \\| " + typ + " \\|").MatchString(doc) {
			t.Errorf("docs/metrics.md has no table row for %s (type %s)", name, typ)
		}
	}
	for _, g := range readRules(t).Spec.Groups {
		for _, r := range g.Rules {
			if r.Alert != "" && !strings.Contains(doc, "### "+r.Alert+"\n") {
				t.Errorf("docs/metrics.md has no section ### %s", r.Alert)
			}
		}
	}
}

func sortedStrings[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}
