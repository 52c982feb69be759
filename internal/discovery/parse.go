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

package discovery

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/gracefuldrain/gracefuldrain/internal/awslb"
	"github.com/gracefuldrain/gracefuldrain/internal/invalid"
)

// layer is the annotations of one object, with the name Problems give it.
type layer struct {
	object      string // for example "Service shop/web"
	annotations map[string]string
}

// annotationReader reads annotations from layers, the first layer that has a
// key winning (Service before Ingress, as the AWS Load Balancer Controller
// merges them), and records a Problem for every value it refuses. A refused
// value falls back to the default so that the attachment can still be reported.
type annotationReader struct {
	layers   []layer
	problems *[]invalid.Setting
}

func (r annotationReader) get(key string) (value, object string, ok bool) {
	for _, l := range r.layers {
		if v, found := l.annotations[key]; found {
			return v, l.object, true
		}
	}
	return "", "", false
}

func (r annotationReader) refuse(object, key, value, message string) {
	*r.problems = append(*r.problems, invalid.Setting{Object: object, Key: key, Value: value, Message: message})
}

// oneOf returns the value of key when it is one of allowed (compared exactly,
// or case-insensitively with fold; the returned value is then the allowed spelling).
func (r annotationReader) oneOf(key, def string, fold bool, allowed ...string) string {
	raw, obj, ok := r.get(key)
	if !ok {
		return def
	}
	for _, a := range allowed {
		if raw == a || (fold && strings.EqualFold(raw, a)) {
			return a
		}
	}
	r.refuse(obj, key, raw, "Expected "+orList(allowed)+".")
	return def
}

// number reads a whole number in [lo, hi]. set reports that the value came
// from a valid annotation rather than from def.
func (r annotationReader) number(key string, lo, hi, def int32, unit string) (n int32, set bool) {
	raw, obj, ok := r.get(key)
	if !ok {
		return def, false
	}
	v, ok := parseInt32In(raw, lo, hi)
	if !ok {
		r.refuse(obj, key, raw, fmt.Sprintf("Expected a whole number%s from %d to %d.", unit, lo, hi))
		return def, false
	}
	return v, true
}

func (r annotationReader) seconds(key string, lo, hi, def int32) (int32, bool) {
	return r.number(key, lo, hi, def, " of seconds")
}

func (r annotationReader) count(key string, def int32) int32 {
	n, _ := r.number(key, 2, 10, def, "")
	return n
}

// path reads an HTTP path, which the AWS API requires to start with "/".
func (r annotationReader) path(key, def string) string {
	raw, obj, ok := r.get(key)
	if !ok {
		return def
	}
	if !strings.HasPrefix(raw, "/") {
		r.refuse(obj, key, raw, `Expected a path starting with "/".`)
		return def
	}
	return raw
}

// successCodes reads a target-group matcher: codes or ranges such as
// "200", "200,204" or "200-299", each code within [lo, hi].
func (r annotationReader) successCodes(key, def string, lo, hi int32) string {
	raw, obj, ok := r.get(key)
	if !ok {
		return def
	}
	if !validCodes(raw, lo, hi) {
		r.refuse(obj, key, raw, fmt.Sprintf(
			`Expected status codes from %d to %d, separated by commas or given as ranges, for example "%d" or "%d-%d".`,
			lo, hi, lo, lo, lo+99))
		return def
	}
	return raw
}

// deregistrationDelay reads deregistration_delay.timeout_seconds from a
// target-group-attributes annotation; without one it is the AWS default.
func (r annotationReader) deregistrationDelay(key string) int32 {
	return r.deregistrationDelayOver(key, awslb.DefaultDeregistrationDelaySeconds, false)
}

// deregistrationDelayOver reads deregistration_delay.timeout_seconds from
// the target-group-attributes annotation key, over inherited: the value when
// key is absent, does not set the attribute, or holds a value refused with a
// Problem. With emptyInherits an empty value ("...timeout_seconds=") also
// keeps inherited, as the per-port NLB annotation does.
func (r annotationReader) deregistrationDelayOver(key string, inherited int32, emptyInherits bool) int32 {
	raw, obj, ok := r.get(key)
	if !ok {
		return inherited
	}
	attrs, ok := parseAttributes(raw)
	if !ok {
		r.refuse(obj, key, raw,
			"Expected comma-separated key=value pairs, for example "+awslb.AttributeDeregistrationDelay+"=30.")
		return inherited
	}
	v, found := attrs[awslb.AttributeDeregistrationDelay]
	if !found || (emptyInherits && v == "") {
		return inherited
	}
	n, ok := parseInt32In(v, 0, 3600)
	if !ok {
		r.refuse(obj, key, raw, "Expected "+awslb.AttributeDeregistrationDelay+" to be a whole number of seconds from 0 to 3600.")
		return inherited
	}
	return n
}

// parseInt32In parses a base-10 integer the way the AWS Load Balancer
// Controller does (strconv.ParseInt) and checks it against [lo, hi].
func parseInt32In(s string, lo, hi int32) (int32, bool) {
	v, err := strconv.ParseInt(s, 10, 64)
	if err != nil || v < int64(lo) || v > int64(hi) {
		return 0, false
	}
	return int32(v), true
}

// parseAttributes splits "k1=v1, k2=v2" like the AWS Load Balancer
// Controller's string-map annotations: items are trimmed, empty items are
// skipped, and an item without "=" or with an empty key is malformed.
func parseAttributes(s string) (map[string]string, bool) {
	attrs := map[string]string{}
	for item := range strings.SplitSeq(s, ",") {
		item = strings.TrimSpace(item)
		if item == "" {
			continue
		}
		k, v, found := strings.Cut(item, "=")
		k = strings.TrimSpace(k)
		if !found || k == "" {
			return nil, false
		}
		attrs[k] = strings.TrimSpace(v)
	}
	return attrs, true
}

func validCodes(s string, lo, hi int32) bool {
	if s == "" {
		return false
	}
	for item := range strings.SplitSeq(s, ",") {
		from, to, isRange := strings.Cut(item, "-")
		a, ok := parseCode(from, lo, hi)
		if !ok {
			return false
		}
		if isRange {
			b, ok := parseCode(to, lo, hi)
			if !ok || b < a {
				return false
			}
		}
	}
	return true
}

// parseCode accepts digits only: no sign, no spaces.
func parseCode(s string, lo, hi int32) (int32, bool) {
	if s == "" || strings.TrimLeft(s, "0123456789") != "" {
		return 0, false
	}
	return parseInt32In(s, lo, hi)
}

func orList(items []string) string {
	switch len(items) {
	case 0:
		return ""
	case 1:
		return items[0]
	}
	return strings.Join(items[:len(items)-1], ", ") + " or " + items[len(items)-1]
}
