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
	"fmt"
	"html"
	"io"
	"math"
	"strings"
	"time"
)

// ChartPanel is one run's traffic: answers over time and when the image changed.
type ChartPanel struct {
	Title   string
	Start   time.Time
	Answers []Answer
	Changes []time.Time
}

// WriteChart draws requests/s (blue) and non-2xx answers/s (red) per second, one
// panel per run, runs of a scenario side by side (off left, on right).
func WriteChart(w io.Writer, rows [][]ChartPanel) error {
	const pw, ph, margin, gap = 460.0, 170.0, 40.0, 30.0
	cols := 0
	for _, r := range rows {
		cols = max(cols, len(r))
	}
	width := margin + float64(cols)*(pw+gap)
	height := 40 + float64(len(rows))*(ph+margin+20)
	var b strings.Builder
	fmt.Fprintf(&b, `<svg xmlns="http://www.w3.org/2000/svg" width="%.0f" height="%.0f" font-family="sans-serif" font-size="11">`+"\n", width, height)
	fmt.Fprintf(&b, `<rect width="100%%" height="100%%" fill="white"/>`+"\n")
	fmt.Fprintf(&b, `<text x="%.0f" y="20" font-size="14">Rollouts under load through the simulated ALB: requests/s (blue), non-2xx/s (red), image change (grey)</text>`+"\n", margin)
	for ri, row := range rows {
		for ci, p := range row {
			x0 := margin + float64(ci)*(pw+gap)
			y0 := 40 + float64(ri)*(ph+margin+20) + 20
			drawPanel(&b, p, x0, y0, pw, ph)
		}
	}
	b.WriteString("</svg>\n")
	_, err := io.WriteString(w, b.String())
	return err
}

func drawPanel(b *strings.Builder, p ChartPanel, x0, y0, pw, ph float64) {
	var end time.Time
	for _, a := range p.Answers {
		if a.At.After(end) {
			end = a.At
		}
	}
	secs := int(end.Sub(p.Start).Seconds()) + 1
	secs = max(secs, 1)
	reqs, errs := make([]int, secs), make([]int, secs)
	peak := 1
	for _, a := range p.Answers {
		i := int(a.At.Sub(p.Start).Seconds())
		if i < 0 || i >= secs {
			continue
		}
		reqs[i]++
		if a.Code < 200 || a.Code > 299 {
			errs[i]++
		}
		peak = max(peak, reqs[i])
	}
	total, bad := 0, 0
	for i := range reqs {
		total += reqs[i]
		bad += errs[i]
	}
	fmt.Fprintf(b, `<text x="%.0f" y="%.0f" font-size="12">%s: %d requests, %d non-2xx</text>`+"\n", x0, y0-6, html.EscapeString(p.Title), total, bad)
	fmt.Fprintf(b, `<rect x="%.0f" y="%.0f" width="%.0f" height="%.0f" fill="none" stroke="#888"/>`+"\n", x0, y0, pw, ph)
	xs := func(s float64) float64 { return x0 + s/float64(secs)*pw }
	ys := func(v int) float64 { return y0 + ph - float64(v)/float64(peak)*ph*0.9 }
	for _, c := range p.Changes {
		x := xs(c.Sub(p.Start).Seconds())
		fmt.Fprintf(b, `<line x1="%.1f" y1="%.0f" x2="%.1f" y2="%.0f" stroke="#aaa" stroke-dasharray="3,3"/>`+"\n", x, y0, x, y0+ph)
	}
	for i, e := range errs {
		if e > 0 {
			fmt.Fprintf(b, `<rect x="%.1f" y="%.1f" width="%.1f" height="%.1f" fill="#d62728"/>`+"\n", xs(float64(i)), ys(e), max(pw/float64(secs), 1), y0+ph-ys(e))
		}
	}
	var pts []string
	for i, r := range reqs {
		pts = append(pts, fmt.Sprintf("%.1f,%.1f", xs(float64(i)+0.5), ys(r)))
	}
	fmt.Fprintf(b, `<polyline points="%s" fill="none" stroke="#1f77b4" stroke-width="1.5"/>`+"\n", strings.Join(pts, " "))
	fmt.Fprintf(b, `<text x="%.0f" y="%.0f">0 s</text><text x="%.0f" y="%.0f" text-anchor="end">%d s</text>`+"\n", x0, y0+ph+13, x0+pw, y0+ph+13, secs)
	fmt.Fprintf(b, `<text x="%.0f" y="%.0f" text-anchor="end">%d/s</text>`+"\n", x0-3, ys(peak)+4, peak)
}

// curveColors gives each target type its colour in the drain-curve chart.
var curveColors = map[TargetType]string{ALBIP: "#1f77b4", ALBInstance: "#2ca02c", NLBIP: "#d62728"}

// WriteCurveChart draws the drain curve: the share of non-2xx answers against the preStop sleep, one
// line per target type, on a log scale (a point with no error sits on the "0" line), with each
// type's default (dashed) and recommended value (dotted).
func WriteCurveChart(w io.Writer, points []CurvePoint, verdicts []Verdict) error {
	const width, height, left, right, top, bottom = 760.0, 380.0, 70.0, 170.0, 40.0, 50.0
	pw, ph := width-left-right, height-top-bottom
	maxX := 10
	for _, p := range points {
		maxX = max(maxX, p.PreStop)
	}
	for _, v := range verdicts {
		maxX = max(maxX, v.Default, v.Recommended)
	}
	maxX = (maxX + 19) / 20 * 20
	const minLog, maxLog = -4.0, 0.0 // 0.01 % .. 100 %
	xs := func(s int) float64 { return left + float64(s)/float64(maxX)*pw }
	zeroY := top + ph
	ys := func(rate float64) float64 {
		if rate <= 0 {
			return zeroY
		}
		l := min(max(math.Log10(rate), minLog), maxLog)
		return top + (maxLog-l)/(maxLog-minLog)*(ph-20)
	}
	var b strings.Builder
	fmt.Fprintf(&b, `<svg xmlns="http://www.w3.org/2000/svg" width="%.0f" height="%.0f" font-family="sans-serif" font-size="11">`+"\n", width, height)
	fmt.Fprintf(&b, `<rect width="100%%" height="100%%" fill="white"/>`+"\n")
	fmt.Fprintf(&b, `<text x="%.0f" y="22" font-size="14">Drain curve: non-2xx share of requests during one rollout of seed 000, against the preStop sleep</text>`+"\n", left)
	fmt.Fprintf(&b, `<rect x="%.0f" y="%.0f" width="%.0f" height="%.0f" fill="none" stroke="#888"/>`+"\n", left, top, pw, ph)
	for l := minLog; l <= maxLog; l++ {
		y := ys(math.Pow(10, l))
		fmt.Fprintf(&b, `<line x1="%.0f" y1="%.1f" x2="%.0f" y2="%.1f" stroke="#eee"/><text x="%.0f" y="%.1f" text-anchor="end">%s</text>`+"\n",
			left, y, left+pw, y, left-4, y+4, strings.TrimSuffix(strings.TrimSuffix(fmt.Sprintf("%.2f", 100*math.Pow(10, l)), "0"), ".0")+" %")
	}
	fmt.Fprintf(&b, `<text x="%.0f" y="%.1f" text-anchor="end">0</text>`+"\n", left-4, zeroY+4)
	for x := 0; x <= maxX; x += 20 {
		fmt.Fprintf(&b, `<text x="%.1f" y="%.0f" text-anchor="middle">%d</text>`+"\n", xs(x), top+ph+15, x)
	}
	fmt.Fprintf(&b, `<text x="%.0f" y="%.0f" text-anchor="middle">preStop sleep (s, model time)</text>`+"\n", left+pw/2, top+ph+35)
	legend := 0
	for _, v := range verdicts {
		col := curveColors[v.Target]
		fmt.Fprintf(&b, `<line x1="%.1f" y1="%.0f" x2="%.1f" y2="%.0f" stroke="%s" stroke-dasharray="6,3"/>`+"\n", xs(v.Default), top, xs(v.Default), top+ph, col)
		fmt.Fprintf(&b, `<line x1="%.1f" y1="%.0f" x2="%.1f" y2="%.0f" stroke="%s" stroke-dasharray="1,3"/>`+"\n", xs(v.Recommended), top, xs(v.Recommended), top+ph, col)
		var pts []string
		for _, p := range points {
			if p.Target != v.Target {
				continue
			}
			x, y := xs(p.PreStop), ys(p.Rate())
			pts = append(pts, fmt.Sprintf("%.1f,%.1f", x, y))
			fmt.Fprintf(&b, `<circle cx="%.1f" cy="%.1f" r="3" fill="%s"><title>%s</title></circle>`+"\n", x, y, col, html.EscapeString(p.CurveLine()))
		}
		fmt.Fprintf(&b, `<polyline points="%s" fill="none" stroke="%s" stroke-width="1.5"/>`+"\n", strings.Join(pts, " "), col)
		ly := top + 10 + float64(legend)*40
		fmt.Fprintf(&b, `<line x1="%.0f" y1="%.0f" x2="%.0f" y2="%.0f" stroke="%s" stroke-width="2"/><text x="%.0f" y="%.0f">%s</text>`+"\n",
			left+pw+10, ly, left+pw+30, ly, col, left+pw+35, ly+4, v.Target)
		fmt.Fprintf(&b, `<text x="%.0f" y="%.0f" fill="#555">default %d s (dashed)</text><text x="%.0f" y="%.0f" fill="#555">recommended %d s (dotted)</text>`+"\n",
			left+pw+35, ly+16, v.Default, left+pw+35, ly+28, v.Recommended)
		legend++
	}
	b.WriteString("</svg>\n")
	_, err := io.WriteString(w, b.String())
	return err
}
