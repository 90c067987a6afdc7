package brokenpeer

import (
	"bytes"
	"cmp"
	"context"
	"errors"
	"fmt"
	"io"
	"net/url"
	"os"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/wsharness/wsharness/wire"
	"github.com/wsharness/wsharness/wire/h2"
	"github.com/wsharness/wsharness/wire/handshake"
	"golang.org/x/net/http2"
	"golang.org/x/net/http2/hpack"
)

// The correct server, through the harness's own HTTP/2 client: the
// setting, the 200 selecting chat, echoes larger than either end's window,
// and END_STREAM both ways after the closing handshake, with nothing
// the client finds wrong at the HTTP/2 level.
func TestH2ServerEchoesAndEndsWithEndStream(t *testing.T) {
	t.Parallel()
	s := StartH2ForTest(t, Defects{}, H2Defects{})
	ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
	defer cancel()
	log := wire.NewLog()
	c, hs, err := wire.Dial(ctx, s.URL(), wire.Options{
		Log:  log,
		Edit: func(r *handshake.Request) { r.Headers.Set("Sec-WebSocket-Protocol", "chat, superchat") },
		// A small stream window: the server's 320 KB echo must wait for
		// the client's WINDOW_UPDATEs.
		H2: wire.H2Options{Connection: h2.Options{StreamWindow: 1000}},
	})
	if err != nil {
		t.Fatalf("Dial %s: %v", s.URL(), err)
	}
	defer c.Close()
	hc := hs.Stream.Conn()
	if !hc.Settings().EnableConnectProtocol {
		t.Errorf("SETTINGS lack ENABLE_CONNECT_PROTOCOL=1: %v", hc.Settings().Raw)
	}
	if hs.Response.Status != 200 || hs.Response.Header.Get("Sec-WebSocket-Protocol") != "chat" {
		t.Errorf("answer %d %v, want 200 selecting chat", hs.Response.Status, hs.Response.Header)
	}
	for _, name := range []string{"Sec-WebSocket-Accept", "Connection", "Upgrade"} {
		if v := hs.Response.Header.Values(name); len(v) > 0 {
			t.Errorf("answer carries %s: %v", name, v)
		}
	}
	roundTrip := func(f wire.Frame, wantOp byte) {
		t.Helper()
		if err := c.WriteFrames(ctx, []wire.Frame{f}, wire.OneWrite); err != nil {
			t.Fatal(err)
		}
		r, err := c.ReadFrame(time.Now().Add(h2Wait))
		if err != nil || r.Opcode != wantOp || !bytes.Equal(r.Payload, f.Payload) {
			t.Fatalf("answer to %s of %d bytes: %s of %d bytes, %v", wire.OpName(f.Opcode), len(f.Payload), wire.OpName(r.Opcode), len(r.Payload), err)
		}
	}
	roundTrip(wire.Text("hello over HTTP/2"), wire.OpText)
	roundTrip(wire.Binary(bytes.Repeat([]byte("0123456789abcdef"), 20000)), wire.OpBinary)
	roundTrip(wire.Ping([]byte("p")), wire.OpPong)
	if err := c.WriteFrames(ctx, []wire.Frame{wire.Close(1000, "")}, wire.OneWrite); err != nil {
		t.Fatal(err)
	}
	if r, err := c.ReadFrame(time.Now().Add(h2Wait)); err != nil || r.Opcode != wire.OpClose {
		t.Fatalf("answer to Close: %s, %v", wire.OpName(r.Opcode), err)
	}
	if _, err := c.ReadFrame(time.Now().Add(h2Wait)); !errors.Is(err, io.EOF) {
		t.Fatalf("after the closing handshake: %v, want io.EOF (END_STREAM)", err)
	}
	if err := c.CloseWrite(); err != nil {
		t.Fatal(err)
	}
	time.Sleep(h2Quiet) // a RST_STREAM after both ends would come now
	for _, e := range log.Entries() {
		if strings.Contains(e.Note, "RST_STREAM") || strings.Contains(e.Note, "GOAWAY") {
			t.Errorf("wire log: %s", e.Note)
		}
	}
	if v := hc.Violations(); len(v) > 0 {
		t.Errorf("HTTP/2 violations: %v", v)
	}
	if err := hc.Err(); err != nil {
		t.Errorf("connection ended: %v", err)
	}
}

// Several streams on one connection of the harness's client: dropping one
// (RST_STREAM CANCEL) leaves the others going.
func TestH2ServerStreamsShareAConnection(t *testing.T) {
	t.Parallel()
	s := StartH2ForTest(t, Defects{}, H2Defects{})
	ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
	defer cancel()
	hc, err := wire.DialH2(ctx, s.URL(), wire.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer hc.Close()
	var conns []*wire.Conn
	for range 3 {
		c, _, err := wire.Dial(ctx, s.URL(), wire.Options{H2: wire.H2Options{Conn: hc}})
		if err != nil {
			t.Fatal(err)
		}
		conns = append(conns, c)
	}
	for i := len(conns) - 1; i >= 0; i-- {
		for _, c := range conns[:i+1] {
			msg := []byte{byte('a' + i)}
			if err := c.WriteFrames(ctx, []wire.Frame{wire.Binary(msg)}, wire.OneWrite); err != nil {
				t.Fatal(err)
			}
			if r, err := c.ReadFrame(time.Now().Add(h2Wait)); err != nil || !bytes.Equal(r.Payload, msg) {
				t.Fatalf("%d streams left: echo %q, %v", i+1, r.Payload, err)
			}
		}
		_ = conns[i].Close()
	}
	if err := hc.Err(); err != nil {
		t.Errorf("connection ended: %v", err)
	}
}

// The correct server refuses every malformed request with a stream error,
// answers the well-formed ones it cannot serve with a status, and the
// connection goes on.
func TestH2ServerRefusesMalformedRequests(t *testing.T) {
	t.Parallel()
	s := StartH2ForTest(t, Defects{}, H2Defects{})
	p := dialH2(t, s, h2.Options{})
	ws := wsRequest(s)
	resets := map[string][]hpack.HeaderField{
		"GET with :protocol":  set(ws, ":method", "GET"),
		"no :path":            without(ws, ":path"),
		"no :scheme":          without(ws, ":scheme"),
		"no :authority":       without(ws, ":authority"),
		"connection":          with(ws, "connection", "upgrade"),
		"upgrade":             with(ws, "upgrade", "websocket"),
		"keep-alive":          with(ws, "keep-alive", "timeout=5"),
		"proxy-connection":    with(ws, "proxy-connection", "keep-alive"),
		"transfer-encoding":   with(ws, "transfer-encoding", "chunked"),
		"uppercase name":      with(ws, "Sec-WebSocket-Protocol", "chat"),
		"te other than trail": with(ws, "te", "gzip"),
	}
	for name, fields := range resets {
		resp, err := p.request(fields)
		if re, ok := errors.AsType[*h2.ResetError](err); !ok || re.Code != http2.ErrCodeProtocol {
			t.Errorf("%s: answered %s, want RST_STREAM PROTOCOL_ERROR", name, answer(resp, err))
		}
	}
	statuses := []struct {
		name   string
		fields []hpack.HeaderField
		status int
	}{
		{"other :protocol", set(ws, ":protocol", "chat"), 501},
		{"version 8", set(ws, "sec-websocket-version", "8"), 400},
		{"no version", without(ws, "sec-websocket-version"), 400},
	}
	for _, tc := range statuses {
		resp, err := p.request(tc.fields)
		if err != nil || resp.Status != tc.status {
			t.Errorf("%s: answered %s, want %d", tc.name, answer(resp, err), tc.status)
			continue
		}
		if v := resp.Values("sec-websocket-version"); tc.status == 400 && (len(v) != 1 || v[0] != "13") {
			t.Errorf("%s: the 400 lacks sec-websocket-version: 13 (%s)", tc.name, answer(resp, err))
		}
	}
	p.echo(p.openWS(), "still serving")
}

// The first subprotocol offered is selected when it is chat, and none
// otherwise.
func TestH2ServerSubprotocol(t *testing.T) {
	t.Parallel()
	s := StartH2ForTest(t, Defects{}, H2Defects{})
	p := dialH2(t, s, h2.Options{})
	for offer, want := range map[string]string{"chat, superchat": "chat", "superchat, chat": ""} {
		resp, err := p.request(with(wsRequest(s), "sec-websocket-protocol", offer))
		if err != nil || resp.Status != 200 || strings.Join(resp.Values("sec-websocket-protocol"), ",") != want {
			t.Errorf("offer %q: answered %s, want subprotocol %q", offer, answer(resp, err), want)
		}
	}
}

// The correct server negotiates permessage-deflate on a stream as it does
// over HTTP/1.1.
func TestH2ServerNegotiatesDeflate(t *testing.T) {
	t.Parallel()
	s := StartH2ForTest(t, Defects{}, H2Defects{})
	p := dialH2(t, s, h2.Options{})
	resp, err := p.request(with(wsRequest(s), "sec-websocket-extensions", "permessage-deflate"))
	if err != nil || resp.Status != 200 || strings.Join(resp.Values("sec-websocket-extensions"), ",") != "permessage-deflate" {
		t.Fatalf("answered %s", answer(resp, err))
	}
}

// h2Knob is one H2Defects knob and what shows it: observe runs against a
// server and reports whether the defect showed.
type h2Knob struct {
	name    string
	h       H2Defects
	observe func(t *testing.T, s *H2Server) (bool, string)
}

var h2Knobs = []h2Knob{
	{"NoConnectSetting", H2Defects{NoConnectSetting: true}, func(t *testing.T, s *H2Server) (bool, string) {
		p := dialH2(t, s, h2.Options{})
		advertised := p.hc.Settings().EnableConnectProtocol
		resp, err := p.request(wsRequest(s))
		return !advertised && err == nil && resp.Status == 200, "advertised " + yes(advertised) + ", answered " + answer(resp, err)
	}},
	{"Status101", H2Defects{Status101: true}, func(t *testing.T, s *H2Server) (bool, string) {
		resp, err := dialH2(t, s, h2.Options{}).request(wsRequest(s))
		return err == nil && resp.Status == 101, "answered " + answer(resp, err)
	}},
	{"StatusWithEndStream", H2Defects{StatusWithEndStream: true}, func(t *testing.T, s *H2Server) (bool, string) {
		resp, err := dialH2(t, s, h2.Options{}).request(wsRequest(s))
		return err == nil && resp.EndStream, "answered " + answer(resp, err)
	}},
	{"ConnectionHeaders", H2Defects{ConnectionHeaders: true}, func(t *testing.T, s *H2Server) (bool, string) {
		resp, err := dialH2(t, s, h2.Options{}).request(wsRequest(s))
		return err == nil && len(resp.Values("connection")) > 0 && len(resp.Values("upgrade")) > 0, answer(resp, err)
	}},
	{"AcceptsProtocolOnGet", H2Defects{AcceptsProtocolOnGet: true}, func(t *testing.T, s *H2Server) (bool, string) {
		return answers200(t, s, set(wsRequest(s), ":method", "GET"))
	}},
	{"AcceptsMissingPath", H2Defects{AcceptsMissingPath: true}, func(t *testing.T, s *H2Server) (bool, string) {
		return answers200(t, s, without(wsRequest(s), ":path"))
	}},
	{"AcceptsConnectionHeaders", H2Defects{AcceptsConnectionHeaders: true}, func(t *testing.T, s *H2Server) (bool, string) {
		return answers200(t, s, with(with(wsRequest(s), "connection", "upgrade"), "upgrade", "websocket"))
	}},
	{"IgnoresFlowControl", H2Defects{IgnoresFlowControl: true}, func(t *testing.T, s *H2Server) (bool, string) {
		// A 100-byte stream window and a 1,000-byte message: at most 100
		// bytes may come back until the client gives more, which it holds.
		p := dialH2(t, s, h2.Options{StreamWindow: 100, Hold: true})
		ws := p.openWS()
		p.send(ws, wire.Binary(make([]byte, 1000)))
		p.await(func(string) bool { return false }, h2Quiet) // until the frames stop
		got := p.frames.dataOctets(ws.st.ID())
		return got > 100, strconv.Itoa(got) + " bytes of DATA in a 100-byte window; violations: " + strings.Join(p.hc.Violations(), "; ")
	}},
	{"NoWindowUpdate", H2Defects{NoWindowUpdate: true}, func(t *testing.T, s *H2Server) (bool, string) {
		// The whole initial window, as the start of a 100,000-byte message:
		// the server must give window back to let the rest come.
		p := dialH2(t, s, h2.Options{})
		ws := p.openWS()
		frame := wire.Binary(make([]byte, 100000)).Encode(wire.Client, nil)
		if err := ws.WriteRaw(t.Context(), frame[:65535], wire.OneWrite); err != nil {
			t.Fatalf("65,535 bytes in the initial window: %v", err)
		}
		id := ws.st.ID()
		if p.await(func(l string) bool { return onStream(l, "WINDOW_UPDATE", id) }, h2Quiet) {
			return false, "a WINDOW_UPDATE for the stream came"
		}
		return true, "no WINDOW_UPDATE for the stream after 65,535 bytes"
	}},
	{"HeadOfLineBlocking", H2Defects{HeadOfLineBlocking: true}, func(t *testing.T, s *H2Server) (bool, string) {
		// Stream a's echo waits for window the client does not give; stream
		// b's small echo fits its own window and must still come.
		p := dialH2(t, s, h2.Options{StreamWindow: 100, Hold: true})
		a, b := p.openWS(), p.openWS()
		p.send(a, wire.Binary(make([]byte, 1000)))
		time.Sleep(50 * time.Millisecond) // a's echo first
		err := p.tryEcho(b, "b", 2*h2Quiet)
		return err != nil, "stream b's echo: " + errText(err)
	}},
	{"ResetKillsConnection", H2Defects{ResetKillsConnection: true}, func(t *testing.T, s *H2Server) (bool, string) {
		p := dialH2(t, s, h2.Options{})
		a, b := p.openWS(), p.openWS()
		if err := a.st.Reset(http2.ErrCodeCancel); err != nil {
			t.Fatal(err)
		}
		err := p.tryEcho(b, "b", h2Wait)
		return err != nil, "stream b after a's reset: " + errText(err)
	}},
	{"ResetInsteadOfEndStream", H2Defects{ResetInsteadOfEndStream: true}, func(t *testing.T, s *H2Server) (bool, string) {
		p := dialH2(t, s, h2.Options{})
		end, err := p.closeWS(p.openWS())
		_, reset := errors.AsType[*h2.ResetError](err)
		return strings.HasPrefix(end, "RST_STREAM") && reset, "the stream ended with " + end + " (read: " + errText(err) + ")"
	}},
	{"NeverEndsStream", H2Defects{NeverEndsStream: true}, func(t *testing.T, s *H2Server) (bool, string) {
		p := dialH2(t, s, h2.Options{})
		end, err := p.closeWS(p.openWS())
		return end == "" && errors.Is(err, os.ErrDeadlineExceeded), "after the closing handshake: " + cmp.Or(end, "nothing") + " (read: " + errText(err) + ")"
	}},
	{"GoAwayKillsStreams", H2Defects{GoAwayKillsStreams: true}, func(t *testing.T, s *H2Server) (bool, string) {
		p := dialH2(t, s, h2.Options{})
		ws := p.openWS()
		if err := p.hc.SendGoAway(0, http2.ErrCodeNo); err != nil {
			t.Fatal(err)
		}
		err := p.tryEcho(ws, "after GOAWAY", h2Wait)
		return err != nil, "after the client's GOAWAY: " + errText(err)
	}},
}

// Each knob shows in what it names, and the correct server shows none.
func TestH2DefectsShow(t *testing.T) {
	t.Parallel()
	for _, k := range h2Knobs {
		t.Run(k.name, func(t *testing.T) {
			t.Parallel()
			if showed, why := k.observe(t, StartH2ForTest(t, Defects{}, H2Defects{})); showed {
				t.Errorf("the correct server shows it: %s", why)
			}
			if showed, why := k.observe(t, StartH2ForTest(t, Defects{}, k.h)); !showed {
				t.Errorf("the knob does not show: %s", why)
			}
		})
	}
}

// A stream reset by the client, or a GOAWAY from it, leaves the other
// streams alone, and the reset stream is gone; after the closing
// handshake the server ends the stream with END_STREAM, before any
// RST_STREAM.
func TestH2ServerResetAndGoAwayLeaveOtherStreams(t *testing.T) {
	t.Parallel()
	s := StartH2ForTest(t, Defects{}, H2Defects{})
	p := dialH2(t, s, h2.Options{})
	a, b := p.openWS(), p.openWS()
	p.send(a, wire.Fragment(wire.Text("half a mess")))
	if err := a.st.Reset(http2.ErrCodeCancel); err != nil {
		t.Fatal(err)
	}
	p.echo(b, "b after a's reset")
	if err := p.hc.SendGoAway(0, http2.ErrCodeNo); err != nil {
		t.Fatal(err)
	}
	p.echo(b, "b after the GOAWAY")
	if end, err := p.closeWS(b); !strings.HasSuffix(end, "END_STREAM") || !errors.Is(err, io.EOF) {
		t.Fatalf("b ended with %q (read: %v)", end, err)
	}
	if p.frames.count(func(l string) bool { return onStream(l, "RST_STREAM", a.st.ID()) }) > 0 {
		t.Errorf("the server reset stream a, which the client reset")
	}
	if err := p.hc.Err(); err != nil {
		t.Errorf("connection ended: %v", err)
	}
}

// Every RFC 6455 knob still applies inside the stream.
func TestH2ServerRunsTheFrameLoopDefects(t *testing.T) {
	t.Parallel()
	s := StartH2ForTest(t, Defects{NoPong: true}, H2Defects{})
	p := dialH2(t, s, h2.Options{})
	ws := p.openWS()
	p.send(ws, wire.Ping([]byte("p")), wire.Text("after the ping"))
	if r, err := ws.ReadFrame(time.Now().Add(h2Wait)); err != nil || r.Opcode != wire.OpText {
		t.Fatalf("NoPong server answered the Ping with %s (%v)", wire.OpName(r.Opcode), err)
	}
}

// Close sends GOAWAY on every connection and returns at once, streams in
// the middle of a message or of a write waiting for window included.
func TestH2ServerCloseIsBounded(t *testing.T) {
	t.Parallel()
	s, err := StartH2(Defects{}, H2Defects{})
	if err != nil {
		t.Fatal(err)
	}
	p := dialH2(t, s, h2.Options{StreamWindow: 100, Hold: true})
	a, b := p.openWS(), p.openWS()
	p.send(a, wire.Fragment(wire.Text("half a mess")))
	p.send(b, wire.Binary(make([]byte, 1000))) // its echo waits for window
	time.Sleep(50 * time.Millisecond)
	start := time.Now()
	s.Close()
	if d := time.Since(start); d > 2*time.Second {
		t.Errorf("Close took %v", d)
	}
	if !p.await(func(l string) bool { return strings.HasPrefix(l, "GOAWAY ") }, h2Wait) {
		t.Fatalf("no GOAWAY before the end: %v", p.hc.Err())
	}
}

func answers200(t *testing.T, s *H2Server, req []hpack.HeaderField) (bool, string) {
	resp, err := dialH2(t, s, h2.Options{}).request(req)
	return err == nil && resp.Status == 200, "answered " + answer(resp, err)
}

func yes(b bool) string {
	if b {
		return "yes"
	}
	return "no"
}

// The H2Server tests' client is the harness's own, wire/h2, which sends
// what no client library would (malformed requests, resets, GOAWAY at any
// point); its trace shows every frame the server sends, in order.

// h2Wait bounds a wait for a frame that should come; h2Quiet is how long
// a frame that should not come is waited for.
const (
	h2Wait  = 5 * time.Second
	h2Quiet = 400 * time.Millisecond
)

// h2Peer is one HTTP/2 connection to an H2Server and the frames received
// on it.
type h2Peer struct {
	t      *testing.T
	s      *H2Server
	hc     *h2.Conn
	frames *frameLog
}

// dialH2 connects to s with prior knowledge, o tuning the connection (its
// Trace is the peer's).
func dialH2(t *testing.T, s *H2Server, o h2.Options) *h2Peer {
	t.Helper()
	p := &h2Peer{t: t, s: s, frames: &frameLog{changed: make(chan struct{})}}
	o.Trace = p.frames.add
	hc, err := wire.DialH2(t.Context(), s.URL(), wire.Options{Timeout: h2Wait, H2: wire.H2Options{Connection: o}})
	if err != nil {
		t.Fatalf("HTTP/2 connection to %s: %v", s.URL(), err)
	}
	t.Cleanup(func() { _ = hc.Close() })
	p.hc = hc
	return p
}

// wsRequest is the extended CONNECT (RFC 8441 §4) wire.Dial sends for s's
// /echo, to be broken by with, without and set.
func wsRequest(s *H2Server) []hpack.HeaderField {
	u, err := url.Parse(s.URL())
	if err != nil {
		panic(err)
	}
	return handshake.ExtendedConnect(u, handshake.UpgradeRequest(u, ""))
}

// without drops the fields named name; with appends one; set changes the
// value of those named name.
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

// request sends fields on a new stream and returns the answer, or the
// server's RST_STREAM as an *h2.ResetError; anything else fails the test.
func (p *h2Peer) request(fields []hpack.HeaderField) (*h2.Response, error) {
	p.t.Helper()
	st, err := p.hc.Open(fields, false)
	if err != nil {
		p.t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(p.t.Context(), h2Wait)
	defer cancel()
	resp, err := st.Response(ctx)
	if _, reset := errors.AsType[*h2.ResetError](err); err != nil && !reset {
		p.t.Fatalf("stream %d: no answer: %v", st.ID(), err)
	}
	return resp, err
}

// answer describes what request returned.
func answer(resp *h2.Response, err error) string {
	if err != nil {
		return err.Error()
	}
	s := strconv.Itoa(resp.Status)
	if resp.EndStream {
		s += " END_STREAM"
	}
	return s + " " + strings.TrimSuffix(strings.ReplaceAll(h2.FieldsText(resp.Fields), "\r\n", "; "), "; ")
}

// wsStream is a WebSocket over one stream of a peer's connection.
type wsStream struct {
	*wire.Conn
	st *h2.Stream
}

// openWS opens a WebSocket stream with wire.Dial, which checks the 200.
func (p *h2Peer) openWS() wsStream {
	p.t.Helper()
	c, hs, err := wire.Dial(p.t.Context(), p.s.URL(), wire.Options{Timeout: h2Wait, H2: wire.H2Options{Conn: p.hc}})
	if err != nil {
		p.t.Fatalf("extended CONNECT: %v", err)
	}
	return wsStream{Conn: c, st: hs.Stream}
}

// send sends RFC 6455 frames as the client, one stream write per frame.
func (p *h2Peer) send(ws wsStream, frames ...wire.Frame) {
	p.t.Helper()
	if err := ws.WriteFrames(p.t.Context(), frames, wire.FrameWise); err != nil {
		p.t.Fatalf("stream %d: %v", ws.st.ID(), err)
	}
}

// tryEcho sends msg as a text message on ws and waits up to wait for its
// echo; the error says why none came.
func (p *h2Peer) tryEcho(ws wsStream, msg string, wait time.Duration) error {
	if err := ws.WriteFrames(p.t.Context(), []wire.Frame{wire.Text(msg)}, wire.OneWrite); err != nil {
		return err
	}
	r, err := ws.ReadFrame(time.Now().Add(wait))
	if err != nil {
		return err
	}
	if r.Opcode != wire.OpText || string(r.Payload) != msg {
		return fmt.Errorf("echo of %q is %s %q", msg, wire.OpName(r.Opcode), r.Payload)
	}
	return nil
}

// echo is tryEcho that fails the test.
func (p *h2Peer) echo(ws wsStream, msg string) {
	p.t.Helper()
	if err := p.tryEcho(ws, msg, h2Wait); err != nil {
		p.t.Fatalf("stream %d: %v", ws.st.ID(), err)
	}
}

// closeWS runs the closing handshake on ws and waits h2Quiet for the
// server's side of the stream to end. It returns the first frame that
// ended it ("DATA stream 1, 0 octets, END_STREAM", "RST_STREAM stream 1
// NO_ERROR"; "" when none came) and what the read after the Close got.
func (p *h2Peer) closeWS(ws wsStream) (string, error) {
	p.t.Helper()
	p.send(ws, wire.Close(1000, ""))
	if r, err := ws.ReadFrame(time.Now().Add(h2Wait)); err != nil || r.Opcode != wire.OpClose {
		p.t.Fatalf("stream %d: answer to Close is %s (%v)", ws.st.ID(), wire.OpName(r.Opcode), err)
	}
	r, err := ws.ReadFrame(time.Now().Add(h2Quiet))
	if err == nil {
		p.t.Fatalf("stream %d: a %s after the Close", ws.st.ID(), wire.OpName(r.Opcode))
	}
	id := ws.st.ID()
	end := p.frames.first(func(l string) bool {
		return onStream(l, "RST_STREAM", id) || (onStream(l, "DATA", id) || onStream(l, "HEADERS", id)) && strings.HasSuffix(l, "END_STREAM")
	})
	return end, err
}

// await waits for a received frame that match accepts, until no frame
// has come for quiet or the connection has ended.
func (p *h2Peer) await(match func(string) bool, quiet time.Duration) bool {
	for {
		if p.frames.first(match) != "" {
			return true
		}
		select {
		case <-p.frames.next():
		case <-p.hc.Done():
			return p.frames.first(match) != ""
		case <-time.After(quiet):
			return p.frames.first(match) != ""
		}
	}
}

func errText(err error) string {
	if err == nil {
		return "none"
	}
	return err.Error()
}

// frameLog records the trace lines of the frames received, in order.
type frameLog struct {
	mu    sync.Mutex
	lines []string
	// changed is closed, and replaced, when a line is added.
	changed chan struct{}
}

func (l *frameLog) add(d h2.Dir, text string) {
	if d != h2.Received {
		return
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	l.lines = append(l.lines, text)
	close(l.changed)
	l.changed = make(chan struct{})
}

func (l *frameLog) next() <-chan struct{} {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.changed
}

// first returns the first line match accepts, "" when none.
func (l *frameLog) first(match func(string) bool) string {
	l.mu.Lock()
	defer l.mu.Unlock()
	for _, line := range l.lines {
		if match(line) {
			return line
		}
	}
	return ""
}

func (l *frameLog) count(match func(string) bool) int {
	l.mu.Lock()
	defer l.mu.Unlock()
	n := 0
	for _, line := range l.lines {
		if match(line) {
			n++
		}
	}
	return n
}

// dataOctets sums the DATA received on stream id.
func (l *frameLog) dataOctets(id uint32) int {
	l.mu.Lock()
	defer l.mu.Unlock()
	total := 0
	for _, line := range l.lines {
		var sid uint32
		var n int
		if _, err := fmt.Sscanf(line, "DATA stream %d, %d octets", &sid, &n); err == nil && sid == id {
			total += n
		}
	}
	return total
}

// onStream reports whether a trace line is a frame of type typ on stream
// id ("RST_STREAM stream 3 CANCEL").
func onStream(line, typ string, id uint32) bool {
	rest, ok := strings.CutPrefix(line, typ+" stream "+strconv.FormatUint(uint64(id), 10))
	return ok && (rest == "" || rest[0] == ' ' || rest[0] == ',')
}
