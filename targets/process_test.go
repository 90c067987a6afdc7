package targets

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// fakeExe writes a shell script standing in for the wsharness binary: it
// checks the serve arguments StartProcess passes, then runs body.
func fakeExe(t *testing.T, body string) string {
	t.Helper()
	exe := filepath.Join(t.TempDir(), "wsharness")
	script := "#!/bin/sh\n" +
		`[ "$1 $2 $3 $4 $5" = "serve --target gws --addr 127.0.0.1:0" ] || { echo "bad arguments: $*" >&2; exit 2; }` + "\n" +
		body + "\n"
	if err := os.WriteFile(exe, []byte(script), 0o755); err != nil {
		t.Fatal(err)
	}
	return exe
}

// shorten sets the start timeout and stop grace for one test.
func shorten(t *testing.T, start, grace time.Duration) {
	oldStart, oldGrace := processStartTimeout, processStopGrace
	processStartTimeout, processStopGrace = start, grace
	t.Cleanup(func() { processStartTimeout, processStopGrace = oldStart, oldGrace })
}

func alive(pid int) bool { return syscall.Kill(pid, 0) == nil }

func TestStartProcess(t *testing.T) {
	exe := fakeExe(t, `echo "gws serving ws://127.0.0.1:4242/echo and ws://127.0.0.1:4242/broadcast (Ctrl-C to stop)"; exec sleep 30`)
	p, err := StartProcess(context.Background(), exe, "gws")
	if err != nil {
		t.Fatal(err)
	}
	if p.Name != "gws" || p.EchoURL != "ws://127.0.0.1:4242/echo" || p.BroadcastURL != "ws://127.0.0.1:4242/broadcast" || p.PID <= 0 {
		t.Errorf("%+v", p)
	}
	// Its own process group.
	if pgid, err := syscall.Getpgid(p.PID); err != nil || pgid != p.PID {
		t.Errorf("process group %d (%v), want its own (%d)", pgid, err, p.PID)
	}
	start := time.Now()
	p.Stop()
	if d := time.Since(start); d > 2*time.Second {
		t.Errorf("Stop took %v though the process exits on SIGTERM", d)
	}
	select {
	case <-p.proc.Done():
	default:
		t.Error("Stop returned before the process exited")
	}
	p.Stop() // a second Stop is harmless

	// An HTTP/2 target's URLs are ws+h2://.
	exe = fakeExe(t, `echo "gws serving ws+h2://127.0.0.1:4243/echo and ws+h2://127.0.0.1:4243/broadcast (Ctrl-C to stop)"; exec sleep 30`)
	if p, err = StartProcess(context.Background(), exe, "gws"); err != nil {
		t.Fatal(err)
	}
	defer p.Stop()
	if p.EchoURL != "ws+h2://127.0.0.1:4243/echo" || p.BroadcastURL != "ws+h2://127.0.0.1:4243/broadcast" {
		t.Errorf("HTTP/2 target: %+v", p)
	}
}

func TestStopKillsAfterGrace(t *testing.T) {
	shorten(t, 10*time.Second, 200*time.Millisecond)
	// SIGTERM stays ignored across exec.
	exe := fakeExe(t, `trap '' TERM; echo "serving ws://127.0.0.1:4242/echo"; exec sleep 30`)
	p, err := StartProcess(context.Background(), exe, "gws")
	if err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	p.Stop()
	if d := time.Since(start); d < 200*time.Millisecond || d > 5*time.Second {
		t.Errorf("Stop took %v, want the grace period then SIGKILL", d)
	}
	if alive(p.PID) {
		t.Errorf("process %d still alive", p.PID)
	}
}

func TestStartProcessFailures(t *testing.T) {
	shorten(t, 300*time.Millisecond, time.Second)
	for _, tc := range []struct {
		name, body, want string
	}{
		{"silent", `exec sleep 30`, "target gws did not start within 300ms"},
		{"exits", `exit 1`, "target gws exited before serving"},
		{"no URL", `echo "serving somewhere"; exec sleep 30`, "target gws printed no URL"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			start := time.Now()
			p, err := StartProcess(context.Background(), fakeExe(t, tc.body), "gws")
			if p != nil || !errors.Is(err, ErrProcessStart) || err.Error() != tc.want {
				t.Fatalf("got %v, %v; want %q matching ErrProcessStart", p, err, tc.want)
			}
			if d := time.Since(start); d > 3*time.Second {
				t.Errorf("took %v", d)
			}
		})
	}

	_, err := StartProcess(context.Background(), filepath.Join(t.TempDir(), "missing"), "gws")
	if !errors.Is(err, ErrProcessStart) || !errors.Is(err, os.ErrNotExist) || !strings.HasPrefix(err.Error(), "start target gws: ") {
		t.Errorf("missing executable: %v", err)
	}

	_, err = StartProcess(context.Background(), "/bin/true", "no-such-target")
	if err == nil || errors.Is(err, ErrProcessStart) || !strings.Contains(err.Error(), `unknown target "no-such-target"`) {
		t.Errorf("unknown target: %v", err)
	}

	// A target serving TLS by itself is refused before any process starts.
	_, err = StartProcess(context.Background(), fakeExe(t, `echo "serving ws://127.0.0.1:1/echo"; exec sleep 30`), "gobwas-h2-tls")
	if err == nil || errors.Is(err, ErrProcessStart) || !strings.Contains(err.Error(), "serve --target gobwas-h2 --tls instead") {
		t.Errorf("gobwas-h2-tls: %v", err)
	}
}

func TestStartProcessCanceled(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	p, err := StartProcess(ctx, fakeExe(t, `exec sleep 30`), "gws")
	if p != nil || !errors.Is(err, context.DeadlineExceeded) || errors.Is(err, ErrProcessStart) {
		t.Fatalf("got %v, %v; want the context's error", p, err)
	}
}
