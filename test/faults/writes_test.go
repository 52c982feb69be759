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

package faults

import (
	"context"
	"encoding/json"
	"fmt"
	"sort"
	"strings"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"
)

// allowedWrites is every write the operator may make: group/resource[/subresource] -> verbs.
var allowedWrites = map[string][]string{
	"apps/deployments":                       {"patch"}, // server-side apply of the drain fields only (checked below)
	"/namespaces":                            {"patch"}, // the readiness-gate label only (checked below)
	"gracefuldrain.io/gracefuldrains":        {"create", "delete"},
	"gracefuldrain.io/gracefuldrains/status": {"patch", "update"},
	"events.k8s.io/events":                   {"create", "patch"},
	"/events":                                {"create", "patch"},
	"coordination.k8s.io/leases":             {"create", "update", "patch"},
	// The webhook's self-managed certificate: its one Secret and its one
	// webhook configuration (names checked below).
	"/secrets": {"update"},
	"admissionregistration.k8s.io/mutatingwebhookconfigurations": {"update"},
}

// namedWrites are the only objects of a resource the operator may write.
var namedWrites = map[string]string{
	"/secrets": systemNamespace + "/gracefuldrain-webhook-server-cert",
	"admissionregistration.k8s.io/mutatingwebhookconfigurations": "/gracefuldrain-mutating-webhook-configuration",
}

// policyFailure is the audit annotation of a ValidatingAdmissionPolicy's refusal.
const policyFailure = "validation.policy.admission.k8s.io/validation_failure"

var writeVerbs = map[string]bool{"create": true, "update": true, "patch": true, "delete": true, "deletecollection": true}

// TestWriteAudit reads the API server's audit log of every scenario run
// before it (TestFaults) and checks: the operator, with only the install's
// RBAC and field-level policy, was never refused (403, by RBAC or by the
// policy); it wrote nothing outside allowedWrites; Leases only in its own
// namespace, the Secret and webhook configuration only its own; and, from
// managedFields, its server-side
// apply on Deployments owns only terminationGracePeriodSeconds,
// containers[].lifecycle.preStop and containers[].readinessProbe, and on
// Namespaces only the readiness-gate label.
func TestWriteAudit(t *testing.T) {
	if len(allNamespaces) == 0 {
		// An audit of nothing would prove nothing: it reads what TestFaults did.
		t.Fatal("no fault scenario ran before the audit: run TestFaults and TestWriteAudit together (make test-faults)")
	}
	events := readAudit(t)
	if len(events) == 0 {
		t.Fatal("the audit log holds no request of the operator")
	}
	counts := map[string]int{}
	forbidden, forbiddenDuringRestart, policyDenied := 0, 0, 0
	writes := 0
	probes := 0
	// patched: the objects the operator patched (server-side apply), "resource ns/name".
	patched := map[string]bool{}
	for _, e := range events {
		// The test's own probes of the policy, made as the operator before
		// any scenario: dry runs, refused by design.
		if e.Verb == "patch" && e.ObjectRef != nil && e.ObjectRef.Resource == "namespaces" && e.ObjectRef.Name == policyProbeNamespace &&
			strings.Contains(e.RequestURI, "dryRun=All") {
			probes++
			continue
		}
		if v, ok := e.Annotations[policyFailure]; ok {
			policyDenied++
			t.Errorf("refused by config/policy: %s %s: %s", e.Verb, e.RequestURI, v)
		}
		if e.ResponseStatus != nil && e.ResponseStatus.Code == 403 && !e.Received.Before(restartWindow[0]) && e.Received.Before(restartWindow[1]) {
			forbiddenDuringRestart++ // the restarted API server's RBAC cache was not yet synced
		} else if e.ResponseStatus != nil && e.ResponseStatus.Code == 403 {
			forbidden++
			t.Errorf("forbidden: %s %s", e.Verb, e.RequestURI)
		}
		if !writeVerbs[e.Verb] || e.ObjectRef == nil {
			continue
		}
		if e.ResponseStatus != nil && e.ResponseStatus.Code >= 300 {
			continue // refused writes changed nothing (e.g. 404 on a delete)
		}
		writes++
		if e.Verb == "patch" && e.ObjectRef.Subresource == "" {
			key := e.ObjectRef.Resource + " " + e.ObjectRef.Namespace + "/" + e.ObjectRef.Name
			if e.ObjectRef.Resource == "namespaces" {
				key = "namespaces " + e.ObjectRef.Name // the audit gives a Namespace itself as its namespace
			}
			patched[key] = true
		}
		res := e.ObjectRef.APIGroup + "/" + e.ObjectRef.Resource
		if e.ObjectRef.Subresource != "" {
			res += "/" + e.ObjectRef.Subresource
		}
		key := res + " " + e.Verb
		counts[key]++
		verbs, ok := allowedWrites[res]
		if !ok || !contains(verbs, e.Verb) {
			t.Errorf("write outside the allowed list: %s %s", e.Verb, e.RequestURI)
		}
		if e.ObjectRef.Resource == "leases" && e.ObjectRef.Namespace != systemNamespace {
			t.Errorf("Lease written outside %s: %s", systemNamespace, e.RequestURI)
		}
		if name, ok := namedWrites[res]; ok && e.ObjectRef.Namespace+"/"+e.ObjectRef.Name != name {
			t.Errorf("%s written other than %s: %s %s", res, name, e.Verb, e.RequestURI)
		}
	}
	var lines []string
	for k, v := range counts {
		lines = append(lines, fmt.Sprintf("%s=%d", strings.ReplaceAll(k, " ", ":"), v))
	}
	sort.Strings(lines)

	ctx := context.Background()
	// An object the operator patched must hold its entry: a check of the
	// entries alone would pass on an object the operator never owned.
	deployments, namespaces := 0, 0
	for _, ns := range allNamespaces {
		var list appsv1.DeploymentList
		must(t, client.IgnoreNotFound(k8s.List(ctx, &list, client.InNamespace(ns))))
		for _, d := range list.Items {
			owned := checkOwnedFields(t, "Deployment "+ns+"/"+d.Name, d.ManagedFields, allowedDeploymentField)
			if patched["deployments "+ns+"/"+d.Name] {
				deployments++
				if owned == 0 {
					t.Errorf("Deployment %s/%s: patched by the operator, yet no drain field owned by %s in its managedFields", ns, d.Name, fieldManager)
				}
			}
		}
		var n corev1.Namespace
		must(t, k8s.Get(ctx, types.NamespacedName{Name: ns}, &n))
		owned := checkOwnedFields(t, "Namespace "+ns, n.ManagedFields, func(path string) bool {
			return path == "f:metadata.f:labels.f:elbv2.k8s.aws/pod-readiness-gate-inject"
		})
		if patched["namespaces "+ns] {
			namespaces++
			if owned != 1 {
				t.Errorf("Namespace %s: patched by the operator, which owns %d fields of it, want the readiness-gate label", ns, owned)
			}
		}
	}
	if deployments == 0 || namespaces == 0 {
		t.Errorf("the audit shows %d Deployments and %d Namespaces patched by the operator: nothing to check", deployments, namespaces)
	}
	if probes == 0 {
		t.Errorf("no policy probe in the audit log: the audit does not see the operator's refused requests")
	}
	line := fmt.Sprintf("WRITES total=%d forbidden=%d forbidden_while_apiserver_restarting=%d refused_by_policy=%d deployments_checked=%d namespaces_checked=%d %s",
		writes, forbidden, forbiddenDuringRestart, policyDenied, deployments, namespaces, strings.Join(lines, " "))
	t.Log(line)
	fmt.Println(line)
}

func contains(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}

// allowedDeploymentField says whether a leaf path of the operator's
// managedFields on a Deployment is a drain field.
func allowedDeploymentField(path string) bool {
	const tmpl = "f:spec.f:template.f:spec."
	if path == tmpl+"f:terminationGracePeriodSeconds" {
		return true
	}
	if !strings.HasPrefix(path, tmpl+"f:containers.k:") {
		return false
	}
	rest := path[len(tmpl+"f:containers."):]
	// k:{"name":"app"}.<field...>
	i := strings.Index(rest, "}.")
	if i < 0 {
		return false
	}
	field := rest[i+2:]
	return field == "." || field == "f:name" ||
		strings.HasPrefix(field, "f:lifecycle.f:preStop") || field == "f:lifecycle.." || field == "f:lifecycle" ||
		strings.HasPrefix(field, "f:readinessProbe")
}

// checkOwnedFields: the gracefuldrain manager only applies (never updates)
// and owns only allowed leaf fields. It returns how many leaf fields the
// manager owns.
func checkOwnedFields(t *testing.T, what string, entries []metav1.ManagedFieldsEntry, allowed func(string) bool) int {
	t.Helper()
	owned := 0
	for _, e := range entries {
		if e.Manager != fieldManager {
			continue
		}
		if e.Operation != metav1.ManagedFieldsOperationApply {
			t.Errorf("%s: the operator wrote with operation %s, not server-side apply", what, e.Operation)
		}
		if e.Subresource != "" {
			t.Errorf("%s: the operator wrote subresource %s", what, e.Subresource)
		}
		if e.FieldsV1 == nil {
			continue
		}
		var tree map[string]any
		if err := json.Unmarshal(e.FieldsV1.Raw, &tree); err != nil {
			t.Fatal(err)
		}
		for _, leaf := range leaves("", tree) {
			owned++
			if !allowed(leaf) {
				t.Errorf("%s: the operator owns %s, which is not a drain field", what, leaf)
			}
		}
	}
	return owned
}

func leaves(prefix string, tree map[string]any) []string {
	var out []string
	for k, v := range tree {
		p := k
		if prefix != "" {
			p = prefix + "." + k
		}
		if sub, ok := v.(map[string]any); ok && len(sub) > 0 {
			out = append(out, leaves(p, sub)...)
			continue
		}
		out = append(out, p)
	}
	return out
}
