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

package e2e

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/go-logr/logr"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/dynamic"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"
	"k8s.io/klog/v2"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/envtest"
	"sigs.k8s.io/yaml"

	"github.com/gracefuldrain/gracefuldrain/test/localinstall"
)

const (
	// SeedFile is field report 000's manifest, as the report wrote it.
	SeedFile       = "config/samples/seed000-nginx-demo.yaml"
	deploymentName = "demo-nginx-deployment"
	serviceName    = "service-demo-nginx"
	ingressName    = "ingress-nginx"
	containerName  = "demo-nginx"
	replicas       = 10
	// managerUser is the operator's identity in a cluster (config/default's ServiceAccount): the
	// webhook's matchConditions leave its own writes out by this name, so it runs as it.
	managerUser = "system:serviceaccount:gracefuldrain-system:gracefuldrain-controller-manager"
)

// TargetType is a way of putting seed 000 behind an AWS load balancer.
type TargetType string

// The target types the e2e and the drain curve cover.
const (
	ALBIP       TargetType = "alb-ip"       // the seed as written: ALB Ingress, target-type ip
	ALBInstance TargetType = "alb-instance" // ALB Ingress, target-type instance, the Service a NodePort
	NLBIP       TargetType = "nlb-ip"       // the Service an NLB (AWS Load Balancer Controller), nlb-target-type ip
)

// Env is a control plane with the simulated node, AWS Load Balancer
// Controller and kube-proxy, and the operator (bin/manager, its own process,
// default timings, its admission webhook registered as config/webhook
// registers it).
type Env struct {
	CP        *ControlPlane
	P         Params
	LBC       *LBController
	Kubelet   *Kubelet
	KubeProxy *KubeProxy
	Timelines *Timelines
	Dyn       dynamic.Interface
	RepoRoot  string
	Kubectl   string
	// Logf reports progress (a test's t.Logf, or the demo's printer).
	Logf func(format string, args ...any)
}

// Owns says which namespaces the simulation acts in: those the scenarios make.
func Owns(ns string) bool { return strings.HasPrefix(ns, "e2e-") || strings.HasPrefix(ns, "demo-") }

// StartEnv starts everything: etcd, kube-apiserver and kube-controller-manager
// (KUBEBUILDER_ASSETS), the simulated kubelet, AWS controller (with its pod
// webhook) and kube-proxy, and the operator with its webhook. dir keeps logs
// and kubeconfigs. Stop it with Env.Stop.
func StartEnv(ctx context.Context, repoRoot, dir string, P Params, logf func(string, ...any)) (*Env, error) {
	// client-go logs every request a context cancels (a pod worker stopping mid-patch): not news here.
	klog.SetLogger(logr.Discard())
	manager := filepath.Join(repoRoot, "bin", "manager")
	if _, err := os.Stat(manager); err != nil {
		return nil, fmt.Errorf("the operator binary is missing (make build): %w", err)
	}
	cp, err := StartControlPlane(repoRoot, dir, PodWebhookConfiguration())
	if err != nil {
		return nil, err
	}
	e := &Env{CP: cp, P: P, Timelines: NewTimelines(), RepoRoot: repoRoot, Kubectl: filepath.Join(os.Getenv("KUBEBUILDER_ASSETS"), "kubectl"), Logf: logf}
	if err := e.start(ctx, manager, dir); err != nil {
		cp.Stop()
		return nil, err
	}
	return e, nil
}

func (e *Env) start(ctx context.Context, manager, dir string) error {
	cp := e.CP
	if err := e.Timelines.WatchEndpoints(ctx, cp.Client, Owns); err != nil {
		return err
	}
	e.LBC = &LBController{Client: cp.Client, Owns: Owns, P: e.P, Timelines: e.Timelines}
	if err := e.LBC.Start(ctx); err != nil {
		return err
	}
	wh := cp.Env.WebhookInstallOptions
	if err := e.LBC.ServeWebhook(ctx, net.JoinHostPort(wh.LocalServingHost, fmt.Sprint(wh.LocalServingPort)), wh.LocalServingCertDir); err != nil {
		return err
	}
	e.Kubelet = &Kubelet{Client: cp.Client, Node: "sim-node", Owns: Owns, P: e.P, Timelines: e.Timelines}
	if err := e.Kubelet.CreateNode(ctx); err != nil {
		return err
	}
	go e.Kubelet.Run(ctx)
	e.KubeProxy = &KubeProxy{Client: cp.Client, Owns: Owns, P: e.P, Timelines: e.Timelines}
	if err := e.KubeProxy.Start(ctx); err != nil {
		return err
	}
	dyn, err := dynamic.NewForConfig(cp.Config)
	if err != nil {
		return err
	}
	e.Dyn = dyn

	// The operator as it ships: its own process, default timings, the install's webhook.
	scheme := runtime.NewScheme()
	if err := clientgoscheme.AddToScheme(scheme); err != nil {
		return err
	}
	c, err := client.New(cp.Config, client.Options{Scheme: scheme})
	if err != nil {
		return err
	}
	port, err := freePort()
	if err != nil {
		return err
	}
	flags, err := localinstall.Webhook(ctx, c, e.RepoRoot, e.Kubectl, port, filepath.Join(dir, "webhook-certs"))
	if err != nil {
		return err
	}
	user, err := cp.Env.AddUser(envtest.User{Name: managerUser, Groups: []string{"system:masters"}}, nil)
	if err != nil {
		return err
	}
	kc, err := user.KubeConfig()
	if err != nil {
		return err
	}
	managerKubeconfig := filepath.Join(dir, "manager.kubeconfig")
	if err := os.WriteFile(managerKubeconfig, kc, 0o600); err != nil {
		return err
	}
	args := append([]string{"--kubeconfig", managerKubeconfig, "--metrics-bind-address=0", "--health-probe-bind-address=0"}, flags...)
	if err := cp.Spawn("manager", manager, args...); err != nil {
		return err
	}
	// The manager injects its CA into the webhook configuration once it serves.
	return WaitFor(ctx, "the operator's webhook has its CA", 2*time.Minute, 200*time.Millisecond, func() (bool, error) {
		cfg, err := cp.Client.AdmissionregistrationV1().MutatingWebhookConfigurations().Get(ctx, localinstall.Configuration, metav1.GetOptions{})
		if err != nil {
			return false, err
		}
		return len(cfg.Webhooks) > 0 && len(cfg.Webhooks[0].ClientConfig.CABundle) > 0, nil
	})
}

// Stop ends everything StartEnv started.
func (e *Env) Stop() { e.CP.Stop() }

// SimulationErrors is what went wrong inside the simulated parts (not in the traffic).
func (e *Env) SimulationErrors() []string {
	return append(e.Kubelet.Errors(), e.LBC.Errors()...)
}

func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

// Scenario is seed 000 behind a load balancer, its image changed under load.
type Scenario struct {
	Name     string // the namespace is e2e-<Name> unless NS says otherwise
	NS       string
	Target   TargetType
	Operator bool // the namespace is labelled gracefuldrain.io/mode=enforce
	// PreStop, when not 0, is the Deployment's gracefuldrain.io/prestop-seconds (the drain curve).
	PreStop  int
	Rollouts int
	// Helm: the manifest sets terminationGracePeriodSeconds: 30 (as many charts do), is installed with
	// `kubectl apply` in Helm's order (Service, Deployment, Ingress) and upgraded with `kubectl apply`
	// (client-side, as Helm does) of the same manifest with a new image. Otherwise the load balancer
	// objects are created first, then the Deployment (an app whose load balancer exists), and the image
	// is changed as `kubectl set image` does.
	Helm bool
	// Kind is the workload seed 000's pod template runs as: a Deployment (the default, the seed as
	// written), a StatefulSet or an Argo Rollout (kinds.go). Helm is for Deployments only.
	Kind Kind
}

// Namespace is where the scenario runs.
func (sc Scenario) Namespace() string {
	if sc.NS != "" {
		return sc.NS
	}
	return "e2e-" + sc.Name
}

// AttributedFailure is a failed request and its cause.
type AttributedFailure struct {
	Failure
	Cause Cause
}

// Revisions is a Deployment's generation and ReplicaSet count.
type Revisions struct {
	Generation  int64
	ReplicaSets int
}

// RunResult is one scenario: its rollouts, every answer, every failure with its cause.
type RunResult struct {
	Scenario Scenario
	Rollouts []RolloutResult
	Answers  []Answer
	Failures []AttributedFailure
	Causes   map[Cause]int // failures by cause, plus CauseClient for non-2xx no load balancer recorded
	// PlannedPreStop is the preStop the GracefulDrain's plan states (model time); 0 without the operator.
	PlannedPreStop time.Duration
	// Lateness is, per pod deleted during the run, deletion -> the load balancer's stop (model time);
	// KubeletLag deletion -> the simulated kubelet seeing it (how far behind this busy process was).
	Lateness, KubeletLag []time.Duration
	Install, Final       Revisions // before the first image change, and at the end
	Rate                 float64   // requests per wall second
	Panel                ChartPanel
	// Late lists the pods the load balancer sent requests to after their planned preStop, with what
	// took the time.
	Late []LatePod
	// Problems are checks of the run that failed (wrong pods, extra rollouts, missing plan).
	Problems []string
}

// LatePod is a pod the load balancer still sent new requests (connections) to after its preStop:
// when its endpoint turned terminating, its target was deregistered and the data plane stopped,
// all in model time from its deletion.
type LatePod struct {
	Pod                             string
	PreStop                         time.Duration
	Endpoint, Deregistered, Stopped time.Duration
	KubeletLag                      time.Duration
	Errors                          int
}

// LateLine prints a late pod.
func (l LatePod) LateLine(scenario string) string {
	return fmt.Sprintf("LATE scenario=%s pod=%s prestop_s=%.0f endpoint_terminating_s=%.1f deregistered_s=%.1f lb_stopped_s=%.1f errors=%d",
		scenario, l.Pod, l.PreStop.Seconds(), l.Endpoint.Seconds(), l.Deregistered.Seconds(), l.Stopped.Seconds(), l.Errors)
}

// Errors is the number of non-2xx answers.
func (r *RunResult) Errors() int {
	n := 0
	for _, a := range r.Answers {
		if a.Code < 200 || a.Code > 299 {
			n++
		}
	}
	return n
}

// Preventable is the number of failures a correct drain plan prevents.
func (r *RunResult) Preventable() int {
	n := 0
	for c, k := range r.Causes {
		if c.Preventable() {
			n += k
		}
	}
	return n
}

// Run sets the scenario up in its own namespace, waits for a steady state, changes the image
// sc.Rollouts times under load and measures and attributes every answer. An error means the run
// could not be made; what it found wrong is in RunResult.Problems.
func (e *Env) Run(ctx context.Context, sc Scenario) (*RunResult, error) {
	ns := sc.Namespace()
	c := e.CP.Client
	r := &RunResult{Scenario: sc, Causes: map[Cause]int{}}
	dep, svc, ing, err := e.seedObjects(sc)
	if err != nil {
		return nil, err
	}
	if err := e.install(ctx, sc, dep, svc, ing, r); err != nil {
		return nil, err
	}
	if sc.Operator {
		if err := e.waitGracefulDrainReady(ctx, sc); err != nil {
			return nil, err
		}
	}
	if err := e.waitRolledOut(ctx, sc, 0); err != nil {
		return nil, err
	}
	backend, settled, err := e.backend(ctx, ns, sc.Target)
	if err != nil {
		return nil, err
	}
	if r.Install, err = e.revisions(ctx, sc); err != nil {
		return nil, err
	}
	if sc.Operator {
		if r.PlannedPreStop, err = e.plannedPreStop(ctx, sc); err != nil {
			return nil, err
		}
	}

	// The load balancer's data plane and the load through it.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	var failures *FailureLog
	switch sc.Target {
	case NLBIP:
		nlb := NewNLB(backend, 10*time.Second)
		failures = nlb.Failures
		go nlb.Serve(ln)
		defer nlb.Close()
	default:
		proxy := NewProxy(backend, e.P.TargetTimeout, e.P.ALBConnsPerNode, e.P.Wall(e.P.ALBIdleTimeout))
		if sc.Target == ALBInstance {
			proxy = NewNodeProxy(backend, e.P.TargetTimeout, e.P.ALBNodes*e.P.ALBConnsPerNode, e.P.Wall(e.P.ALBIdleTimeout))
		}
		failures = proxy.Failures
		srv := &http.Server{Handler: proxy, ReadHeaderTimeout: 10 * time.Second}
		go func() { _ = srv.Serve(ln) }()
		defer srv.Close()
		defer proxy.Close()
	}
	load := &Load{URL: "http://" + ln.Addr().String() + "/", Rate: e.P.Rate, Connections: e.P.Connections,
		NewConnections: sc.Target == NLBIP, MaxDuration: 30 * time.Minute, MaxRequests: int(e.P.Rate * 30 * 60)}
	load.Start(ctx)
	defer load.Stop()
	if err := waitLoad(load, e.P.LeadIn); err != nil {
		return nil, fmt.Errorf("%s: %w", ns, err)
	}

	var changes []time.Time
	var durations []time.Duration
	for i := 1; i <= sc.Rollouts; i++ {
		changes = append(changes, time.Now())
		gen, err := e.changeImage(ctx, sc, dep, svc, ing, i)
		if err != nil {
			return nil, err
		}
		if err := e.waitRolledOut(ctx, sc, gen); err != nil {
			return nil, err
		}
		durations = append(durations, e.P.Model(time.Since(changes[i-1])))
		e.Logf("%s: rollout %d done in %.0f s (model time)", ns, i, durations[i-1].Seconds())
	}
	// The old pods finish terminating (preStop, SIGTERM) and the load balancer settles.
	if err := WaitFor(ctx, ns+": old pods gone and load balancer settled", 10*time.Minute, 200*time.Millisecond, func() (bool, error) {
		pods, err := c.CoreV1().Pods(ns).List(ctx, metav1.ListOptions{})
		if err != nil {
			return false, err
		}
		return len(pods.Items) == replicas && settled(), nil
	}); err != nil {
		return nil, err
	}
	if err := waitLoad(load, e.P.Tail); err != nil {
		return nil, fmt.Errorf("%s: %w", ns, err)
	}
	end := time.Now()
	r.Answers = load.Stop()
	r.Rate = float64(len(r.Answers)) / end.Sub(load.Started).Seconds()

	// Every failure, with its cause; non-2xx answers no load balancer recorded are the client's own.
	for _, f := range failures.All() {
		tl, known := e.Timelines.Get(f.Target)
		cause := Attribute(f, tl, known, r.PlannedPreStop, e.P)
		r.Failures = append(r.Failures, AttributedFailure{Failure: f, Cause: cause})
		r.Causes[cause]++
	}
	if extra := r.Errors() - len(r.Failures); extra > 0 {
		r.Causes[CauseClient] += extra
	}
	late := map[string]int{}
	for _, f := range r.Failures {
		if f.Cause == CauseBeyondBound {
			late[f.Target]++
		}
	}
	for ip, n := range late {
		tl, _ := e.Timelines.Get(ip)
		rel := func(t time.Time) time.Duration {
			if t.IsZero() {
				return 0
			}
			return e.P.Model(t.Sub(tl.Deleted))
		}
		r.Late = append(r.Late, LatePod{Pod: tl.Pod, PreStop: tl.PreStop, Endpoint: rel(tl.EndpointTerminating), Deregistered: rel(tl.Deregistered),
			Stopped: rel(tl.Stopped), KubeletLag: rel(tl.KubeletSaw), Errors: n})
	}
	slices.SortFunc(r.Late, func(a, b LatePod) int { return strings.Compare(a.Pod, b.Pod) })
	for _, tl := range e.Timelines.Namespace(ns) {
		if tl.Deleted.Before(load.Started) {
			continue
		}
		if os.Getenv("E2E_DEBUG_TIMELINES") == "1" {
			rel := func(t time.Time) string {
				if t.IsZero() {
					return "-"
				}
				return fmt.Sprintf("%.1f", e.P.Model(t.Sub(tl.Deleted)).Seconds())
			}
			e.Logf("%s %s %s: started %s listening %s kubelet %s endpoint %s dereg %s stop %s sigterm %s exit %s (deleted %s)", ns, tl.Pod, tl.IP,
				rel(tl.Started), rel(tl.Listening), rel(tl.KubeletSaw), rel(tl.EndpointTerminating), rel(tl.Deregistered), rel(tl.Stopped),
				rel(tl.Sigterm), rel(tl.Exited), tl.Deleted.Format("15:04:05.000"))
		}
		if !tl.Stopped.IsZero() {
			r.Lateness = append(r.Lateness, e.P.Model(tl.Stopped.Sub(tl.Deleted)))
		}
		if !tl.KubeletSaw.IsZero() {
			r.KubeletLag = append(r.KubeletLag, e.P.Model(tl.KubeletSaw.Sub(tl.Deleted)))
		}
	}

	if err := e.checkPods(ctx, sc, fmt.Sprintf("nginx:1.27.%d", sc.Rollouts), r); err != nil {
		return nil, err
	}
	if r.Final, err = e.revisions(ctx, sc); err != nil {
		return nil, err
	}
	n := int64(sc.Rollouts)
	if r.Final.Generation != r.Install.Generation+n || r.Final.ReplicaSets != r.Install.ReplicaSets+int(n) {
		r.Problems = append(r.Problems, fmt.Sprintf("%d image changes made generation %d -> %d and revisions %d -> %d: want one rollout each",
			n, r.Install.Generation, r.Final.Generation, r.Install.ReplicaSets, r.Final.ReplicaSets))
	}

	var preStop time.Duration
	if t, err := e.workloadTemplate(ctx, sc); err == nil {
		for _, ctr := range t.Spec.Containers {
			preStop = max(preStop, PreStopSleep(ctr))
		}
	}
	p99 := Percentile(r.Lateness, 99)
	r.Panel = ChartPanel{Title: fmt.Sprintf("%s, operator %s", sc.Target, onOff(sc.Operator)), Start: load.Started, Answers: r.Answers, Changes: changes}
	for i := range sc.Rollouts {
		from, to := changes[i], end
		if i == 0 {
			from = load.Started
		}
		if i+1 < sc.Rollouts {
			to = changes[i+1]
		}
		reqs, errs := Tally(r.Answers, from, to)
		causes := map[Cause]int{}
		for _, f := range r.Failures {
			if !f.Picked.Before(from) && f.Picked.Before(to) {
				causes[f.Cause]++
			}
		}
		r.Rollouts = append(r.Rollouts, RolloutResult{Scenario: sc.Name, Operator: sc.Operator, Index: i + 1, Requests: reqs, Errors: errs,
			Causes: causes, Rollout: durations[i], PreStop: preStop, DeregP99: p99})
	}
	return r, nil
}

func onOff(b bool) string {
	if b {
		return "on"
	}
	return "off"
}

// seedObjects reads seed 000 and adapts it to the scenario: its namespace, the target type, the
// preStop override, and for a Helm-like manifest an explicit grace period of 30 s.
func (e *Env) seedObjects(sc Scenario) (*appsv1.Deployment, *corev1.Service, *networkingv1.Ingress, error) {
	data, err := os.ReadFile(filepath.Join(e.RepoRoot, SeedFile))
	if err != nil {
		return nil, nil, nil, err
	}
	var dep appsv1.Deployment
	var svc corev1.Service
	var ing networkingv1.Ingress
	for _, doc := range strings.Split(string(data), "\n---") {
		var meta metav1.TypeMeta
		if err := yaml.Unmarshal([]byte(doc), &meta); err != nil {
			return nil, nil, nil, err
		}
		var into any
		switch meta.Kind {
		case "Deployment":
			into = &dep
		case "Service":
			into = &svc
		case "Ingress":
			into = &ing
		default:
			continue // the Namespace: each run makes its own
		}
		if err := yaml.UnmarshalStrict([]byte(doc), into); err != nil {
			return nil, nil, nil, err
		}
	}
	if dep.Name != deploymentName || svc.Name != serviceName || ing.Name != ingressName || ing.Annotations["alb.ingress.kubernetes.io/target-type"] != "ip" {
		return nil, nil, nil, fmt.Errorf("%s is not seed 000 as this test knows it", SeedFile)
	}
	ns := sc.Namespace()
	dep.Namespace, svc.Namespace, ing.Namespace = ns, ns, ns
	dep.TypeMeta = metav1.TypeMeta{APIVersion: "apps/v1", Kind: "Deployment"}
	svc.TypeMeta = metav1.TypeMeta{APIVersion: "v1", Kind: "Service"}
	ing.TypeMeta = metav1.TypeMeta{APIVersion: "networking.k8s.io/v1", Kind: "Ingress"}
	switch sc.Target {
	case ALBInstance:
		ing.Annotations["alb.ingress.kubernetes.io/target-type"] = "instance"
		svc.Spec.Type = corev1.ServiceTypeNodePort
	case NLBIP:
		svc.Spec.Type = corev1.ServiceTypeLoadBalancer
		svc.Annotations = map[string]string{
			"service.beta.kubernetes.io/aws-load-balancer-type":            "external",
			"service.beta.kubernetes.io/aws-load-balancer-nlb-target-type": "ip",
			"service.beta.kubernetes.io/aws-load-balancer-scheme":          "internet-facing",
		}
	}
	if sc.PreStop > 0 {
		dep.Annotations = map[string]string{"gracefuldrain.io/prestop-seconds": strconv.Itoa(sc.PreStop)}
	}
	if sc.Helm {
		grace := int64(30)
		dep.Spec.Template.Spec.TerminationGracePeriodSeconds = &grace
	}
	if sc.Target == NLBIP {
		return &dep, &svc, nil, nil
	}
	return &dep, &svc, &ing, nil
}

// install creates the namespace and the seed's objects as the scenario says.
func (e *Env) install(ctx context.Context, sc Scenario, dep *appsv1.Deployment, svc *corev1.Service, ing *networkingv1.Ingress, r *RunResult) error {
	c := e.CP.Client
	ns := sc.Namespace()
	nsObj := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns}}
	if sc.Operator && !sc.Helm {
		nsObj.Labels = map[string]string{"gracefuldrain.io/mode": "enforce"}
	}
	if _, err := c.CoreV1().Namespaces().Create(ctx, nsObj, metav1.CreateOptions{}); err != nil {
		return err
	}
	if sc.Helm {
		// A release that exists: installed in Helm's order (Service, Deployment, then Ingress),
		// rolled out, and then its namespace opted in; the operator adopts it (one rollout of its
		// own, gracefuldrain.io/adopt's default). The upgrades that follow are what is measured.
		objs := []any{svc, dep}
		if ing != nil {
			objs = append(objs, ing)
		}
		if err := e.kubectlApply(ctx, ns, "install", objs...); err != nil {
			return err
		}
		if err := e.waitRolledOut(ctx, sc, 0); err != nil {
			return err
		}
		patch := []byte(`{"metadata":{"labels":{"gracefuldrain.io/mode":"enforce"}}}`)
		_, err := c.CoreV1().Namespaces().Patch(ctx, ns, types.StrategicMergePatchType, patch, metav1.PatchOptions{})
		return err
	}
	if _, err := c.CoreV1().Services(ns).Create(ctx, svc, metav1.CreateOptions{}); err != nil {
		return err
	}
	if ing != nil {
		if _, err := c.NetworkingV1().Ingresses(ns).Create(ctx, ing, metav1.CreateOptions{}); err != nil {
			return err
		}
	}
	if sc.Target != ALBInstance {
		// The load balancer exists, as for an app already deployed: the AWS controller has made its
		// target group (TargetGroupBinding), so its webhook gives the new pods their readiness gate.
		if err := WaitFor(ctx, ns+": the AWS controller made the target group", 2*time.Minute, 100*time.Millisecond, func() (bool, error) {
			return e.LBC.TargetGroup(ns, serviceName, 80) != nil, nil
		}); err != nil {
			return err
		}
	}
	if sc.Operator && sc.Target != ALBInstance {
		// And the operator has labelled the namespace for the AWS controller's webhook, as it did
		// long ago for an app that exists: a pod created before the label gets no readiness gate.
		if err := WaitFor(ctx, ns+": the namespace has the readiness-gate label", 2*time.Minute, 100*time.Millisecond, func() (bool, error) {
			n, err := c.CoreV1().Namespaces().Get(ctx, ns, metav1.GetOptions{})
			return err == nil && n.Labels[GateInjectLabel] == "enabled", err
		}); err != nil {
			return err
		}
	}
	if sc.Operator {
		// Once the operator's cache has the load balancer objects too (a dry-run create comes back
		// with the plan), the webhook puts the plan into the workload's first write.
		if err := WaitFor(ctx, ns+": the webhook knows the load balancer", 2*time.Minute, 200*time.Millisecond, func() (bool, error) {
			_, t, err := e.createWorkload(ctx, sc, dep, true)
			if err != nil {
				return false, err
			}
			return PreStopSleep(t.Spec.Containers[0]) > 0, nil
		}); err != nil {
			return err
		}
	}
	gen, t, err := e.createWorkload(ctx, sc, dep, false)
	if err != nil {
		return err
	}
	if sc.Operator && (gen != 1 || PreStopSleep(t.Spec.Containers[0]) == 0) {
		r.Problems = append(r.Problems, fmt.Sprintf("created at generation %d with preStop %v: want generation 1 carrying the plan",
			gen, PreStopSleep(t.Spec.Containers[0])))
	}
	return nil
}

// changeImage makes the i-th image change and returns the Deployment's new generation.
func (e *Env) changeImage(ctx context.Context, sc Scenario, dep *appsv1.Deployment, svc *corev1.Service, ing *networkingv1.Ingress, i int) (int64, error) {
	ns := sc.Namespace()
	image := fmt.Sprintf("nginx:1.27.%d", i)
	if sc.Helm {
		// The chart's manifest with the new image, grace period 30 s and all, applied client-side.
		upgraded := dep.DeepCopy()
		upgraded.Spec.Template.Spec.Containers[0].Image = image
		objs := []any{svc, upgraded}
		if ing != nil {
			objs = append(objs, ing)
		}
		if err := e.kubectlApply(ctx, ns, fmt.Sprintf("upgrade-%d", i), objs...); err != nil {
			return 0, err
		}
		d, err := e.CP.Client.AppsV1().Deployments(ns).Get(ctx, deploymentName, metav1.GetOptions{})
		if err != nil {
			return 0, err
		}
		return d.Generation, nil
	}
	return e.setImage(ctx, sc, image)
}

// kubectlApply writes the objects as one manifest and runs `kubectl apply -f` (client-side, as Helm
// and Argo CD by default do).
func (e *Env) kubectlApply(ctx context.Context, ns, name string, objs ...any) error {
	var docs []string
	for _, o := range objs {
		data, err := yaml.Marshal(o)
		if err != nil {
			return err
		}
		docs = append(docs, string(data))
	}
	file := filepath.Join(e.CP.Dir, ns+"-"+name+".yaml")
	if err := os.WriteFile(file, []byte(strings.Join(docs, "---\n")), 0o600); err != nil {
		return err
	}
	out, err := exec.CommandContext(ctx, e.Kubectl, "--kubeconfig", e.CP.Kubeconfig, "apply", "-f", file).CombinedOutput()
	if err != nil {
		return fmt.Errorf("kubectl apply -f %s: %w: %s", file, err, out)
	}
	return nil
}

var gdResource = schema.GroupVersionResource{Group: "gracefuldrain.io", Version: "v1alpha1", Resource: "gracefuldrains"}

func (e *Env) waitGracefulDrainReady(ctx context.Context, sc Scenario) error {
	ns := sc.Namespace()
	return WaitFor(ctx, ns+": GracefulDrain Ready", 8*time.Minute, 500*time.Millisecond, func() (bool, error) {
		gd, err := e.Dyn.Resource(gdResource).Namespace(ns).Get(ctx, sc.DrainName(), metav1.GetOptions{})
		if err != nil {
			return false, err
		}
		conds, _, _ := unstructured.NestedSlice(gd.Object, "status", "conditions")
		for _, c := range conds {
			m, _ := c.(map[string]any)
			if m["type"] == "Ready" {
				if m["status"] == "True" {
					return true, nil
				}
				return false, fmt.Errorf("Ready=%v %v: %v", m["status"], m["reason"], m["message"])
			}
		}
		return false, fmt.Errorf("no Ready condition yet")
	})
}

// plannedPreStop is the preStop the GracefulDrain's plan states.
func (e *Env) plannedPreStop(ctx context.Context, sc Scenario) (time.Duration, error) {
	ns := sc.Namespace()
	gd, err := e.Dyn.Resource(gdResource).Namespace(ns).Get(ctx, sc.DrainName(), metav1.GetOptions{})
	if err != nil {
		return 0, err
	}
	s, found, err := unstructured.NestedInt64(gd.Object, "status", "plan", "preStopSeconds")
	if err != nil || !found || s <= 0 {
		return 0, fmt.Errorf("%s: the GracefulDrain states no preStop (%v)", ns, err)
	}
	return time.Duration(s) * time.Second, nil
}

// backend returns what the load balancer routes with and a test of "no change still propagating",
// once every current pod is a healthy target (ip) or programmed endpoint (instance).
func (e *Env) backend(ctx context.Context, ns string, target TargetType) (Backend, func() bool, error) {
	podAddrs := func() (map[string]bool, error) {
		pods, err := e.CP.Client.CoreV1().Pods(ns).List(ctx, metav1.ListOptions{})
		if err != nil {
			return nil, err
		}
		out := map[string]bool{}
		for _, p := range pods.Items {
			if p.DeletionTimestamp == nil && p.Status.PodIP != "" {
				out[net.JoinHostPort(p.Status.PodIP, "80")] = true
			}
		}
		return out, nil
	}
	if target == ALBInstance {
		table := e.KubeProxy.Table(ns, serviceName)
		settled := func() bool {
			want, err := podAddrs()
			return err == nil && sameSet(table.Endpoints(), want)
		}
		err := WaitFor(ctx, ns+": kube-proxy programmed every pod", 3*time.Minute, 200*time.Millisecond, func() (bool, error) { return settled(), nil })
		return table, settled, err
	}
	var tg *TargetGroup
	settled := func() bool {
		if tg == nil {
			tg = e.LBC.TargetGroup(ns, serviceName, 80)
		}
		if tg == nil || !tg.Settled() {
			return false
		}
		want, err := podAddrs()
		if err != nil || !sameSet(tg.Registered(), want) {
			return false
		}
		for a := range want {
			if tg.State(a) != TargetHealthy {
				return false
			}
		}
		return true
	}
	err := WaitFor(ctx, ns+": every pod a healthy target", 5*time.Minute, 200*time.Millisecond, func() (bool, error) { return settled(), nil })
	return tg, settled, err
}

func sameSet(list []string, set map[string]bool) bool {
	if len(list) != len(set) {
		return false
	}
	for _, a := range list {
		if !set[a] {
			return false
		}
	}
	return true
}

// checkPods: every pod runs the last image; with the operator they carry its preStop sleep (the
// curve's when it sets one) and, for ip targets, the readiness gate; without it, neither.
func (e *Env) checkPods(ctx context.Context, sc Scenario, image string, r *RunResult) error {
	ns := sc.Namespace()
	pods, err := e.CP.Client.CoreV1().Pods(ns).List(ctx, metav1.ListOptions{})
	if err != nil {
		return err
	}
	ipTargets := sc.Target != ALBInstance
	for _, p := range pods.Items {
		gated := false
		for _, g := range p.Spec.ReadinessGates {
			gated = gated || strings.HasPrefix(string(g.ConditionType), ReadinessGatePrefix)
		}
		ctr := p.Spec.Containers[0]
		var problem string
		switch {
		case ctr.Image != image:
			problem = fmt.Sprintf("runs %s, want %s", ctr.Image, image)
		case sc.Operator && PreStopSleep(ctr) == 0:
			problem = "has no preStop sleep although the operator manages it"
		case sc.Operator && PreStopSleep(ctr) != r.PlannedPreStop:
			problem = fmt.Sprintf("sleeps %v, the plan says %v", PreStopSleep(ctr), r.PlannedPreStop)
		case sc.Operator && sc.PreStop > 0 && r.PlannedPreStop != time.Duration(sc.PreStop)*time.Second:
			problem = fmt.Sprintf("the plan says %v, the annotation %d s", r.PlannedPreStop, sc.PreStop)
		case !sc.Operator && PreStopSleep(ctr) != 0:
			problem = "has a preStop sleep without the operator"
		case gated != (sc.Operator && ipTargets):
			problem = fmt.Sprintf("readiness gate %v, want %v", gated, sc.Operator && ipTargets)
		}
		if problem != "" {
			r.Problems = append(r.Problems, fmt.Sprintf("pod %s %s", p.Name, problem))
		}
	}
	return nil
}

// waitLoad lets the load run for d: a measurement window, not a stand-in for a condition.
func waitLoad(l *Load, d time.Duration) error {
	start := len(l.Answers())
	time.Sleep(d)
	if len(l.Answers()) == start {
		return fmt.Errorf("no answers at all in %v: the load or the load balancer is stuck", d)
	}
	return nil
}

// CauseSummary prints failures by cause, preventable ones first: "12 (no-prestop:10 not-listening:2)".
func CauseSummary(causes map[Cause]int) string {
	total := 0
	keys := make([]Cause, 0, len(causes))
	for c, n := range causes {
		if n == 0 {
			continue
		}
		total += n
		keys = append(keys, c)
	}
	if total == 0 {
		return "0"
	}
	slices.SortFunc(keys, func(a, b Cause) int {
		if a.Preventable() != b.Preventable() {
			if a.Preventable() {
				return -1
			}
			return 1
		}
		return strings.Compare(string(a), string(b))
	})
	parts := make([]string, 0, len(keys))
	for _, c := range keys {
		parts = append(parts, fmt.Sprintf("%s:%d", c, causes[c]))
	}
	return fmt.Sprintf("%d (%s)", total, strings.Join(parts, " "))
}

// IsNotFound hides apierrors from callers of the harness that only need this one test.
func IsNotFound(err error) bool { return apierrors.IsNotFound(err) || errors.Is(err, os.ErrNotExist) }
