package main

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/wsharness/wsharness/internal/testtext"
	"github.com/wsharness/wsharness/loadgen"
	"github.com/wsharness/wsharness/results"
)

// writeRun writes a conformance results file with one target "alpha"
// whose cases have the given verdicts (close verdicts OK).
func writeRun(t *testing.T, path string, verdicts map[string]results.Verdict) string {
	t.Helper()
	tg := results.Target{Name: "alpha"}
	for id, v := range verdicts {
		tg.Cases = append(tg.Cases, results.Case{ID: id, Title: "case " + id, RFC: "RFC 6455 §5.2", Verdict: v, CloseVerdict: results.CloseOK,
			Observed: "RFC 6455 §5.2: expected an echo\nobserved nothing"})
	}
	tg.SortCases()
	tg.Summarize()
	b, err := results.Marshal(results.Run{Schema: results.Schema, Started: time.Now(), Targets: []results.Target{tg}})
	if err != nil {
		t.Fatal(err)
	}
	writeFile(t, path, b)
	return path
}

// writeLoad writes an echo load result for target gws.
func writeLoad(t *testing.T, path string, throughput float64, p99 int64) string {
	t.Helper()
	b, err := loadgen.Marshal(&loadgen.Result{
		Schema: loadgen.Schema, Scenario: loadgen.ScenarioEcho, Target: "gws",
		Params:         loadgen.Params{Conns: 100, Rate: 1000, Size: 128, DurationMS: 5000},
		Connections:    loadgen.Connections{Target: 100, Established: 100},
		Messages:       &loadgen.Messages{Sent: 5000, Received: 5000},
		ThroughputPerS: throughput,
		LatencyUS:      &loadgen.Percentiles{Count: 5000, P50: 500, P99: p99, P999: 2 * p99, Max: 3 * p99},
	})
	if err != nil {
		t.Fatal(err)
	}
	writeFile(t, path, b)
	return path
}

func TestReportHTMLToOut(t *testing.T) {
	dir := t.TempDir()
	in := filepath.Join(dir, "in")
	writeRun(t, filepath.Join(in, "conformance", "results.json"), map[string]results.Verdict{"1.1.1": results.OK, "1.1.2": results.Failed})
	writeLoad(t, filepath.Join(in, "bench", "gws-echo.json"), 1000, 2000)
	out := filepath.Join(dir, "report")
	code, stdout, stderr := runCLI("report", "--out", out, "--title", "nightly", in)
	if code != exitOK {
		t.Fatalf("exit %d, stderr %q", code, stderr)
	}
	index := filepath.Join(out, "index.html")
	if stdout != index+"\n" {
		t.Errorf("stdout %q, want the path %q", stdout, index)
	}
	b, err := os.ReadFile(index)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(strings.ToLower(string(b)), "<html") || !strings.Contains(string(b), "nightly") {
		t.Errorf("index.html is not the titled HTML report: %.300s", b)
	}
}

func TestReportHTMLDefaultDir(t *testing.T) {
	dir := t.TempDir()
	path := writeRun(t, filepath.Join(dir, "results.json"), map[string]results.Verdict{"1.1.1": results.OK})
	t.Chdir(dir)
	code, stdout, stderr := runCLI("report", path)
	if code != exitOK {
		t.Fatalf("exit %d, stderr %q", code, stderr)
	}
	want := filepath.Join("out", "report", "index.html")
	if stdout != want+"\n" {
		t.Errorf("stdout %q, want %q", stdout, want)
	}
	if _, err := os.Stat(filepath.Join(dir, want)); err != nil {
		t.Error(err)
	}
}

func TestReportMarkdownAndTextToStdout(t *testing.T) {
	dir := t.TempDir()
	path := writeRun(t, filepath.Join(dir, "results.json"), map[string]results.Verdict{"1.1.1": results.OK, "1.1.2": results.Failed})
	load := writeLoad(t, filepath.Join(dir, "load.json"), 1000, 2000)
	t.Chdir(dir)
	// Flags may follow the paths.
	code, stdout, stderr := runCLI("report", path, load, "--format", "markdown", "--title", "PR 12")
	if code != exitOK {
		t.Fatalf("markdown: exit %d, stderr %q", code, stderr)
	}
	testtext.Contains(t, "stdout", stdout, "# PR 12\n", "## Conformance", "| alpha | server | 2 | 1 |", "| 1.1.2 | FAILED |", "## Load", "### echo")
	code, stdout, stderr = runCLI("report", "--format", "text", path, load)
	if code != exitOK {
		t.Fatalf("text: exit %d, stderr %q", code, stderr)
	}
	testtext.Contains(t, "stdout", stdout, "alpha: 1 unexpected failures", "1.1.2", "throughput", "1,000/s")
	if _, err := os.Stat(filepath.Join(dir, "out")); !os.IsNotExist(err) {
		t.Errorf("markdown or text without --out wrote files: %v", err)
	}

	out := filepath.Join(dir, "summary")
	code, stdout, _ = runCLI("report", "--format", "markdown", "--out", out, path)
	if md := filepath.Join(out, "summary.md"); code != exitOK || stdout != md+"\n" {
		t.Errorf("markdown --out: exit %d, stdout %q", code, stdout)
	} else if b, err := os.ReadFile(md); err != nil || !strings.Contains(string(b), "## Conformance") {
		t.Errorf("summary.md: %v %.200s", err, b)
	}
	code, stdout, _ = runCLI("report", "--format", "text", "--out", out, path)
	if txt := filepath.Join(out, "summary.txt"); code != exitOK || stdout != txt+"\n" {
		t.Errorf("text --out: exit %d, stdout %q", code, stdout)
	}
}

// Every format of the table is a --format: junit, too, from any results
// file, to stdout or into --out.
func TestReportJUnit(t *testing.T) {
	dir := t.TempDir()
	path := writeRun(t, filepath.Join(dir, "results.json"), map[string]results.Verdict{"1.1.1": results.OK, "1.1.2": results.Failed})
	t.Chdir(dir)
	code, stdout, stderr := runCLI("report", "--format", "junit", path)
	if code != exitOK || !strings.HasPrefix(stdout, "<?xml") || !strings.Contains(stdout, `<testsuite name="alpha" tests="2" failures="1"`) {
		t.Errorf("junit: exit %d, stdout %q, stderr %q", code, stdout, stderr)
	}
	out := filepath.Join(dir, "ci")
	code, stdout, _ = runCLI("report", "--format", "junit", "--out", out, path)
	if xml := filepath.Join(out, "junit.xml"); code != exitOK || stdout != xml+"\n" {
		t.Errorf("junit --out: exit %d, stdout %q", code, stdout)
	}
}

func TestReportUsageErrors(t *testing.T) {
	dir := t.TempDir()
	good := writeRun(t, filepath.Join(dir, "results.json"), map[string]results.Verdict{"1.1.1": results.OK})
	corrupt := filepath.Join(dir, "corrupt.json")
	writeFile(t, corrupt, []byte(`{"schema": "wsharness.conformance/v1", "targets": [`))
	garbage := filepath.Join(dir, "garbage.txt")
	writeFile(t, garbage, []byte("not json"))
	other := filepath.Join(dir, "other.json")
	writeFile(t, other, []byte(`{"schema": "something/else"}`))
	badLoad := filepath.Join(dir, "load.json")
	writeFile(t, badLoad, []byte(`{"schema": "wsharness.load/v1", "params": 7}`))
	empty := filepath.Join(dir, "empty")
	if err := os.Mkdir(empty, 0o755); err != nil {
		t.Fatal(err)
	}
	missing := filepath.Join(dir, "missing.json")
	for _, tc := range []struct {
		args []string
		want string // in the message
	}{
		{[]string{"report"}, "at least one"},
		{[]string{"report", "--format", "pdf", good}, "--format"},
		{[]string{"report", "--format", "junit", "--baseline", good, good}, "--baseline"},
		{[]string{"report", missing}, missing},
		{[]string{"report", corrupt}, corrupt},
		{[]string{"report", garbage}, garbage},
		{[]string{"report", other}, other},
		{[]string{"report", badLoad}, badLoad},
		{[]string{"report", empty}, "no wsharness results"},
		{[]string{"report", "--baseline", missing, good}, missing},
		{[]string{"report", "--baseline", corrupt, good}, corrupt},
		{[]string{"report", "--fail-on-regression", good}, "--baseline"},
		{[]string{"report", "--p99-regression", "-0.1", "--baseline", good, good}, "p99-regression"},
		{[]string{"report", "--throughput-regression", "NaN", "--baseline", good, good}, "throughput-regression"},
		{[]string{"report", "--out", "", good}, "--out"},
		{[]string{"report", "--bogus", good}, "bogus"},
	} {
		code, stdout, stderr := runCLI(tc.args...)
		if code != exitUsage {
			t.Errorf("%v: exit %d, want %d (stderr %q)", tc.args, code, exitUsage, stderr)
			continue
		}
		if !strings.Contains(stderr, tc.want) {
			t.Errorf("%v: stderr %q does not name %q", tc.args, stderr, tc.want)
		}
		if !slices.Contains(tc.args, "--bogus") && strings.Count(stderr, "\n") != 1 {
			t.Errorf("%v: want a one-line message, got %q", tc.args, stderr)
		}
		if stdout != "" {
			t.Errorf("%v: stdout %q", tc.args, stdout)
		}
	}
}

func TestReportFailOnRegression(t *testing.T) {
	dir := t.TempDir()
	base := filepath.Join(dir, "base")
	cur := filepath.Join(dir, "cur")
	writeRun(t, filepath.Join(base, "results.json"), map[string]results.Verdict{"1.1.1": results.OK, "1.1.2": results.Failed})
	writeLoad(t, filepath.Join(base, "load.json"), 1000, 2000)

	// Same load, 1.1.2 fixed: no regression.
	writeRun(t, filepath.Join(cur, "results.json"), map[string]results.Verdict{"1.1.1": results.OK, "1.1.2": results.OK})
	writeLoad(t, filepath.Join(cur, "load.json"), 1000, 2100)
	code, stdout, stderr := runCLI("report", "--format", "text", "--baseline", base, "--fail-on-regression", cur)
	if code != exitOK {
		t.Fatalf("no regression: exit %d, stderr %q", code, stderr)
	}
	testtext.Contains(t, "stdout", stdout, "no regressions", "fixed", "latency p99")

	// 1.1.1 now fails and p99 rises by 50%: exit 4 listing both.
	writeRun(t, filepath.Join(cur, "results.json"), map[string]results.Verdict{"1.1.1": results.Failed, "1.1.2": results.Failed})
	writeLoad(t, filepath.Join(cur, "load.json"), 1000, 3000)
	code, stdout, stderr = runCLI("report", "--format", "markdown", "--baseline", base, "--fail-on-regression", cur)
	if code != exitThreshold {
		t.Fatalf("exit %d, want %d (stderr %q)", code, exitThreshold, stderr)
	}
	testtext.Contains(t, "stderr", stderr, "regression: alpha 1.1.1: OK, close OK → FAILED", "regression: gws echo", "latency p99 2.00 ms → 3.00 ms (+50.0%, limit +20.0%)", "2 regressions against the baseline")
	if !strings.Contains(stdout, "## Conformance") || !strings.Contains(stdout, "## Comparison with the baseline") || !strings.Contains(stdout, "❌ new failure") {
		t.Errorf("stdout lacks the report or the comparison:\n%s", stdout)
	}

	// A looser p99 limit leaves the conformance regression.
	code, _, stderr = runCLI("report", "--format", "text", "--p99-regression", "0.6", "--baseline", base, "--fail-on-regression", cur)
	if code != exitThreshold || strings.Contains(stderr, "latency p99") || !strings.Contains(stderr, "1 regression against") {
		t.Errorf("--p99-regression 0.6: exit %d, stderr %q", code, stderr)
	}

	// Without --fail-on-regression the comparison is printed, exit 0.
	code, stdout, _ = runCLI("report", "--format", "text", "--baseline", base, cur)
	if code != exitOK || !strings.Contains(stdout, "NEW FAILURE") {
		t.Errorf("without --fail-on-regression: exit %d\n%s", code, stdout)
	}

	// HTML: compare.md beside index.html, the comparison printed too.
	out := filepath.Join(dir, "report")
	code, stdout, _ = runCLI("report", "--out", out, "--baseline", base, "--fail-on-regression", cur)
	if code != exitThreshold {
		t.Errorf("html: exit %d", code)
	}
	cmp := filepath.Join(out, "compare.md")
	if !strings.HasPrefix(stdout, filepath.Join(out, "index.html")+"\n"+cmp+"\n") || !strings.Contains(stdout, "**2 regressions**") {
		t.Errorf("html stdout:\n%s", stdout)
	}
	if b, err := os.ReadFile(cmp); err != nil || !strings.Contains(string(b), "❌ new failure") {
		t.Errorf("compare.md: %v\n%s", err, b)
	}
}
