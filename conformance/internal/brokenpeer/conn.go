package brokenpeer

import (
	"bufio"
	"encoding/binary"
	"fmt"
	"io"
	"net"
	"time"
	"unicode/utf8"

	"github.com/wsharness/wsharness/internal/utf8stream"
	"github.com/wsharness/wsharness/wire"
)

// endKind is how a connection ends once the frame loop stops.
type endKind int

const (
	// endLinger: a Close was sent; half-close TCP and drain.
	endLinger endKind = iota
	// endWaitForClient: a Close was sent; keep TCP open until the client
	// drops it (the NoTCPClose defect).
	endWaitForClient
	// endDrop: close TCP at once (peer gone, or NoCloseReply).
	endDrop
)

// Status codes the server sends (RFC 6455 §7.4.1).
const (
	codeNormal        = 1000
	codeProtocolError = 1002
	codeInvalidData   = 1007
	codeTooBig        = 1009
)

// serverKey masks server frames under SendWrongMask.
var serverKey = [4]byte{0x5a, 0x11, 0xc3, 0x8e}

// conn is one upgraded connection, driven by a single goroutine.
type conn struct {
	d Defects
	// role is the peer's own: the frames it reads come from the other.
	role wire.Role
	nc   net.Conn
	br   *bufio.Reader

	// msgOp is the opcode of the fragmented message in progress (0: none);
	// msg is its payload so far and text its UTF-8 state.
	msgOp byte
	msg   []byte
	text  utf8stream.Validator

	// deflate is the negotiated permessage-deflate state (nil: none), and
	// compressed says the message in progress had RSV1.
	deflate    *deflateState
	compressed bool

	// ctlOp and ctl hold a fragmented control frame in progress, which only
	// the AcceptFragmentedControl defect admits.
	ctlOp byte
	ctl   []byte

	hdr [14]byte
	// framesSent counts the frames written (the counting mask-key knob).
	framesSent uint32
}

// failure is a reason to fail the connection with a status code.
type failure struct {
	code uint16
	why  string
}

func fail(code uint16, format string, args ...any) *failure {
	return &failure{code: code, why: fmt.Sprintf(format, args...)}
}

// run reads frames until the connection must end.
func (c *conn) run() endKind {
	for {
		h, err := c.readHeader()
		if err != nil {
			return endDrop
		}
		end, done, f := c.frame(h)
		if f != nil {
			return c.failWith(f)
		}
		if done {
			return end
		}
	}
}

// readHeader reads one frame header.
func (c *conn) readHeader() (wire.Header, error) {
	_ = c.nc.SetReadDeadline(time.Now().Add(idleTimeout))
	if _, err := io.ReadFull(c.br, c.hdr[:2]); err != nil {
		return wire.Header{}, err
	}
	n := 2
	switch c.hdr[1] & 0x7F {
	case 126:
		n += 2
	case 127:
		n += 8
	}
	if c.hdr[1]&0x80 != 0 {
		n += 4
	}
	if _, err := io.ReadFull(c.br, c.hdr[2:n]); err != nil {
		return wire.Header{}, err
	}
	return wire.ParseHeader(c.hdr[:n])
}

func reservedOpcode(op byte) bool { return (op >= 3 && op <= 7) || op >= 0xB }

// frame handles one frame whose header was read: it checks the header
// before reading the payload, so a bad header fails at once. done reports
// that the connection ends as end says.
func (c *conn) frame(h wire.Header) (end endKind, done bool, f *failure) {
	d := c.d
	switch {
	case h.Masked != (c.role.Peer() == wire.Client) && !d.AcceptWrongMask:
		if h.Masked {
			return 0, false, fail(codeProtocolError, "server frame is masked")
		}
		return 0, false, fail(codeProtocolError, "client frame is not masked")
	case !c.rsvAllowed(h) && !d.IgnoreRSV:
		return 0, false, fail(codeProtocolError, "RSV bits %03b on a %s frame", h.RSV, wire.OpName(h.Opcode))
	case h.LengthForm == wire.Length64 && h.Length>>63 != 0:
		return 0, false, fail(codeProtocolError, "64-bit length with the most significant bit set")
	case reservedOpcode(h.Opcode):
		if !d.IgnoreReservedOpcodes {
			return 0, false, fail(codeProtocolError, "reserved opcode %d", h.Opcode)
		}
		return c.skip(h)
	}
	if wire.IsControl(h.Opcode) {
		switch {
		case !h.Fin && !d.AcceptFragmentedControl:
			return 0, false, fail(codeProtocolError, "fragmented control frame")
		case h.Length > 125 && !d.AcceptLargeControl:
			return 0, false, fail(codeProtocolError, "control frame of %d bytes", h.Length)
		case h.Length > maxMessage:
			return 0, false, fail(codeTooBig, "control frame of %d bytes", h.Length)
		case c.ctlOp != 0:
			return 0, false, fail(codeProtocolError, "control frame inside a fragmented control frame")
		}
		if c.msgOp != 0 && d.DropInterleavedControl {
			return c.skip(h)
		}
		p, _, err := c.readPayload(h, nil)
		if err != nil {
			return endDrop, true, nil
		}
		if !h.Fin {
			c.ctlOp, c.ctl = h.Opcode, p
			return 0, false, nil
		}
		return c.control(h.Opcode, p)
	}
	if h.Opcode == wire.OpContinuation && c.ctlOp != 0 {
		if uint64(len(c.ctl))+h.Length > maxMessage {
			return 0, false, fail(codeTooBig, "control message over %d bytes", maxMessage)
		}
		p, _, err := c.readPayload(h, nil)
		if err != nil {
			return endDrop, true, nil
		}
		c.ctl = append(c.ctl, p...)
		if !h.Fin {
			return 0, false, nil
		}
		op, payload := c.ctlOp, c.ctl
		c.ctlOp, c.ctl = 0, nil
		return c.control(op, payload)
	}
	return c.data(h)
}

// skip reads and drops a frame's payload.
func (c *conn) skip(h wire.Header) (endKind, bool, *failure) {
	if h.Length > maxMessage {
		return 0, false, fail(codeTooBig, "frame of %d bytes", h.Length)
	}
	if _, _, err := c.readPayload(h, nil); err != nil {
		return endDrop, true, nil
	}
	return 0, false, nil
}

// data handles a text, binary or continuation frame.
func (c *conn) data(h wire.Header) (endKind, bool, *failure) {
	d := c.d
	switch {
	case h.Opcode == wire.OpContinuation && c.msgOp == 0:
		if d.AcceptOrphanContinuation {
			return c.skip(h)
		}
		return 0, false, fail(codeProtocolError, "continuation frame with no message to continue")
	case h.Opcode != wire.OpContinuation && c.msgOp != 0:
		return 0, false, fail(codeProtocolError, "new %s message inside a fragmented message", wire.OpName(h.Opcode))
	case uint64(len(c.msg))+h.Length > c.maxMessage():
		return 0, false, fail(codeTooBig, "message over %d bytes", c.maxMessage())
	}
	if h.Opcode != wire.OpContinuation {
		c.msgOp, c.msg, c.text = h.Opcode, nil, utf8stream.Validator{}
		c.compressed = c.deflate != nil && h.RSV&wire.RSV1 != 0
	}
	// Compressed text is checked once decompressed, in inflate.
	isText := c.msgOp == wire.OpText && !c.compressed
	var check func([]byte) bool
	if isText && !d.EchoInvalidUTF8 && !d.NoFailFastUTF8 {
		check = c.text.Feed // fail fast: reject the first byte no valid text can have
	}
	p, rejected, err := c.readPayload(h, check)
	switch {
	case err != nil:
		return endDrop, true, nil
	case rejected:
		return 0, false, fail(codeInvalidData, "text message is not valid UTF-8")
	}
	c.msg = append(c.msg, p...)
	if h.Fin && isText && !d.EchoInvalidUTF8 {
		if (d.NoFailFastUTF8 && !utf8.Valid(c.msg)) || (!d.NoFailFastUTF8 && !c.text.Complete()) {
			return 0, false, fail(codeInvalidData, "text message is not valid UTF-8")
		}
	}
	op := c.msgOp
	if d.EchoFragmentsSeparately {
		if err := c.write(op, p); err != nil {
			return endDrop, true, nil
		}
	}
	if !h.Fin {
		return 0, false, nil
	}
	msg := c.msg
	c.msgOp, c.msg = 0, nil
	if c.compressed {
		var f *failure
		if msg, f = c.inflate(op, msg); f != nil {
			return 0, false, f
		}
	}
	switch {
	case d.SwallowLargeMessages && len(msg) > swallowOver:
		return 0, false, nil
	case d.CorruptLargeMessages && len(msg) >= corruptFrom:
		msg[len(msg)/2] ^= 1 // ASCII stays ASCII: the text is still valid UTF-8
	}
	if !d.EchoFragmentsSeparately {
		if err := c.echo(op, msg); err != nil {
			return endDrop, true, nil
		}
	}
	if d.ServerClosesFirstOnEcho {
		if err := c.write(wire.OpClose, wire.ClosePayload(codeNormal, "")); err != nil {
			return endDrop, true, nil
		}
		return c.afterClose(), true, nil
	}
	return 0, false, nil
}

// maxMessage is the largest message the server accepts.
func (c *conn) maxMessage() uint64 {
	if c.d.RefuseLargeMessages {
		return refuseOver
	}
	return maxMessage
}

// control handles a complete ping, pong or close.
func (c *conn) control(op byte, p []byte) (endKind, bool, *failure) {
	switch op {
	case wire.OpPing:
		switch {
		case c.d.NoPong:
			return 0, false, nil
		case c.d.WrongPongPayload:
			p = nil
		}
		if err := c.write(wire.OpPong, p); err != nil {
			return endDrop, true, nil
		}
		return 0, false, nil
	case wire.OpPong:
		return 0, false, nil // unsolicited or not, a Pong needs no answer
	}
	return c.closeFrame(p)
}

// closeFrame answers the other end's Close (§5.5.1, §7.4).
func (c *conn) closeFrame(p []byte) (endKind, bool, *failure) {
	if c.d.IgnoreClose {
		return 0, false, nil
	}
	var reply []byte
	switch {
	case len(p) == 1 && !c.d.ClientAcceptsOneByteClose:
		return 0, false, fail(codeProtocolError, "close frame with a 1-byte body")
	case len(p) >= 2:
		code := binary.BigEndian.Uint16(p)
		if !c.d.AcceptInvalidCloseCodes && !validCloseCode(code) {
			return 0, false, fail(codeProtocolError, "invalid close code %d", code)
		}
		if !c.d.EchoInvalidUTF8 && !utf8.Valid(p[2:]) {
			return 0, false, fail(codeInvalidData, "close reason is not valid UTF-8")
		}
		reply = wire.ClosePayload(code, "")
	}
	if c.d.NoCloseReply {
		return endDrop, true, nil
	}
	if err := c.write(wire.OpClose, reply); err != nil {
		return endDrop, true, nil
	}
	if c.d.ClientEchoesAfterClose {
		return 0, false, nil // the frame loop goes on
	}
	return c.afterClose(), true, nil
}

// validCloseCode reports whether a received status code is one a peer may
// send: 1000–1003, 1007–1014 and 3000–4999 (§7.4.1, §7.4.2, IANA).
func validCloseCode(code uint16) bool {
	switch {
	case code >= 1000 && code <= 1003:
		return true
	case code >= 1007 && code <= 1014:
		return true
	case code >= 3000 && code <= 4999:
		return true
	}
	return false
}

// failWith fails the connection: Close with the code, then close TCP.
func (c *conn) failWith(f *failure) endKind {
	reason := f.why
	if len(reason) > 123 {
		reason = reason[:123]
	}
	if err := c.write(wire.OpClose, wire.ClosePayload(f.code, reason)); err != nil {
		return endDrop
	}
	return c.afterClose()
}

// afterClose says how TCP ends once the server has sent its Close.
func (c *conn) afterClose() endKind {
	if c.d.NoTCPClose {
		return endWaitForClient
	}
	return endLinger
}

// readPayload reads a frame's payload as it arrives, unmasking it and
// passing each chunk to check (when set); it stops at the first chunk
// check rejects and reports it. The buffer grows only as bytes arrive.
func (c *conn) readPayload(h wire.Header, check func([]byte) bool) (p []byte, rejected bool, err error) {
	remaining := h.Length
	p = make([]byte, 0, min(remaining, 64<<10))
	chunk := make([]byte, min(remaining, 32<<10))
	pos := 0
	for remaining > 0 {
		_ = c.nc.SetReadDeadline(time.Now().Add(idleTimeout))
		k, rerr := c.br.Read(chunk[:min(remaining, uint64(len(chunk)))])
		if k > 0 {
			seg := chunk[:k]
			if h.Masked {
				wire.Mask(seg, h.Key, pos)
			}
			pos += k
			remaining -= uint64(k)
			if check != nil && !check(seg) {
				return nil, true, nil
			}
			p = append(p, seg...)
		}
		if rerr != nil && remaining > 0 {
			return nil, false, rerr
		}
	}
	return p, false, nil
}

// write sends one final frame, masked as the peer's role requires unless
// SendWrongMask says otherwise.
func (c *conn) write(op byte, payload []byte) error {
	return c.writeFrame(wire.Frame{Fin: true, Opcode: op, Payload: payload})
}

// writeFrame sends one frame as the masking and length knobs say.
func (c *conn) writeFrame(f wire.Frame) error {
	payload := f.Payload
	switch {
	case c.d.SendWrongMask && c.role == wire.Server:
		f = wire.WithKey(f, serverKey)
	case c.d.SendWrongMask:
		f.Mask = wire.MaskNever
	}
	if key, ok := c.maskKey(); ok {
		f.Key = &key
	}
	if c.d.SixteenBitLengths && len(payload) > 125 {
		n := uint64(uint16(len(payload)))
		f.LengthForm, f.DeclaredLength = wire.Length16, &n
	}
	_ = c.nc.SetWriteDeadline(time.Now().Add(writeTimeout))
	_, err := c.nc.Write(f.Encode(c.role, nil))
	return err
}
