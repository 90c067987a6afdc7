package main

import (
	"encoding/json"
	"fmt"
	"io"
	"strings"

	"github.com/wsharness/wsharness/conformance/cases"
	"github.com/wsharness/wsharness/reports"
	"github.com/wsharness/wsharness/results"
)

func runCases(args []string, stdout, stderr io.Writer) error {
	fs := newFlags("cases", "[--format text|json|markdown] [--json] [--family NAME]", stderr)
	format := fs.String("format", "text", "text, json, or markdown: the page docs/cases.md (the whole catalog, both roles; make docs writes it)")
	asJSON := fs.Bool("json", false, "print the catalog as JSON (--format json)")
	family := fs.String("family", "", "only this family (text and json)")
	if err := parse(fs, args); err != nil {
		return err
	}
	switch *format {
	case "text":
	case "json":
		*asJSON = true
	case "markdown":
		if *family != "" || *asJSON {
			return usageError("--format markdown prints the whole catalog: no --family or --json with it")
		}
		return cases.WriteMarkdown(stdout)
	default:
		return usageError("--format %q: want text, json or markdown", *format)
	}
	all := cases.All()
	if *family != "" {
		all = cases.ByFamily(cases.Family(*family))
		if len(all) == 0 {
			return usageError("unknown family %q (families: %v)", *family, cases.Families())
		}
	}
	if *asJSON {
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		return enc.Encode(all)
	}
	for _, c := range all {
		fmt.Fprintf(stdout, "%-8s %-14s %-28s %s\n", c.ID, c.Family, c.RFC, c.Title)
	}
	fmt.Fprintf(stdout, "%d cases\n", len(all))
	return nil
}

func runSummary(args []string, stdout, stderr io.Writer) error {
	fs := newFlags("summary", "RESULTS.json", stderr)
	if err := parse(fs, args); err != nil {
		return err
	}
	if fs.NArg() != 1 {
		return usageError("want one results.json path, got %d arguments", fs.NArg())
	}
	run, err := results.ReadFile(fs.Arg(0))
	if err != nil {
		if why := wrongKind(fs.Arg(0), results.Schema); why != "" {
			return usageError("%s", why)
		}
		return usageError("%v", err)
	}
	return conformanceVerdict(run, fs.Arg(0), stdout)
}

// conformanceVerdict prints a run's summary and returns its outcome: exit
// 3 when no target could be tested, 1 on unexpected failures, 130 when the
// run was interrupted, else nil. 'summary' (make conformance) and
// 'conformance' share it.
func conformanceVerdict(run results.Run, source string, stdout io.Writer) error {
	_, _ = stdout.Write(reports.ConformanceSummary(run))
	if reasons := unavailableTargets(run); len(reasons) == len(run.Targets) && len(reasons) > 0 {
		return &exitError{code: exitUnreachable, err: fmt.Errorf("no target could be started or reached, nothing was tested: %s", strings.Join(reasons, "; "))}
	}
	if n := reports.UnexpectedFailures(run); n > 0 {
		return &exitError{code: exitCasesFailed, err: fmt.Errorf("%d unexpected failures (see above; details in results.json and junit.xml)", n)}
	}
	// An interrupted run passed only the cases it got to: not a pass.
	if run.Incomplete {
		return &exitError{code: exitInterrupted, err: fmt.Errorf("%s: the run was interrupted before every case finished; the summary covers those that did", source)}
	}
	return nil
}

// unavailableTargets lists the targets of a run that could not be started.
func unavailableTargets(run results.Run) []string {
	var out []string
	for _, t := range run.Targets {
		if t.Unavailable != "" {
			out = append(out, t.Name+": "+t.Unavailable)
		}
	}
	return out
}
