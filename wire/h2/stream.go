package h2

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"strconv"
	"time"

	"golang.org/x/net/http2"
	"golang.org/x/net/http2/hpack"
)

// ResetError is a stream the server reset (RST_STREAM): to the RFC 6455
// layer above, a TCP reset (RFC 8441 §5).
type ResetError struct {
	StreamID uint32
	Code     http2.ErrCode
}

func (e *ResetError) Error() string {
	return fmt.Sprintf("HTTP/2 stream %d reset by the server (RST_STREAM %v)", e.StreamID, e.Code)
}

// GoneAwayError is a stream the server's GOAWAY left out (its ID is above
// the last one the server processes).
type GoneAwayError struct {
	StreamID, LastStreamID uint32
	Code                   http2.ErrCode
}

func (e *GoneAwayError) Error() string {
	return fmt.Sprintf("HTTP/2 stream %d ended by the server's GOAWAY (last stream %d, %v)", e.StreamID, e.LastStreamID, e.Code)
}

// Response is the server's answer on a stream: its final HEADERS (1xx
// other than 101 are skipped; a 101 is an answer, wrong in HTTP/2).
type Response struct {
	Status int
	// Fields are the answer's header fields in order, pseudo-headers
	// included, as received.
	Fields []hpack.HeaderField
	// EndStream says the HEADERS frame ended the server's side.
	EndStream bool
}

// Values returns the values of the fields called name (lowercase).
func (r *Response) Values(name string) []string {
	var out []string
	for _, f := range r.Fields {
		if f.Name == name {
			out = append(out, f.Value)
		}
	}
	return out
}

// Stream is one stream of a Conn, and a net.Conn: Write sends DATA
// frames within the server's windows (a Write of n octets is at least one
// frame, so the chops of a split write stay apart), Read returns the
// DATA the server sent.
type Stream struct {
	c  *Conn
	id uint32

	// Guarded by c.mu.
	response    *Response
	responded   chan struct{}
	buf         bytes.Buffer
	recvEnded   bool
	reset       *ResetError
	goneAway    *GoneAwayError
	sentEnd     bool
	sentReset   bool
	sendWindow  int64
	recvWindow  int64
	unacked     int64
	rdl, wdl    time.Time
	interimSeen int
	// held: the harness returns no credit for the stream, as a reader
	// that stopped reading would not (Hold).
	held bool
	// dataBeforeAnswer: DATA came before the answer (reported once).
	dataBeforeAnswer bool
}

// Hold stops (true) or resumes returning flow-control credit for the
// stream: a held stream's window fills and the server must stop sending
// on it, while the connection's credit still goes back.
func (s *Stream) Hold(hold bool) {
	s.c.mu.Lock()
	s.held = hold
	s.c.mu.Unlock()
	if !hold {
		s.c.credit(s, 0)
	}
}

func newStream(c *Conn, id uint32) *Stream {
	return &Stream{
		c: c, id: id, responded: make(chan struct{}),
		sendWindow: int64(c.settings.InitialWindowSize), recvWindow: int64(c.opts.StreamWindow),
	}
}

// ID is the stream's identifier.
func (s *Stream) ID() uint32 { return s.id }

// Conn is the connection the stream belongs to.
func (s *Stream) Conn() *Conn { return s.c }

// Response waits for the server's answer until ctx ends. A stream the
// server reset or ended before answering returns the reason.
func (s *Stream) Response(ctx context.Context) (*Response, error) {
	select {
	case <-s.responded:
	case <-ctx.Done():
		return nil, fmt.Errorf("no response on HTTP/2 stream %d: %w", s.id, ctx.Err())
	case <-s.c.done:
	}
	s.c.mu.Lock()
	defer s.c.mu.Unlock()
	switch {
	case s.response != nil:
		return s.response, nil
	case s.reset != nil:
		return nil, s.reset
	case s.goneAway != nil:
		return nil, s.goneAway
	}
	return nil, fmt.Errorf("no response on HTTP/2 stream %d: %w", s.id, s.c.err)
}

// Answer returns the server's answer if it has come, nil if not: it never
// waits.
func (s *Stream) Answer() *Response {
	s.c.mu.Lock()
	defer s.c.mu.Unlock()
	return s.response
}

func (s *Stream) onHeaders(fields []hpack.HeaderField, endStream bool) {
	status := -1
	for _, f := range fields {
		if f.Name == ":status" {
			status, _ = strconv.Atoi(f.Value)
		}
	}
	s.c.mu.Lock()
	defer s.c.mu.Unlock()
	defer s.c.cond.Broadcast()
	if s.response != nil {
		// Trailers: they may only end the stream (RFC 9113 §8.1).
		if endStream {
			s.recvEnded = true
		}
		return
	}
	if status >= 100 && status < 200 && status != 101 && !endStream {
		s.interimSeen++
		return
	}
	s.response = &Response{Status: status, Fields: fields, EndStream: endStream}
	s.recvEnded = s.recvEnded || endStream
	close(s.responded)
}

// onData queues a DATA frame's payload, which Conn.onData has checked
// against the windows; n is the frame's length, padding included.
func (s *Stream) onData(p []byte, n int64, endStream bool) {
	s.c.mu.Lock()
	early := s.response == nil && !s.dataBeforeAnswer
	s.dataBeforeAnswer = s.dataBeforeAnswer || s.response == nil
	if !s.recvEnded {
		s.buf.Write(p)
	}
	s.recvEnded = s.recvEnded || endStream
	s.c.cond.Broadcast()
	s.c.mu.Unlock()
	if early {
		s.c.violation("DATA on stream %d before any response HEADERS (RFC 9113 §8.1)", s.id)
	}
	// Padding is never read: its credit goes back now.
	s.c.credit(nil, n-int64(len(p)))
}

func (s *Stream) onReset(code http2.ErrCode) {
	s.c.mu.Lock()
	defer s.c.mu.Unlock()
	if s.reset == nil {
		s.reset = &ResetError{StreamID: s.id, Code: code}
	}
	s.closeResponded()
	s.c.cond.Broadcast()
}

func (s *Stream) onGoneAway(f *http2.GoAwayFrame) {
	s.c.mu.Lock()
	defer s.c.mu.Unlock()
	s.goneAway = &GoneAwayError{StreamID: s.id, LastStreamID: f.LastStreamID, Code: f.ErrCode}
	s.closeResponded()
	s.c.cond.Broadcast()
}

// closeResponded wakes Response waiters of a stream that ended without
// an answer; c.mu is held.
func (s *Stream) closeResponded() {
	if s.response == nil {
		select {
		case <-s.responded:
		default:
			close(s.responded)
		}
	}
}

// waitLocked waits on the connection's condition until something changes
// or deadline passes; c.mu is held. It reports false once deadline has
// passed.
func (s *Stream) waitLocked(deadline time.Time) bool {
	if !deadline.IsZero() {
		d := time.Until(deadline)
		if d <= 0 {
			return false
		}
		t := time.AfterFunc(d, func() {
			s.c.mu.Lock()
			s.c.cond.Broadcast()
			s.c.mu.Unlock()
		})
		defer t.Stop()
	}
	s.c.cond.Wait()
	return true
}

// Read reads DATA the server sent on the stream: io.EOF after its
// END_STREAM, a *ResetError after its RST_STREAM.
func (s *Stream) Read(p []byte) (int, error) {
	s.c.mu.Lock()
	for {
		if s.buf.Len() > 0 {
			n, _ := s.buf.Read(p)
			s.c.mu.Unlock()
			s.c.credit(s, int64(n))
			return n, nil
		}
		// END_STREAM first: a RST_STREAM after it only asks the harness
		// to stop sending (RFC 9113 §8.1).
		switch {
		case s.recvEnded:
			s.c.mu.Unlock()
			return 0, io.EOF
		case s.reset != nil:
			s.c.mu.Unlock()
			return 0, s.reset
		case s.goneAway != nil:
			s.c.mu.Unlock()
			return 0, s.goneAway
		case s.c.err != nil:
			err := s.c.err
			s.c.mu.Unlock()
			return 0, err
		case s.sentReset:
			s.c.mu.Unlock()
			return 0, net.ErrClosed
		}
		if !s.waitLocked(s.rdl) {
			s.c.mu.Unlock()
			return 0, os.ErrDeadlineExceeded
		}
	}
}

// Write sends p in DATA frames, each within the server's stream and
// connection windows and its frame size, waiting for credit as long as
// the write deadline allows.
func (s *Stream) Write(p []byte) (int, error) {
	return s.write(p, false)
}

// WriteEnd is Write with END_STREAM on the last frame (an empty DATA
// frame when p is empty).
func (s *Stream) WriteEnd(p []byte) (int, error) {
	return s.write(p, true)
}

func (s *Stream) write(p []byte, end bool) (int, error) {
	written := 0
	for {
		s.c.mu.Lock()
		var n int64
		for {
			if err := s.writableLocked(); err != nil {
				s.c.mu.Unlock()
				return written, err
			}
			n = min(int64(len(p)-written), s.sendWindow, s.c.sendWindow, int64(s.c.settings.MaxFrameSize))
			if n > 0 || written == len(p) {
				break
			}
			if !s.waitLocked(s.wdl) {
				s.c.mu.Unlock()
				return written, os.ErrDeadlineExceeded
			}
		}
		s.sendWindow -= n
		s.c.sendWindow -= n
		last := written+int(n) == len(p)
		if last && end {
			s.sentEnd = true
		}
		s.c.mu.Unlock()
		chunk := p[written : written+int(n)]
		err := s.c.writeFrame(func() error { return s.c.fr.WriteData(s.id, last && end, chunk) }, "DATA stream %d, %d octets%s", s.id, n, endFlag(last && end))
		written += int(n)
		if err != nil || last {
			return written, err
		}
	}
}

// writableLocked says why nothing more can be sent on the stream; c.mu is
// held.
func (s *Stream) writableLocked() error {
	switch {
	case s.sentEnd:
		return fmt.Errorf("HTTP/2 stream %d: the harness already sent END_STREAM", s.id)
	case s.sentReset:
		return net.ErrClosed
	case s.reset != nil:
		return s.reset
	case s.goneAway != nil:
		return s.goneAway
	}
	return s.c.err
}

func endFlag(end bool) string {
	if end {
		return ", END_STREAM"
	}
	return ""
}

func (s *Stream) markSentEnd() {
	s.c.mu.Lock()
	s.sentEnd = true
	s.c.mu.Unlock()
}

// CloseWrite ends the harness's side of the stream with an empty DATA
// frame carrying END_STREAM: the HTTP/2 form of a TCP FIN (RFC 8441 §5).
func (s *Stream) CloseWrite() error {
	_, err := s.WriteEnd(nil)
	return err
}

// Reset sends RST_STREAM with code; reads and writes then fail with
// net.ErrClosed.
func (s *Stream) Reset(code http2.ErrCode) error {
	s.c.mu.Lock()
	already := s.sentReset
	s.sentReset = true
	s.c.cond.Broadcast()
	s.c.mu.Unlock()
	if already {
		return nil
	}
	err := s.c.writeFrame(func() error { return s.c.fr.WriteRSTStream(s.id, code) }, "RST_STREAM stream %d %v", s.id, code)
	s.c.forget(s)
	return err
}

// Ended reports whether both sides have ended the stream, or either
// reset it.
func (s *Stream) Ended() bool {
	s.c.mu.Lock()
	defer s.c.mu.Unlock()
	return (s.sentEnd && s.recvEnded) || s.sentReset || s.reset != nil
}

// Close resets the stream with CANCEL unless both sides have ended it
// (RFC 8441 §5: the HTTP/2 form of dropping TCP), and forgets it.
func (s *Stream) Close() error {
	if s.Ended() {
		s.c.forget(s)
		return nil
	}
	if err := s.Reset(http2.ErrCodeCancel); err != nil && !errors.Is(err, net.ErrClosed) {
		return err
	}
	return nil
}

func (s *Stream) LocalAddr() net.Addr  { return s.c.nc.LocalAddr() }
func (s *Stream) RemoteAddr() net.Addr { return s.c.nc.RemoteAddr() }

func (s *Stream) SetDeadline(t time.Time) error      { return s.setDeadlines(t, true, true) }
func (s *Stream) SetReadDeadline(t time.Time) error  { return s.setDeadlines(t, true, false) }
func (s *Stream) SetWriteDeadline(t time.Time) error { return s.setDeadlines(t, false, true) }

// setDeadlines sets the read and/or write deadline and wakes the waiters,
// which then see it.
func (s *Stream) setDeadlines(t time.Time, read, write bool) error {
	s.c.mu.Lock()
	defer s.c.mu.Unlock()
	if read {
		s.rdl = t
	}
	if write {
		s.wdl = t
	}
	s.c.cond.Broadcast()
	return nil
}
