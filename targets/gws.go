package targets

import (
	"bytes"
	"fmt"
	"net"
	"net/http"
	"time"

	"github.com/lxzan/gws"
)

// gwsLibrary is the module the gws targets run, as go.mod requires it
// (TestLibraryVersionsMatchGoMod).
const gwsLibrary = "github.com/lxzan/gws v1.8.9"

// newGWSHandler serves lxzan/gws configured the way its authors run
// Autobahn (examples/autobahn): UTF-8 checks on, pongs that echo the ping
// payload, a recovering message handler, plus a 32 MiB limit, a graceful TCP
// close, a guard against a crash on a malformed length, and the handshake
// guard. gws validates UTF-8 only once a message is complete; it has no hook
// to fail fast.
func newGWSHandler() http.Handler {
	h := newHub(encodeGWS)
	echo := gws.NewUpgrader(&gwsEvents{pongEchoesPing: true, deliver: gwsEcho}, gwsOptions())
	broadcast := gws.NewUpgrader(&gwsEvents{pongEchoesPing: true, deliver: gwsPublish(h)}, gwsOptions())

	mux := http.NewServeMux()
	mux.HandleFunc(EchoPath, handshakeGuard(func(w http.ResponseWriter, r *http.Request) {
		if socket := upgradeGWS(echo, w, r, false); socket != nil {
			go runGWS(socket, nil, true)
		}
	}))
	mux.HandleFunc(BroadcastPath, handshakeGuard(func(w http.ResponseWriter, r *http.Request) {
		if socket := upgradeGWS(broadcast, w, r, false); socket != nil {
			go runGWS(socket, h, true)
		}
	}))
	return mux
}

// gwsOptions are the configured targets' options.
func gwsOptions() *gws.ServerOption {
	return &gws.ServerOption{
		CheckUtf8Enabled:    true,
		ReadMaxPayloadSize:  maxMessageSize,
		WriteMaxPayloadSize: maxMessageSize,
		Recovery:            gws.Recovery,
		// ParallelEnabled stays false: messages are handled in order.
	}
}

// upgradeGWS completes the handshake on a connection whose Close is
// graceful (gws closes TCP right after writing its Close frame), and whose
// RSV bits are guarded when permessage-deflate is negotiated (deflate.go).
// It returns nil when gws refused the handshake (it has then answered the
// request).
func upgradeGWS(up *gws.Upgrader, w http.ResponseWriter, r *http.Request, deflate bool) *gws.Conn {
	intercept := hijackInterceptor{ResponseWriter: w, wrap: func(c net.Conn) net.Conn {
		if deflate {
			c = newRSVGuard(c)
		}
		return &gracefulConn{Conn: c}
	}}
	socket, err := up.Upgrade(intercept, r)
	if err != nil {
		return nil
	}
	return socket
}

// runGWS runs a connection's read loop: the README's `go socket.ReadLoop()`,
// plus hub membership for /broadcast (h non-nil) and a recover.
//
// The recover is needed because gws v1.8.9 panics in its read loop, where
// the Recovery option does not reach, on a data frame whose 64-bit length
// has the most significant bit set: the length becomes a negative int that
// passes the size check and is then used as a slice bound. Unrecovered, one
// frame header from any client would crash the whole harness. If sendClose
// is set the server answers with Close 1002, as for any other malformed
// frame; otherwise it just drops the connection, which is what a crashed
// server looks like to the peer.
func runGWS(socket *gws.Conn, h *hub, sendClose bool) {
	if h != nil {
		m := h.join(gwsSubscriber{socket})
		defer h.leave(m) // runs after the connection is closed
	}
	defer func() {
		if recover() == nil {
			return
		}
		if sendClose {
			_ = socket.NetConn().SetWriteDeadline(time.Now().Add(closeWriteTimeout))
			_ = socket.WriteClose(1002, []byte("malformed frame"))
		}
		_ = socket.NetConn().Close()
	}()
	socket.ReadLoop()
}

// gwsEvents is the gws event handler of the targets.
type gwsEvents struct {
	gws.BuiltinEventHandler
	// pongEchoesPing answers a ping with its payload; gws' built-in
	// handler answers with an empty pong, against RFC 6455 §5.5.3.
	pongEchoesPing bool
	deliver        func(socket *gws.Conn, op gws.Opcode, payload []byte)
}

func (e *gwsEvents) OnPing(socket *gws.Conn, payload []byte) {
	if e.pongEchoesPing {
		_ = socket.WritePong(payload)
		return
	}
	e.BuiltinEventHandler.OnPing(socket, payload)
}

func (e *gwsEvents) OnMessage(socket *gws.Conn, message *gws.Message) {
	defer message.Close() // returns the buffer to gws' pool
	e.deliver(socket, message.Opcode, message.Bytes())
}

// gwsEcho writes a message back. gws sends it as one frame; a write error
// has already closed the connection.
func gwsEcho(socket *gws.Conn, op gws.Opcode, payload []byte) {
	_ = socket.WriteMessage(op, payload)
}

// gwsPublish returns a deliver function that broadcasts on h.
func gwsPublish(h *hub) func(*gws.Conn, gws.Opcode, []byte) {
	return func(socket *gws.Conn, op gws.Opcode, payload []byte) {
		if err := h.publish(opcode(op), payload); err != nil {
			_ = socket.WriteClose(1011, nil)
		}
	}
}

// gwsSubscriber writes /broadcast messages to a gws connection.
type gwsSubscriber struct{ socket *gws.Conn }

// writeBroadcast queues the shared frame on the connection's own write queue
// and waits until gws has written it: the queue runs jobs one at a time in
// order, so a job queued right behind runs after the write. Waiting keeps the
// hub's bounded queue the only buffer, so that a slow reader shows up there.
func (g gwsSubscriber) writeBroadcast(m *broadcastMessage) error {
	if err := m.encoded.(*gws.Broadcaster).Broadcast(g.socket); err != nil {
		return fmt.Errorf("gws broadcast: %w", err)
	}
	written := make(chan struct{})
	g.socket.Async(func() { close(written) })
	<-written
	return nil
}

func (g gwsSubscriber) disconnect() {
	// The deadline frees gws' write lock from a write stuck on a peer that
	// does not read, so WriteClose (which takes it) cannot hang.
	_ = g.socket.NetConn().SetWriteDeadline(time.Now().Add(closeWriteTimeout))
	_ = g.socket.WriteClose(1008, []byte("too slow"))
	_ = g.socket.NetConn().Close()
}

// encodeGWS prepares a broadcast message once for all connections. The
// Broadcaster frames the payload lazily, so it gets its own copy; Close
// (which must follow every Broadcast call) returns the frame to gws' pool.
func encodeGWS(op opcode, payload []byte) (any, func(), error) {
	b := gws.NewBroadcaster(gws.Opcode(op), bytes.Clone(payload))
	return b, func() { _ = b.Close() }, nil
}
