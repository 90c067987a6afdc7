package reports

import (
	"bytes"
	"fmt"
	"strings"
	"text/tabwriter"

	"github.com/wsharness/wsharness/internal/numtext"
	"github.com/wsharness/wsharness/loadgen"
)

// summaryPercentiles are the columns of LoadSummary's latency table.
var summaryPercentiles = []percentileAt{atP50, atP90, atP99, atP999, atMax}

// LoadSummary renders one load run as a short report, as the CLI prints
// it when the run ends: the workload and target, connections, messages,
// throughput, every latency figure's percentiles, the client, the
// generator and the server, the thresholds, and warnings.
func LoadSummary(r *loadgen.Result) []byte {
	var b bytes.Buffer
	who := r.Target
	if r.Target != r.URL {
		who = fmt.Sprintf("%s (%s)", r.Target, r.URL)
	}
	fmt.Fprintf(&b, "%s against %s\n", ScenarioLabel(r), who)
	if m := r.Kind().Measures(); m != "" {
		fmt.Fprintf(&b, "measures:    %s\n", m)
	}
	c := r.Connections
	fmt.Fprintf(&b, "connections: %d/%d established, %d failed%s, %d dropped%s\n", c.Established, c.Target, c.Failed, inParens(countsText(c.Failures)), c.Dropped, inParens(countsText(c.Drops)))
	if r.Params.OverH2() {
		fmt.Fprintf(&b, "transport:   HTTP/2 (RFC 8441), %s per connection, on %s\n",
			numtext.Plural(max(r.Params.StreamsPerConn, 1), "WebSocket stream"), numtext.Plural(c.TCP, "TCP connection"))
	}
	if m := r.Messages; m != nil {
		fmt.Fprintf(&b, "messages:    sent %d, received %d, lost %d, duplicated %d, out of order %d, errors %d, unmatched %d\n",
			m.Sent, m.Received, m.Lost, m.Duplicated, m.OutOfOrder, m.Errors, m.Unmatched)
		_, throughput, _ := figThroughput.textOf(r)
		fmt.Fprintf(&b, "throughput:  %s over %.1fs\n", throughput, float64(r.DurationMS)/1000)
	}
	if _, ratio, ok := figDelivery.textOf(r); ok {
		fmt.Fprintf(&b, "delivery:    %s (%d of %d deliveries)\n", ratio, r.Messages.Received, r.Messages.Expected)
	}
	tw := tabwriter.NewWriter(&b, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprint(tw, "\tcount\t")
	for _, at := range summaryPercentiles {
		fmt.Fprintf(tw, "%s\t", at.name)
	}
	fmt.Fprintln(tw)
	for _, f := range loadgen.Figures {
		p := f.Of(r)
		if p == nil {
			continue
		}
		fmt.Fprintf(tw, "%s\t%d\t%s\t\n", f.Name, p.Count, strings.Join(microsAt(p, summaryPercentiles...), "\t"))
	}
	_ = tw.Flush()
	fmt.Fprintf(&b, "client:      %s peak RSS (%s KiB/conn), %s\n",
		unitBytes.text(float64(r.Client.RSSBytesMax)), unitTenths.text(r.Client.RSSBytesPerConn/1024), cpuText(r.Client))
	if g := r.Generator; g != nil {
		lag := "no lag measured"
		if p := g.LagUS; p != nil && p.Count > 0 {
			lag = fmt.Sprintf("lag p50 %s p99 %s", numtext.Micros(float64(p.P50)), numtext.Micros(float64(p.P99)))
		}
		fmt.Fprintf(&b, "generator:   %s, %s of %d cores busy, %s sends more than %s late\n",
			lag, unitHundredths.text(g.CPUCores), g.Cores, numtext.Thousands(int(g.Late)), numtext.Micros(float64(g.LagLimitUS)))
	}
	if s := r.Server; s != nil {
		fmt.Fprintf(&b, "server:      %s peak RSS, %s, pid %d\n", unitBytes.text(float64(s.RSSBytesMax)), cpuText(*s), s.PID)
	}
	for _, t := range r.Thresholds {
		verdict := "ok"
		if !t.Passed {
			verdict = "FAILED"
		}
		fmt.Fprintf(&b, "threshold:   %-24s %-6s (observed %g)\n", t.Expr, verdict, t.Value)
	}
	if why := GeneratorLimits(r); why != "" {
		fmt.Fprintf(&b, "GENERATOR-LIMITED: %s; %s.\n", why, GeneratorLimitedMeaning)
	}
	if r.Interrupted {
		b.WriteString("INTERRUPTED: figures cover the time until the signal.\n")
	}
	return b.Bytes()
}

// LoadLine sums up one load run on a line, as bench prints it when the
// run ends: what the run achieved, its primary figure (loadgen's), the
// generator's own figures, and a warning when the generator rather than
// the server may have bounded them.
func LoadLine(r *loadgen.Result) string {
	var parts []string
	add := func(format string, args ...any) { parts = append(parts, fmt.Sprintf(format, args...)) }
	kind := r.Kind()
	switch kind {
	case loadgen.KindEchoRate, loadgen.KindEchoClosed, loadgen.KindBroadcast:
		add("%s %s/s", numtext.Rounded(r.ThroughputPerS), throughputCounts(kind))
	case loadgen.KindConnect:
		add("%d/%d established", r.Connections.Established, r.Connections.Target)
	}
	if f, p, ok := r.Primary(); ok && p != nil {
		ms := microsAt(p, atP50, atP99, atP999)
		add("%s p50 %s p99 %s p99.9 %s", f.Name, ms[0], ms[1], ms[2])
	}
	switch kind {
	case loadgen.KindEchoRate, loadgen.KindEchoClosed:
		if m := r.Messages; m != nil {
			add("lost %d errors %d", m.Lost, m.Errors)
		}
	case loadgen.KindBroadcast:
		if p := loadgen.FigureCompletion.Of(r); p != nil {
			add("%s p99 %s", loadgen.FigureCompletion.Name, microsAt(p, atP99)[0])
		}
		if _, ratio, ok := figDelivery.textOf(r); ok {
			add("delivery %s", ratio)
		}
	case loadgen.KindConnect:
		if v, lower, ok := ConnectRate(r); ok {
			ge := ""
			if lower {
				ge = "≥"
			}
			add("%s%s conns/s", ge, numtext.Rounded(v))
		}
	}
	if r.Connections.Failed > 0 || r.Connections.Dropped > 0 {
		add("conns failed %d dropped %d", r.Connections.Failed, r.Connections.Dropped)
	}
	if s := r.Server; s != nil {
		add("server %s CPU %s", unitCPUSeconds.text(s.CPUSeconds), unitBytes.text(float64(s.RSSBytesMax)))
	}
	if g := r.Generator; g != nil {
		if p := g.LagUS; p != nil && p.Count > 0 {
			add("%s p99 %s", loadgen.FigureGeneratorLag.Name, microsAt(p, atP99)[0])
		}
		add("generator CPU %s of %d cores, %s late sends", unitHundredths.text(g.CPUCores), g.Cores, numtext.Thousands(int(g.Late)))
	}
	if r.GeneratorLimited() {
		causes := make([]string, len(r.Generator.Limited))
		for i, l := range r.Generator.Limited {
			causes[i] = string(l.Cause)
		}
		add("generator-limited (%s)", strings.Join(causes, ", "))
	}
	return strings.Join(parts, ", ")
}

// microsAt writes percentiles of a latency summary.
func microsAt(p *loadgen.Percentiles, ats ...percentileAt) []string {
	out := make([]string, len(ats))
	for i, at := range ats {
		out[i] = unitMicros.text(float64(at.of(p)))
	}
	return out
}

// inParens is " (s)", or "" for no s.
func inParens(s string) string {
	if s == "" {
		return ""
	}
	return " (" + s + ")"
}

// cpuText writes a process's CPU time, per message when measured.
func cpuText(r loadgen.Resources) string {
	cpu := unitCPUSeconds.text(r.CPUSeconds) + " CPU"
	if r.CPUPerMessageUS != 0 {
		cpu += fmt.Sprintf(" (%s µs/message)", unitTenths.text(r.CPUPerMessageUS))
	}
	return cpu
}
