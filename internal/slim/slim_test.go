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

package slim

import (
	"slices"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/utils/ptr"

	"github.com/gracefuldrain/gracefuldrain/internal/fieldowners"
)

func TestKeepOwnManagedFields(t *testing.T) {
	tests := []struct {
		name    string
		entries []string
		want    []string
	}{
		{name: "none", entries: nil, want: nil},
		{name: "only others", entries: []string{"kubectl", "argocd"}, want: nil},
		{name: "own kept", entries: []string{"kubectl", "gracefuldrain", "kube-controller-manager"}, want: []string{"gracefuldrain"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			pod := &corev1.Pod{}
			for _, m := range tt.entries {
				pod.ManagedFields = append(pod.ManagedFields, metav1.ManagedFieldsEntry{Manager: m})
			}
			out, err := KeepOwnManagedFields("gracefuldrain")(pod)
			if err != nil {
				t.Fatal(err)
			}
			got := out.(*corev1.Pod).ManagedFields
			if len(got) != len(tt.want) {
				t.Fatalf("kept %v, want %v", got, tt.want)
			}
			for i := range got {
				if got[i].Manager != tt.want[i] {
					t.Fatalf("kept %v, want %v", got, tt.want)
				}
			}
		})
	}
	// Non-objects pass through untouched.
	if out, err := KeepOwnManagedFields("x")("tombstone"); err != nil || out != "tombstone" {
		t.Fatalf("non-object changed: %v %v", out, err)
	}
}

func TestPodKeepsOnlyWhatIsRead(t *testing.T) {
	now := metav1.Now()
	in := &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: "web-1", Namespace: "shop", Labels: map[string]string{"app": "web"},
			Annotations: map[string]string{"big": "x"}, DeletionTimestamp: &now,
			OwnerReferences: []metav1.OwnerReference{{Kind: "ReplicaSet", Name: "web-abc"}},
			ManagedFields:   []metav1.ManagedFieldsEntry{{Manager: "kubelet"}}},
		Spec: corev1.PodSpec{
			Containers:     []corev1.Container{{Name: "app", Image: "nginx", Env: []corev1.EnvVar{{Name: "A", Value: "B"}}}},
			ReadinessGates: []corev1.PodReadinessGate{{ConditionType: "target-health.elbv2.k8s.aws/tg"}},
		},
		Status: corev1.PodStatus{
			Phase: corev1.PodRunning,
			PodIP: "10.0.0.1",
			Conditions: []corev1.PodCondition{
				{Type: corev1.PodScheduled, Status: corev1.ConditionTrue},
				{Type: corev1.PodReady, Status: corev1.ConditionTrue, Message: "long"},
			},
			ContainerStatuses: []corev1.ContainerStatus{
				{Name: "app", RestartCount: 3, Image: "nginx", ImageID: "sha", LastTerminationState: corev1.ContainerState{
					Terminated: &corev1.ContainerStateTerminated{ExitCode: 137, Reason: "Error", Message: "long", ContainerID: "c1", FinishedAt: now}}},
				{Name: "sidecar", RestartCount: 0, Image: "envoy", State: corev1.ContainerState{Running: &corev1.ContainerStateRunning{}}},
			},
		},
	}
	out, _ := Pod(in)
	p := out.(*corev1.Pod)
	if p.Name != "web-1" || p.Labels["app"] != "web" || p.DeletionTimestamp == nil || len(p.OwnerReferences) != 1 {
		t.Fatalf("identity lost: %+v", p.ObjectMeta)
	}
	if len(p.Spec.ReadinessGates) != 1 || p.Status.Phase != corev1.PodRunning {
		t.Fatalf("read fields lost: %+v", p)
	}
	if c := p.Status.Conditions; len(c) != 1 || c[0].Type != corev1.PodReady || c[0].Status != corev1.ConditionTrue || c[0].Message != "" {
		t.Fatalf("want only the Ready condition's type and status: %+v", c)
	}
	cs := p.Status.ContainerStatuses
	if len(cs) != 1 || cs[0].Name != "app" || cs[0].RestartCount != 3 {
		t.Fatalf("want only the restarted container: %+v", cs)
	}
	if term := cs[0].LastTerminationState.Terminated; term.ExitCode != 137 || term.Reason != "Error" || !term.FinishedAt.Equal(&now) || term.Message != "" || term.ContainerID != "" {
		t.Fatalf("last termination: %+v", term)
	}
	if len(p.Spec.Containers) != 0 || p.Annotations != nil || p.ManagedFields != nil || p.Status.PodIP != "" || cs[0].Image != "" {
		t.Fatalf("unread fields kept: %+v", p)
	}
}

func TestDropManagedFields(t *testing.T) {
	gd := &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "x", ManagedFields: []metav1.ManagedFieldsEntry{{Manager: "gracefuldrain"}}}}
	if out, err := DropManagedFields(gd); err != nil || out.(*corev1.ConfigMap).ManagedFields != nil || gd.Name != "x" {
		t.Fatalf("managedFields kept: %v %v", out, err)
	}
	if out, err := DropManagedFields("tombstone"); err != nil || out != "tombstone" {
		t.Fatalf("non-object changed: %v %v", out, err)
	}
}

func TestDropUnread(t *testing.T) {
	annotations := func() map[string]string {
		return map[string]string{LastAppliedAnnotation: "{...}", "gracefuldrain.io/prestop-seconds": "70", "meta.helm.sh/release-name": "shop"}
	}
	labels := func() map[string]string { return map[string]string{"app.kubernetes.io/part-of": "shop"} }
	d := &appsv1.Deployment{ObjectMeta: metav1.ObjectMeta{Labels: labels(), Annotations: annotations()}}
	d.Spec.Selector = &metav1.LabelSelector{MatchLabels: map[string]string{"app": "web"}}
	d.Spec.Template.Labels = map[string]string{"app": "web"}
	d.Spec.Template.Annotations = map[string]string{"kubectl.kubernetes.io/restartedAt": "2026-11-30T10:00:00Z"}
	d.Spec.Template.Spec.Volumes = []corev1.Volume{{Name: "data"}}
	d.Spec.Template.Spec.Containers = []corev1.Container{{
		Name: "app", Image: "nginx", Env: []corev1.EnvVar{{Name: "A"}}, Command: []string{"run"},
		Resources:      corev1.ResourceRequirements{Limits: corev1.ResourceList{corev1.ResourceMemory: resource.MustParse("1Gi")}},
		Ports:          []corev1.ContainerPort{{Name: "http", ContainerPort: 80}},
		Lifecycle:      &corev1.Lifecycle{PreStop: &corev1.LifecycleHandler{Sleep: &corev1.SleepAction{Seconds: 5}}},
		ReadinessProbe: &corev1.Probe{}, LivenessProbe: &corev1.Probe{}, StartupProbe: &corev1.Probe{},
	}}
	d.Spec.Template.Spec.InitContainers = []corev1.Container{{Name: "proxy", Image: "envoy", RestartPolicy: ptr.To(corev1.ContainerRestartPolicyAlways)}}
	d.Spec.Template.Spec.TerminationGracePeriodSeconds = ptr.To[int64](70)
	d.Spec.Template.Spec.Affinity = &corev1.Affinity{}
	d.Spec.Template.Spec.Tolerations = []corev1.Toleration{{Key: "spot"}}
	before := d.Spec.Template.DeepCopy()
	if _, err := DropUnread(d); err != nil {
		t.Fatal(err)
	}
	c := d.Spec.Template.Spec.Containers[0]
	// Of the workload's own metadata only the operator's annotations stay;
	// of its template, the labels (Services select them); the selector stays.
	if len(d.Annotations) != 1 || d.Annotations["gracefuldrain.io/prestop-seconds"] != "70" || d.Labels != nil {
		t.Fatalf("workload metadata: labels %v, annotations %v", d.Labels, d.Annotations)
	}
	if d.Spec.Template.Annotations != nil || d.Spec.Selector.MatchLabels["app"] != "web" {
		t.Fatalf("template annotations %v, selector %v", d.Spec.Template.Annotations, d.Spec.Selector)
	}
	spec := d.Spec.Template.Spec
	if c.Env != nil || c.Command != nil || c.Image != "" || c.Resources.Limits != nil || spec.Volumes != nil || spec.Affinity != nil || spec.Tolerations != nil {
		t.Fatalf("unread fields kept: %+v", spec)
	}
	if c.Name != "app" || len(c.Ports) != 1 || c.Lifecycle == nil || c.ReadinessProbe == nil || c.LivenessProbe == nil || c.StartupProbe == nil ||
		d.Spec.Template.Labels["app"] != "web" || *spec.TerminationGracePeriodSeconds != 70 {
		t.Fatalf("read fields lost: %+v", spec)
	}
	if ic := spec.InitContainers; len(ic) != 1 || ic[0].Name != "proxy" || ic[0].RestartPolicy == nil || ic[0].Image != "" {
		t.Fatalf("init containers: %+v", ic)
	}

	// StatefulSets and DaemonSets keep the same part of their template.
	sts := &appsv1.StatefulSet{ObjectMeta: metav1.ObjectMeta{Labels: labels(), Annotations: annotations()},
		Spec: appsv1.StatefulSetSpec{Template: *before.DeepCopy(), ServiceName: "web"}}
	ds := &appsv1.DaemonSet{ObjectMeta: metav1.ObjectMeta{Labels: labels(), Annotations: annotations()},
		Spec: appsv1.DaemonSetSpec{Template: *before.DeepCopy()}}
	_, _ = DropUnread(sts)
	_, _ = DropUnread(ds)
	for kind, got := range map[string]metav1.Object{"StatefulSet": sts, "DaemonSet": ds} {
		if !equality.Semantic.DeepEqual(got.GetAnnotations(), d.Annotations) || got.GetLabels() != nil {
			t.Errorf("%s metadata: labels %v, annotations %v, want the Deployment's", kind, got.GetLabels(), got.GetAnnotations())
		}
	}
	for kind, got := range map[string]corev1.PodTemplateSpec{"StatefulSet": sts.Spec.Template, "DaemonSet": ds.Spec.Template} {
		if !equality.Semantic.DeepEqual(got, d.Spec.Template) {
			t.Errorf("%s template %+v, want the Deployment's %+v", kind, got, d.Spec.Template)
		}
	}
	if sts.Spec.ServiceName != "web" {
		t.Errorf("StatefulSet spec outside the template lost: %+v", sts.Spec)
	}

	// An Argo Rollout, cached unstructured, keeps the same part of its
	// template, and all of its spec outside the template.
	template, err := runtime.DefaultUnstructuredConverter.ToUnstructured(before)
	if err != nil {
		t.Fatal(err)
	}
	rollout := &unstructured.Unstructured{Object: map[string]any{
		"apiVersion": "argoproj.io/v1alpha1", "kind": "Rollout",
		"metadata": map[string]any{"name": "web", "namespace": "shop",
			"labels":      map[string]any{"app.kubernetes.io/part-of": "shop"},
			"annotations": map[string]any{"gracefuldrain.io/prestop-seconds": "70", "rollout.argoproj.io/revision": "3"}},
		"spec": map[string]any{"template": template, "strategy": map[string]any{"canary": map[string]any{"canaryService": "web-canary"}}},
	}}
	_, _ = DropUnread(rollout)
	if !equality.Semantic.DeepEqual(rollout.GetAnnotations(), d.Annotations) || rollout.GetLabels() != nil {
		t.Errorf("Rollout metadata: labels %v, annotations %v, want the Deployment's", rollout.GetLabels(), rollout.GetAnnotations())
	}
	raw, _, _ := unstructured.NestedMap(rollout.Object, "spec", "template")
	var got corev1.PodTemplateSpec
	if err := runtime.DefaultUnstructuredConverter.FromUnstructured(raw, &got); err != nil {
		t.Fatal(err)
	}
	if !equality.Semantic.DeepEqual(got, d.Spec.Template) {
		t.Errorf("Rollout template %+v, want the Deployment's %+v", got, d.Spec.Template)
	}
	if canary, _, _ := unstructured.NestedString(rollout.Object, "spec", "strategy", "canary", "canaryService"); canary != "web-canary" {
		t.Errorf("Rollout spec outside the template lost: %v", rollout.Object["spec"])
	}
	other := &unstructured.Unstructured{Object: map[string]any{
		"apiVersion": "example.com/v1", "kind": "Rollout", "spec": map[string]any{"template": map[string]any{"spec": map[string]any{"image": "kept"}}},
	}}
	_, _ = DropUnread(other)
	if image, _, _ := unstructured.NestedString(other.Object, "spec", "template", "spec", "image"); image != "kept" {
		t.Errorf("another group's Rollout changed: %v", other.Object)
	}

	// Services and Ingresses keep every annotation (the load balancer's
	// settings are annotations) but kubectl's copy, and drop their labels.
	svc := &corev1.Service{ObjectMeta: metav1.ObjectMeta{Labels: labels(), Annotations: annotations()},
		Spec:   corev1.ServiceSpec{Selector: map[string]string{"app": "web"}},
		Status: corev1.ServiceStatus{LoadBalancer: corev1.LoadBalancerStatus{Ingress: []corev1.LoadBalancerIngress{{Hostname: "x"}}}}}
	_, _ = DropUnread(svc)
	if len(svc.Status.LoadBalancer.Ingress) != 0 || svc.Spec.Selector["app"] != "web" || len(svc.Annotations) != 2 || svc.Labels != nil {
		t.Fatalf("service: %+v", svc)
	}
	ing := &networkingv1.Ingress{ObjectMeta: metav1.ObjectMeta{Labels: labels(), Annotations: annotations()},
		Status: networkingv1.IngressStatus{LoadBalancer: networkingv1.IngressLoadBalancerStatus{Ingress: []networkingv1.IngressLoadBalancerIngress{{Hostname: "x"}}}}}
	_, _ = DropUnread(ing)
	if len(ing.Status.LoadBalancer.Ingress) != 0 || len(ing.Annotations) != 2 || ing.Labels != nil {
		t.Fatalf("ingress: %+v", ing)
	}
	class := &networkingv1.IngressClass{ObjectMeta: metav1.ObjectMeta{Labels: labels(),
		Annotations: map[string]string{networkingv1.AnnotationIsDefaultIngressClass: "true"}}}
	_, _ = DropUnread(class)
	if class.Labels != nil || class.Annotations[networkingv1.AnnotationIsDefaultIngressClass] != "true" {
		t.Fatalf("ingress class: %+v", class)
	}
	ns := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Labels: map[string]string{"gracefuldrain.io/mode": "enforce"}},
		Spec: corev1.NamespaceSpec{Finalizers: []corev1.FinalizerName{"kubernetes"}}}
	_, _ = DropUnread(ns)
	if ns.Spec.Finalizers != nil || ns.Labels["gracefuldrain.io/mode"] != "enforce" {
		t.Fatalf("namespace: %+v", ns)
	}
	if out, err := Chain(DropUnread, KeepOwnManagedFields("x"))("not an object"); err != nil || out != "not an object" {
		t.Fatalf("non-objects pass through: %v %v", out, err)
	}
}

func TestKeepManagedFieldsOwning(t *testing.T) {
	const gate = "elbv2.k8s.aws/pod-readiness-gate-inject"
	labels := func(key string) *metav1.FieldsV1 {
		return &metav1.FieldsV1{Raw: []byte(`{"f:metadata":{"f:labels":{"f:` + key + `":{}}}}`)}
	}
	ns := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{ManagedFields: []metav1.ManagedFieldsEntry{
		{Manager: "kubectl-create", FieldsV1: labels("team")},
		{Manager: "kubectl-label", FieldsV1: labels(gate)},
		{Manager: "helm", FieldsV1: labels(gate + "-legacy")}, // another label that starts the same
		{Manager: "gracefuldrain", FieldsV1: labels("other")},
	}}}
	out, err := KeepManagedFieldsOwning("gracefuldrain", fieldowners.Label(gate))(ns)
	if err != nil {
		t.Fatal(err)
	}
	var kept []string
	for _, e := range out.(*corev1.Namespace).ManagedFields {
		kept = append(kept, e.Manager)
	}
	if want := []string{"kubectl-label", "gracefuldrain"}; !slices.Equal(kept, want) {
		t.Fatalf("kept %v, want %v", kept, want)
	}
}

func TestNode(t *testing.T) {
	n := &corev1.Node{
		ObjectMeta: metav1.ObjectMeta{Name: "ip-10-0-1-7", Labels: map[string]string{"topology.kubernetes.io/zone": "eu-west-1a"}},
		Status: corev1.NodeStatus{
			NodeInfo: corev1.NodeSystemInfo{KubeletVersion: "v1.31.3-eks-59bf375", OSImage: "Bottlerocket"},
			Images:   []corev1.ContainerImage{{Names: []string{"public.ecr.aws/nginx/nginx:1.27"}, SizeBytes: 70 << 20}},
		},
	}
	out, err := Node(n)
	if err != nil {
		t.Fatal(err)
	}
	got := out.(*corev1.Node)
	if got.Name != n.Name || got.Status.NodeInfo.KubeletVersion != "v1.31.3-eks-59bf375" {
		t.Fatalf("lost what the sleep method reads: %+v", got)
	}
	if len(got.Status.Images) != 0 || got.Labels != nil || got.Status.NodeInfo.OSImage != "" {
		t.Fatalf("kept what nothing reads: %+v", got)
	}
}
