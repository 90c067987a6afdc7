package targets_test

import (
	"bytes"
	"context"
	"net/http"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	"github.com/wsharness/wsharness/targets"
)

// start starts t on a loopback port and stops it when the test ends.
func start(tb testing.TB, target targets.Target) targets.Running {
	tb.Helper()
	run, err := target.Start(context.Background(), "127.0.0.1:0")
	if err != nil {
		tb.Fatalf("start %s: %v", target.Info().Name, err)
	}
	tb.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), ioTimeout)
		defer cancel()
		if err := run.Stop(ctx); err != nil {
			tb.Errorf("stop %s: %v", target.Info().Name, err)
		}
	})
	return run
}

// http1 returns the HTTP/1.1 form of a target's URL: the HTTP/2 targets
// (ws+h2://) serve RFC 6455 upgrades on the same port, and the tests of
// every target drive those; h2_test.go tests the HTTP/2 side.
func http1(url string) string { return strings.Replace(url, "+h2://", "://", 1) }

// plainBuiltin returns the built-in targets whose Start serves them
// without TLS, which the checks here dial as they are. gobwas-h2-tls
// (gobwas-h2 over TLS by itself) has its own test, TestOwnTLSTarget, and
// is served over the caller's TLS in TestTargetsServeTLS.
func plainBuiltin() []targets.Target {
	var out []targets.Target
	for _, t := range targets.Builtin() {
		if !targets.ServesTLS(t) {
			out = append(out, t)
		}
	}
	return out
}

// dialGorilla connects with gorilla's client.
func dialGorilla(tb testing.TB, url string) *websocket.Conn {
	tb.Helper()
	d := websocket.Dialer{HandshakeTimeout: ioTimeout}
	conn, resp, err := d.Dial(url, nil)
	if err != nil {
		tb.Fatalf("dial %s: %v", url, err)
	}
	resp.Body.Close()
	tb.Cleanup(func() { conn.Close() })
	return conn
}

// Builtin lists each library configured, then each with
// permessage-deflate, then each as its README runs it, in one library
// order; the configured names themselves are held to docker-compose.yml
// (TestFilesNameTheRegistry).
func TestBuiltinOrderAndInfo(t *testing.T) {
	var want []string
	for _, suffix := range []string{"", "-deflate", "-default"} {
		for _, name := range targets.Names(targets.Configured()) {
			want = append(want, name+suffix)
		}
	}
	want = append(want, "gobwas-h2", "gobwas-h2-deflate", "gobwas-h2-tls") // then the HTTP/2 targets
	got := targets.Builtin()
	if len(got) != len(want) {
		t.Fatalf("Builtin() has %d targets, want %d", len(got), len(want))
	}
	for i, target := range got {
		info := target.Info()
		if info.Name != want[i] {
			t.Errorf("Builtin()[%d] = %q, want %q", i, info.Name, want[i])
		}
		if isDefault := strings.HasSuffix(info.Name, "-default"); info.Default != isDefault {
			t.Errorf("%s: Default = %v, want %v", info.Name, info.Default, isDefault)
		}
		if info.Library == "" || info.Description == "" {
			t.Errorf("%s: Library or Description empty: %+v", info.Name, info)
		}
	}
}

// TestLibraryVersionsMatchGoMod catches an Info.Library left behind when
// go.mod moves to another version.
func TestLibraryVersionsMatchGoMod(t *testing.T) {
	gomod, err := os.ReadFile("../go.mod")
	if err != nil {
		t.Fatalf("read go.mod: %v", err)
	}
	required := map[string]string{} // module path -> version
	for line := range strings.Lines(string(gomod)) {
		if f := strings.Fields(line); len(f) >= 2 {
			if f[0] == "require" && len(f) >= 3 {
				f = f[1:]
			}
			required[f[0]] = f[1]
		}
	}
	for _, target := range targets.Builtin() {
		lib := target.Info().Library
		path, version, _ := strings.Cut(lib, " ")
		if got := required[path]; got != version {
			t.Errorf("%s: Library = %q, but go.mod requires %s %q", target.Info().Name, lib, path, got)
		}
	}
}

func TestLookup(t *testing.T) {
	for _, target := range targets.Builtin() {
		name := target.Info().Name
		got, err := targets.Lookup(name)
		if err != nil || got.Info().Name != name {
			t.Errorf("Lookup(%q) = %v, %v", name, got, err)
		}
	}
	_, err := targets.Lookup("nginx")
	if err == nil {
		t.Fatal(`Lookup("nginx") succeeded`)
	}
	for _, target := range targets.Builtin() {
		if !strings.Contains(err.Error(), target.Info().Name) {
			t.Errorf("error %q does not list %q", err, target.Info().Name)
		}
	}
}

func TestStopReturnsWithOpenConnections(t *testing.T) {
	for _, target := range plainBuiltin() {
		t.Run(target.Info().Name, func(t *testing.T) {
			t.Parallel()
			run, err := target.Start(context.Background(), "127.0.0.1:0")
			if err != nil {
				t.Fatal(err)
			}
			conn := dialGorilla(t, http1(run.URL(targets.EchoPath)))
			_ = dialGorilla(t, http1(run.URL(targets.BroadcastPath)))
			ctx, cancel := context.WithTimeout(context.Background(), ioTimeout)
			defer cancel()
			if err := run.Stop(ctx); err != nil {
				t.Fatalf("Stop: %v", err)
			}
			if _, _, err := (&websocket.Dialer{HandshakeTimeout: ioTimeout}).Dial(http1(run.URL(targets.EchoPath)), nil); err == nil {
				t.Error("dial succeeded after Stop")
			}
			conn.Close()
		})
	}
}

// TestTargets runs the checks every built-in target must pass, plus those
// only the configured (non-default) targets must pass.
func TestTargets(t *testing.T) {
	for _, target := range plainBuiltin() {
		info := target.Info()
		t.Run(info.Name, func(t *testing.T) {
			t.Parallel()
			run := start(t, target)
			echoURL := http1(run.URL(targets.EchoPath))

			t.Run("echo", func(t *testing.T) {
				t.Parallel()
				testEcho(t, echoURL)
			})
			t.Run("echo fragmented", func(t *testing.T) {
				t.Parallel()
				c := dialRaw(t, echoURL)
				c.write(frame{op: opText, payload: []byte("Hello, ")})
				c.write(frame{op: opContinuation, payload: []byte("fragmented ")})
				c.write(frame{fin: true, op: opContinuation, payload: []byte("world")})
				c.expectMessage(opText, []byte("Hello, fragmented world"))
			})
			t.Run("close 1000", func(t *testing.T) {
				t.Parallel()
				c := dialRaw(t, echoURL)
				c.send(opClose, closePayload(1000, "bye"))
				c.expectClose(1000)
				c.expectServerCloses()
			})
			t.Run("broadcast", func(t *testing.T) {
				t.Parallel()
				testBroadcast(t, http1(run.URL(targets.BroadcastPath)))
			})
			// gws' BuiltinEventHandler answers every ping with an
			// empty pong; everyone else echoes the payload.
			pong := func(ping string) []byte {
				if info.Name == "gws-default" {
					return []byte{}
				}
				return []byte(ping)
			}
			t.Run("ping", func(t *testing.T) {
				t.Parallel()
				c := dialRaw(t, echoURL)
				c.send(opPing, []byte("abc"))
				c.expectMessage(opPong, pong("abc"))
			})
			t.Run("ping between fragments", func(t *testing.T) {
				t.Parallel()
				c := dialRaw(t, echoURL)
				c.write(frame{op: opBinary, payload: []byte("before ")})
				c.send(opPing, []byte("in between"))
				c.write(frame{fin: true, op: opContinuation, payload: []byte("after")})
				c.expectMessage(opPong, pong("in between"))
				c.expectMessage(opBinary, []byte("before after"))
			})
			if info.Default {
				t.Run("library behaviour", func(t *testing.T) {
					t.Parallel()
					logViolations(t, echoURL)
				})
				return
			}
			t.Run("pong ignored", func(t *testing.T) {
				t.Parallel()
				c := dialRaw(t, echoURL)
				c.send(opPong, []byte("unsolicited"))
				c.send(opText, []byte("after pong"))
				c.expectMessage(opText, []byte("after pong"))
			})
			t.Run("invalid UTF-8", func(t *testing.T) {
				t.Parallel()
				c := dialRaw(t, echoURL)
				c.send(opText, []byte("caf\xc3\x28"))
				c.expectClose(1007)
				c.expectServerCloses()
			})
			t.Run("invalid UTF-8 fails fast", func(t *testing.T) {
				if info.Name == "gws" || info.Name == "gws-deflate" {
					t.Skip("gws checks UTF-8 once the message is complete")
				}
				t.Parallel()
				c := dialRaw(t, echoURL)
				// The first fragment can never become valid; the
				// rest of the message is never sent.
				c.write(frame{op: opText, payload: []byte("ok \xed\xa0\x80 surrogate")})
				c.expectClose(1007)
			})
			t.Run("text split inside a character", func(t *testing.T) {
				t.Parallel()
				c := dialRaw(t, echoURL)
				c.write(frame{op: opText, payload: []byte("\xe2\x82")})
				c.write(frame{fin: true, op: opContinuation, payload: []byte("\xac and \xf0\x9f\x98\x80")})
				c.expectMessage(opText, []byte("€ and 😀"))
			})
			t.Run("16 MiB text", func(t *testing.T) {
				t.Parallel()
				// Autobahn's largest message, multi-byte characters
				// split across every read boundary.
				unit := "wsharness ü € 😀 "
				text := []byte(strings.Repeat(unit, 16<<20/len(unit)))
				conn := dialGorilla(t, echoURL)
				// 16 MiB each way may take seconds on a loaded
				// machine with the race detector.
				_ = conn.SetWriteDeadline(time.Now().Add(3 * ioTimeout))
				if err := conn.WriteMessage(websocket.TextMessage, text); err != nil {
					t.Fatalf("write: %v", err)
				}
				_ = conn.SetReadDeadline(time.Now().Add(3 * ioTimeout))
				kind, got, err := conn.ReadMessage()
				if err != nil || kind != websocket.TextMessage || !bytes.Equal(got, text) {
					t.Fatalf("echo of %d bytes: type %d, %d bytes, %v", len(text), kind, len(got), err)
				}
			})
			t.Run("too large", func(t *testing.T) {
				t.Parallel()
				c := dialRaw(t, echoURL)
				c.write(frame{fin: true, op: opBinary, declaredLen64: 40 << 20})
				c.expectClose(1009)
			})
			for _, v := range protocolViolations {
				t.Run(v.name, func(t *testing.T) {
					t.Parallel()
					c := dialRaw(t, echoURL)
					v.send(c)
					codes := []int{1002}
					if v.name == "close reason invalid UTF-8" {
						codes = append(codes, 1007) // gws' choice
					}
					o := c.expectClose(codes...)
					t.Logf("%s: %v", info.Name, o)
					c.expectServerCloses()
				})
			}
			testHandshakeGuard(t, echoURL, strings.HasSuffix(info.Name, "-deflate"))
		})
	}
}

func testEcho(t *testing.T, url string) {
	conn := dialGorilla(t, url)
	big := make([]byte, 70000)
	for i := range big {
		big[i] = byte(i * 7)
	}
	for _, m := range []struct {
		kind    int
		payload []byte
	}{
		{websocket.TextMessage, []byte("Hello, wsharness")},
		{websocket.TextMessage, []byte("grüße 😀")},
		{websocket.BinaryMessage, []byte{0, 1, 2, 0xff, 0xfe}},
		{websocket.BinaryMessage, big},
		{websocket.TextMessage, []byte{}},
	} {
		_ = conn.SetWriteDeadline(time.Now().Add(ioTimeout))
		if err := conn.WriteMessage(m.kind, m.payload); err != nil {
			t.Fatalf("write: %v", err)
		}
		_ = conn.SetReadDeadline(time.Now().Add(ioTimeout))
		kind, got, err := conn.ReadMessage()
		if err != nil {
			t.Fatalf("read echo of %d bytes: %v", len(m.payload), err)
		}
		if kind != m.kind || !bytes.Equal(got, m.payload) {
			t.Fatalf("echo of type %d, %d bytes: got type %d, %d bytes", m.kind, len(m.payload), kind, len(got))
		}
	}
}

// testBroadcast connects three clients; what one sends reaches all three.
func testBroadcast(t *testing.T, url string) {
	clients := make([]*rawClient, 3)
	for i := range clients {
		clients[i] = dialRaw(t, url)
		// A pong proves the server reads this connection, which it
		// does only after joining the hub.
		clients[i].send(opPing, nil)
		clients[i].expectMessage(opPong, nil)
	}
	clients[1].send(opText, []byte("to everyone"))
	clients[2].send(opBinary, []byte{1, 2, 3})
	for i, c := range clients {
		// Both senders' messages arrive at everyone, in one order.
		first, err := c.readMessage()
		if err != nil {
			t.Fatalf("client %d: %v", i, err)
		}
		second, err := c.readMessage()
		if err != nil {
			t.Fatalf("client %d: %v", i, err)
		}
		if first.op == opBinary {
			first, second = second, first
		}
		if first.op != opText || string(first.payload) != "to everyone" ||
			second.op != opBinary || !bytes.Equal(second.payload, []byte{1, 2, 3}) {
			t.Fatalf("client %d got %v and %v", i, first, second)
		}
	}
}

// protocolViolation is a frame sequence a configured target must answer
// with Close 1002 (RFC 6455 §5 and §7.4.1).
type protocolViolation struct {
	name string
	send func(c *rawClient)
}

var protocolViolations = []protocolViolation{
	{"RSV2 set", func(c *rawClient) {
		c.write(frame{fin: true, rsv: 2, op: opText, payload: []byte("rsv")})
	}},
	{"unmasked frame", func(c *rawClient) {
		c.write(frame{fin: true, op: opText, payload: []byte("bare"), unmasked: true})
	}},
	{"reserved opcode", func(c *rawClient) {
		c.write(frame{fin: true, op: 0x3, payload: []byte("x")})
	}},
	{"reserved control opcode", func(c *rawClient) {
		c.write(frame{fin: true, op: 0xB})
	}},
	{"ping over 125 bytes", func(c *rawClient) {
		c.write(frame{fin: true, op: opPing, payload: bytes.Repeat([]byte("p"), 126)})
	}},
	{"fragmented ping", func(c *rawClient) {
		c.write(frame{op: opPing, payload: []byte("half")})
	}},
	{"orphan continuation", func(c *rawClient) {
		c.write(frame{fin: true, op: opContinuation, payload: []byte("orphan")})
	}},
	{"data frame inside a fragmented message", func(c *rawClient) {
		c.write(frame{op: opText, payload: []byte("first")})
		c.write(frame{fin: true, op: opText, payload: []byte("second")})
	}},
	{"64-bit length with MSB set", func(c *rawClient) {
		c.write(frame{fin: true, op: opBinary, declaredLen64: 1 << 63})
	}},
	{"close payload of 1 byte", func(c *rawClient) {
		c.send(opClose, []byte{0x03})
	}},
	{"close code 1005", func(c *rawClient) {
		c.send(opClose, closePayload(1005, ""))
	}},
	{"close code 999", func(c *rawClient) {
		c.send(opClose, closePayload(999, ""))
	}},
	{"close reason invalid UTF-8", func(c *rawClient) {
		c.send(opClose, closePayload(1000, "\xff\xfe"))
	}},
}

// logViolations records how a -default target reacts to invalid input; the
// deviations are expected, so they are logged rather than asserted. The
// target must survive all of it.
func logViolations(t *testing.T, url string) {
	cases := append([]protocolViolation{
		{"invalid UTF-8", func(c *rawClient) { c.send(opText, []byte("caf\xc3\x28")) }},
	}, protocolViolations...)
	for _, v := range cases {
		c := dialRaw(t, url)
		v.send(c)
		t.Logf("%s: %v", v.name, c.observe())
		c.conn.Close()
	}
	c := dialRaw(t, url) // still serving
	c.send(opText, []byte("alive"))
	c.expectMessage(opText, []byte("alive"))
}

// testHandshakeGuard checks how a configured target answers opening
// handshakes that RFC 6455 §4.2.1 allows or forbids. Only a compressing
// target may accept the permessage-deflate offer.
func testHandshakeGuard(t *testing.T, url string, deflate bool) {
	for _, tc := range []struct {
		name        string
		edit        func(r *http.Request)
		status      int
		wantVersion bool // answer carries Sec-WebSocket-Version: 13
	}{
		{"valid", func(*http.Request) {}, http.StatusSwitchingProtocols, false},
		{"Connection token list", func(r *http.Request) { r.Header.Set("Connection", "keep-alive, Upgrade") }, http.StatusSwitchingProtocols, false},
		{"Upgrade in mixed case", func(r *http.Request) { r.Header.Set("Upgrade", "WebSocket") }, http.StatusSwitchingProtocols, false},
		{"Origin from elsewhere", func(r *http.Request) { r.Header.Set("Origin", "https://elsewhere.example") }, http.StatusSwitchingProtocols, false},
		{"version 99", func(r *http.Request) { r.Header.Set("Sec-WebSocket-Version", "99") }, http.StatusUpgradeRequired, true},
		{"version 8", func(r *http.Request) { r.Header.Set("Sec-WebSocket-Version", "8") }, http.StatusUpgradeRequired, true},
		{"no version", func(r *http.Request) { r.Header.Del("Sec-WebSocket-Version") }, http.StatusBadRequest, true},
		{"8-byte key", func(r *http.Request) { r.Header.Set("Sec-WebSocket-Key", "AAAAAAAAAAA=") }, http.StatusBadRequest, false},
		{"no key", func(r *http.Request) { r.Header.Del("Sec-WebSocket-Key") }, http.StatusBadRequest, false},
		{"POST", func(r *http.Request) { r.Method = http.MethodPost }, http.StatusMethodNotAllowed, false},
		{"no Upgrade", func(r *http.Request) { r.Header.Del("Upgrade") }, http.StatusBadRequest, false},
		{"Connection without upgrade", func(r *http.Request) { r.Header.Set("Connection", "keep-alive") }, http.StatusBadRequest, false},
		{"HTTP/1.0", func(r *http.Request) { r.Proto = "HTTP/1.0" }, http.StatusBadRequest, false},
	} {
		t.Run("handshake "+tc.name, func(t *testing.T) {
			t.Parallel()
			req := handshakeRequest(t, url)
			req.Header.Set("Sec-WebSocket-Protocol", "chat")
			req.Header.Set("Sec-WebSocket-Extensions", "permessage-deflate")
			tc.edit(req)
			_, _, resp := sendHandshake(t, url, req)
			if resp.StatusCode != tc.status {
				t.Fatalf("status %s, want %d", resp.Status, tc.status)
			}
			if tc.wantVersion && resp.Header.Get("Sec-WebSocket-Version") != "13" {
				t.Errorf("Sec-WebSocket-Version = %q, want 13", resp.Header.Get("Sec-WebSocket-Version"))
			}
			if resp.StatusCode == http.StatusSwitchingProtocols {
				for _, h := range []string{"Sec-WebSocket-Protocol", "Sec-WebSocket-Extensions"} {
					v := resp.Header.Values(h)
					if deflate && h == "Sec-WebSocket-Extensions" && len(v) == 1 && strings.HasPrefix(v[0], "permessage-deflate") {
						continue
					}
					if len(v) > 0 {
						t.Errorf("server selected %s %q", h, v)
					}
				}
			}
		})
	}
}
