package main

import (
	"flag"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/wsharness/wsharness/internal/numtext"
	"github.com/wsharness/wsharness/reports"
)

// defaultReportDir is where a format that is never printed (html) is
// written without --out.
const defaultReportDir = "out/report"

func runReport(args []string, stdout, stderr io.Writer) error {
	names := make([]string, len(reports.Formats))
	for i, f := range reports.Formats {
		names[i] = f.Name
	}
	fs := newFlags("report", "[--out DIR] [--format "+strings.Join(names, "|")+"] [--baseline PATH]... [--fail-on-regression] [flags] PATH...", stderr)
	out := fs.String("out", "", "write the report into this directory: "+reports.FormatList(", ", func(f reports.Format) string {
		if f.Printed {
			return fmt.Sprintf("%s (%s)", f.File, f.Name)
		}
		return fmt.Sprintf("%s (%s, default directory %s)", f.File, f.Name, defaultReportDir)
	})+"; without --out, "+reports.FormatList(" and ", func(f reports.Format) string {
		if f.Printed {
			return f.Name
		}
		return ""
	})+" go to stdout")
	format := fs.String("format", reports.Formats[0].Name, reports.FormatList(" or ", func(f reports.Format) string {
		if f.Help == "" {
			return f.Name
		}
		return fmt.Sprintf("%s (%s)", f.Name, f.Help)
	}))
	var baseline repeated
	fs.Var(&baseline, "baseline", "compare with the results in this file or directory and print what changed; repeatable")
	failOnRegression := fs.Bool("fail-on-regression", false, "exit 4 when the comparison with --baseline finds regressions")
	p99 := fs.Float64("p99-regression", reports.DefaultThresholds.P99, "a p99 latency rise above this fraction is a regression (0.2 = +20%)")
	throughput := fs.Float64("throughput-regression", reports.DefaultThresholds.Throughput, "a throughput fall above this fraction is a regression (0.1 = -10%)")
	title := fs.String("title", "", fmt.Sprintf("report title (html default %q)", reports.DefaultTitle))
	usage := fs.Usage
	fs.Usage = func() {
		usage()
		fmt.Fprintf(stderr, `
PATH is a results file (conformance results.json or a load result) or a
directory of them (read with its subdirectories one level deep).

With --baseline, the comparison lists conformance cases whose verdict
changed (new unexpected failures, fixed cases, cases on one side only) and
load figures that moved per target and workload. Regressions are new
unexpected failures, the p99 of a workload's primary latency (echo latency,
closed-loop service time, broadcast fan-out, connect) up by more than
--p99-regression, and throughput down by more than --throughput-regression. It is printed after a
%s report; when the report is written to a directory it is
also written there as %s.

Exit codes: 0 report written; 2 bad flags, or a path that is missing or not
a results file; 4 regressions against the baseline with --fail-on-regression;
5 the report could not be written.
`, reports.FormatList(" or ", func(f reports.Format) string {
			if f.Printed && f.Comparison.Write != nil {
				return f.Name
			}
			return ""
		}), comparisonFiles())
	}

	paths, err := parseInterleaved(fs, args)
	if err != nil {
		return err
	}
	if len(paths) == 0 {
		return usageError("give at least one results file or directory")
	}
	f, err := reports.FormatNamed(*format)
	if err != nil {
		return usageError("--format %q: %v", *format, err)
	}
	outSet := flagSet(fs, "out")
	if outSet && *out == "" {
		return usageError("--out: empty directory name")
	}
	dir := *out
	if dir == "" {
		dir = defaultReportDir
	}
	for name, v := range map[string]float64{"p99-regression": *p99, "throughput-regression": *throughput} {
		if math.IsNaN(v) || math.IsInf(v, 0) || v < 0 {
			return usageError("--%s %v: want a fraction ≥ 0, e.g. 0.2 for 20%%", name, v)
		}
	}
	if *failOnRegression && len(baseline) == 0 {
		return usageError("--fail-on-regression needs --baseline")
	}
	if len(baseline) > 0 && f.Comparison.Write == nil {
		return usageError("--baseline: the %s format shows no comparison; use %s", f.Name, reports.FormatList(" or ", func(f reports.Format) string {
			if f.Comparison.Write == nil {
				return ""
			}
			return f.Name
		}))
	}

	in, err := reports.ReadInput(paths)
	if err != nil {
		return usageError("%v", err)
	}
	var cmp *reports.Comparison
	if len(baseline) > 0 {
		base, err := reports.ReadInput(baseline)
		if err != nil {
			return usageError("--baseline: %v", err)
		}
		c := reports.Compare(base, in, reports.Thresholds{P99: *p99, Throughput: *throughput})
		cmp = &c
	}

	report, err := f.Render(in, reports.Options{Title: *title, Generated: time.Now()})
	if err != nil {
		return err
	}
	var comparison []byte
	if cmp != nil {
		if comparison, err = f.Comparison.Render(*cmp); err != nil {
			return err
		}
	}

	if !f.Printed || outSet {
		if err := os.MkdirAll(dir, 0o755); err != nil {
			return fmt.Errorf("create %s: %w", dir, err)
		}
		written := []string{filepath.Join(dir, f.File)}
		if err := os.WriteFile(written[0], report, 0o644); err != nil {
			return fmt.Errorf("write report: %w", err)
		}
		if comparison != nil {
			p := filepath.Join(dir, f.Comparison.File)
			if err := os.WriteFile(p, comparison, 0o644); err != nil {
				return fmt.Errorf("write comparison: %w", err)
			}
			written = append(written, p)
		}
		for _, p := range written {
			fmt.Fprintln(stdout, p)
		}
		if comparison != nil {
			fmt.Fprintln(stdout)
			_, _ = stdout.Write(comparison)
		}
	} else {
		_, _ = stdout.Write(report)
		if comparison != nil {
			fmt.Fprintln(stdout)
			_, _ = stdout.Write(comparison)
		}
	}

	if cmp != nil && *failOnRegression {
		if regs := cmp.Regressions(); len(regs) > 0 {
			for _, r := range regs {
				fmt.Fprintf(stderr, "regression: %s\n", r)
			}
			return &exitError{code: exitThreshold, err: fmt.Errorf("%s against the baseline (--fail-on-regression)", numtext.Plural(len(regs), "regression"))}
		}
	}
	return nil
}

// parseInterleaved parses flags that may follow the positional arguments
// ("report out/ --format text"), returning the positional ones. After
// "--" everything is positional.
func parseInterleaved(fs *flag.FlagSet, args []string) ([]string, error) {
	var positional []string
	for {
		if err := parse(fs, args); err != nil {
			return nil, err
		}
		rest := fs.Args()
		if used := len(args) - len(rest); used > 0 && args[used-1] == "--" {
			return append(positional, rest...), nil
		}
		i := 0
		for i < len(rest) && (rest[i] == "-" || !strings.HasPrefix(rest[i], "-")) {
			i++
		}
		positional = append(positional, rest[:i]...)
		if i == len(rest) {
			return positional, nil
		}
		args = rest[i:]
	}
}

// comparisonFiles names the comparison files of the formats that have
// one: "compare.md (html, markdown) or compare.txt (text)".
func comparisonFiles() string {
	users := map[string][]string{}
	for _, f := range reports.Formats {
		if file := f.Comparison.File; file != "" {
			users[file] = append(users[file], f.Name)
		}
	}
	return reports.FormatList(" or ", func(f reports.Format) string {
		names := users[f.Comparison.File]
		if len(names) == 0 || names[0] != f.Name { // named with its first user
			return ""
		}
		return fmt.Sprintf("%s (%s)", f.Comparison.File, strings.Join(names, ", "))
	})
}
