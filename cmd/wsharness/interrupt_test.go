package main

import (
	"bytes"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	"github.com/wsharness/wsharness/internal/testnet"
	"github.com/wsharness/wsharness/loadgen"
	"github.com/wsharness/wsharness/results"
)

// These tests signal a real wsharness process, built here: a signal to the
// test binary would stop the test.

// buildWsharness builds the command into dir.
func buildWsharness(t *testing.T, dir string) string {
	t.Helper()
	exe := filepath.Join(dir, "wsharness")
	if out, err := exec.Command("go", "build", "-o", exe, ".").CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	return exe
}

// syncBuffer is a bytes.Buffer safe for a process to write while the test
// reads.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// started is a process under test with its output.
type started struct {
	cmd            *exec.Cmd
	stdout, stderr *syncBuffer
	done           chan struct{}
}

func start(t *testing.T, dir, exe string, args ...string) *started {
	t.Helper()
	p := &started{cmd: exec.Command(exe, args...), stdout: &syncBuffer{}, stderr: &syncBuffer{}, done: make(chan struct{})}
	p.cmd.Dir = dir
	p.cmd.Stdout, p.cmd.Stderr = p.stdout, p.stderr
	if err := p.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { _ = p.cmd.Wait(); close(p.done) }()
	t.Cleanup(func() {
		select {
		case <-p.done:
		default:
			_ = p.cmd.Process.Kill()
			<-p.done
		}
	})
	return p
}

func (p *started) signal(t *testing.T, sig os.Signal) {
	t.Helper()
	if err := p.cmd.Process.Signal(sig); err != nil {
		t.Fatalf("signal %v: %v", sig, err)
	}
}

// wait waits at most d for the process to end.
func (p *started) wait(t *testing.T, d time.Duration) syscall.WaitStatus {
	t.Helper()
	select {
	case <-p.done:
		return p.cmd.ProcessState.Sys().(syscall.WaitStatus)
	case <-time.After(d):
		t.Fatalf("still running %s after the signal\nstdout:\n%s\nstderr:\n%s", d, p.stdout, p.stderr)
	}
	panic("unreachable")
}

// waitFor polls until the process has printed want on stdout or stderr.
func (p *started) waitFor(t *testing.T, want string, d time.Duration) {
	t.Helper()
	deadline := time.Now().Add(d)
	for !strings.Contains(p.stdout.String()+p.stderr.String(), want) {
		select {
		case <-p.done:
			t.Fatalf("exited before printing %q\nstdout:\n%s\nstderr:\n%s", want, p.stdout, p.stderr)
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("no %q after %s\nstdout:\n%s\nstderr:\n%s", want, d, p.stdout, p.stderr)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func TestInterrupt(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the command and runs loads of several seconds")
	}
	dir := t.TempDir()
	exe := buildWsharness(t, dir)

	// SIGINT in the middle of a load: the partial result is written and
	// marked interrupted, and the exit status is 130.
	t.Run("load", func(t *testing.T) {
		out := filepath.Join(dir, "interrupted.json")
		p := start(t, dir, exe, "load", "--target", "gorilla", "--conns", "20", "--rate", "200",
			"--warmup", "500ms", "--duration", "60s", "--out", out)
		p.waitFor(t, "measure", 10*time.Second) // the progress line of the measured window
		time.Sleep(2 * time.Second)
		p.signal(t, syscall.SIGINT)
		ws := p.wait(t, 10*time.Second)
		if ws.ExitStatus() != exitInterrupted {
			t.Fatalf("exit status %v, want %d\nstdout:\n%s\nstderr:\n%s", ws, exitInterrupted, p.stdout, p.stderr)
		}
		if !strings.Contains(p.stdout.String(), "INTERRUPTED") || !strings.Contains(p.stdout.String(), "result: "+out) {
			t.Errorf("stdout does not say INTERRUPTED and where the result is:\n%s", p.stdout)
		}
		lines := strings.Split(strings.TrimSpace(p.stderr.String()), "\n")
		if last := lines[len(lines)-1]; !strings.HasPrefix(last, "wsharness load: interrupted") {
			t.Errorf("last stderr line %q", last)
		}
		r, err := loadgen.ReadFile(out)
		if err != nil {
			t.Fatal(err)
		}
		if !r.Interrupted || r.Messages == nil || r.Messages.Received == 0 || r.LatencyUS == nil || r.LatencyUS.Count == 0 {
			t.Fatalf("result: interrupted %v, messages %+v, latency %+v: want interrupted with measured messages", r.Interrupted, r.Messages, r.LatencyUS)
		}
		if r.DurationMS >= 60_000 {
			t.Errorf("measured window %d ms: the run was not cut short", r.DurationMS)
		}
		// The target the load started is stopped too.
		if r.Server == nil || r.Server.PID == 0 {
			t.Fatalf("no server process in the result: %+v", r.Server)
		}
		for deadline := time.Now().Add(5 * time.Second); syscall.Kill(r.Server.PID, 0) == nil; time.Sleep(50 * time.Millisecond) {
			if time.Now().After(deadline) {
				t.Fatalf("target process %d still runs", r.Server.PID)
			}
		}

		// The report says so.
		code, text, stderr := runCLI("report", "--format", "text", out)
		if code != exitOK || !strings.Contains(text, "interrupted") {
			t.Errorf("report --format text: exit %d, stderr %q, output:\n%s", code, stderr, text)
		}
		html := filepath.Join(dir, "report")
		if code, _, stderr := runCLI("report", "--out", html, out); code != exitOK {
			t.Fatalf("report: exit %d: %s", code, stderr)
		}
		b, err := os.ReadFile(filepath.Join(html, "index.html"))
		if err != nil || !bytes.Contains(b, []byte("gorilla (interrupted)")) {
			t.Errorf("index.html does not mark the run interrupted (%v)", err)
		}
	})

	// SIGINT in the middle of 'wsharness conformance': the cases that
	// finished are written, marked incomplete, and the exit status is 130.
	t.Run("conformance", func(t *testing.T) {
		out := filepath.Join(dir, "conformance")
		p := start(t, dir, exe, "conformance", "--target", "gorilla", "--profile", "full", "--timescale", "4", "--out", out)
		time.Sleep(3 * time.Second)
		p.signal(t, syscall.SIGINT)
		ws := p.wait(t, 30*time.Second)
		if ws.ExitStatus() != exitInterrupted {
			t.Fatalf("exit status %v, want %d\nstdout:\n%s\nstderr:\n%s", ws, exitInterrupted, p.stdout, p.stderr)
		}
		run, err := results.ReadFile(filepath.Join(out, "results.json"))
		if err != nil {
			t.Fatal(err)
		}
		if n := len(run.Targets[0].Cases); !run.Incomplete || n == 0 || n >= 600 {
			t.Errorf("results.json: incomplete %v with %d cases, want incomplete with those that finished", run.Incomplete, n)
		}
	})

	// A second signal while the first one's stop phase runs ends the process
	// at once. The server here never answers a Close, so the load's closing
	// handshake waits its full second: the second signal lands inside it.
	t.Run("second signal", func(t *testing.T) {
		url := startCloseIgnoringEcho(t)
		out := filepath.Join(dir, "second.json")
		p := start(t, dir, exe, "load", "--url", url, "--conns", "5", "--rate", "100", "--warmup", "0s",
			"--duration", "60s", "--out", out)
		p.waitFor(t, "measure", 10*time.Second)
		p.signal(t, syscall.SIGINT)
		time.Sleep(300 * time.Millisecond)
		select {
		case <-p.done:
			t.Fatalf("the stop phase ended within 300 ms; the test cannot tell (stderr %s)", p.stderr)
		default:
		}
		sent := time.Now()
		p.signal(t, syscall.SIGINT)
		ws := p.wait(t, 2*time.Second)
		if !ws.Signaled() || ws.Signal() != syscall.SIGINT {
			t.Fatalf("exit status %v: want killed by the second SIGINT\nstderr:\n%s", ws, p.stderr)
		}
		t.Logf("ended %s after the second signal", time.Since(sent).Round(time.Millisecond))
	})

	// serve: a signal stops the target, exit 0.
	t.Run("serve", func(t *testing.T) {
		p := start(t, dir, exe, "serve", "--target", "gorilla", "--addr", "127.0.0.1:0")
		p.waitFor(t, "serving", 10*time.Second)
		p.signal(t, syscall.SIGTERM)
		if ws := p.wait(t, 5*time.Second); ws.ExitStatus() != exitOK {
			t.Fatalf("exit status %v, want 0\nstderr:\n%s", ws, p.stderr)
		}
	})
}

// startCloseIgnoringEcho serves an echo that never answers a Close and
// keeps the connection open until the test ends.
func startCloseIgnoringEcho(t *testing.T) string {
	t.Helper()
	done := make(chan struct{})
	up := websocket.Upgrader{}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c, err := up.Upgrade(w, r, nil)
		if err != nil {
			return
		}
		defer c.Close()
		c.SetCloseHandler(func(int, string) error { return nil })
		testnet.Echo(c)
		<-done
	}))
	t.Cleanup(func() { close(done); srv.Close() })
	return "ws" + strings.TrimPrefix(srv.URL, "http") + "/echo"
}
