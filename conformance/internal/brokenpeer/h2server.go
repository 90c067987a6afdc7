package brokenpeer

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"net"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"golang.org/x/net/http2"
	"golang.org/x/net/http2/hpack"
)

// H2Defects lists the HTTP/2 rule violations (RFC 8441, RFC 9113) an
// H2Server commits. The zero value is a correct server; each knob breaks
// exactly one rule. The RFC 6455 rules inside the stream are the Defects'.
type H2Defects struct {
	// NoConnectSetting leaves SETTINGS_ENABLE_CONNECT_PROTOCOL out of the
	// server's SETTINGS yet answers extended CONNECT with 200: RFC 8441 §3
	// makes the setting the server's opt-in, and a client that sees none
	// MUST NOT send :protocol (the advertise-nothing, serve-anyway trap of
	// the other side).
	NoConnectSetting bool
	// Status101 answers the extended CONNECT with :status 101: RFC 9113
	// §8.6 removes 101 from HTTP/2, and RFC 8441 §5 asks for a 2xx.
	Status101 bool
	// StatusWithEndStream sets END_STREAM on the 200 HEADERS, ending the
	// server's half of the tunnel before it carried a byte: RFC 8441 §5
	// maps END_STREAM to the TCP FIN of RFC 6455.
	StatusWithEndStream bool
	// ConnectionHeaders adds connection: upgrade and upgrade: websocket to
	// the 200 response: connection-specific fields, which RFC 9113 §8.2.2
	// and RFC 8441 §5 forbid.
	ConnectionHeaders bool
	// AcceptsProtocolOnGet answers a GET that carries :protocol websocket
	// with 200 and serves it: RFC 8441 §4 defines :protocol for CONNECT
	// only, so the request is malformed (RFC 9113 §8.1.1, PROTOCOL_ERROR).
	AcceptsProtocolOnGet bool
	// AcceptsMissingPath answers an extended CONNECT without :path or
	// :scheme with 200: RFC 8441 §4 says they MUST be included, so the
	// request is malformed (RFC 9113 §8.1.1).
	AcceptsMissingPath bool
	// AcceptsConnectionHeaders answers a request that carries connection,
	// upgrade, keep-alive, proxy-connection or transfer-encoding with 200:
	// RFC 9113 §8.2.2 makes it malformed (and RFC 8441 §5 names Connection
	// and Upgrade).
	AcceptsConnectionHeaders bool
	// IgnoresFlowControl sends DATA past the client's stream and connection
	// windows: RFC 9113 §6.9.1, a sender MUST NOT.
	IgnoresFlowControl bool
	// NoWindowUpdate never sends WINDOW_UPDATE, so the client can never send
	// more than the initial 65,535 bytes (RFC 9113 §6.9.2): a larger message
	// never arrives.
	NoWindowUpdate bool
	// HeadOfLineBlocking serves the streams' writes one at a time: a stream
	// whose write waits for its window stalls every other stream, which the
	// per-stream flow control of RFC 9113 §5.2 exists to prevent.
	HeadOfLineBlocking bool
	// ResetKillsConnection answers a client's RST_STREAM with GOAWAY and
	// closes TCP: RST_STREAM ends one stream (RFC 9113 §6.4), a stream
	// error is not a connection error (§5.4.2).
	ResetKillsConnection bool
	// ResetInsteadOfEndStream ends the stream with RST_STREAM NO_ERROR after
	// the closing handshake instead of END_STREAM: RFC 8441 §5 maps the
	// orderly TCP close to END_STREAM and RST_STREAM to a reset.
	ResetInsteadOfEndStream bool
	// NeverEndsStream never sends END_STREAM after the closing handshake:
	// the stream stays open, the HTTP/2 form of a server that never closes
	// TCP (RFC 8441 §5, RFC 6455 §7.1.1).
	NeverEndsStream bool
	// GoAwayKillsStreams answers a client's GOAWAY by resetting every open
	// stream and closing the connection: a client's GOAWAY refuses only new
	// server-initiated streams (RFC 9113 §6.8), the open ones go on.
	GoAwayKillsStreams bool
}

// Limits and timers of the HTTP/2 server, on top of the RFC 6455 ones.
const (
	// h2MaxStreams is SETTINGS_MAX_CONCURRENT_STREAMS; more are refused.
	h2MaxStreams = 100
	// h2MaxHeaderList is SETTINGS_MAX_HEADER_LIST_SIZE; a larger request
	// is answered 431.
	h2MaxHeaderList = 16 << 10
	// h2MaxFrame is the SETTINGS_MAX_FRAME_SIZE the server keeps (the
	// default), and so the largest frame it reads.
	h2MaxFrame = 16 << 10
	// h2InitialWindow is the default initial window of both ends.
	h2InitialWindow = 65535
	// h2MaxWindow is the largest flow-control window (RFC 9113 §6.9.1).
	h2MaxWindow = 1<<31 - 1
	// h2ConnWindow is the connection receive window the server grants at
	// once, so that streams whose readers lag cannot starve the others of
	// connection window: each stream is bounded by its own window.
	h2ConnWindow = h2MaxStreams * h2InitialWindow
	// h2ConnIdleTimeout closes a connection that sends no frame for that
	// long; the streams' own idle timer (idleTimeout) is shorter.
	h2ConnIdleTimeout = 2 * idleTimeout
	// closeWriteTimeout bounds the writes in progress when the server
	// closes.
	closeWriteTimeout = time.Second
)

// H2Server is a running HTTP/2 cleartext (prior knowledge) echo server
// that bootstraps WebSockets with extended CONNECT (RFC 8441), then runs
// the RFC 6455 frame loop of Start on each stream.
type H2Server struct {
	d  Defects
	h  H2Defects
	ln net.Listener

	mu     sync.Mutex
	conns  map[*h2Conn]struct{}
	closed bool

	closeOnce sync.Once
	wg        sync.WaitGroup
}

// StartH2 listens on a free loopback port and serves HTTP/2 with prior
// knowledge until Close: d breaks the RFC 6455 rules inside each stream,
// h the HTTP/2 and RFC 8441 ones. Of d's handshake knobs, those with an
// HTTP/2 form apply (SelectUnofferedSubprotocol, SendsExtension,
// UpgradeAnyVersion, RejectVersionWithoutHeader, the permessage-deflate
// ones); those about Sec-WebSocket-Key, Upgrade and Connection have none.
func StartH2(d Defects, h H2Defects) (*H2Server, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, fmt.Errorf("brokenpeer: listen: %w", err)
	}
	s := &H2Server{d: d, h: h, ln: ln, conns: map[*h2Conn]struct{}{}}
	s.wg.Add(1)
	go s.acceptLoop()
	return s, nil
}

// StartH2ForTest starts an HTTP/2 server for the test t, which fails at
// once if it cannot listen, and closes it when t ends.
func StartH2ForTest(t testing.TB, d Defects, h H2Defects) *H2Server {
	t.Helper()
	s, err := StartH2(d, h)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(s.Close)
	return s
}

// URL returns the echo endpoint, ws+h2://127.0.0.1:port/echo.
func (s *H2Server) URL() string { return "ws+h2://" + s.ln.Addr().String() + "/echo" }

// Addr returns the listening address, host:port.
func (s *H2Server) Addr() string { return s.ln.Addr().String() }

// Close stops listening, sends GOAWAY on every connection, drops them and
// waits for their goroutines to end.
func (s *H2Server) Close() {
	s.closeOnce.Do(func() {
		s.mu.Lock()
		s.closed = true
		_ = s.ln.Close()
		conns := make([]*h2Conn, 0, len(s.conns))
		for c := range s.conns {
			conns = append(conns, c)
		}
		s.mu.Unlock()
		for _, c := range conns {
			// A write blocked on a client that does not read would hold
			// the GOAWAY back for a whole write timeout: cut it short.
			c.closing.Store(true)
			_ = c.nc.SetWriteDeadline(time.Now().Add(closeWriteTimeout))
			c.goAway(http2.ErrCodeNo)
		}
	})
	s.wg.Wait()
}

func (s *H2Server) acceptLoop() {
	defer s.wg.Done()
	acceptEach(s.ln, func(nc net.Conn) func() {
		c := newH2Conn(s, nc)
		s.mu.Lock()
		defer s.mu.Unlock()
		if s.closed {
			return nil
		}
		s.conns[c] = struct{}{}
		s.wg.Add(1)
		return c.serve
	})
}

// h2Conn is one HTTP/2 connection: a read loop (serve) that owns the
// Framer's reading side, and one goroutine per WebSocket stream.
type h2Conn struct {
	s  *H2Server
	nc net.Conn
	fr *http2.Framer

	// wmu serialises frame writes and guards the HPACK encoder.
	wmu  sync.Mutex
	henc *hpack.Encoder
	hbuf bytes.Buffer

	// closing: the server is closing, writes get closeWriteTimeout.
	closing atomic.Bool

	// holMu is held by a stream for its whole write under the
	// HeadOfLineBlocking defect.
	holMu sync.Mutex

	// mu guards what follows; cond is broadcast on every change a stream
	// may be waiting for (data, windows, ends, resets, deadlines).
	mu   sync.Mutex
	cond *sync.Cond
	// streams are the open WebSocket streams.
	streams map[uint32]*h2Stream
	// lastID is the highest stream ID the client has used.
	lastID uint32
	// sendWindow is the connection window the client granted; recvWindow
	// what the server granted and the client has not used yet.
	sendWindow, recvWindow int64
	// peerInitialWindow and peerMaxFrame are the client's settings.
	peerInitialWindow int64
	peerMaxFrame      uint32
	// dead: the connection is gone, every stream fails.
	dead bool

	closeOnce sync.Once
	// streamsWG counts the stream goroutines.
	streamsWG sync.WaitGroup
}

func newH2Conn(s *H2Server, nc net.Conn) *h2Conn {
	c := &h2Conn{
		s:                 s,
		nc:                nc,
		streams:           map[uint32]*h2Stream{},
		sendWindow:        h2InitialWindow,
		recvWindow:        h2InitialWindow,
		peerInitialWindow: h2InitialWindow,
		peerMaxFrame:      h2MaxFrame,
	}
	c.cond = sync.NewCond(&c.mu)
	c.henc = hpack.NewEncoder(&c.hbuf)
	c.fr = http2.NewFramer(nc, nc)
	c.fr.SetMaxReadFrameSize(h2MaxFrame)
	c.fr.MaxHeaderListSize = h2MaxHeaderList
	c.fr.ReadMetaHeaders = hpack.NewDecoder(4096, nil)
	return c
}

// errConnGone is what a stream's reads and writes return once the
// connection is closed.
var errConnGone = errors.New("brokenpeer: HTTP/2 connection closed")

// serve reads the preface and the frames until the connection ends, then
// waits for the streams' goroutines.
func (c *h2Conn) serve() {
	defer c.s.wg.Done()
	defer func() {
		c.close()
		c.streamsWG.Wait()
		c.s.mu.Lock()
		delete(c.s.conns, c)
		c.s.mu.Unlock()
	}()
	_ = c.nc.SetReadDeadline(time.Now().Add(handshakeTimeout))
	preface := make([]byte, len(http2.ClientPreface))
	if _, err := io.ReadFull(c.nc, preface); err != nil || string(preface) != http2.ClientPreface {
		return // not HTTP/2 with prior knowledge: nothing to answer in
	}
	settings := []http2.Setting{
		{ID: http2.SettingMaxConcurrentStreams, Val: h2MaxStreams},
		{ID: http2.SettingMaxHeaderListSize, Val: h2MaxHeaderList},
	}
	if !c.s.h.NoConnectSetting {
		settings = append(settings, http2.Setting{ID: http2.SettingEnableConnectProtocol, Val: 1})
	}
	err := c.write(func(fr *http2.Framer) error {
		if err := fr.WriteSettings(settings...); err != nil {
			return err
		}
		if c.s.h.NoWindowUpdate {
			return nil
		}
		return fr.WriteWindowUpdate(0, h2ConnWindow-h2InitialWindow)
	})
	if err != nil {
		return
	}
	if !c.s.h.NoWindowUpdate {
		c.mu.Lock()
		c.recvWindow = h2ConnWindow
		c.mu.Unlock()
	}
	for first := true; ; first = false {
		_ = c.nc.SetReadDeadline(time.Now().Add(h2ConnIdleTimeout))
		f, err := c.fr.ReadFrame()
		if err != nil {
			if !c.readError(err) {
				return
			}
			continue
		}
		if sf, ok := f.(*http2.SettingsFrame); first && (!ok || sf.IsAck()) {
			c.goAway(http2.ErrCodeProtocol) // §3.4: the preface ends with SETTINGS
			return
		}
		if err := c.frame(f); err != nil {
			var ce http2.ConnectionError
			if errors.As(err, &ce) {
				c.goAway(http2.ErrCode(ce))
			}
			return
		}
	}
}

// readError handles a ReadFrame error and reports whether the connection
// goes on: a stream error resets its stream, anything else ends it.
func (c *h2Conn) readError(err error) bool {
	var se http2.StreamError
	var ce http2.ConnectionError
	switch {
	case errors.As(err, &se):
		c.mu.Lock()
		if se.StreamID > c.lastID && se.StreamID%2 == 1 {
			c.lastID = se.StreamID // a malformed request still used its ID
		}
		st := c.streams[se.StreamID]
		c.mu.Unlock()
		if st != nil {
			st.resetBy(se.Code)
			return true
		}
		return c.reset(se.StreamID, se.Code) == nil
	case errors.As(err, &ce):
		c.goAway(http2.ErrCode(ce))
	case errors.Is(err, http2.ErrFrameTooLarge):
		c.goAway(http2.ErrCodeFrameSize)
	}
	return false
}

// frame handles one frame; an error ends the connection (with GOAWAY when
// it is a ConnectionError).
func (c *h2Conn) frame(f http2.Frame) error {
	switch f := f.(type) {
	case *http2.SettingsFrame:
		return c.settings(f)
	case *http2.MetaHeadersFrame:
		return c.headers(f)
	case *http2.DataFrame:
		return c.data(f)
	case *http2.WindowUpdateFrame:
		return c.windowUpdate(f)
	case *http2.RSTStreamFrame:
		return c.rstStream(f)
	case *http2.PingFrame:
		if f.IsAck() {
			return nil
		}
		return c.write(func(fr *http2.Framer) error { return fr.WritePing(true, f.Data) })
	case *http2.GoAwayFrame:
		return c.clientGoAway()
	case *http2.PushPromiseFrame:
		return http2.ConnectionError(http2.ErrCodeProtocol) // §8.4: clients cannot push
	}
	return nil // PRIORITY, PRIORITY_UPDATE and unknown frame types are ignored
}

// settings applies the client's SETTINGS and acknowledges them.
func (c *h2Conn) settings(f *http2.SettingsFrame) error {
	if f.IsAck() {
		return nil
	}
	err := f.ForeachSetting(func(s http2.Setting) error {
		if err := s.Valid(); err != nil {
			return err
		}
		switch s.ID {
		case http2.SettingInitialWindowSize:
			// §6.9.2: the change applies to every open stream's window.
			c.mu.Lock()
			delta := int64(s.Val) - c.peerInitialWindow
			c.peerInitialWindow = int64(s.Val)
			for _, st := range c.streams {
				st.sendWindow += delta
				if st.sendWindow > h2MaxWindow {
					c.mu.Unlock()
					return http2.ConnectionError(http2.ErrCodeFlowControl)
				}
			}
			c.cond.Broadcast()
			c.mu.Unlock()
		case http2.SettingMaxFrameSize:
			c.mu.Lock()
			c.peerMaxFrame = s.Val
			c.mu.Unlock()
		case http2.SettingHeaderTableSize:
			c.wmu.Lock()
			c.henc.SetMaxDynamicTableSizeLimit(s.Val)
			c.wmu.Unlock()
		}
		return nil
	})
	if err != nil {
		return err
	}
	return c.write(func(fr *http2.Framer) error { return fr.WriteSettingsAck() })
}

// data queues a DATA frame's payload on its stream.
func (c *h2Conn) data(f *http2.DataFrame) error {
	id, n := f.StreamID, int64(f.Length)
	c.mu.Lock()
	if n > c.recvWindow {
		c.mu.Unlock()
		return http2.ConnectionError(http2.ErrCodeFlowControl)
	}
	c.recvWindow -= n
	st := c.streams[id]
	if st == nil {
		idle := id > c.lastID
		c.mu.Unlock()
		if idle {
			return http2.ConnectionError(http2.ErrCodeProtocol) // §5.1: DATA on an idle stream
		}
		// A closed stream (§5.1: ignored after our RST_STREAM); its bytes
		// still count against the connection window, so give them back.
		return c.grant(0, n)
	}
	var code http2.ErrCode
	switch {
	case st.remoteEnded:
		code = http2.ErrCodeStreamClosed
	case n > st.recvWindow:
		code = http2.ErrCodeFlowControl
	}
	if code != 0 {
		c.mu.Unlock()
		st.resetBy(code)
		return c.grant(0, n)
	}
	st.recvWindow -= n
	st.buf = append(st.buf, f.Data()...)
	pad := n - int64(len(f.Data()))
	if f.StreamEnded() {
		st.remoteEnded = true
	}
	c.cond.Broadcast()
	c.mu.Unlock()
	if pad > 0 {
		// Padding is never read: its window comes back at once.
		c.mu.Lock()
		st.recvWindow += pad
		c.mu.Unlock()
		return c.grant(id, pad)
	}
	return nil
}

// grant gives n bytes of receive window back on the connection and, when
// id is not 0, on the stream id: the server's WINDOW_UPDATE as data is
// consumed (RFC 9113 §6.9). NoWindowUpdate sends none.
func (c *h2Conn) grant(id uint32, n int64) error {
	if n <= 0 || c.s.h.NoWindowUpdate {
		return nil
	}
	c.mu.Lock()
	c.recvWindow += n
	c.mu.Unlock()
	return c.write(func(fr *http2.Framer) error {
		if err := fr.WriteWindowUpdate(0, uint32(n)); err != nil {
			return err
		}
		if id == 0 {
			return nil
		}
		return fr.WriteWindowUpdate(id, uint32(n))
	})
}

// windowUpdate applies the client's WINDOW_UPDATE.
func (c *h2Conn) windowUpdate(f *http2.WindowUpdateFrame) error {
	c.mu.Lock()
	defer c.cond.Broadcast()
	if f.StreamID == 0 {
		c.sendWindow += int64(f.Increment)
		overflow := c.sendWindow > h2MaxWindow
		c.mu.Unlock()
		if overflow {
			return http2.ConnectionError(http2.ErrCodeFlowControl) // §6.9.1
		}
		return nil
	}
	st := c.streams[f.StreamID]
	idle := f.StreamID > c.lastID
	overflow := false
	if st != nil {
		st.sendWindow += int64(f.Increment)
		overflow = st.sendWindow > h2MaxWindow
	}
	c.mu.Unlock()
	switch {
	case st == nil && idle:
		return http2.ConnectionError(http2.ErrCodeProtocol) // §5.1: idle stream
	case overflow:
		st.resetBy(http2.ErrCodeFlowControl) // §6.9.1
	}
	return nil // on a closed stream, allowed for a while (§6.9)
}

// rstStream ends the stream the client reset, and only it.
func (c *h2Conn) rstStream(f *http2.RSTStreamFrame) error {
	c.mu.Lock()
	if f.StreamID > c.lastID {
		c.mu.Unlock()
		return http2.ConnectionError(http2.ErrCodeProtocol) // §6.4: RST_STREAM on an idle stream
	}
	if st := c.streams[f.StreamID]; st != nil {
		st.reset = true
		delete(c.streams, f.StreamID)
		c.cond.Broadcast()
	}
	c.mu.Unlock()
	if c.s.h.ResetKillsConnection {
		c.goAway(http2.ErrCodeNo)
		return errConnGone
	}
	return nil
}

// clientGoAway takes the client's GOAWAY: it refuses server-initiated
// streams, which this server never opens, so the open streams go on.
func (c *h2Conn) clientGoAway() error {
	if !c.s.h.GoAwayKillsStreams {
		return nil
	}
	c.mu.Lock()
	open := make([]*h2Stream, 0, len(c.streams))
	for _, st := range c.streams {
		open = append(open, st)
	}
	c.mu.Unlock()
	for _, st := range open {
		st.resetBy(http2.ErrCodeCancel)
	}
	c.goAway(http2.ErrCodeNo)
	return errConnGone
}

// write runs fn with the Framer's writing side, alone and within the
// write timeout; a failed write closes the connection.
func (c *h2Conn) write(fn func(*http2.Framer) error) error {
	c.wmu.Lock()
	defer c.wmu.Unlock()
	timeout := writeTimeout
	if c.closing.Load() {
		timeout = closeWriteTimeout
	}
	_ = c.nc.SetWriteDeadline(time.Now().Add(timeout))
	if err := fn(c.fr); err != nil {
		_ = c.nc.Close()
		return fmt.Errorf("brokenpeer: write an HTTP/2 frame: %w", err)
	}
	return nil
}

// writeHeaders sends a header block on stream id, as HEADERS and as many
// CONTINUATION frames as the client's SETTINGS_MAX_FRAME_SIZE needs.
func (c *h2Conn) writeHeaders(id uint32, endStream bool, fields []hpack.HeaderField) error {
	c.mu.Lock()
	maxFrame := int(c.peerMaxFrame)
	c.mu.Unlock()
	return c.write(func(fr *http2.Framer) error {
		c.hbuf.Reset()
		for _, f := range fields {
			if err := c.henc.WriteField(f); err != nil {
				return err
			}
		}
		block := c.hbuf.Bytes()
		first := block[:min(len(block), maxFrame)]
		rest := block[len(first):]
		err := fr.WriteHeaders(http2.HeadersFrameParam{
			StreamID: id, BlockFragment: first, EndStream: endStream, EndHeaders: len(rest) == 0,
		})
		for err == nil && len(rest) > 0 {
			frag := rest[:min(len(rest), maxFrame)]
			rest = rest[len(frag):]
			err = fr.WriteContinuation(id, len(rest) == 0, frag)
		}
		return err
	})
}

// reset sends RST_STREAM on stream id.
func (c *h2Conn) reset(id uint32, code http2.ErrCode) error {
	return c.write(func(fr *http2.Framer) error { return fr.WriteRSTStream(id, code) })
}

// goAway sends GOAWAY with the highest stream ID the server took and
// closes the connection.
func (c *h2Conn) goAway(code http2.ErrCode) {
	c.mu.Lock()
	last := c.lastID
	c.mu.Unlock()
	_ = c.write(func(fr *http2.Framer) error { return fr.WriteGoAway(last, code, nil) })
	c.close()
}

// close drops the connection and wakes every stream, which then fails.
func (c *h2Conn) close() {
	c.closeOnce.Do(func() {
		c.mu.Lock()
		c.dead = true
		c.cond.Broadcast()
		c.mu.Unlock()
		_ = c.nc.Close()
	})
}
