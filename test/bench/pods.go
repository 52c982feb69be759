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

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"
)

// Running pods, as the ReplicaSet controller, the scheduler and the kubelet
// leave them. The bench has no controller-manager or kubelet, so it writes
// them itself, with the same field managers, before the operator starts: a
// cluster with N Deployments has their pods, and the pod cache is most of
// what a controller that watches pods holds in memory.

const (
	replicaSetManager = "kube-controller-manager"
	kubeletManager    = "kubelet"
)

// createPods gives each Deployment of the fleet a ReplicaSet and perReplicaSet
// running pods (created by the controller-manager, status written by the kubelet).
func (f *fleet) createPods(ctx context.Context, c client.Client, workers, perReplicaSet int) error {
	var deploys []*appsv1.Deployment
	for _, ns := range f.Namespaces {
		for _, w := range f.Workloads[ns.Name] {
			deploys = append(deploys, w.Deployment)
		}
	}
	return parallel(ctx, workers, len(deploys), func(i int) error {
		d := deploys[i]
		rs := replicaSetFor(d, int32(perReplicaSet))
		if err := c.Create(ctx, rs, client.FieldOwner(replicaSetManager)); err != nil {
			return fmt.Errorf("creating ReplicaSet %s/%s: %w", rs.Namespace, rs.Name, err)
		}
		for p := 0; p < perReplicaSet; p++ {
			pod := podFor(rs, i*perReplicaSet+p)
			status := pod.Status
			if err := c.Create(ctx, pod, client.FieldOwner(replicaSetManager)); err != nil {
				return fmt.Errorf("creating a pod of %s/%s: %w", rs.Namespace, rs.Name, err)
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
		}
		return nil
	})
}

func templateHash(d *appsv1.Deployment) string {
	h := fnv.New32a()
	fmt.Fprintf(h, "%s/%s", d.Namespace, d.Name)
	return fmt.Sprintf("%08x", h.Sum32())[:8]
}

func replicaSetFor(d *appsv1.Deployment, replicas int32) *appsv1.ReplicaSet {
	hash := templateHash(d)
	template := *d.Spec.Template.DeepCopy()
	template.Labels = withLabel(template.Labels, appsv1.DefaultDeploymentUniqueLabelKey, hash)
	selector := d.Spec.Selector.DeepCopy()
	selector.MatchLabels = withLabel(selector.MatchLabels, appsv1.DefaultDeploymentUniqueLabelKey, hash)
	return &appsv1.ReplicaSet{
		ObjectMeta: metav1.ObjectMeta{
			Name: d.Name + "-" + hash, Namespace: d.Namespace, Labels: template.Labels,
			Annotations: map[string]string{
				"deployment.kubernetes.io/desired-replicas": fmt.Sprint(replicas),
				"deployment.kubernetes.io/max-replicas":     fmt.Sprint(replicas + 1),
				"deployment.kubernetes.io/revision":         "1",
			},
			OwnerReferences: []metav1.OwnerReference{{
				APIVersion: "apps/v1", Kind: "Deployment", Name: d.Name, UID: d.UID,
				Controller: ptr.To(true), BlockOwnerDeletion: ptr.To(true),
			}},
		},
		Spec: appsv1.ReplicaSetSpec{Replicas: ptr.To(replicas), Selector: selector, Template: template},
	}
}

// podFor is pod number i of the fleet: scheduled to one of 50 nodes, Ready,
// with a pod IP of its own.
func podFor(rs *appsv1.ReplicaSet, i int) *corev1.Pod {
	spec := *rs.Spec.Template.Spec.DeepCopy()
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
			GenerateName: rs.Name + "-", Namespace: rs.Namespace, Labels: rs.Spec.Template.Labels,
			OwnerReferences: []metav1.OwnerReference{{
				APIVersion: "apps/v1", Kind: "ReplicaSet", Name: rs.Name, UID: rs.UID,
				Controller: ptr.To(true), BlockOwnerDeletion: ptr.To(true),
			}},
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
