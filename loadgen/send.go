package loadgen

import (
	"context"
	"errors"
	"sync"
	"time"

	"github.com/gorilla/websocket"
)

// A messenger is a scenario that sends paced messages over its
// connections (see run.send).
type messenger interface {
	// senders picks the connections that send.
	senders(conns []*conn, cfg Config) []*conn
	// admit waits until c may send another message; false when the run
	// or the connection ended first.
	admit(ctx context.Context, c *conn) bool
	// sending notes a measured message about to go.
	sending(r *run, st stamp)
	// outstanding counts what is still to arrive.
	outstanding(r *run) int64
}

// send runs a messenger's sending phases: warm-up, measured window, then
// a drain for outstanding messages.
func (r *run) send(ctx context.Context, m messenger) {
	cfg := r.cfg
	r.connsMu.Lock()
	conns := append([]*conn(nil), r.conns...)
	r.connsMu.Unlock()
	if len(conns) == 0 {
		return
	}
	start := r.now()
	r.sendStart.Store(start)
	r.measureStart.Store(start + int64(cfg.Warmup))
	r.sendEnd.Store(start + int64(cfg.Warmup+cfg.Duration))
	sendCtx, cancel := context.WithDeadlineCause(ctx, r.at(r.sendEnd.Load()), errSendEnded)
	defer cancel()
	if cfg.Warmup > 0 {
		r.phase.Store(PhaseWarmup)
		// Ends with sending at the latest, and send waits for it: no
		// goroutine outlives the run.
		warmupDone := make(chan struct{})
		defer func() { cancel(); <-warmupDone }()
		go func() {
			defer close(warmupDone)
			if sleepUntil(sendCtx, r.at(r.measureStart.Load())) {
				r.markCPU(0)
				r.phase.Store(PhaseMeasure)
			}
		}()
	} else {
		r.markCPU(0)
		r.phase.Store(PhaseMeasure)
	}

	senders := m.senders(conns, cfg)
	var wg sync.WaitGroup
	for slot, c := range senders {
		wg.Add(1)
		go func() {
			defer wg.Done()
			r.sendLoop(sendCtx, m, c, slot, len(senders))
		}()
	}
	wg.Wait()
	r.markCPU(1)
	if ctx.Err() != nil {
		return
	}
	r.phase.Store(PhaseDrain)
	r.drain(ctx, m)
}

func (r *run) at(ns int64) time.Time { return r.base.Add(time.Duration(ns)) }

// errSendEnded is the cause of the sending context's end when the
// schedule is over (rather than the run interrupted).
var errSendEnded = errors.New("sending ended")

// sendLoop sends one connection's messages. In the open model, message j
// of the connection in slot k of n is due at start + (k + j·n)/rate: the
// total rate spreads evenly, and a send held back by the server still
// counts from when it was due (no coordinated omission), while the
// generator's own lateness does not count (see lagTracker). In the closed
// loop (rate 0) a message goes as soon as an in-flight slot frees.
func (r *run) sendLoop(ctx context.Context, m messenger, c *conn, slot, n int) {
	cfg := r.cfg
	closed := cfg.Rate == 0
	var interval, offset float64
	if !closed {
		interval = float64(n) / cfg.Rate * 1e9
		offset = float64(slot) / cfg.Rate * 1e9
	}
	msgType := websocket.TextMessage
	if cfg.Binary {
		msgType = websocket.BinaryMessage
	}
	buf := newPayload(cfg.Size)
	start, end := r.sendStart.Load(), r.sendEnd.Load()
	var own lagTracker
	for j := uint64(0); ; j++ {
		var due, woke int64
		if !closed {
			due = start + int64(offset+float64(j)*interval)
			if due >= end || !sleepUntil(ctx, r.at(due)) {
				return
			}
			woke = r.now()
		}
		if !m.admit(ctx, c) {
			return
		}
		now := r.now()
		if closed {
			due, woke = now, now
			if due >= end {
				return
			}
		}
		virtual, lag := own.start(due, woke)
		measured := due >= r.measureStart.Load()
		st := stamp{id: uint32(c.id), seq: j, measured: measured, latencyFrom: due + lag, sentAtNS: now}
		if measured {
			m.sending(r, st)
		}
		encodeStamp(buf, cfg.Binary, st)
		c.nextSeq.Store(j + 1) // before the write: the reply may beat it
		_ = c.ws.SetWriteDeadline(time.Now().Add(cfg.DialTimeout))
		if err := c.ws.WriteMessage(msgType, buf); err != nil {
			// A write that blocked past the end of sending still failed
			// the connection; one cut short by an interrupt did not.
			// ErrCloseSent means the reader is failing the connection
			// (it answered the server's Close or sent 1002/1009) and
			// counts it with the cause.
			if (ctx.Err() == nil || context.Cause(ctx) == errSendEnded) &&
				!errors.Is(err, websocket.ErrCloseSent) && r.connFailed(c, err) {
				r.errs.Add(1)
			}
			return
		}
		if !closed { // the closed loop has no schedule to keep
			own.sent(virtual, woke, r.now())
		}
		r.sent.Add(1)
		if measured {
			r.measuredSent.Add(1)
			if !closed {
				r.ownLag.Record(c.id, lag/1000)
				if lag > int64(cfg.LagLimit) {
					r.lateSends.Add(1)
				}
			}
		} else {
			r.warmupSent.Add(1)
		}
	}
}

// drain waits for outstanding replies, at most cfg.Drain.
func (r *run) drain(ctx context.Context, m messenger) {
	deadline := time.Now().Add(r.cfg.Drain)
	for time.Now().Before(deadline) && ctx.Err() == nil {
		// Nothing more can arrive once every connection has failed.
		if m.outstanding(r) == 0 || r.dropped.Load() == r.established.Load() {
			return
		}
		time.Sleep(10 * time.Millisecond)
	}
}
