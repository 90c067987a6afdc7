package utf8stream

import (
	"math/rand/v2"
	"testing"
	"unicode/utf8"
)

// edges are the byte values where UTF-8's rules change.
var edges = []byte{0x00, 0x41, 0x7F, 0x80, 0x8F, 0x90, 0x9F, 0xA0, 0xBF, 0xC0, 0xC1, 0xC2, 0xDF,
	0xE0, 0xE1, 0xEC, 0xED, 0xEE, 0xEF, 0xF0, 0xF1, 0xF3, 0xF4, 0xF5, 0xFF}

// TestValidatorMatchesStdlibExhaustively compares the incremental validator with
// utf8.Valid on every sequence of up to 2 bytes, on 3-byte sequences whose
// last byte is an edge value, and on random longer ones, fed whole and
// byte by byte.
func TestValidatorMatchesStdlibExhaustively(t *testing.T) {
	t.Parallel()
	check := func(p []byte) {
		var whole, split Validator
		gotWhole := whole.Feed(p) && whole.Complete()
		okSplit := true
		for i := range p {
			if !split.Feed(p[i : i+1]) {
				okSplit = false
				break
			}
		}
		gotSplit := okSplit && split.Complete()
		if want := utf8.Valid(p); gotWhole != want || gotSplit != want {
			t.Fatalf("% x: whole %v, byte by byte %v, utf8.Valid %v", p, gotWhole, gotSplit, want)
		}
	}
	for a := range 256 {
		check([]byte{byte(a)})
		for b := range 256 {
			check([]byte{byte(a), byte(b)})
			for _, c := range edges {
				check([]byte{byte(a), byte(b), c})
			}
		}
	}
	r := rand.New(rand.NewPCG(1, 2))
	for range 50000 {
		p := make([]byte, 4+r.IntN(6))
		for i := range p {
			// Mostly bytes that matter for multi-byte sequences.
			p[i] = byte(0x7E + r.IntN(0x82))
		}
		check(p)
	}
}

// TestUTF8StateFailsFast checks that the validator rejects a prefix
// exactly when no continuation can make it valid UTF-8.
func TestUTF8StateFailsFast(t *testing.T) {
	t.Parallel()
	// A prefix can still become valid iff appending some sequence of at
	// most 3 continuation bytes 0x80–0xBF makes it valid.
	canComplete := func(p []byte) bool {
		if utf8.Valid(p) {
			return true
		}
		for n := 1; n <= 3; n++ {
			for _, c := range []byte{0x80, 0x8F, 0x90, 0x9F, 0xA0, 0xBF} {
				q := append(append([]byte(nil), p...), make([]byte, n)...)
				for i := len(p); i < len(q); i++ {
					q[i] = c
				}
				if utf8.Valid(q) {
					return true
				}
				// Mixed continuation bytes: a low first, then 0x80s.
				for i := len(p) + 1; i < len(q); i++ {
					q[i] = 0x80
				}
				if utf8.Valid(q) {
					return true
				}
			}
		}
		return false
	}
	for a := range 256 {
		for _, b := range edges {
			for _, c := range edges {
				p := []byte{'x', byte(a), b, c}
				var u Validator
				got := u.Feed(p)
				if want := canComplete(p); got != want {
					t.Fatalf("% x: feed says %v, but completable is %v", p, got, want)
				}
			}
		}
	}
}
