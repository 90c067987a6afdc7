package targets

import (
	"compress/flate"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"sync"
	"time"

	"github.com/wsharness/wsharness/wire"
	"github.com/wsharness/wsharness/wire/deflate"
	"github.com/wsharness/wsharness/wire/handshake"
)

// What the "-deflate" targets add to a library's permessage-deflate
// (RFC 7692), as the configured targets add what the library leaves to
// the application:
//
//   - filterDeflateOffers: gorilla and gws accept any offer that names
//     permessage-deflate, whatever its parameters, where §7 says a server
//     MUST decline an offer with an unknown, duplicate or invalid
//     parameter, and answer parameters they do not honour (gorilla never
//     limits its window). The filter hands the library only the valid
//     offers it can honour, so it declines the rest.
//   - rsvGuard: with compression negotiated, gorilla and gws no longer look
//     at RSV bits the way §6 and RFC 6455 §5.2 require (gorilla processes a
//     Ping or a continuation with RSV1; gws also RSV2 and RSV3, and
//     answers a Ping with RSV1). Neither tells the application, so the
//     guard reads the frame headers as the library reads the bytes and
//     fails the connection with 1002 itself.
//   - inflateLimit: gorilla's read limit counts compressed bytes, so a
//     small message could inflate without bound.

// filterDeflateOffers rewrites the request's Sec-WebSocket-Extensions to
// the permessage-deflate offers a library may accept: the valid ones
// (RFC 7692 §7) that honour accepts, at most max of them (0: all). It
// returns the offers kept; none means the header is gone and the library
// declines. Other extensions are dropped: no library here supports one.
func filterDeflateOffers(h http.Header, honour func(handshake.Extension) bool, max int) []handshake.Extension {
	exts, err := handshake.ParseExtensions(h.Values("Sec-WebSocket-Extensions"))
	h.Del("Sec-WebSocket-Extensions")
	if err != nil {
		return nil
	}
	var kept []handshake.Extension
	for _, e := range deflate.Elements(exts) {
		if len(deflate.OfferProblems(e)) == 0 && (honour == nil || honour(e)) && (max == 0 || len(kept) < max) {
			kept = append(kept, e)
		}
	}
	if len(kept) > 0 {
		h.Set("Sec-WebSocket-Extensions", handshake.FormatExtensions(kept...))
	}
	return kept
}

// fullWindowOnly accepts offers that let the server use a 32 KiB window:
// no server_max_window_bits below 15.
func fullWindowOnly(e handshake.Extension) bool { return serverWindowBits(e) == 15 }

// serverWindowBits is the server window an offer allows (15 if unlimited).
func serverWindowBits(e handshake.Extension) int {
	bits := 15
	if p, ok := e.Param(deflate.ServerMaxWindowBits); ok {
		_, _ = fmt.Sscan(p.Value, &bits)
	}
	return bits
}

// errRSVMisuse is what the guard makes the library's next read return.
var errRSVMisuse = errors.New("RSV bits a negotiated permessage-deflate does not allow")

// rsvGuard wraps a connection on which permessage-deflate was negotiated.
// It follows the client's frame headers in the bytes the library reads
// (parsing headers, skipping payloads by count) and stops at the first
// header byte with RSV2 or RSV3, or with RSV1 on a control frame or a
// continuation frame: the library gets the bytes before that frame, then
// an error, and the guard sends Close 1002. Writes after that Close are
// dropped, so the library's own Close does not follow it.
//
// Only the library's single reader calls Read, and on /echo that goroutine
// also writes every echo, so the guard's Close never lands inside another
// frame. (On /broadcast a publish from another connection could be half
// written; the connection is being failed either way.)
type rsvGuard struct {
	net.Conn
	header [14]byte
	have   int    // header bytes seen so far
	want   int    // header size, once the first 2 bytes are in
	skip   uint64 // payload bytes of the current frame still to pass
	failed error  // set once a bad header was seen

	wmu    sync.Mutex
	closed bool // the guard's Close was sent
}

func newRSVGuard(c net.Conn) *rsvGuard { return &rsvGuard{Conn: c} }

func (g *rsvGuard) Read(p []byte) (int, error) {
	if g.failed != nil {
		g.sendClose()
		return 0, g.failed
	}
	n, err := g.Conn.Read(p)
	if bad := g.observe(p[:n]); bad >= 0 {
		if bad == 0 {
			g.sendClose()
			return 0, g.failed
		}
		return bad, nil // the frames before the bad one; the error comes next
	}
	return n, err
}

// observe follows the headers in p and returns the offset of the first
// byte of a forbidden header, or -1.
func (g *rsvGuard) observe(p []byte) int {
	for i := 0; i < len(p); {
		if g.skip > 0 {
			n := min(uint64(len(p)-i), g.skip)
			i += int(n)
			g.skip -= n
			continue
		}
		b := p[i]
		if g.have == 0 {
			if why := forbiddenRSV(b); why != "" {
				g.failed = fmt.Errorf("%w: %s", errRSVMisuse, why)
				return i
			}
		}
		g.header[g.have] = b
		g.have++
		i++
		if g.have == 2 {
			g.want = wire.HeaderSize(g.header[1])
		}
		if g.have >= 2 && g.have == g.want {
			g.skip = payloadLen(g.header[:g.have])
			g.have, g.want = 0, 0
		}
	}
	return -1
}

// forbiddenRSV says why a first header byte breaks the RSV rules of a
// permessage-deflate connection, or "".
func forbiddenRSV(b0 byte) string {
	rsv, op := b0>>4&7, b0&0x0f
	switch {
	case rsv&(wire.RSV2|wire.RSV3) != 0:
		return fmt.Sprintf("RSV bits %03b on a %s frame (RFC 6455 §5.2)", rsv, wire.OpName(op))
	case rsv&wire.RSV1 != 0 && (wire.IsControl(op) || op == wire.OpContinuation):
		return fmt.Sprintf("RSV1 on a %s frame (RFC 7692 §6)", wire.OpName(op))
	}
	return ""
}

func payloadLen(h []byte) uint64 {
	hdr, err := wire.ParseHeader(h)
	if err != nil {
		return 0
	}
	return hdr.Length
}

// sendClose writes Close 1002 once, straight to the connection.
func (g *rsvGuard) sendClose() {
	g.wmu.Lock()
	defer g.wmu.Unlock()
	if g.closed {
		return
	}
	g.closed = true
	f := wire.Frame{Fin: true, Opcode: wire.OpClose, Payload: wire.ClosePayload(1002, "RSV bits not allowed on this frame")}
	_ = g.Conn.SetWriteDeadline(time.Now().Add(closeWriteTimeout))
	_, _ = g.Conn.Write(f.Encode(wire.Server, nil))
}

func (g *rsvGuard) Write(p []byte) (int, error) {
	g.wmu.Lock()
	defer g.wmu.Unlock()
	if g.closed {
		return len(p), nil // after the Close frame nothing more may be sent
	}
	return g.Conn.Write(p)
}

// CloseWrite lets closeGracefully half-close through the guard.
func (g *rsvGuard) CloseWrite() error { return wire.CloseWrite(g.Conn) }

// errInflatedTooLarge ends a connection whose message inflates past
// maxMessageSize: Close 1009.
var errInflatedTooLarge = errors.New("decompressed message over the size limit")

// inflateLimit returns r, failing with errInflatedTooLarge once more than
// maxMessageSize bytes were read from it.
func inflateLimit(r io.Reader) io.Reader { return &limitedInflate{r: r, left: maxMessageSize} }

type limitedInflate struct {
	r    io.Reader
	left int64
}

func (l *limitedInflate) Read(p []byte) (int, error) {
	if l.left < 0 {
		return 0, errInflatedTooLarge
	}
	if int64(len(p)) > l.left+1 {
		p = p[:l.left+1]
	}
	n, err := l.r.Read(p)
	l.left -= int64(n)
	if l.left < 0 {
		return n, errInflatedTooLarge
	}
	return n, err
}

// isCorruptDeflate reports a compressed message that does not decompress
// (compress/flate, which gorilla and gobwas use): Close 1007.
func isCorruptDeflate(err error) bool {
	var corrupt flate.CorruptInputError
	return errors.As(err, &corrupt)
}
