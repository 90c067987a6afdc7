package casekit

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/wsharness/wsharness/results"
	"github.com/wsharness/wsharness/wire"
)

// SilentLimit is how many opening handshakes in a row may go unanswered
// (timed out or refused, not one byte back) before the next case first
// probes the server with a plain upgrade request: with the probe, three
// in a row.
const SilentLimit = 2

// Liveness follows whether a target still answers opening handshakes, so
// that a server that stopped answering costs seconds, not every case's
// handshake timer (minutes). A server that answers, however slowly or
// wrongly, is tested in full: any byte back counts as an answer, and a
// case whose deliberately odd request goes unanswered is told apart by
// the probe, which sends a request every server must answer. The zero
// value is ready; a nil *Liveness tracks nothing.
type Liveness struct {
	mu     sync.Mutex
	silent int    // unanswered opening handshakes in a row
	how    string // how the last one failed: "timed out", "were refused"
	dead   string // why the server counts as gone; "" while it answers
	// lastHeard is when a frame last arrived from the server on any of the
	// run's connections (Unix nanoseconds): a server busy with other
	// cases' megabytes may leave handshakes unanswered for a while, but it
	// has not stopped.
	lastHeard atomic.Int64
}

// heard notes that the server sent something.
func (l *Liveness) heard() {
	if l != nil {
		l.lastHeard.Store(time.Now().UnixNano())
	}
}

// heardWithin reports whether the server sent something in the last d.
func (l *Liveness) heardWithin(d time.Duration) bool {
	return time.Since(time.Unix(0, l.lastHeard.Load())) < d
}

// record notes the outcome of one opening handshake.
func (l *Liveness) record(hs *wire.Handshake, err error) {
	if l == nil {
		return
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	how, silent := unanswered(hs, err)
	if !silent {
		l.silent = 0
		return
	}
	l.silent++
	l.how = how
}

// unanswered says whether a handshake got nothing back, and how.
func unanswered(hs *wire.Handshake, err error) (how string, silent bool) {
	if err == nil || hs != nil && len(hs.RawResponse) > 0 {
		return "", false
	}
	var ne net.Error
	switch {
	case errors.Is(err, syscall.ECONNREFUSED):
		return "were refused", true
	case errors.Is(err, os.ErrDeadlineExceeded), errors.Is(err, context.DeadlineExceeded),
		errors.As(err, &ne) && ne.Timeout():
		return "timed out", true
	}
	return "", false
}

// gate decides, before a case runs, whether the server still answers. After
// SilentLimit unanswered handshakes in a row it sends one plain upgrade
// request: an answer resets the count, silence ends every later case at
// once. It returns why the case cannot run, "" when it can.
func (l *Liveness) gate(ctx context.Context, env Env) string {
	if l == nil {
		return ""
	}
	l.mu.Lock()
	defer l.mu.Unlock() // held through the probe: one probe for everyone
	if l.dead != "" || l.silent < SilentLimit {
		return l.dead
	}
	window := env.Scaled(HandshakeTimeout)
	if l.heardWithin(window) {
		l.silent = 0 // busy, not gone: its frames still arrive
		return ""
	}
	conn, hs, err := wire.Open(ctx, env.URL, wire.Options{Timeout: window, TLS: env.TLS})
	if conn != nil {
		_ = conn.Close()
	}
	if how, silent := unanswered(hs, err); silent && !l.heardWithin(window) {
		l.dead = fmt.Sprintf("the server stopped answering opening handshakes (%d in a row %s, the last a plain upgrade request)", l.silent+1, how)
		return l.dead
	}
	l.silent = 0
	return ""
}

// Gate runs the case unless env's server has stopped answering opening
// handshakes; then the case is FAILED without running, saying so.
func Gate(ctx context.Context, env Env, run func(context.Context, Env) results.Case) results.Case {
	if why := env.Liveness.gate(ctx, env); why != "" {
		return results.Case{
			Verdict: results.Failed, CloseVerdict: results.CloseFailed, NotRun: true,
			Observed: "not run: " + why,
		}
	}
	return run(ctx, env)
}
