package brokenpeer

import (
	"context"
	"crypto/rand"
	"encoding/binary"
	"io"
	"time"

	"github.com/wsharness/wsharness/wire"
)

// The client's masking keys and its end of the connection, with the knobs
// that break them.

// constantKey is the key of ClientConstantMaskKey.
var constantKey = [4]byte{0x37, 0xfa, 0x21, 0x3d}

// clientCloseOrKeyDefect reports whether d has a knob of this file.
func (d Defects) clientCloseOrKeyDefect() bool {
	return d.ClientConstantMaskKey || d.ClientZeroMaskKey || d.ClientCountingMaskKey || d.ClientMaskKeyFixedByte ||
		d.ClientClosesTCPFirst || d.ClientEchoesAfterClose || d.ClientSendsClose1006 || d.ClientKeepsTCPOpen ||
		d.ClientAcceptsOneByteClose
}

// maskKey returns the key a knob imposes on the client's next frame, or
// false to let the frame take a fresh random one.
func (c *conn) maskKey() ([4]byte, bool) {
	d := c.d
	c.framesSent++
	var k [4]byte
	switch {
	case c.role != wire.Client:
		return k, false
	case d.ClientConstantMaskKey:
		return constantKey, true
	case d.ClientZeroMaskKey:
		return k, true
	case d.ClientCountingMaskKey:
		binary.BigEndian.PutUint32(k[:], c.framesSent)
		return k, true
	case d.ClientMaskKeyFixedByte:
		_, _ = rand.Read(k[1:])
		return k, true
	}
	return k, false
}

// endOfClient ends the client's connection once the frame loop stopped:
// a correct client waits for the server to close TCP after the closing
// handshake (§7.1.1), and closes at once when the server closed it.
func (c *conn) endOfClient(ctx context.Context, end endKind) {
	d := c.d
	switch {
	case end == endDrop && d.ClientSendsClose1006:
		_ = c.write(wire.OpClose, wire.ClosePayload(1006, ""))
	case end == endDrop && d.ClientKeepsTCPOpen:
		select {
		case <-ctx.Done():
		case <-time.After(lingerTimeout):
		}
	case end == endDrop, d.ClientClosesTCPFirst:
	default:
		// The server closes TCP first; wait for it, within the linger.
		_ = c.nc.SetReadDeadline(time.Now().Add(lingerTimeout))
		_, _ = io.Copy(io.Discard, c.br)
	}
}
