package main

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/wsharness/wsharness/conformance/autobahn"
	"github.com/wsharness/wsharness/conformance/browser/chromium"
	"github.com/wsharness/wsharness/internal/hostile"
	"github.com/wsharness/wsharness/internal/testnet"
	"github.com/wsharness/wsharness/internal/testtarget"
	"github.com/wsharness/wsharness/results"
	"github.com/wsharness/wsharness/targets"
	"github.com/wsharness/wsharness/wire"
)

// 'wsharness conformance' tests a server from the binary alone: a correct
// server passes (exit 0), a broken one fails (exit 1, its failures named
// in the summary), and the files are written either way.
func TestConformanceCommand(t *testing.T) {
	bad := hostile.StartForTest(t, "malformed-101")
	dir := t.TempDir()
	for i, tc := range []struct {
		target   []string
		name     string
		wantCode int
		wantText string
	}{
		{[]string{"--target", "gorilla"}, "gorilla", exitOK, "gorilla"},
		{[]string{"--url", "mine=" + bad.URL()}, "mine", exitCasesFailed, "malformed HTTP response"},
	} {
		out := filepath.Join(dir, tc.name)
		args := append([]string{"conformance", "--cases", "1.1.*", "--cases", "2.*", "--timescale", "0.5", "--out", out}, tc.target...)
		code, stdout, stderr := runCLI(args...)
		if code != tc.wantCode || !strings.Contains(stdout, tc.wantText) {
			t.Errorf("run %d: exit %d (want %d)\nstdout:\n%s\nstderr: %s", i, code, tc.wantCode, stdout, stderr)
		}
		run, err := results.ReadFile(filepath.Join(out, "results.json"))
		if err != nil {
			t.Fatal(err)
		}
		if len(run.Targets) != 1 || run.Targets[0].Name != tc.name || len(run.Targets[0].Cases) < 19 {
			t.Errorf("results: %d targets, %+v", len(run.Targets), run.Targets)
		}
		for _, f := range []string{"junit.xml", "index.html"} {
			if b, err := os.ReadFile(filepath.Join(out, f)); err != nil || len(b) == 0 {
				t.Errorf("%s: %d bytes, %v", f, len(b), err)
			}
		}
	}
}

func TestConformanceCommandErrors(t *testing.T) {
	refused := "ws://" + testnet.FreeAddr(t) + "/echo"
	for _, tc := range []struct {
		args []string
		code int
	}{
		{[]string{"conformance"}, exitUsage},
		{[]string{"conformance", "--url", "http://127.0.0.1:1/echo"}, exitUsage},
		{[]string{"conformance", "--target", "nope"}, exitUsage},
		{[]string{"conformance", "--target", "gorilla", "--profile", "fast"}, exitUsage},
		{[]string{"conformance", "--target", "gorilla", "--cases", "99.*"}, exitUsage},
		{[]string{"conformance", "--target", "gorilla", "--concurrency", "0"}, exitUsage},
		{[]string{"conformance", "--client", "nope"}, exitUsage},
		{[]string{"conformance", "--url", refused, "--out", t.TempDir()}, exitUnreachable},
	} {
		code, _, stderr := runCLI(tc.args...)
		if code != tc.code {
			t.Errorf("%v: exit %d, want %d (stderr %q)", tc.args, code, tc.code, stderr)
		}
		if strings.Count(strings.TrimSpace(stderr), "\n") > 0 || strings.Contains(stderr, "panic") {
			t.Errorf("%v: stderr is not one line: %q", tc.args, stderr)
		}
	}
}

// An Autobahn fuzzingclient spec runs as it is: its servers, its cases and
// per-agent excludes, and index.json lands in its outdir, keyed by its
// agent.
func TestConformanceAutobahnSpec(t *testing.T) {
	srv := testtarget.Start(t, "gorilla")
	dir := t.TempDir()
	spec := fmt.Sprintf(`{"outdir": %q, "servers": [{"agent": "Gorilla/1.5", "url": %q}],
		"cases": ["1.1.*", "2.1", "100.1"], "exclude-agent-cases": {"Gorilla*": ["1.1.2"]}}`,
		filepath.Join(dir, "reports"), srv.URL(targets.EchoPath))
	specFile := filepath.Join(dir, "fuzzingclient.json")
	writeFile(t, specFile, []byte(spec))
	code, stdout, stderr := runCLI("conformance", "--spec", specFile, "--out", filepath.Join(dir, "out"))
	if code != exitOK {
		t.Fatalf("exit %d\n%s\n%s", code, stdout, stderr)
	}
	b, err := os.ReadFile(filepath.Join(dir, "reports", "index.json"))
	if err != nil {
		t.Fatal(err)
	}
	var index map[string]map[string]struct{ Behavior string }
	if err := json.Unmarshal(b, &index); err != nil {
		t.Fatal(err)
	}
	got := index["Gorilla/1.5"]
	// 1.1.1 to 1.1.8 but 1.1.2; and "2.1" is a prefix of 2.10 and 2.11 too,
	// as Autobahn matches it.
	if len(index) != 1 || len(got) != 10 || got["1.1.1"].Behavior != "OK" || got["2.11"].Behavior != "OK" {
		t.Fatalf("index.json: %s", b)
	}
	if _, ok := got["1.1.2"]; ok {
		t.Error("the agent's excluded case ran")
	}
	if _, ok := got["100.1"]; ok {
		t.Error("a wsharness-only case is in index.json")
	}
}

// --client judges a reference client agent with the harness as the
// server: the client form of the cases, a target recorded as a client.
func TestConformanceClients(t *testing.T) {
	out := t.TempDir()
	autobahnOut := filepath.Join(out, "autobahn")
	code, stdout, stderr := runCLI("conformance", "--client", "gws-client", "--cases", "1.1.*", "--cases", "100.*", "--out", out, "--autobahn-out", autobahnOut)
	if code != exitOK || !strings.Contains(stdout, "gws-client") {
		t.Fatalf("exit %d\nstdout:\n%s\nstderr: %s", code, stdout, stderr)
	}
	run, err := results.ReadFile(filepath.Join(out, "results.json"))
	if err != nil {
		t.Fatal(err)
	}
	if len(run.Targets) != 1 || run.Targets[0].Role != wire.Client || len(run.Targets[0].Cases) != 16 { // 1.1.1-1.1.8, 100.1-100.6, 100.11, 100.12
		t.Fatalf("targets %+v", run.Targets)
	}
	for _, c := range run.Targets[0].Cases {
		if !strings.Contains(c.Expectation, "client MUST") || c.Verdict != results.OK {
			t.Errorf("%s: %s, expectation %q", c.ID, c.Verdict, c.Expectation)
		}
	}
	if _, ok := run.SkippedFamilies["handshake"]; !ok {
		t.Errorf("skipped families %v: want the handshake family, which has no client form", run.SkippedFamilies)
	}
	// Autobahn's client reports key a client by its agent name.
	var index map[string]map[string]autobahn.Entry
	if b, err := os.ReadFile(filepath.Join(autobahnOut, "index.json")); err != nil {
		t.Fatal(err)
	} else if err := json.Unmarshal(b, &index); err != nil {
		t.Fatal(err)
	}
	if e, ok := index["gws-client"]["1.1.1"]; !ok || e.Behavior != results.OK || len(index["gws-client"]) != 8 {
		t.Errorf("index.json: %v; want gws-client's 8 cases 1.1.x, 1.1.1 OK", index)
	}
}

// The clients group and --client chromium-client name Chromium's own
// WebSocket; without Chromium it is listed unavailable, with the reason,
// as any target that cannot be started (a run with nothing else to test
// exits 3).
func TestConformanceChromiumClient(t *testing.T) {
	all, err := resolveClients([]string{"clients", chromium.ClientName}, "")
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, c := range all {
		names = append(names, c.Info.Name)
	}
	if want := len(targets.Clients()) + 1; len(all) != want || names[len(names)-1] != chromium.ClientName {
		t.Fatalf("clients group %v: want the %d reference clients and %s, each once", names, want, chromium.ClientName)
	}
	t.Setenv("WSH_CHROMIUM", "/nonexistent/chromium")
	out := t.TempDir()
	code, stdout, stderr := runCLI("conformance", "--client", chromium.ClientName, "--cases", "1.1.1", "--out", out)
	if code != exitUnreachable || !strings.Contains(stderr, "/nonexistent/chromium") {
		t.Fatalf("exit %d\nstdout:\n%s\nstderr: %s", code, stdout, stderr)
	}
	run, err := results.ReadFile(filepath.Join(out, "results.json"))
	if err != nil {
		t.Fatal(err)
	}
	if len(run.Targets) != 1 || !strings.Contains(run.Targets[0].Unavailable, "/nonexistent/chromium") || len(run.Targets[0].Cases) != 0 {
		t.Fatalf("targets %+v; want %s unavailable, saying why", run.Targets, chromium.ClientName)
	}
}

// An external client may not take the name of Chromium's own client agent,
// which the registry in targets cannot see: a usage error, not a shadowed
// agent.
func TestConformanceClientNameOfChromium(t *testing.T) {
	file := filepath.Join(t.TempDir(), "clients.yaml")
	yaml := "version: 1\nclients:\n  - name: chromium-client\n    command: [node, x.js, \"{url}\"]\n"
	writeFile(t, file, []byte(yaml))
	code, _, stderr := runCLI("conformance", "--client", "clients", "--external", file, "--out", t.TempDir())
	if code != exitUsage || !strings.Contains(stderr, "name taken by Chromium's own client") {
		t.Fatalf("exit %d, stderr %q; want a usage error naming the clash", code, stderr)
	}
}
