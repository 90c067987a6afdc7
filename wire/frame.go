// Package wire is wsharness's raw WebSocket frame layer, for either end of
// a connection (Role): it encodes frames no library would write (any
// FIN/RSV/opcode/mask bit, lying or non-minimal lengths), writes them split
// at any byte, and decodes what the peer sends without trusting a declared
// length.
package wire

import (
	"encoding/binary"
	"errors"
	"fmt"
)

// Opcodes of RFC 6455 §5.2.
const (
	OpContinuation byte = 0x0
	OpText         byte = 0x1
	OpBinary       byte = 0x2
	OpClose        byte = 0x8
	OpPing         byte = 0x9
	OpPong         byte = 0xA
)

// RSV bits as they sit in Frame.RSV (RSV1 is the most significant).
const (
	RSV1 byte = 4
	RSV2 byte = 2
	RSV3 byte = 1
)

// Length encodings a Frame may force.
const (
	LengthMinimal = 0
	Length7       = 7
	Length16      = 16
	Length64      = 64
)

// Frame is a frame to send. The zero value is a non-final continuation
// frame, masked as its sender's role requires; use the constructors for
// the common cases.
type Frame struct {
	Fin    bool
	RSV    byte // 3 bits
	Opcode byte // 4 bits
	Mask   Masking
	// Key is a masking key the case chose on purpose (the masking family
	// tests keys); nil, the usual case, has the writer pick a fresh one
	// for the frame, as RFC 6455 §5.3 requires of a client.
	Key     *[4]byte
	Payload []byte
	// LengthForm forces the 7-, 16- or 64-bit length field; LengthMinimal
	// picks the shortest one, as RFC 6455 §5.2 requires of a sender.
	LengthForm int
	// DeclaredLength, when set, is written as the length field instead of
	// len(Payload): a frame that lies about its size.
	DeclaredLength *uint64
}

// IsControl reports whether op is a control opcode (§5.5).
func IsControl(op byte) bool { return op&0x8 != 0 }

// OpName names an opcode for logs.
func OpName(op byte) string {
	switch op {
	case OpContinuation:
		return "continuation"
	case OpText:
		return "text"
	case OpBinary:
		return "binary"
	case OpClose:
		return "close"
	case OpPing:
		return "ping"
	case OpPong:
		return "pong"
	}
	return fmt.Sprintf("reserved-%d", op)
}

// Encode returns the frame's wire bytes as role sends them. A masked frame
// without a Key takes the next key of keys (nil: a fresh random stream).
func (f Frame) Encode(role Role, keys *KeyStream) []byte {
	masked := f.Mask.masked(role)
	var key [4]byte
	if masked {
		switch {
		case f.Key != nil:
			key = *f.Key
		case keys != nil:
			key = keys.MaskKey()
		default:
			key = RandomKeyStream().MaskKey()
		}
	}
	length := uint64(len(f.Payload))
	if f.DeclaredLength != nil {
		length = *f.DeclaredLength
	}
	form := f.LengthForm
	if form == LengthMinimal {
		form = minimalForm(length)
	}
	b := make([]byte, 0, 14+len(f.Payload))
	b0 := (f.RSV&7)<<4 | f.Opcode&0xF
	if f.Fin {
		b0 |= 0x80
	}
	var maskBit byte
	if masked {
		maskBit = 0x80
	}
	switch form {
	case Length7:
		b = append(b, b0, maskBit|byte(length&0x7F))
	case Length16:
		b = append(b, b0, maskBit|126)
		b = binary.BigEndian.AppendUint16(b, uint16(length))
	default:
		b = append(b, b0, maskBit|127)
		b = binary.BigEndian.AppendUint64(b, length)
	}
	if masked {
		b = append(b, key[:]...)
	}
	start := len(b)
	b = append(b, f.Payload...)
	if masked {
		Mask(b[start:], key, 0)
	}
	return b
}

func minimalForm(n uint64) int {
	switch {
	case n <= 125:
		return Length7
	case n <= 0xFFFF:
		return Length16
	}
	return Length64
}

// Mask XORs p with key in place, starting at key position pos (§5.3).
func Mask(p []byte, key [4]byte, pos int) {
	// Eight bytes at a time: 9.x masks hundreds of megabytes.
	var k8 [8]byte
	for i := range k8 {
		k8[i] = key[(pos+i)&3]
	}
	k := binary.LittleEndian.Uint64(k8[:])
	i := 0
	for ; i+8 <= len(p); i += 8 {
		binary.LittleEndian.PutUint64(p[i:], binary.LittleEndian.Uint64(p[i:])^k)
	}
	for ; i < len(p); i++ {
		p[i] ^= key[(pos+i)&3]
	}
}

// Header is a decoded frame header.
type Header struct {
	Fin    bool
	RSV    byte
	Opcode byte
	Masked bool
	Key    [4]byte
	Length uint64
	// LengthForm is the length field the peer used: 7, 16 or 64 bits.
	LengthForm int
	// Size is the number of header bytes.
	Size int
}

// ErrShortHeader means more bytes are needed to decode a header.
var ErrShortHeader = errors.New("wire: incomplete frame header")

// ParseHeader decodes a frame header from the start of b.
func ParseHeader(b []byte) (Header, error) {
	if len(b) < 2 {
		return Header{}, ErrShortHeader
	}
	h := Header{
		Fin:    b[0]&0x80 != 0,
		RSV:    (b[0] >> 4) & 7,
		Opcode: b[0] & 0xF,
		Masked: b[1]&0x80 != 0,
	}
	n := 2
	switch l := b[1] & 0x7F; l {
	case 126:
		if len(b) < n+2 {
			return Header{}, ErrShortHeader
		}
		h.Length, h.LengthForm = uint64(binary.BigEndian.Uint16(b[n:])), Length16
		n += 2
	case 127:
		if len(b) < n+8 {
			return Header{}, ErrShortHeader
		}
		h.Length, h.LengthForm = binary.BigEndian.Uint64(b[n:]), Length64
		n += 8
	default:
		h.Length, h.LengthForm = uint64(l), Length7
	}
	if h.Masked {
		if len(b) < n+4 {
			return Header{}, ErrShortHeader
		}
		copy(h.Key[:], b[n:n+4])
		n += 4
	}
	h.Size = n
	return h, nil
}

// HeaderSize returns how many bytes a frame header occupies, from its
// second byte (mask bit and 7-bit length).
func HeaderSize(b1 byte) int {
	n := 2
	switch b1 & 0x7F {
	case 126:
		n += 2
	case 127:
		n += 8
	}
	if b1&0x80 != 0 {
		n += 4
	}
	return n
}

// Violations lists what in a header sent by sender breaks RFC 6455, given
// the RSV bits a negotiated extension allows on it. Each entry names the
// clause.
func (h Header) Violations(sender Role, rsvAllowed byte) []string {
	var v []string
	switch {
	case sender == Server && h.Masked:
		v = append(v, "server frame is masked (§5.1: a server MUST NOT mask any frames)")
	case sender == Client && !h.Masked:
		v = append(v, "client frame is not masked (§5.1: a client MUST mask all frames it sends)")
	}
	if h.RSV&^rsvAllowed != 0 {
		msg := fmt.Sprintf("%s %s frame has RSV bits %03b, which no negotiated extension allows on it (§5.2)", sender, OpName(h.Opcode), h.RSV)
		if h.RSV&RSV1 != 0 && (IsControl(h.Opcode) || h.Opcode == OpContinuation) {
			msg += "; RFC 7692 §6: permessage-deflate never sets RSV1 on control frames or non-first fragments"
		}
		v = append(v, msg)
	}
	if (h.Opcode >= 3 && h.Opcode <= 7) || h.Opcode >= 0xB {
		v = append(v, fmt.Sprintf("%s frame uses reserved opcode %d (§5.2)", sender, h.Opcode))
	}
	if IsControl(h.Opcode) && !h.Fin {
		v = append(v, fmt.Sprintf("%s control frame is fragmented (§5.5: control frames MUST NOT be fragmented)", sender))
	}
	if IsControl(h.Opcode) && h.Length > 125 {
		v = append(v, fmt.Sprintf("%s control frame has a %d-byte payload (§5.5: MUST be 125 bytes or less)", sender, h.Length))
	}
	if h.LengthForm == Length64 && h.Length>>63 != 0 {
		v = append(v, fmt.Sprintf("%s frame has the most significant bit of its 64-bit length set (§5.2)", sender))
	}
	if h.LengthForm != minimalForm(h.Length) {
		v = append(v, fmt.Sprintf("%s frame encodes length %d in a %d-bit field (§5.2: the minimal number of bytes MUST be used)", sender, h.Length, h.LengthForm))
	}
	return v
}

// Constructors for the frames cases send most: final, and masked as the
// sender's role requires, with a client's key left to the writer (a fresh
// one per frame).

// NewFrame returns a final frame.
func NewFrame(op byte, payload []byte) Frame {
	return Frame{Fin: true, Opcode: op, Payload: payload}
}

// WithKey returns f masked with key, chosen on purpose, whatever the
// sender's role.
func WithKey(f Frame, key [4]byte) Frame {
	f.Mask, f.Key = MaskAlways, &key
	return f
}

// Text returns a final text frame.
func Text(s string) Frame { return NewFrame(OpText, []byte(s)) }

// Binary returns a final binary frame.
func Binary(b []byte) Frame { return NewFrame(OpBinary, b) }

// Ping returns a ping frame.
func Ping(b []byte) Frame { return NewFrame(OpPing, b) }

// Pong returns a pong frame.
func Pong(b []byte) Frame { return NewFrame(OpPong, b) }

// Close returns a close frame with the given status code and reason.
func Close(code uint16, reason string) Frame {
	return NewFrame(OpClose, ClosePayload(code, reason))
}

// ClosePayload encodes a close frame body (§5.5.1).
func ClosePayload(code uint16, reason string) []byte {
	return append(binary.BigEndian.AppendUint16(nil, code), reason...)
}

// Fragment returns frame f with FIN cleared (a non-final fragment).
func Fragment(f Frame) Frame { f.Fin = false; return f }

// Continuation returns a continuation frame.
func Continuation(b []byte, fin bool) Frame {
	f := NewFrame(OpContinuation, b)
	f.Fin = fin
	return f
}
