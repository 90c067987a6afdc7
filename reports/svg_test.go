package reports

import (
	"math"
	"slices"
	"strings"
	"testing"

	"github.com/wsharness/wsharness/loadgen"
	"github.com/wsharness/wsharness/loadgen/metrics"
)

func TestSVGLinearTicks(t *testing.T) {
	for _, c := range []struct {
		lo, hi        float64
		start, end    float64
		first, second float64
	}{
		{0, 4000, 0, 4000, 0, 1000},
		{0, 1010, 0, 1250, 0, 250},
		{0, 0, 0, 1, 0, 0.2},
		{2.5, 12.5, 2, 14, 2, 4},
	} {
		start, end, ticks := svgLinearTicks(c.lo, c.hi)
		if start != c.start || end != c.end || len(ticks) < 2 || ticks[0] != c.first || ticks[1] != c.second {
			t.Errorf("svgLinearTicks(%v, %v) = %v, %v, %v", c.lo, c.hi, start, end, ticks)
		}
		if start > c.lo || end < c.hi {
			t.Errorf("svgLinearTicks(%v, %v): range %v..%v does not cover the data", c.lo, c.hi, start, end)
		}
	}
}

func TestSVGLogTicks(t *testing.T) {
	lo, hi, ticks := svgLogTicks(420, 17000)
	if lo != 100 || hi != 100000 {
		t.Errorf("range %v..%v, want 100..100000", lo, hi)
	}
	if !slices.Equal(ticks, []float64{100, 1000, 10000, 100000}) {
		t.Errorf("ticks %v", ticks)
	}
	_, _, ticks = svgLogTicks(600, 3000) // few decades: 2 and 5 too
	if !slices.Contains(ticks, 200) || !slices.Contains(ticks, 5000) {
		t.Errorf("ticks %v lack the 2× and 5× marks", ticks)
	}
}

func TestSVGLabels(t *testing.T) {
	for x, want := range map[float64]string{math.Log10(2): "50%", 1: "90%", 2: "99%", 3: "99.9%", 5: "99.999%"} {
		if got := svgPercentileLabel(x); got != want {
			t.Errorf("svgPercentileLabel(%v) = %q, want %q", x, got, want)
		}
	}
	for us, want := range map[float64]string{0: "0", 500: "500 µs", 2000: "2 ms", 1500: "1.5 ms", 2e6: "2 s"} {
		if got := svgFormatMicros(us); got != want {
			t.Errorf("svgFormatMicros(%v) = %q, want %q", us, got, want)
		}
	}
	for v, want := range map[float64]string{12: "12", 1500: "1500", 25000: "25k", 3e6: "3M"} {
		if got := svgFormatCount(v); got != want {
			t.Errorf("svgFormatCount(%v) = %q, want %q", v, got, want)
		}
	}
}

func TestSVGLayout(t *testing.T) {
	c := svgLayout(svgSpec{
		ID: "c", Title: "t", YLog: true,
		Series: []svgSeriesData{
			{Name: "a", Color: "#000", Points: []svgXY{{0, 10}, {1, math.NaN()}, {2, 100}, {3, 1000}}},
			{Name: "b", Color: "#111", Points: []svgXY{{0, 0}, {1, 50}}}, // 0 cannot be drawn on a log axis
		},
	})
	if c.Empty != "" {
		t.Fatalf("chart empty: %s", c.Empty)
	}
	// The NaN breaks series a into two sub-paths.
	if n := strings.Count(c.Series[0].D, "M"); n != 2 {
		t.Errorf("series a path %q has %d sub-paths, want 2", c.Series[0].D, n)
	}
	if strings.Count(c.Series[1].D, "M") != 1 || strings.Contains(c.Series[1].D, "L") {
		t.Errorf("series b path %q should be a single point", c.Series[1].D)
	}
	if len(c.Series[1].Marks) != 1 {
		t.Errorf("series b has %d markers, want 1", len(c.Series[1].Marks))
	}
	if len(c.Legend) != 2 || c.Legend[1].Label != "b" {
		t.Errorf("legend %+v", c.Legend)
	}
	empty := svgLayout(svgSpec{ID: "e", Series: []svgSeriesData{{Name: "a"}}, Empty: "nothing"})
	if empty.Empty != "nothing" || len(empty.Series) != 1 || empty.Series[0].D != "" {
		t.Errorf("empty chart: %+v", empty)
	}
	long := svgLayout(svgSpec{ID: "l", Series: []svgSeriesData{{Name: strings.Repeat("x", 200), Points: []svgXY{{0, 1}}}}})
	if got := long.Legend[0].Label; len([]rune(got)) != svgMaxLegend || !strings.HasSuffix(got, "…") {
		t.Errorf("a long legend label is not shortened: %q", got)
	}
}

func TestHTMLPercentileCurve(t *testing.T) {
	h := metrics.NewHistogram()
	for v := int64(1); v <= 10000; v++ {
		_ = h.RecordValue(v)
	}
	pts := htmlPercentileCurve(h)
	if pts[0].X != svgPercentileX(0.5) {
		t.Errorf("curve starts at x=%v, want the median", pts[0].X)
	}
	last := pts[len(pts)-1]
	if math.Abs(last.X-4) > 1e-9 || last.Y != float64(h.Max()) {
		t.Errorf("curve ends at %+v, want x=4 (10,000 samples resolve 99.99%%) and y=max %d", last, h.Max())
	}
	for i := 1; i < len(pts); i++ {
		if pts[i].Y < pts[i-1].Y || pts[i].X <= pts[i-1].X {
			t.Fatalf("curve not monotonic at %d: %+v then %+v", i, pts[i-1], pts[i])
		}
	}
	if p50 := pts[0].Y; math.Abs(p50-5000) > 10 {
		t.Errorf("median %v, want about 5000", p50)
	}
	if htmlPercentileCurve(metrics.NewHistogram()) != nil {
		t.Error("an empty histogram has no curve")
	}
}

func TestHTMLBadHistogramIsANote(t *testing.T) {
	r := &loadgen.Result{Schema: loadgen.Schema, Scenario: loadgen.ScenarioConnect, Target: "x",
		Params:     loadgen.Params{Conns: 1, RampPerS: 1},
		Histograms: map[string]string{"connect_latency_us": "not a histogram"}}
	out, err := HTML.Render(Input{Load: []*loadgen.Result{r}}, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(out), "could not be decoded") {
		t.Error("a histogram that does not decode is not reported")
	}
	if !strings.Contains(string(out), "no histogram in these results") {
		t.Error("the empty percentile chart does not say why")
	}
}
