package main

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/wsharness/wsharness/results"
)

// writeFile writes a test's input file, and its directory, and returns
// its path.
func writeFile(t *testing.T, path string, b []byte) string {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, b, 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

func runCLI(args ...string) (int, string, string) {
	var out, errb bytes.Buffer
	code := run(args, &out, &errb)
	return code, out.String(), errb.String()
}

func TestUsageErrors(t *testing.T) {
	for _, args := range [][]string{
		{},
		{"frobnicate"},
		{"cases", "--bogus"},
		{"cases", "--family", "nope"},
		{"cases", "--format", "yaml"},
		{"cases", "--format", "markdown", "--family", "utf8"},
		{"serve"},
		{"serve", "--target", "nope"},
		{"serve", "--target", "gorilla", "--addr", "no-port"},
		{"summary"},
		{"summary", "/does/not/exist.json"},
		{"load"},
		{"load", "--url", "ws://127.0.0.1:1/echo", "--target", "gws"},
		{"load", "--url", "http://127.0.0.1:1/echo"},
		{"load", "--url", "ws://127.0.0.1:1/echo", "--conns", "0"},
		{"load", "--url", "ws://127.0.0.1:1/echo", "--scenario", "nope"},
		{"load", "--url", "ws://127.0.0.1:1/echo", "--size", "3"},
		{"load", "--url", "ws://127.0.0.1:1/echo", "--threshold", "p99<20"},
		{"load", "--url", "ws://127.0.0.1:1/echo", "--source-ips", "not-an-ip"},
		{"load", "--target", "no-such-target"},
	} {
		code, _, stderr := runCLI(args...)
		if code != exitUsage {
			t.Errorf("%v: exit %d, want %d (stderr %q)", args, code, exitUsage, stderr)
		}
		if strings.Contains(stderr, "goroutine") || strings.Contains(stderr, "panic") {
			t.Errorf("%v: stack trace on stderr: %s", args, stderr)
		}
	}
}

func TestCasesJSON(t *testing.T) {
	code, stdout, _ := runCLI("cases", "--json")
	if code != exitOK {
		t.Fatalf("exit %d", code)
	}
	var list []struct{ ID, Family, Title, RFC string }
	if err := json.Unmarshal([]byte(stdout), &list); err != nil {
		t.Fatal(err)
	}
	if len(list) < 265 || list[0].ID == "" || list[0].RFC == "" {
		t.Fatalf("%d cases, first %+v", len(list), list[0])
	}
}

// wsharness cases --format markdown prints the page make docs checks in as
// docs/cases.md.
func TestCasesMarkdown(t *testing.T) {
	code, stdout, _ := runCLI("cases", "--format", "markdown")
	if code != exitOK {
		t.Fatalf("exit %d", code)
	}
	want, err := os.ReadFile("../../docs/cases.md")
	if err != nil {
		t.Fatal(err)
	}
	if stdout != string(want) {
		t.Fatalf("cases --format markdown differs from docs/cases.md (%d and %d bytes): run make docs", len(stdout), len(want))
	}
}

func TestServeStartFailureIsUnreachable(t *testing.T) {
	// Port 1 on loopback needs privileges nobody grants a test; if it is
	// somehow free the test cannot tell, so only a failure is checked.
	code, _, stderr := runCLI("serve", "--target", "gorilla", "--addr", "192.0.2.1:9")
	if code != exitUnreachable {
		t.Fatalf("exit %d, want %d (stderr %q)", code, exitUnreachable, stderr)
	}
}

func TestSummaryExitCodes(t *testing.T) {
	dir := t.TempDir()
	write := func(name string, c results.Case) string {
		run := results.Run{Schema: results.Schema, Started: time.Now(), Targets: []results.Target{{Name: "x", Cases: []results.Case{c}}}}
		run.Targets[0].Summarize()
		b, err := results.Marshal(run)
		if err != nil {
			t.Fatal(err)
		}
		return writeFile(t, filepath.Join(dir, name), b)
	}
	pass := write("pass.json", results.Case{ID: "1.1.1", Verdict: results.OK, CloseVerdict: results.CloseOK})
	fail := write("fail.json", results.Case{ID: "2.2", RFC: "RFC 6455 §5.5.3", Verdict: results.Failed, CloseVerdict: results.CloseOK, Observed: "empty pong"})
	known := write("known.json", results.Case{ID: "2.2", Verdict: results.Failed, CloseVerdict: results.CloseOK, Deviation: "library default"})
	unclean := write("unclean.json", results.Case{ID: "7.3.3", Verdict: results.OK, CloseVerdict: results.CloseUnclean})

	if code, _, _ := runCLI("summary", pass); code != exitOK {
		t.Errorf("passing run: exit %d", code)
	}
	code, stdout, _ := runCLI("summary", fail)
	if code != exitCasesFailed || !strings.Contains(stdout, "2.2") || !strings.Contains(stdout, "RFC 6455 §5.5.3") {
		t.Errorf("failing run: exit %d, output %q", code, stdout)
	}
	if code, _, _ := runCLI("summary", known); code != exitOK {
		t.Errorf("known deviation: exit %d", code)
	}
	if code, _, _ := runCLI("summary", unclean); code != exitCasesFailed {
		t.Errorf("unclean close: exit %d", code)
	}
	none := filepath.Join(dir, "none.json")
	run := results.Run{Schema: results.Schema, Started: time.Now(), Targets: []results.Target{{Name: "x", Unavailable: "php not installed"}}}
	b, _ := results.Marshal(run)
	_ = os.WriteFile(none, b, 0o644)
	if code, _, stderr := runCLI("summary", none); code != exitUnreachable || !strings.Contains(stderr, "php not installed") {
		t.Errorf("nothing tested: exit %d, stderr %q", code, stderr)
	}
	corrupt := filepath.Join(dir, "corrupt.json")
	_ = os.WriteFile(corrupt, []byte(`{"schema": "something/else"}`), 0o644)
	if code, _, stderr := runCLI("summary", corrupt); code != exitUsage || !strings.Contains(stderr, "schema") {
		t.Errorf("wrong schema: exit %d, stderr %q", code, stderr)
	}
}

func TestLoadAgainstRefusedPortReportsFailures(t *testing.T) {
	out := filepath.Join(t.TempDir(), "r.json")
	code, stdout, stderr := runCLI("load", "--scenario", "connect", "--url", "ws://127.0.0.1:1/echo",
		"--conns", "5", "--duration", "100ms", "--quiet", "--out", out)
	if code != exitUnreachable {
		t.Fatalf("exit %d, want %d (nothing listens on port 1)\n%s%s", code, exitUnreachable, stdout, stderr)
	}
	if !strings.Contains(stdout, "refused 5") {
		t.Fatalf("failures not reported by reason:\n%s", stdout)
	}
	if _, err := os.Stat(out); err != nil {
		t.Fatalf("no result written: %v", err)
	}
}
