package main

import (
	"bytes"
	"fmt"
	"sort"
	"text/tabwriter"
	"time"

	"github.com/wsharness/wsharness/loadgen"
	"github.com/wsharness/wsharness/reports"
)

// formatUS renders microseconds the way people read latencies.
func formatUS(us int64) string {
	return (time.Duration(us) * time.Microsecond).Round(time.Microsecond).String()
}

// loadSummary renders a load result as a short table.
func loadSummary(r *loadgen.Result) []byte {
	var b bytes.Buffer
	who := r.Target
	if r.Target != r.URL {
		who = fmt.Sprintf("%s (%s)", r.Target, r.URL)
	}
	fmt.Fprintf(&b, "%s against %s\n", reports.ScenarioLabel(r), who)
	if m := r.Kind().Measures(); m != "" {
		fmt.Fprintf(&b, "measures:    %s\n", m)
	}
	c := r.Connections
	fmt.Fprintf(&b, "connections: %d/%d established, %d failed%s, %d dropped%s\n", c.Established, c.Target, c.Failed, failureText(c.Failures), c.Dropped, failureText(c.Drops))
	if m := r.Messages; m != nil {
		fmt.Fprintf(&b, "messages:    sent %d, received %d, lost %d, duplicated %d, out of order %d, errors %d, unmatched %d\n",
			m.Sent, m.Received, m.Lost, m.Duplicated, m.OutOfOrder, m.Errors, m.Unmatched)
		fmt.Fprintf(&b, "throughput:  %.0f/s over %.1fs\n", r.ThroughputPerS, float64(r.DurationMS)/1000)
	}
	if r.DeliveryRatio != nil {
		fmt.Fprintf(&b, "delivery:    %.5f (%d of %d deliveries)\n", *r.DeliveryRatio, r.Messages.Received, r.Messages.Expected)
	}
	tw := tabwriter.NewWriter(&b, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "\tcount\tp50\tp90\tp99\tp99.9\tmax\t")
	for _, f := range loadgen.Figures {
		p := f.Of(r)
		if p == nil {
			continue
		}
		fmt.Fprintf(tw, "%s\t%d\t%s\t%s\t%s\t%s\t%s\t\n", f.Name, p.Count, formatUS(p.P50), formatUS(p.P90),
			formatUS(p.P99), formatUS(p.P999), formatUS(p.Max))
	}
	_ = tw.Flush()
	fmt.Fprintf(&b, "client:      %.1f MiB peak RSS (%.1f KiB/conn), %s\n",
		float64(r.Client.RSSBytesMax)/(1<<20), r.Client.RSSBytesPerConn/1024, cpuText(r.Client))
	if g := r.Generator; g != nil {
		lag := "no lag measured"
		if p := g.LagUS; p != nil && p.Count > 0 {
			lag = fmt.Sprintf("lag p50 %s p99 %s", formatUS(p.P50), formatUS(p.P99))
		}
		fmt.Fprintf(&b, "generator:   %s, %.2f of %d cores busy, %d sends more than %s late\n",
			lag, g.CPUCores, g.Cores, g.Late, formatUS(g.LagLimitUS))
	}
	if s := r.Server; s != nil {
		fmt.Fprintf(&b, "server:      %.1f MiB peak RSS, %s, pid %d\n", float64(s.RSSBytesMax)/(1<<20), cpuText(*s), s.PID)
	}
	for _, t := range r.Thresholds {
		verdict := "ok"
		if !t.Passed {
			verdict = "FAILED"
		}
		fmt.Fprintf(&b, "threshold:   %-24s %-6s (observed %g)\n", t.Expr, verdict, t.Value)
	}
	if why := reports.GeneratorLimits(r); why != "" {
		fmt.Fprintf(&b, "GENERATOR-LIMITED: %s; %s.\n", why, reports.GeneratorLimitedMeaning)
	}
	if r.Interrupted {
		b.WriteString("INTERRUPTED: figures cover the time until the signal.\n")
	}
	return b.Bytes()
}

func failureText(f map[string]int) string {
	if len(f) == 0 {
		return ""
	}
	keys := make([]string, 0, len(f))
	for k := range f {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	s := " ("
	for i, k := range keys {
		if i > 0 {
			s += ", "
		}
		s += fmt.Sprintf("%s %d", k, f[k])
	}
	return s + ")"
}

func cpuText(r loadgen.Resources) string {
	if r.CPUPerMessageUS == 0 {
		return fmt.Sprintf("%.2f s CPU", r.CPUSeconds)
	}
	return fmt.Sprintf("%.2f s CPU (%.1f µs/message)", r.CPUSeconds, r.CPUPerMessageUS)
}
