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
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"testing"

	. "github.com/onsi/gomega"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/yaml"
)

// allowedRBAC is every permission the design needs, group/resource -> verbs.
// docs/security.md gives the reason for each line; keep the two in step. A
// permission missing from the generated RBAC is fine (the lead may not have
// added it yet); one beyond this set fails the test.
var allowedRBAC = map[string][]string{
	"admissionregistration.k8s.io/mutatingwebhookconfigurations": {"get", "update"},
	"apps/deployments":                  {"get", "list", "watch", "patch"},
	"apps/statefulsets":                 {"get", "list", "watch", "patch"},
	"apps/daemonsets":                   {"get", "list", "watch", "patch"},
	"argoproj.io/rollouts":              {"get", "list", "watch", "patch"},
	"/namespaces":                       {"get", "list", "watch", "patch"},
	"/services":                         {"get", "list", "watch"},
	"/pods":                             {"get", "list", "watch"},
	"/nodes":                            {"get", "list", "watch"},
	"networking.k8s.io/ingresses":       {"get", "list", "watch"},
	"networking.k8s.io/ingressclasses":  {"get", "list", "watch"},
	"elbv2.k8s.aws/targetgroupbindings": {"get", "list", "watch"},
	"apiextensions.k8s.io/customresourcedefinitions": {"get", "list", "watch"},
	"gracefuldrain.io/gracefuldrains":                {"get", "list", "watch", "create", "delete"},
	"gracefuldrain.io/gracefuldrains/status":         {"get", "update", "patch"},
	"events.k8s.io/events":                           {"create", "patch"},
}

// namedRBAC are the permissions granted only on named objects (resourceNames),
// group/resource -> the names: the webhook certificate keeper's own Secret
// and webhook configuration.
var namedRBAC = map[string][]string{
	"admissionregistration.k8s.io/mutatingwebhookconfigurations": {"gracefuldrain-mutating-webhook-configuration"},
	"/secrets": {"gracefuldrain-webhook-server-cert"},
}

// allowedNamespacedManager is the namespaced Role manager-role (controller-gen,
// markers with namespace=gracefuldrain-system): the certificate Secret.
var allowedNamespacedManager = map[string][]string{
	"/secrets": {"get", "update"},
}

// allowedLeaderElection is the namespaced Role of config/rbac/leader_election_role.yaml.
var allowedLeaderElection = map[string][]string{
	"coordination.k8s.io/leases": {"get", "list", "watch", "create", "update", "patch", "delete"},
	"/events":                    {"create", "patch"},
	"events.k8s.io/events":       {"create", "patch"},
}

// roleDoc is one (Cluster)Role of a manifest file.
type roleDoc struct {
	Kind     string              `json:"kind"`
	Metadata metav1.ObjectMeta   `json:"metadata"`
	Rules    []rbacv1.PolicyRule `json:"rules"`
}

// readRoles reads every (Cluster)Role of a manifest file.
func readRoles(t *testing.T, path string) []roleDoc {
	t.Helper()
	raw, err := os.ReadFile(path)
	NewWithT(t).Expect(err).NotTo(HaveOccurred())
	var roles []roleDoc
	for _, doc := range strings.Split(string(raw), "\n---\n") {
		var role roleDoc
		NewWithT(t).Expect(yaml.Unmarshal([]byte(doc), &role)).To(Succeed())
		if role.Kind != "" {
			roles = append(roles, role)
		}
	}
	return roles
}

// readRules reads the rules of a manifest file holding one (Cluster)Role.
func readRules(t *testing.T, path string) (kind, name string, rules []rbacv1.PolicyRule) {
	t.Helper()
	roles := readRoles(t, path)
	NewWithT(t).Expect(roles).To(HaveLen(1), path)
	return roles[0].Kind, roles[0].Metadata.Name, roles[0].Rules
}

// rbacViolations lists what in rules goes beyond allowed: wildcards, Secrets
// or ConfigMaps, nonResourceURLs, resourceNames tricks aside, any verb not in
// the allowed set for its group/resource.
func rbacViolations(rules []rbacv1.PolicyRule, allowed map[string][]string) []string {
	var out []string
	for i, r := range rules {
		where := fmt.Sprintf("rule %d (groups %v, resources %v, verbs %v)", i, r.APIGroups, r.Resources, r.Verbs)
		if len(r.NonResourceURLs) > 0 {
			out = append(out, where+": nonResourceURLs")
		}
		for _, list := range [][]string{r.APIGroups, r.Resources, r.Verbs, r.ResourceNames, r.NonResourceURLs} {
			for _, v := range list {
				if strings.Contains(v, "*") {
					out = append(out, where+": wildcard "+v)
				}
			}
		}
		for _, g := range r.APIGroups {
			for _, res := range r.Resources {
				base := strings.Split(res, "/")[0]
				names, named := namedRBAC[g+"/"+res]
				switch {
				case named && (len(r.ResourceNames) == 0 || !isSubset(r.ResourceNames, names)):
					out = append(out, fmt.Sprintf("%s: %s/%s only by name (resourceNames %v)", where, g, res, names))
				case !named && g == "" && (base == "secrets" || base == "configmaps"):
					out = append(out, where+": access to "+res)
				}
				verbs, ok := allowed[g+"/"+res]
				if !ok {
					out = append(out, fmt.Sprintf("%s: %s/%s is not needed by the design", where, g, res))
					continue
				}
				for _, v := range r.Verbs {
					if !slices.Contains(verbs, v) {
						out = append(out, fmt.Sprintf("%s: verb %q on %s/%s is not needed by the design", where, v, g, res))
					}
				}
			}
		}
	}
	return out
}

// TestRBACLeastPrivilege reads the generated RBAC (controller-gen, from the
// +kubebuilder:rbac markers) and the leader-election Role and fails on any
// wildcard, any Secrets/ConfigMaps access and any verb beyond allowedRBAC.
func TestRBACLeastPrivilege(t *testing.T) {
	g := NewWithT(t)
	roles := readRoles(t, filepath.Join("..", "config", "rbac", "role.yaml"))
	g.Expect(roles).To(HaveLen(2), "the ClusterRole and the namespaced Role manager-role")
	var rules []rbacv1.PolicyRule
	for _, role := range roles {
		g.Expect(role.Metadata.Name).To(Equal("manager-role"))
		switch role.Kind {
		case "ClusterRole":
			rules = role.Rules
			g.Expect(rules).NotTo(BeEmpty())
			g.Expect(rbacViolations(rules, allowedRBAC)).To(BeEmpty())
		case "Role":
			g.Expect(role.Metadata.Namespace).To(Equal("gracefuldrain-system"), "the Secret's Role is namespaced to the install's own namespace")
			g.Expect(rbacViolations(role.Rules, allowedNamespacedManager)).To(BeEmpty())
		default:
			t.Fatalf("unexpected %s in role.yaml", role.Kind)
		}
	}

	kind, _, leRules := readRules(t, filepath.Join("..", "config", "rbac", "leader_election_role.yaml"))
	g.Expect(kind).To(Equal("Role"), "leader election must be a namespaced Role, not cluster-wide")
	g.Expect(rbacViolations(leRules, allowedLeaderElection)).To(BeEmpty())

	// The human-facing viewer role is read-only.
	_, _, viewer := readRules(t, filepath.Join("..", "config", "rbac", "gracefuldrain_viewer_role.yaml"))
	g.Expect(rbacViolations(viewer, map[string][]string{
		"gracefuldrain.io/gracefuldrains":        {"get", "list", "watch"},
		"gracefuldrain.io/gracefuldrains/status": {"get", "list", "watch"},
	})).To(BeEmpty())

	// The checker itself catches what it must (a test that can fail).
	for _, bad := range []rbacv1.PolicyRule{
		{APIGroups: []string{""}, Resources: []string{"secrets"}, Verbs: []string{"get"}},
		{APIGroups: []string{""}, Resources: []string{"configmaps"}, Verbs: []string{"list"}},
		{APIGroups: []string{"*"}, Resources: []string{"deployments"}, Verbs: []string{"get"}},
		{APIGroups: []string{"apps"}, Resources: []string{"*"}, Verbs: []string{"get"}},
		{APIGroups: []string{"apps"}, Resources: []string{"deployments"}, Verbs: []string{"*"}},
		{APIGroups: []string{"apps"}, Resources: []string{"deployments"}, Verbs: []string{"update"}},
		{APIGroups: []string{""}, Resources: []string{"pods"}, Verbs: []string{"delete"}},
		{APIGroups: []string{"apps"}, Resources: []string{"deployments/scale"}, Verbs: []string{"patch"}},
		{NonResourceURLs: []string{"/metrics"}, Verbs: []string{"get"}},
		{APIGroups: []string{"admissionregistration.k8s.io"}, Resources: []string{"mutatingwebhookconfigurations"}, Verbs: []string{"get"}},
		{APIGroups: []string{"admissionregistration.k8s.io"}, Resources: []string{"mutatingwebhookconfigurations"}, Verbs: []string{"update"}, ResourceNames: []string{"another-operators-webhook"}},
	} {
		g.Expect(rbacViolations([]rbacv1.PolicyRule{bad}, allowedRBAC)).NotTo(BeEmpty(), "%+v", bad)
	}

	var granted []string
	for _, r := range append(rules, leRules...) {
		for _, grp := range r.APIGroups {
			for _, res := range r.Resources {
				granted = append(granted, fmt.Sprintf("%s/%s:%s", grp, res, strings.Join(r.Verbs, ",")))
			}
		}
	}
	sort.Strings(granted)
	t.Logf("RBAC granted (%d group/resource entries, all within the allowed set): %s", len(granted), strings.Join(granted, " "))
}

// TestInstallBindsOnlyTheseRoles checks, on the rendered install, that the
// operator's ServiceAccount is bound to nothing but the two roles checked above.
func TestInstallBindsOnlyTheseRoles(t *testing.T) {
	g := NewWithT(t)
	objs := kustomize(t, "default")
	var bound []string
	for _, o := range objs {
		if o.GetKind() != "ClusterRoleBinding" && o.GetKind() != "RoleBinding" {
			continue
		}
		var b rbacv1.RoleBinding // same shape as ClusterRoleBinding for these fields
		g.Expect(runtime.DefaultUnstructuredConverter.FromUnstructured(o.Object, &b)).To(Succeed())
		for _, s := range b.Subjects {
			g.Expect(s.Kind).To(Equal("ServiceAccount"), "binding %s", b.Name)
			g.Expect(s.Name).To(Equal("gracefuldrain-controller-manager"))
			g.Expect(s.Namespace).To(Equal("gracefuldrain-system"))
		}
		bound = append(bound, o.GetKind()+"->"+b.RoleRef.Kind+"/"+b.RoleRef.Name)
	}
	sort.Strings(bound)
	g.Expect(bound).To(Equal([]string{
		"ClusterRoleBinding->ClusterRole/gracefuldrain-manager-role",
		"RoleBinding->Role/gracefuldrain-leader-election-role",
		"RoleBinding->Role/gracefuldrain-manager-role",
	}))
}

func isSubset(items, of []string) bool {
	for _, i := range items {
		if !slices.Contains(of, i) {
			return false
		}
	}
	return true
}

func kustomize(t *testing.T, dir string) []*unstructured.Unstructured {
	t.Helper()
	g := NewWithT(t)
	out, err := exec.Command(filepath.Join(os.Getenv("KUBEBUILDER_ASSETS"), "kubectl"), "kustomize", filepath.Join("..", "config", dir)).Output()
	g.Expect(err).NotTo(HaveOccurred())
	var objs []*unstructured.Unstructured
	for _, doc := range strings.Split(string(out), "\n---\n") {
		obj := &unstructured.Unstructured{}
		g.Expect(yaml.Unmarshal([]byte(doc), &obj.Object)).To(Succeed())
		if len(obj.Object) > 0 {
			objs = append(objs, obj)
		}
	}
	return objs
}

// TestInstallPassesRestrictedPodSecurity applies the install (`kubectl
// kustomize config/default`) with server-side dry-run into a fresh namespace
// labelled pod-security.kubernetes.io/enforce=restricted: every object is
// accepted, and the pod the manager Deployment creates (Pods are what the
// "enforce" level admits or refuses; for a Deployment it only warns) is
// admitted there by a dry-run create, while a pod that breaks the profile is
// refused, proving the level is in force.
func TestInstallPassesRestrictedPodSecurity(t *testing.T) {
	ctx := context.Background()
	g := NewWithT(t)
	ns := newNamespace(t, map[string]string{
		"pod-security.kubernetes.io/enforce": "restricted",
		"pod-security.kubernetes.io/warn":    "restricted",
		"pod-security.kubernetes.io/audit":   "restricted",
	})
	c := k8s

	applied := 0
	var managerPod *corev1.Pod
	for _, obj := range kustomize(t, "default") {
		if obj.GetNamespace() != "" {
			obj.SetNamespace(ns)
		}
		if obj.GetKind() == "Namespace" {
			continue // the test's own restricted namespace stands in for gracefuldrain-system
		}
		err := c.Patch(ctx, obj, client.Apply, client.FieldOwner("pss-test"), client.ForceOwnership, client.DryRunAll)
		g.Expect(err).NotTo(HaveOccurred(), "%s %s", obj.GetKind(), obj.GetName())
		applied++
		if obj.GetKind() == "Deployment" {
			var d appsv1.Deployment
			g.Expect(runtime.DefaultUnstructuredConverter.FromUnstructured(obj.Object, &d)).To(Succeed())
			managerPod = &corev1.Pod{
				ObjectMeta: metav1.ObjectMeta{GenerateName: "manager-", Namespace: ns, Labels: d.Spec.Template.Labels},
				Spec:       d.Spec.Template.Spec,
			}
		}
	}
	g.Expect(managerPod).NotTo(BeNil(), "the install has no Deployment")
	// The pod the Deployment would create, admitted by the restricted level.
	g.Expect(c.Create(ctx, managerPod, client.DryRunAll)).To(Succeed())

	rootPod := &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{GenerateName: "root-", Namespace: ns},
		Spec:       corev1.PodSpec{Containers: []corev1.Container{{Name: "c", Image: "busybox"}}},
	}
	err := c.Create(ctx, rootPod, client.DryRunAll)
	g.Expect(apierrors.IsForbidden(err)).To(BeTrue(), "restricted level not enforced: %v", err)
	t.Logf("PSS restricted: %d install objects accepted by server-side dry-run in %s, manager pod admitted", applied, ns)
}
