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

	"github.com/wsharness/wsharness/reports"
)

const (
	defaultReportDir   = "out/report"
	defaultReportTitle = "wsharness report"
)

func runReport(args []string, stdout, stderr io.Writer) error {
	fs := newFlags("report", "[--out DIR] [--format html|markdown|text] [--baseline PATH]... [--fail-on-regression] [flags] PATH...", stderr)
	out := fs.String("out", "", "write the report into this directory: index.html (html, default directory "+defaultReportDir+"), "+
		"summary.md (markdown), summary.txt (text); without --out, markdown and text go to stdout")
	format := fs.String("format", "html", "html, markdown (e.g. for a CI job summary) or text")
	var baseline repeated
	fs.Var(&baseline, "baseline", "compare with the results in this file or directory and print what changed; repeatable")
	failOnRegression := fs.Bool("fail-on-regression", false, "exit 4 when the comparison with --baseline finds regressions")
	p99 := fs.Float64("p99-regression", reports.DefaultThresholds.P99, "a p99 latency rise above this fraction is a regression (0.2 = +20%)")
	throughput := fs.Float64("throughput-regression", reports.DefaultThresholds.Throughput, "a throughput fall above this fraction is a regression (0.1 = -10%)")
	title := fs.String("title", "", fmt.Sprintf("report title (html default %q)", defaultReportTitle))
	usage := fs.Usage
	fs.Usage = func() {
		usage()
		fmt.Fprint(stderr, `
PATH is a results file (conformance results.json or a load result) or a
directory of them (read with its subdirectories one level deep).

With --baseline, the comparison lists conformance cases whose verdict
changed (new unexpected failures, fixed cases, cases on one side only) and
load figures that moved per target and workload. Regressions are new
unexpected failures, the p99 of a workload's primary latency (echo latency,
closed-loop service time, broadcast fan-out, connect) up by more than
--p99-regression, and throughput down by more than --throughput-regression. It is printed after a
markdown or text report; when the report is written to a directory it is
also written there as compare.md (compare.txt for text).

Exit codes: 0 report written; 2 bad flags, or a path that is missing or not
a results file; 4 regressions against the baseline with --fail-on-regression;
5 the report could not be written.
`)
	}

	paths, err := parseInterleaved(fs, args)
	if err != nil {
		return err
	}
	if len(paths) == 0 {
		return usageError("give at least one results file or directory")
	}
	switch *format {
	case "html", "markdown", "text":
	default:
		return usageError("--format %q: want html, markdown or text", *format)
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

	toDir := *format == "html" || outSet
	var report, comparison []byte
	var reportName, compareName string
	switch *format {
	case "html":
		t := *title
		if t == "" {
			t = defaultReportTitle
		}
		report, err = reports.HTML(in, reports.HTMLOptions{Title: t, Generated: time.Now()})
		if err != nil {
			return fmt.Errorf("render HTML: %w", err)
		}
		reportName = "index.html"
		if cmp != nil {
			comparison, compareName = reports.CompareMarkdown(*cmp), "compare.md"
		}
	case "markdown":
		if *title != "" {
			report = fmt.Appendf(nil, "# %s\n\n", markdownTitle(*title))
		}
		report, reportName = append(report, reports.Markdown(in)...), "summary.md"
		if cmp != nil {
			comparison, compareName = reports.CompareMarkdown(*cmp), "compare.md"
		}
	case "text":
		if *title != "" {
			report = fmt.Appendf(nil, "%s\n%s\n\n", *title, strings.Repeat("=", len([]rune(*title))))
		}
		report, reportName = append(report, reports.Text(in)...), "summary.txt"
		if cmp != nil {
			comparison, compareName = reports.CompareText(*cmp), "compare.txt"
		}
	}

	if toDir {
		if err := os.MkdirAll(dir, 0o755); err != nil {
			return fmt.Errorf("create %s: %w", dir, err)
		}
		written := []string{filepath.Join(dir, reportName)}
		if err := os.WriteFile(written[0], report, 0o644); err != nil {
			return fmt.Errorf("write report: %w", err)
		}
		if comparison != nil {
			p := filepath.Join(dir, compareName)
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
			noun := "regressions"
			if len(regs) == 1 {
				noun = "regression"
			}
			return &exitError{code: exitThreshold, err: fmt.Errorf("%d %s against the baseline (--fail-on-regression)", len(regs), noun)}
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

// markdownTitle keeps a title on one line.
func markdownTitle(s string) string {
	return strings.Join(strings.Fields(s), " ")
}
