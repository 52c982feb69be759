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

// Package invalid describes a value gracefuldrain does not understand: a
// label, an annotation or a field of the user's. It is never guessed at: the
// workload it concerns is reported (condition InvalidConfiguration, a Warning
// Event, a log line) and left unchanged while the value stays.
package invalid

import "fmt"

// Setting names the object, the key and the value so that a person can find
// and fix it.
type Setting struct {
	Object  string // for example `Ingress shop/web`
	Key     string // annotation or label key, or a field path
	Value   string
	Message string // why the value is refused, one sentence
}

// String renders the setting for conditions, Events and logs.
func (s Setting) String() string {
	return fmt.Sprintf("%s: %s=%q. %s", s.Object, s.Key, s.Value, s.Message)
}
