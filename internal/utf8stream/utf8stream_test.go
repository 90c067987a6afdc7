package utf8stream

import (
	"strings"
	"testing"
	"unicode/utf8"
)

func TestUTF8StreamFailsAtFirstImpossibleByte(t *testing.T) {
	for _, tc := range []struct {
		name   string
		in     string
		failAt int // index of the byte that must be rejected; -1: valid
		whole  bool
	}{
		{"ascii", "hello", -1, true},
		{"two-byte", "caf\xc3\xa9", -1, true},
		{"euro", "\xe2\x82\xac", -1, true},
		{"max code point", "\xf4\x8f\xbf\xbf", -1, true},
		{"last before surrogates", "\xed\x9f\xbf", -1, true},
		{"first after surrogates", "\xee\x80\x80", -1, true},
		{"truncated two-byte", "caf\xc3", -1, false},
		{"truncated four-byte", "\xf0\x9f\x98", -1, false},
		{"stray continuation", "a\x80", 1, false},
		{"overlong C0", "\xc0\xaf", 0, false},
		{"overlong C1", "\xc1\xbf", 0, false},
		{"overlong E0", "\xe0\x80\xaf", 1, false},
		{"overlong E0 9F", "\xe0\x9f\xbf", 1, false},
		{"overlong F0", "\xf0\x80\x80\xaf", 1, false},
		{"overlong F0 8F", "\xf0\x8f\xbf\xbf", 1, false},
		{"surrogate high", "\xed\xa0\x80", 1, false},
		{"surrogate low", "\xed\xbf\xbf", 1, false},
		{"above U+10FFFF", "\xf4\x90\x80\x80", 1, false},
		{"F5", "\xf5\x80\x80\x80", 0, false},
		{"FF", "ab\xff", 2, false},
		{"missing continuation", "\xe2\x82a", 2, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			// Byte by byte: the exact byte that fails.
			var s Validator
			failedAt := -1
			for i := 0; i < len(tc.in); i++ {
				if !s.Feed([]byte{tc.in[i]}) {
					failedAt = i
					break
				}
			}
			if failedAt != tc.failAt {
				t.Errorf("byte by byte: failed at %d, want %d", failedAt, tc.failAt)
			}
			if tc.failAt < 0 && s.Complete() != tc.whole {
				t.Errorf("Complete() = %v, want %v", s.Complete(), tc.whole)
			}
			// In one piece, after a long valid prefix that takes the
			// fast path.
			s.Reset()
			prefix := strings.Repeat("ascii and ü ", 100)
			ok := s.Feed([]byte(prefix + tc.in))
			if ok != (tc.failAt < 0) {
				t.Errorf("one piece: Feed = %v, want %v", ok, tc.failAt < 0)
			}
			if ok && s.Complete() != tc.whole {
				t.Errorf("one piece: Complete() = %v, want %v", s.Complete(), tc.whole)
			}
		})
	}
}

func TestUTF8StreamStaysFailed(t *testing.T) {
	var s Validator
	if s.Feed([]byte{0xff}) {
		t.Fatal("0xff accepted")
	}
	if s.Feed([]byte("fine")) || s.Complete() {
		t.Fatal("validator recovered after an invalid byte")
	}
	s.Reset()
	if !s.Feed([]byte("fine")) || !s.Complete() {
		t.Fatal("reset did not clear the failure")
	}
}

// FuzzUTF8Stream checks that the validator agrees with utf8.Valid however
// the input is split into chunks.
func FuzzUTF8Stream(f *testing.F) {
	for _, seed := range []string{"", "abc", "h\xc3\xa9", "\xed\xa0\x80", "\xf0\x9f\x98\x80x", "\xe2\x82", "\xf4\x90\x80\x80", "a\xc0\xafb"} {
		f.Add([]byte(seed), uint8(1), uint8(3))
	}
	f.Fuzz(func(t *testing.T, in []byte, cut1, cut2 uint8) {
		chunks := split(in, int(cut1), int(cut2))
		var s Validator
		ok := true
		for _, c := range chunks {
			ok = s.Feed(c)
			if !ok {
				break
			}
		}
		got := ok && s.Complete()
		if want := utf8.Valid(in); got != want {
			t.Fatalf("%q split %d/%d: valid = %v, utf8.Valid = %v", in, cut1, cut2, got, want)
		}
		if !ok {
			// Fail-fast: the bytes before the rejected chunk were a
			// valid prefix, so some prefix of in must be invalid.
			if validPrefix(in) {
				t.Fatalf("%q rejected, but every prefix can still be completed", in)
			}
		}
	})
}

func split(in []byte, cut1, cut2 int) [][]byte {
	a := min(cut1, len(in))
	b := min(a+cut2, len(in))
	return [][]byte{in[:a], in[a:b], in[b:]}
}

// validPrefix reports whether in is valid UTF-8 possibly cut short inside
// its last character.
func validPrefix(in []byte) bool {
	for i := 0; i < utf8.UTFMax && i <= len(in); i++ {
		if utf8.Valid(in[:len(in)-i]) && !utf8.FullRune(in[len(in)-i:]) {
			return completable(in[len(in)-i:])
		}
	}
	return utf8.Valid(in)
}

// completable reports whether tail, a started but unfinished character,
// can be finished into a valid one.
func completable(tail []byte) bool {
	for _, cont := range []byte{0x80, 0x90, 0xA0, 0xBF} {
		c := append(append([]byte(nil), tail...), cont, cont, cont)
		if r, n := utf8.DecodeRune(c); r != utf8.RuneError && n > len(tail) {
			return true
		}
	}
	return len(tail) == 0
}
