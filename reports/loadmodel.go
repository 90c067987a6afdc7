package reports

import (
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

// The load table model: the figures a load result reports, each with its
// unit, the generator's flags, and the results grouped by workload and
// target. Every rendering of load results (the Markdown and text tables,
// the HTML page, the comparison with a baseline, the CLI's summary of a
// run and bench's line per run) takes its figures and their text from
// here and lays them out its own way.

// loadUnit is how a figure's value is written.
type loadUnit int

const (
	unitCount      loadUnit = iota // "1,234"
	unitRate                       // "1,234/s"
	unitMicros                     // a latency: "749 µs", "1.52 ms"
	unitRatio                      // "0.99871"
	unitCPUSeconds                 // "1.23 s"
	unitBytes                      // "12.3 MiB"
	unitTenths                     // "12.3"
	unitHundredths                 // "1.93"
)

func (u loadUnit) text(v float64) string {
	switch u {
	case unitRate:
		return numtext.Rounded(v) + "/s"
	case unitMicros:
		return numtext.Micros(v)
	case unitRatio:
		return strconv.FormatFloat(v, 'f', 5, 64)
	case unitCPUSeconds:
		return fmt.Sprintf("%.2f s", v)
	case unitBytes:
		return numtext.MiB(v)
	case unitTenths:
		return fmt.Sprintf("%.1f", v)
	case unitHundredths:
		return fmt.Sprintf("%.2f", v)
	}
	return numtext.Rounded(v)
}

// A loadFigure is one figure a load result may report.
type loadFigure struct {
	// name heads its row or column. A percentile of the primary latency
	// is named by the percentile alone ("p99"); nameFor puts the
	// latency's name before it.
	name    string
	primary bool
	unit    loadUnit
	// of reads the figure; ok is false when the result does not report it.
	of func(*loadgen.Result) (v float64, ok bool)
	// atLeast, when set, says when a result's value only bounds the
	// figure from below: its text then reads "≥".
	atLeast func(*loadgen.Result) bool
	// about says what the figure is where its name does not (tooltips).
	about string
}

// nameFor names the figure for a result, e.g. "fan-out p99".
func (f *loadFigure) nameFor(r *loadgen.Result) string {
	if f.primary {
		primary, _, ok := r.Primary()
		if !ok { // a kind this build does not know
			primary.Name = "primary"
		}
		return primary.Name + " " + f.name
	}
	return f.name
}

// textOf is one result's figure with its unit; ok is false when the
// result does not report it.
func (f *loadFigure) textOf(r *loadgen.Result) (v float64, text string, ok bool) {
	if v, ok = f.of(r); !ok {
		return 0, "", false
	}
	text = f.unit.text(v)
	if f.atLeast != nil && f.atLeast(r) {
		text = "≥" + text
	}
	return v, text, true
}

// percentileAt is one percentile of a latency summary.
type percentileAt struct {
	name string
	of   func(*loadgen.Percentiles) int64
}

var (
	atP50  = percentileAt{"p50", func(p *loadgen.Percentiles) int64 { return p.P50 }}
	atP90  = percentileAt{"p90", func(p *loadgen.Percentiles) int64 { return p.P90 }}
	atP99  = percentileAt{"p99", func(p *loadgen.Percentiles) int64 { return p.P99 }}
	atP999 = percentileAt{"p99.9", func(p *loadgen.Percentiles) int64 { return p.P999 }}
	atMax  = percentileAt{"max", func(p *loadgen.Percentiles) int64 { return p.Max }}
)

// percentile is a percentile of a latency figure, e.g. "fan-out p99".
func percentile(f loadgen.Figure, at percentileAt) *loadFigure {
	return &loadFigure{name: f.Name + " " + at.name, unit: unitMicros, of: func(r *loadgen.Result) (float64, bool) {
		return percentileOf(f.Of(r), at)
	}}
}

// primaryPercentile is a percentile of the result's primary latency
// (loadgen's choice for its kind).
func primaryPercentile(at percentileAt) *loadFigure {
	return &loadFigure{name: at.name, primary: true, unit: unitMicros, of: func(r *loadgen.Result) (float64, bool) {
		_, p, ok := r.Primary()
		if !ok {
			return 0, false
		}
		return percentileOf(p, at)
	}}
}

func percentileOf(p *loadgen.Percentiles, at percentileAt) (float64, bool) {
	if p == nil || p.Count == 0 {
		return 0, false
	}
	return float64(at.of(p)), true
}

// messageCount is a count of the result's messages.
func messageCount(name, about string, of func(*loadgen.Messages) int64) *loadFigure {
	return &loadFigure{name: name, about: about, unit: unitCount, of: func(r *loadgen.Result) (float64, bool) {
		if r.Messages == nil {
			return 0, false
		}
		return float64(of(r.Messages)), true
	}}
}

// generatorFigure is one of the generator's own figures; results written
// before the generator reported on itself lack them.
func generatorFigure(name, about string, unit loadUnit, of func(*loadgen.Generator) float64) *loadFigure {
	return &loadFigure{name: name, about: about, unit: unit, of: func(r *loadgen.Result) (float64, bool) {
		if r.Generator == nil {
			return 0, false
		}
		return of(r.Generator), true
	}}
}

// nonZero reads a figure that a result without it leaves at zero.
func nonZero(of func(*loadgen.Result) float64) func(*loadgen.Result) (float64, bool) {
	return func(r *loadgen.Result) (float64, bool) {
		v := of(r)
		return v, v != 0
	}
}

// server reads a figure of the server process, which bench does not
// sample for targets it does not start.
func server(of func(*loadgen.Resources) float64) func(*loadgen.Result) (float64, bool) {
	return func(r *loadgen.Result) (float64, bool) {
		if r.Server == nil {
			return 0, false
		}
		return of(r.Server), true
	}
}

// The figures.
var (
	figThroughput = &loadFigure{name: "throughput", unit: unitRate, of: func(r *loadgen.Result) (float64, bool) {
		return r.ThroughputPerS, r.Messages != nil
	}}
	figPrimaryP50  = primaryPercentile(atP50)
	figPrimaryP90  = primaryPercentile(atP90)
	figPrimaryP99  = primaryPercentile(atP99)
	figPrimaryP999 = primaryPercentile(atP999)
	figPrimaryMax  = primaryPercentile(atMax)
	figLost        = messageCount("lost", "messages (broadcast: deliveries) never received", func(m *loadgen.Messages) int64 { return m.Lost })
	figErrors      = messageCount("errors", "send/receive errors and malformed replies", func(m *loadgen.Messages) int64 { return m.Errors })
	figLostErrors  = messageCount("lost + errors", "", func(m *loadgen.Messages) int64 { return m.Lost + m.Errors })
	figDelivery    = &loadFigure{name: "delivery ratio", about: "broadcast: deliveries received / expected", unit: unitRatio, of: func(r *loadgen.Result) (float64, bool) {
		if r.DeliveryRatio == nil {
			return 0, false
		}
		return *r.DeliveryRatio, true
	}}
	figCompletionP99 = percentile(loadgen.FigureCompletion, atP99)
	figConnectP99    = withAbout(percentile(loadgen.FigureConnect, atP99), "TCP + WebSocket handshake latency, 99th percentile")
	figEstablished   = &loadFigure{name: "established", about: "connections established / attempted", unit: unitCount, of: func(r *loadgen.Result) (float64, bool) {
		return float64(r.Connections.Established), true
	}}
	figTCP = &loadFigure{name: "TCP conns", about: "TCP connections made; over HTTP/2 each carries several WebSocket streams", unit: unitCount, of: func(r *loadgen.Result) (float64, bool) {
		return float64(r.Connections.TCP), r.Params.OverH2() && r.Connections.TCP > 0
	}}
	figConnectRate = &loadFigure{name: "connections/s", unit: unitRate, of: func(r *loadgen.Result) (float64, bool) {
		v, _, ok := ConnectRate(r)
		return v, ok
	}, atLeast: func(r *loadgen.Result) bool { _, lower, _ := ConnectRate(r); return lower }}
	figClientCPU = &loadFigure{name: "client CPU", about: "generator CPU time over the whole run", unit: unitCPUSeconds, of: func(r *loadgen.Result) (float64, bool) {
		return r.Client.CPUSeconds, true
	}}
	figClientRSS           = &loadFigure{name: "client peak RSS", unit: unitBytes, of: nonZero(func(r *loadgen.Result) float64 { return float64(r.Client.RSSBytesMax) })}
	figClientKiBPerConn    = &loadFigure{name: "client KiB/conn", unit: unitTenths, of: nonZero(func(r *loadgen.Result) float64 { return r.Client.RSSBytesPerConn / 1024 })}
	figClientCPUPerMessage = &loadFigure{name: "client µs CPU/message", unit: unitTenths, of: nonZero(func(r *loadgen.Result) float64 { return r.Client.CPUPerMessageUS })}
	figServerCPU           = &loadFigure{name: "server CPU", about: "server CPU time over the whole run", unit: unitCPUSeconds, of: server(func(s *loadgen.Resources) float64 { return s.CPUSeconds })}
	figServerRSS           = &loadFigure{name: "server peak RSS", unit: unitBytes, of: func(r *loadgen.Result) (float64, bool) {
		if r.Server == nil || r.Server.RSSBytesMax == 0 {
			return 0, false
		}
		return float64(r.Server.RSSBytesMax), true
	}}
	figGeneratorLagP50 = withAbout(percentile(loadgen.FigureGeneratorLag, atP50), generatorLagAbout)
	figGeneratorLagP99 = withAbout(percentile(loadgen.FigureGeneratorLag, atP99), generatorLagAbout)
	figGeneratorCPU    = generatorFigure("generator CPU (cores)", "generator CPU time in the measured window divided by the window, out of its cores (GOMAXPROCS)",
		unitHundredths, func(g *loadgen.Generator) float64 { return g.CPUCores })
	figGeneratorLate = generatorFigure("generator late sends", "measured sends the generator started more than its lag limit late by its own fault",
		unitCount, func(g *loadgen.Generator) float64 { return float64(g.Late) })
)

const generatorLagAbout = "how late the generator itself sent (timer wake-up, descheduling), kept out of the latency"

func withAbout(f *loadFigure, about string) *loadFigure {
	f.about = about
	return f
}

// headlineFigures are the figures every workload is tabulated (text)
// and compared (Compare) by.
var headlineFigures = []*loadFigure{figThroughput, figPrimaryP50, figPrimaryP99, figPrimaryP999, figErrors, figLost, figDelivery}

// generatorFigures are the generator's own figures.
var generatorFigures = []*loadFigure{figGeneratorLagP50, figGeneratorLagP99, figGeneratorCPU, figGeneratorLate}

// throughputCounts says what a kind's throughput counts: "replies",
// "deliveries", or "" for a kind that sends no messages.
func throughputCounts(k loadgen.Kind) string {
	switch k {
	case loadgen.KindBroadcast:
		return "deliveries"
	case loadgen.KindConnect:
		return ""
	}
	return "replies"
}

// hasGenerator reports whether some result carries the generator's own
// figures: renderings show them only then, so that results written
// before the generator reported on itself look as they did.
func hasGenerator(rs []*loadgen.Result) bool {
	return slices.ContainsFunc(rs, func(r *loadgen.Result) bool { return r.Generator != nil })
}

// loadWorkload is the results of one workload (ScenarioLabel), by target.
type loadWorkload struct {
	label string
	// first is a result of the workload: all share the kind and
	// parameters that order workloads (loadgen.Compare) and choose their
	// figures.
	first   *loadgen.Result
	targets []*loadRuns // by target name
}

// loadRuns is a target's runs of a workload, in the order read.
type loadRuns struct {
	target string
	runs   []*loadgen.Result
}

// groupLoad groups results by workload, in report order (loadgen's, then
// by label), and each workload's by target. Nil results are left out.
func groupLoad(rs []*loadgen.Result) []*loadWorkload {
	byLabel := map[string]*loadWorkload{}
	var ws []*loadWorkload
	for _, r := range rs {
		if r == nil {
			continue
		}
		label := ScenarioLabel(r)
		w := byLabel[label]
		if w == nil {
			w = &loadWorkload{label: label, first: r}
			byLabel[label] = w
			ws = append(ws, w)
		}
		i, found := slices.BinarySearchFunc(w.targets, r.Target, func(t *loadRuns, name string) int { return strings.Compare(t.target, name) })
		if !found {
			w.targets = slices.Insert(w.targets, i, &loadRuns{target: r.Target})
		}
		w.targets[i].runs = append(w.targets[i].runs, r)
	}
	slices.SortStableFunc(ws, func(a, b *loadWorkload) int {
		return cmp.Or(loadgen.Compare(a.first, b.first), strings.Compare(a.label, b.label))
	})
	return ws
}

// loadTable is the finished load runs grouped by workload, as the tables
// and the comparison count them: interrupted runs are left out.
type loadTable struct {
	workloads []*loadWorkload
	// runs are the finished runs, in the order read.
	runs []*loadgen.Result
	// interrupted counts the runs left out.
	interrupted int
}

// tabulate leaves out nil and interrupted results and groups the rest.
func tabulate(rs []*loadgen.Result) loadTable {
	var t loadTable
	for _, r := range rs {
		switch {
		case r == nil:
		case r.Interrupted:
			t.interrupted++
		default:
			t.runs = append(t.runs, r)
		}
	}
	t.workloads = groupLoad(t.runs)
	return t
}

// interruptedNote says how many runs were left out as interrupted; ""
// when none was.
func (t loadTable) interruptedNote() string {
	if t.interrupted == 0 {
		return ""
	}
	return numtext.Plural(t.interrupted, "run") + " left out as interrupted."
}

// empty is what a table without any finished run says.
func (t loadTable) empty() []byte {
	b := []byte("No load results.\n")
	if note := t.interruptedNote(); note != "" {
		b = append(b, note+"\n"...)
	}
	return b
}

// workloadsByLabel indexes workloads by their label.
func workloadsByLabel(ws []*loadWorkload) map[string]*loadWorkload {
	m := make(map[string]*loadWorkload, len(ws))
	for _, w := range ws {
		m[w.label] = w
	}
	return m
}

// runsOf returns a target's runs of the workload; nil when it has none
// (or there is no workload).
func (w *loadWorkload) runsOf(target string) *loadRuns {
	if w == nil {
		return nil
	}
	for _, t := range w.targets {
		if t.target == target {
			return t
		}
	}
	return nil
}

// runs lists every result of the workload, target by target.
func (w *loadWorkload) runs() []*loadgen.Result {
	var rs []*loadgen.Result
	for _, t := range w.targets {
		rs = append(rs, t.runs...)
	}
	return rs
}

// loadCell is a figure over a target's runs of a workload: the median
// of the values of the runs that report it.
type loadCell struct {
	value float64
	text  string // with its unit; "≥" when some run's value is a lower bound
	ok    bool   // some run reports the figure
	// of is how many of the runs report it.
	of, runs int
}

// cell is the median of the figure over the runs; a nil receiver (no
// runs) reports nothing.
func (t *loadRuns) cell(f *loadFigure) loadCell {
	if t == nil {
		return loadCell{}
	}
	var vs []float64
	lower := false
	for _, r := range t.runs {
		if v, ok := f.of(r); ok {
			vs = append(vs, v)
			lower = lower || (f.atLeast != nil && f.atLeast(r))
		}
	}
	c := loadCell{of: len(vs), runs: len(t.runs)}
	if len(vs) == 0 {
		return c
	}
	c.value, c.ok = Median(vs), true
	c.text = f.unit.text(c.value)
	if lower {
		c.text = "≥" + c.text
	}
	return c
}

// or is the cell's text, or missing when no run reports the figure.
func (c loadCell) or(missing string) string {
	if !c.ok {
		return missing
	}
	return c.text
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

// generatorLimitedMark flags generator-limited runs in the tables.
const generatorLimitedMark = "⚠ generator-limited"

// GeneratorLimitedMeaning is what a generator-limited run means for its
// figures, as every report and summary words it.
const GeneratorLimitedMeaning = "the figures may describe the generator rather than the server"

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

// generatorNote explains the generator rows and columns.
const generatorNote = "Generator lag is how late the load generator itself sent (timer wake-up, descheduling), " +
	"kept out of the latency; generator CPU is its CPU time in the measured window divided by the window " +
	"(1.00 = one core busy throughout); its late sends are the measured sends it started more than its lag limit " +
	"(--lag-limit) late by its own fault."

// measuresNote says what the primary figure of each kind among the
// workloads measures, in report order, as loadgen words it.
func measuresNote(ws []*loadWorkload) string {
	var parts []string
	for i, w := range ws {
		if i > 0 && w.first.Kind() == ws[i-1].first.Kind() {
			continue
		}
		if m := w.first.Kind().Measures(); m != "" {
			parts = append(parts, m)
		}
	}
	if len(parts) == 0 {
		return ""
	}
	return "Primary figures: " + strings.Join(parts, "; ") + "."
}

// countsText writes counts by kind: "refused 3, timeout 2".
func countsText(counts map[string]int) string {
	parts := make([]string, 0, len(counts))
	for _, k := range slices.Sorted(maps.Keys(counts)) {
		parts = append(parts, fmt.Sprintf("%s %d", k, counts[k]))
	}
	return strings.Join(parts, ", ")
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
	conns := numtext.Thousands(p.Conns) + " conns"
	if p.OverH2() {
		// Runs over HTTP/2 are a workload of their own, by K.
		conns += fmt.Sprintf(" over HTTP/2 (%s)", numtext.Plural(max(p.StreamsPerConn, 1), "stream")+"/conn")
	}
	switch r.Kind() {
	case loadgen.KindEchoRate:
		return fmt.Sprintf("echo %s, %s msg/s, %d B %s", conns, numtext.Number(p.Rate), p.Size, kind)
	case loadgen.KindEchoClosed:
		return fmt.Sprintf("echo closed loop %s, %d B %s", conns, p.Size, kind)
	case loadgen.KindBroadcast:
		return fmt.Sprintf("broadcast to %s, %s/s from %s", conns, numtext.Number(p.Rate), numtext.Plural(max(p.Senders, 1), "sender"))
	case loadgen.KindConnect:
		return fmt.Sprintf("connect %s at %s/s, hold %s", conns, numtext.Number(p.RampPerS), time.Duration(p.DurationMS)*time.Millisecond)
	}
	return fmt.Sprintf("%s %s", r.Scenario, conns)
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
