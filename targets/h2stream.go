package targets

import (
	"fmt"
	"io"
	"net"
	"net/http"
	"net/netip"
	"sync"
	"time"

	// Extended CONNECT is off in net/http unless GODEBUG says otherwise
	// before net/http initialises; the HTTP/2 targets need it on. See the
	// package for why that is safe for the HTTP/1.1 targets.
	_ "github.com/wsharness/wsharness/internal/xconnect"
)

// h2Stream is an extended CONNECT stream (RFC 8441) as a net.Conn, for
// WebSocket code written for one: it reads the request body (the client's
// DATA frames) and writes to the response, flushing every write into DATA
// frames at once.
//
// The stream ends when the handler returns: net/http then sends
// END_STREAM (and RST_STREAM NO_ERROR if the client's side is still
// open, RFC 9113 §8.1). So Close only stops the reads and writes and the
// handler returns; there is no CloseWrite, and closeGracefully's linger,
// which keeps TCP from answering unread bytes with RST, has no HTTP/2
// counterpart to do. No method may be called once the handler has
// returned: net/http forbids it. Every user of a stream is done by then
// (serve closes it; a broadcast member's writer is waited for).
type h2Stream struct {
	body   io.ReadCloser
	w      http.ResponseWriter
	rc     *http.ResponseController
	local  net.Addr
	remote net.Addr

	mu      sync.Mutex
	closed  bool
	writing int // writes under way
}

// acceptH2Stream answers an extended CONNECT request that has been checked
// with 200 (headers already set on w go with it) and returns the stream.
func acceptH2Stream(w http.ResponseWriter, r *http.Request) (*h2Stream, error) {
	rc := http.NewResponseController(w)
	// HTTP/2 is always full duplex; this states that reads and writes
	// interleave, and fails on a transport that cannot.
	if err := rc.EnableFullDuplex(); err != nil {
		return nil, fmt.Errorf("extended CONNECT: full duplex: %w", err)
	}
	w.WriteHeader(http.StatusOK)
	if err := rc.Flush(); err != nil {
		return nil, fmt.Errorf("extended CONNECT: send the 200 response: %w", err)
	}
	s := &h2Stream{body: r.Body, w: w, rc: rc}
	s.local, _ = r.Context().Value(http.LocalAddrContextKey).(net.Addr)
	if ap, err := netip.ParseAddrPort(r.RemoteAddr); err == nil {
		s.remote = net.TCPAddrFromAddrPort(ap)
	}
	return s, nil
}

// Read reads the client's DATA frames; io.EOF is the client's END_STREAM.
func (s *h2Stream) Read(p []byte) (int, error) { return s.body.Read(p) }

func (s *h2Stream) Write(p []byte) (int, error) {
	n, err := s.writeBuffers(net.Buffers{p})
	return int(n), err
}

// writeBuffers writes bufs and flushes once, so that a WebSocket frame's
// header and payload share a DATA frame where they fit (net.Buffers.WriteTo
// would flush each alone).
func (s *h2Stream) writeBuffers(bufs net.Buffers) (int64, error) {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return 0, net.ErrClosed
	}
	s.writing++
	s.mu.Unlock()
	defer func() {
		s.mu.Lock()
		s.writing--
		s.mu.Unlock()
	}()
	var n int64
	for _, b := range bufs {
		m, err := s.w.Write(b)
		n += int64(m)
		if err != nil {
			return n, fmt.Errorf("write to HTTP/2 stream: %w", err)
		}
	}
	if err := s.rc.Flush(); err != nil {
		return n, fmt.Errorf("flush HTTP/2 stream: %w", err)
	}
	return n, nil
}

// writeBuffers writes bufs to c: one writev on TCP, one flush on an HTTP/2
// stream.
func writeBuffers(c net.Conn, bufs net.Buffers) error {
	var err error
	if s, ok := c.(*h2Stream); ok {
		_, err = s.writeBuffers(bufs)
	} else {
		_, err = bufs.WriteTo(c)
	}
	return err
}

// Close stops the stream's reads and writes; the handler's return then
// ends the stream. A write blocked on flow control (a peer that does not
// read) returns only when the stream ends, so one under way is cut short
// by resetting the stream (RST_STREAM INTERNAL_ERROR, what net/http sends
// for an expired write deadline), as closing TCP ends a blocked write.
func (s *h2Stream) Close() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return nil
	}
	s.closed = true
	_ = s.body.Close() // a blocked Read returns
	if s.writing > 0 {
		_ = s.rc.SetWriteDeadline(time.Now().Add(-time.Second))
	}
	return nil
}

func (s *h2Stream) LocalAddr() net.Addr  { return s.local }
func (s *h2Stream) RemoteAddr() net.Addr { return s.remote }

func (s *h2Stream) SetDeadline(t time.Time) error {
	if err := s.SetReadDeadline(t); err != nil {
		return err
	}
	return s.SetWriteDeadline(t)
}

// SetReadDeadline: unlike TCP's, an HTTP/2 read deadline that expires
// ends the reading for good (net/http closes the body).
func (s *h2Stream) SetReadDeadline(t time.Time) error {
	return s.deadline(s.rc.SetReadDeadline, t)
}

// SetWriteDeadline: an HTTP/2 write deadline that expires resets the
// stream, whether or not a write is under way.
func (s *h2Stream) SetWriteDeadline(t time.Time) error {
	return s.deadline(s.rc.SetWriteDeadline, t)
}

func (s *h2Stream) deadline(set func(time.Time) error, t time.Time) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return net.ErrClosed
	}
	if err := set(t); err != nil {
		return fmt.Errorf("HTTP/2 stream deadline: %w", err)
	}
	return nil
}
