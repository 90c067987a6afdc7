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
	if r.opts.H2Target != "" {
		s.WriteString("\n## HTTP/1.1 and HTTP/2 on the same target\n\n")
		if c := h2Comparison(r.h2Runs); c != nil {
			s.Write(c)
		} else {
			s.WriteString("No run completed all three transports (see the failures below).\n")
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
