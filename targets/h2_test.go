package targets_test

import (
	"bytes"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"strings"
	"testing"
	"time"

	"golang.org/x/net/http2/hpack"

	"github.com/wsharness/wsharness/internal/selfsigned"
	"github.com/wsharness/wsharness/targets"
	"github.com/wsharness/wsharness/wire"
	"github.com/wsharness/wsharness/wire/deflate"
	"github.com/wsharness/wsharness/wire/h2"
	"github.com/wsharness/wsharness/wire/handshake"
)

// h2Targets are the built-in targets served over HTTP/2 (h2c by Start).
func h2Targets(t *testing.T) []targets.Target {
	var out []targets.Target
	for _, tg := range plainBuiltin() {
		if strings.Contains(tg.Info().Name, "-h2") {
			out = append(out, tg)
		}
	}
	if len(out) == 0 {
		t.Fatal("no HTTP/2 target")
	}
	return out
}

// dialH2 opens a WebSocket over HTTP/2 to url, closed when the test ends.
func dialH2(t *testing.T, url string, o wire.Options) (*wire.Conn, *wire.Handshake) {
	t.Helper()
	o.Timeout = ioTimeout
	conn, hs, err := wire.Dial(context.Background(), url, o)
	if err != nil {
		t.Fatalf("dial %s: %v", url, err)
	}
	t.Cleanup(func() { conn.Close() })
	if conn.Transport() != wire.HTTP2 || hs.Response.Status != 200 {
		t.Fatalf("dial %s: %v, status %d; want HTTP/2, 200", url, conn.Transport(), hs.Response.Status)
	}
	return conn, hs
}

// roundTrip sends f and expects want back.
func roundTrip(t *testing.T, conn *wire.Conn, f wire.Frame, split wire.Split, want wire.Frame) {
	t.Helper()
	if err := conn.WriteFrames(context.Background(), []wire.Frame{f}, split); err != nil {
		t.Fatal(err)
	}
	got, err := conn.ReadFrame(time.Now().Add(ioTimeout))
	if err != nil {
		t.Fatalf("answer to %s: %v", wire.OpName(f.Opcode), err)
	}
	if got.Opcode != want.Opcode || !got.Fin || !bytes.Equal(got.Payload, want.Payload) {
		t.Fatalf("answer to %s: %s, %d bytes; want %s, %d bytes", wire.OpName(f.Opcode), wire.OpName(got.Opcode), len(got.Payload), wire.OpName(want.Opcode), len(want.Payload))
	}
}

// streamEnd says how the server's side of a stream ended, from the wire
// log: END_STREAM, RST_STREAM, or both.
func streamEnd(l *wire.Log) string {
	var how []string
	for _, e := range l.Entries() {
		if e.Dir == wire.Inbound && (strings.Contains(e.Note, "END_STREAM") || strings.Contains(e.Note, "RST_STREAM")) {
			how = append(how, strings.TrimPrefix(e.Note, "HTTP/2 "))
		}
	}
	return strings.Join(how, "; ")
}

// Each HTTP/2 target advertises SETTINGS_ENABLE_CONNECT_PROTOCOL, answers
// extended CONNECT with 200 and no Sec-WebSocket-Accept (wire.Dial checks
// RFC 8441 §5), echoes messages and control frames on the stream,
// whatever the DATA frames cut, and ends it with END_STREAM after the
// closing handshake.
func TestH2Echo(t *testing.T) {
	for _, target := range h2Targets(t) {
		t.Run(target.Info().Name, func(t *testing.T) {
			t.Parallel()
			url := start(t, target).URL(targets.EchoPath)
			if !strings.HasPrefix(url, "ws+h2://127.0.0.1:") {
				t.Fatalf("URL %s: want ws+h2://", url)
			}
			conn, hs := dialH2(t, url, wire.Options{})
			if !hs.Stream.Conn().Settings().EnableConnectProtocol {
				t.Fatalf("SETTINGS %v: want ENABLE_CONNECT_PROTOCOL 1", hs.Stream.Conn().Settings().Raw)
			}
			if v := hs.Response.Header.Values("sec-websocket-accept"); len(v) > 0 {
				t.Errorf("sec-websocket-accept %q in an HTTP/2 answer", v)
			}
			big := bytes.Repeat([]byte("0123456789abcdef"), 200000/16) // beyond the initial 64 KiB windows
			for _, f := range []wire.Frame{wire.Text("hello over h2"), wire.Binary(big), wire.Text("")} {
				roundTrip(t, conn, f, wire.OneWrite, f)
			}
			roundTrip(t, conn, wire.Ping([]byte("p")), wire.OneWrite, wire.Pong([]byte("p")))
			// Frames cut across DATA frames at odd bytes.
			frag := []wire.Frame{{Opcode: wire.OpText, Payload: []byte("frag")}, {Fin: true, Opcode: wire.OpContinuation, Payload: []byte("mented")}}
			if err := conn.WriteFrames(context.Background(), frag, wire.Split{Chop: 3}); err != nil {
				t.Fatal(err)
			}
			if got, err := conn.ReadFrame(time.Now().Add(ioTimeout)); err != nil || got.Opcode != wire.OpText || string(got.Payload) != "fragmented" {
				t.Fatalf("fragmented echo: %s %q, %v", wire.OpName(got.Opcode), got.Payload, err)
			}
			if err := conn.WriteFrames(context.Background(), []wire.Frame{wire.Close(1000, "bye")}, wire.OneWrite); err != nil {
				t.Fatal(err)
			}
			got, err := conn.ReadFrame(time.Now().Add(ioTimeout))
			if err != nil || got.Opcode != wire.OpClose || !bytes.HasPrefix(got.Payload, []byte{0x03, 0xe8}) {
				t.Fatalf("close reply: %s %x, %v; want Close 1000", wire.OpName(got.Opcode), got.Payload, err)
			}
			if _, err := conn.ReadFrame(time.Now().Add(ioTimeout)); !errors.Is(err, io.EOF) {
				t.Errorf("after the closing handshake: %v, want EOF (END_STREAM)", err)
			}
			t.Logf("the stream's end after the closing handshake, the client's side open: %s", streamEnd(conn.Log()))
		})
	}
}

// What the HTTP/2 targets refuse, and how: each answer names version 13.
func TestH2Refusals(t *testing.T) {
	target, err := targets.Lookup("gobwas-h2")
	if err != nil {
		t.Fatal(err)
	}
	url := start(t, target).URL(targets.EchoPath)
	ctx := context.Background()
	hc, err := wire.DialH2(ctx, url, wire.Options{Timeout: ioTimeout})
	if err != nil {
		t.Fatal(err)
	}
	defer hc.Close()
	authority := strings.TrimPrefix(url[:strings.LastIndex(url, "/")], "ws+h2://")
	fields := func(kv ...string) []hpack.HeaderField {
		var out []hpack.HeaderField
		for i := 0; i+1 < len(kv); i += 2 {
			out = append(out, hpack.HeaderField{Name: kv[i], Value: kv[i+1]})
		}
		return out
	}
	connect := func(protocol string, rest ...string) []hpack.HeaderField {
		return fields(append([]string{":method", "CONNECT", ":protocol", protocol, ":scheme", "http", ":path", targets.EchoPath, ":authority", authority}, rest...)...)
	}
	for _, tc := range []struct {
		name   string
		fields []hpack.HeaderField
		status int
	}{
		{"another :protocol", connect("not-websocket", "sec-websocket-version", "13"), 501},
		{"version 8", connect("websocket", "sec-websocket-version", "8"), 400},
		{"no version", connect("websocket"), 400},
		{"GET with :protocol", fields(":method", "GET", ":protocol", "websocket", ":scheme", "http", ":path", targets.EchoPath, ":authority", authority, "sec-websocket-version", "13"), 400},
		{"plain GET", fields(":method", "GET", ":scheme", "http", ":path", targets.EchoPath, ":authority", authority), 405},
	} {
		st, err := hc.Open(tc.fields, false)
		if err != nil {
			t.Fatalf("%s: %v", tc.name, err)
		}
		rctx, cancel := context.WithTimeout(ctx, ioTimeout)
		resp, err := st.Response(rctx)
		cancel()
		if err != nil {
			t.Fatalf("%s: %v", tc.name, err)
		}
		if resp.Status != tc.status {
			t.Errorf("%s: :status %d, want %d", tc.name, resp.Status, tc.status)
		}
		if v := resp.Values("sec-websocket-version"); len(v) != 1 || v[0] != "13" {
			t.Errorf("%s: sec-websocket-version %q, want 13", tc.name, v)
		}
		if v := resp.Values("allow"); resp.Status == 405 && (len(v) != 1 || v[0] != "CONNECT") {
			t.Errorf("%s: allow %q, want CONNECT", tc.name, v)
		}
		_ = st.SetReadDeadline(time.Now().Add(ioTimeout))
		_, err = io.Copy(io.Discard, st)
		t.Logf("%s: %d, then %s", tc.name, resp.Status, endOf(err))
		_ = st.Close()
	}
}

func endOf(err error) string {
	if err == nil {
		return "END_STREAM"
	}
	return fmt.Sprint(err)
}

// Two WebSocket streams on one HTTP/2 connection and an HTTP/1.1 upgrade
// on the same port share /broadcast.
func TestH2BroadcastAcrossTransports(t *testing.T) {
	target, err := targets.Lookup("gobwas-h2")
	if err != nil {
		t.Fatal(err)
	}
	url := start(t, target).URL(targets.BroadcastPath)
	hc, err := wire.DialH2(context.Background(), url, wire.Options{Timeout: ioTimeout})
	if err != nil {
		t.Fatal(err)
	}
	defer hc.Close()
	var members []*wire.Conn
	for range 2 {
		c, _ := dialH2(t, url, wire.Options{H2: wire.H2Options{Conn: hc}})
		// A pong proves the server reads the stream, which it does only
		// after joining the hub.
		roundTrip(t, c, wire.Ping(nil), wire.OneWrite, wire.Pong(nil))
		members = append(members, c)
	}
	h1 := dialRaw(t, http1(url))
	h1.send(opPing, nil)
	h1.expectMessage(opPong, nil)

	expect := func(want wire.Frame) {
		t.Helper()
		for i, c := range members {
			if got, err := c.ReadFrame(time.Now().Add(ioTimeout)); err != nil || got.Opcode != want.Opcode || !bytes.Equal(got.Payload, want.Payload) {
				t.Fatalf("stream member %d: %s %q, %v", i, wire.OpName(got.Opcode), got.Payload, err)
			}
		}
	}
	if err := members[0].WriteFrames(context.Background(), []wire.Frame{wire.Text("to everyone")}, wire.OneWrite); err != nil {
		t.Fatal(err)
	}
	expect(wire.Text("to everyone"))
	h1.expectMessage(opText, []byte("to everyone"))
	h1.send(opBinary, []byte{1, 2})
	expect(wire.Binary([]byte{1, 2}))
}

// Over TLS an HTTP/2 target offers h2 by ALPN and serves extended CONNECT
// there, and HTTP/1.1 upgrades (wss://) on the same port.
func TestH2TLS(t *testing.T) {
	cert, err := selfsigned.Generate()
	if err != nil {
		t.Fatal(err)
	}
	target, err := targets.Lookup("gobwas-h2")
	if err != nil {
		t.Fatal(err)
	}
	run, err := targets.StartTLS(context.Background(), target, "127.0.0.1:0", cert.ServerConfig())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = run.Stop(context.Background()) })
	url := run.URL(targets.EchoPath)
	if !strings.HasPrefix(url, "wss+h2://127.0.0.1:") {
		t.Fatalf("URL %s: want wss+h2://", url)
	}
	conn, hs := dialH2(t, url, wire.Options{TLS: cert.ClientConfig()})
	tc, ok := hs.Stream.Conn().NetConn().(*tls.Conn)
	if !ok {
		t.Fatalf("the HTTP/2 connection runs on a %T, want *tls.Conn", hs.Stream.Conn().NetConn())
	}
	if p := tc.ConnectionState().NegotiatedProtocol; p != "h2" {
		t.Errorf("ALPN %q, want h2", p)
	}
	roundTrip(t, conn, wire.Text("over TLS"), wire.OneWrite, wire.Text("over TLS"))

	conn1, hs1, err := wire.Dial(context.Background(), http1(url), wire.Options{TLS: cert.ClientConfig(), Timeout: ioTimeout})
	if err != nil {
		t.Fatalf("HTTP/1.1 upgrade on the HTTP/2 target: %v", err)
	}
	defer conn1.Close()
	if conn1.Transport() != wire.HTTP1 || hs1.Response.Status != 101 {
		t.Fatalf("HTTP/1.1 upgrade: %v, status %d", conn1.Transport(), hs1.Response.Status)
	}
	roundTrip(t, conn1, wire.Text("over TLS, HTTP/1.1"), wire.OneWrite, wire.Text("over TLS, HTTP/1.1"))
}

// gobwas-h2-tls serves gobwas-h2 over TLS by itself: Start makes a fresh
// certificate, its Running hands out the one client configuration that
// trusts it, ALPN picks h2 (and http/1.1 for an upgrade), and a client
// without that configuration is refused. Outside this test only
// conformance/engine trusts it (Target.TLS).
func TestOwnTLSTarget(t *testing.T) {
	target, err := targets.Lookup("gobwas-h2-tls")
	if err != nil {
		t.Fatal(err)
	}
	if !targets.ServesTLS(target) || target.Info().Default {
		t.Fatalf("%s: ServesTLS %v, Default %v; want true, false", target.Info().Name, targets.ServesTLS(target), target.Info().Default)
	}
	for _, name := range []string{"gobwas-h2", "gorilla"} {
		if tg, _ := targets.Lookup(name); targets.ServesTLS(tg) {
			t.Errorf("%s serves TLS by itself", name)
		}
	}
	run, other := start(t, target), start(t, target)
	url := run.URL(targets.EchoPath)
	if !strings.HasPrefix(url, "wss+h2://127.0.0.1:") || run.URL(targets.BroadcastPath) != strings.TrimSuffix(url, targets.EchoPath)+targets.BroadcastPath {
		t.Fatalf("URLs %s, %s: want wss+h2://", url, run.URL(targets.BroadcastPath))
	}
	trust := targets.ClientTLS(run)
	if trust == nil || trust.InsecureSkipVerify || trust.RootCAs == nil {
		t.Fatalf("ClientTLS = %+v: want a configuration trusting the certificate", trust)
	}
	trust.ServerName = "changed" // a copy: the next caller gets its own
	if targets.ClientTLS(run).ServerName != "" {
		t.Error("ClientTLS hands out its own configuration, not a copy")
	}
	conn, hs := dialH2(t, url, wire.Options{TLS: targets.ClientTLS(run)})
	if tc, ok := hs.Stream.Conn().NetConn().(*tls.Conn); !ok || tc.ConnectionState().NegotiatedProtocol != "h2" {
		t.Fatalf("the HTTP/2 connection: %T, want TLS with ALPN h2", hs.Stream.Conn().NetConn())
	}
	roundTrip(t, conn, wire.Text("over its own TLS"), wire.OneWrite, wire.Text("over its own TLS"))
	conn1, hs1, err := wire.Dial(context.Background(), http1(url), wire.Options{TLS: targets.ClientTLS(run), Timeout: ioTimeout})
	if err != nil {
		t.Fatalf("HTTP/1.1 upgrade: %v", err)
	}
	defer conn1.Close()
	if conn1.Transport() != wire.HTTP1 || hs1.Response.Status != 101 {
		t.Fatalf("HTTP/1.1 upgrade: %v, status %d", conn1.Transport(), hs1.Response.Status)
	}
	roundTrip(t, conn1, wire.Text("HTTP/1.1"), wire.OneWrite, wire.Text("HTTP/1.1"))

	// Trusted nowhere else: not by the machine's roots, not by another
	// start's configuration (each start makes its own certificate).
	for what, cfg := range map[string]*tls.Config{"the system roots": nil, "another start's certificate": targets.ClientTLS(other)} {
		c, _, err := wire.Dial(context.Background(), url, wire.Options{TLS: cfg, Timeout: ioTimeout})
		if err == nil {
			c.Close()
			t.Errorf("dial with %s succeeded", what)
		} else if !strings.Contains(err.Error(), "certificate") {
			t.Errorf("dial with %s: %v, want a certificate error", what, err)
		}
	}
	// The plain targets' Running gives no configuration: the run's applies.
	plain, _ := targets.Lookup("gobwas-h2")
	if cfg := targets.ClientTLS(start(t, plain)); cfg != nil {
		t.Errorf("gobwas-h2's ClientTLS = %+v, want nil", cfg)
	}
}

// gobwas-h2-deflate negotiates permessage-deflate in the HTTP/2 headers
// and echoes compressed messages.
func TestH2Deflate(t *testing.T) {
	target, err := targets.Lookup("gobwas-h2-deflate")
	if err != nil {
		t.Fatal(err)
	}
	url := start(t, target).URL(targets.EchoPath)
	offer := handshake.MustParseExtension("permessage-deflate; client_max_window_bits")
	conn, hs := dialH2(t, url, wire.Options{Edit: func(r *handshake.Request) { r.Headers.Set("Sec-WebSocket-Extensions", offer.String()) }})
	if hs.Deflate == nil {
		t.Fatalf("permessage-deflate not negotiated: %s", hs.RawResponse)
	}
	t.Logf("answer: %s", bytes.ReplaceAll(hs.RawResponse, []byte("\n"), []byte("; ")))
	codec := deflate.NewClientCodec(*hs.Deflate, 0)
	for i, msg := range [][]byte{[]byte(strings.Repeat("compress me ", 100)), {}} {
		f := wire.NewFrame(wire.OpText, codec.Compress(msg))
		f.RSV = wire.RSV1
		if err := conn.WriteFrames(context.Background(), []wire.Frame{f}, wire.OneWrite); err != nil {
			t.Fatal(err)
		}
		got, err := conn.ReadFrame(time.Now().Add(ioTimeout))
		if err != nil {
			t.Fatalf("message %d: %v", i, err)
		}
		payload := got.Payload
		if got.RSV&wire.RSV1 != 0 {
			if payload, err = codec.Decompress(payload); err != nil {
				t.Fatalf("message %d: %v", i, err)
			}
		}
		if got.Opcode != wire.OpText || !bytes.Equal(payload, msg) {
			t.Fatalf("message %d: %s, %d bytes", i, wire.OpName(got.Opcode), len(payload))
		}
	}
}

// A /broadcast stream whose client stops granting flow-control credit is
// evicted like a slow TCP reader: its writer, stuck on the stream's
// window, is freed by a reset, and the others keep receiving.
func TestH2SlowStreamEvicted(t *testing.T) {
	target, err := targets.Lookup("gobwas-h2")
	if err != nil {
		t.Fatal(err)
	}
	url := start(t, target).URL(targets.BroadcastPath)
	slow, _ := dialH2(t, url, wire.Options{H2: wire.H2Options{Connection: h2.Options{Hold: true, StreamWindow: 65535, ConnectionWindow: 65535}}})
	roundTrip(t, slow, wire.Ping(nil), wire.OneWrite, wire.Pong(nil))
	sender, _ := dialH2(t, url, wire.Options{})
	// The sender reads its own broadcasts as it goes, so that it is never
	// the slow one; 1 KiB messages fill the slow stream's 64 KiB window,
	// then its queue of 1024.
	payload := bytes.Repeat([]byte("x"), 1<<10)
	ctx := context.Background()
	for i := range 1500 {
		if err := sender.WriteFrames(ctx, []wire.Frame{wire.Binary(payload)}, wire.OneWrite); err != nil {
			t.Fatalf("send %d: %v", i, err)
		}
		if got, err := sender.ReadFrame(time.Now().Add(ioTimeout)); err != nil || got.Opcode != wire.OpBinary {
			t.Fatalf("broadcast %d back to the sender: %s, %v", i, wire.OpName(got.Opcode), err)
		}
	}
	// The slow stream ends, well before the 1500 messages.
	got := 0
	for {
		f, err := slow.ReadFrame(time.Now().Add(ioTimeout))
		if err != nil {
			var reset *h2.ResetError
			if !errors.As(err, &reset) && !errors.Is(err, io.EOF) {
				t.Fatalf("slow stream after %d messages: %v, want its end", got, err)
			}
			t.Logf("slow stream: %d messages, then %v", got, err)
			break
		}
		if f.Opcode == wire.OpClose {
			t.Logf("slow stream: %d messages, then Close %x", got, f.Payload)
			break
		}
		got++
	}
	if got >= 1500 {
		t.Fatalf("the slow stream received all %d messages", got)
	}
}
