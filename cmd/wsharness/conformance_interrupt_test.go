package main

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/wsharness/wsharness/results"
)

// make conformance runs scripts/conformance.sh; these tests run that
// script on the Ginkgo suites (gorilla, without the browser family) and
// interrupt it as make passes on a SIGTERM, or a terminal's Ctrl-C.
func TestConformanceInterrupt(t *testing.T) {
	if testing.Short() {
		t.Skip("compiles and runs the conformance suites")
	}
	root, err := filepath.Abs("../..")
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	exe := buildWsharness(t, dir)
	ginkgo, suite := filepath.Join(dir, "ginkgo"), filepath.Join(dir, "suites.test")
	for _, args := range [][]string{
		{"build", "-o", ginkgo, "github.com/onsi/ginkgo/v2/ginkgo"},
		{"test", "-c", "-o", suite, "./suites"},
	} {
		cmd := exec.Command("go", args...)
		cmd.Dir = root
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("go %s: %v\n%s", strings.Join(args, " "), err, out)
		}
	}
	run := func(t *testing.T, out string) *started {
		return start(t, root, "bash", "scripts/conformance.sh", out, exe,
			ginkgo, "--no-color", "--succinct", suite, "--", "-wsh.out="+out, "-wsh.targets=gorilla", "-wsh.expect=",
			"-wsh.labels=!profile:full && !family:browser", "-wsh.concurrency=2") // slow enough to interrupt
	}

	// One signal: the cases stop, and the results of those that finished
	// are written, summarised and reported, marked incomplete; exit 130.
	t.Run("once", func(t *testing.T) {
		out := filepath.Join(dir, "once")
		p := run(t, out)
		p.waitFor(t, "wsharness conformance: ", 60*time.Second) // the suite's first line: the run has started
		time.Sleep(time.Second)
		p.signal(t, syscall.SIGTERM)
		if ws := p.wait(t, time.Minute); ws.ExitStatus() != exitInterrupted {
			t.Fatalf("exit status %v, want %d\nstdout:\n%s\nstderr:\n%s", ws, exitInterrupted, p.stdout, p.stderr)
		}
		run, err := results.ReadFile(filepath.Join(out, "results.json"))
		if err != nil {
			t.Fatal(err)
		}
		if !run.Incomplete || len(run.Targets) != 1 || len(run.Targets[0].Cases) == 0 {
			t.Fatalf("results: incomplete %v, targets %d: want an incomplete run with the cases that finished", run.Incomplete, len(run.Targets))
		}
		t.Logf("%d cases finished before the signal", len(run.Targets[0].Cases))
		for _, c := range run.Targets[0].Cases {
			if c.Unexpected() {
				t.Errorf("case %s failed (%s); a case cut short by the signal must not be recorded: %s", c.ID, c.Verdict, c.Observed)
			}
		}
		if s := p.stdout.String(); !strings.Contains(s, "INCOMPLETE") || !strings.Contains(s, "report: "+out+"/index.html") {
			t.Errorf("the summary is not marked INCOMPLETE or the report is not listed:\n%s", s)
		}
		if !strings.Contains(p.stderr.String(), "conformance: interrupted") {
			t.Errorf("stderr does not say the run was interrupted:\n%s", p.stderr)
		}
		b, err := os.ReadFile(filepath.Join(out, "index.html"))
		if err != nil || !bytes.Contains(b, []byte("Incomplete: the run was interrupted")) {
			t.Errorf("index.html is missing or not marked incomplete (%v)", err)
		}
	})

	// Two signals: stopped at once, nothing left running. (Ginkgo takes
	// well under a second to wind down after one signal here, so the
	// second follows closely.)
	t.Run("twice", func(t *testing.T) {
		out := filepath.Join(dir, "twice")
		p := run(t, out)
		p.waitFor(t, "wsharness conformance: ", 60*time.Second)
		time.Sleep(time.Second)
		p.signal(t, syscall.SIGTERM)
		time.Sleep(10 * time.Millisecond)
		p.signal(t, syscall.SIGTERM)
		if ws := p.wait(t, 3*time.Second); ws.ExitStatus() != exitInterrupted {
			t.Fatalf("exit status %v, want %d\nstderr:\n%s", ws, exitInterrupted, p.stderr)
		}
		if !strings.Contains(p.stderr.String(), "stopped at once") {
			t.Errorf("stderr:\n%s", p.stderr)
		}
		if _, err := os.Stat(filepath.Join(out, "results.json")); err == nil {
			t.Log("the suites had written their results before the second signal")
		}
		for deadline := time.Now().Add(2 * time.Second); ; time.Sleep(50 * time.Millisecond) {
			left := processesMentioning("-wsh.out=" + out)
			if len(left) == 0 {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("still running after the second signal: %v", left)
			}
		}
	})
}

// processesMentioning lists the command lines of running processes that
// hold s in their arguments.
func processesMentioning(s string) []string {
	paths, _ := filepath.Glob("/proc/[0-9]*/cmdline")
	var out []string
	for _, p := range paths {
		b, err := os.ReadFile(p)
		if err != nil || !bytes.Contains(b, []byte(s)) {
			continue
		}
		out = append(out, filepath.Base(filepath.Dir(p))+": "+strings.ReplaceAll(string(b), "\x00", " "))
	}
	return out
}
