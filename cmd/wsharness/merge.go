package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/wsharness/wsharness/internal/numtext"
	"github.com/wsharness/wsharness/loadgen"
	"github.com/wsharness/wsharness/reports"
)

func runMerge(args []string, stdout, stderr io.Writer) error {
	fs := newFlags("merge", "[--out FILE] [--threshold EXPR]... WORKER.json|DIR...", stderr)
	out := fs.String("out", "", "write the merged result here and print its summary (default: the JSON on standard output)")
	var thresholds repeated
	fs.Var(&thresholds, "threshold", "fail (exit 4) unless this holds on the merged result, e.g. p99<20ms; repeatable")
	if err := parse(fs, args); err != nil {
		return err
	}
	if fs.NArg() == 0 {
		return usageError("give the workers' result files, or directories holding them")
	}
	checks, err := parseThresholds(thresholds)
	if err != nil {
		return err
	}
	files, err := mergeInputs(fs.Args(), *out)
	if err != nil {
		return usageError("%v", err)
	}
	parts := make([]*loadgen.Result, 0, len(files))
	for _, f := range files {
		r, err := loadgen.ReadFile(f)
		if err != nil {
			if why := wrongKind(f, loadgen.Schema); why != "" {
				return usageError("%s", why)
			}
			return usageError("%v", err)
		}
		parts = append(parts, r)
	}
	merged, err := loadgen.Merge(parts)
	if err != nil {
		return usageError("merge %s: %v", strings.Join(files, ", "), err)
	}
	failed, err := evalThresholds(checks, merged)
	if err != nil {
		return err
	}
	if *out == "" {
		b, err := loadgen.Marshal(merged)
		if err != nil {
			return err
		}
		_, _ = stdout.Write(b)
	} else {
		if err := writeResult(*out, merged, "merged result"); err != nil {
			return err
		}
		_, _ = stdout.Write(reports.LoadSummary(merged))
		_, _ = stdout.Write(partsTable(merged))
		fmt.Fprintf(stdout, "merged %d results: %s\n", len(files), *out)
	}
	if spread := startSpread(merged); spread > time.Second {
		fmt.Fprintf(stderr, "warning: the workers started %s apart; their measured windows overlap only partly\n", spread.Round(time.Millisecond))
	}
	switch {
	case merged.Connections.Established == 0:
		return &exitError{code: exitUnreachable, err: errors.New("no worker established a connection")}
	case len(failed) > 0:
		return thresholdsFailed(failed)
	}
	return nil
}

// mergeInputs expands the arguments: files as given, and from each
// directory every .json load result that is a worker's share (a merged
// result lying beside them, or out itself, is left out).
func mergeInputs(args []string, out string) ([]string, error) {
	outAbs := ""
	if out != "" {
		outAbs, _ = filepath.Abs(out)
	}
	var files []string
	for _, a := range args {
		st, err := os.Stat(a)
		if err != nil {
			return nil, fmt.Errorf("read load result: %w", err)
		}
		if !st.IsDir() {
			files = append(files, a)
			continue
		}
		matches, err := filepath.Glob(filepath.Join(a, "*.json"))
		if err != nil {
			return nil, err
		}
		sort.Strings(matches)
		found := 0
		for _, m := range matches {
			if abs, _ := filepath.Abs(m); abs == outAbs || !isWorkerResult(m) {
				continue
			}
			files = append(files, m)
			found++
		}
		if found == 0 {
			return nil, fmt.Errorf("%s holds no worker results (*.json load results written with --workers)", a)
		}
	}
	return files, nil
}

// isWorkerResult tells whether path is a load result with a worker
// identity, without failing on other JSON files.
func isWorkerResult(path string) bool {
	b, err := os.ReadFile(path)
	if err != nil {
		return false
	}
	var head struct {
		Schema string          `json:"schema"`
		Worker *loadgen.Worker `json:"worker"`
	}
	return json.Unmarshal(b, &head) == nil && head.Schema == loadgen.Schema && head.Worker != nil
}

// partsTable lists the workers of a merged result.
func partsTable(r *loadgen.Result) []byte {
	var b strings.Builder
	tw := tabwriter.NewWriter(&b, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "worker\tstarted\tlate\tconns\tthroughput/s\tclient CPU\tpeak RSS\t")
	for _, p := range r.MergedFrom {
		fmt.Fprintf(tw, "%d\t+%s\t%s\t%d\t%.0f\t%.2f s\t%s\t\n", p.Index, p.Started.Sub(r.Started).Round(time.Millisecond),
			(time.Duration(p.LateMS) * time.Millisecond).String(), p.Established, p.ThroughputPerS, p.Client.CPUSeconds, numtext.MiB(float64(p.Client.RSSBytesMax)))
	}
	_ = tw.Flush()
	return []byte(b.String())
}

// startSpread is the time between the first and the last worker's start.
func startSpread(r *loadgen.Result) time.Duration {
	var last time.Time
	for _, p := range r.MergedFrom {
		if p.Started.After(last) {
			last = p.Started
		}
	}
	if last.IsZero() {
		return 0
	}
	return last.Sub(r.Started)
}
