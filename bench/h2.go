package bench

import (
	"bytes"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/wsharness/wsharness/internal/numtext"
	"github.com/wsharness/wsharness/loadgen"
	"github.com/wsharness/wsharness/reports"
)

// The HTTP/1.1 and HTTP/2 comparison: the scheduled echo (echo-rate's
// parameters) against one target that serves both transports on one port
// (gobwas-h2), over HTTP/1.1 upgrades, over HTTP/2 with one WebSocket
// stream per TCP connection, and with ten. Its jobs come last in each
// run and stay out of the main table: the same target and workload
// three times, which only the comparison makes sense of.

// DefaultH2Target is the target of the transport comparison unless
// --h2-target says otherwise.
const DefaultH2Target = "gobwas-h2"

// h2Variant is one transport of the comparison.
type h2Variant struct {
	name  string // workload name, in file names
	label string // column heading
	h2    bool
	k     int
}

var h2Variants = []h2Variant{
	{name: "h2cmp-http1", label: "HTTP/1.1", k: 1},
	{name: "h2cmp-k1", label: "HTTP/2, 1 stream/conn", h2: true, k: 1},
	{name: "h2cmp-k10", label: "HTTP/2, 10 streams/conn", h2: true, k: 10},
}

func h2VariantOf(w Workload) (h2Variant, bool) {
	i := slices.IndexFunc(h2Variants, func(v h2Variant) bool { return v.name == w.Name })
	if i < 0 {
		return h2Variant{}, false
	}
	return h2Variants[i], true
}

// h2Workloads are the comparison's jobs of one run, cut down with quick.
func h2Workloads(quick bool) []Workload {
	base := standardWorkloads[0] // echo-rate
	if quick {
		base = quickWorkload(base)
	}
	var out []Workload
	for _, v := range h2Variants {
		w := base
		w.Name = v.name
		out = append(out, w)
	}
	return out
}

// checkH2Target says what is wrong with an --h2-target; "" when fine.
func checkH2Target(name string) string {
	if name == "" {
		return ""
	}
	if !isBuiltin(name) {
		return fmt.Sprintf("--h2-target %q: not a built-in target a process serves (want one serving both transports, such as %s)", name, DefaultH2Target)
	}
	return ""
}

// h2URL is the URL a variant loads: the target's own URL, as HTTP/1.1 or
// HTTP/2.
func (v h2Variant) url(served string) string {
	if v.h2 {
		return loadgen.ToH2(served)
	}
	return loadgen.ToH1(served)
}

// h2Comparison renders the comparison: the median of each variant's
// figures over the runs that completed all three, and the medians of the
// per-run ratios to HTTP/1.1.
func h2Comparison(runs map[int][]*loadgen.Result) []byte {
	var complete []int
	for run, rs := range runs {
		if len(rs) == len(h2Variants) && !slices.Contains(rs, nil) {
			complete = append(complete, run)
		}
	}
	if len(complete) == 0 {
		return nil
	}
	slices.Sort(complete)
	first := runs[complete[0]][0]
	p := first.Params
	var b bytes.Buffer
	fmt.Fprintf(&b, "Scheduled echo, %s WebSockets, %s msg/s, %d B text, %s measured after a %s warm-up, against %s on one port (a fresh target process per transport and run): "+
		"HTTP/1.1 upgrades, and RFC 8441 streams over HTTP/2 cleartext with 1 and with 10 streams per TCP connection.\n\n",
		numtext.Thousands(p.Conns), numtext.Number(p.Rate), p.Size, time.Duration(p.DurationMS)*time.Millisecond,
		time.Duration(p.WarmupMS)*time.Millisecond, first.Target)

	type row struct {
		name string
		of   func(*loadgen.Result) (float64, bool)
		text func(float64) string
	}
	us := func(v float64) string { return numtext.Micros(v) }
	pct := func(f loadgen.Figure, at func(*loadgen.Percentiles) int64) func(*loadgen.Result) (float64, bool) {
		return func(r *loadgen.Result) (float64, bool) {
			if p := f.Of(r); p != nil && p.Count > 0 {
				return float64(at(p)), true
			}
			return 0, false
		}
	}
	p50 := func(p *loadgen.Percentiles) int64 { return p.P50 }
	p99 := func(p *loadgen.Percentiles) int64 { return p.P99 }
	rows := []row{
		{"echo latency p50", pct(loadgen.FigureLatency, p50), us},
		{"echo latency p99", pct(loadgen.FigureLatency, p99), us},
		{"echo latency p99.9", pct(loadgen.FigureLatency, func(p *loadgen.Percentiles) int64 { return p.P999 }), us},
		{"replies/s", func(r *loadgen.Result) (float64, bool) { return r.ThroughputPerS, true }, func(v float64) string { return numtext.Rounded(v) + "/s" }},
		{"connect p99", pct(loadgen.FigureConnect, p99), us},
		{"TCP connections", func(r *loadgen.Result) (float64, bool) { return float64(r.Connections.TCP), r.Connections.TCP > 0 }, func(v float64) string { return numtext.Rounded(v) }},
		{"generator lag p99", pct(loadgen.FigureGeneratorLag, p99), us},
		{"generator CPU (cores)", func(r *loadgen.Result) (float64, bool) {
			if r.Generator == nil {
				return 0, false
			}
			return r.Generator.CPUCores, true
		}, func(v float64) string { return fmt.Sprintf("%.2f", v) }},
		{"client CPU/message", func(r *loadgen.Result) (float64, bool) { return r.Client.CPUPerMessageUS, r.Client.CPUPerMessageUS > 0 }, func(v float64) string { return fmt.Sprintf("%.1f µs", v) }},
		{"server CPU/message", func(r *loadgen.Result) (float64, bool) {
			if r.Server == nil || r.Server.CPUPerMessageUS == 0 {
				return 0, false
			}
			return r.Server.CPUPerMessageUS, true
		}, func(v float64) string { return fmt.Sprintf("%.1f µs", v) }},
		{"client KiB/conn", func(r *loadgen.Result) (float64, bool) {
			return r.Client.RSSBytesPerConn / 1024, r.Client.RSSBytesPerConn > 0
		}, func(v float64) string { return fmt.Sprintf("%.1f", v) }},
	}
	b.WriteString("| |")
	for _, v := range h2Variants {
		b.WriteString(" " + v.label + " |")
	}
	for _, v := range h2Variants[1:] {
		fmt.Fprintf(&b, " %s ÷ HTTP/1.1 |", strings.TrimPrefix(v.label, "HTTP/2, "))
	}
	b.WriteString("\n|---|" + strings.Repeat("--:|", 2*len(h2Variants)-1) + "\n")
	for _, rw := range rows {
		fmt.Fprintf(&b, "| %s |", rw.name)
		for i := range h2Variants {
			var vs []float64
			for _, run := range complete {
				if v, ok := rw.of(runs[run][i]); ok {
					vs = append(vs, v)
				}
			}
			b.WriteString(" " + medianText(vs, rw.text) + " |")
		}
		for i := 1; i < len(h2Variants); i++ {
			var ratios []float64
			for _, run := range complete {
				base, ok1 := rw.of(runs[run][0])
				v, ok2 := rw.of(runs[run][i])
				if ok1 && ok2 && base > 0 {
					ratios = append(ratios, v/base)
				}
			}
			b.WriteString(" " + medianText(ratios, func(v float64) string { return fmt.Sprintf("%.2f", v) }) + " |")
		}
		b.WriteString("\n")
	}
	fmt.Fprintf(&b, "\nMedians over %s; the ratios are the medians of the per-run ratios to HTTP/1.1. "+
		"Latency runs from the scheduled send (open model) less the generator's own lag, which the lag row shows; "+
		"generator CPU is its CPU time in the measured window divided by the window, out of %d cores.\n",
		numtext.Plural(len(complete), "complete run"), cores(first))
	var limited []string
	for _, run := range complete {
		for i, r := range runs[run] {
			if why := reports.GeneratorLimits(r); why != "" {
				limited = append(limited, fmt.Sprintf("run %d %s: %s", run, h2Variants[i].label, why))
			}
		}
	}
	if len(limited) > 0 {
		fmt.Fprintf(&b, "\n**Generator-limited** (%s): %s.\n", reports.GeneratorLimitedMeaning, strings.Join(limited, "; "))
	}
	return b.Bytes()
}

func medianText(vs []float64, f func(float64) string) string {
	if len(vs) == 0 {
		return "—"
	}
	return f(reports.Median(vs))
}

// cores is the generator's cores in r (GOMAXPROCS), 0 when unknown.
func cores(r *loadgen.Result) int {
	if r.Generator == nil {
		return 0
	}
	return r.Generator.Cores
}
