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
	"runtime/debug"
	"testing"

	"github.com/gracefuldrain/gracefuldrain/internal/plan"
)

func TestParseFlags(t *testing.T) {
	o, _, err := parseFlags(nil)
	if err != nil {
		t.Fatal(err)
	}
	def := plan.DefaultSettings()
	def.SleepMethod = "" // chosen at start, from the cluster's versions
	if o.defaults != def {
		t.Fatalf("flag defaults %+v differ from the plan's %+v", o.defaults, def)
	}
	bad := [][]string{
		{"--alb-ip-prestop-seconds=0"},
		{"--nlb-ip-prestop-seconds=4000"},
		{"--shutdown-seconds=-1"},
		{"--sleep-method=nap"},
	}
	for _, args := range bad {
		if _, _, err := parseFlags(args); err == nil {
			t.Errorf("parseFlags(%v) accepted a bad value", args)
		}
	}
	o, _, err = parseFlags([]string{"--alb-ip-prestop-seconds=45", "--force-audit", "--sleep-method=exec"})
	if err != nil || o.defaults.ALBIPPreStopSeconds != 45 || !o.forceAudit || o.sleepMethod != "exec" {
		t.Fatalf("flags not taken: %+v %v", o, err)
	}
}

func TestGCPercentDefaultsUnlessGOGCIsSet(t *testing.T) {
	defer debug.SetGCPercent(debug.SetGCPercent(100))
	setGCPercent("")
	if got := debug.SetGCPercent(100); got != defaultGCPercent {
		t.Fatalf("GC percent without GOGC = %d, want %d", got, defaultGCPercent)
	}
	setGCPercent("200") // the runtime applied GOGC already: left alone
	if got := debug.SetGCPercent(100); got != 100 {
		t.Fatalf("GC percent with GOGC set was changed to %d", got)
	}
}
