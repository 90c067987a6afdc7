package targets

import (
	"encoding/binary"
	"testing"
)

// maskedFrame encodes a client frame with a zero mask key, which leaves the
// payload as it is.
func maskedFrame(op byte, payload []byte) []byte {
	b := []byte{0x80 | op}
	switch n := len(payload); {
	case n <= 125:
		b = append(b, 0x80|byte(n))
	case n <= 0xFFFF:
		b = append(b, 0x80|126)
		b = binary.BigEndian.AppendUint16(b, uint16(n))
	default:
		b = append(b, 0x80|127)
		b = binary.BigEndian.AppendUint64(b, uint64(n))
	}
	b = append(b, 0, 0, 0, 0)
	return append(b, payload...)
}

func TestFrameWatch(t *testing.T) {
	var stream []byte
	stream = append(stream, maskedFrame(0x1, []byte("hello"))...)
	stream = append(stream, maskedFrame(0x2, make([]byte, 300))...)   // 16-bit length
	stream = append(stream, maskedFrame(0x2, make([]byte, 70000))...) // 64-bit length
	stream = append(stream, maskedFrame(0x9, []byte{0x8, 0x8})...)    // ping that looks like a close
	stream = append(stream, maskedFrame(0x8, []byte{0x3})...)         // 1-byte close
	stream = append(stream, maskedFrame(0x8, []byte{0x3, 0xe8})...)   // later close: ignored

	for _, chunk := range []int{1, 2, 3, 7, 14, 4096, len(stream)} {
		w := newFrameWatch()
		for rest := stream; len(rest) > 0; {
			n := min(chunk, len(rest))
			w.observe(rest[:n])
			rest = rest[n:]
		}
		if w.firstCloseLen != 1 || w.lengthMSB {
			t.Errorf("chunks of %d: firstCloseLen = %d, lengthMSB = %v; want 1, false", chunk, w.firstCloseLen, w.lengthMSB)
		}
	}

	w := newFrameWatch()
	w.observe(maskedFrame(0x8, nil))
	if w.firstCloseLen != 0 {
		t.Errorf("empty close: firstCloseLen = %d, want 0", w.firstCloseLen)
	}

	w = newFrameWatch()
	msb := []byte{0x82, 0x80 | 127, 0x80, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0}
	w.observe(msb)
	if !w.lengthMSB {
		t.Error("64-bit length with MSB set not noticed")
	}
}
