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
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/cache"
)

// NodeIP is the simulated node's address (its "InternalIP"); pods get their own 127.x.y.z.
const NodeIP = "127.0.0.1"

// Kubelet simulates the kubelet of one Ready node for the pods of the test's
// namespaces: it binds them to its node (there is no scheduler), starts each
// container with a port as a Container on the pod's own loopback IP, runs
// readiness probes for real, reports Ready only when the containers are ready
// and every readiness gate condition is True, and on deletion runs the preStop
// hook, SIGTERM, SIGKILL at the end of the grace period, then removes the pod.
// Every duration of the pod spec (probe periods and delays, the preStop sleep,
// the grace period) runs compressed by Params.TimeScale; probe timeouts stay
// in wall time (they only fire when this machine stalls).
type Kubelet struct {
	Client    kubernetes.Interface
	Node      string
	Owns      func(namespace string) bool // pods of other namespaces are left alone
	P         Params
	Timelines *Timelines // every pod's start, deletion, SIGTERM and exit

	mu      sync.Mutex
	workers map[types.UID]*podWorker
	nextIP  int
	errs    []string
}

// Errors returns what went wrong in the simulation (not in the pods' traffic).
func (k *Kubelet) Errors() []string {
	k.mu.Lock()
	defer k.mu.Unlock()
	return append([]string(nil), k.errs...)
}

func (k *Kubelet) fail(format string, args ...any) {
	k.mu.Lock()
	defer k.mu.Unlock()
	k.errs = append(k.errs, fmt.Sprintf(format, args...))
}

// CreateNode registers the simulated node as Ready.
func (k *Kubelet) CreateNode(ctx context.Context) error {
	node := &corev1.Node{ObjectMeta: metav1.ObjectMeta{Name: k.Node, Labels: map[string]string{"kubernetes.io/hostname": k.Node}}}
	created, err := k.Client.CoreV1().Nodes().Create(ctx, node, metav1.CreateOptions{})
	if err != nil {
		return err
	}
	now := metav1.Now()
	created.Status = corev1.NodeStatus{
		Conditions: []corev1.NodeCondition{{Type: corev1.NodeReady, Status: corev1.ConditionTrue, Reason: "KubeletReady",
			LastHeartbeatTime: now, LastTransitionTime: now}},
		Addresses: []corev1.NodeAddress{{Type: corev1.NodeInternalIP, Address: NodeIP}, {Type: corev1.NodeHostName, Address: k.Node}},
		Capacity:  corev1.ResourceList{corev1.ResourcePods: resourceQuantity("1000")},
	}
	_, err = k.Client.CoreV1().Nodes().UpdateStatus(ctx, created, metav1.UpdateOptions{})
	return err
}

// Run watches pods until ctx ends; then it kills every container it runs.
func (k *Kubelet) Run(ctx context.Context) {
	k.mu.Lock()
	k.workers = map[types.UID]*podWorker{}
	k.mu.Unlock()
	factory := informers.NewSharedInformerFactory(k.Client, 0)
	inf := factory.Core().V1().Pods().Informer()
	_, _ = inf.AddEventHandler(cache.ResourceEventHandlerFuncs{
		AddFunc:    func(obj any) { k.observe(ctx, obj.(*corev1.Pod)) },
		UpdateFunc: func(_, obj any) { k.observe(ctx, obj.(*corev1.Pod)) },
		DeleteFunc: func(obj any) {
			if tomb, ok := obj.(cache.DeletedFinalStateUnknown); ok {
				obj = tomb.Obj
			}
			if pod, ok := obj.(*corev1.Pod); ok {
				k.gone(pod.UID)
			}
		},
	})
	factory.Start(ctx.Done())
	<-ctx.Done()
	factory.Shutdown()
}

func (k *Kubelet) observe(ctx context.Context, pod *corev1.Pod) {
	if !k.Owns(pod.Namespace) {
		return
	}
	if pod.Spec.NodeName == "" {
		if pod.DeletionTimestamp == nil {
			go k.bind(ctx, pod)
		}
		return
	}
	if pod.Spec.NodeName != k.Node {
		return
	}
	k.mu.Lock()
	w := k.workers[pod.UID]
	if w == nil {
		if pod.DeletionTimestamp != nil && pod.Status.PodIP == "" {
			k.mu.Unlock()
			go k.remove(ctx, pod) // never started: nothing to stop
			return
		}
		k.nextIP++
		w = &podWorker{k: k, ip: podIP(k.nextIP), updates: make(chan *corev1.Pod, 1), done: make(chan struct{})}
		k.Timelines.Update(w.ip, func(tl *PodTimeline) { tl.Namespace, tl.Pod = pod.Namespace, pod.Name })
		k.workers[pod.UID] = w
		wctx, cancel := context.WithCancel(ctx)
		w.cancel = cancel
		go w.run(wctx, pod)
	}
	k.mu.Unlock()
	w.offer(pod)
}

func (k *Kubelet) gone(uid types.UID) {
	k.mu.Lock()
	w := k.workers[uid]
	delete(k.workers, uid)
	k.mu.Unlock()
	if w != nil {
		w.cancel() // force-deleted from the API: stop at once, as the kubelet does
	}
}

func (k *Kubelet) bind(ctx context.Context, pod *corev1.Pod) {
	err := k.Client.CoreV1().Pods(pod.Namespace).Bind(ctx, &corev1.Binding{
		ObjectMeta: metav1.ObjectMeta{Name: pod.Name, Namespace: pod.Namespace, UID: pod.UID},
		Target:     corev1.ObjectReference{Kind: "Node", Name: k.Node},
	}, metav1.CreateOptions{})
	if err != nil && !apierrors.IsConflict(err) && !apierrors.IsNotFound(err) && ctx.Err() == nil {
		k.fail("binding pod %s/%s: %v", pod.Namespace, pod.Name, err)
	}
}

func (k *Kubelet) remove(ctx context.Context, pod *corev1.Pod) {
	uid := pod.UID
	err := k.Client.CoreV1().Pods(pod.Namespace).Delete(ctx, pod.Name, metav1.DeleteOptions{
		GracePeriodSeconds: new(int64), Preconditions: &metav1.Preconditions{UID: &uid}})
	if err != nil && !apierrors.IsNotFound(err) && !apierrors.IsConflict(err) && ctx.Err() == nil {
		k.fail("removing pod %s/%s: %v", pod.Namespace, pod.Name, err)
	}
}

// podIP gives pod n its own IP, 10.<net>.0.1 onwards, net being this process's pod network
// (podNet). The API rejects loopback endpoint addresses, so the pod IP the API sees is
// 10.<net>.x.y and the simulation serves and dials it at 127.<net>.x.y (Loopback): traffic never
// leaves loopback.
func podIP(n int) string {
	return fmt.Sprintf("10.%d.%d.%d", podNet(), (n/250)%250, n%250+1)
}

// Loopback maps a pod address (ip or ip:port) to where the simulation really serves it.
func Loopback(addr string) string {
	if rest, ok := strings.CutPrefix(addr, fmt.Sprintf("10.%d.", podNet())); ok {
		return fmt.Sprintf("127.%d.", podNet()) + rest
	}
	return addr
}

// podNet is the second octet of this process's pod network. Every e2e process numbers its pods
// from 1, so two of them on one machine (two sessions, or make e2e next to make demo) would serve
// their pods at the same loopback addresses: one's container fails to listen ("address already in
// use") and the other's load balancer reaches the wrong process's pods. Each process therefore
// holds an exclusive lock on one network (a file lock in the temporary directory, released when it
// exits), from 243 down; 244, the one every process used before, is left to older checkouts.
var podNet = sync.OnceValue(func() int {
	for n := 243; n >= 100; n-- {
		f, err := os.OpenFile(filepath.Join(os.TempDir(), fmt.Sprintf("gracefuldrain-e2e-podnet-%d.lock", n)), os.O_CREATE|os.O_RDWR, 0o600)
		if err != nil {
			continue
		}
		if syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB) == nil {
			podNetLock = f // kept open (and locked) for the life of the process
			return n
		}
		_ = f.Close()
	}
	return 244
})

var podNetLock *os.File

// podWorker runs one pod from start to removal.
type podWorker struct {
	k       *Kubelet
	ip      string
	updates chan *corev1.Pod // latest pod object; older unread ones are replaced
	cancel  context.CancelFunc
	done    chan struct{}

	containers []*simContainer
	lastPatch  string
}

type simContainer struct {
	spec      corev1.Container
	server    *Container // nil for a container without ports: it just runs
	started   time.Time
	ready     bool
	successes int
	failures  int
}

func (w *podWorker) offer(pod *corev1.Pod) {
	for {
		select {
		case w.updates <- pod:
			return
		default:
			select {
			case <-w.updates: // drop the stale one
			default:
			}
		}
	}
}

func (w *podWorker) run(ctx context.Context, pod *corev1.Pod) {
	defer close(w.done)
	k := w.k
	created := time.Now()
	for _, c := range pod.Spec.Containers {
		sc := &simContainer{spec: c}
		if len(c.Ports) > 0 {
			sc.server = &Container{Name: pod.Name + "/" + c.Name, Addr: net.JoinHostPort(Loopback(w.ip), strconv.Itoa(int(c.Ports[0].ContainerPort))),
				ServiceTime: k.P.ServiceTime}
		}
		w.containers = append(w.containers, sc)
	}
	w.patch(ctx, pod, corev1.PodPending)

	// Image pull and container start; deletion meanwhile ends it early.
	pull := time.NewTimer(k.P.Wall(k.P.ImagePullAndStart.Draw()))
	defer pull.Stop()
	for waiting := true; waiting; {
		select {
		case <-ctx.Done():
			return
		case p := <-w.updates:
			pod = p
			if pod.DeletionTimestamp != nil {
				w.terminate(ctx, pod)
				return
			}
		case <-pull.C:
			waiting = false
		}
	}
	now := time.Now()
	k.Timelines.Update(w.ip, func(tl *PodTimeline) { first(&tl.Started, now) })
	for _, c := range w.containers {
		c.started = now
		if c.server != nil {
			c.server.Start(k.P.Wall(k.P.AppStartup.Draw()), func(at time.Time) {
				k.Timelines.Update(w.ip, func(tl *PodTimeline) { first(&tl.Listening, at) })
			})
		}
		c.ready = c.spec.ReadinessProbe == nil // no probe: ready once started, listening or not
	}
	w.patch(ctx, pod, corev1.PodRunning)

	// Probe workers tick every period from pod start, as the kubelet's do.
	tick := time.NewTicker(200 * time.Millisecond)
	defer tick.Stop()
	nextProbe := map[*simContainer]time.Time{}
	for _, c := range w.containers {
		if p := c.spec.ReadinessProbe; p != nil {
			nextProbe[c] = created
		}
	}
	for {
		select {
		case <-ctx.Done():
			w.killAll()
			return
		case p := <-w.updates:
			pod = p
			if pod.DeletionTimestamp != nil {
				w.terminate(ctx, pod)
				return
			}
		case now := <-tick.C:
			for c, at := range nextProbe {
				if now.Before(at) {
					continue
				}
				p := c.spec.ReadinessProbe
				nextProbe[c] = at.Add(k.P.Wall(seconds(p.PeriodSeconds, 10)))
				if now.Sub(c.started) < k.P.Wall(seconds(p.InitialDelaySeconds, 0)) {
					continue
				}
				w.probe(ctx, c)
			}
		}
		for _, c := range w.containers {
			if c.server != nil && c.server.Err() != nil {
				k.fail("%v", c.server.Err())
			}
		}
		w.patch(ctx, pod, corev1.PodRunning)
	}
}

// probe runs one readiness probe and applies the thresholds.
func (w *podWorker) probe(ctx context.Context, c *simContainer) {
	p := c.spec.ReadinessProbe
	timeout := seconds(p.TimeoutSeconds, 1)
	var ok bool
	switch {
	case p.HTTPGet != nil:
		port := w.resolvePort(c.spec, p.HTTPGet.Port)
		ok = httpCheck(ctx, "http://"+net.JoinHostPort(Loopback(w.ip), strconv.Itoa(port))+p.HTTPGet.Path, timeout, func(code int) bool {
			return code >= 200 && code < 400
		})
	case p.TCPSocket != nil:
		port := w.resolvePort(c.spec, p.TCPSocket.Port)
		conn, err := net.DialTimeout("tcp", net.JoinHostPort(Loopback(w.ip), strconv.Itoa(port)), timeout)
		ok = err == nil
		if conn != nil {
			_ = conn.Close()
		}
	default:
		w.k.fail("container %s: only httpGet and tcpSocket readiness probes are simulated", c.spec.Name)
		return
	}
	if ok {
		c.failures = 0
		c.successes++
		if c.successes >= int(max(p.SuccessThreshold, 1)) {
			c.ready = true
		}
	} else {
		c.successes = 0
		c.failures++
		if c.failures >= int(defaulted(p.FailureThreshold, 3)) {
			c.ready = false
		}
	}
}

func (w *podWorker) resolvePort(c corev1.Container, port intstr.IntOrString) int {
	if port.Type == intstr.Int {
		return port.IntValue()
	}
	for _, p := range c.Ports {
		if p.Name == port.StrVal {
			return int(p.ContainerPort)
		}
	}
	w.k.fail("container %s: no port named %q", c.Name, port.StrVal)
	return 0
}

// terminate: preStop, SIGTERM, SIGKILL when the grace period ends, remove the pod.
func (w *podWorker) terminate(ctx context.Context, pod *corev1.Pod) {
	k := w.k
	grace := k.P.Wall(time.Duration(defaulted64(pod.DeletionGracePeriodSeconds, 30)) * time.Second)
	saw := time.Now()
	// The deletion's clock starts when it was first seen: when this process is busy, its pod informer
	// can be behind the EndpointSlice, which kube-controller-manager marked terminating on seeing the
	// deletion. Starting late would give the load balancer that much extra time for free; the time
	// scale would multiply the gift.
	deleted := saw
	if tl, ok := k.Timelines.Get(w.ip); ok && !tl.EndpointTerminating.IsZero() && tl.EndpointTerminating.Before(saw) {
		deleted = tl.EndpointTerminating
	}
	killAt := deleted.Add(grace)
	var preStop time.Duration
	for _, c := range w.containers {
		preStop = max(preStop, w.preStopSleep(c.spec))
	}
	k.Timelines.Update(w.ip, func(tl *PodTimeline) {
		first(&tl.Deleted, deleted)
		first(&tl.KubeletSaw, saw)
		tl.PreStop = preStop
	})
	var wg sync.WaitGroup
	for _, c := range w.containers {
		wg.Go(func() {
			if d := k.P.Wall(w.preStopSleep(c.spec)); d > 0 {
				select {
				case <-time.After(min(time.Until(deleted.Add(d)), time.Until(killAt))):
				case <-ctx.Done():
				}
			}
			if c.server == nil {
				return
			}
			k.Timelines.Update(w.ip, func(tl *PodTimeline) { first(&tl.Sigterm, time.Now()) })
			// The kubelet gives at least 2 s after a preStop hook that used up the grace period.
			deadline := killAt
			if time.Until(deadline) < k.P.Wall(2*time.Second) {
				deadline = time.Now().Add(k.P.Wall(2 * time.Second))
			}
			tctx, cancel := context.WithDeadline(ctx, deadline)
			defer cancel()
			if err := c.server.Terminate(tctx); err != nil {
				k.Timelines.Update(w.ip, func(tl *PodTimeline) { first(&tl.Killed, time.Now()) })
				c.server.Kill()
			}
		})
	}
	wg.Wait()
	k.Timelines.Update(w.ip, func(tl *PodTimeline) { first(&tl.Exited, time.Now()) })
	for _, c := range w.containers {
		c.ready = false
	}
	if ctx.Err() == nil {
		w.patch(ctx, pod, corev1.PodSucceeded)
		w.k.remove(ctx, pod)
	}
}

func (w *podWorker) preStopSleep(c corev1.Container) time.Duration {
	if c.Lifecycle == nil || c.Lifecycle.PreStop == nil {
		return 0
	}
	if d := PreStopSleep(c); d > 0 {
		return d
	}
	w.k.fail("container %s: preStop hook %+v is not simulated", c.Name, c.Lifecycle.PreStop)
	return 0
}

// PreStopSleep is how long the container's preStop hook keeps it from SIGTERM:
// native sleep, or exec "sleep N" (also through sh -c); 0 for none or another hook.
func PreStopSleep(c corev1.Container) time.Duration {
	if c.Lifecycle == nil || c.Lifecycle.PreStop == nil {
		return 0
	}
	h := c.Lifecycle.PreStop
	switch {
	case h.Sleep != nil:
		return time.Duration(h.Sleep.Seconds) * time.Second
	case h.Exec != nil:
		cmd := strings.Join(h.Exec.Command, " ")
		cmd = strings.TrimPrefix(strings.TrimPrefix(cmd, "/bin/sh -c "), "sh -c ")
		cmd = strings.TrimPrefix(strings.Trim(cmd, `"'`), "/bin/")
		if n, ok := strings.CutPrefix(cmd, "sleep "); ok {
			if s, err := strconv.Atoi(strings.TrimSpace(n)); err == nil {
				return time.Duration(s) * time.Second
			}
		}
	}
	return 0
}

func (w *podWorker) killAll() {
	for _, c := range w.containers {
		if c.server != nil {
			c.server.Kill()
		}
	}
}

// patch writes the pod status the kubelet owns, when it changed. Conditions are
// merged by type, so the load balancer controller's target-health condition stays.
func (w *podWorker) patch(ctx context.Context, pod *corev1.Pod, phase corev1.PodPhase) {
	containersReady := phase == corev1.PodRunning
	var statuses []corev1.ContainerStatus
	for _, c := range w.containers {
		containersReady = containersReady && c.ready
		st := corev1.ContainerStatus{Name: c.spec.Name, Image: c.spec.Image, ImageID: "sim://" + c.spec.Image, Ready: c.ready}
		switch phase {
		case corev1.PodRunning:
			t := true
			st.Started = &t
			st.State.Running = &corev1.ContainerStateRunning{StartedAt: metav1.NewTime(c.started)}
		case corev1.PodSucceeded:
			st.State.Terminated = &corev1.ContainerStateTerminated{Reason: "Completed"}
		default:
			st.State.Waiting = &corev1.ContainerStateWaiting{Reason: "ContainerCreating"}
		}
		statuses = append(statuses, st)
	}
	ready := containersReady
	for _, gate := range pod.Spec.ReadinessGates {
		if !conditionTrue(pod.Status.Conditions, gate.ConditionType) {
			ready = false
		}
	}
	key := fmt.Sprintf("%s %v %v %v", phase, containersReady, ready, statuses)
	if key == w.lastPatch {
		return
	}
	now := metav1.Now()
	cond := func(t corev1.PodConditionType, ok bool) corev1.PodCondition {
		s := corev1.ConditionFalse
		if ok {
			s = corev1.ConditionTrue
		}
		// LastTransitionTime only moves when the status does.
		ltt := now
		for _, old := range pod.Status.Conditions {
			if old.Type == t && old.Status == s {
				ltt = old.LastTransitionTime
			}
		}
		return corev1.PodCondition{Type: t, Status: s, LastTransitionTime: ltt}
	}
	status := corev1.PodStatus{
		Phase:   phase,
		HostIP:  NodeIP,
		HostIPs: []corev1.HostIP{{IP: NodeIP}},
		PodIP:   w.ip,
		PodIPs:  []corev1.PodIP{{IP: w.ip}},
		Conditions: []corev1.PodCondition{
			cond(corev1.PodScheduled, true), cond(corev1.PodInitialized, true),
			cond(corev1.ContainersReady, containersReady), cond(corev1.PodReady, ready),
		},
		ContainerStatuses: statuses,
	}
	if pod.Status.StartTime == nil {
		status.StartTime = &now
	}
	data, err := json.Marshal(map[string]any{"status": status})
	if err != nil {
		w.k.fail("pod status: %v", err)
		return
	}
	_, err = w.k.Client.CoreV1().Pods(pod.Namespace).Patch(ctx, pod.Name, types.StrategicMergePatchType, data, metav1.PatchOptions{}, "status")
	if err != nil {
		if !apierrors.IsNotFound(err) && ctx.Err() == nil {
			w.k.fail("patching status of %s/%s: %v", pod.Namespace, pod.Name, err)
		}
		return
	}
	w.lastPatch = key
}

func conditionTrue(conds []corev1.PodCondition, t corev1.PodConditionType) bool {
	for _, c := range conds {
		if c.Type == t {
			return c.Status == corev1.ConditionTrue
		}
	}
	return false
}

// httpCheck is one GET without keep-alive (as probes and health checks do); ok decides on the status code.
func httpCheck(ctx context.Context, url string, timeout time.Duration, ok func(int) bool) bool {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return false
	}
	resp, err := probeClient.Do(req)
	if err != nil {
		return false
	}
	_ = resp.Body.Close()
	return ok(resp.StatusCode)
}

var probeClient = &http.Client{Transport: &http.Transport{DisableKeepAlives: true, Proxy: nil}}

func resourceQuantity(s string) resource.Quantity { return resource.MustParse(s) }

func seconds(v int32, def int32) time.Duration {
	if v <= 0 {
		v = def
	}
	return time.Duration(v) * time.Second
}

func defaulted(v, def int32) int32 {
	if v <= 0 {
		return def
	}
	return v
}

func defaulted64(v *int64, def int64) int64 {
	if v == nil {
		return def
	}
	return *v
}
