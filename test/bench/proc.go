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
	"bufio"
	"compress/gzip"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"
)

// process is a measured child process (the operator or the bare manager)
// with a Prometheus endpoint.
type process struct {
	name       string
	cmd        *exec.Cmd
	metricsURL string
	started    time.Time
	done       chan struct{} // closed when the process has exited
	exitErr    error         // set before done is closed

	mu           sync.Mutex
	peakHeapUsed float64 // highest go_memstats_heap_inuse_bytes seen by the sampler
	// sampling is held by the heap sampler around each scrape, and by a
	// timed measurement that no sampler scrape may fall into.
	sampling sync.Mutex
}

// holdSampling keeps the heap sampler from scraping until the returned
// function is called: a scrape is work for the operator (sampleHeap), and a
// latency measurement should not time the bench's own instrument.
func (p *process) holdSampling() (release func()) {
	p.sampling.Lock()
	return p.sampling.Unlock
}

// startProcess runs bin with args plus a metrics endpoint on a free port, with
// this process's environment plus env; its output goes to logPath.
func startProcess(name, bin, logPath string, env []string, args ...string) (*process, error) {
	port, err := freePort()
	if err != nil {
		return nil, err
	}
	logf, err := os.Create(logPath)
	if err != nil {
		return nil, err
	}
	p := &process{name: name, metricsURL: fmt.Sprintf("http://127.0.0.1:%d/metrics", port), done: make(chan struct{})}
	p.cmd = exec.Command(bin, append(args, fmt.Sprintf("--metrics-bind-address=127.0.0.1:%d", port))...)
	p.cmd.Stdout, p.cmd.Stderr = logf, logf
	p.cmd.Env = append(os.Environ(), env...)
	p.started = time.Now()
	if err := p.cmd.Start(); err != nil {
		return nil, err
	}
	go func() {
		p.exitErr = p.cmd.Wait()
		logf.Close()
		close(p.done)
	}()
	return p, nil
}

// stop sends SIGTERM and waits for the process to exit, killing it after a deadline.
func (p *process) stop() {
	_ = p.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-p.done:
	case <-time.After(20 * time.Second):
		_ = p.cmd.Process.Kill()
		<-p.done
	}
}

func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

// metrics is one scrape: sample name with labels ("name{a=\"b\"}") -> value.
type metrics map[string]float64

// scrape reads the metrics as the bench's own polls do: uncompressed, so that
// a poll does not cost the process a gzip compressor (about 800 KB, which its
// pool then keeps live across collections while the polls come every few
// seconds). scrapeLikePrometheus is the heap samples' scrape.
func (p *process) scrape() (metrics, error) {
	return p.scrapeEncoded("identity")
}

// scrapeLikePrometheus asks for gzip, as a Prometheus server does.
func (p *process) scrapeLikePrometheus() (metrics, error) {
	return p.scrapeEncoded("gzip")
}

func (p *process) scrapeEncoded(encoding string) (metrics, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, p.metricsURL, nil)
	req.Header.Set("Accept-Encoding", encoding)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("%s: %s", p.metricsURL, resp.Status)
	}
	body := io.Reader(resp.Body)
	if resp.Header.Get("Content-Encoding") == "gzip" { // set by hand, so not undone by the transport
		zr, err := gzip.NewReader(resp.Body)
		if err != nil {
			return nil, err
		}
		defer zr.Close()
		body = zr
	}
	return parseMetrics(body)
}

func parseMetrics(r io.Reader) (metrics, error) {
	m := metrics{}
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		line := sc.Text()
		if line == "" || line[0] == '#' {
			continue
		}
		i := strings.LastIndexByte(line, ' ')
		if i < 0 {
			continue
		}
		v, err := strconv.ParseFloat(line[i+1:], 64)
		if err != nil {
			continue
		}
		m[line[:i]] = v
	}
	return m, sc.Err()
}

// sum adds every sample of the metric whose labels contain all the given
// fragments, e.g. sum("controller_runtime_reconcile_total", `controller="gracefuldrain-`) for every kind's controller.
func (m metrics) sum(name string, labelFragments ...string) float64 {
	total := 0.0
next:
	for k, v := range m {
		if k != name && !strings.HasPrefix(k, name+"{") {
			continue
		}
		for _, f := range labelFragments {
			if !strings.Contains(k, f) {
				continue next
			}
		}
		total += v
	}
	return total
}

// waitMetrics polls until the metrics endpoint answers (the process is up).
func (p *process) waitMetrics(ctx context.Context, timeout time.Duration) error {
	return poll(ctx, timeout, 100*time.Millisecond, func() (bool, error) {
		select {
		case <-p.done:
			return false, fmt.Errorf("%s exited: %v", p.name, p.exitErr)
		default:
		}
		_, err := p.scrape()
		return err == nil, nil
	})
}

// sampleHeap records the peak in-use heap, scraped every interval until ctx
// ends. RSS needs no sampling: the kernel keeps its peak (VmHWM). The
// interval is a Prometheus's, not shorter: a scrape is work for the operator
// (a series for each workload not Ready, all of them while they converge), so
// scraping it far more often than a Prometheus would adds to what is measured.
func (p *process) sampleHeap(ctx context.Context, interval time.Duration) {
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		p.sampling.Lock()
		m, err := p.scrapeLikePrometheus()
		p.sampling.Unlock()
		if err == nil {
			p.mu.Lock()
			p.peakHeapUsed = max(p.peakHeapUsed, m.sum("go_memstats_heap_inuse_bytes"))
			p.mu.Unlock()
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

func (p *process) peakHeap() float64 {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.peakHeapUsed
}

// memory reads the process's current and peak resident set (bytes) from /proc.
func (p *process) memory() (rss, peakRSS float64, err error) {
	status, err := p.status()
	return status["VmRSS:"], status["VmHWM:"], err
}

// status is the process's /proc/PID/status fields counted in kB, in bytes.
func (p *process) status() (map[string]float64, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", p.cmd.Process.Pid))
	if err != nil {
		return nil, err
	}
	out := map[string]float64{}
	for _, line := range strings.Split(string(b), "\n") {
		if f := strings.Fields(line); len(f) == 3 && f[2] == "kB" {
			kb, _ := strconv.ParseFloat(f[1], 64)
			out[f[0]] = kb * 1024
		}
	}
	return out, nil
}

// memoryParts splits a process's resident memory at one moment: what the
// kernel maps (anonymous memory, and file-backed pages, which are the pages
// of the binary it has touched) and how Go uses its part (heap in use, heap
// freed but not yet returned to the kernel, goroutine stacks, the runtime's
// own structures).
type memoryParts struct {
	rssAnon, rssFile                         float64
	heapInuse, heapIdleKept, stacks, runtime float64
	goroutines                               float64
}

func (p *process) memoryParts() (memoryParts, error) {
	var parts memoryParts
	status, err := p.status()
	if err != nil {
		return parts, err
	}
	parts.rssAnon, parts.rssFile = status["RssAnon:"], status["RssFile:"]
	m, err := p.scrape()
	if err != nil {
		return parts, err
	}
	parts.heapInuse = m.sum("go_memstats_heap_inuse_bytes")
	parts.heapIdleKept = m.sum("go_memstats_heap_idle_bytes") - m.sum("go_memstats_heap_released_bytes")
	parts.stacks = m.sum("go_memstats_stack_inuse_bytes")
	for _, name := range []string{"go_memstats_gc_sys_bytes", "go_memstats_other_sys_bytes", "go_memstats_mspan_sys_bytes", "go_memstats_mcache_sys_bytes", "go_memstats_buck_hash_sys_bytes"} {
		parts.runtime += m.sum(name)
	}
	parts.goroutines = m.sum("go_goroutines")
	return parts, nil
}

// poll calls cond every interval until it returns true, an error, or the timeout.
func poll(ctx context.Context, timeout, interval time.Duration, cond func() (bool, error)) error {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		ok, err := cond()
		if err != nil {
			return err
		}
		if ok {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("condition not met within %s", timeout)
		case <-t.C:
		}
	}
}
