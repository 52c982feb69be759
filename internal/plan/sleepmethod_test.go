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
	"strings"
	"testing"
)

func TestChooseSleepMethod(t *testing.T) {
	tests := []struct {
		name      string
		flag      string
		apiServer string
		kubelets  []string
		want      SleepMethod
		why       string
	}{
		{name: "1.30 everywhere", flag: "auto", apiServer: "v1.30.0", kubelets: []string{"v1.30.2"}, want: SleepNative, why: "all 1 kubelets"},
		{name: "EKS versions", flag: "auto", apiServer: "v1.31.4-eks-2d5f260", kubelets: []string{"v1.31.3-eks-59bf375", "v1.30.8-eks-aeac579"}, want: SleepNative},
		{name: "no nodes yet", flag: "auto", apiServer: "v1.35.4", want: SleepNative, why: "all 0 kubelets"},
		{name: "API server too old", flag: "auto", apiServer: "v1.29.9", want: SleepExec, why: "API server is v1.29.9"},
		{name: "one kubelet too old (version skew)", flag: "auto", apiServer: "v1.31.0", kubelets: []string{"v1.31.0", "v1.28.15-eks-1552ad0"}, want: SleepExec, why: "kubelet is v1.28.15-eks-1552ad0"},
		{name: "unreadable kubelet version", flag: "auto", apiServer: "v1.31.0", kubelets: []string{"unknown"}, want: SleepExec},
		{name: "unknown API server", flag: "", apiServer: "", want: SleepExec, why: "unknown version"},
		{name: "forced native", flag: "sleep", apiServer: "v1.29.0", kubelets: []string{"v1.27.0"}, want: SleepNative, why: "forces"},
		{name: "forced exec", flag: "exec", apiServer: "v1.35.0", want: SleepExec, why: "forces"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, why, err := ChooseSleepMethod(tt.flag, tt.apiServer, tt.kubelets)
			if err != nil || got != tt.want || !strings.Contains(why, tt.why) {
				t.Fatalf("ChooseSleepMethod = %s, %q, %v; want %s with %q", got, why, err, tt.want, tt.why)
			}
		})
	}
	if _, _, err := ChooseSleepMethod("nap", "v1.35.0", nil); err == nil {
		t.Fatal("an unknown --sleep-method was accepted")
	}
}
