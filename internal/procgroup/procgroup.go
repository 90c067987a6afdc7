// Package procgroup supervises the programs wsharness starts (reference
// targets in processes of their own, external servers and client drivers,
// k6): each runs in a process group of its own, is stopped with SIGTERM to
// the group and SIGKILL after a grace, and its last output is kept for
// the error messages that explain why it failed.
package procgroup

import (
	"context"
	"os"
	"os/exec"
	"strings"
	"sync"
	"syscall"
	"time"
)

// OutputLimit is how much of a command's output a Group keeps: the last
// 64 KiB.
const OutputLimit = 64 << 10

// outputWaitDelay is how long Wait waits, after the command has exited,
// for output that its own children still hold open.
const outputWaitDelay = time.Second

// Group is a started command in a process group of its own: a terminal's
// Ctrl-C reaches only wsharness, which stops the command when it is done
// with it, and Stop reaches the command's children too.
type Group struct {
	cmd   *exec.Cmd
	out   *ring // nil when the caller routes the output
	done  chan struct{}
	err   error // Wait's; set before done closes
	sweep sync.Once
}

// Start starts cmd in a process group of its own; should wsharness die
// without stopping it, the command gets SIGTERM. When the caller set
// neither cmd.Stdout nor cmd.Stderr, both go to a buffer that keeps the
// last OutputLimit bytes (Output, Tail, FailureLine). The error is
// cmd.Start's.
func Start(cmd *exec.Cmd) (*Group, error) {
	g := &Group{cmd: cmd, done: make(chan struct{})}
	if cmd.Stdout == nil && cmd.Stderr == nil {
		g.out = &ring{limit: OutputLimit}
		cmd.Stdout = g.out // the same writer: one pipe, writes never interleave
		cmd.Stderr = g.out
	}
	if cmd.WaitDelay == 0 {
		cmd.WaitDelay = outputWaitDelay
	}
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGTERM}
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	go func() {
		g.err = cmd.Wait()
		close(g.done)
	}()
	return g, nil
}

// PID is the command's process ID, which is also its group's.
func (g *Group) PID() int { return g.cmd.Process.Pid }

// Args is the command as started: the program and its arguments.
func (g *Group) Args() []string { return g.cmd.Args }

// Done is closed once the command has exited.
func (g *Group) Done() <-chan struct{} { return g.done }

// Err is how the command ended, once Done is closed: nil for exit status
// 0, else an *exec.ExitError.
func (g *Group) Err() error { return g.err }

// State is the exited command's state (exit code, resource usage), once
// Done is closed.
func (g *Group) State() *os.ProcessState { return g.cmd.ProcessState }

// Wait waits for the command to exit and returns Err. Should ctx end
// first, it stops the command (Stop, with the whole grace) and returns
// once it has exited.
func (g *Group) Wait(ctx context.Context, grace time.Duration) error {
	select {
	case <-g.done:
	case <-ctx.Done():
		g.Stop(context.WithoutCancel(ctx), grace)
	}
	return g.err
}

// Stop ends the command: SIGTERM to its group, SIGKILL once grace has
// passed or ctx has ended, and returns once the command has exited. Then
// whatever is left of its group gets SIGKILL, so that no child outlives
// it. A call after the command has exited returns at once.
func (g *Group) Stop(ctx context.Context, grace time.Duration) {
	pgid := g.cmd.Process.Pid
	select {
	case <-g.done:
	default:
		_ = syscall.Kill(-pgid, syscall.SIGTERM)
		t := time.NewTimer(grace)
		defer t.Stop()
		select {
		case <-g.done:
		case <-t.C:
			_ = syscall.Kill(-pgid, syscall.SIGKILL)
			<-g.done
		case <-ctx.Done():
			_ = syscall.Kill(-pgid, syscall.SIGKILL)
			<-g.done
		}
	}
	// The group's ID is not reused while any member remains; once, since
	// afterwards it may be.
	g.sweep.Do(func() { _ = syscall.Kill(-pgid, syscall.SIGKILL) })
}

// Output returns the command's kept output: "" when the caller routed it
// elsewhere.
func (g *Group) Output() string {
	if g.out == nil {
		return ""
	}
	return g.out.String()
}

// Tail returns the last n lines of the kept output, without a trailing
// newline.
func (g *Group) Tail(n int) string {
	s := strings.TrimRight(g.Output(), "\n")
	if s == "" {
		return ""
	}
	lines := strings.Split(s, "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}

// FailureLine picks the line of the kept output that says why the
// command failed: the last one mentioning an error ("Error: Cannot find
// module 'ws'", "ModuleNotFoundError: ..."), else the last one; "" when
// it printed nothing.
func (g *Group) FailureLine() string {
	lines := strings.Split(strings.TrimSpace(g.Output()), "\n")
	for i := len(lines) - 1; i >= 0; i-- {
		if strings.Contains(strings.ToLower(lines[i]), "error") {
			return strings.TrimSpace(lines[i])
		}
	}
	return strings.TrimSpace(lines[len(lines)-1])
}

// ring is an io.Writer keeping the last limit bytes written.
type ring struct {
	mu        sync.Mutex
	limit     int
	buf       []byte
	truncated bool
}

func (b *ring) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	n := len(p)
	if len(p) >= b.limit {
		p = p[len(p)-b.limit:]
		b.buf = append(b.buf[:0], p...)
		b.truncated = true
		return n, nil
	}
	if over := len(b.buf) + len(p) - b.limit; over > 0 {
		b.buf = append(b.buf[:0], b.buf[over:]...)
		b.truncated = true
	}
	b.buf = append(b.buf, p...)
	return n, nil
}

// String returns the bytes kept, after a marker line if earlier ones were
// dropped.
func (b *ring) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.truncated {
		return "[earlier output dropped]\n" + string(b.buf)
	}
	return string(b.buf)
}
