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
	"fmt"

	"k8s.io/apimachinery/pkg/util/version"
)

// Values of the --sleep-method flag.
const (
	SleepMethodAuto  = "auto"
	SleepMethodSleep = "sleep"
	SleepMethodExec  = "exec"
)

// nativeSleepSince is the first Kubernetes version whose API server accepts
// lifecycle.preStop.sleep and whose kubelet runs it by default
// (PodLifecycleSleepAction, beta and on in 1.30).
var nativeSleepSince = version.MajorMinor(1, 30)

// ChooseSleepMethod is how the preStop sleep is written, from the
// --sleep-method flag, the API server's version and the kubelets' versions
// (Node status.nodeInfo.kubeletVersion, e.g. "v1.29.3-eks-ae9a62a"). With
// auto, the native sleep is chosen only when the API server and every kubelet
// run it: a kubelet older than 1.30 would not sleep at all. An unreadable
// version counts as too old, since exec sleep works everywhere an image has
// /bin/sleep. The reason says which and why, in a sentence.
func ChooseSleepMethod(flag, apiServer string, kubelets []string) (SleepMethod, string, error) {
	switch flag {
	case SleepMethodSleep:
		return SleepNative, "--sleep-method=sleep forces the native sleep action.", nil
	case SleepMethodExec:
		return SleepExec, "--sleep-method=exec forces exec sleep.", nil
	case SleepMethodAuto, "":
	default:
		return "", "", fmt.Errorf("--sleep-method=%q: must be auto, sleep or exec", flag)
	}
	if !runsNativeSleep(apiServer) {
		return SleepExec, fmt.Sprintf("The API server is %s, older than %s: exec sleep.", orUnknown(apiServer), nativeSleepSince), nil
	}
	for _, k := range kubelets {
		if !runsNativeSleep(k) {
			return SleepExec, fmt.Sprintf("A node's kubelet is %s, older than %s, and would not run the native sleep: exec sleep.", orUnknown(k), nativeSleepSince), nil
		}
	}
	return SleepNative, fmt.Sprintf("The API server and all %d kubelets are %s or newer: native sleep.", len(kubelets), nativeSleepSince), nil
}

func runsNativeSleep(v string) bool {
	parsed, err := version.ParseGeneric(v)
	return err == nil && parsed.AtLeast(nativeSleepSince)
}

func orUnknown(v string) string {
	if v == "" {
		return "of unknown version"
	}
	return v
}
