package main

import (
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/wsharness/wsharness/bench"
	"github.com/wsharness/wsharness/targets"
)

// These tests parse flags only: none starts a target or sends load.

func TestBenchFlagErrors(t *testing.T) {
	out := filepath.Join(t.TempDir(), "bench")
	for _, args := range [][]string{
		{"--targets", "nope"},
		{"--targets", "gorilla,nope"},
		{"--targets", ""},
		{"--targets", "gws,gws"},
		{"--runs", "0"},
		{"--runs", "51"},
		{"--scenarios", "echo-rate,bogus"},
		{"--scenarios", ","},
		{"--out", " "},
		{"--k6-conns", "10"}, // needs --k6
		{"--k6", "k6", "--k6-target", "gws", "--targets", "gorilla"}, // not a bench target
		{"--k6", "k6", "--k6-conns", "-1"},
		{"--quick", "extra-argument"},
		{"--bogus"},
		{"--external", filepath.Join(t.TempDir(), "missing.yaml")},
		{"--external", "", "--targets", "gws,node-ws"}, // no external targets, so unknown
		{"--external", writeExternal(t, t.TempDir()), "--targets", "gws,nope"},
		{"--external", writeExternal(t, t.TempDir()), "--k6", "k6", "--k6-target", "ext-a"}, // k6 runs against Go targets only
	} {
		args := append([]string{"bench", "--out", out}, args...)
		start := time.Now()
		code, _, stderr := runCLI(args...)
		if code != exitUsage {
			t.Errorf("%v: exit %d, want %d (stderr %q)", args, code, exitUsage, stderr)
		}
		if strings.Contains(stderr, "goroutine") || strings.Contains(stderr, "panic") {
			t.Errorf("%v: stack trace on stderr: %s", args, stderr)
		}
		if d := time.Since(start); d > 2*time.Second {
			t.Errorf("%v: took %v; a flag error must come before any work", args, d)
		}
	}
	if _, err := os.Stat(out); err == nil {
		t.Errorf("a rejected invocation created %s", out)
	}
}

func mustParse(t *testing.T, args ...string) bench.Options {
	t.Helper()
	o, err := parseBenchFlags(args, io.Discard)
	if err != nil {
		t.Fatalf("%v: %v", args, err)
	}
	return o
}

// The flags become bench.Options; planning and validation are tested in
// package bench.
func TestBenchFlags(t *testing.T) {
	configured := targets.Names(targets.Configured())
	o := mustParse(t)
	if !slices.Equal(o.Targets, configured) || o.Runs != 3 || o.Out != "out/bench" || o.K6 != "" ||
		o.K6Target != "" || o.K6Conns != 0 || o.Quick || o.Workloads != nil {
		t.Fatalf("defaults %+v", o)
	}
	if exe, _ := os.Executable(); o.Exe != exe {
		t.Errorf("Exe %q, want this executable %q", o.Exe, exe)
	}
	if o.ExternalFile != "" || o.External != nil {
		t.Errorf("external targets without targets/external.yaml in the working directory: %+v", o)
	}
	if o := mustParse(t, "--quick", "--targets", "gws"); o.Runs != 1 || !o.Quick || !slices.Equal(o.Targets, []string{"gws"}) {
		t.Errorf("--quick: %+v", o)
	}
	if o := mustParse(t, "--quick", "--runs", "2"); o.Runs != 2 {
		t.Errorf("--quick --runs 2: runs %d", o.Runs)
	}
	o = mustParse(t, "--k6", "out/tools/k6", "--k6-target", "gws", "--k6-conns", "300", "--scenarios", " echo-rate, connect-10k ", "--out", "x")
	if o.K6 != "out/tools/k6" || o.K6Target != "gws" || o.K6Conns != 300 || o.Out != "x" ||
		!slices.Equal(o.Workloads, []string{"echo-rate", "connect-10k"}) {
		t.Errorf("%+v", o)
	}
	if want := "wsharness bench --k6 out/tools/k6 --k6-target gws --k6-conns 300 --scenarios  echo-rate, connect-10k  --out x"; o.Command != want {
		t.Errorf("command %q, want %q", o.Command, want)
	}
}

// writeExternal writes an external targets file with ext-a and ext-b into
// dir and returns its path. Nothing is started.
func writeExternal(t *testing.T, dir string) string {
	t.Helper()
	path := filepath.Join(dir, "external.yaml")
	yaml := `version: 1
targets:
  - name: ext-a
    command: [/bin/false]
    echo_url: ws://127.0.0.1:39291/echo
  - name: ext-b
    command: [/bin/false]
    echo_url: ws://127.0.0.1:39292/echo
    broadcast_url: ws://127.0.0.1:39292/broadcast
`
	writeFile(t, path, []byte(yaml))
	return path
}

func TestBenchExternalFlag(t *testing.T) {
	configured := targets.Names(targets.Configured())
	path := writeExternal(t, t.TempDir())
	o := mustParse(t, "--external", path)
	if !slices.Equal(o.Targets, slices.Concat(configured, []string{"ext-a", "ext-b"})) || o.ExternalFile != path || len(o.External) != 2 {
		t.Errorf("--external: targets %v, file %q, %d external", o.Targets, o.ExternalFile, len(o.External))
	}
	o = mustParse(t, "--external", path, "--targets", "ext-b,gws", "--k6", "k6")
	if !slices.Equal(o.Targets, []string{"ext-b", "gws"}) || o.K6Target != "" {
		t.Errorf("--targets ext-b,gws: %+v", o)
	}
	o = mustParse(t, "--external", "")
	if !slices.Equal(o.Targets, configured) || o.ExternalFile != "" || o.External != nil {
		t.Errorf(`--external "": %+v`, o)
	}

	// Without --external, targets/external.yaml in the working directory
	// (the repository's root under make) is read when it exists.
	dir := t.TempDir()
	if err := os.Mkdir(filepath.Join(dir, "targets"), 0o755); err != nil {
		t.Fatal(err)
	}
	writeExternal(t, filepath.Join(dir, "targets"))
	t.Chdir(dir)
	o = mustParse(t)
	if !slices.Equal(o.Targets, slices.Concat(configured, []string{"ext-a", "ext-b"})) || o.ExternalFile != "targets/external.yaml" {
		t.Errorf("default file: targets %v, file %q", o.Targets, o.ExternalFile)
	}
	if o := mustParse(t, "--external", ""); !slices.Equal(o.Targets, configured) {
		t.Errorf(`--external "" with the default file present: %v`, o.Targets)
	}
	if _, err := parseBenchFlags([]string{"--targets", "ext-a", "--external", ""}, io.Discard); err == nil {
		t.Error(`--targets ext-a --external "": no error`)
	}
}
