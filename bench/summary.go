package bench

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/wsharness/wsharness/internal/numtext"
	"github.com/wsharness/wsharness/loadgen"
	"github.com/wsharness/wsharness/reports"
)

// summary renders summary.md: machine, command, the comparison table, the
// k6 comparison and any failures.
func (r *runner) summary(interrupted bool) []byte {
	var s bytes.Buffer
	s.WriteString("# wsharness bench\n\n")
	tw := tabwriter.NewWriter(&s, 0, 0, 1, ' ', 0)
	fmt.Fprintf(tw, "- date:\t%s\n", r.started.UTC().Format(time.RFC3339))
	fmt.Fprintf(tw, "- command:\t%s\n", r.opts.Command)
	if r.opts.ExternalFile != "" {
		fmt.Fprintf(tw, "- external targets:\t%s\n", r.opts.ExternalFile)
	}
	fmt.Fprintf(tw, "- machine:\t%s\n", machineLine())
	fmt.Fprintf(tw, "- load average:\t%s at the start, %s at the end (1, 5, 15 min)\n", r.loadStart, r.loadEnd)
	fmt.Fprintf(tw, "- wall time:\t%s\n", time.Since(r.started).Round(time.Second))
	_ = tw.Flush()
	if interrupted {
		s.WriteString("\n**Interrupted**: the figures cover the runs that finished.\n")
	}
	s.WriteString("\n## Targets compared\n\n")
	s.Write(reports.LoadComparison(r.results))
	if ns := r.notSampledList(); len(ns) > 0 {
		fmt.Fprintf(&s, "\nServer CPU and memory not sampled for %s: they run outside wsharness (an entry without a command), so their server rows show —.\n",
			strings.Join(ns, ", "))
	}
	if len(r.skips) > 0 {
		s.WriteString("\n## Skipped\n\n")
		for _, sk := range r.skips {
			fmt.Fprintf(&s, "- %s\n", sk)
		}
	}
	if len(r.withErrors) > 0 {
		s.WriteString("\n## Runs with errors\n\nThese runs finished; their figures above include what went wrong.\n\n")
		for _, e := range r.withErrors {
			fmt.Fprintf(&s, "- %s\n", e)
		}
	}
	if r.opts.K6 != "" {
		s.WriteString("\n## wsharness and k6 on the same echo workload\n\n")
		if c := k6Comparison(r.pairs, r.k6Version); c != nil {
			s.Write(c)
		} else if r.k6Version == "" {
			fmt.Fprintf(&s, "Skipped: no usable k6 at %s.\n", r.opts.K6)
		} else if r.opts.k6TargetName() == "" {
			fmt.Fprintf(&s, "Skipped: %s.\n", noGoTarget)
		} else {
			s.WriteString("No complete k6/wsharness pair (see the failures below).\n")
		}
	}
	if len(r.failures) > 0 {
		s.WriteString("\n## Failures\n\n")
		for _, f := range r.failures {
			fmt.Fprintf(&s, "- %s\n", f)
		}
	}
	return s.Bytes()
}

// notSampledList names the targets whose server was not sampled, in
// --targets order.
func (r *runner) notSampledList() []string {
	var names []string
	for _, t := range r.opts.Targets {
		if r.notSampled[t] {
			names = append(names, t)
		}
	}
	return names
}

// ManifestSchema identifies bench.json.
const ManifestSchema = "wsharness.bench/v1"

// manifest is bench.json: what the bench covered and left out, for tools.
// Reports read the per-job results; this file says why some are missing.
type manifest struct {
	Schema       string    `json:"schema"`
	Started      time.Time `json:"started"`
	Command      string    `json:"command"`
	Targets      []string  `json:"targets"`
	ExternalFile string    `json:"external_file,omitempty"`
	Skipped      []skipDoc `json:"skipped"`
	// ServerNotSampled are targets whose server process was not sampled
	// for CPU and memory.
	ServerNotSampled []string `json:"server_not_sampled"`
	WithErrors       []string `json:"with_errors"`
	Failures         []string `json:"failures"`
}

type skipDoc struct {
	Target    string   `json:"target"`
	Workloads []string `json:"workloads,omitempty"` // absent: all
	Run       int      `json:"run,omitempty"`       // absent: every run
	Reason    string   `json:"reason"`
}

// writeManifest writes bench.json into the output directory.
func (r *runner) writeManifest() error {
	m := manifest{
		Schema: ManifestSchema, Started: r.started.UTC(), Command: r.opts.Command, Targets: r.opts.Targets,
		ExternalFile: r.opts.ExternalFile, Skipped: []skipDoc{}, ServerNotSampled: nonNil(r.notSampledList()),
		WithErrors: nonNil(r.withErrors), Failures: nonNil(r.failures),
	}
	for _, s := range r.skips {
		m.Skipped = append(m.Skipped, skipDoc(s))
	}
	b, err := json.MarshalIndent(m, "", "  ")
	if err != nil {
		return fmt.Errorf("encode bench.json: %w", err)
	}
	if err := os.WriteFile(filepath.Join(r.opts.Out, "bench.json"), append(b, '\n'), 0o644); err != nil {
		return fmt.Errorf("write bench.json: %w", err)
	}
	return nil
}

// nonNil makes a nil list an empty one, for JSON.
func nonNil(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}

// machineLine describes the machine the bench ran on.
func machineLine() string {
	parts := []string{fmt.Sprintf("%d CPUs", runtime.NumCPU())}
	if b, err := os.ReadFile("/proc/meminfo"); err == nil {
		for line := range strings.Lines(string(b)) {
			if f := strings.Fields(line); len(f) >= 2 && f[0] == "MemTotal:" {
				if kb, err := strconv.ParseFloat(f[1], 64); err == nil {
					parts = append(parts, fmt.Sprintf("%.1f GiB memory", kb/(1<<20)))
				}
			}
		}
	}
	if b, err := os.ReadFile("/proc/sys/kernel/osrelease"); err == nil {
		parts = append(parts, "Linux "+strings.TrimSpace(string(b)))
	}
	parts = append(parts, runtime.Version())
	return strings.Join(parts, ", ")
}

// progressLine is the one line printed when a run ends: what the run
// achieved, its primary figure (loadgen's), the generator's own figures,
// and a warning when the generator rather than the server may have
// bounded them.
func progressLine(r *loadgen.Result) string {
	var parts []string
	add := func(format string, args ...any) { parts = append(parts, fmt.Sprintf(format, args...)) }
	kind := r.Kind()
	switch kind {
	case loadgen.KindEchoRate, loadgen.KindEchoClosed:
		add("%s replies/s", numtext.Rounded(r.ThroughputPerS))
	case loadgen.KindBroadcast:
		add("%s deliveries/s", numtext.Rounded(r.ThroughputPerS))
	case loadgen.KindConnect:
		add("%d/%d established", r.Connections.Established, r.Connections.Target)
	}
	if f, p, ok := r.Primary(); ok && p != nil {
		add("%s p50 %s p99 %s p99.9 %s", f.Name, numtext.Micros(float64(p.P50)), numtext.Micros(float64(p.P99)), numtext.Micros(float64(p.P999)))
	}
	switch kind {
	case loadgen.KindEchoRate, loadgen.KindEchoClosed:
		if m := r.Messages; m != nil {
			add("lost %d errors %d", m.Lost, m.Errors)
		}
	case loadgen.KindBroadcast:
		if p := loadgen.FigureCompletion.Of(r); p != nil {
			add("%s p99 %s", loadgen.FigureCompletion.Name, numtext.Micros(float64(p.P99)))
		}
		if r.DeliveryRatio != nil {
			add("delivery %.5f", *r.DeliveryRatio)
		}
	case loadgen.KindConnect:
		if v, lower, ok := reports.ConnectRate(r); ok {
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
		add("server %.2fs CPU %.0f MiB", s.CPUSeconds, float64(s.RSSBytesMax)/(1<<20))
	}
	if g := r.Generator; g != nil {
		if p := g.LagUS; p != nil && p.Count > 0 {
			add("%s p99 %s", loadgen.FigureGeneratorLag.Name, numtext.Micros(float64(p.P99)))
		}
		add("generator CPU %.2f of %d cores, %s late sends", g.CPUCores, g.Cores, numtext.Thousands(int(g.Late)))
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

// loadAverage returns the 1-, 5- and 15-minute load averages as
// /proc/loadavg gives them.
func loadAverage() string {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return "unknown"
	}
	f := strings.Fields(string(b))
	if len(f) < 3 {
		return "unknown"
	}
	return strings.Join(f[:3], " ")
}
