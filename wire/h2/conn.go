// Package h2 is the client end of an HTTP/2 connection as a WebSocket
// harness needs it (RFC 9113, RFC 8441): it reads the server's SETTINGS,
// opens streams with any header list (an extended CONNECT or a request no
// browser would send), carries bytes in DATA frames within the server's
// flow-control windows, and can end or reset a stream, or the connection,
// at any point. golang.org/x/net/http2's Framer and hpack do the encoding;
// what goes out and when is this package's.
//
// A Stream is a net.Conn, so the RFC 6455 frame layer runs on it as on
// TCP: a read returns io.EOF once the server sent END_STREAM (an orderly
// TCP close, RFC 8441 §5) and a *ResetError for RST_STREAM (a TCP reset).
package h2

import (
	"bufio"
	"bytes"
	"cmp"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net"
	"strings"
	"sync"
	"time"

	"golang.org/x/net/http2"
	"golang.org/x/net/http2/hpack"
)

// Protocol defaults of RFC 9113 §6.5.2, which hold until the server's
// SETTINGS say otherwise.
const (
	defaultWindow       = 65535
	defaultMaxFrameSize = 16384
)

// Client-side defaults: windows large enough that the harness never
// throttles a server (Chromium opens 6 MiB per stream and 15 MiB per
// connection), and bounds on what the server can make it hold.
const (
	DefaultStreamWindow     = 4 << 20
	DefaultConnectionWindow = 16 << 20
	maxHeaderListSize       = 256 << 10
)

// Dir says who sent a traced frame.
type Dir bool

const (
	Sent     Dir = true
	Received Dir = false
)

// Options configure Dial.
type Options struct {
	// StreamWindow is the receive window the harness gives each stream
	// (SETTINGS_INITIAL_WINDOW_SIZE); 0 = DefaultStreamWindow.
	StreamWindow uint32
	// ConnectionWindow is the connection's receive window; 0 =
	// DefaultConnectionWindow. Less than 65,535 is not possible.
	ConnectionWindow uint32
	// Hold, when set, keeps the harness from returning flow-control
	// credit: the server's DATA fills the windows and stops, as at a
	// reader that has stopped reading.
	Hold bool
	// Trace receives every frame sent and received, described.
	Trace func(d Dir, text string)
	// Timeout bounds reading the server's preface and every frame write;
	// 0 = 10 s.
	Timeout time.Duration
}

// Settings are the server's SETTINGS as last received.
type Settings struct {
	// Received is false until the server's first SETTINGS frame.
	Received              bool
	EnableConnectProtocol bool
	InitialWindowSize     uint32
	MaxFrameSize          uint32
	MaxConcurrentStreams  *uint32
	// Raw lists every parameter as received, in order, unknown ones
	// included.
	Raw []http2.Setting
}

// Conn is the client end of one HTTP/2 connection.
type Conn struct {
	nc    net.Conn
	fr    *http2.Framer
	trace func(Dir, string)
	opts  Options

	// wmu serialises frame writes and the HPACK encoder's state.
	wmu  sync.Mutex
	hbuf bytes.Buffer
	henc *hpack.Encoder
	// hdec is the reader's HPACK decoder.
	hdec *hpack.Decoder

	mu   sync.Mutex
	cond *sync.Cond
	// settings is the server's; settingsSeen is closed on the first.
	settings     Settings
	settingsSeen chan struct{}
	// sendWindow is the connection's send window, which the server's
	// WINDOW_UPDATEs on stream 0 grow.
	sendWindow int64
	// recvWindow is what the server may still send on the connection;
	// unacked is what was read and not yet returned to it.
	recvWindow int64
	unacked    int64
	streams    map[uint32]*Stream
	nextID     uint32
	goAway     *http2.GoAwayFrame
	// violations are what the server got wrong at the HTTP/2 level.
	violations []string
	// pings are the PINGs awaiting their ACK, by payload.
	pings   map[[8]byte]chan struct{}
	pingSeq uint64
	// err ends the connection: the reader's error, or Close's.
	err  error
	done chan struct{}
}

// Dial opens an HTTP/2 connection on nc, a connected TCP (with prior
// knowledge, RFC 9113 §3.3) or TLS (ALPN h2) connection: it sends the
// client preface and SETTINGS, and waits for the server's SETTINGS. nc is
// closed when the server answers anything else.
func Dial(ctx context.Context, nc net.Conn, o Options) (*Conn, error) {
	o.StreamWindow = cmp.Or(o.StreamWindow, DefaultStreamWindow)
	o.Timeout = cmp.Or(o.Timeout, 10*time.Second)
	o.ConnectionWindow = max(cmp.Or(o.ConnectionWindow, DefaultConnectionWindow), defaultWindow)
	br := bufio.NewReaderSize(nc, 64<<10)
	c := &Conn{
		nc: nc, fr: http2.NewFramer(nc, br), trace: o.Trace, opts: o,
		settingsSeen: make(chan struct{}), sendWindow: defaultWindow, recvWindow: int64(o.ConnectionWindow),
		streams: map[uint32]*Stream{}, nextID: 1, done: make(chan struct{}),
		settings: Settings{InitialWindowSize: defaultWindow, MaxFrameSize: defaultMaxFrameSize},
	}
	c.cond = sync.NewCond(&c.mu)
	c.henc = hpack.NewEncoder(&c.hbuf)
	// The harness sends what it likes; the server's frames are read as
	// RFC 9113 frames, and whatever does not parse ends the connection.
	c.fr.AllowIllegalWrites = true
	// The harness announces no SETTINGS_MAX_FRAME_SIZE, so a larger frame
	// is the server's error (RFC 9113 §4.2), and garbage fails at once.
	c.fr.SetMaxReadFrameSize(defaultMaxFrameSize)
	c.fr.MaxHeaderListSize = maxHeaderListSize

	_ = nc.SetReadDeadline(time.Now().Add(o.Timeout))
	stop := context.AfterFunc(ctx, func() { _ = nc.SetReadDeadline(time.Now()) })
	defer stop()
	// The preface, SETTINGS and the connection's window go out in one
	// write, so that a server that answers in HTTP/1.1 and hangs up has
	// read them all and its answer can be read.
	var opening bytes.Buffer
	opening.WriteString(http2.ClientPreface)
	pre := http2.NewFramer(&opening, nil)
	settings := []http2.Setting{
		{ID: http2.SettingEnablePush, Val: 0},
		{ID: http2.SettingInitialWindowSize, Val: o.StreamWindow},
		{ID: http2.SettingMaxHeaderListSize, Val: maxHeaderListSize},
	}
	_ = pre.WriteSettings(settings...)
	grow := o.ConnectionWindow - defaultWindow
	if grow > 0 {
		_ = pre.WriteWindowUpdate(0, grow)
	}
	_ = nc.SetWriteDeadline(time.Now().Add(o.Timeout))
	_, werr := nc.Write(opening.Bytes())
	if head, err := br.Peek(9); err == nil && bytes.HasPrefix(head, []byte("HTTP/1.")) {
		line, _ := br.ReadString('\n')
		_ = nc.Close()
		return nil, fmt.Errorf("not an HTTP/2 server: it answered the preface in HTTP/1.1 (%q)", strings.TrimSpace(line))
	}
	if werr != nil {
		_ = nc.Close()
		return nil, fmt.Errorf("send the HTTP/2 preface: %w", werr)
	}
	c.tracef(Sent, "connection preface")
	c.tracef(Sent, "SETTINGS %s", describeSettings(settings))
	if grow > 0 {
		c.tracef(Sent, "WINDOW_UPDATE stream 0 +%d", grow)
	}
	f, err := c.fr.ReadFrame()
	if err != nil {
		_ = nc.Close()
		return nil, fmt.Errorf("read the server's SETTINGS: %w", err)
	}
	sf, ok := f.(*http2.SettingsFrame)
	if !ok || sf.IsAck() {
		_ = nc.Close()
		return nil, fmt.Errorf("not an HTTP/2 server preface: the first frame is %s, not SETTINGS (RFC 9113 §3.4)", describe(f))
	}
	_ = nc.SetReadDeadline(time.Time{})
	c.onSettings(sf)
	go c.readLoop()
	return c, nil
}

// Settings returns the server's settings as last received.
func (c *Conn) Settings() Settings {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.settings
}

// Violations returns what the server got wrong at the HTTP/2 level so far.
func (c *Conn) Violations() []string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]string(nil), c.violations...)
}

// GoAway returns the server's GOAWAY, nil when it sent none.
func (c *Conn) GoAway() *http2.GoAwayFrame {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.goAway
}

// Done is closed when the connection has ended; Err then says why.
func (c *Conn) Done() <-chan struct{} { return c.done }

// Err is why the connection ended; nil while it is open.
func (c *Conn) Err() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.err
}

// NetConn is the TCP (or TLS) connection under the HTTP/2 one.
func (c *Conn) NetConn() net.Conn { return c.nc }

// Ping sends a PING and waits for its ACK (RFC 9113 §6.7: the receiver
// MUST answer) until ctx ends.
func (c *Conn) Ping(ctx context.Context) error {
	ch := make(chan struct{})
	c.mu.Lock()
	c.pingSeq++
	var data [8]byte
	binary.BigEndian.PutUint64(data[:], c.pingSeq)
	if c.pings == nil {
		c.pings = map[[8]byte]chan struct{}{}
	}
	c.pings[data] = ch
	c.mu.Unlock()
	if err := c.writeFrame(func() error { return c.fr.WritePing(false, data) }, "PING %x", data); err != nil {
		return err
	}
	select {
	case <-ch:
		return nil
	case <-c.done:
		return c.Err()
	case <-ctx.Done():
		return fmt.Errorf("no PING ACK: %w", ctx.Err())
	}
}

// Close drops the connection (no GOAWAY: SendGoAway first for that).
func (c *Conn) Close() error {
	c.fail(net.ErrClosed)
	return c.nc.Close()
}

// SendGoAway sends GOAWAY with lastStreamID and code: the harness will
// open no more streams (RFC 9113 §6.8); the ones open go on.
func (c *Conn) SendGoAway(lastStreamID uint32, code http2.ErrCode) error {
	return c.writeFrame(func() error { return c.fr.WriteGoAway(lastStreamID, code, nil) }, "GOAWAY last stream %d %v", lastStreamID, code)
}

// WriteRaw sends any frame: type, flags, stream and payload as given.
func (c *Conn) WriteRaw(t http2.FrameType, flags http2.Flags, streamID uint32, payload []byte) error {
	return c.writeFrame(func() error { return c.fr.WriteRawFrame(t, flags, streamID, payload) }, "%v stream %d flags %v, %d octets (raw)", t, streamID, flags, len(payload))
}

// tracef traces a frame (or an event) when a tracer is set.
func (c *Conn) tracef(d Dir, format string, args ...any) {
	if c.trace != nil {
		c.trace(d, fmt.Sprintf(format, args...))
	}
}

// writeFrame writes one frame under the write lock and traces it.
func (c *Conn) writeFrame(write func() error, format string, args ...any) error {
	c.wmu.Lock()
	defer c.wmu.Unlock()
	if err := c.writeLocked(write); err != nil {
		return fmt.Errorf("write %s: %w", strings.Fields(format)[0], err)
	}
	c.tracef(Sent, format, args...)
	return nil
}

// writeLocked runs write (frames onto the connection) with c.wmu held. A
// server that stops reading must not hold the harness forever, and a
// frame written in part leaves the connection unusable, so any error ends
// it.
func (c *Conn) writeLocked(write func() error) error {
	if err := c.Err(); err != nil {
		return err
	}
	_ = c.nc.SetWriteDeadline(time.Now().Add(c.opts.Timeout))
	if err := write(); err != nil {
		c.fail(err)
		_ = c.nc.Close()
		return err
	}
	return nil
}

// maxViolations bounds what a connection records of a server that keeps
// getting things wrong.
const maxViolations = 32

// violation records what the server got wrong (up to maxViolations), and
// traces it.
func (c *Conn) violation(format string, args ...any) {
	v := fmt.Sprintf(format, args...)
	c.mu.Lock()
	if len(c.violations) < maxViolations {
		c.violations = append(c.violations, v)
	}
	c.mu.Unlock()
	c.tracef(Received, "violation: %s", v)
}

// fail ends the connection with err (the first error sticks) and wakes
// every waiter.
func (c *Conn) fail(err error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.err == nil {
		c.err = err
		close(c.done)
	}
	c.cond.Broadcast()
}

// readLoop reads the server's frames until the connection ends.
func (c *Conn) readLoop() {
	var block headerBlock
	for {
		f, err := c.fr.ReadFrame()
		if err != nil {
			if errors.Is(err, io.EOF) {
				c.tracef(Received, "TCP connection closed by the server")
			} else {
				c.tracef(Received, "connection ended: %v", err)
			}
			c.fail(fmt.Errorf("HTTP/2 connection: %w", err))
			_ = c.nc.Close()
			return
		}
		if c.trace != nil { // describing every frame costs a load run
			c.tracef(Received, "%s", describe(f))
		}
		if err := c.dispatch(f, &block); err != nil {
			c.fail(err)
			_ = c.nc.Close()
			return
		}
	}
}

// headerBlock accumulates a HEADERS frame and its CONTINUATIONs.
type headerBlock struct {
	stream    uint32
	endStream bool
	frag      []byte
}

// dispatch handles one frame; an error ends the connection.
func (c *Conn) dispatch(f http2.Frame, block *headerBlock) error {
	switch f := f.(type) {
	case *http2.SettingsFrame:
		if !f.IsAck() {
			c.onSettings(f)
		}
	case *http2.PingFrame:
		if !f.IsAck() {
			return c.writeFrame(func() error { return c.fr.WritePing(true, f.Data) }, "PING ACK")
		}
		c.mu.Lock()
		if ch, ok := c.pings[f.Data]; ok {
			delete(c.pings, f.Data)
			close(ch)
		}
		c.mu.Unlock()
	case *http2.WindowUpdateFrame:
		c.onWindowUpdate(f)
	case *http2.HeadersFrame:
		*block = headerBlock{stream: f.StreamID, endStream: f.StreamEnded(), frag: append([]byte(nil), f.HeaderBlockFragment()...)}
		if f.HeadersEnded() {
			return c.onHeaders(block)
		}
	case *http2.ContinuationFrame:
		block.frag = append(block.frag, f.HeaderBlockFragment()...)
		if len(block.frag) > maxHeaderListSize {
			return fmt.Errorf("the server's header block exceeds %d octets", maxHeaderListSize)
		}
		if f.HeadersEnded() {
			return c.onHeaders(block)
		}
	case *http2.DataFrame:
		return c.onData(f)
	case *http2.RSTStreamFrame:
		if s := c.stream(f.StreamID); s != nil {
			s.onReset(f.ErrCode)
		}
	case *http2.GoAwayFrame:
		c.onGoAway(f)
	case *http2.PushPromiseFrame:
		c.violation("PUSH_PROMISE on stream %d although the client's SETTINGS_ENABLE_PUSH is 0 (RFC 9113 §6.6, a connection error)", f.StreamID)
	}
	return nil
}

// onSettings applies the server's SETTINGS, checks them and acknowledges.
func (c *Conn) onSettings(f *http2.SettingsFrame) {
	var raw []http2.Setting
	_ = f.ForeachSetting(func(s http2.Setting) error { raw = append(raw, s); return nil })
	c.mu.Lock()
	first := !c.settings.Received
	c.settings.Received = true
	c.settings.Raw = append(c.settings.Raw[:0:0], raw...)
	for _, s := range raw {
		if err := s.Valid(); err != nil {
			c.violations = append(c.violations, fmt.Sprintf("SETTINGS %v = %d is out of range (RFC 9113 §6.5.2, RFC 8441 §3)", s.ID, s.Val))
			continue
		}
		switch s.ID {
		case http2.SettingEnableConnectProtocol:
			if c.settings.EnableConnectProtocol && s.Val == 0 {
				c.violations = append(c.violations, "SETTINGS_ENABLE_CONNECT_PROTOCOL went from 1 back to 0 (RFC 8441 §3: a sender MUST NOT)")
			}
			c.settings.EnableConnectProtocol = s.Val == 1
		case http2.SettingInitialWindowSize:
			// RFC 9113 §6.9.2: the change applies to every open stream.
			delta := int64(s.Val) - int64(c.settings.InitialWindowSize)
			for _, st := range c.streams {
				st.sendWindow += delta
			}
			c.settings.InitialWindowSize = s.Val
		case http2.SettingMaxFrameSize:
			c.settings.MaxFrameSize = s.Val
		case http2.SettingMaxConcurrentStreams:
			v := s.Val
			c.settings.MaxConcurrentStreams = &v
		}
	}
	c.cond.Broadcast()
	c.mu.Unlock()
	if first {
		close(c.settingsSeen)
	}
	_ = c.writeFrame(c.fr.WriteSettingsAck, "SETTINGS ACK")
}

func (c *Conn) onWindowUpdate(f *http2.WindowUpdateFrame) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if f.StreamID == 0 {
		c.sendWindow += int64(f.Increment)
	} else if s := c.streams[f.StreamID]; s != nil {
		s.sendWindow += int64(f.Increment)
	}
	c.cond.Broadcast()
}

func (c *Conn) onGoAway(f *http2.GoAwayFrame) {
	c.mu.Lock()
	c.goAway = f
	var gone []*Stream
	for id, s := range c.streams {
		if id > f.LastStreamID {
			gone = append(gone, s)
		}
	}
	c.cond.Broadcast()
	c.mu.Unlock()
	for _, s := range gone {
		s.onGoneAway(f)
	}
}

// onHeaders decodes a complete header block and hands it to its stream.
func (c *Conn) onHeaders(b *headerBlock) error {
	var fields []hpack.HeaderField
	dec := c.decoder()
	dec.SetEmitFunc(func(hf hpack.HeaderField) { fields = append(fields, hf) })
	if _, err := dec.Write(b.frag); err != nil {
		return fmt.Errorf("decode the server's header block on stream %d: %w (RFC 9113 §4.3, a connection error)", b.stream, err)
	}
	if err := dec.Close(); err != nil {
		return fmt.Errorf("decode the server's header block on stream %d: %w", b.stream, err)
	}
	c.tracef(Received, "  %s", describeFields(fields))
	if s := c.stream(b.stream); s != nil {
		s.onHeaders(fields, b.endStream)
	}
	return nil
}

// decoder is the connection's HPACK decoder, made on first use; only the
// reader uses it.
func (c *Conn) decoder() *hpack.Decoder {
	if c.hdec == nil {
		c.hdec = hpack.NewDecoder(4096, nil)
		c.hdec.SetMaxStringLength(maxHeaderListSize)
	}
	return c.hdec
}

// onData checks a DATA frame against the windows and queues its payload.
func (c *Conn) onData(f *http2.DataFrame) error {
	n := int64(f.Length) // padding counts against the window too
	c.mu.Lock()
	c.recvWindow -= n
	s := c.streams[f.StreamID]
	var past string
	switch {
	case c.recvWindow < 0:
		past = fmt.Sprintf("the server sent %d octets past the connection's flow-control window", -c.recvWindow)
	case s != nil:
		if s.recvWindow -= n; s.recvWindow < 0 {
			past = fmt.Sprintf("the server sent %d octets past stream %d's flow-control window", -s.recvWindow, s.id)
		}
	}
	c.mu.Unlock()
	if past != "" {
		// A connection error (RFC 9113 §6.9.1): what the server sends
		// past the window is never held, however much it sends.
		c.violation("%s (RFC 9113 §6.9.1: a sender MUST NOT; the harness ends the connection with FLOW_CONTROL_ERROR)", past)
		_ = c.SendGoAway(0, http2.ErrCodeFlowControl)
		return errors.New(past + ": FLOW_CONTROL_ERROR")
	}
	if s == nil {
		// A stream the harness reset or forgot: its credit goes back at
		// once, so the connection's window does not shrink for good.
		c.credit(nil, n)
		return nil
	}
	s.onData(f.Data(), n, f.StreamEnded())
	return nil
}

// credit returns n octets of flow-control credit for s (nil: the
// connection only) once enough has built up, unless Options.Hold.
func (c *Conn) credit(s *Stream, n int64) {
	if c.opts.Hold || n < 0 || (n == 0 && s == nil) {
		return
	}
	c.mu.Lock()
	c.unacked += n
	var connIncr, streamIncr int64
	if c.unacked >= int64(c.opts.ConnectionWindow)/4 {
		connIncr, c.unacked = c.unacked, 0
		c.recvWindow += connIncr
	}
	if s != nil {
		s.unacked += n
		if s.unacked >= int64(c.opts.StreamWindow)/4 && !s.held && !s.recvEnded && s.reset == nil {
			streamIncr, s.unacked = s.unacked, 0
			s.recvWindow += streamIncr
		}
	}
	c.mu.Unlock()
	if connIncr > 0 {
		_ = c.writeFrame(func() error { return c.fr.WriteWindowUpdate(0, uint32(connIncr)) }, "WINDOW_UPDATE stream 0 +%d", connIncr)
	}
	if streamIncr > 0 {
		_ = c.writeFrame(func() error { return c.fr.WriteWindowUpdate(s.id, uint32(streamIncr)) }, "WINDOW_UPDATE stream %d +%d", s.id, streamIncr)
	}
}

func (c *Conn) stream(id uint32) *Stream {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.streams[id]
}

// Open starts a stream with a HEADERS frame (and CONTINUATIONs when the
// block exceeds the server's frame size) carrying fields as given, in
// order, pseudo-headers and all; endStream sets END_STREAM on it.
func (c *Conn) Open(fields []hpack.HeaderField, endStream bool) (*Stream, error) {
	// The write lock is taken before the ID is drawn: streams opened
	// concurrently must reach the server in ID order (RFC 9113 §5.1.1),
	// or it fails the connection with PROTOCOL_ERROR.
	c.wmu.Lock()
	defer c.wmu.Unlock()
	c.mu.Lock()
	if c.err != nil {
		err := c.err
		c.mu.Unlock()
		return nil, err
	}
	id := c.nextID
	c.nextID += 2
	s := newStream(c, id)
	c.streams[id] = s
	maxFrame := int(c.settings.MaxFrameSize)
	c.mu.Unlock()

	c.hbuf.Reset()
	for _, f := range fields {
		if err := c.henc.WriteField(f); err != nil {
			return nil, fmt.Errorf("encode %s: %w", f.Name, err)
		}
	}
	block := c.hbuf.Bytes()
	err := c.writeLocked(func() error {
		first := block[:min(len(block), maxFrame)]
		rest := block[len(first):]
		err := c.fr.WriteHeaders(http2.HeadersFrameParam{StreamID: id, BlockFragment: first, EndStream: endStream, EndHeaders: len(rest) == 0})
		for err == nil && len(rest) > 0 {
			n := min(len(rest), maxFrame)
			err = c.fr.WriteContinuation(id, n == len(rest), rest[:n])
			rest = rest[n:]
		}
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("send HEADERS on stream %d: %w", id, err)
	}
	flags := ""
	if endStream {
		flags = " END_STREAM"
	}
	c.tracef(Sent, "HEADERS stream %d%s", id, flags)
	c.tracef(Sent, "  %s", describeFields(fields))
	if endStream {
		s.markSentEnd()
	}
	return s, nil
}

// forget drops s from the connection's streams.
func (c *Conn) forget(s *Stream) {
	c.mu.Lock()
	delete(c.streams, s.id)
	c.mu.Unlock()
}
