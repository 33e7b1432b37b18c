package main

import (
	"encoding/xml"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

func TestPlotTicks(t *testing.T) {
	for _, c := range []struct {
		lo, hi float64
		log    bool
		want   []float64
	}{
		{1, 1000, true, []float64{1, 10, 100, 1000}},
		{0.68, 123, true, []float64{0.1, 1, 10, 100, 1000}},
		{0, 264, false, []float64{0, 50, 100, 150, 200, 250}},
		{0, 3, false, []float64{0, 0.5, 1, 1.5, 2, 2.5, 3}},
	} {
		got := plotTicks(c.lo, c.hi, c.log)
		for i := range got { // 0.1+0.2-style sums: compare to 1e-9
			if i < len(c.want) && got[i]-c.want[i] < 1e-9 && c.want[i]-got[i] < 1e-9 {
				got[i] = c.want[i]
			}
		}
		if !slices.Equal(got, c.want) {
			t.Errorf("plotTicks(%v, %v, %v) = %v; want %v", c.lo, c.hi, c.log, got, c.want)
		}
	}
}

// The plot is well-formed SVG with one line and one legend entry per
// series, and names are escaped.
func TestWritePlot(t *testing.T) {
	path := filepath.Join(t.TempDir(), "p.svg")
	err := writePlot(path, plot{Title: "a <b> & c", LogX: true, LogY: true, Series: []plotSeries{
		{Name: "vigil", X: []float64{1, 10, 100}, Y: []float64{3.3, 3.4, 4.3}},
		{Name: "floor", X: []float64{1, 100}, Y: []float64{1.9, 1.9}, Dashed: true},
	}})
	if err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	d := xml.NewDecoder(strings.NewReader(string(b)))
	lines := 0
	for {
		tok, err := d.Token()
		if err != nil {
			break
		}
		if se, ok := tok.(xml.StartElement); ok && se.Name.Local == "polyline" {
			lines++
		}
	}
	if lines != 2 {
		t.Errorf("%d polylines; want 2", lines)
	}
	if !strings.Contains(string(b), "a &lt;b&gt; &amp; c") {
		t.Errorf("title not escaped in %s", b)
	}
	if err := writePlot(path, plot{LogY: true, Series: []plotSeries{{Name: "zero", X: []float64{1}, Y: []float64{0}}}}); err == nil {
		t.Error("a log plot of only zeros was written; want an error")
	}
}

func TestMinMed(t *testing.T) {
	for _, c := range []struct {
		xs       []float64
		min, med float64
	}{
		{nil, 0, 0},
		{[]float64{3}, 3, 3},
		{[]float64{5, 1, 3}, 1, 3},
		{[]float64{4, 1, 3, 2}, 1, 3},
	} {
		if mn, md := minMed(c.xs); mn != c.min || md != c.med {
			t.Errorf("minMed(%v) = %v, %v; want %v, %v", c.xs, mn, md, c.min, c.med)
		}
	}
}
