package main

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/wsharness/wsharness/bench"
	"github.com/wsharness/wsharness/targets"
)

// parseBenchFlags parses and checks the flags; it starts nothing but
// reading the external targets file.
func parseBenchFlags(args []string, stderr io.Writer) (bench.Options, error) {
	fs := newFlags("bench", "[--targets NAME,...] [--external FILE] [--runs N] [--out DIR] [--k6 PATH] [--quick]", stderr)
	targetList := fs.String("targets", "", "comma-separated targets, each started in its own process for every run: built-in ones and those of --external "+
		"(default: "+strings.Join(bench.DefaultTargets(nil), ",")+" and every target of --external)")
	external := fs.String("external", "", "external targets file (servers in other languages, started by command; default "+targets.DefaultExternalFile+
		" when it exists; \"\" for none)")
	runs := fs.Int("runs", 3, "runs of every workload per target (--quick: 1 unless given)")
	out := fs.String("out", "out/bench", "directory for the per-run JSON results and summary.md")
	k6 := fs.String("k6", "", "k6 binary for the generator comparison (skipped with a message if absent)")
	k6Target := fs.String("k6-target", "", "target of the k6 comparison, a built-in one (default: the first built-in target of --targets)")
	k6Conns := fs.Int("k6-conns", 0, "sockets for the k6 comparison (default: echo-closed's connections; lower it if k6 cannot hold them)")
	h2Target := fs.String("h2-target", bench.DefaultH2Target, "target of the HTTP/1.1 and HTTP/2 comparison (echo-rate over both, with 1 and 10 streams per connection), a built-in one serving both; \"\" for none")
	quick := fs.Bool("quick", false, "smoke run: a tenth of the connections, 2 s per workload")
	scenarioList := fs.String("scenarios", "", "comma-separated workloads to run (default all: "+strings.Join(bench.Workloads(), ", ")+")")
	if err := parseFlagsOnly(fs, args); err != nil {
		return bench.Options{}, err
	}
	o := bench.Options{
		Runs: *runs, Out: *out, K6: *k6, K6Target: *k6Target, K6Conns: *k6Conns, Quick: *quick, H2Target: *h2Target,
		Command: "wsharness bench " + strings.Join(args, " "),
	}
	if o.Quick && !flagSet(fs, "runs") {
		o.Runs = 1
	}
	// Without --external: the repository's file, relative to the working
	// directory (the repository's root under make), when it exists.
	o.ExternalFile = *external
	if !flagSet(fs, "external") {
		o.ExternalFile = defaultExternalFile()
	}
	var err error
	if o.ExternalFile != "" {
		if o.External, err = targets.LoadExternal(o.ExternalFile); err != nil {
			return o, usageError("--external: %v (--external \"\" leaves external targets out)", err)
		}
	}
	if flagSet(fs, "targets") {
		if o.Targets, err = splitList(*targetList); err != nil {
			return o, usageError("--targets: %v", err)
		}
	} else {
		o.Targets = bench.DefaultTargets(o.External)
	}
	if *scenarioList != "" {
		if o.Workloads, err = splitList(*scenarioList); err != nil {
			return o, usageError("--scenarios: %v", err)
		}
	}
	// Every target runs in a process of this executable's own.
	if o.Exe, err = os.Executable(); err != nil {
		return o, fmt.Errorf("find own executable: %w", err)
	}
	if err := o.Validate(); err != nil {
		return o, usageError("%v", err)
	}
	return o, nil
}

// splitList splits a comma-separated list, refusing empty lists and
// repeated names.
func splitList(s string) ([]string, error) {
	var out []string
	for _, f := range strings.Split(s, ",") {
		f = strings.TrimSpace(f)
		if f == "" {
			continue
		}
		if slices.Contains(out, f) {
			return nil, fmt.Errorf("%q given twice", f)
		}
		out = append(out, f)
	}
	if len(out) == 0 {
		return nil, errors.New("empty list")
	}
	return out, nil
}

func runBench(args []string, stdout, stderr io.Writer) error {
	o, err := parseBenchFlags(args, stderr)
	if err != nil {
		return err
	}
	ctx, stop := interruptible()
	defer stop()

	started := time.Now()
	rep, err := bench.Run(ctx, o, stderr)
	if err != nil {
		return err
	}
	path := filepath.Join(o.Out, "summary.md")
	if err := os.WriteFile(path, rep.Summary, 0o644); err != nil {
		return fmt.Errorf("write summary: %w", err)
	}
	_, _ = stdout.Write(rep.Summary)
	fmt.Fprintf(stdout, "\nsummary: %s (bench took %s)\n", path, time.Since(started).Round(time.Second))
	switch {
	case rep.Interrupted:
		return &exitError{code: exitInterrupted, err: errors.New("interrupted; the summary covers the finished runs")}
	case len(rep.Failures) > 0:
		return &exitError{code: exitInternal, err: fmt.Errorf("%d of %d jobs failed", len(rep.Failures), rep.Jobs)}
	}
	return nil
}
