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

package plan

import (
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"

	gdv1 "github.com/gracefuldrain/gracefuldrain/api/v1alpha1"
	"github.com/gracefuldrain/gracefuldrain/internal/awslb"
	"github.com/gracefuldrain/gracefuldrain/internal/discovery"
	"github.com/gracefuldrain/gracefuldrain/internal/testsupport"
)

// seed000 is the Deployment of field report 000: nginx, one container port
// 80, behind an ALB Ingress with target-type ip.
func seed000() *appsv1.Deployment {
	replicas := int32(10)
	quarter := intstr.FromString("25%")
	labels := map[string]string{"app": "demo-nginx"}
	return &appsv1.Deployment{
		ObjectMeta: metav1.ObjectMeta{Name: "demo-nginx-deployment", Namespace: "demo-nginx"},
		Spec: appsv1.DeploymentSpec{
			Replicas: &replicas,
			Selector: &metav1.LabelSelector{MatchLabels: labels},
			Strategy: appsv1.DeploymentStrategy{
				Type:          appsv1.RollingUpdateDeploymentStrategyType,
				RollingUpdate: &appsv1.RollingUpdateDeployment{MaxSurge: &quarter, MaxUnavailable: &quarter},
			},
			Template: corev1.PodTemplateSpec{
				ObjectMeta: metav1.ObjectMeta{Labels: map[string]string{"app": "demo-nginx", "role": "backend"}},
				Spec: corev1.PodSpec{Containers: []corev1.Container{{
					Name:            "demo-nginx",
					Image:           "nginx:latest",
					ImagePullPolicy: corev1.PullAlways,
					Ports:           []corev1.ContainerPort{{ContainerPort: 80}},
				}}},
			},
		},
	}
}

// seed000Attachment is what discovery finds for seed 000: the ALB health
// check defaults (HTTP "/", traffic-port, every 15 s, timeout 5 s, 2 and 2).
func seed000Attachment() discovery.Attachment {
	return albIP("demo-nginx", 80)
}

// deployment is a Deployment named web in shop with the given containers.
func deployment(containers ...corev1.Container) *appsv1.Deployment {
	return testsupport.Deployment("shop", "web", map[string]string{"app": "web"}, containers...)
}

// container declares unnamed ports.
func container(name string, ports ...int32) corev1.Container {
	c := testsupport.Container(name)
	for _, p := range ports {
		c.Ports = append(c.Ports, corev1.ContainerPort{ContainerPort: p})
	}
	return c
}

func withPreStop(c corev1.Container, h *corev1.LifecycleHandler) corev1.Container {
	c.Lifecycle = &corev1.Lifecycle{PreStop: h}
	return c
}

func withProbe(c corev1.Container, p *corev1.Probe) corev1.Container {
	c.ReadinessProbe = p
	return c
}

func withGrace(d *appsv1.Deployment, seconds int64) *appsv1.Deployment {
	d.Spec.Template.Spec.TerminationGracePeriodSeconds = &seconds
	return d
}

func nativeSleep(n int64) *corev1.LifecycleHandler {
	return &corev1.LifecycleHandler{Sleep: &corev1.SleepAction{Seconds: n}}
}

func execHook(cmd ...string) *corev1.LifecycleHandler {
	return &corev1.LifecycleHandler{Exec: &corev1.ExecAction{Command: cmd}}
}

func httpHook(port int, path string) *corev1.LifecycleHandler {
	return &corev1.LifecycleHandler{HTTPGet: &corev1.HTTPGetAction{Path: path, Port: intstr.FromInt(port)}}
}

func albHealthCheck() gdv1.HealthCheck {
	return gdv1.HealthCheck{
		Protocol: awslb.ProtocolHTTP, Path: "/", Port: awslb.TrafficPort,
		IntervalSeconds: 15, TimeoutSeconds: 5, HealthyThreshold: 2, UnhealthyThreshold: 2, SuccessCodes: "200",
	}
}

func nlbHealthCheck() gdv1.HealthCheck {
	return gdv1.HealthCheck{
		Protocol: awslb.ProtocolTCP, Port: awslb.TrafficPort,
		IntervalSeconds: 10, TimeoutSeconds: 10, HealthyThreshold: 3, UnhealthyThreshold: 3,
	}
}

func albIP(container string, port int32) discovery.Attachment {
	return discovery.Attachment{
		LoadBalancer: discovery.ALB, SourceKind: discovery.SourceIngress, SourceName: "web",
		ServiceName: "web", ServicePort: "80", TargetType: discovery.TargetIP,
		HealthCheck: albHealthCheck(), DeregistrationDelaySeconds: 300,
		Container: container, ContainerPort: port,
	}
}

func albInstance(container string, port int32) discovery.Attachment {
	a := albIP(container, port)
	a.TargetType = discovery.TargetInstance
	return a
}

func nlbIP(container string, port int32) discovery.Attachment {
	return discovery.Attachment{
		LoadBalancer: discovery.NLB, SourceKind: discovery.SourceService, SourceName: "web-nlb",
		ServiceName: "web-nlb", ServicePort: "443", TargetType: discovery.TargetIP,
		HealthCheck: nlbHealthCheck(), DeregistrationDelaySeconds: 300,
		Container: container, ContainerPort: port,
	}
}

func nlbInstance(container string, port int32) discovery.Attachment {
	a := nlbIP(container, port)
	a.TargetType = discovery.TargetInstance
	return a
}

func withHealthCheck(a discovery.Attachment, f func(*gdv1.HealthCheck)) discovery.Attachment {
	f(&a.HealthCheck)
	return a
}

// operatorOwns is a managedFields entry of the operator's apply owning the
// given FieldsV1 document.
func operatorOwns(fieldsV1 string) metav1.ManagedFieldsEntry {
	return managedBy(FieldManager, metav1.ManagedFieldsOperationApply, fieldsV1)
}

func managedBy(manager string, op metav1.ManagedFieldsOperationType, fieldsV1 string) metav1.ManagedFieldsEntry {
	return metav1.ManagedFieldsEntry{
		Manager: manager, Operation: op, APIVersion: "apps/v1", FieldsType: "FieldsV1",
		FieldsV1: &metav1.FieldsV1{Raw: []byte(fieldsV1)},
	}
}

// containerFields is FieldsV1 owning the given fields of one container.
func containerFields(name, fields string) string {
	return `{"f:spec":{"f:template":{"f:spec":{"f:containers":{"k:{\"name\":\"` + name + `\"}":{".":{},"f:name":{},` + fields + `}}}}}}`
}

const (
	ownedSleepFields = `"f:lifecycle":{"f:preStop":{"f:sleep":{"f:seconds":{}}}}`
	ownedExecFields  = `"f:lifecycle":{"f:preStop":{"f:exec":{"f:command":{}}}}`
	ownedProbeFields = `"f:readinessProbe":{"f:failureThreshold":{},"f:httpGet":{"f:path":{},"f:port":{},"f:scheme":{}},"f:periodSeconds":{},"f:successThreshold":{},"f:timeoutSeconds":{}}`
)

// ruleSettings are the settings the rule tables are written against: the
// first defaults (ALB ip 40 s, NLB ip 90 s, instance 10 s), pinned so that
// the tables test the rules, not the defaults, which move with the evidence
// (TestDefaultsFromTheEvidence).
func ruleSettings() Defaults {
	d := DefaultSettings()
	d.ALBIPPreStopSeconds, d.NLBIPPreStopSeconds, d.InstancePreStopSeconds = 40, 90, 10
	return d
}
