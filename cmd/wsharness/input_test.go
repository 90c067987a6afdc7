package main

import (
	"io"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/wsharness/wsharness/loadgen"
	"github.com/wsharness/wsharness/results"
)

// closedPort returns a loopback address nothing listens on.
func closedPort(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	_ = l.Close()
	return addr
}

// checkOneLine asserts what every failing command must print: exactly one
// line on stderr, naming each of want, and nothing of a Go panic.
func checkOneLine(t *testing.T, args []string, stderr string, want ...string) {
	t.Helper()
	if strings.Count(stderr, "\n") != 1 || !strings.HasSuffix(stderr, "\n") {
		t.Errorf("%q: want exactly one line on stderr, got %q", args, stderr)
	}
	for _, w := range want {
		if !strings.Contains(stderr, w) {
			t.Errorf("%q: stderr %q does not name %q", args, stderr, w)
		}
	}
	for _, bad := range []string{"goroutine ", "panic", ".go:"} {
		if strings.Contains(stderr, bad) {
			t.Errorf("%q: stderr has %q: %s", args, bad, stderr)
		}
	}
}

// Every kind of bad input gets a one-line error naming what and where, and
// its exit code.
func TestBadInputIsOneLineWithExitCode(t *testing.T) {
	dir := t.TempDir()
	file := func(name, content string) string {
		p := filepath.Join(dir, name)
		writeFile(t, p, []byte(content))
		return p
	}
	conformance := writeRun(t, filepath.Join(dir, "results.json"), map[string]results.Verdict{"1.1.1": results.OK})
	load := writeLoad(t, filepath.Join(dir, "load.json"), 1000, 900)
	missing := filepath.Join(dir, "missing.json")
	subdir := filepath.Join(dir, "a-directory")
	if err := os.Mkdir(subdir, 0o755); err != nil {
		t.Fatal(err)
	}
	truncated := file("truncated.json", "{\n  \"schema\": \"wsharness.conformance/v1\",\n  \"targets\": [\n")
	notJSON := file("not-json.json", "<html>results</html>\n")
	empty := file("empty.json", "")
	wrongSchema := file("wrong-schema.json", `{"schema": "wsharness.conformance/v9", "targets": []}`)
	noSchema := file("no-schema.json", `{"targets": []}`)
	wrongType := file("wrong-type.json", "{\"schema\": \"wsharness.conformance/v1\",\n \"targets\": 5}")
	truncatedLoad := file("truncated-load.json", `{"schema": "wsharness.load/v1", "scenario": "echo", "connec`)
	badYAML := file("external.yaml", "version: 1\ntargets:\n  - name: x\n    bogus: 1\n    other: 2\n")
	refused := "ws://" + closedPort(t) + "/echo"
	const unresolvable = "ws://no-such-host.invalid/echo"

	for _, tc := range []struct {
		args []string
		code int
		want []string // each named on the one line
	}{
		// Flags and arguments.
		{[]string{"frobnicate"}, exitUsage, []string{`"frobnicate"`}},
		{[]string{"load", "--bogus"}, exitUsage, []string{"-bogus", "wsharness load -h"}},
		{[]string{"load", "--conns", "many", "--url", refused}, exitUsage, []string{"-conns", `"many"`}},
		{[]string{"load"}, exitUsage, []string{"--url", "--target"}},
		{[]string{"summary", "--bogus"}, exitUsage, []string{"-bogus"}},
		{[]string{"summary"}, exitUsage, []string{"results.json"}},
		{[]string{"report", "--bogus", conformance}, exitUsage, []string{"-bogus"}},
		{[]string{"merge", "--bogus"}, exitUsage, []string{"-bogus"}},
		{[]string{"probe", "--bogus"}, exitUsage, []string{"-bogus"}},
		{[]string{"probe"}, exitUsage, []string{"URL"}},
		{[]string{"serve", "--bogus"}, exitUsage, []string{"-bogus"}},
		{[]string{"serve", "--target", "gorilla", "--addr", "127.0.0.1:http"}, exitUsage, []string{"--addr", `"http"`}},
		{[]string{"targets", "--bogus"}, exitUsage, []string{"-bogus"}},
		{[]string{"cases", "--family"}, exitUsage, []string{"-family"}},
		{[]string{"bench", "--runs", "x"}, exitUsage, []string{"-runs"}},
		// URLs that are not ws/wss, or have no host.
		{[]string{"load", "--url", "http://127.0.0.1:9001/echo", "--quiet"}, exitUsage, []string{"--url", "http://127.0.0.1:9001/echo", "ws://"}},
		{[]string{"load", "--url", "ws:///echo", "--quiet"}, exitUsage, []string{"--url", "ws:///echo", "no host"}},
		{[]string{"load", "--url", "ws://127.0.0.1:port/echo", "--quiet"}, exitUsage, []string{"--url", `":port"`}},
		{[]string{"probe", "https://127.0.0.1:9001/echo"}, exitUsage, []string{"https://127.0.0.1:9001/echo", "ws://"}},
		{[]string{"probe", "ws://"}, exitUsage, []string{`"ws://"`, "no host"}},
		// Unresolvable hosts and refused connections: the target is
		// unreachable.
		{[]string{"probe", unresolvable}, exitUnreachable, []string{unresolvable, "no-such-host.invalid"}},
		{[]string{"probe", refused}, exitUnreachable, []string{refused, "refused"}},
		{[]string{"load", "--url", unresolvable, "--conns", "2", "--rate", "10", "--duration", "100ms", "--quiet"}, exitUnreachable,
			[]string{unresolvable, "dns 2", "does not resolve"}},
		{[]string{"load", "--url", refused, "--conns", "2", "--rate", "10", "--duration", "100ms", "--quiet"}, exitUnreachable,
			[]string{refused, "refused 2"}},
		// Results files that cannot be read.
		{[]string{"summary", missing}, exitUsage, []string{missing, "no such file"}},
		{[]string{"summary", subdir}, exitUsage, []string{subdir, "directory"}},
		{[]string{"report", "--format", "text", missing}, exitUsage, []string{missing}},
		{[]string{"merge", missing}, exitUsage, []string{missing}},
		{[]string{"merge", subdir}, exitUsage, []string{subdir}},
		// Corrupt results: the file, and for JSON errors where.
		{[]string{"summary", truncated}, exitUsage, []string{truncated, "line 3, column", "unexpected end"}},
		{[]string{"summary", notJSON}, exitUsage, []string{notJSON, "line 1, column 1"}},
		{[]string{"summary", empty}, exitUsage, []string{empty, "line 1, column 1"}},
		{[]string{"summary", wrongSchema}, exitUsage, []string{wrongSchema, "wsharness.conformance/v9"}},
		{[]string{"summary", noSchema}, exitUsage, []string{noSchema, `no "schema"`}},
		{[]string{"summary", wrongType}, exitUsage, []string{wrongType, "line 2, column", "targets"}},
		{[]string{"summary", load}, exitUsage, []string{load, "load result", "wsharness report"}},
		{[]string{"report", "--format", "text", truncated}, exitUsage, []string{truncated, "line 3, column"}},
		{[]string{"report", "--format", "text", notJSON}, exitUsage, []string{notJSON, "line 1, column 1"}},
		{[]string{"report", "--format", "text", truncatedLoad}, exitUsage, []string{truncatedLoad, "line 1, column"}},
		{[]string{"report", "--format", "text", wrongSchema}, exitUsage, []string{wrongSchema, "wsharness.conformance/v9"}},
		{[]string{"merge", truncatedLoad}, exitUsage, []string{truncatedLoad, "line 1, column"}},
		{[]string{"merge", conformance}, exitUsage, []string{conformance, "conformance results", "not a load result"}},
		// The external targets file: YAML lists one problem a line.
		{[]string{"targets", "--external", badYAML}, exitUsage, []string{badYAML, "bogus", "other"}},
		{[]string{"targets", "--external", missing}, exitUsage, []string{missing}},
	} {
		code, _, stderr := runCLI(tc.args...)
		if code != tc.code {
			t.Errorf("%q: exit %d, want %d (stderr %q)", tc.args, code, tc.code, stderr)
		}
		checkOneLine(t, tc.args, stderr, tc.want...)
	}
}

func TestUnreadableResultsFile(t *testing.T) {
	if os.Geteuid() == 0 {
		t.Skip("root reads files whatever their mode")
	}
	p := writeRun(t, filepath.Join(t.TempDir(), "results.json"), map[string]results.Verdict{"1.1.1": results.OK})
	if err := os.Chmod(p, 0); err != nil {
		t.Fatal(err)
	}
	for _, args := range [][]string{{"summary", p}, {"report", "--format", "text", p}, {"merge", p}} {
		code, _, stderr := runCLI(args...)
		if code != exitUsage {
			t.Errorf("%q: exit %d, want %d", args, code, exitUsage)
		}
		checkOneLine(t, args, stderr, p, "permission denied")
	}
}

// A panic in a command is an internal error: one line, exit 5, the stack
// trace only when asked for.
func TestPanicIsOneLineInternalError(t *testing.T) {
	commands["test-crash"] = command{"panics", func([]string, io.Writer, io.Writer) error {
		var m map[string]int
		m["x"]++ // a runtime error, the kind a bug makes
		return nil
	}}
	commands["test-crash-value"] = command{"panics", func([]string, io.Writer, io.Writer) error {
		panic("first line\nsecond line")
	}}
	t.Cleanup(func() { delete(commands, "test-crash"); delete(commands, "test-crash-value") })

	t.Setenv(envTraceback, "")
	code, stdout, stderr := runCLI("test-crash")
	if code != exitInternal || stdout != "" {
		t.Errorf("exit %d (want %d), stdout %q", code, exitInternal, stdout)
	}
	// The message is the runtime's ("assignment to entry in nil map"), not
	// the word panic.
	checkOneLine(t, []string{"test-crash"}, stderr, "wsharness test-crash: internal error: assignment to entry in nil map", "please report", envTraceback+"=1")
	code, _, stderr = runCLI("test-crash-value")
	if code != exitInternal {
		t.Errorf("exit %d, want %d", code, exitInternal)
	}
	checkOneLine(t, []string{"test-crash-value"}, stderr, "internal error: first line; second line")

	t.Setenv(envTraceback, "1")
	code, _, stderr = runCLI("test-crash")
	if code != exitInternal || !strings.Contains(stderr, "goroutine ") || !strings.Contains(stderr, "input_test.go") {
		t.Errorf("%s=1: exit %d, want %d and the stack trace; stderr %q", envTraceback, code, exitInternal, stderr)
	}
}

// The help text goes out on -h only; a flag error does not repeat it.
func TestHelpPrintsFlags(t *testing.T) {
	code, _, stderr := runCLI("load", "-h")
	if code != exitOK || !strings.Contains(stderr, "usage: wsharness load") || !strings.Contains(stderr, "-conns") {
		t.Errorf("load -h: exit %d, stderr %q", code, stderr)
	}
	code, _, stderr = runCLI("report", "-h")
	if code != exitOK || !strings.Contains(stderr, "Exit codes:") {
		t.Errorf("report -h: exit %d, stderr %q", code, stderr)
	}
}

// summary of an interrupted run: the summary, marked INCOMPLETE, and exit
// 130 unless a case failed (1).
func TestSummaryOfIncompleteRun(t *testing.T) {
	dir := t.TempDir()
	write := func(name string, verdict results.Verdict) string {
		tg := results.Target{Name: "x", Cases: []results.Case{{ID: "1.1.1", Verdict: verdict, CloseVerdict: results.CloseOK}}}
		tg.Summarize()
		b, err := results.Marshal(results.Run{Schema: results.Schema, Started: time.Now(), Incomplete: true, Targets: []results.Target{tg}})
		if err != nil {
			t.Fatal(err)
		}
		p := filepath.Join(dir, name)
		writeFile(t, p, b)
		return p
	}
	passed := write("passed.json", results.OK)
	code, stdout, stderr := runCLI("summary", passed)
	if code != exitInterrupted || !strings.Contains(stdout, "INCOMPLETE") {
		t.Errorf("incomplete run: exit %d (want %d), stdout %q", code, exitInterrupted, stdout)
	}
	checkOneLine(t, []string{"summary", passed}, stderr, passed, "interrupted")
	if code, _, _ := runCLI("summary", write("failed.json", results.Failed)); code != exitCasesFailed {
		t.Errorf("incomplete run with a failed case: exit %d, want %d", code, exitCasesFailed)
	}
}

// load with every connection refused still writes its result, and reports
// on stderr one line.
func TestLoadUnreachableWritesResult(t *testing.T) {
	out := filepath.Join(t.TempDir(), "r.json")
	url := "ws://" + closedPort(t) + "/echo"
	code, stdout, stderr := runCLI("load", "--url", url, "--conns", "3", "--duration", "100ms", "--quiet", "--out", out)
	if code != exitUnreachable {
		t.Fatalf("exit %d, want %d", code, exitUnreachable)
	}
	checkOneLine(t, nil, stderr, url, "refused 3", "nothing listens")
	r, err := loadgen.ReadFile(out)
	if err != nil || r.Connections.Failures[loadgen.FailRefused] != 3 || !strings.Contains(stdout, "refused 3") {
		t.Fatalf("result %v (%v), stdout %q", r, err, stdout)
	}
}

// summary of a run where no target could be reached exits 3 with the
// reasons; one unavailable target among tested ones does not fail the run.
func TestSummaryOfUnreachableRun(t *testing.T) {
	dir := t.TempDir()
	write := func(name string, targets ...results.Target) string {
		for i := range targets {
			targets[i].Summarize()
		}
		b, err := results.Marshal(results.Run{Schema: results.Schema, Started: time.Now(), Targets: targets})
		if err != nil {
			t.Fatal(err)
		}
		p := filepath.Join(dir, name)
		writeFile(t, p, b)
		return p
	}
	gone := results.Target{Name: "mine", Unavailable: "cannot be reached: connect to 127.0.0.1:1: connection refused"}
	none := write("none.json", gone)
	code, _, stderr := runCLI("summary", none)
	if code != exitUnreachable {
		t.Errorf("no target reached: exit %d, want %d", code, exitUnreachable)
	}
	checkOneLine(t, []string{"summary", none}, stderr, "mine: cannot be reached", "connection refused")
	tested := results.Target{Name: "gws", Cases: []results.Case{{ID: "1.1.1", Verdict: results.OK, CloseVerdict: results.CloseOK}}}
	if code, _, _ := runCLI("summary", write("some.json", gone, tested)); code != exitOK {
		t.Errorf("one target reached: exit %d, want %d", code, exitOK)
	}
}
