package reports

import (
	"bytes"
	"fmt"
	"math"
	"sort"
	"strconv"
	"strings"
	"time"

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
			g = &loadGroup{label: label, order: scenarioOrder(r), byTarget: map[string][]*loadgen.Result{}}
			groups[label] = g
		}
		g.byTarget[r.Target] = append(g.byTarget[r.Target], r)
	}
	var b bytes.Buffer
	if len(groups) == 0 {
		b.WriteString("No load results.\n")
		return b.Bytes()
	}
	ordered := make([]*loadGroup, 0, len(groups))
	for _, g := range groups {
		ordered = append(ordered, g)
	}
	sort.Slice(ordered, func(i, j int) bool {
		a, c := ordered[i].order, ordered[j].order
		for k := range a {
			if a[k] != c[k] {
				return a[k] < c[k]
			}
		}
		return ordered[i].label < ordered[j].label
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
	for _, g := range ordered {
		for i, m := range metricsFor(g.kind()) {
			workload := ""
			if i == 0 {
				workload = "**" + mdEscape(g.label) + "**"
			}
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
	upTo := ""
	if minRuns < maxRuns {
		upTo = "up to "
	}
	fmt.Fprintf(&b, "\nMedians over %s%s per target and workload: each cell is the median of the figure each run reported "+
		"(for percentiles, the median of the runs' own percentiles; percentiles are never averaged; "+
		"with an even number of runs, the lower middle value).", upTo, plural(maxRuns, "run"))
	if skipped > 0 {
		fmt.Fprintf(&b, " %s left out as interrupted.", plural(skipped, "run"))
	}
	b.WriteString(" Latency is from the scheduled send time (open model, corrected for coordinated omission); " +
		"closed-loop service time is from the actual send. Server CPU, peak RSS and client KiB/conn cover the whole run " +
		"(connecting, warm-up, measurement, drain); client µs CPU/message is the generator's CPU time in the measured " +
		"window divided by the messages it sent and received in that window. Connections/s is the rate " +
		"achieved during the ramp: connections made divided by the time from the first attempt to the last success.\n")
	return b.Bytes()
}

type loadGroup struct {
	label    string
	order    [3]float64
	byTarget map[string][]*loadgen.Result
}

func (g *loadGroup) kind() string {
	for _, rs := range g.byTarget {
		if len(rs) > 0 {
			return kindOf(rs[0])
		}
	}
	return ""
}

// Workload kinds, each with its own metric rows.
const (
	kindEchoRate   = "echo-rate"
	kindEchoClosed = "echo-closed"
	kindBroadcast  = loadgen.ScenarioBroadcast
	kindConnect    = loadgen.ScenarioConnect
)

func kindOf(r *loadgen.Result) string {
	switch r.Scenario {
	case loadgen.ScenarioEcho:
		if r.Params.ClosedLoop || r.Params.Rate == 0 {
			return kindEchoClosed
		}
		return kindEchoRate
	case loadgen.ScenarioBroadcast:
		return kindBroadcast
	case loadgen.ScenarioConnect:
		return kindConnect
	}
	return r.Scenario
}

// scenarioOrder sorts workloads: open echo, closed echo, broadcast,
// connect, others; then by connections and rate.
func scenarioOrder(r *loadgen.Result) [3]float64 {
	rank := map[string]float64{kindEchoRate: 0, kindEchoClosed: 1, kindBroadcast: 2, kindConnect: 3}
	k, ok := rank[kindOf(r)]
	if !ok {
		k = 4
	}
	return [3]float64{k, float64(r.Params.Conns), r.Params.Rate}
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
	switch kindOf(r) {
	case kindEchoRate:
		return fmt.Sprintf("echo %s conns, %s msg/s, %d B %s", thousands(p.Conns), trimFloat(p.Rate), p.Size, kind)
	case kindEchoClosed:
		return fmt.Sprintf("echo closed loop %s conns, %d B %s", thousands(p.Conns), p.Size, kind)
	case kindBroadcast:
		return fmt.Sprintf("broadcast to %s conns, %s/s from %s", thousands(p.Conns), trimFloat(p.Rate), plural(max(p.Senders, 1), "sender"))
	case kindConnect:
		return fmt.Sprintf("connect %s conns at %s/s, hold %s", thousands(p.Conns), trimFloat(p.RampPerS), time.Duration(p.DurationMS)*time.Millisecond)
	}
	return fmt.Sprintf("%s %s conns", r.Scenario, thousands(p.Conns))
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

func metricsFor(kind string) []loadMetric {
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
		}, formatMiB},
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
		}, func(v float64) string { return thousands(int(math.Round(v))) + "/s" }}
	}
	lost := loadMetric{"lost + errors", func(r *loadgen.Result) (float64, bool) {
		if r.Messages == nil {
			return 0, false
		}
		return float64(r.Messages.Lost + r.Messages.Errors), true
	}, func(v float64) string { return thousands(int(v)) }}
	var rows []loadMetric
	switch kind {
	case kindEchoRate:
		rows = append(rows, throughput("throughput (replies)"),
			pct("latency p50", latency, p50), pct("latency p99", latency, p99), pct("latency p99.9", latency, p999), lost)
	case kindEchoClosed:
		rows = append(rows, throughput("throughput (replies)"),
			pct("service time p50", service, p50), pct("service time p99", service, p99), lost)
	case kindBroadcast:
		rows = append(rows, throughput("deliveries"),
			pct("fan-out p50", fanout, p50), pct("fan-out p99", fanout, p99), pct("fan-out max", fanout, pmax),
			pct("completion p99", completion, p99),
			loadMetric{"delivery ratio", func(r *loadgen.Result) (float64, bool) {
				if r.DeliveryRatio == nil {
					return 0, false
				}
				return *r.DeliveryRatio, true
			}, func(v float64) string { return strconv.FormatFloat(v, 'f', 5, 64) }})
	case kindConnect:
		rows = append(rows,
			loadMetric{"established", func(r *loadgen.Result) (float64, bool) {
				return float64(r.Connections.Established), true
			}, func(v float64) string { return thousands(int(v)) }},
			pct("connect p50", connectLat, p50), pct("connect p99", connectLat, p99),
			loadMetric{"connections/s", func(r *loadgen.Result) (float64, bool) {
				v, _, ok := ConnectRate(r)
				return v, ok
			}, func(v float64) string { return thousands(int(math.Round(v))) + "/s" }})
		return append(rows, common...)
	}
	return append(append(rows, common...), perMessage)
}

func latency(r *loadgen.Result) *loadgen.Percentiles    { return r.LatencyUS }
func service(r *loadgen.Result) *loadgen.Percentiles    { return r.ServiceTimeUS }
func fanout(r *loadgen.Result) *loadgen.Percentiles     { return r.FanoutLatencyUS }
func completion(r *loadgen.Result) *loadgen.Percentiles { return r.FanoutCompletionUS }
func connectLat(r *loadgen.Result) *loadgen.Percentiles { return r.ConnectLatencyUS }

func p50(p *loadgen.Percentiles) int64  { return p.P50 }
func p99(p *loadgen.Percentiles) int64  { return p.P99 }
func p999(p *loadgen.Percentiles) int64 { return p.P999 }
func pmax(p *loadgen.Percentiles) int64 { return p.Max }

func pct(name string, of func(*loadgen.Result) *loadgen.Percentiles, at func(*loadgen.Percentiles) int64) loadMetric {
	return loadMetric{name, func(r *loadgen.Result) (float64, bool) {
		p := of(r)
		if p == nil || p.Count == 0 {
			return 0, false
		}
		return float64(at(p)), true
	}, FormatMicros}
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

// FormatMicros renders a duration given in microseconds with three
// significant digits: "749 µs", "1.52 ms", "2.80 s".
func FormatMicros(us float64) string {
	switch {
	case us < 1000:
		return fmt.Sprintf("%.0f µs", us)
	case us < 1e6:
		return sig3(us/1000) + " ms"
	}
	return sig3(us/1e6) + " s"
}

func sig3(v float64) string {
	switch {
	case v >= 100:
		return fmt.Sprintf("%.0f", v)
	case v >= 10:
		return fmt.Sprintf("%.1f", v)
	}
	return fmt.Sprintf("%.2f", v)
}

func formatMiB(bytes float64) string { return fmt.Sprintf("%.1f MiB", bytes/(1<<20)) }

// thousands renders n with comma separators.
func thousands(n int) string {
	s := strconv.Itoa(n)
	neg := strings.HasPrefix(s, "-")
	s = strings.TrimPrefix(s, "-")
	var out []byte
	for i := range s {
		if i > 0 && (len(s)-i)%3 == 0 {
			out = append(out, ',')
		}
		out = append(out, s[i])
	}
	if neg {
		return "-" + string(out)
	}
	return string(out)
}

func trimFloat(v float64) string {
	if v == math.Trunc(v) && math.Abs(v) < 1e15 {
		return thousands(int(v))
	}
	return strconv.FormatFloat(v, 'g', 4, 64)
}

func plural(n int, word string) string {
	if n == 1 {
		return "1 " + word
	}
	return thousands(n) + " " + word + "s"
}

func mdEscape(s string) string { return strings.ReplaceAll(s, "|", `\|`) }
