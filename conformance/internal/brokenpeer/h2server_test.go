package brokenpeer

import (
	"bytes"
	"context"
	"errors"
	"io"
	"strconv"
	"strings"
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
	c := dialH2(t, s)
	ws := c.wsRequest()
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
		id := c.open(fields)
		if ev := c.response(id); ev.typ != http2.FrameRSTStream || ev.code != http2.ErrCodeProtocol {
			t.Errorf("%s: answered %v %s (code %v, err %v), want RST_STREAM PROTOCOL_ERROR", name, ev.typ, fieldNames(ev.fields), ev.code, ev.err)
		}
	}
	statuses := []struct {
		name   string
		fields []hpack.HeaderField
		status string
	}{
		{"other :protocol", set(ws, ":protocol", "chat"), "501"},
		{"version 8", set(ws, "sec-websocket-version", "8"), "400"},
		{"no version", without(ws, "sec-websocket-version"), "400"},
	}
	for _, tc := range statuses {
		id := c.open(tc.fields)
		ev := c.response(id)
		if ev.typ != http2.FrameHeaders || status(ev) != tc.status {
			t.Errorf("%s: answered %v %s, want %s", tc.name, ev.typ, fieldNames(ev.fields), tc.status)
		}
		if v, _ := ev.field("sec-websocket-version"); tc.status == "400" && v != "13" {
			t.Errorf("%s: the 400 lacks sec-websocket-version: 13 (%s)", tc.name, fieldNames(ev.fields))
		}
	}
	c.echo(c.openWS(), "still serving")
}

// The first subprotocol offered is selected when it is chat, and none
// otherwise.
func TestH2ServerSubprotocol(t *testing.T) {
	t.Parallel()
	s := StartH2ForTest(t, Defects{}, H2Defects{})
	c := dialH2(t, s)
	for offer, want := range map[string]string{"chat, superchat": "chat", "superchat, chat": ""} {
		ev := c.response(c.open(with(c.wsRequest(), "sec-websocket-protocol", offer)))
		if got, _ := ev.field("sec-websocket-protocol"); status(ev) != "200" || got != want {
			t.Errorf("offer %q: answered %s, want subprotocol %q", offer, fieldNames(ev.fields), want)
		}
	}
}

// The correct server negotiates permessage-deflate on a stream as it does
// over HTTP/1.1.
func TestH2ServerNegotiatesDeflate(t *testing.T) {
	t.Parallel()
	s := StartH2ForTest(t, Defects{}, H2Defects{})
	c := dialH2(t, s)
	ev := c.response(c.open(with(c.wsRequest(), "sec-websocket-extensions", "permessage-deflate")))
	if got, _ := ev.field("sec-websocket-extensions"); status(ev) != "200" || got != "permessage-deflate" {
		t.Fatalf("answered %s", fieldNames(ev.fields))
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
		c := dialH2(t, s)
		_, advertised := c.settings[http2.SettingEnableConnectProtocol]
		ev := c.response(c.open(c.wsRequest()))
		return !advertised && status(ev) == "200", "advertised " + yes(advertised) + ", answered " + status(ev)
	}},
	{"Status101", H2Defects{Status101: true}, func(t *testing.T, s *H2Server) (bool, string) {
		c := dialH2(t, s)
		ev := c.response(c.open(c.wsRequest()))
		return status(ev) == "101", "answered " + status(ev)
	}},
	{"StatusWithEndStream", H2Defects{StatusWithEndStream: true}, func(t *testing.T, s *H2Server) (bool, string) {
		c := dialH2(t, s)
		ev := c.response(c.open(c.wsRequest()))
		return ev.endStream, "END_STREAM " + yes(ev.endStream)
	}},
	{"ConnectionHeaders", H2Defects{ConnectionHeaders: true}, func(t *testing.T, s *H2Server) (bool, string) {
		c := dialH2(t, s)
		ev := c.response(c.open(c.wsRequest()))
		_, conn := ev.field("connection")
		_, up := ev.field("upgrade")
		return conn && up, fieldNames(ev.fields)
	}},
	{"AcceptsProtocolOnGet", H2Defects{AcceptsProtocolOnGet: true}, func(t *testing.T, s *H2Server) (bool, string) {
		return answers200(t, s, func(c *h2Client) []hpack.HeaderField { return set(c.wsRequest(), ":method", "GET") })
	}},
	{"AcceptsMissingPath", H2Defects{AcceptsMissingPath: true}, func(t *testing.T, s *H2Server) (bool, string) {
		return answers200(t, s, func(c *h2Client) []hpack.HeaderField { return without(c.wsRequest(), ":path") })
	}},
	{"AcceptsConnectionHeaders", H2Defects{AcceptsConnectionHeaders: true}, func(t *testing.T, s *H2Server) (bool, string) {
		return answers200(t, s, func(c *h2Client) []hpack.HeaderField {
			return with(with(c.wsRequest(), "connection", "upgrade"), "upgrade", "websocket")
		})
	}},
	{"IgnoresFlowControl", H2Defects{IgnoresFlowControl: true}, func(t *testing.T, s *H2Server) (bool, string) {
		// A 100-byte stream window and a 1,000-byte message: at most 100
		// bytes may come back until the client gives more.
		c := dialH2(t, s, http2.Setting{ID: http2.SettingInitialWindowSize, Val: 100})
		c.autoWindow.Store(false)
		id := c.openWS()
		c.sendWS(id, wire.Binary(make([]byte, 1000)))
		got := 0
		for {
			ev := c.next(h2Quiet)
			if timedOut(ev) || ev.err != nil {
				break
			}
			if ev.typ == http2.FrameData && ev.stream == id {
				got += len(ev.data)
			}
		}
		return got > 100, strconv.Itoa(got) + " bytes of DATA in a 100-byte window"
	}},
	{"NoWindowUpdate", H2Defects{NoWindowUpdate: true}, func(t *testing.T, s *H2Server) (bool, string) {
		// The whole initial window, as the start of a 100,000-byte message:
		// the server must give window back to let the rest come.
		c := dialH2(t, s)
		id := c.openWS()
		frame := wire.Binary(make([]byte, 100000)).Encode(wire.Client, nil)
		c.sendData(id, frame[:65535], false)
		for {
			ev := c.next(h2Quiet)
			switch {
			case timedOut(ev) || ev.err != nil:
				return true, "no WINDOW_UPDATE for the stream after 65,535 bytes"
			case ev.typ == http2.FrameWindowUpdate && ev.stream == id:
				return false, "WINDOW_UPDATE of " + strconv.Itoa(int(ev.increment))
			}
		}
	}},
	{"HeadOfLineBlocking", H2Defects{HeadOfLineBlocking: true}, func(t *testing.T, s *H2Server) (bool, string) {
		// Stream a's echo waits for window the client does not give; stream
		// b's small echo fits its own window and must still come.
		c := dialH2(t, s, http2.Setting{ID: http2.SettingInitialWindowSize, Val: 100})
		c.autoWindow.Store(false)
		a, b := c.openWS(), c.openWS()
		c.sendWS(a, wire.Binary(make([]byte, 1000)))
		time.Sleep(50 * time.Millisecond) // a's echo first
		c.sendWS(b, wire.Text("b"))
		_, ok, _ := c.tryReadWS(b, 2*h2Quiet)
		return !ok, "stream b's echo came: " + yes(ok)
	}},
	{"ResetKillsConnection", H2Defects{ResetKillsConnection: true}, func(t *testing.T, s *H2Server) (bool, string) {
		c := dialH2(t, s)
		a, b := c.openWS(), c.openWS()
		c.write(func(fr *http2.Framer) error { return fr.WriteRSTStream(a, http2.ErrCodeCancel) })
		c.sendWS(b, wire.Text("b"))
		r, ok, end := c.tryReadWS(b, h2Wait)
		return !ok, "stream b after a's reset: echo " + string(r.Payload) + ", end " + end.typ.String()
	}},
	{"ResetInsteadOfEndStream", H2Defects{ResetInsteadOfEndStream: true}, func(t *testing.T, s *H2Server) (bool, string) {
		c := dialH2(t, s)
		end := c.closeWS(c.openWS())
		return end.typ == http2.FrameRSTStream, "the stream ended with " + end.typ.String()
	}},
	{"NeverEndsStream", H2Defects{NeverEndsStream: true}, func(t *testing.T, s *H2Server) (bool, string) {
		c := dialH2(t, s)
		end := c.closeWS(c.openWS())
		return timedOut(end), "after the closing handshake: " + end.typ.String()
	}},
	{"GoAwayKillsStreams", H2Defects{GoAwayKillsStreams: true}, func(t *testing.T, s *H2Server) (bool, string) {
		c := dialH2(t, s)
		id := c.openWS()
		c.write(func(fr *http2.Framer) error { return fr.WriteGoAway(0, http2.ErrCodeNo, nil) })
		c.sendWS(id, wire.Text("after GOAWAY"))
		r, ok, end := c.tryReadWS(id, h2Wait)
		return !ok, "after the client's GOAWAY: echo " + string(r.Payload) + ", end " + end.typ.String()
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
// streams alone, and the reset stream is gone.
func TestH2ServerResetAndGoAwayLeaveOtherStreams(t *testing.T) {
	t.Parallel()
	s := StartH2ForTest(t, Defects{}, H2Defects{})
	c := dialH2(t, s)
	a, b := c.openWS(), c.openWS()
	c.sendWS(a, wire.Fragment(wire.Text("half a mess")))
	c.write(func(fr *http2.Framer) error { return fr.WriteRSTStream(a, http2.ErrCodeCancel) })
	c.echo(b, "b after a's reset")
	c.write(func(fr *http2.Framer) error { return fr.WriteGoAway(0, http2.ErrCodeNo, nil) })
	c.echo(b, "b after the GOAWAY")
	if end := c.closeWS(b); !end.endStream {
		t.Fatalf("b ended with %v", end.typ)
	}
}

// Every RFC 6455 knob still applies inside the stream.
func TestH2ServerRunsTheFrameLoopDefects(t *testing.T) {
	t.Parallel()
	s := StartH2ForTest(t, Defects{NoPong: true}, H2Defects{})
	c := dialH2(t, s)
	id := c.openWS()
	c.sendWS(id, wire.Ping([]byte("p")), wire.Text("after the ping"))
	if r := c.readWS(id); r.Opcode != wire.OpText {
		t.Fatalf("NoPong server answered the Ping with %s", wire.OpName(r.Opcode))
	}
}

func answers200(t *testing.T, s *H2Server, req func(*h2Client) []hpack.HeaderField) (bool, string) {
	c := dialH2(t, s)
	ev := c.response(c.open(req(c)))
	return status(ev) == "200", "answered " + ev.typ.String() + " " + status(ev) + " " + ev.code.String()
}

func yes(b bool) string {
	if b {
		return "yes"
	}
	return "no"
}

// Close sends GOAWAY on every connection and returns at once, streams in
// the middle of a message or of a write waiting for window included.
func TestH2ServerCloseIsBounded(t *testing.T) {
	t.Parallel()
	s, err := StartH2(Defects{}, H2Defects{})
	if err != nil {
		t.Fatal(err)
	}
	c := dialH2(t, s, http2.Setting{ID: http2.SettingInitialWindowSize, Val: 100})
	c.autoWindow.Store(false)
	a, b := c.openWS(), c.openWS()
	c.sendWS(a, wire.Fragment(wire.Text("half a mess")))
	c.sendWS(b, wire.Binary(make([]byte, 1000))) // its echo waits for window
	time.Sleep(50 * time.Millisecond)
	start := time.Now()
	s.Close()
	if d := time.Since(start); d > 2*time.Second {
		t.Errorf("Close took %v", d)
	}
	for {
		ev := c.next(h2Wait)
		if timedOut(ev) || ev.err != nil {
			t.Fatalf("no GOAWAY before the end: %v", ev.err)
		}
		if ev.typ == http2.FrameGoAway {
			break
		}
	}
}
