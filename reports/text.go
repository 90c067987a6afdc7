package reports

import (
	"bytes"
	"cmp"
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"
	"unicode/utf8"

	"github.com/wsharness/wsharness/internal/numtext"
	"github.com/wsharness/wsharness/loadgen"
)

// Text is the report as plain text, summary.txt.
var Text = Format{Name: "text", File: "summary.txt", Printed: true, Write: writeText, Comparison: compareText}

// writeText renders everything in the input as plain text, under the
// title if there is one: each conformance run's summary (see ConformanceSummary), then one compact table of the
// load results, a row per workload and target.
func writeText(w io.Writer, in Input, opts Options) error {
	var b bytes.Buffer
	if opts.Title != "" {
		fmt.Fprintf(&b, "%s\n%s\n\n", opts.Title, strings.Repeat("=", utf8.RuneCountInString(opts.Title)))
	}
	for i, run := range in.Conformance {
		if i > 0 {
			b.WriteString("\n")
		}
		fmt.Fprintf(&b, "Conformance%s: %s\n\n", runOrdinal(i, len(in.Conformance)), runHeadline(run.Started, run.DurationMS, len(run.Targets), run.Seed))
		b.Write(ConformanceSummary(run))
	}
	if len(in.Load) > 0 {
		if len(in.Conformance) > 0 {
			b.WriteString("\n")
		}
		b.WriteString("Load\n\n")
		b.Write(LoadText(in.Load))
	}
	if len(in.Conformance) == 0 && len(in.Load) == 0 {
		b.WriteString("No results.\n")
	}
	if len(in.Sources) > 0 {
		fmt.Fprintf(&b, "\nRead from: %s\n", joinMax(in.Sources, 20))
	}
	_, err := w.Write(b.Bytes())
	return err
}

// LoadText renders load results as a compact text table: a row per
// workload and target with the median, over that target's runs of the
// workload, of throughput, the primary latency's p50, p99 and p99.9,
// errors, lost messages, the delivery ratio (broadcast) and the
// generator's own figures, and whether the generator fell behind.
// Interrupted runs are left out, as in LoadComparison.
func LoadText(rs []*loadgen.Result) []byte {
	groups, skipped := groupLoad(rs)
	var b bytes.Buffer
	if len(groups) == 0 {
		b.WriteString("No load results.\n")
		if skipped > 0 {
			fmt.Fprintf(&b, "%s left out as interrupted.\n", numtext.Plural(skipped, "run"))
		}
		return b.Bytes()
	}
	// The generator's columns only when some run has its figures, so that
	// results written before it reported on itself look as they did.
	withGenerator := slices.ContainsFunc(groups, func(g *loadKeyGroup) bool {
		return slices.ContainsFunc(g.runs, func(r *loadgen.Result) bool { return r.Generator != nil })
	})
	var limited []string
	tw := tabwriter.NewWriter(&b, 0, 0, 2, ' ', 0)
	header := "workload\ttarget\truns\tthroughput\tlatency\tp50\tp99\tp99.9\terrors\tlost\tdelivery"
	if withGenerator {
		for _, m := range generatorMetrics {
			header += "\t" + strings.Replace(m.name, "generator ", "gen ", 1)
		}
		header += "\tgenerator"
	}
	fmt.Fprintln(tw, header)
	for _, g := range groups {
		row := []string{g.label, g.target, strconv.Itoa(len(g.runs))}
		for _, f := range loadFigures() {
			if f.id == figLatencyP50 {
				if primary, _, ok := g.runs[0].Primary(); ok {
					row = append(row, primary.Name)
				} else {
					row = append(row, "-")
				}
			}
			row = append(row, g.cell(f.get, f.format))
		}
		if withGenerator {
			for _, m := range generatorMetrics {
				row = append(row, g.cell(m.get, m.format))
			}
			row = append(row, limitedCell(g.runs, "-"))
		}
		for _, line := range limitedLines(g.label, g.target, g.runs) {
			limited = append(limited, "  "+line+"\n")
		}
		for i, cell := range row {
			if i > 0 {
				tw.Write([]byte("\t"))
			}
			tw.Write([]byte(cell))
		}
		tw.Write([]byte("\n"))
	}
	_ = tw.Flush()
	if len(limited) > 0 {
		fmt.Fprintf(&b, "\nGenerator-limited runs: the load generator fell behind; %s.\n", GeneratorLimitedMeaning)
		b.WriteString(strings.Join(limited, ""))
	}
	b.WriteString("\nMedians over each target's runs of a workload (percentiles: the median of the runs' own percentiles). " +
		"The latency columns are the workload's primary figure, named in the latency column.")
	firsts := make([]*loadgen.Result, len(groups))
	for i, g := range groups {
		firsts[i] = g.runs[0]
	}
	if note := measuresNote(firsts); note != "" {
		b.WriteString(" " + note)
	}
	if withGenerator {
		b.WriteString(" " + generatorNote)
	}
	if skipped > 0 {
		fmt.Fprintf(&b, " %s left out as interrupted.", numtext.Plural(skipped, "run"))
	}
	b.WriteString("\n")
	return b.Bytes()
}

// loadKeyGroup is the runs of one target on one workload.
type loadKeyGroup struct {
	target string
	label  string
	runs   []*loadgen.Result
}

func (g *loadKeyGroup) key() string { return g.target + "\x00" + g.label }

// median is the median of a figure over the group's runs that report it.
func (g *loadKeyGroup) median(get func(*loadgen.Result) (float64, bool)) (float64, bool) {
	var vs []float64
	for _, r := range g.runs {
		if v, ok := get(r); ok {
			vs = append(vs, v)
		}
	}
	if len(vs) == 0 {
		return 0, false
	}
	return Median(vs), true
}

// cell is the median of a figure, formatted, or "-".
func (g *loadKeyGroup) cell(get func(*loadgen.Result) (float64, bool), format func(float64) string) string {
	if v, ok := g.median(get); ok {
		return format(v)
	}
	return "-"
}

// groupLoad groups results by workload (ScenarioLabel) and target, in
// report order: workload as in LoadComparison, then target. Interrupted
// runs are left out and counted.
func groupLoad(rs []*loadgen.Result) (groups []*loadKeyGroup, skipped int) {
	byKey := map[string]*loadKeyGroup{}
	for _, r := range rs {
		if r == nil {
			continue
		}
		if r.Interrupted {
			skipped++
			continue
		}
		g := &loadKeyGroup{target: r.Target, label: ScenarioLabel(r)}
		if old := byKey[g.key()]; old != nil {
			g = old
		} else {
			byKey[g.key()] = g
			groups = append(groups, g)
		}
		g.runs = append(g.runs, r)
	}
	slices.SortStableFunc(groups, compareGroups)
	return groups, skipped
}

// compareGroups orders groups as loadgen orders their results, then by
// workload label and target.
func compareGroups(a, c *loadKeyGroup) int {
	return cmp.Or(loadgen.Compare(a.runs[0], c.runs[0]), strings.Compare(a.label, c.label), strings.Compare(a.target, c.target))
}

// Figures compared and tabulated for every load result.
const (
	figThroughput = iota
	figLatencyP50
	figLatencyP99
	figLatencyP999
	figErrors
	figLost
	figDelivery
)

type loadFigure struct {
	id     int
	name   string // with the latency's name filled in by nameFor
	get    func(*loadgen.Result) (float64, bool)
	format func(float64) string
}

// nameFor names the figure for a result, e.g. "fan-out p99".
func (f loadFigure) nameFor(r *loadgen.Result) string {
	switch f.id {
	case figLatencyP50, figLatencyP99, figLatencyP999:
		primary, _, _ := r.Primary()
		return primary.Name + " " + f.name
	}
	return f.name
}

func loadFigures() []loadFigure {
	lat := func(at func(*loadgen.Percentiles) int64) func(*loadgen.Result) (float64, bool) {
		return func(r *loadgen.Result) (float64, bool) {
			_, p, ok := r.Primary()
			if !ok || p == nil || p.Count == 0 {
				return 0, false
			}
			return float64(at(p)), true
		}
	}
	messages := func(of func(*loadgen.Messages) int64) func(*loadgen.Result) (float64, bool) {
		return func(r *loadgen.Result) (float64, bool) {
			if r.Messages == nil {
				return 0, false
			}
			return float64(of(r.Messages)), true
		}
	}
	count := func(v float64) string { return numtext.Rounded(v) }
	return []loadFigure{
		{figThroughput, "throughput", func(r *loadgen.Result) (float64, bool) {
			if r.Messages == nil {
				return 0, false
			}
			return r.ThroughputPerS, true
		}, func(v float64) string { return numtext.Rounded(v) + "/s" }},
		{figLatencyP50, "p50", lat(p50), numtext.Micros},
		{figLatencyP99, "p99", lat(p99), numtext.Micros},
		{figLatencyP999, "p99.9", lat(p999), numtext.Micros},
		{figErrors, "errors", messages(func(m *loadgen.Messages) int64 { return m.Errors }), count},
		{figLost, "lost", messages(func(m *loadgen.Messages) int64 { return m.Lost }), count},
		{figDelivery, "delivery ratio", func(r *loadgen.Result) (float64, bool) {
			if r.DeliveryRatio == nil {
				return 0, false
			}
			return *r.DeliveryRatio, true
		}, func(v float64) string { return strconv.FormatFloat(v, 'f', 5, 64) }},
	}
}

// runOrdinal is " 2 of 3" when there are several runs, else "".
func runOrdinal(i, n int) string {
	if n < 2 {
		return ""
	}
	return fmt.Sprintf(" run %d of %d", i+1, n)
}

// runHeadline describes a conformance run in one line.
func runHeadline(started time.Time, durationMS int64, targets int, seed string) string {
	var parts []string
	if !started.IsZero() {
		parts = append(parts, "started "+started.UTC().Format("2006-01-02 15:04:05 UTC"))
	}
	if durationMS > 0 {
		parts = append(parts, "took "+(time.Duration(durationMS)*time.Millisecond).Round(100*time.Millisecond).String())
	}
	parts = append(parts, numtext.Plural(targets, "target"))
	if seed != "" {
		parts = append(parts, "seed "+seed)
	}
	return strings.Join(parts, ", ")
}

// joinMax joins items with commas, cutting long lists.
func joinMax(items []string, most int) string {
	if len(items) <= most {
		return strings.Join(items, ", ")
	}
	return strings.Join(items[:most], ", ") + fmt.Sprintf(", … (+%d more)", len(items)-most)
}
