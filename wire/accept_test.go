package wire

import (
	"context"
	"errors"
	"net"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/wsharness/wsharness/wire/handshake"

	"github.com/gorilla/websocket"
)

// serveOnce accepts one connection on a loopback listener and plays the
// server's side of the handshake on it with o; the result arrives on the
// returned channel.
type accepted struct {
	conn *Conn
	hs   *ServerHandshake
	err  error
}

func serveOnce(t *testing.T, o AcceptOptions) (string, <-chan accepted) {
	t.Helper()
	ln, err := net.Listen("tcp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	out := make(chan accepted, 1)
	go func() {
		nc, err := ln.Accept()
		if err != nil {
			out <- accepted{err: err}
			return
		}
		c, hs, err := Accept(context.Background(), nc, o)
		out <- accepted{c, hs, err}
	}()
	return "ws://" + ln.Addr().String() + "/case", out
}

// A library client completes the handshake with the harness as server;
// its frames arrive masked, as §5.1 asks of a client, and the harness's
// own go out unmasked, as a library client requires.
func TestAcceptPlaysTheServer(t *testing.T) {
	url, done := serveOnce(t, AcceptOptions{})
	client, _, err := websocket.DefaultDialer.Dial(url, nil)
	if err != nil {
		t.Fatalf("a library client refused the harness's handshake: %v", err)
	}
	defer client.Close()
	a := <-done
	if a.err != nil {
		t.Fatal(a.err)
	}
	defer a.conn.Close()
	if len(a.hs.Problems) != 0 || a.hs.Request.Target != "/case" {
		t.Fatalf("a library's request: problems %q, target %q", a.hs.Problems, a.hs.Request.Target)
	}
	if a.conn.Role() != Server {
		t.Fatalf("role %v, want server", a.conn.Role())
	}
	if err := client.WriteMessage(websocket.TextMessage, []byte("hello")); err != nil {
		t.Fatal(err)
	}
	f, err := a.conn.ReadFrame(time.Now().Add(5 * time.Second))
	if err != nil {
		t.Fatal(err)
	}
	if string(f.Payload) != "hello" || !f.Masked || len(f.Violations(Client, 0)) != 0 {
		t.Fatalf("client frame: payload %q masked %v violations %q", f.Payload, f.Masked, f.Violations(Client, 0))
	}
	if err := a.conn.WriteFrames(t.Context(), []Frame{Text("hi")}, OneWrite); err != nil {
		t.Fatal(err)
	}
	_ = client.SetReadDeadline(time.Now().Add(5 * time.Second))
	if _, msg, err := client.ReadMessage(); err != nil || string(msg) != "hi" {
		t.Fatalf("the library client read %q, %v; want the harness's unmasked \"hi\"", msg, err)
	}
}

// What the harness answers on purpose reaches the client as written: a
// wrong accept key makes a library client fail, and a masked server frame
// makes the harness's own client report §5.1.
func TestAcceptSendsDefects(t *testing.T) {
	t.Run("wrong accept key", func(t *testing.T) {
		url, done := serveOnce(t, AcceptOptions{Respond: func(_ *handshake.ClientRequest, r *handshake.ResponseHead) {
			r.Headers.Set("Sec-WebSocket-Accept", handshake.AcceptKey("not the client's key"))
		}})
		_, _, err := websocket.DefaultDialer.Dial(url, nil)
		if !errors.Is(err, websocket.ErrBadHandshake) {
			t.Fatalf("a library client took a wrong Sec-WebSocket-Accept: %v", err)
		}
		if a := <-done; a.conn != nil {
			a.conn.Close()
		}
	})
	t.Run("403 for one path", func(t *testing.T) {
		url, done := serveOnce(t, AcceptOptions{Respond: func(req *handshake.ClientRequest, r *handshake.ResponseHead) {
			if req.Target == "/case" {
				// With no length, a client reads the body until the
				// connection ends.
				r.Status, r.Reason = 403, "Forbidden"
				r.Headers.Set("Content-Length", "0")
			}
		}})
		_, resp, err := websocket.DefaultDialer.Dial(url, nil)
		if !errors.Is(err, websocket.ErrBadHandshake) || resp == nil || resp.StatusCode != 403 {
			t.Fatalf("a library client got %v, %v; want a bad handshake with status 403", resp, err)
		}
		if a := <-done; a.conn != nil {
			a.conn.Close()
		}
	})
	t.Run("masked server frame", func(t *testing.T) {
		masked := Frame{Fin: true, Opcode: OpText, Mask: MaskAlways, Payload: []byte("x")}
		url, done := serveOnce(t, AcceptOptions{Trailing: masked.Encode(Server, nil)})
		c, _, err := Dial(t.Context(), url, Options{})
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		if a := <-done; a.conn != nil {
			defer a.conn.Close()
		}
		f, err := c.ReadFrame(time.Now().Add(5 * time.Second))
		if err != nil {
			t.Fatal(err)
		}
		if v := strings.Join(f.Violations(c.Role().Peer(), 0), "; "); !strings.Contains(v, "server frame is masked") {
			t.Fatalf("violations of a masked server frame: %q", v)
		}
	})
}

// The harness as server judges what a client sends: its handshake request
// against §4.1, and frames it forgot to mask.
func TestAcceptJudgesTheClient(t *testing.T) {
	url, done := serveOnce(t, AcceptOptions{})
	c, _, err := Open(t.Context(), url, Options{Edit: func(r *handshake.Request) {
		r.Method = "POST"
		r.Headers.Del("Sec-WebSocket-Key")
		r.Headers.Set("Sec-WebSocket-Version", "8")
		r.Headers.Set("Connection", "keep-alive")
	}})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	a := <-done
	if a.err != nil {
		t.Fatal(a.err)
	}
	defer a.conn.Close()
	problems := strings.Join(a.hs.Problems, "; ")
	for _, want := range []string{"method POST", "0 Sec-WebSocket-Key headers", "Sec-WebSocket-Version [\"8\"]", "Connection header \"keep-alive\""} {
		if !strings.Contains(problems, want) {
			t.Errorf("problems %q lack %q", problems, want)
		}
	}
	if err := c.WriteFrames(t.Context(), []Frame{{Fin: true, Opcode: OpText, Mask: MaskNever, Payload: []byte("bare")}}, OneWrite); err != nil {
		t.Fatal(err)
	}
	f, err := a.conn.ReadFrame(time.Now().Add(5 * time.Second))
	if err != nil {
		t.Fatal(err)
	}
	if v := strings.Join(f.Violations(Client, 0), "; "); !strings.Contains(v, "client frame is not masked (§5.1") {
		t.Fatalf("violations of an unmasked client frame: %q", v)
	}
}

// A response cut into one-octet writes, each read by the client on its
// own, with a frame after it, still reads as a 101 and that frame.
func TestAcceptSplitsTheResponse(t *testing.T) {
	url, done := serveOnce(t, AcceptOptions{Split: OctetWise, Trailing: Text("after").Encode(Server, nil)})
	c, hs, err := Dial(t.Context(), url, Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	// Accept returns once the client has read every octet, the frame's too.
	f, err := c.ReadFrame(time.Now().Add(5 * time.Second))
	if err != nil || string(f.Payload) != "after" {
		t.Fatalf("frame after the response: %q, %v", f.Payload, err)
	}
	a := <-done
	if a.err != nil {
		t.Fatal(a.err)
	}
	defer a.conn.Close()
	entries := a.conn.Log().Entries()
	last := entries[len(entries)-1].Note
	if want := len(hs.Response.Raw) + len(Text("after").Encode(Server, nil)); !strings.HasSuffix(last, "in "+strconv.Itoa(want)+" writes of up to 1, each read by the client before the next was written (seen in its socket's receive queue)") {
		t.Fatalf("the log's last entry %q does not say the %d octets went one by one, each read", last, want)
	}
}

// A client that connects and says nothing costs the timeout, then an
// error, not a hang.
func TestAcceptSilentClient(t *testing.T) {
	url, done := serveOnce(t, AcceptOptions{Timeout: 200 * time.Millisecond})
	nc, err := net.Dial("tcp4", strings.TrimSuffix(strings.TrimPrefix(url, "ws://"), "/case"))
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	select {
	case a := <-done:
		if a.err == nil || !strings.Contains(a.err.Error(), "timed out") {
			t.Fatalf("a silent client: %v, want a timeout", a.err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("Accept hung on a silent client")
	}
}
