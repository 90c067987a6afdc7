package wire

import (
	"bytes"
	"testing"
)

// TestMaskMatchesBytewise checks the 8-bytes-at-a-time Mask against the
// byte-by-byte definition of §5.3, at every key position and for lengths
// around the word size, and that masking twice restores the payload.
func TestMaskMatchesBytewise(t *testing.T) {
	key := [4]byte{0x37, 0xfa, 0x21, 0x3d}
	for n := 0; n <= 40; n++ {
		for pos := 0; pos < 8; pos++ {
			p := make([]byte, n)
			for i := range p {
				p[i] = byte(i*7 + 3)
			}
			want := bytes.Clone(p)
			for i := range want {
				want[i] ^= key[(pos+i)&3]
			}
			got := bytes.Clone(p)
			Mask(got, key, pos)
			if !bytes.Equal(got, want) {
				t.Fatalf("n=%d pos=%d: % x, want % x", n, pos, got, want)
			}
			if Mask(got, key, pos); !bytes.Equal(got, p) {
				t.Fatalf("n=%d pos=%d: masking twice does not restore the payload", n, pos)
			}
		}
	}
}
