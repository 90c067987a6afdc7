package procgroup

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// alive tells whether a process runs: a zombie (killed, its new parent
// yet to reap it) does not.
func alive(pid int) bool {
	stat, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return false
	}
	_, after, _ := strings.Cut(string(stat), ") ")
	return syscall.Kill(pid, 0) == nil && !strings.HasPrefix(after, "Z")
}

func TestRing(t *testing.T) {
	b := &ring{limit: 8}
	_, _ = b.Write([]byte("abc"))
	if b.String() != "abc" {
		t.Errorf("%q", b.String())
	}
	_, _ = b.Write([]byte("defghij"))
	if b.String() != "[earlier output dropped]\ncdefghij" {
		t.Errorf("%q", b.String())
	}
	_, _ = b.Write([]byte("0123456789"))
	if b.String() != "[earlier output dropped]\n23456789" {
		t.Errorf("%q", b.String())
	}
}

// The output is kept; Tail and FailureLine quote what explains a failure.
func TestOutput(t *testing.T) {
	g, err := Start(exec.Command("sh", "-c", `echo one; echo "Error: no module ws" >&2; echo three; exit 3`))
	if err != nil {
		t.Fatal(err)
	}
	if err := g.Wait(t.Context(), time.Second); err == nil || g.State().ExitCode() != 3 {
		t.Fatalf("Wait = %v, exit code %d; want exit status 3", err, g.State().ExitCode())
	}
	if got := g.Output(); got != "one\nError: no module ws\nthree\n" {
		t.Errorf("Output = %q", got)
	}
	if got := g.Tail(2); got != "Error: no module ws\nthree" {
		t.Errorf("Tail(2) = %q", got)
	}
	if got := g.FailureLine(); got != "Error: no module ws" {
		t.Errorf("FailureLine = %q", got)
	}

	g, err = Start(exec.Command("sh", "-c", `echo first; echo last`))
	if err != nil {
		t.Fatal(err)
	}
	if err := g.Wait(t.Context(), time.Second); err != nil {
		t.Fatal(err)
	}
	if got := g.FailureLine(); got != "last" {
		t.Errorf("FailureLine without an error line = %q, want the last line", got)
	}

	// Output routed elsewhere is not kept.
	var routed strings.Builder
	cmd := exec.Command("echo", "hello")
	cmd.Stdout = &routed
	if g, err = Start(cmd); err != nil {
		t.Fatal(err)
	}
	_ = g.Wait(t.Context(), time.Second)
	if routed.String() != "hello\n" || g.Output() != "" || g.Tail(3) != "" || g.FailureLine() != "" {
		t.Errorf("routed %q, kept %q", routed.String(), g.Output())
	}
}

// Stop signals the whole group: a child of the command does not outlive
// it, and a command ignoring SIGTERM is killed after the grace.
func TestStop(t *testing.T) {
	for _, tc := range []struct {
		name   string
		script string
		grace  time.Duration
		min    time.Duration
	}{
		{"exits on SIGTERM", `sleep 30 & echo $!; wait`, 5 * time.Second, 0},
		{"ignores SIGTERM", `trap '' TERM; sleep 30 & echo $!; wait; wait`, 200 * time.Millisecond, 200 * time.Millisecond},
	} {
		t.Run(tc.name, func(t *testing.T) {
			g, err := Start(exec.Command("sh", "-c", tc.script))
			if err != nil {
				t.Fatal(err)
			}
			if pgid, err := syscall.Getpgid(g.PID()); err != nil || pgid != g.PID() {
				t.Errorf("process group %d (%v), want its own (%d)", pgid, err, g.PID())
			}
			var child string
			for deadline := time.Now().Add(5 * time.Second); child == "" && time.Now().Before(deadline); {
				child = strings.TrimSpace(g.Output())
				time.Sleep(10 * time.Millisecond)
			}
			childPID, err := strconv.Atoi(child)
			if err != nil {
				t.Fatalf("child PID %q: %v", child, err)
			}
			start := time.Now()
			g.Stop(context.Background(), tc.grace)
			if d := time.Since(start); d < tc.min || d > tc.grace+3*time.Second {
				t.Errorf("Stop took %v with a grace of %v", d, tc.grace)
			}
			select {
			case <-g.Done():
			default:
				t.Error("Stop returned before the command exited")
			}
			// SIGKILL takes effect soon after it is sent, not at once.
			for deadline := time.Now().Add(2 * time.Second); alive(childPID) && time.Now().Before(deadline); {
				time.Sleep(10 * time.Millisecond)
			}
			if alive(g.PID()) || alive(childPID) {
				t.Errorf("command %d alive %v, its child %d alive %v", g.PID(), alive(g.PID()), childPID, alive(childPID))
			}
			g.Stop(context.Background(), tc.grace) // a second Stop is harmless
		})
	}
}

// Wait stops a command that outlives ctx; an ended ctx cuts Stop's grace
// short.
func TestWaitStopsOnContext(t *testing.T) {
	g, err := Start(exec.Command("sh", "-c", `trap '' TERM; sleep 30`))
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(t.Context(), 100*time.Millisecond)
	defer cancel()
	start := time.Now()
	if err := g.Wait(ctx, 300*time.Millisecond); err == nil {
		t.Error("Wait = nil for a killed command")
	}
	if d := time.Since(start); d < 400*time.Millisecond || d > 5*time.Second {
		t.Errorf("Wait took %v, want the 100ms context then the 300ms grace", d)
	}

	g, err = Start(exec.Command("sh", "-c", `trap '' TERM; sleep 30`))
	if err != nil {
		t.Fatal(err)
	}
	ended, cancelEnded := context.WithCancel(t.Context())
	cancelEnded()
	start = time.Now()
	g.Stop(ended, time.Minute)
	if d := time.Since(start); d > 5*time.Second {
		t.Errorf("Stop with an ended ctx took %v", d)
	}
}

func TestStartError(t *testing.T) {
	if _, err := Start(exec.Command("/no/such/program")); err == nil {
		t.Fatal("Start of a missing program succeeded")
	}
}
