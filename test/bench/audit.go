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
	"encoding/json"
	"fmt"
	"os"
	"sort"
	"time"
)

// Users the API server authenticates; the audit policy records only these,
// so the bench's own (admin) traffic does not fill the log. The operator is
// the install's service account by name: the webhook's matchConditions
// (config/webhook/scope_patch.yaml) leave out that user's own applies, as in
// a cluster, so its convergence does not call its own webhook.
const (
	operatorUser = "system:serviceaccount:gracefuldrain-system:gracefuldrain-controller-manager"
	floorUser    = "bench-floor"
	bareUser     = "bench-bare"
)

// kubeconfigName is each user's kubeconfig file in the work directory.
var kubeconfigName = map[string]string{
	operatorUser: "operator.kubeconfig",
	floorUser:    "floor.kubeconfig",
	bareUser:     "bare.kubeconfig",
}

// auditPolicy records every request of the measured clients at Metadata level
// (verb, resource, user, timestamps; no bodies) and nothing else.
const auditPolicy = `apiVersion: audit.k8s.io/v1
kind: Policy
omitStages: ["RequestReceived"]
rules:
- level: Metadata
  users: ["` + operatorUser + `", "` + floorUser + `", "` + bareUser + `"]
- level: None
`

// request is one completed API request from the audit log.
type request struct {
	User     string
	Verb     string
	Resource string // "deployments", "gracefuldrains/status", ...
	Code     int
	At       time.Time // when the response completed
}

func (r request) write() bool {
	switch r.Verb {
	case "create", "update", "patch", "delete", "deletecollection":
		return true
	}
	return false
}

type auditEvent struct {
	Stage          string `json:"stage"`
	Verb           string `json:"verb"`
	StageTimestamp string `json:"stageTimestamp"`
	User           struct {
		Username string `json:"username"`
	} `json:"user"`
	ObjectRef *struct {
		Resource    string `json:"resource"`
		Subresource string `json:"subresource"`
	} `json:"objectRef"`
	ResponseStatus *struct {
		Code int `json:"code"`
	} `json:"responseStatus"`
}

// readAudit parses the API server's audit log (one JSON event a line) into
// completed requests.
func readAudit(path string) ([]request, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	var out []request
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 1<<20), 16<<20)
	for sc.Scan() {
		var ev auditEvent
		if err := json.Unmarshal(sc.Bytes(), &ev); err != nil {
			return nil, fmt.Errorf("audit log line: %w", err)
		}
		if ev.Stage != "ResponseComplete" {
			continue
		}
		at, err := time.Parse(time.RFC3339Nano, ev.StageTimestamp)
		if err != nil {
			return nil, err
		}
		r := request{User: ev.User.Username, Verb: ev.Verb, At: at}
		if ev.ObjectRef != nil {
			r.Resource = ev.ObjectRef.Resource
			if ev.ObjectRef.Subresource != "" {
				r.Resource += "/" + ev.ObjectRef.Subresource
			}
		}
		if ev.ResponseStatus != nil {
			r.Code = ev.ResponseStatus.Code
		}
		out = append(out, r)
	}
	return out, sc.Err()
}

// requestCounts is a count per "verb resource".
type requestCounts map[string]int

// count tallies the user's requests completed in [from, to).
func count(reqs []request, user string, from, to time.Time, writesOnly bool) requestCounts {
	c := requestCounts{}
	for _, r := range reqs {
		if r.User != user || r.At.Before(from) || !r.At.Before(to) || (writesOnly && !r.write()) {
			continue
		}
		c[r.Verb+" "+r.Resource]++
	}
	return c
}

func (c requestCounts) total() int {
	n := 0
	for _, v := range c {
		n += v
	}
	return n
}

func (c requestCounts) keys() []string {
	var ks []string
	for k := range c {
		ks = append(ks, k)
	}
	sort.Strings(ks)
	return ks
}
