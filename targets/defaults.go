package targets

import (
	"bytes"
	"io"
	"net"
	"net/http"

	"github.com/gobwas/ws"
	"github.com/gobwas/ws/wsutil"
	"github.com/gorilla/websocket"
	"github.com/lxzan/gws"
)

// The "-default" targets run each library the way its README shows: no
// handshake guard, no UTF-8 or Close fix-ups, library defaults throughout.
// They deviate from RFC 6455 in known ways (gws answers pings with empty
// pongs, gorilla echoes invalid UTF-8, gobwas drops TCP without a Close
// frame on errors, ...), which is what they are for. /broadcast uses the
// same hub as the configured targets, on top of the default read loop.

// newGorillaDefaultHandler: the default Upgrader (Origin check disabled),
// then ReadMessage/WriteMessage until the first error.
func newGorillaDefaultHandler() http.Handler {
	upgrader := &websocket.Upgrader{CheckOrigin: acceptAnyOrigin}
	h := newHub(encodeGorilla)
	return serveDefault(func(w http.ResponseWriter, r *http.Request, broadcast bool) {
		conn, err := upgrader.Upgrade(w, r, nil)
		if err != nil {
			return
		}
		deliver := func(op opcode, msg []byte) error { return conn.WriteMessage(int(op), msg) }
		if broadcast {
			m := h.join(gorillaSubscriber{conn})
			defer h.leave(m)
			deliver = h.publish
		}
		defer conn.Close() // before leave, so that a blocked write returns
		relay(func() (opcode, []byte, error) {
			mt, msg, err := conn.ReadMessage()
			return opcode(mt), msg, err
		}, deliver)
	})
}

// newGobwasDefaultHandler: ws.UpgradeHTTP, then wsutil.ReadClientData and
// wsutil.WriteServerMessage until the first error, then close TCP.
func newGobwasDefaultHandler() http.Handler {
	h := newHub(encodeGobwas)
	return serveDefault(func(w http.ResponseWriter, r *http.Request, broadcast bool) {
		conn, _, _, err := ws.UpgradeHTTP(r, w)
		if err != nil {
			if conn != nil {
				_ = conn.Close()
			}
			return
		}
		var rw io.ReadWriter = conn
		deliver := func(op opcode, msg []byte) error { return wsutil.WriteServerMessage(conn, ws.OpCode(op), msg) }
		if broadcast {
			out := &gobwasWriter{conn: conn}
			m := h.join(gobwasSubscriber{out})
			defer h.leave(m)
			// The control replies ReadClientData writes and the broadcasts
			// share the connection, so they go through the same lock.
			rw = struct {
				io.Reader
				io.Writer
			}{conn, &frameAlignedWriter{out: out}}
			deliver = h.publish
		}
		defer conn.Close() // before leave, so that a blocked write returns
		relay(func() (opcode, []byte, error) {
			msg, op, err := wsutil.ReadClientData(rw)
			return opcode(op), msg, err
		}, deliver)
	})
}

// serveDefault serves EchoPath and BroadcastPath with one handler of a
// "-default" target, told which endpoint it serves.
func serveDefault(handle func(w http.ResponseWriter, r *http.Request, broadcast bool)) http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc(EchoPath, func(w http.ResponseWriter, r *http.Request) { handle(w, r, false) })
	mux.HandleFunc(BroadcastPath, func(w http.ResponseWriter, r *http.Request) { handle(w, r, true) })
	return mux
}

// relay hands every message read to deliver until reading or delivering
// fails.
func relay(read func() (opcode, []byte, error), deliver func(op opcode, msg []byte) error) {
	for {
		op, msg, err := read()
		if err != nil || deliver(op, msg) != nil {
			return
		}
	}
}

// frameAlignedWriter writes raw bytes under a gobwasWriter's lock. gobwas'
// ws.WriteFrame (used for its 1002 reply to a bad Close) writes a header and
// its payload in two calls; locking each call alone would let a broadcast
// frame slip in between, so a lone header is held back and written together
// with the payload that follows it. Only the reader goroutine writes to it.
type frameAlignedWriter struct {
	out    *gobwasWriter
	header []byte // a header whose payload has not been written yet
}

func (f *frameAlignedWriter) Write(p []byte) (int, error) {
	if f.header == nil {
		if h, err := ws.ReadHeader(bytes.NewReader(p)); err == nil && h.Length > 0 && ws.HeaderSize(h) == len(p) {
			f.header = bytes.Clone(p)
			return len(p), nil
		}
	}
	bufs := net.Buffers{f.header, p}
	f.header = nil
	f.out.mu.Lock()
	defer f.out.mu.Unlock()
	if _, err := bufs.WriteTo(f.out.conn); err != nil {
		return 0, err
	}
	return len(p), nil
}

// newGWSDefaultHandler: gws.NewUpgrader with the default options and an
// event handler that embeds gws.BuiltinEventHandler and echoes in
// OnMessage; `go socket.ReadLoop()` per connection.
func newGWSDefaultHandler() http.Handler {
	h := newHub(encodeGWS)
	echo := gws.NewUpgrader(&gwsEvents{deliver: gwsEcho}, nil)
	broadcast := gws.NewUpgrader(&gwsEvents{deliver: gwsPublish(h)}, nil)
	mux := http.NewServeMux()
	mux.HandleFunc(EchoPath, func(w http.ResponseWriter, r *http.Request) {
		if socket, err := echo.Upgrade(w, r); err == nil {
			// runGWS recovers the read-loop panic gws has on a bogus
			// length, which would otherwise crash the harness; here it
			// only drops the connection.
			go runGWS(socket, nil, false)
		}
	})
	mux.HandleFunc(BroadcastPath, func(w http.ResponseWriter, r *http.Request) {
		if socket, err := broadcast.Upgrade(w, r); err == nil {
			go runGWS(socket, h, false)
		}
	})
	return mux
}
