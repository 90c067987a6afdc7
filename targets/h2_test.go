package targets_test

import (
	"bytes"
	"context"
	"strings"
	"testing"

	"golang.org/x/net/http2"

	"github.com/wsharness/wsharness/internal/selfsigned"
	"github.com/wsharness/wsharness/targets"
	"github.com/wsharness/wsharness/wire"
	"github.com/wsharness/wsharness/wire/deflate"
	"github.com/wsharness/wsharness/wire/handshake"
)

// h2Targets are the built-in targets served over HTTP/2.
func h2Targets(t *testing.T) []targets.Target {
	var out []targets.Target
	for _, tg := range targets.Builtin() {
		if strings.Contains(tg.Info().Name, "-h2") {
			out = append(out, tg)
		}
	}
	if len(out) == 0 {
		t.Fatal("no HTTP/2 target")
	}
	return out
}

// Each HTTP/2 target advertises SETTINGS_ENABLE_CONNECT_PROTOCOL, answers
// extended CONNECT with 200 and no Sec-WebSocket-Accept, echoes messages
// and control frames on the stream, and ends it with END_STREAM after the
// closing handshake.
func TestH2Echo(t *testing.T) {
	for _, target := range h2Targets(t) {
		t.Run(target.Info().Name, func(t *testing.T) {
			t.Parallel()
			url := start(t, target).URL(targets.EchoPath)
			if !strings.HasPrefix(url, "ws+h2://127.0.0.1:") {
				t.Fatalf("URL %s: want ws+h2://", url)
			}
			c := dialH2(t, url, nil)
			if v, ok := c.settings[http2.SettingEnableConnectProtocol]; !ok || v != 1 {
				t.Fatalf("SETTINGS %v: want ENABLE_CONNECT_PROTOCOL 1", c.settings)
			}
			id := c.connect(targets.EchoPath)
			h := c.response(id)
			if got := h[":status"]; len(got) != 1 || got[0] != "200" {
				t.Fatalf(":status %v, want 200", got)
			}
			if _, ok := h["sec-websocket-accept"]; ok {
				t.Errorf("sec-websocket-accept in an HTTP/2 response: %v", h)
			}
			big := bytes.Repeat([]byte("0123456789abcdef"), 200000/16) // over the 64 KiB initial windows
			for _, f := range []wire.Frame{wire.Text("hello over h2"), wire.Binary(big), wire.Ping([]byte("p")), wire.Text("")} {
				c.send(id, false, f)
				want := f
				if f.Opcode == wire.OpPing {
					want = wire.Pong(f.Payload)
				}
				got := c.read(id)
				if got.Opcode != want.Opcode || !got.Fin || !bytes.Equal(got.Payload, want.Payload) {
					t.Fatalf("echo: %s, %d bytes; want %s, %d bytes", wire.OpName(got.Opcode), len(got.Payload), wire.OpName(want.Opcode), len(want.Payload))
				}
			}
			// Fragments split across DATA frames at odd bytes.
			var msg []byte
			for _, f := range []wire.Frame{{Opcode: wire.OpText, Payload: []byte("frag")}, {Fin: true, Opcode: wire.OpContinuation, Payload: []byte("mented")}} {
				msg = append(msg, f.Encode(wire.Client, nil)...)
			}
			for i := 0; i < len(msg); i += 3 {
				if err := c.fr.WriteData(id, false, msg[i:min(i+3, len(msg))]); err != nil {
					t.Fatal(err)
				}
			}
			if got := c.read(id); got.Opcode != wire.OpText || string(got.Payload) != "fragmented" {
				t.Fatalf("fragmented echo: %s %q", wire.OpName(got.Opcode), got.Payload)
			}
			c.send(id, false, wire.Close(1000, "bye"))
			if got := c.read(id); got.Opcode != wire.OpClose || !bytes.Equal(got.Payload[:2], []byte{0x03, 0xe8}) {
				t.Fatalf("close reply: %s %x", wire.OpName(got.Opcode), got.Payload)
			}
			how := c.ended(id)
			if !strings.HasPrefix(how, "END_STREAM") {
				t.Errorf("after the closing handshake the stream ended with %s, want END_STREAM", how)
			}
			t.Logf("stream end after the closing handshake, client half open: %s", how)
		})
	}
}

// What the HTTP/2 targets refuse, and how.
func TestH2Refusals(t *testing.T) {
	target, err := targets.Lookup("gobwas-h2")
	if err != nil {
		t.Fatal(err)
	}
	url := start(t, target).URL(targets.EchoPath)
	c := dialH2(t, url, nil)
	for _, tc := range []struct {
		name    string
		fields  []string
		status  string
		version bool // the response names sec-websocket-version 13
	}{
		{"other :protocol", []string{":method", "CONNECT", ":protocol", "not-websocket", ":scheme", "http", ":path", "/echo", ":authority", c.host, "sec-websocket-version", "13"}, "501", true},
		{"version 8", []string{":method", "CONNECT", ":protocol", "websocket", ":scheme", "http", ":path", "/echo", ":authority", c.host, "sec-websocket-version", "8"}, "400", true},
		{"no version", []string{":method", "CONNECT", ":protocol", "websocket", ":scheme", "http", ":path", "/echo", ":authority", c.host}, "400", true},
		{"GET with :protocol", []string{":method", "GET", ":protocol", "websocket", ":scheme", "http", ":path", "/echo", ":authority", c.host, "sec-websocket-version", "13"}, "400", true},
		{"plain GET", []string{":method", "GET", ":scheme", "http", ":path", "/echo", ":authority", c.host}, "405", true},
	} {
		id := c.request(tc.fields...)
		h := c.response(id)
		if got := h[":status"]; len(got) != 1 || got[0] != tc.status {
			t.Errorf("%s: :status %v, want %s", tc.name, got, tc.status)
		}
		if got := h["sec-websocket-version"]; tc.version && (len(got) != 1 || got[0] != "13") {
			t.Errorf("%s: sec-websocket-version %v, want 13", tc.name, got)
		}
		t.Logf("%s: %v, stream ended with %s", tc.name, h[":status"], c.ended(id))
	}
}

// Two WebSocket streams on one HTTP/2 connection and an HTTP/1.1 upgrade
// on the same port share /broadcast.
func TestH2BroadcastAcrossTransports(t *testing.T) {
	target, err := targets.Lookup("gobwas-h2")
	if err != nil {
		t.Fatal(err)
	}
	run := start(t, target)
	url := run.URL(targets.BroadcastPath)
	c := dialH2(t, url, nil)
	var ids []uint32
	for range 2 {
		id := c.connect(targets.BroadcastPath)
		if s := c.response(id)[":status"]; s[0] != "200" {
			t.Fatalf(":status %v", s)
		}
		// A pong proves the server reads the stream, which it does only
		// after joining the hub.
		c.send(id, false, wire.Ping(nil))
		if got := c.read(id); got.Opcode != wire.OpPong {
			t.Fatalf("%s, want pong", wire.OpName(got.Opcode))
		}
		ids = append(ids, id)
	}
	h1 := dialRaw(t, http1(url))
	h1.send(opPing, nil)
	h1.expectMessage(opPong, nil)

	c.send(ids[0], false, wire.Text("to everyone"))
	for _, id := range ids {
		if got := c.read(id); got.Opcode != wire.OpText || string(got.Payload) != "to everyone" {
			t.Fatalf("stream %d: %s %q", id, wire.OpName(got.Opcode), got.Payload)
		}
	}
	h1.expectMessage(opText, []byte("to everyone"))
	h1.send(opBinary, []byte{1, 2})
	for _, id := range ids {
		if got := c.read(id); got.Opcode != wire.OpBinary || !bytes.Equal(got.Payload, []byte{1, 2}) {
			t.Fatalf("stream %d: %s %q", id, wire.OpName(got.Opcode), got.Payload)
		}
	}
}

// Over TLS the HTTP/2 targets offer h2 by ALPN and serve extended CONNECT
// there, and HTTP/1.1 upgrades still work (wss://).
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
	c := dialH2(t, url, cert.ClientConfig())
	if c.alpn != "h2" {
		t.Fatalf("ALPN %q, want h2", c.alpn)
	}
	id := c.connect(targets.EchoPath)
	if s := c.response(id)[":status"]; s[0] != "200" {
		t.Fatalf(":status %v", s)
	}
	c.send(id, false, wire.Text("over TLS"))
	if got := c.read(id); got.Opcode != wire.OpText || string(got.Payload) != "over TLS" {
		t.Fatalf("echo: %s %q", wire.OpName(got.Opcode), got.Payload)
	}
	conn, hs, err := wire.Dial(context.Background(), http1(url), wire.Options{TLS: cert.ClientConfig(), Timeout: ioTimeout})
	if err != nil {
		t.Fatalf("HTTP/1.1 upgrade on the HTTP/2 target: %v", err)
	}
	conn.Close()
	if hs.Response.Status != 101 {
		t.Fatalf("HTTP/1.1 upgrade: status %d", hs.Response.Status)
	}
}

// gobwas-h2-deflate negotiates permessage-deflate in the HTTP/2 headers
// and echoes compressed messages.
func TestH2Deflate(t *testing.T) {
	target, err := targets.Lookup("gobwas-h2-deflate")
	if err != nil {
		t.Fatal(err)
	}
	c := dialH2(t, start(t, target).URL(targets.EchoPath), nil)
	const offer = "permessage-deflate; client_max_window_bits"
	id := c.connect(targets.EchoPath, "sec-websocket-version", "13", "sec-websocket-extensions", offer)
	h := c.response(id)
	ext := h["sec-websocket-extensions"]
	if len(ext) != 1 {
		t.Fatalf("sec-websocket-extensions %v: want one", ext)
	}
	exts, err := handshake.ParseExtensions(ext)
	if err != nil || len(exts) != 1 {
		t.Fatalf("sec-websocket-extensions %q: %v", ext, err)
	}
	params, problems := deflate.Negotiate([]handshake.Extension{handshake.MustParseExtension(offer)}, exts)
	if params == nil || len(problems) > 0 {
		t.Fatalf("sec-websocket-extensions %q: %v", ext, problems)
	}
	codec := deflate.NewClientCodec(*params, 0)
	for i, msg := range [][]byte{[]byte(strings.Repeat("compress me ", 100)), {}} {
		f := wire.NewFrame(wire.OpText, codec.Compress(msg))
		f.RSV = wire.RSV1
		c.send(id, false, f)
		got := c.read(id)
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
