package targets

import (
	"errors"
	"fmt"
	"net"
	"net/http"
	"time"

	"github.com/gorilla/websocket"

	"github.com/wsharness/wsharness/internal/utf8stream"
)

// gorillaLibrary is the module the gorilla targets run, as go.mod requires it
// (TestLibraryVersionsMatchGoMod).
const gorillaLibrary = "github.com/gorilla/websocket v1.5.3"

// newGorillaHandler serves gorilla/websocket configured the way its authors
// run Autobahn (examples/autobahn), plus what the library leaves to the
// application: fail-fast UTF-8 validation of text messages, a 32 MiB read
// limit, a Close frame for the few errors gorilla reports without one, and
// the handshake guard.
func newGorillaHandler() http.Handler { return gorillaHandler(false) }

// newGorillaDeflateHandler is the same with permessage-deflate
// (EnableCompression, as gorilla runs Autobahn): gorilla supports only no
// context takeover on both sides and never limits its window, so offers
// asking for server_max_window_bits below 15 are declined; the offer
// filter and RSV guard of deflate.go add what gorilla does not check.
func newGorillaDeflateHandler() http.Handler { return gorillaHandler(true) }

func gorillaHandler(compress bool) http.Handler {
	upgrader := &websocket.Upgrader{
		// Non-zero sizes make gorilla allocate its own buffers instead of
		// reusing net/http's, whatever net/http's sizes are.
		ReadBufferSize:    4096,
		WriteBufferSize:   4096,
		CheckOrigin:       acceptAnyOrigin,
		EnableCompression: compress,
	}
	return serveSessions(newHub(encodeGorilla), func(w http.ResponseWriter, r *http.Request) session {
		return upgradeGorilla(upgrader, w, r)
	})
}

// errOneByteClose ends a gorilla connection whose peer sent a Close frame
// with a 1-byte payload.
var errOneByteClose = errors.New("close frame with a 1-byte payload")

// gorillaSession is one configured gorilla connection.
type gorillaSession struct {
	conn  *websocket.Conn
	raw   net.Conn // the TCP connection, for the closing handshake
	watch *frameWatch
	buf   []byte // reused between messages
}

// upgradeGorilla completes the handshake, or returns nil when the upgrader
// has refused it (it has then answered the request).
func upgradeGorilla(up *websocket.Upgrader, w http.ResponseWriter, r *http.Request) session {
	s := &gorillaSession{watch: newFrameWatch()}
	// gorilla accepts the first permessage-deflate offer it is given.
	deflate := up.EnableCompression && len(filterDeflateOffers(r.Header, fullWindowOnly, 0)) > 0
	intercept := hijackInterceptor{ResponseWriter: w, wrap: func(c net.Conn) net.Conn {
		s.raw = c
		if deflate {
			c = newRSVGuard(c)
		}
		return &watchedConn{Conn: c, watch: s.watch}
	}}
	conn, err := up.Upgrade(intercept, r, nil)
	if err != nil {
		return nil
	}
	s.conn = conn
	conn.SetReadLimit(maxMessageSize)
	conn.SetCloseHandler(s.onClose)
	// gorilla's default ping handler already answers with the same
	// payload and its default pong handler ignores pongs.
	return s
}

// serve reads messages and hands each to deliver until the connection ends,
// then closes it.
func (s *gorillaSession) serve(deliver func(op opcode, payload []byte) error) {
	var text utf8stream.Validator
	for {
		mt, r, err := s.conn.NextReader()
		if err == nil {
			var validate *utf8stream.Validator
			if mt == websocket.TextMessage {
				validate = &text
			}
			s.buf, err = readMessageBody(inflateLimit(r), s.buf, validate)
		}
		if err != nil {
			s.fail(err)
			return
		}
		if err := deliver(opcode(mt), s.buf); err != nil {
			// The connection is broken, or a broadcast could not be
			// encoded; either way it ends here.
			s.sendClose(websocket.CloseInternalServerErr, "")
			closeGracefully(s.raw)
			return
		}
		s.buf = reusable(s.buf)
	}
}

// onClose answers a Close frame like gorilla's default handler (same code,
// no reason), except for a 1-byte payload, which gorilla reports as an
// empty Close (1005) although RFC 6455 §5.5.1 makes it a protocol error.
func (s *gorillaSession) onClose(code int, _ string) error {
	if code == websocket.CloseNoStatusReceived && s.watch.firstCloseLen == 1 {
		s.sendClose(websocket.CloseProtocolError, "close payload of 1 byte")
		return errOneByteClose
	}
	var reply []byte
	if code != websocket.CloseNoStatusReceived {
		reply = websocket.FormatCloseMessage(code, "")
	}
	if err := s.conn.WriteControl(websocket.CloseMessage, reply, time.Now().Add(closeWriteTimeout)); err != nil && !errors.Is(err, websocket.ErrCloseSent) {
		return fmt.Errorf("reply to close: %w", err)
	}
	return nil
}

// fail ends the connection after a read error, sending the Close frame
// gorilla has not sent. gorilla itself sends 1002 for malformed frames and
// close payloads and 1009 when a message passes the read limit.
func (s *gorillaSession) fail(err error) {
	var closed *websocket.CloseError
	switch {
	case errors.As(err, &closed):
		// The peer closed and onClose answered: the server now closes
		// TCP first, as RFC 6455 §7.1.1 asks.
		_ = s.raw.Close()
		return
	case errors.Is(err, errInvalidUTF8):
		s.sendClose(websocket.CloseInvalidFramePayloadData, "invalid UTF-8 in text message")
	case errors.Is(err, errRSVMisuse):
		// The guard has sent Close 1002.
	case errors.Is(err, errInflatedTooLarge):
		s.sendClose(websocket.CloseMessageTooBig, "")
	case isCorruptDeflate(err):
		s.sendClose(websocket.CloseInvalidFramePayloadData, "invalid compressed data")
	case errors.Is(err, websocket.ErrReadLimit) && s.watch.lengthMSB:
		// gorilla turns a 64-bit length with its top bit set into a
		// negative length and reports ErrReadLimit without a Close frame.
		s.sendClose(websocket.CloseProtocolError, "64-bit payload length with the most significant bit set")
	case errors.Is(err, websocket.ErrReadLimit):
		// Usually gorilla has sent 1009 already and this is a no-op; it
		// has not when the sum of frame lengths overflowed.
		s.sendClose(websocket.CloseMessageTooBig, "")
	}
	closeGracefully(s.raw)
}

// sendClose writes a Close frame unless one was sent already (gorilla then
// returns ErrCloseSent without writing).
func (s *gorillaSession) sendClose(code int, reason string) {
	_ = s.conn.WriteControl(websocket.CloseMessage, websocket.FormatCloseMessage(code, reason), time.Now().Add(closeWriteTimeout))
}

// gorillaSubscriber writes /broadcast messages to a gorilla connection.
type gorillaSubscriber struct{ conn *websocket.Conn }

// echo writes a message back.
func (s *gorillaSession) echo(op opcode, payload []byte) error {
	return s.conn.WriteMessage(int(op), payload)
}

func (s *gorillaSession) subscriber() subscriber { return gorillaSubscriber{s.conn} }

func (g gorillaSubscriber) writeBroadcast(m *broadcastMessage) error {
	return g.conn.WritePreparedMessage(m.encoded.(*websocket.PreparedMessage))
}

func (g gorillaSubscriber) disconnect() {
	_ = g.conn.WriteControl(websocket.CloseMessage,
		websocket.FormatCloseMessage(websocket.ClosePolicyViolation, "too slow"),
		time.Now().Add(closeWriteTimeout))
	_ = g.conn.Close()
}

// encodeGorilla frames a broadcast message once; a PreparedMessage keeps its
// own copy of the payload.
func encodeGorilla(op opcode, payload []byte) (any, func(), error) {
	pm, err := websocket.NewPreparedMessage(int(op), payload)
	if err != nil {
		return nil, nil, fmt.Errorf("gorilla: prepare message: %w", err)
	}
	return pm, nil, nil
}
