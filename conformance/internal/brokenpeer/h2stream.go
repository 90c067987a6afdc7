package brokenpeer

import (
	"errors"
	"io"
	"net"
	"os"
	"time"

	"golang.org/x/net/http2"
)

// errStreamReset is what a stream's reads and writes return once either
// end reset it.
var errStreamReset = errors.New("brokenpeer: HTTP/2 stream reset")

// h2Stream is the server's end of one WebSocket stream, as the net.Conn the
// RFC 6455 frame loop runs on: Read takes the client's DATA, Write sends
// DATA within the client's windows, CloseWrite is END_STREAM and Close a
// RST_STREAM CANCEL unless both ends ended (RFC 8441 §5). Its state is
// guarded by its connection's mu.
type h2Stream struct {
	c  *h2Conn
	id uint32

	// buf holds the DATA received and not read yet; recvWindow is what the
	// server granted and the client has not used, sendWindow the reverse.
	buf                    []byte
	recvWindow, sendWindow int64

	// remoteEnded: the client sent END_STREAM; localEnded: the server did.
	remoteEnded, localEnded bool
	// reset: either end sent RST_STREAM; closed: Close ran.
	reset, closed bool

	readDeadline, writeDeadline time.Time
	readTimer, writeTimer       *time.Timer
}

var _ net.Conn = (*h2Stream)(nil)

// Read returns the client's DATA as it is consumed and gives the window
// back with WINDOW_UPDATE (unless NoWindowUpdate); io.EOF after the
// client's END_STREAM.
func (st *h2Stream) Read(p []byte) (int, error) {
	c := st.c
	c.mu.Lock()
	for len(st.buf) == 0 {
		switch {
		case st.reset:
			c.mu.Unlock()
			return 0, errStreamReset
		case c.dead:
			c.mu.Unlock()
			return 0, errConnGone
		case st.remoteEnded:
			c.mu.Unlock()
			return 0, io.EOF
		case passed(st.readDeadline):
			c.mu.Unlock()
			return 0, os.ErrDeadlineExceeded
		}
		c.cond.Wait()
	}
	n := copy(p, st.buf)
	st.buf = st.buf[n:]
	if len(st.buf) == 0 {
		st.buf = nil // let the backing array go
	}
	id := st.id
	if st.remoteEnded {
		id = 0 // no more DATA can come on the stream: only the connection needs window
	}
	if !c.s.h.NoWindowUpdate {
		st.recvWindow += int64(n)
	}
	c.mu.Unlock()
	_ = c.grant(id, int64(n)) // a failed write closes the connection, which the next Read sees
	return n, nil
}

// Write sends p as DATA frames no larger than the client's
// SETTINGS_MAX_FRAME_SIZE, each waiting for room in both windows
// (RFC 9113 §6.9.1) unless IgnoresFlowControl.
func (st *h2Stream) Write(p []byte) (int, error) {
	c := st.c
	if c.s.h.HeadOfLineBlocking {
		c.holMu.Lock()
		defer c.holMu.Unlock()
	}
	written := 0
	for len(p) > 0 {
		c.mu.Lock()
		var n int64
		for {
			switch {
			case st.reset:
				c.mu.Unlock()
				return written, errStreamReset
			case c.dead:
				c.mu.Unlock()
				return written, errConnGone
			case st.localEnded:
				c.mu.Unlock()
				return written, errors.New("brokenpeer: write on a stream the server ended")
			case passed(st.writeDeadline):
				c.mu.Unlock()
				return written, os.ErrDeadlineExceeded
			}
			n = min(int64(len(p)), int64(c.peerMaxFrame))
			if !c.s.h.IgnoresFlowControl {
				n = min(n, st.sendWindow, c.sendWindow)
			}
			if n > 0 {
				break
			}
			c.cond.Wait()
		}
		st.sendWindow -= n
		c.sendWindow -= n
		c.mu.Unlock()
		chunk := p[:n]
		if err := c.write(func(fr *http2.Framer) error { return fr.WriteData(st.id, false, chunk) }); err != nil {
			return written, err
		}
		written += int(n)
		p = p[n:]
	}
	return written, nil
}

// CloseWrite ends the server's half of the stream: an empty DATA frame
// with END_STREAM, the HTTP/2 form of the TCP FIN (RFC 8441 §5).
func (st *h2Stream) CloseWrite() error {
	c := st.c
	c.mu.Lock()
	if st.localEnded || st.reset || c.dead {
		c.mu.Unlock()
		return nil
	}
	st.localEnded = true
	c.mu.Unlock()
	return c.write(func(fr *http2.Framer) error { return fr.WriteData(st.id, true, nil) })
}

// Close forgets the stream, resetting it with CANCEL unless both ends
// ended it or it was reset already (RFC 8441 §5: the TCP RST).
func (st *h2Stream) Close() error {
	c := st.c
	c.mu.Lock()
	if st.closed {
		c.mu.Unlock()
		return nil
	}
	st.closed = true
	cancel := !st.reset && !c.dead && !(st.localEnded && st.remoteEnded)
	st.reset = st.reset || cancel
	if c.streams[st.id] == st {
		delete(c.streams, st.id)
	}
	for _, t := range []*time.Timer{st.readTimer, st.writeTimer} {
		if t != nil {
			t.Stop()
		}
	}
	c.cond.Broadcast()
	c.mu.Unlock()
	if cancel {
		return c.reset(st.id, http2.ErrCodeCancel)
	}
	return nil
}

// resetBy resets the stream with code, once: RST_STREAM is sent and the
// stream's reads and writes fail.
func (st *h2Stream) resetBy(code http2.ErrCode) {
	c := st.c
	c.mu.Lock()
	if st.reset || c.dead {
		c.mu.Unlock()
		return
	}
	st.reset = true
	if c.streams[st.id] == st {
		delete(c.streams, st.id)
	}
	c.cond.Broadcast()
	c.mu.Unlock()
	_ = c.reset(st.id, code)
}

func (st *h2Stream) LocalAddr() net.Addr  { return st.c.nc.LocalAddr() }
func (st *h2Stream) RemoteAddr() net.Addr { return st.c.nc.RemoteAddr() }

func (st *h2Stream) SetDeadline(t time.Time) error {
	_ = st.SetReadDeadline(t)
	return st.SetWriteDeadline(t)
}

func (st *h2Stream) SetReadDeadline(t time.Time) error {
	st.c.mu.Lock()
	defer st.c.mu.Unlock()
	st.readDeadline = t
	st.readTimer = st.c.wakeAt(st.readTimer, t)
	return nil
}

func (st *h2Stream) SetWriteDeadline(t time.Time) error {
	st.c.mu.Lock()
	defer st.c.mu.Unlock()
	st.writeDeadline = t
	st.writeTimer = st.c.wakeAt(st.writeTimer, t)
	return nil
}

// wakeAt replaces timer with one that wakes the connection's waiters at t
// (none for the zero t), so a deadline ends a wait on cond. c.mu is held.
func (c *h2Conn) wakeAt(timer *time.Timer, t time.Time) *time.Timer {
	if timer != nil {
		timer.Stop()
	}
	if t.IsZero() {
		return nil
	}
	return time.AfterFunc(time.Until(t), func() {
		c.mu.Lock()
		c.cond.Broadcast()
		c.mu.Unlock()
	})
}

// passed reports whether the deadline t is set and past.
func passed(t time.Time) bool { return !t.IsZero() && !time.Now().Before(t) }
