package reports

import (
	"fmt"
	"math"
	"sort"
	"strconv"
	"strings"
	"time"

	hdr "github.com/HdrHistogram/hdrhistogram-go"

	"github.com/wsharness/wsharness/internal/numtext"
	"github.com/wsharness/wsharness/loadgen"
	"github.com/wsharness/wsharness/loadgen/metrics"
)

// htmlLoadGroup is one workload (scenario and parameters, as named by
// ScenarioLabel) with every result of it.
type htmlLoadGroup struct {
	ID     string
	Label  string
	Kind   loadgen.Kind
	Params string
	// Limited warns, a line per run, of the runs in which the generator
	// fell behind (see GeneratorLimits).
	Limited []string
	Columns []htmlColumn
	Rows    []htmlLoadRow
	Runs    []htmlLoadRun
	Charts  []svgChart
	Notes   []string
}

type htmlColumn struct {
	Name  string
	Title string // tooltip
	Text  bool   // sorts as text
}

type htmlLoadRow struct {
	Name        string
	Color       string
	Interrupted bool
	Limited     bool // the generator fell behind in this run
	Cells       []htmlNumCell
}

// htmlNumCell is a table cell; Sort is the raw value the script sorts by,
// empty when the figure is missing.
type htmlNumCell struct {
	Text string
	Sort string
}

// htmlLoadRun is the per-run detail listed under a group's table.
type htmlLoadRun struct {
	Name        string
	Color       string
	Started     string
	URL         string
	Interrupted bool
	Failures    string
	Thresholds  []htmlThreshold
}

type htmlThreshold struct {
	Expr   string
	Value  string
	Passed bool
}

type htmlLoadEntry struct {
	r     *loadgen.Result
	name  string // legend and row name
	color string
	dash  string
}

func htmlLoadGroups(all []*loadgen.Result, colors map[string]string) []htmlLoadGroup {
	var out []htmlLoadGroup
	for gi, w := range groupLoad(all) { // interrupted runs too, marked
		out = append(out, htmlLoadGroupOf(gi, w.label, w.runs(), colors))
	}
	return out
}

// htmlLoadFigures are the columns of a workload's table after the
// target's.
func htmlLoadFigures(withGenerator, overH2 bool) []*loadFigure {
	figs := []*loadFigure{figThroughput, figPrimaryP50, figPrimaryP90, figPrimaryP99, figPrimaryP999, figPrimaryMax,
		figLost, figErrors, figDelivery, figConnectP99, figEstablished}
	if overH2 {
		figs = append(figs, figTCP)
	}
	figs = append(figs, figClientCPU, figClientRSS)
	if withGenerator {
		figs = append(figs, generatorFigures...)
	}
	return append(figs, figServerCPU, figServerRSS)
}

// htmlFigureCell is a run's figure in a table cell.
func htmlFigureCell(f *loadFigure, r *loadgen.Result) htmlNumCell {
	v, text, ok := f.textOf(r)
	if !ok {
		return htmlNumCell{Text: "—"}
	}
	// One run's cell says what its figure is out of.
	switch f {
	case figEstablished:
		text += " / " + numtext.Thousands(r.Connections.Target)
	case figGeneratorCPU:
		text += fmt.Sprintf(" of %d cores", r.Generator.Cores)
	}
	return htmlNum(v, text)
}

func htmlLoadGroupOf(gi int, label string, rs []*loadgen.Result, colors map[string]string) htmlLoadGroup {
	sort.SliceStable(rs, func(i, j int) bool {
		if rs[i].Target != rs[j].Target {
			return rs[i].Target < rs[j].Target
		}
		return rs[i].Started.Before(rs[j].Started)
	})
	perTarget := map[string]int{}
	for _, r := range rs {
		perTarget[r.Target]++
	}
	seen := map[string]int{}
	entries := make([]htmlLoadEntry, len(rs))
	for i, r := range rs {
		n := seen[r.Target]
		seen[r.Target]++
		name := r.Target
		if perTarget[r.Target] > 1 {
			name += fmt.Sprintf(" #%d", n+1)
		}
		if r.Interrupted {
			name += " (interrupted)"
		}
		entries[i] = htmlLoadEntry{r: r, name: name, color: colors[r.Target], dash: svgDashes[n%len(svgDashes)]}
	}
	kind := rs[0].Kind()
	g := htmlLoadGroup{ID: fmt.Sprintf("load-%d", gi), Label: label, Kind: kind, Params: htmlParams(rs[0])}
	figs := htmlLoadFigures(hasGenerator(rs), rs[0].Params.OverH2())
	g.Columns = []htmlColumn{{Name: "target", Text: true}}
	for _, f := range figs {
		col := htmlColumn{Name: f.nameFor(rs[0]), Title: f.about}
		if f == figThroughput {
			col.Title = htmlThroughputTitle(kind)
		}
		g.Columns = append(g.Columns, col)
	}
	for _, e := range entries {
		r := e.r
		row := htmlLoadRow{Name: e.name, Color: e.color, Interrupted: r.Interrupted, Limited: r.GeneratorLimited()}
		if why := GeneratorLimits(r); why != "" {
			g.Limited = append(g.Limited, e.name+": "+why+"; "+GeneratorLimitedMeaning+".")
		}
		row.Cells = append(row.Cells, htmlNumCell{Text: e.name, Sort: e.name})
		for _, f := range figs {
			row.Cells = append(row.Cells, htmlFigureCell(f, r))
		}
		g.Rows = append(g.Rows, row)

		run := htmlLoadRun{Name: e.name, Color: e.color, URL: r.URL, Interrupted: r.Interrupted}
		if !r.Started.IsZero() {
			run.Started = r.Started.UTC().Format("2006-01-02 15:04:05 UTC")
		}
		run.Failures = countsText(r.Connections.Failures)
		for _, t := range r.Thresholds {
			run.Thresholds = append(run.Thresholds, htmlThreshold{Expr: t.Expr, Value: strconv.FormatFloat(t.Value, 'g', -1, 64), Passed: t.Passed})
		}
		g.Runs = append(g.Runs, run)
	}
	primary, _, ok := rs[0].Primary()
	if !ok { // a kind this build does not know
		primary.Name = "primary"
	}
	g.Charts, g.Notes = htmlLoadCharts(g.ID, kind, primary, entries)
	return g
}

func htmlThroughputTitle(kind loadgen.Kind) string {
	if counts := throughputCounts(kind); counts != "" {
		return counts + " per second in the measured window"
	}
	return "connect runs send no messages"
}

func htmlParams(r *loadgen.Result) string {
	p := r.Params
	parts := []string{
		"measured " + (time.Duration(p.DurationMS) * time.Millisecond).String(),
	}
	if r.Kind() != loadgen.KindConnect {
		parts = append(parts, "warm-up "+(time.Duration(p.WarmupMS)*time.Millisecond).String())
	}
	if p.RampPerS > 0 {
		parts = append(parts, "ramp "+numtext.Rounded(p.RampPerS)+" conns/s")
	} else {
		parts = append(parts, "ramp unpaced")
	}
	if p.MaxInflight > 0 {
		parts = append(parts, fmt.Sprintf("max in-flight %d per connection", p.MaxInflight))
	}
	if p.ExcludeSender {
		parts = append(parts, "sender excluded")
	}
	if m := r.Kind().Measures(); m != "" {
		parts = append(parts, m)
	}
	return strings.Join(parts, "; ")
}

func htmlNum(v float64, text string) htmlNumCell {
	return htmlNumCell{Text: text, Sort: strconv.FormatFloat(v, 'g', -1, 64)}
}

// htmlLoadCharts draws a group's charts: the percentile distribution of
// its main latency (and broadcast completion), then the timelines.
func htmlLoadCharts(id string, kind loadgen.Kind, primary loadgen.Figure, es []htmlLoadEntry) ([]svgChart, []string) {
	var charts []svgChart
	var notes []string

	hdrChart := func(suffix, key, title, ylabel string) {
		spec := svgSpec{
			ID: id + "-" + suffix, Title: title,
			XLabel: "percentile (log scale of 1/(1−q))", YLabel: ylabel,
			XPercentile: true, XFixed: true, XMin: svgPercentileX(0.5), XMax: svgPercentileX(0.99999),
			YLog: true, YFormat: svgFormatMicros,
			Empty: "no histogram in these results",
		}
		for _, e := range es {
			ser := svgSeriesData{Name: e.name, Color: e.color, Dash: e.dash}
			if s, ok := e.r.Histograms[key]; ok && s != "" {
				h, err := metrics.Decode(s)
				if err != nil {
					notes = append(notes, fmt.Sprintf("%s: histogram %s could not be decoded: %v", e.name, key, err))
				} else {
					ser.Points = htmlPercentileCurve(h)
				}
			}
			spec.Series = append(spec.Series, ser)
		}
		charts = append(charts, svgLayout(spec))
	}
	if primary.Histogram != "" {
		hdrChart("hdr", primary.Histogram, "Percentile distribution: "+primary.Name, primary.Name+" (log scale)")
	}
	if kind == loadgen.KindBroadcast {
		hdrChart("completion", loadgen.FigureCompletion.Histogram, "Percentile distribution: broadcast completion (last receiver)", "completion time (log scale)")
	}

	bands := htmlPhaseBands(es)
	timeline := func(suffix, title, ylabel string, ylog bool, yfmt func(float64) string, minTop float64, get func(e htmlLoadEntry, s loadgen.Second) float64) {
		spec := svgSpec{
			ID: id + "-" + suffix, Title: title,
			XLabel: "time since the first connection attempt", YLabel: ylabel,
			XFormat: svgFormatSeconds, XZero: true, YLog: ylog, YZero: !ylog, YFormat: yfmt, YMinTop: minTop,
			Bands: bands, Empty: "no timeline in these results",
		}
		for _, e := range es {
			ser := svgSeriesData{Name: e.name, Color: e.color, Dash: e.dash}
			for _, s := range e.r.Timeline {
				ser.Points = append(ser.Points, svgXY{X: float64(s.T), Y: get(e, s)})
			}
			spec.Series = append(spec.Series, ser)
		}
		charts = append(charts, svgLayout(spec))
	}
	if kind != loadgen.KindConnect {
		what := "replies/s"
		if kind == loadgen.KindBroadcast {
			what = "deliveries/s"
		}
		timeline("throughput", "Throughput: "+what+" per second", what, false, svgFormatCount, 0,
			func(_ htmlLoadEntry, s loadgen.Second) float64 { return float64(s.Received) })
	}
	// p99 per second: log scale when the values span a wide range.
	lo, hi := math.Inf(1), 0.0
	for _, e := range es {
		for _, s := range e.r.Timeline {
			if s.P99US > 0 {
				lo, hi = math.Min(lo, float64(s.P99US)), math.Max(hi, float64(s.P99US))
			}
		}
	}
	p99log := hi > 0 && hi/lo > 30
	p99label := primary.Name + " p99"
	if p99log {
		p99label += " (log scale)"
	}
	timeline("p99", "p99 per second: "+primary.Name, p99label, p99log, svgFormatMicros, 0,
		func(_ htmlLoadEntry, s loadgen.Second) float64 {
			if s.P99US <= 0 {
				return math.NaN()
			}
			return float64(s.P99US)
		})
	timeline("conns", "Open connections", "connections", false, svgFormatCount, 0,
		func(_ htmlLoadEntry, s loadgen.Second) float64 { return float64(s.Conns) })
	if kind == loadgen.KindBroadcast {
		timeline("delivery", "Delivery ratio per second (deliveries / broadcasts sent × receivers)", "delivery ratio", false, svgFormatRatio, 1,
			func(e htmlLoadEntry, s loadgen.Second) float64 {
				per := htmlReceivers(e.r)
				if s.Sent <= 0 || per <= 0 {
					return math.NaN()
				}
				return float64(s.Received) / (float64(s.Sent) * per)
			})
	}
	return charts, notes
}

// htmlReceivers is how many deliveries one broadcast should make.
func htmlReceivers(r *loadgen.Result) float64 {
	if m := r.Messages; m != nil && m.Sent > 0 && m.Expected > 0 {
		return float64(m.Expected) / float64(m.Sent)
	}
	n := float64(r.Connections.Established)
	if r.Params.ExcludeSender {
		n--
	}
	return n
}

// htmlPercentileCurve samples a histogram along the percentile axis, from
// the median to the last percentile its sample count resolves, ending at
// the maximum.
func htmlPercentileCurve(h *hdr.Histogram) []svgXY {
	n := h.TotalCount()
	if n == 0 {
		return nil
	}
	x0 := svgPercentileX(0.5)
	end := math.Min(svgPercentileX(0.99999), math.Log10(float64(n)))
	var pts []svgXY
	const step = 0.025
	for i := 0; ; i++ {
		x := x0 + float64(i)*step
		if x >= end {
			break
		}
		q := 1 - math.Pow(10, -x)
		pts = append(pts, svgXY{X: x, Y: float64(h.ValueAtQuantile(q * 100))})
	}
	end = math.Max(end, x0)
	pts = append(pts, svgXY{X: end, Y: float64(h.Max())})
	return pts
}

// htmlPhaseBands shades the measured (connect: hold) seconds of a group.
func htmlPhaseBands(es []htmlLoadEntry) []svgBandData {
	lo, hi := math.Inf(1), math.Inf(-1)
	label := ""
	for _, e := range es {
		for _, s := range e.r.Timeline {
			if s.Phase == loadgen.PhaseMeasure || s.Phase == loadgen.PhaseHold {
				lo, hi = math.Min(lo, float64(s.T-1)), math.Max(hi, float64(s.T))
				if label == "" {
					label = s.Phase
				}
			}
		}
	}
	if hi <= lo {
		return nil
	}
	if label == loadgen.PhaseMeasure {
		label = "measured"
	}
	return []svgBandData{{X0: lo, X1: hi, Label: label}}
}
