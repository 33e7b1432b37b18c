package main

// A small SVG line plot, enough for the README: linear or log axes,
// one polyline per series with markers, a legend.

import (
	"fmt"
	"math"
	"os"
	"path/filepath"
	"strings"
)

type plotSeries struct {
	Name   string
	X, Y   []float64
	Dashed bool
}

type plot struct {
	Title, XLabel, YLabel string
	LogX, LogY            bool
	Series                []plotSeries
}

var plotColors = []string{"#d62728", "#1f77b4", "#2ca02c", "#9467bd", "#ff7f0e", "#8c564b", "#7f7f7f", "#17becf"}

// plotTicks are the tick values between lo and hi: decades on a log axis,
// 1-2-5 steps on a linear one.
func plotTicks(lo, hi float64, log bool) []float64 {
	var t []float64
	if log {
		for e := math.Floor(math.Log10(lo)); e <= math.Ceil(math.Log10(hi)); e++ {
			t = append(t, math.Pow(10, e))
		}
		return t
	}
	span := hi - lo
	if span <= 0 {
		span = 1
	}
	step := math.Pow(10, math.Floor(math.Log10(span/5)))
	for _, m := range []float64{1, 2, 5, 10} {
		if span/(step*m) <= 6 {
			step *= m
			break
		}
	}
	for v := math.Floor(lo/step) * step; v <= hi+step/2; v += step {
		t = append(t, v)
	}
	return t
}

func writePlot(path string, p plot) error {
	const w, h, left, right, top, bottom = 720, 420, 70, 190, 40, 50
	lox, hix, loy, hiy := math.Inf(1), math.Inf(-1), math.Inf(1), math.Inf(-1)
	for _, s := range p.Series {
		for i := range s.X {
			if (p.LogX && s.X[i] <= 0) || (p.LogY && s.Y[i] <= 0) {
				continue
			}
			lox, hix = math.Min(lox, s.X[i]), math.Max(hix, s.X[i])
			loy, hiy = math.Min(loy, s.Y[i]), math.Max(hiy, s.Y[i])
		}
	}
	if math.IsInf(lox, 0) {
		return fmt.Errorf("%s: nothing to plot", path)
	}
	if !p.LogY {
		loy = math.Min(loy, 0)
	}
	xt, yt := plotTicks(lox, hix, p.LogX), plotTicks(loy, hiy, p.LogY)
	lox, hix = math.Min(lox, xt[0]), math.Max(hix, xt[len(xt)-1])
	loy, hiy = math.Min(loy, yt[0]), math.Max(hiy, yt[len(yt)-1])
	scale := func(v, lo, hi float64, log bool) float64 {
		if log {
			v, lo, hi = math.Log10(v), math.Log10(lo), math.Log10(hi)
		}
		if hi == lo {
			return 0.5
		}
		return (v - lo) / (hi - lo)
	}
	px := func(x float64) float64 { return left + scale(x, lox, hix, p.LogX)*(w-left-right) }
	py := func(y float64) float64 { return h - bottom - scale(y, loy, hiy, p.LogY)*(h-top-bottom) }
	num := func(v float64) string { return strings.TrimSuffix(fmt.Sprintf("%.4g", v), ".0") }

	var b strings.Builder
	fmt.Fprintf(&b, `<svg xmlns="http://www.w3.org/2000/svg" width="%d" height="%d" viewBox="0 0 %d %d" font-family="sans-serif" font-size="12">`+"\n", w, h, w, h)
	fmt.Fprintf(&b, `<rect width="100%%" height="100%%" fill="white"/>`+"\n")
	fmt.Fprintf(&b, `<text x="%d" y="22" font-size="14">%s</text>`+"\n", left, plotEscape(p.Title))
	for _, x := range xt {
		fmt.Fprintf(&b, `<line x1="%.1f" y1="%d" x2="%.1f" y2="%d" stroke="#ddd"/><text x="%.1f" y="%d" text-anchor="middle">%s</text>`+"\n", px(x), top, px(x), h-bottom, px(x), h-bottom+16, num(x))
	}
	for _, y := range yt {
		fmt.Fprintf(&b, `<line x1="%d" y1="%.1f" x2="%d" y2="%.1f" stroke="#ddd"/><text x="%d" y="%.1f" text-anchor="end">%s</text>`+"\n", left, py(y), w-right, py(y), left-6, py(y)+4, num(y))
	}
	fmt.Fprintf(&b, `<rect x="%d" y="%d" width="%d" height="%d" fill="none" stroke="black"/>`+"\n", left, top, w-left-right, h-top-bottom)
	fmt.Fprintf(&b, `<text x="%d" y="%d" text-anchor="middle">%s</text>`+"\n", left+(w-left-right)/2, h-12, plotEscape(p.XLabel))
	fmt.Fprintf(&b, `<text transform="translate(16 %d) rotate(-90)" text-anchor="middle">%s</text>`+"\n", top+(h-top-bottom)/2, plotEscape(p.YLabel))
	for i, s := range p.Series {
		c := plotColors[i%len(plotColors)]
		dash := ""
		if s.Dashed {
			dash = ` stroke-dasharray="6 4"`
		}
		var pts []string
		for j := range s.X {
			if (p.LogX && s.X[j] <= 0) || (p.LogY && s.Y[j] <= 0) {
				continue
			}
			pts = append(pts, fmt.Sprintf("%.1f,%.1f", px(s.X[j]), py(s.Y[j])))
		}
		fmt.Fprintf(&b, `<polyline fill="none" stroke="%s" stroke-width="2"%s points="%s"/>`+"\n", c, dash, strings.Join(pts, " "))
		if !s.Dashed && len(pts) <= 40 {
			for _, pt := range pts {
				x, y, _ := strings.Cut(pt, ",")
				fmt.Fprintf(&b, `<circle cx="%s" cy="%s" r="3" fill="%s"/>`+"\n", x, y, c)
			}
		}
		ly := top + 10 + 20*i
		fmt.Fprintf(&b, `<line x1="%d" y1="%d" x2="%d" y2="%d" stroke="%s" stroke-width="2"%s/><text x="%d" y="%d">%s</text>`+"\n", w-right+12, ly, w-right+36, ly, c, dash, w-right+42, ly+4, plotEscape(s.Name))
	}
	b.WriteString("</svg>\n")
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return err
	}
	return os.WriteFile(path, []byte(b.String()), 0o644)
}

func plotEscape(s string) string {
	return strings.NewReplacer("&", "&amp;", "<", "&lt;", ">", "&gt;").Replace(s)
}
