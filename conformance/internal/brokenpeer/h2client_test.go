package brokenpeer

import (
	"bytes"
	"errors"
	"io"
	"net"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/wsharness/wsharness/wire"
	"golang.org/x/net/http2"
	"golang.org/x/net/http2/hpack"
)

// The frame-level HTTP/2 client of the H2Server tests: it sends what no
// client library would (malformed requests, resets, GOAWAY at any point)
// and shows every frame the server sends.

// h2Wait bounds a wait for a frame that should come; h2Quiet is how long
// a frame that should not come is waited for.
const (
	h2Wait  = 5 * time.Second
	h2Quiet = 400 * time.Millisecond
)

// h2Event is one frame the server sent, copied out of the Framer, or the
// end of the connection (err).
type h2Event struct {
	typ       http2.FrameType
	stream    uint32
	endStream bool
	data      []byte
	fields    []hpack.HeaderField
	code      http2.ErrCode
	settings  map[http2.SettingID]uint32
	increment uint32
	err       error
}

func (e h2Event) field(name string) (string, bool) {
	for _, f := range e.fields {
		if f.Name == name {
			return f.Value, true
		}
	}
	return "", false
}

type h2Client struct {
	t  testing.TB
	nc net.Conn
	fr *http2.Framer

	wmu  sync.Mutex
	enc  *hpack.Encoder
	hbuf bytes.Buffer

	events chan h2Event
	// autoWindow: give back the window of every DATA frame at once.
	autoWindow atomic.Bool
	// settings is the server's first SETTINGS.
	settings map[http2.SettingID]uint32
	nextID   uint32
	// ws holds each stream's RFC 6455 bytes not decoded yet.
	ws map[uint32][]byte

	// The server's windows for what the client sends: the connection's
	// (key 0) and each stream's, guarded by fmu.
	fmu     sync.Mutex
	fcond   *sync.Cond
	windows map[uint32]int64
}

// dialH2 connects to s with prior knowledge, sends the preface with
// settings and waits for the server's SETTINGS.
func dialH2(t testing.TB, s *H2Server, settings ...http2.Setting) *h2Client {
	t.Helper()
	nc, err := net.DialTimeout("tcp", s.Addr(), h2Wait)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = nc.Close() })
	_ = nc.SetDeadline(time.Now().Add(time.Minute)) // no test hangs
	c := &h2Client{t: t, nc: nc, fr: http2.NewFramer(nc, nc), events: make(chan h2Event, 4096), nextID: 1, ws: map[uint32][]byte{}}
	c.enc = hpack.NewEncoder(&c.hbuf)
	c.windows = map[uint32]int64{0: 65535}
	c.fcond = sync.NewCond(&c.fmu)
	c.fr.ReadMetaHeaders = hpack.NewDecoder(4096, nil)
	c.autoWindow.Store(true)
	if _, err := io.WriteString(nc, http2.ClientPreface); err != nil {
		t.Fatal(err)
	}
	c.write(func(fr *http2.Framer) error { return fr.WriteSettings(settings...) })
	go c.readLoop()
	ev := c.next(h2Wait)
	if ev.typ != http2.FrameSettings || ev.err != nil {
		t.Fatalf("the server's first frame is %v (%v), not SETTINGS", ev.typ, ev.err)
	}
	c.settings = ev.settings
	return c
}

func (c *h2Client) write(fn func(fr *http2.Framer) error) {
	c.t.Helper()
	c.wmu.Lock()
	defer c.wmu.Unlock()
	if err := fn(c.fr); err != nil {
		c.t.Fatalf("client write: %v", err)
	}
}

// readLoop turns frames into events, acknowledging SETTINGS and PING and,
// with autoWindow, giving back every DATA frame's window.
func (c *h2Client) readLoop() {
	defer close(c.events)
	for {
		f, err := c.fr.ReadFrame()
		if err != nil {
			var se http2.StreamError
			if errors.As(err, &se) {
				c.events <- h2Event{typ: http2.FrameHeaders, stream: se.StreamID, err: err}
				continue
			}
			c.events <- h2Event{err: err}
			return
		}
		ev := h2Event{typ: f.Header().Type, stream: f.Header().StreamID}
		switch f := f.(type) {
		case *http2.SettingsFrame:
			if f.IsAck() {
				continue
			}
			ev.settings = map[http2.SettingID]uint32{}
			_ = f.ForeachSetting(func(s http2.Setting) error { ev.settings[s.ID] = s.Val; return nil })
			c.wmu.Lock()
			_ = c.fr.WriteSettingsAck()
			c.wmu.Unlock()
		case *http2.PingFrame:
			if !f.IsAck() {
				c.wmu.Lock()
				_ = c.fr.WritePing(true, f.Data)
				c.wmu.Unlock()
			}
		case *http2.MetaHeadersFrame:
			ev.endStream = f.StreamEnded()
			ev.fields = append([]hpack.HeaderField(nil), f.Fields...)
		case *http2.DataFrame:
			ev.endStream = f.StreamEnded()
			ev.data = append([]byte(nil), f.Data()...)
			if n := f.Length; n > 0 && c.autoWindow.Load() {
				c.wmu.Lock()
				_ = c.fr.WriteWindowUpdate(0, n)
				_ = c.fr.WriteWindowUpdate(f.StreamID, n)
				c.wmu.Unlock()
			}
		case *http2.RSTStreamFrame:
			ev.code = f.ErrCode
		case *http2.GoAwayFrame:
			ev.code = f.ErrCode
		case *http2.WindowUpdateFrame:
			ev.increment = f.Increment
			c.fmu.Lock()
			c.windows[f.StreamID] += int64(f.Increment)
			c.fcond.Broadcast()
			c.fmu.Unlock()
		}
		c.events <- ev
	}
}

// next returns the server's next frame; on timeout, an event with typ 0xFF
// and no error.
func (c *h2Client) next(wait time.Duration) h2Event {
	select {
	case ev, ok := <-c.events:
		if !ok {
			return h2Event{err: io.EOF}
		}
		return ev
	case <-time.After(wait):
		return h2Event{typ: 0xFF}
	}
}

func timedOut(ev h2Event) bool { return ev.typ == 0xFF && ev.err == nil }

// wsRequest is a correct extended CONNECT for the server's /echo.
func (c *h2Client) wsRequest() []hpack.HeaderField {
	return []hpack.HeaderField{
		{Name: ":method", Value: "CONNECT"},
		{Name: ":protocol", Value: "websocket"},
		{Name: ":scheme", Value: "http"},
		{Name: ":path", Value: "/echo"},
		{Name: ":authority", Value: c.nc.RemoteAddr().String()},
		{Name: "sec-websocket-version", Value: "13"},
	}
}

// without drops the fields named name; with appends one.
func without(fields []hpack.HeaderField, name string) []hpack.HeaderField {
	var out []hpack.HeaderField
	for _, f := range fields {
		if f.Name != name {
			out = append(out, f)
		}
	}
	return out
}

func with(fields []hpack.HeaderField, name, value string) []hpack.HeaderField {
	return append(append([]hpack.HeaderField(nil), fields...), hpack.HeaderField{Name: name, Value: value})
}

func set(fields []hpack.HeaderField, name, value string) []hpack.HeaderField {
	out := append([]hpack.HeaderField(nil), fields...)
	for i := range out {
		if out[i].Name == name {
			out[i].Value = value
		}
	}
	return out
}

// open sends a request on a new stream and returns its ID.
func (c *h2Client) open(fields []hpack.HeaderField) uint32 {
	c.t.Helper()
	id := c.nextID
	c.nextID += 2
	c.fmu.Lock()
	c.windows[id] += 65535 // the server keeps the default initial window
	c.fmu.Unlock()
	c.write(func(fr *http2.Framer) error {
		c.hbuf.Reset()
		for _, f := range fields {
			if err := c.enc.WriteField(f); err != nil {
				return err
			}
		}
		return fr.WriteHeaders(http2.HeadersFrameParam{StreamID: id, BlockFragment: c.hbuf.Bytes(), EndHeaders: true})
	})
	return id
}

// response waits for the HEADERS (or the RST_STREAM) that answers stream id.
func (c *h2Client) response(id uint32) h2Event {
	c.t.Helper()
	deadline := time.Now().Add(h2Wait)
	for time.Now().Before(deadline) {
		ev := c.next(time.Until(deadline))
		switch {
		case ev.err != nil && ev.stream == 0 || timedOut(ev):
			c.t.Fatalf("stream %d: no answer: %v", id, ev.err)
		case ev.stream == id && (ev.typ == http2.FrameHeaders || ev.typ == http2.FrameRSTStream):
			return ev
		}
	}
	c.t.Fatalf("stream %d: no answer", id)
	return h2Event{}
}

// openWS opens a WebSocket stream and checks its 200.
func (c *h2Client) openWS() uint32 {
	c.t.Helper()
	id := c.open(c.wsRequest())
	if ev := c.response(id); ev.typ != http2.FrameHeaders || status(ev) != "200" {
		c.t.Fatalf("stream %d: extended CONNECT answered %v %v (%v)", id, ev.typ, ev.fields, ev.code)
	}
	return id
}

func status(ev h2Event) string {
	v, _ := ev.field(":status")
	return v
}

// sendWS sends RFC 6455 frames as the client in one DATA frame per
// frame, split to the default SETTINGS_MAX_FRAME_SIZE.
func (c *h2Client) sendWS(id uint32, frames ...wire.Frame) {
	c.t.Helper()
	for _, f := range frames {
		c.sendData(id, f.Encode(wire.Client, nil), false)
	}
}

func (c *h2Client) sendData(id uint32, b []byte, end bool) {
	c.t.Helper()
	for first := true; first || len(b) > 0; first = false {
		n := c.window(id, min(len(b), 16384))
		chunk := b[:n]
		b = b[n:]
		c.write(func(fr *http2.Framer) error { return fr.WriteData(id, end && len(b) == 0, chunk) })
	}
}

// window waits for room for up to n bytes in the server's windows for
// stream id and takes it.
func (c *h2Client) window(id uint32, n int) int {
	c.t.Helper()
	if n == 0 {
		return 0
	}
	timer := time.AfterFunc(h2Wait, func() { c.fmu.Lock(); c.fcond.Broadcast(); c.fmu.Unlock() })
	defer timer.Stop()
	deadline := time.Now().Add(h2Wait)
	c.fmu.Lock()
	defer c.fmu.Unlock()
	for c.windows[0] <= 0 || c.windows[id] <= 0 {
		if time.Now().After(deadline) {
			c.t.Fatalf("stream %d: no window from the server", id)
		}
		c.fcond.Wait()
	}
	n = int(min(int64(n), c.windows[0], c.windows[id]))
	c.windows[0] -= int64(n)
	c.windows[id] -= int64(n)
	return n
}

// readWS returns the next RFC 6455 frame on stream id; it fails the test
// if none comes.
func (c *h2Client) readWS(id uint32) wire.Received {
	c.t.Helper()
	f, ok, end := c.tryReadWS(id, h2Wait)
	if !ok {
		c.t.Fatalf("stream %d: no WebSocket frame: %v code %v end %v err %v", id, end.typ, end.code, end.endStream, end.err)
	}
	return f
}

// tryReadWS waits up to wait for an RFC 6455 frame on stream id; it
// returns the stream's ending event (END_STREAM, RST_STREAM, GOAWAY, EOF)
// if that comes first.
func (c *h2Client) tryReadWS(id uint32, wait time.Duration) (wire.Received, bool, h2Event) {
	deadline := time.Now().Add(wait)
	for {
		if b := c.ws[id]; len(b) >= 2 {
			if n := wire.HeaderSize(b[1]); len(b) >= n {
				if h, err := wire.ParseHeader(b[:n]); err == nil && uint64(len(b)) >= uint64(n)+h.Length {
					r := wire.Received{Header: h, Payload: append([]byte(nil), b[n:n+int(h.Length)]...)}
					c.ws[id] = b[n+int(h.Length):]
					return r, true, h2Event{}
				}
			}
		}
		ev := c.next(time.Until(deadline))
		switch {
		case timedOut(ev):
			return wire.Received{}, false, ev
		case ev.err != nil && ev.stream == 0, ev.typ == http2.FrameGoAway:
			return wire.Received{}, false, ev
		case ev.stream != id:
		case ev.typ == http2.FrameRSTStream:
			return wire.Received{}, false, ev
		case ev.typ == http2.FrameData:
			c.ws[id] = append(c.ws[id], ev.data...)
			if ev.endStream && len(ev.data) == 0 {
				return wire.Received{}, false, ev
			}
		}
	}
}

// echo sends one text message on stream id and checks the echo.
func (c *h2Client) echo(id uint32, msg string) {
	c.t.Helper()
	c.sendWS(id, wire.Text(msg))
	r := c.readWS(id)
	if r.Opcode != wire.OpText || string(r.Payload) != msg {
		c.t.Fatalf("stream %d: echo of %q is %s %q", id, msg, wire.OpName(r.Opcode), r.Payload)
	}
}

// closeWS runs the closing handshake on stream id and returns the event
// that ends the server's side of the stream (timed out if none comes).
func (c *h2Client) closeWS(id uint32) h2Event {
	c.t.Helper()
	c.sendWS(id, wire.Close(1000, ""))
	r := c.readWS(id)
	if r.Opcode != wire.OpClose {
		c.t.Fatalf("stream %d: answer to Close is %s", id, wire.OpName(r.Opcode))
	}
	_, ok, end := c.tryReadWS(id, h2Quiet)
	if ok {
		c.t.Fatalf("stream %d: a frame after the Close", id)
	}
	return end
}

func fieldNames(fields []hpack.HeaderField) string {
	var b strings.Builder
	for _, f := range fields {
		b.WriteString(f.Name + "=" + f.Value + " ")
	}
	return b.String()
}
