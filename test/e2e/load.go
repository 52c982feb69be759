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
	"io"
	"net/http"
	"sync"
	"time"
)

// Answer is one request's outcome: when it was sent and its status code (0: no answer at all).
type Answer struct {
	At   time.Time
	Code int
}

// Load sends a steady rate of GETs to URL over Connections keep-alive client
// connections until Stop, MaxDuration or MaxRequests, recording every answer.
// With NewConnections every request opens a connection of its own (a client
// that does not reuse connections, as the seed's curl: through an NLB each
// request is then a new flow the NLB routes).
type Load struct {
	URL            string
	Rate           float64
	Connections    int
	NewConnections bool
	MaxDuration    time.Duration
	MaxRequests    int

	mu      sync.Mutex
	answers []Answer
	stop    context.CancelFunc
	done    sync.WaitGroup
	Started time.Time
}

// Start begins sending; it returns at once.
func (l *Load) Start(ctx context.Context) {
	ctx, l.stop = context.WithTimeout(ctx, l.MaxDuration)
	l.Started = time.Now()
	perConn := l.Rate / float64(l.Connections)
	interval := time.Duration(float64(time.Second) / perConn)
	budget := l.MaxRequests / l.Connections
	for i := range l.Connections {
		// One transport per client connection, one connection each, reused for every request.
		client := &http.Client{Timeout: 30 * time.Second, Transport: &http.Transport{Proxy: nil, MaxConnsPerHost: 1, MaxIdleConnsPerHost: 1,
			DisableKeepAlives: l.NewConnections}}
		l.done.Go(func() {
			defer client.CloseIdleConnections()
			// Stagger the connections so the requests are spread evenly over time.
			next := time.Now().Add(interval * time.Duration(i) / time.Duration(l.Connections))
			for sent := 0; sent < budget; sent++ {
				select {
				case <-ctx.Done():
					return
				case <-time.After(time.Until(next)):
				}
				next = next.Add(interval)
				l.record(ctx, client)
			}
		})
	}
}

func (l *Load) record(ctx context.Context, client *http.Client) {
	at := time.Now()
	code := 0
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, l.URL, nil)
	if err == nil {
		resp, err := client.Do(req)
		if err == nil {
			_, _ = io.Copy(io.Discard, resp.Body)
			_ = resp.Body.Close()
			code = resp.StatusCode
		} else if ctx.Err() != nil {
			return // stopped mid-request: not an answer
		}
	}
	l.mu.Lock()
	l.answers = append(l.answers, Answer{At: at, Code: code})
	l.mu.Unlock()
}

// Stop ends the load and waits for the senders; it returns every answer.
func (l *Load) Stop() []Answer {
	l.stop()
	l.done.Wait()
	l.mu.Lock()
	defer l.mu.Unlock()
	return append([]Answer(nil), l.answers...)
}

// Answers returns the answers so far.
func (l *Load) Answers() []Answer {
	l.mu.Lock()
	defer l.mu.Unlock()
	return append([]Answer(nil), l.answers...)
}
