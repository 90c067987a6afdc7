package targets

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"sync"
	"time"

	"github.com/gobwas/ws"
	"github.com/gobwas/ws/wsflate"
	"github.com/gobwas/ws/wsutil"

	"github.com/wsharness/wsharness/internal/utf8stream"
)

// gobwasLibrary is the module the gobwas targets run, as go.mod requires it
// (TestLibraryVersionsMatchGoMod).
const gobwasLibrary = "github.com/gobwas/ws v1.5.0"

// newGobwasHandler serves gobwas/ws configured the way its authors run
// Autobahn (a wsutil.Reader that answers control frames between fragments),
// plus what the library leaves to the application: every Close frame the
// server sends (gobwas reports errors but never writes a Close for them),
// fail-fast UTF-8 validation, 32 MiB frame and message limits, one lock
// around all writes to a connection, and the handshake guard.
func newGobwasHandler() http.Handler { return gobwasHandler(false) }

func gobwasHandler(compress bool) http.Handler {
	return serveSessions(newHub(encodeGobwas), func(w http.ResponseWriter, r *http.Request) session {
		return upgradeGobwas(w, r, compress)
	})
}

// gobwasSession is one configured gobwas connection.
type gobwasSession struct {
	raw net.Conn
	out *gobwasWriter
	rd  *wsutil.Reader
	buf []byte // reused between messages
	// deflate is the permessage-deflate state when it was negotiated.
	deflate *gobwasDeflate
}

// upgradeGobwas completes the handshake, or returns nil when gobwas refused
// it (it has then answered the request). With compress, valid
// permessage-deflate offers are negotiated with wsflate.
func upgradeGobwas(w http.ResponseWriter, r *http.Request, compress bool) session {
	var up ws.HTTPUpgrader
	var ext *wsflate.Extension
	if compress && len(filterDeflateOffers(r.Header, nil, 0)) > 0 {
		ext = &wsflate.Extension{Parameters: wsflate.DefaultParameters}
		up.Negotiate = ext.Negotiate
	}
	conn, rw, _, err := up.Upgrade(r, w)
	if err != nil {
		if conn != nil {
			_ = conn.Close()
		}
		return nil
	}
	var src io.Reader = conn
	if n := rw.Reader.Buffered(); n > 0 {
		// Frames sent right behind the handshake may already sit in
		// net/http's buffer; read those first.
		src = io.MultiReader(io.LimitReader(rw.Reader, int64(n)), conn)
	}
	return newGobwasSession(conn, src, deflateAccepted(ext))
}

// deflateAccepted reports whether ext (nil when not offered) accepted an
// offer.
func deflateAccepted(ext *wsflate.Extension) bool {
	if ext == nil {
		return false
	}
	_, ok := ext.Accepted()
	return ok
}

// newGobwasSession configures a session on an established connection:
// conn is what the server writes to and closes, src what it reads frames
// from (conn, or conn behind bytes already buffered). The HTTP/1.1 upgrade
// and the HTTP/2 stream (gobwas_h2.go) both build their sessions here, so
// the same gobwas code serves both transports.
func newGobwasSession(conn net.Conn, src io.Reader, compressed bool) *gobwasSession {
	s := &gobwasSession{raw: conn, out: &gobwasWriter{conn: conn}}
	s.rd = &wsutil.Reader{
		Source:         bufio.NewReaderSize(src, 4096),
		State:          ws.StateServerSide,
		MaxFrameSize:   maxMessageSize,
		MaxMessageSize: maxMessageSize,
		OnIntermediate: s.handleControl,
		// CheckUTF8 stays off: serve validates text, failing fast.
	}
	if compressed {
		s.deflate = newGobwasDeflate()
		s.rd.State |= ws.StateExtended
		s.rd.Extensions = s.deflate.recvExtensions()
	}
	return s
}

// serve reads messages and hands each to deliver until the connection ends,
// then closes it.
func (s *gobwasSession) serve(deliver func(op opcode, payload []byte) error) {
	var text utf8stream.Validator
	for {
		op, err := s.nextMessage()
		if err == nil {
			var validate *utf8stream.Validator
			if op == ws.OpText {
				validate = &text
			}
			// s.rd.Read follows the message's continuation frames.
			s.buf, err = readMessageBody(s.body(), s.buf, validate)
		}
		if err != nil {
			s.fail(err)
			return
		}
		if err := deliver(opcode(op), s.buf); err != nil {
			// The connection is broken, or a broadcast could not be
			// encoded; either way it ends here.
			s.out.sendClose(ws.StatusInternalServerError, "")
			closeGracefully(s.raw)
			return
		}
		s.buf = reusable(s.buf)
	}
}

// nextMessage answers control frames until the first frame of a data
// message and returns its opcode. ws.CheckHeader (run by s.rd) has already
// rejected reserved opcodes and stray continuation frames.
func (s *gobwasSession) nextMessage() (ws.OpCode, error) {
	for {
		hdr, err := s.rd.NextFrame()
		if err != nil {
			return 0, err
		}
		if !hdr.OpCode.IsControl() {
			return hdr.OpCode, nil
		}
		if err := s.handleControl(hdr, s.rd); err != nil {
			return 0, err
		}
	}
}

// handleControl answers a control frame, between messages or between the
// fragments of one. It returns wsutil.ClosedError once the peer has closed
// and the server has answered.
func (s *gobwasSession) handleControl(hdr ws.Header, body io.Reader) error {
	// ws.CheckHeader has limited control payloads to 125 bytes.
	payload, err := io.ReadAll(io.LimitReader(body, ws.MaxControlFramePayloadSize))
	if err != nil {
		return fmt.Errorf("read %v payload: %w", hdr.OpCode, err)
	}
	switch hdr.OpCode {
	case ws.OpPing:
		return s.out.writeFrame(ws.OpPong, payload)
	case ws.OpClose:
		if len(payload) == 0 {
			s.out.sendCloseFrame(nil)
			return wsutil.ClosedError{Code: ws.StatusNoStatusRcvd}
		}
		code, reason := ws.ParseCloseFrameData(payload)
		if err := ws.CheckCloseFrameData(code, reason); err != nil {
			return err // a ws.ProtocolError: fail answers 1002
		}
		// Like gobwas' own ControlHandler: echo the code, no reason.
		s.out.sendCloseFrame(payload[:2])
		return wsutil.ClosedError{Code: code, Reason: reason}
	}
	return nil // an unsolicited pong needs no answer
}

// fail ends the connection after a read error with the Close frame the error
// calls for, then closes TCP.
func (s *gobwasSession) fail(err error) {
	var (
		closed   wsutil.ClosedError
		protocol ws.ProtocolError
	)
	switch {
	case errors.As(err, &closed):
		// The peer closed and handleControl answered: the server now
		// closes TCP first, as RFC 6455 §7.1.1 asks.
		_ = s.raw.Close()
		return
	case errors.As(err, &protocol), errors.Is(err, ws.ErrHeaderLengthMSB):
		s.out.sendClose(ws.StatusProtocolError, err.Error())
	case errors.Is(err, errInvalidUTF8):
		s.out.sendClose(ws.StatusInvalidFramePayloadData, "invalid UTF-8 in text message")
	case isCorruptDeflate(err):
		s.out.sendClose(ws.StatusInvalidFramePayloadData, "invalid compressed data")
	case errors.Is(err, wsutil.ErrFrameTooLarge), errors.Is(err, wsutil.ErrMessageTooLarge), errors.Is(err, errInflatedTooLarge):
		s.out.sendClose(ws.StatusMessageTooBig, "")
	}
	closeGracefully(s.raw)
}

// errCloseSent is returned for a write after the server's Close frame.
var errCloseSent = errors.New("close frame already sent")

// gobwasWriter serializes the writes to one gobwas connection. gobwas does
// no locking, and control replies (reader goroutine), echoes and broadcasts
// (writer goroutine) would otherwise interleave their bytes.
type gobwasWriter struct {
	conn      net.Conn
	mu        sync.Mutex
	closeSent bool // after the Close frame nothing more may be sent
}

// writeMessage writes one unfragmented data frame.
func (w *gobwasWriter) writeMessage(op opcode, payload []byte) error {
	return w.writeFrame(ws.OpCode(op), payload)
}

// writeFrame writes one frame.
func (w *gobwasWriter) writeFrame(op ws.OpCode, payload []byte) error {
	return w.writeFrameRsv(op, 0, payload)
}

// writeFrameRsv is writeFrame with RSV bits (RSV1 for a compressed message).
// Header and payload go out in one write (one writev on TCP, one flush on
// an HTTP/2 stream).
func (w *gobwasWriter) writeFrameRsv(op ws.OpCode, rsv byte, payload []byte) error {
	var header bytes.Buffer
	header.Grow(ws.MaxHeaderSize)
	if err := ws.WriteHeader(&header, ws.Header{Fin: true, Rsv: rsv, OpCode: op, Length: int64(len(payload))}); err != nil {
		return fmt.Errorf("encode %v header: %w", op, err)
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.closeSent {
		return errCloseSent
	}
	if op == ws.OpClose {
		w.closeSent = true
	}
	if err := writeBuffers(w.conn, net.Buffers{header.Bytes(), payload}); err != nil {
		return fmt.Errorf("write %v frame: %w", op, err)
	}
	return nil
}

// writeEncoded writes a frame encoded by encodeGobwas.
func (w *gobwasWriter) writeEncoded(frame []byte) error {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.closeSent {
		return errCloseSent
	}
	if _, err := w.conn.Write(frame); err != nil {
		return fmt.Errorf("write broadcast frame: %w", err)
	}
	return nil
}

// sendClose writes a Close frame with code and reason, unless one was sent.
func (w *gobwasWriter) sendClose(code ws.StatusCode, reason string) {
	w.sendCloseFrame(ws.NewCloseFrameBody(code, reason))
}

// sendCloseFrame writes a Close frame with the given payload, unless one was
// sent. It is best effort: the write deadline also frees the lock from a
// data write stuck on a peer that does not read.
func (w *gobwasWriter) sendCloseFrame(payload []byte) {
	_ = w.conn.SetWriteDeadline(time.Now().Add(closeWriteTimeout))
	_ = w.writeFrame(ws.OpClose, payload)
}

// gobwasSubscriber writes /broadcast messages to a gobwas connection.
type gobwasSubscriber struct{ out *gobwasWriter }

func (s *gobwasSession) subscriber() subscriber { return gobwasSubscriber{s.out} }

func (g gobwasSubscriber) writeBroadcast(m *broadcastMessage) error {
	return g.out.writeEncoded(m.encoded.([]byte))
}

func (g gobwasSubscriber) disconnect() {
	g.out.sendClose(ws.StatusPolicyViolation, "too slow")
	_ = g.out.conn.Close()
}

// encodeGobwas frames a broadcast message once, as bytes written as they are
// to every connection.
func encodeGobwas(op opcode, payload []byte) (any, func(), error) {
	f := ws.NewFrame(ws.OpCode(op), true, payload)
	buf := bytes.NewBuffer(make([]byte, 0, ws.HeaderSize(f.Header)+len(payload)))
	if err := ws.WriteFrame(buf, f); err != nil {
		return nil, nil, fmt.Errorf("gobwas: encode frame: %w", err)
	}
	return buf.Bytes(), nil, nil
}
