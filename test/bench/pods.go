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
	"hash/fnv"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"

	views "github.com/gracefuldrain/gracefuldrain/internal/workload"
)

// Running pods, as the workload controllers, the scheduler and the kubelet
// leave them. The bench has no controller-manager, Argo Rollouts controller or
// kubelet, so it writes them itself, with the same field managers, before the
// operator starts: a cluster with N workloads has their pods, and the pod
// cache is most of what a controller that watches pods holds in memory. Each
// kind's pods are owned as its controller owns them (a Deployment's and an
// Argo Rollout's through a ReplicaSet, a StatefulSet's and a DaemonSet's
// directly), with the labels it sets, and each workload gets the status its
// controller writes once its pods are ready (observed generation 1, every
// replica updated and available), so that the operator's rollout judgement
// (internal/rollout) reads what it would read in a cluster.

const (
	replicaSetManager = "kube-controller-manager"
	kubeletManager    = "kubelet"
	argoManager       = "rollouts-controller"
)

// createPods gives each workload of the fleet perWorkload running pods
// (created by its controller, status written by the kubelet), the
// ReplicaSet in between for the kinds that have one, and the workload's status.
func (f *fleet) createPods(ctx context.Context, c client.Client, workers, perWorkload int) error {
	var all []*workload
	for _, ns := range f.Namespaces {
		all = append(all, f.Workloads[ns.Name]...)
	}
	return parallel(ctx, workers, len(all), func(i int) error {
		w := all[i]
		var pods []*corev1.Pod
		switch w.Kind {
		case views.Deployment:
			d := w.Deployment
			hash := templateHash(d.Namespace, d.Name)
			rs := replicaSetFor(d, d.Spec.Template, d.Spec.Selector, hash, appsv1.DefaultDeploymentUniqueLabelKey, int32(perWorkload))
			if err := createReplicaSet(ctx, c, rs); err != nil {
				return err
			}
			for p := 0; p < perWorkload; p++ {
				pods = append(pods, podFor(&rs.Spec.Template, rs.Namespace, rs.Name+"-", ownedBy(rs, "apps/v1", "ReplicaSet"), i*perWorkload+p))
			}
		case views.StatefulSet:
			s := w.StatefulSet
			revision := s.Name + "-" + templateHash(s.Namespace, s.Name)
			for p := 0; p < perWorkload; p++ {
				name := fmt.Sprintf("%s-%d", s.Name, p)
				template := s.Spec.Template.DeepCopy()
				template.Labels = withLabel(template.Labels, appsv1.ControllerRevisionHashLabelKey, revision)
				template.Labels = withLabel(template.Labels, appsv1.StatefulSetPodNameLabel, name)
				template.Labels = withLabel(template.Labels, appsv1.PodIndexLabel, fmt.Sprint(p))
				pod := podFor(template, s.Namespace, "", ownedBy(s, "apps/v1", "StatefulSet"), i*perWorkload+p)
				pod.Name, pod.Spec.Hostname, pod.Spec.Subdomain = name, name, s.Spec.ServiceName
				pods = append(pods, pod)
			}
		case views.DaemonSet:
			ds := w.DaemonSet
			template := ds.Spec.Template.DeepCopy()
			template.Labels = withLabel(template.Labels, appsv1.ControllerRevisionHashLabelKey, templateHash(ds.Namespace, ds.Name))
			template.Labels = withLabel(template.Labels, "pod-template-generation", "1")
			for p := 0; p < perWorkload; p++ {
				pod := podFor(template, ds.Namespace, ds.Name+"-", ownedBy(ds, "apps/v1", "DaemonSet"), i*perWorkload+p)
				daemonPod(pod)
				pods = append(pods, pod)
			}
		case views.Rollout:
			r := w.Rollout
			view, err := views.OfRollout(r, nil)
			if err != nil {
				return err
			}
			hash := templateHash(r.GetNamespace(), r.GetName())
			rs := replicaSetFor(r, *view.Template, view.Selector, hash, views.RolloutPodTemplateHashLabel, int32(perWorkload))
			rs.Annotations = map[string]string{
				"rollout.argoproj.io/desired-replicas": fmt.Sprint(perWorkload),
				"rollout.argoproj.io/revision":         "1",
			}
			if err := createReplicaSet(ctx, c, rs, client.FieldOwner(argoManager)); err != nil {
				return err
			}
			for p := 0; p < perWorkload; p++ {
				pods = append(pods, podFor(&rs.Spec.Template, rs.Namespace, rs.Name+"-", ownedBy(rs, "apps/v1", "ReplicaSet"), i*perWorkload+p))
			}
		}
		for _, pod := range pods {
			if err := createRunningPod(ctx, c, pod); err != nil {
				return err
			}
		}
		return writeWorkloadStatus(ctx, c, w, int32(perWorkload))
	})
}

// createReplicaSet creates rs as its owner's controller does (the
// controller-manager unless an option says otherwise).
func createReplicaSet(ctx context.Context, c client.Client, rs *appsv1.ReplicaSet, opts ...client.CreateOption) error {
	if len(opts) == 0 {
		opts = []client.CreateOption{client.FieldOwner(replicaSetManager)}
	}
	if err := c.Create(ctx, rs, opts...); err != nil {
		return fmt.Errorf("creating ReplicaSet %s/%s: %w", rs.Namespace, rs.Name, err)
	}
	return nil
}

// createRunningPod creates the pod as its controller does and then writes
// the status the kubelet reports for a running, ready pod.
func createRunningPod(ctx context.Context, c client.Client, pod *corev1.Pod) error {
	status := pod.Status
	if err := c.Create(ctx, pod, client.FieldOwner(replicaSetManager)); err != nil {
		return fmt.Errorf("creating pod %s/%s%s: %w", pod.Namespace, pod.GenerateName, pod.Name, err)
	}
	pod.Status = status
	pod.Status.StartTime = &pod.CreationTimestamp
	for j := range pod.Status.Conditions {
		pod.Status.Conditions[j].LastTransitionTime = pod.CreationTimestamp
	}
	pod.Status.ContainerStatuses[0].State.Running.StartedAt = pod.CreationTimestamp
	if err := c.Status().Update(ctx, pod, client.FieldOwner(kubeletManager)); err != nil {
		return fmt.Errorf("writing the status of pod %s/%s: %w", pod.Namespace, pod.Name, err)
	}
	return nil
}

// writeWorkloadStatus writes what the workload's controller reports once
// every replica runs the current template and is available.
func writeWorkloadStatus(ctx context.Context, c client.Client, w *workload, replicas int32) error {
	now := metav1.Now()
	var err error
	switch w.Kind {
	case views.Deployment:
		d := w.Deployment
		d.Status = appsv1.DeploymentStatus{
			ObservedGeneration: d.Generation, Replicas: replicas, UpdatedReplicas: replicas, ReadyReplicas: replicas, AvailableReplicas: replicas,
			Conditions: []appsv1.DeploymentCondition{
				{Type: appsv1.DeploymentAvailable, Status: corev1.ConditionTrue, Reason: "MinimumReplicasAvailable", Message: "Deployment has minimum availability.", LastUpdateTime: now, LastTransitionTime: now},
				{Type: appsv1.DeploymentProgressing, Status: corev1.ConditionTrue, Reason: "NewReplicaSetAvailable",
					Message: fmt.Sprintf("ReplicaSet %q has successfully progressed.", d.Name+"-"+templateHash(d.Namespace, d.Name)), LastUpdateTime: now, LastTransitionTime: now},
			},
		}
		err = c.Status().Update(ctx, d, client.FieldOwner(replicaSetManager))
	case views.StatefulSet:
		s := w.StatefulSet
		revision := s.Name + "-" + templateHash(s.Namespace, s.Name)
		s.Status = appsv1.StatefulSetStatus{
			ObservedGeneration: s.Generation, Replicas: replicas, ReadyReplicas: replicas, CurrentReplicas: replicas,
			UpdatedReplicas: replicas, AvailableReplicas: replicas, CurrentRevision: revision, UpdateRevision: revision,
			CollisionCount: ptr.To[int32](0),
		}
		err = c.Status().Update(ctx, s, client.FieldOwner(replicaSetManager))
	case views.DaemonSet:
		ds := w.DaemonSet
		ds.Status = appsv1.DaemonSetStatus{
			ObservedGeneration: ds.Generation, CurrentNumberScheduled: replicas, DesiredNumberScheduled: replicas,
			NumberReady: replicas, UpdatedNumberScheduled: replicas, NumberAvailable: replicas,
		}
		err = c.Status().Update(ctx, ds, client.FieldOwner(replicaSetManager))
	case views.Rollout:
		r := w.Rollout
		hash := templateHash(r.GetNamespace(), r.GetName())
		steps, _, _ := unstructured.NestedSlice(r.Object, "spec", "strategy", "canary", "steps")
		condition := func(typ, reason, message string) map[string]any {
			return map[string]any{"type": typ, "status": "True", "reason": reason, "message": message,
				"lastUpdateTime": now.UTC().Format(time.RFC3339), "lastTransitionTime": now.UTC().Format(time.RFC3339)}
		}
		n := int64(replicas)
		r.Object["status"] = map[string]any{
			"observedGeneration": fmt.Sprint(r.GetGeneration()), "phase": "Healthy",
			"replicas": n, "updatedReplicas": n, "readyReplicas": n, "availableReplicas": n,
			"currentPodHash": hash, "stableRS": hash, "currentStepHash": hash, "currentStepIndex": int64(len(steps)),
			"selector": "app.kubernetes.io/name=" + r.GetName() + "," + views.RolloutPodTemplateHashLabel + "=" + hash,
			"canary":   map[string]any{},
			"conditions": []any{
				condition("Available", "AvailableReason", "Rollout has minimum availability"),
				condition("Completed", "RolloutCompleted", "Rollout completed update to revision 1 ("+hash+"): Initial deploy"),
				condition("Healthy", "RolloutHealthy", "Rollout is healthy"),
				condition("Progressing", "NewReplicaSetAvailable", "Rollout \""+r.GetName()+"\" has successfully progressed."),
			},
		}
		err = c.Status().Update(ctx, r, client.FieldOwner(argoManager))
	}
	if err != nil {
		return fmt.Errorf("writing the status of %s %s/%s: %w", w.Kind, w.object().GetNamespace(), w.object().GetName(), err)
	}
	return nil
}

// templateHash stands in for the hash of a workload's pod template that its
// controller puts into ReplicaSet names, revisions and pod labels.
func templateHash(namespace, name string) string {
	h := fnv.New32a()
	fmt.Fprintf(h, "%s/%s", namespace, name)
	return fmt.Sprintf("%08x", h.Sum32())[:8]
}

func ownedBy(owner client.Object, apiVersion, kind string) metav1.OwnerReference {
	return metav1.OwnerReference{
		APIVersion: apiVersion, Kind: kind, Name: owner.GetName(), UID: owner.GetUID(),
		Controller: ptr.To(true), BlockOwnerDeletion: ptr.To(true),
	}
}

// replicaSetFor is the ReplicaSet of owner (a Deployment or an Argo Rollout)
// for its template, with the template hash in hashLabel.
func replicaSetFor(owner client.Object, template corev1.PodTemplateSpec, selector *metav1.LabelSelector, hash, hashLabel string, replicas int32) *appsv1.ReplicaSet {
	template = *template.DeepCopy()
	template.Labels = withLabel(template.Labels, hashLabel, hash)
	selector = selector.DeepCopy()
	selector.MatchLabels = withLabel(selector.MatchLabels, hashLabel, hash)
	apiVersion, kind := "apps/v1", "Deployment"
	if gvk := owner.GetObjectKind().GroupVersionKind(); gvk.Kind == views.RolloutGVK.Kind {
		apiVersion, kind = gvk.GroupVersion().String(), gvk.Kind
	}
	return &appsv1.ReplicaSet{
		ObjectMeta: metav1.ObjectMeta{
			Name: owner.GetName() + "-" + hash, Namespace: owner.GetNamespace(), Labels: template.Labels,
			Annotations: map[string]string{
				"deployment.kubernetes.io/desired-replicas": fmt.Sprint(replicas),
				"deployment.kubernetes.io/max-replicas":     fmt.Sprint(replicas + 1),
				"deployment.kubernetes.io/revision":         "1",
			},
			OwnerReferences: []metav1.OwnerReference{ownedBy(owner, apiVersion, kind)},
		},
		Spec: appsv1.ReplicaSetSpec{Replicas: ptr.To(replicas), Selector: selector, Template: template},
	}
}

// daemonPod adds what the DaemonSet controller adds to its pods: an affinity
// to the pod's node and the tolerations that keep it there.
func daemonPod(pod *corev1.Pod) {
	pod.Spec.Affinity = &corev1.Affinity{NodeAffinity: &corev1.NodeAffinity{
		RequiredDuringSchedulingIgnoredDuringExecution: &corev1.NodeSelector{NodeSelectorTerms: []corev1.NodeSelectorTerm{{
			MatchFields: []corev1.NodeSelectorRequirement{{Key: "metadata.name", Operator: corev1.NodeSelectorOpIn, Values: []string{pod.Spec.NodeName}}},
		}}},
	}}
	for _, t := range []struct {
		key    string
		effect corev1.TaintEffect
	}{
		{"node.kubernetes.io/not-ready", corev1.TaintEffectNoExecute},
		{"node.kubernetes.io/unreachable", corev1.TaintEffectNoExecute},
		{"node.kubernetes.io/disk-pressure", corev1.TaintEffectNoSchedule},
		{"node.kubernetes.io/memory-pressure", corev1.TaintEffectNoSchedule},
		{"node.kubernetes.io/pid-pressure", corev1.TaintEffectNoSchedule},
		{"node.kubernetes.io/unschedulable", corev1.TaintEffectNoSchedule},
	} {
		pod.Spec.Tolerations = append(pod.Spec.Tolerations, corev1.Toleration{Key: t.key, Operator: corev1.TolerationOpExists, Effect: t.effect})
	}
}

// podFor is pod number i of the fleet, from template, owned by owner:
// scheduled to one of 50 nodes, Ready, with a pod IP of its own.
func podFor(template *corev1.PodTemplateSpec, namespace, generateName string, owner metav1.OwnerReference, i int) *corev1.Pod {
	spec := *template.Spec.DeepCopy()
	node := 10 + i%50
	hostIP := fmt.Sprintf("10.0.0.%d", node)
	spec.NodeName = fmt.Sprintf("ip-10-0-0-%d.ec2.internal", node)
	spec.ServiceAccountName = "default"
	podIP := fmt.Sprintf("10.%d.%d.%d", 64+i/65536%64, i/256%256, i%256)
	ready := []corev1.PodCondition{
		{Type: corev1.PodReadyToStartContainers, Status: corev1.ConditionTrue},
		{Type: corev1.PodInitialized, Status: corev1.ConditionTrue},
		{Type: corev1.PodReady, Status: corev1.ConditionTrue},
		{Type: corev1.ContainersReady, Status: corev1.ConditionTrue},
		{Type: corev1.PodScheduled, Status: corev1.ConditionTrue},
	}
	var statuses []corev1.ContainerStatus
	for _, c := range spec.Containers {
		statuses = append(statuses, corev1.ContainerStatus{
			Name: c.Name, Ready: true, Started: ptr.To(true), Image: c.Image,
			ImageID:     "public.ecr.aws/nginx/nginx@sha256:0d5b1e9a3d6b45c33bb7a2e1f5a0c43b2f4a1a4a51e7a1d1c6b1c9e5a3f2d4c1",
			ContainerID: fmt.Sprintf("containerd://%064x", i),
			State:       corev1.ContainerState{Running: &corev1.ContainerStateRunning{}},
		})
	}
	return &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{
			GenerateName: generateName, Namespace: namespace, Labels: template.Labels,
			OwnerReferences: []metav1.OwnerReference{owner},
		},
		Spec: spec,
		Status: corev1.PodStatus{
			Phase: corev1.PodRunning, Conditions: ready, QOSClass: corev1.PodQOSBurstable,
			HostIP: hostIP, HostIPs: []corev1.HostIP{{IP: hostIP}},
			PodIP: podIP, PodIPs: []corev1.PodIP{{IP: podIP}},
			ContainerStatuses: statuses,
		},
	}
}

func withLabel(labels map[string]string, key, value string) map[string]string {
	out := make(map[string]string, len(labels)+1)
	for k, v := range labels {
		out[k] = v
	}
	out[key] = value
	return out
}
