package wire

import (
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/gobwas/ws/wsutil"
	"golang.org/x/net/http2/hpack"

	_ "github.com/wsharness/wsharness/internal/xconnect"
	"github.com/wsharness/wsharness/wire/h2"
	"github.com/wsharness/wsharness/wire/handshake"
)

// h2Echo serves RFC 8441 on loopback with net/http (h2c, prior
// knowledge): an extended CONNECT gets a 200, then gobwas echoes messages
// on the stream until the client's Close. It returns the ws+h2:// URL.
func h2Echo(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodConnect || r.Header.Get(":protocol") != "websocket" {
			http.Error(w, "extended CONNECT only", http.StatusBadRequest)
			return
		}
		rc := http.NewResponseController(w)
		_ = rc.EnableFullDuplex()
		if p := r.Header.Get("Sec-WebSocket-Protocol"); p != "" {
			w.Header().Set("Sec-WebSocket-Protocol", strings.Split(p, ",")[0])
		}
		w.WriteHeader(http.StatusOK)
		_ = rc.Flush()
		rw := struct {
			io.Reader
			io.Writer
		}{r.Body, flushWriter{w, rc}}
		for {
			msg, op, err := wsutil.ReadClientData(rw)
			if err != nil {
				return
			}
			if err := wsutil.WriteServerMessage(rw, op, msg); err != nil {
				return
			}
		}
	})}
	srv.Protocols = new(http.Protocols)
	srv.Protocols.SetUnencryptedHTTP2(true)
	go srv.Serve(ln)
	t.Cleanup(func() { _ = srv.Close() })
	return "ws+h2://" + ln.Addr().String() + "/echo"
}

type flushWriter struct {
	w  io.Writer
	rc *http.ResponseController
}

func (f flushWriter) Write(p []byte) (int, error) {
	n, err := f.w.Write(p)
	if err == nil {
		err = f.rc.Flush()
	}
	return n, err
}

func TestDialOverHTTP2(t *testing.T) {
	url := h2Echo(t)
	ctx := context.Background()
	log := NewLog()
	c, hs, err := Dial(ctx, url, Options{Log: log, Edit: func(r *handshake.Request) { r.Headers.Set("Sec-WebSocket-Protocol", "chat, superchat") }})
	if err != nil {
		t.Fatalf("Dial: %v", err)
	}
	defer c.Close()
	if c.Transport() != HTTP2 || hs.Stream == nil {
		t.Fatalf("transport %v, stream %v: want HTTP/2", c.Transport(), hs.Stream)
	}
	if hs.Response.Status != 200 || hs.Response.Header.Get("Sec-WebSocket-Protocol") != "chat" {
		t.Errorf("answer %d %v, want 200 selecting chat", hs.Response.Status, hs.Response.Header)
	}
	req := string(hs.Request)
	for _, want := range []string{":method: CONNECT\r\n", ":protocol: websocket\r\n", ":scheme: http\r\n", ":path: /echo\r\n", "sec-websocket-version: 13\r\n"} {
		if !strings.Contains(req, want) {
			t.Errorf("request lacks %q:\n%s", want, req)
		}
	}
	for _, banned := range []string{"upgrade", "connection", "sec-websocket-key", "host:"} {
		if strings.Contains(strings.ToLower(req), banned) {
			t.Errorf("request carries %q, which RFC 8441 §5 / RFC 9113 §8.2.2 leave out:\n%s", banned, req)
		}
	}
	// A message larger than HTTP/2's default window of 65,535 octets, in
	// 997-byte DATA frames: the server's WINDOW_UPDATEs must let it through.
	big := strings.Repeat("x", 200_000)
	if err := c.WriteFrames(ctx, []Frame{{Fin: true, Opcode: OpText, Payload: []byte(big)}}, Split{Chop: 997}); err != nil {
		t.Fatal(err)
	}
	f, err := c.ReadFrame(time.Now().Add(5 * time.Second))
	if err != nil || string(f.Payload) != big {
		t.Fatalf("echo: %d octets, %v", len(f.Payload), err)
	}
	if err := c.WriteFrames(ctx, []Frame{Close(1000, "")}, OneWrite); err != nil {
		t.Fatal(err)
	}
	if f, err := c.ReadFrame(time.Now().Add(5 * time.Second)); err != nil || f.Opcode != OpClose {
		t.Fatalf("want the server's Close, got %v %v", f.Header, err)
	}
	// gobwas returns from the handler after its Close: net/http ends the
	// stream with END_STREAM, which reads as the end of the stream.
	if _, err := c.ReadFrame(time.Now().Add(5 * time.Second)); !errors.Is(err, io.EOF) {
		t.Errorf("after the closing handshake: %v, want io.EOF (END_STREAM)", err)
	}
	var sawData bool
	for _, e := range log.Entries() {
		sawData = sawData || strings.Contains(e.Note, "HTTP/2 DATA stream 1")
	}
	if !sawData {
		t.Error("the wire log shows no HTTP/2 DATA frame")
	}
}

func TestHTTP2StreamsShareAConnection(t *testing.T) {
	url := h2Echo(t)
	ctx := context.Background()
	hc, err := DialH2(ctx, url, Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer hc.Close()
	var conns []*Conn
	for range 3 {
		c, _, err := Dial(ctx, url, Options{H2: H2Options{Conn: hc}})
		if err != nil {
			t.Fatal(err)
		}
		conns = append(conns, c)
	}
	for i, c := range conns {
		msg := []byte{byte('a' + i)}
		if err := c.WriteFrames(ctx, []Frame{{Fin: true, Opcode: OpBinary, Payload: msg}}, OneWrite); err != nil {
			t.Fatal(err)
		}
	}
	for i := len(conns) - 1; i >= 0; i-- {
		f, err := conns[i].ReadFrame(time.Now().Add(5 * time.Second))
		if err != nil || string(f.Payload) != string([]byte{byte('a' + i)}) {
			t.Fatalf("stream %d: %q %v", i, f.Payload, err)
		}
		// Dropping one stream resets it; the others go on.
		conns[i].Close()
	}
	if err := hc.Err(); err != nil {
		t.Errorf("connection ended: %v", err)
	}
}

func TestHTTP2RefusedAndMalformed(t *testing.T) {
	url := h2Echo(t)
	ctx := context.Background()
	// :protocol on a GET is malformed (RFC 8441 §4): net/http answers 400
	// (RFC 9113 §8.1.1 lets a server answer before it resets).
	_, hs, err := Open(ctx, url, Options{H2: H2Options{Edit: func(f []hpack.HeaderField) []hpack.HeaderField {
		f[0].Value = "GET"
		return f
	}}})
	var reset *h2.ResetError
	if !errors.As(err, &reset) && (err != nil || hs.Response.Status < 400) {
		t.Errorf(":protocol on GET: %v, want a refusal", err)
	}
	// A plain ws:// client on an h2c-only server: Open reports what came
	// back; a ws+h2:// dial of an HTTP/1.1 server says it is not HTTP/2.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	h1 := &http.Server{Handler: http.NotFoundHandler()}
	go h1.Serve(ln)
	defer h1.Close()
	_, _, err = Dial(ctx, "ws+h2://"+ln.Addr().String()+"/", Options{Timeout: 3 * time.Second})
	if err == nil || !strings.Contains(err.Error(), "not an HTTP/2 server") {
		t.Errorf("HTTP/1.1 server: %v, want 'not an HTTP/2 server'", err)
	}
}

func TestTransportOf(t *testing.T) {
	for scheme, want := range map[string]Transport{"ws": HTTP1, "wss": HTTP1, "ws+h2": HTTP2, "wss+h2": HTTP2} {
		if got := TransportOf(scheme); got != want {
			t.Errorf("%s: %v, want %v", scheme, got, want)
		}
	}
	if HTTP2.CaseMarker() != "h2:" || HTTP1.CaseMarker() != "" {
		t.Error("case markers")
	}
}

// Reach of an HTTP/2 URL tells a server that does not speak HTTP/2 from
// one that does.
func TestReachOverHTTP2(t *testing.T) {
	if err := Reach(context.Background(), h2Echo(t), nil, 3*time.Second); err != nil {
		t.Errorf("an HTTP/2 server: %v", err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	h1 := &http.Server{Handler: http.NotFoundHandler()}
	go h1.Serve(ln)
	defer h1.Close()
	err = Reach(context.Background(), "ws+h2://"+ln.Addr().String()+"/", nil, 3*time.Second)
	if err == nil || !strings.Contains(err.Error(), "not an HTTP/2 server") {
		t.Errorf("an HTTP/1.1 server: %v, want 'not an HTTP/2 server'", err)
	}
}

// A deadline that has passed ends ReadFrame even with frames ready to
// read: a peer that keeps sending cannot hold a reader past it.
func TestReadFrameHonoursAPassedDeadline(t *testing.T) {
	url := h2Echo(t)
	c, _, err := Dial(context.Background(), url, Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if err := c.WriteFrames(context.Background(), []Frame{Text("a"), Text("b")}, OneWrite); err != nil {
		t.Fatal(err)
	}
	if _, err := c.ReadFrame(time.Now().Add(5 * time.Second)); err != nil {
		t.Fatal(err)
	}
	time.Sleep(50 * time.Millisecond) // the second echo is buffered by now
	var ne net.Error
	if f, err := c.ReadFrame(time.Now().Add(-time.Millisecond)); !errors.As(err, &ne) || !ne.Timeout() {
		t.Errorf("past deadline: %v %v, want a timeout", f.Header, err)
	}
}
