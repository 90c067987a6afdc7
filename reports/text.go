package reports

import (
	"bytes"
	"fmt"
	"math"
	"sort"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/wsharness/wsharness/loadgen"
)

// Text renders everything in the input as plain text: each conformance
// run's summary (see ConformanceSummary), then one compact table of the
// load results, a row per workload and target.
func Text(in Input) []byte {
	var b bytes.Buffer
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
	return b.Bytes()
}

// LoadText renders load results as a compact text table: a row per
// workload and target with the median, over that target's runs of the
// workload, of throughput, the primary latency's p50, p99 and p99.9,
// errors, lost messages and the delivery ratio (broadcast). Interrupted
// runs are left out, as in LoadComparison.
func LoadText(rs []*loadgen.Result) []byte {
	groups, skipped := groupLoad(rs)
	var b bytes.Buffer
	if len(groups) == 0 {
		b.WriteString("No load results.\n")
		if skipped > 0 {
			fmt.Fprintf(&b, "%s left out as interrupted.\n", plural(skipped, "run"))
		}
		return b.Bytes()
	}
	tw := tabwriter.NewWriter(&b, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "workload\ttarget\truns\tthroughput\tlatency\tp50\tp99\tp99.9\terrors\tlost\tdelivery")
	for _, g := range groups {
		row := []string{g.label, g.target, strconv.Itoa(len(g.runs))}
		latName, _ := primaryLatency(g.runs[0])
		for _, f := range loadFigures() {
			if f.id == figLatencyP50 {
				row = append(row, latName)
			}
			v, ok := g.median(f)
			if !ok {
				row = append(row, "-")
				continue
			}
			row = append(row, f.format(v))
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
	b.WriteString("\nMedians over each target's runs of a workload (percentiles: the median of the runs' own percentiles). " +
		"Latency is the workload's primary one: echo at a rate from the scheduled send time, closed-loop echo service time, " +
		"broadcast fan-out, connect TCP + handshake.")
	if skipped > 0 {
		fmt.Fprintf(&b, " %s left out as interrupted.", plural(skipped, "run"))
	}
	b.WriteString("\n")
	return b.Bytes()
}

// loadKeyGroup is the runs of one target on one workload.
type loadKeyGroup struct {
	target string
	label  string
	order  [3]float64
	runs   []*loadgen.Result
}

func (g *loadKeyGroup) key() string { return g.target + "\x00" + g.label }

// median is the median of a figure over the group's runs that report it.
func (g *loadKeyGroup) median(f loadFigure) (float64, bool) {
	var vs []float64
	for _, r := range g.runs {
		if v, ok := f.get(r); ok {
			vs = append(vs, v)
		}
	}
	if len(vs) == 0 {
		return 0, false
	}
	return Median(vs), true
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
		g := &loadKeyGroup{target: r.Target, label: ScenarioLabel(r), order: scenarioOrder(r)}
		if old := byKey[g.key()]; old != nil {
			g = old
		} else {
			byKey[g.key()] = g
			groups = append(groups, g)
		}
		g.runs = append(g.runs, r)
	}
	sort.SliceStable(groups, func(i, j int) bool { return lessGroup(groups[i], groups[j]) })
	return groups, skipped
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
		n, _ := primaryLatency(r)
		return n + " " + f.name
	}
	return f.name
}

func loadFigures() []loadFigure {
	lat := func(at func(*loadgen.Percentiles) int64) func(*loadgen.Result) (float64, bool) {
		return func(r *loadgen.Result) (float64, bool) {
			_, p := primaryLatency(r)
			if p == nil || p.Count == 0 {
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
	count := func(v float64) string { return thousands(int(math.Round(v))) }
	return []loadFigure{
		{figThroughput, "throughput", func(r *loadgen.Result) (float64, bool) {
			if r.Messages == nil {
				return 0, false
			}
			return r.ThroughputPerS, true
		}, func(v float64) string { return thousands(int(math.Round(v))) + "/s" }},
		{figLatencyP50, "p50", lat(p50), FormatMicros},
		{figLatencyP99, "p99", lat(p99), FormatMicros},
		{figLatencyP999, "p99.9", lat(p999), FormatMicros},
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

// primaryLatency is the latency that characterizes a workload: for echo at
// a rate the latency from the scheduled send time, for closed-loop echo the
// service time, for broadcast the fan-out latency, for connect the
// connection latency.
func primaryLatency(r *loadgen.Result) (string, *loadgen.Percentiles) {
	switch kindOf(r) {
	case kindEchoClosed:
		if r.ServiceTimeUS != nil {
			return "service time", r.ServiceTimeUS
		}
		return "service time", r.LatencyUS
	case kindBroadcast:
		return "fan-out", r.FanoutLatencyUS
	case kindConnect:
		return "connect", r.ConnectLatencyUS
	}
	return "latency", r.LatencyUS
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
	parts = append(parts, plural(targets, "target"))
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
