package reports

import (
	"bytes"
	"cmp"
	"fmt"
	"maps"
	"math"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/wsharness/wsharness/internal/numtext"
	"github.com/wsharness/wsharness/loadgen"
)

// LoadComparison renders load results as one Markdown table: a section per
// workload (scenario and its parameters, see ScenarioLabel), a row per
// metric and a column per target. Each cell is the median over the runs of
// that target and workload of the figure each run reported; for a
// percentile that is the median of the runs' own percentiles; percentiles
// are never averaged. With an even number of runs the median is the lower
// of the two middle values, so a cell always shows a value some run
// measured. Interrupted runs are left out; a cell whose figure is missing
// from some of its runs says on how many it rests. A workload a target has
// no result for shows "—".
func LoadComparison(results []*loadgen.Result) []byte {
	var targets []string
	seenTarget := map[string]bool{}
	groups := map[string]*loadGroup{}
	skipped := 0
	for _, r := range results {
		if r == nil {
			continue
		}
		if r.Interrupted {
			skipped++
			continue
		}
		if !seenTarget[r.Target] {
			seenTarget[r.Target] = true
			targets = append(targets, r.Target)
		}
		label := ScenarioLabel(r)
		g := groups[label]
		if g == nil {
			g = &loadGroup{label: label, first: r, byTarget: map[string][]*loadgen.Result{}}
			groups[label] = g
		}
		g.byTarget[r.Target] = append(g.byTarget[r.Target], r)
	}
	var b bytes.Buffer
	if len(groups) == 0 {
		b.WriteString("No load results.\n")
		return b.Bytes()
	}
	ordered := slices.SortedFunc(maps.Values(groups), func(a, c *loadGroup) int {
		return cmp.Or(loadgen.Compare(a.first, c.first), strings.Compare(a.label, c.label))
	})

	b.WriteString("| workload | metric |")
	for _, t := range targets {
		fmt.Fprintf(&b, " %s |", mdEscape(t))
	}
	b.WriteString("\n|---|---|")
	for range targets {
		b.WriteString("--:|")
	}
	b.WriteString("\n")
	minRuns, maxRuns := math.MaxInt, 0
	var limited []string // the note under the table, a line per generator-limited run
	var firsts []*loadgen.Result
	withGenerator := false
	for _, g := range ordered {
		firsts = append(firsts, g.first)
		withGenerator = withGenerator || slices.ContainsFunc(g.runs(), func(r *loadgen.Result) bool { return r.Generator != nil })
		workload := "**" + mdEscape(g.label) + "**"
		if g.limited() {
			// First, so that nobody reads the figures below without it.
			fmt.Fprintf(&b, "| %s | %s |", workload, generatorLimitedMark)
			workload = ""
			for _, t := range targets {
				fmt.Fprintf(&b, " %s |", limitedCell(g.byTarget[t], "—"))
				for _, line := range limitedLines(g.label, t, g.byTarget[t]) {
					limited = append(limited, "- "+mdText(line)+"\n")
				}
			}
			b.WriteString("\n")
		}
		for _, m := range metricsFor(g.first, g.runs()) {
			values := make([][]float64, len(targets))
			lower := make([]bool, len(targets))
			for ti, t := range targets {
				for _, r := range g.byTarget[t] {
					if v, ok := m.get(r); ok {
						values[ti] = append(values[ti], v)
						if f := atLeast[m.name]; f != nil && f(r) {
							lower[ti] = true
						}
					}
				}
				if n := len(g.byTarget[t]); n > 0 {
					minRuns, maxRuns = min(minRuns, n), max(maxRuns, n)
				}
			}
			fmt.Fprintf(&b, "| %s | %s |", workload, m.name)
			workload = ""
			for ti, t := range targets {
				vs := values[ti]
				if len(vs) == 0 {
					b.WriteString(" — |")
					continue
				}
				cell := m.format(Median(vs))
				if lower[ti] {
					cell = "≥" + cell
				}
				if runs := len(g.byTarget[t]); len(vs) < runs {
					cell += fmt.Sprintf(" (%d of %d runs)", len(vs), runs)
				}
				fmt.Fprintf(&b, " %s |", cell)
			}
			b.WriteString("\n")
		}
	}
	if len(limited) > 0 {
		fmt.Fprintf(&b, "\n%s runs: the load generator fell behind; %s.\n\n", generatorLimitedMark, GeneratorLimitedMeaning)
		b.WriteString(strings.Join(limited, ""))
	}
	upTo := ""
	if minRuns < maxRuns {
		upTo = "up to "
	}
	fmt.Fprintf(&b, "\nMedians over %s%s per target and workload: each cell is the median of the figure each run reported "+
		"(for percentiles, the median of the runs' own percentiles; percentiles are never averaged; "+
		"with an even number of runs, the lower middle value).", upTo, numtext.Plural(maxRuns, "run"))
	if skipped > 0 {
		fmt.Fprintf(&b, " %s left out as interrupted.", numtext.Plural(skipped, "run"))
	}
	if note := measuresNote(firsts); note != "" {
		b.WriteString(" " + note)
	}
	if withGenerator {
		b.WriteString(" " + generatorNote)
	}
	b.WriteString(" Server CPU, peak RSS and client KiB/conn cover the whole run " +
		"(connecting, warm-up, measurement, drain); client µs CPU/message is the generator's CPU time in the measured " +
		"window divided by the messages it sent and received in that window. Connections/s is the rate " +
		"achieved during the ramp: connections made divided by the time from the first attempt to the last success.\n")
	return b.Bytes()
}

type loadGroup struct {
	label string
	// first is a result of the group: all share the kind and parameters
	// that order the group (loadgen.Compare) and choose its rows.
	first    *loadgen.Result
	byTarget map[string][]*loadgen.Result
}

// runs lists every result of the group.
func (g *loadGroup) runs() []*loadgen.Result {
	var rs []*loadgen.Result
	for _, t := range slices.Sorted(maps.Keys(g.byTarget)) {
		rs = append(rs, g.byTarget[t]...)
	}
	return rs
}

// limited reports whether the generator fell behind in any run.
func (g *loadGroup) limited() bool {
	return slices.ContainsFunc(g.runs(), (*loadgen.Result).GeneratorLimited)
}

// generatorLimitedMark flags generator-limited runs in the tables.
const generatorLimitedMark = "⚠ generator-limited"

// limitedCell says whether the generator fell behind in a target's runs
// of a workload; missing when none of the runs tells.
func limitedCell(rs []*loadgen.Result, missing string) string {
	n, known := 0, 0
	for _, r := range rs {
		if r.Generator != nil {
			known++
		}
		if r.GeneratorLimited() {
			n++
		}
	}
	switch {
	case known == 0:
		return missing
	case n == 0:
		return "no"
	case n == len(rs):
		return generatorLimitedMark
	}
	return fmt.Sprintf("%s (%d of %d runs)", generatorLimitedMark, n, len(rs))
}

// limitedLines names each run of a target on a workload in which the
// generator fell behind, with how, for the note under a table.
func limitedLines(label, target string, rs []*loadgen.Result) []string {
	var lines []string
	for i, r := range rs {
		if why := GeneratorLimits(r); why != "" {
			run := ""
			if len(rs) > 1 {
				run = fmt.Sprintf(" (run %d of %d)", i+1, len(rs))
			}
			lines = append(lines, fmt.Sprintf("%s, %s%s: %s.", label, target, run, why))
		}
	}
	return lines
}

// GeneratorLimits lists how the load generator fell behind in r, each
// Limit's detail, "; "-separated: "" when it kept up or the result
// predates the generator's own figures.
func GeneratorLimits(r *loadgen.Result) string {
	if !r.GeneratorLimited() {
		return ""
	}
	details := make([]string, len(r.Generator.Limited))
	for i, l := range r.Generator.Limited {
		details[i] = l.Detail
	}
	return strings.Join(details, "; ")
}

// GeneratorLimitedMeaning is what a generator-limited run means for its
// figures, as every report and summary words it.
const GeneratorLimitedMeaning = "the figures may describe the generator rather than the server"

// generatorNote explains the generator rows and columns.
const generatorNote = "Generator lag is how late the load generator itself sent (timer wake-up, descheduling), " +
	"kept out of the latency; generator CPU is its CPU time in the measured window divided by the window " +
	"(1.00 = one core busy throughout); its late sends are the measured sends it started more than its lag limit " +
	"(--lag-limit) late by its own fault."

// measuresNote says what the primary figure of each kind among rs
// measures, in report order, as loadgen words it.
func measuresNote(rs []*loadgen.Result) string {
	rs = slices.SortedFunc(slices.Values(rs), loadgen.Compare)
	var parts []string
	for i, r := range rs {
		if i > 0 && r.Kind() == rs[i-1].Kind() {
			continue
		}
		if m := r.Kind().Measures(); m != "" {
			parts = append(parts, m)
		}
	}
	if len(parts) == 0 {
		return ""
	}
	return "Primary figures: " + strings.Join(parts, "; ") + "."
}

// ScenarioLabel names the workload of a result from its parameters, so
// that results of the same workload group together whatever produced
// them, e.g. "echo 1,000 conns, 4,000 msg/s, 128 B text".
func ScenarioLabel(r *loadgen.Result) string {
	p := r.Params
	kind := "text"
	if p.Binary {
		kind = "binary"
	}
	switch r.Kind() {
	case loadgen.KindEchoRate:
		return fmt.Sprintf("echo %s conns, %s msg/s, %d B %s", numtext.Thousands(p.Conns), numtext.Number(p.Rate), p.Size, kind)
	case loadgen.KindEchoClosed:
		return fmt.Sprintf("echo closed loop %s conns, %d B %s", numtext.Thousands(p.Conns), p.Size, kind)
	case loadgen.KindBroadcast:
		return fmt.Sprintf("broadcast to %s conns, %s/s from %s", numtext.Thousands(p.Conns), numtext.Number(p.Rate), numtext.Plural(max(p.Senders, 1), "sender"))
	case loadgen.KindConnect:
		return fmt.Sprintf("connect %s conns at %s/s, hold %s", numtext.Thousands(p.Conns), numtext.Number(p.RampPerS), time.Duration(p.DurationMS)*time.Millisecond)
	}
	return fmt.Sprintf("%s %s conns", r.Scenario, numtext.Thousands(p.Conns))
}

// ConnectRate is the rate at which connections were established while the
// ramp ran: the generator's own figure when the result has it, else read
// from the per-second timeline: the connections open at the
// last tick that was still in the ramp, divided by that tick's time. When
// the ramp ended before the first tick, it returns the connections
// established divided by one second and lowerBound is true.
func ConnectRate(r *loadgen.Result) (perS float64, lowerBound bool, ok bool) {
	if r.Connections.Established == 0 {
		return 0, false, false
	}
	if r.Connections.RatePerS > 0 { // measured by the generator itself
		return r.Connections.RatePerS, false, true
	}
	last := -1
	for i, s := range r.Timeline {
		if s.Phase == loadgen.PhaseRamp && s.T > 0 {
			last = i
		}
	}
	if last < 0 {
		return float64(r.Connections.Established), true, true
	}
	s := r.Timeline[last]
	return float64(s.Conns) / float64(s.T), false, true
}

type loadMetric struct {
	name   string
	get    func(*loadgen.Result) (float64, bool)
	format func(float64) string
}

// atLeast says, for the metrics that need it, when a run's value is only a
// lower bound; the cell then reads "≥".
var atLeast = map[string]func(*loadgen.Result) bool{
	"connections/s": func(r *loadgen.Result) bool { _, lower, _ := ConnectRate(r); return lower },
}

// metricsFor lists the rows of a workload whose results include first:
// its primary figure (loadgen's) and what else its kind reports, then the
// generator's own figures that some of its runs carry.
func metricsFor(first *loadgen.Result, runs []*loadgen.Result) []loadMetric {
	primary, _, _ := first.Primary()
	common := []loadMetric{
		{"server CPU", func(r *loadgen.Result) (float64, bool) {
			if r.Server == nil {
				return 0, false
			}
			return r.Server.CPUSeconds, true
		}, func(v float64) string { return fmt.Sprintf("%.2f s", v) }},
		{"server peak RSS", func(r *loadgen.Result) (float64, bool) {
			if r.Server == nil || r.Server.RSSBytesMax == 0 {
				return 0, false
			}
			return float64(r.Server.RSSBytesMax), true
		}, numtext.MiB},
		{"client KiB/conn", func(r *loadgen.Result) (float64, bool) {
			if r.Client.RSSBytesPerConn == 0 {
				return 0, false
			}
			return r.Client.RSSBytesPerConn / 1024, true
		}, func(v float64) string { return fmt.Sprintf("%.1f", v) }},
	}
	perMessage := loadMetric{"client µs CPU/message", func(r *loadgen.Result) (float64, bool) {
		if r.Client.CPUPerMessageUS == 0 {
			return 0, false
		}
		return r.Client.CPUPerMessageUS, true
	}, func(v float64) string { return fmt.Sprintf("%.1f", v) }}
	throughput := func(name string) loadMetric {
		return loadMetric{name, func(r *loadgen.Result) (float64, bool) {
			if r.Messages == nil {
				return 0, false
			}
			return r.ThroughputPerS, true
		}, func(v float64) string { return numtext.Rounded(v) + "/s" }}
	}
	lost := loadMetric{"lost + errors", func(r *loadgen.Result) (float64, bool) {
		if r.Messages == nil {
			return 0, false
		}
		return float64(r.Messages.Lost + r.Messages.Errors), true
	}, func(v float64) string { return numtext.Thousands(int(v)) }}
	var rows []loadMetric
	switch first.Kind() {
	case loadgen.KindEchoRate:
		rows = append(rows, throughput("throughput (replies)"),
			pct(primary, "p50", p50), pct(primary, "p99", p99), pct(primary, "p99.9", p999), lost)
	case loadgen.KindEchoClosed:
		rows = append(rows, throughput("throughput (replies)"),
			pct(primary, "p50", p50), pct(primary, "p99", p99), lost)
	case loadgen.KindBroadcast:
		rows = append(rows, throughput("deliveries"),
			pct(primary, "p50", p50), pct(primary, "p99", p99), pct(primary, "max", pmax),
			pct(loadgen.FigureCompletion, "p99", p99),
			loadMetric{"delivery ratio", func(r *loadgen.Result) (float64, bool) {
				if r.DeliveryRatio == nil {
					return 0, false
				}
				return *r.DeliveryRatio, true
			}, func(v float64) string { return strconv.FormatFloat(v, 'f', 5, 64) }})
	case loadgen.KindConnect:
		rows = append(rows,
			loadMetric{"established", func(r *loadgen.Result) (float64, bool) {
				return float64(r.Connections.Established), true
			}, func(v float64) string { return numtext.Thousands(int(v)) }},
			pct(primary, "p50", p50), pct(primary, "p99", p99),
			loadMetric{"connections/s", func(r *loadgen.Result) (float64, bool) {
				v, _, ok := ConnectRate(r)
				return v, ok
			}, func(v float64) string { return numtext.Rounded(v) + "/s" }})
		return append(rows, common...)
	}
	rows = append(append(rows, common...), perMessage)
	// Only the generator figures some run has: results written before
	// the generator reported on itself keep their table, and a closed
	// loop, which has no schedule to lag behind, no lag rows.
	for _, m := range generatorMetrics {
		if slices.ContainsFunc(runs, func(r *loadgen.Result) bool { _, ok := m.get(r); return ok }) {
			rows = append(rows, m)
		}
	}
	return rows
}

// generatorMetrics are the generator's own figures, in the Markdown and
// text tables alike.
var generatorMetrics = []loadMetric{
	pct(loadgen.FigureGeneratorLag, "p50", p50),
	pct(loadgen.FigureGeneratorLag, "p99", p99),
	{"generator CPU (cores)", func(r *loadgen.Result) (float64, bool) {
		if r.Generator == nil {
			return 0, false
		}
		return r.Generator.CPUCores, true
	}, func(v float64) string { return fmt.Sprintf("%.2f", v) }},
	{"generator late sends", func(r *loadgen.Result) (float64, bool) {
		if r.Generator == nil {
			return 0, false
		}
		return float64(r.Generator.Late), true
	}, func(v float64) string { return numtext.Thousands(int(v)) }},
}

func p50(p *loadgen.Percentiles) int64  { return p.P50 }
func p99(p *loadgen.Percentiles) int64  { return p.P99 }
func p999(p *loadgen.Percentiles) int64 { return p.P999 }
func pmax(p *loadgen.Percentiles) int64 { return p.Max }

// pct is the row of one percentile of a figure, e.g. "fan-out p99".
func pct(f loadgen.Figure, at string, of func(*loadgen.Percentiles) int64) loadMetric {
	return loadMetric{f.Name + " " + at, func(r *loadgen.Result) (float64, bool) {
		p := f.Of(r)
		if p == nil || p.Count == 0 {
			return 0, false
		}
		return float64(of(p)), true
	}, numtext.Micros}
}

// Median returns the middle value of vs; with an even count, the lower of
// the two middle values (a value that was measured, never an average). It
// does not modify vs. The median of nothing is NaN.
func Median(vs []float64) float64 {
	if len(vs) == 0 {
		return math.NaN()
	}
	s := append([]float64(nil), vs...)
	sort.Float64s(s)
	return s[(len(s)-1)/2]
}

func mdEscape(s string) string { return strings.ReplaceAll(s, "|", `\|`) }
