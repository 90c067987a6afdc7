package bench

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/wsharness/wsharness/internal/testtext"
)

// failingExe stands in for the wsharness binary: its serve exits at once,
// so every job fails without sending any load.
func failingExe(t *testing.T) string {
	t.Helper()
	exe := filepath.Join(t.TempDir(), "wsharness")
	if err := os.WriteFile(exe, []byte("#!/bin/sh\nexit 3\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	return exe
}

func TestRunReportsFailedJobs(t *testing.T) {
	out := filepath.Join(t.TempDir(), "bench")
	o := Options{
		Exe: failingExe(t), Targets: []string{"gws", "gorilla"}, Runs: 1, Out: out, Quick: true,
		Workloads: []string{echoRate}, K6: filepath.Join(t.TempDir(), "no-k6"), Command: "wsharness bench --quick",
	}
	var progress bytes.Buffer
	rep, err := Run(context.Background(), o, &progress)
	if err != nil {
		t.Fatal(err)
	}
	if rep.Jobs != 2 || len(rep.Failures) != 2 || rep.Interrupted {
		t.Fatalf("report %+v", rep)
	}
	if want := "run 1 gws echo-rate: target gws exited before serving"; rep.Failures[0] != want {
		t.Errorf("failure %q, want %q", rep.Failures[0], want)
	}
	testtext.Contains(t, "progress", progress.String(),
		"bench: k6 comparison skipped: no k6 binary at",
		"bench: 2 jobs (gws,gorilla × 1 run × 1 workloads), results in "+out,
		"[1/2] run 1/1 gws      echo-rate       FAILED: target gws exited before serving",
		"[2/2] run 1/1 gorilla  echo-rate       FAILED: target gorilla exited before serving",
	)
	testtext.Contains(t, "summary", string(rep.Summary),
		"# wsharness bench\n", "- command:      wsharness bench --quick\n", "## Targets compared\n\nNo load results.\n",
		"Skipped: no usable k6 at ", "## Failures\n\n- run 1 gws echo-rate: target gws exited before serving\n",
	)
	if _, err := os.Stat(out); err != nil {
		t.Errorf("output directory: %v", err)
	}
}

func TestRunInterrupted(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	o := Options{Exe: failingExe(t), Targets: []string{"gws"}, Runs: 1, Out: t.TempDir(), Quick: true}
	rep, err := Run(ctx, o, nil)
	if err != nil {
		t.Fatal(err)
	}
	if !rep.Interrupted || rep.Jobs != 5 || len(rep.Failures) != 0 || !strings.Contains(string(rep.Summary), "**Interrupted**") {
		t.Errorf("report %+v\n%s", rep, rep.Summary)
	}
}

func TestRunRefusesInvalidOptions(t *testing.T) {
	out := filepath.Join(t.TempDir(), "bench")
	if _, err := Run(context.Background(), Options{Exe: "x", Targets: []string{"nope"}, Runs: 1, Out: out}, nil); err == nil {
		t.Error("no error")
	}
	if _, err := os.Stat(out); err == nil {
		t.Errorf("a rejected bench created %s", out)
	}
}

// The embedded script is bench/k6/echo.js, written out once per run and
// removed afterwards.
func TestK6Script(t *testing.T) {
	onDisk, err := os.ReadFile(filepath.Join("k6", "echo.js"))
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(echoJS, onDisk) || !bytes.Contains(echoJS, []byte("handleSummary")) {
		t.Fatal("embedded echo.js differs from k6/echo.js")
	}
	r := &runner{}
	path, err := r.script()
	if err != nil {
		t.Fatal(err)
	}
	if again, _ := r.script(); again != path || filepath.Base(path) != "echo.js" {
		t.Errorf("script paths %s, %s", path, again)
	}
	if b, err := os.ReadFile(path); err != nil || !bytes.Equal(b, echoJS) {
		t.Errorf("written script: %v", err)
	}
	r.cleanup()
	if _, err := os.Stat(filepath.Dir(path)); !os.IsNotExist(err) {
		t.Errorf("%s left behind: %v", filepath.Dir(path), err)
	}
}
