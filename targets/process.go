package targets

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"time"

	"github.com/wsharness/wsharness/internal/procgroup"
)

// ErrProcessStart marks a reference target process that could not be
// brought up: it did not start, exited before serving, printed no URL or
// did not print one in time. Test for it with errors.Is.
var ErrProcessStart = errors.New("target process did not start")

// How long a target process gets to print its URL, and to exit after
// SIGTERM before it is killed. Variables so that tests can shorten them.
var (
	processStartTimeout = 10 * time.Second
	processStopGrace    = 5 * time.Second
)

// Process is a reference target running in a process of its own, so that
// a load generator never shares a process (scheduler, heap, GC) with the
// server it measures.
type Process struct {
	// Name is the reference target the process serves.
	Name string
	// EchoURL and BroadcastURL are the ws:// URLs of the target's
	// EchoPath and BroadcastPath endpoints (ws+h2:// for an HTTP/2
	// target).
	EchoURL      string
	BroadcastURL string
	// PID is the process's ID, e.g. to sample its CPU and memory.
	PID int

	proc *procgroup.Group
}

// StartProcess runs `exe serve --target name --addr 127.0.0.1:0` (exe is
// a wsharness binary) and returns once the process has printed the URL it
// serves, taken from the first ws:// word (ws+h2:// for an HTTP/2 target)
// of its first line on standard output. Its standard error goes to this
// process's.
//
// The process gets its own process group, so that a terminal's Ctrl-C
// reaches only the caller, which then stops the target after writing its
// results; and it receives SIGTERM should the caller die without stopping
// it. ctx bounds only the start; call Stop to end the process.
//
// An unknown name returns Lookup's error; a process that fails to come up
// within 10 s returns an error for which errors.Is(err, ErrProcessStart)
// holds; an ended ctx returns an error wrapping ctx.Err().
func StartProcess(ctx context.Context, exe, name string) (*Process, error) {
	t, err := Lookup(name)
	if err != nil {
		return nil, err
	}
	if why := ServeRefusal(t); why != "" {
		return nil, fmt.Errorf("target %s cannot run in a process: %s", name, why)
	}
	cmd := exec.Command(exe, "serve", "--target", name, "--addr", "127.0.0.1:0")
	cmd.Stderr = os.Stderr
	pipe, err := cmd.StdoutPipe()
	if err != nil {
		return nil, fmt.Errorf("target %s: %w", name, err)
	}
	proc, err := procgroup.Start(cmd)
	if err != nil {
		return nil, startError(fmt.Errorf("start target %s: %w", name, err))
	}
	p := &Process{Name: name, PID: proc.PID(), proc: proc}
	lines := make(chan string, 1)
	go func() {
		// Keep reading so that the target never blocks on a full pipe;
		// only the first line matters.
		sc := bufio.NewScanner(pipe)
		for sc.Scan() {
			select {
			case lines <- sc.Text():
			default:
			}
		}
	}()
	timeout := time.NewTimer(processStartTimeout)
	defer timeout.Stop()
	select {
	case line := <-lines:
		for _, f := range strings.Fields(line) {
			if isServedURL(f) {
				p.EchoURL = f
				break
			}
		}
	case <-proc.Done():
		return nil, startError(fmt.Errorf("target %s exited before serving", name))
	case <-timeout.C:
		p.Stop()
		return nil, startError(fmt.Errorf("target %s did not start within %s", name, processStartTimeout))
	case <-ctx.Done():
		p.Stop()
		return nil, fmt.Errorf("start target %s: %w", name, ctx.Err())
	}
	if p.EchoURL == "" {
		p.Stop()
		return nil, startError(fmt.Errorf("target %s printed no URL", name))
	}
	p.BroadcastURL = strings.TrimSuffix(p.EchoURL, EchoPath) + BroadcastPath
	return p, nil
}

// isServedURL reports whether a word of serve's line is the URL served:
// ws://, or ws+h2:// for an HTTP/2 target (wss:// and wss+h2:// with TLS).
func isServedURL(word string) bool {
	for _, scheme := range []string{"ws://", "wss://", "ws+h2://", "wss+h2://"} {
		if strings.HasPrefix(word, scheme) {
			return true
		}
	}
	return false
}

// Stop ends the process: SIGTERM to its process group, then SIGKILL
// after 5 s. It returns once the process has exited.
func (p *Process) Stop() { p.proc.Stop(context.Background(), processStopGrace) }

// processStartError is a start failure: its message is the cause's, and
// errors.Is matches both ErrProcessStart and the cause's chain.
type processStartError struct{ err error }

func startError(err error) error { return &processStartError{err: err} }

func (e *processStartError) Error() string        { return e.err.Error() }
func (e *processStartError) Unwrap() error        { return e.err }
func (e *processStartError) Is(target error) bool { return target == ErrProcessStart }
