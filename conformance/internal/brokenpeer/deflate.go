package brokenpeer

import (
	"errors"
	"fmt"
	"strings"
	"unicode/utf8"

	"github.com/wsharness/wsharness/wire"
	"github.com/wsharness/wsharness/wire/deflate"
	"github.com/wsharness/wsharness/wire/handshake"
)

// permessage-deflate (RFC 7692) on the server side. The correct server
// accepts the first valid offer, answers every parameter it was offered,
// limits the client's window to 12 bits when it may (so the client's
// window-bounded compressor is exercised), compresses every echo with RSV1
// on one frame, and keeps each direction's LZ77 window exactly as the
// answer says. The Deflate* knobs break one rule each.

// clientWindowAnswer is the client_max_window_bits the server answers to
// a bare client_max_window_bits offer.
const clientWindowAnswer = 12

// deflateState is one connection's negotiated compression.
type deflateState struct {
	d  Defects
	tx *deflate.Compressor   // what the server sends
	rx *deflate.Decompressor // what the client sends
	// echoes counts compressed-capable echoes, for the knob that sends
	// the first one uncompressed.
	echoes int
}

// negotiateDeflate answers the request's offers: the response element and
// the connection state, or "" and nil to decline.
func (s *Server) negotiateDeflate(values []string) (string, *deflateState) {
	exts, err := handshake.ParseExtensions(values)
	if err != nil || s.d.NoDeflate {
		return "", nil
	}
	for _, offer := range deflate.Elements(exts) {
		if len(deflate.OfferProblems(offer)) > 0 {
			if !s.d.DeflateAcceptInvalidOffers {
				continue // RFC 7692 §7: MUST decline
			}
			offer = handshake.Extension{Name: deflate.ExtensionName} // accepted as if it had no parameters
		}
		return s.acceptDeflate(offer)
	}
	return "", nil
}

// acceptDeflate builds the answer to a valid offer and the state it implies.
func (s *Server) acceptDeflate(offer handshake.Extension) (string, *deflateState) {
	resp := []string{deflate.ExtensionName}
	serverBits, clientBits := 15, 15
	_, serverNCT := offer.Param(deflate.ServerNoContextTakeover)
	_, clientNCT := offer.Param(deflate.ClientNoContextTakeover)
	if serverNCT {
		resp = append(resp, deflate.ServerNoContextTakeover)
	}
	if clientNCT {
		resp = append(resp, deflate.ClientNoContextTakeover)
	}
	if p, ok := offer.Param(deflate.ServerMaxWindowBits); ok {
		_, _ = fmt.Sscan(p.Value, &serverBits) // OfferProblems checked it
		resp = append(resp, fmt.Sprintf("%s=%d", deflate.ServerMaxWindowBits, serverBits))
	}
	if p, ok := offer.Param(deflate.ClientMaxWindowBits); ok {
		clientBits = clientWindowAnswer
		if p.HasValue {
			_, _ = fmt.Sscan(p.Value, &clientBits)
		}
		resp = append(resp, fmt.Sprintf("%s=%d", deflate.ClientMaxWindowBits, clientBits))
	} else if s.d.DeflateUnofferedClientWindowBits {
		resp = append(resp, deflate.ClientMaxWindowBits+"=15")
	}
	return strings.Join(resp, "; "), s.d.newDeflateState(wire.Server, serverBits, serverNCT, clientBits, clientNCT)
}

// newDeflateState is the compression of an end playing role that sends
// within 2^txBits bytes (resetting per message when txNCT) and receives
// from a peer sending within 2^rxBits (rxNCT likewise), with the knobs
// that break it.
func (d Defects) newDeflateState(role wire.Role, txBits int, txNCT bool, rxBits int, rxNCT bool) *deflateState {
	ignoresWindow, forgetsPeer := d.DeflateIgnoresServerWindow, d.DeflateForgetsClientContext
	if role == wire.Client {
		ignoresWindow, forgetsPeer = d.ClientDeflateIgnoresWindow, d.ClientDeflateForgetsServerContext
	}
	if ignoresWindow {
		txBits = 15
	}
	if d.DeflateKeepsContextAfterNoContext {
		txNCT = false
	}
	if forgetsPeer {
		rxNCT = true
	}
	return &deflateState{d: d, tx: deflate.NewCompressor(txBits, txNCT), rx: deflate.NewDecompressor(rxBits, rxNCT, maxMessage)}
}

// rsvAllowed reports whether a client frame header may carry its RSV bits.
func (c *conn) rsvAllowed(h wire.Header) bool {
	if h.RSV == 0 {
		return true
	}
	if c.deflate == nil || h.RSV != wire.RSV1 {
		return false
	}
	switch {
	case wire.IsControl(h.Opcode):
		return c.d.DeflateAcceptRSV1Control
	case h.Opcode == wire.OpContinuation:
		return c.d.DeflateAcceptRSV1Continuation
	}
	return true // the first frame of a compressed data message (§6)
}

// inflate decompresses a complete compressed message and checks the UTF-8
// of a text one.
func (c *conn) inflate(op byte, msg []byte) ([]byte, *failure) {
	out, err := c.deflate.rx.Decompress(msg)
	switch {
	case errors.Is(err, deflate.ErrInflateLimit):
		return nil, fail(codeTooBig, "decompressed message over %d bytes", maxMessage)
	case err != nil:
		return nil, fail(codeInvalidData, "compressed message does not decompress")
	case op == wire.OpText && !c.d.EchoInvalidUTF8 && !utf8.Valid(out):
		return nil, fail(codeInvalidData, "text message is not valid UTF-8")
	}
	return out, nil
}

// echo sends a message back, compressed when deflate is in use.
func (c *conn) echo(op byte, msg []byte) error {
	st := c.deflate
	if st == nil {
		return c.write(op, msg)
	}
	st.echoes++
	compressed := st.tx.Compress(msg)
	if st.d.DeflateUncompressedFirstKeepsContext && st.echoes == 1 {
		// The compressor took the message in, the client's window never
		// sees it: later echoes refer to bytes the client does not have.
		return c.write(op, msg)
	}
	first := wire.Frame{Fin: true, RSV: wire.RSV1, Opcode: op, Payload: compressed}
	if !st.d.DeflateRSV1OnContinuation || len(compressed) < 2 {
		return c.writeFrame(first)
	}
	half := len(compressed) / 2
	first.Fin, first.Payload = false, compressed[:half]
	if err := c.writeFrame(first); err != nil {
		return err
	}
	return c.writeFrame(wire.Frame{Fin: true, RSV: wire.RSV1, Opcode: wire.OpContinuation, Payload: compressed[half:]})
}
