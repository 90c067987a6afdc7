package utf8stream

import "unicode/utf8"

// Validator validates UTF-8 that arrives in pieces, such as a text message
// read frame by frame. It rejects a byte as soon as no valid continuation of
// the bytes seen so far is possible, which RFC 6455 §8.1 asks of an endpoint
// that can (Autobahn 6.4.x checks it): the connection fails while the bad
// message is still streaming in instead of after it has been buffered.
//
// The zero value is ready for the start of a message.
type Validator struct {
	need   int  // continuation bytes still expected for the current character
	lo, hi byte // allowed range of the next continuation byte
	bad    bool // an invalid byte was seen; sticky until reset
}

// Reset prepares s for a new message.
func (s *Validator) Reset() { *s = Validator{} }

// Feed consumes the next bytes of the stream and reports whether they can
// still be the beginning of valid UTF-8.
func (s *Validator) Feed(p []byte) bool {
	if s.bad {
		return false
	}
	// Finish a character that an earlier chunk left open.
	for s.need > 0 && len(p) > 0 {
		if !s.step(p[0]) {
			return false
		}
		p = p[1:]
	}
	if len(p) == 0 {
		return true
	}
	// Fast path: utf8.Valid is much quicker than stepping byte by byte.
	// A chunk usually fails it only because it ends in the middle of a
	// character, so check everything before that last character quickly
	// and step through the (at most 3) trailing bytes.
	if utf8.Valid(p) {
		return true
	}
	tail := lastCharStart(p)
	if !utf8.Valid(p[:tail]) {
		tail = 0 // the error is earlier: step through it all
	}
	for _, b := range p[tail:] {
		if !s.step(b) {
			return false
		}
	}
	return true
}

// Complete reports whether the bytes fed so far form whole characters, as
// they must when the message ends.
func (s *Validator) Complete() bool { return !s.bad && s.need == 0 }

// step advances the validator by one byte, following the table of
// well-formed byte sequences (Unicode 15, table 3-7).
func (s *Validator) step(b byte) bool {
	if s.need > 0 {
		if b < s.lo || b > s.hi {
			s.bad = true
			return false
		}
		s.need--
		s.lo, s.hi = 0x80, 0xBF
		return true
	}
	s.lo, s.hi = 0x80, 0xBF
	switch {
	case b < 0x80:
		return true
	case b < 0xC2: // stray continuation byte, or overlong C0/C1
		s.bad = true
		return false
	case b < 0xE0:
		s.need = 1
	case b == 0xE0: // reject overlong E0 80..9F
		s.need, s.lo = 2, 0xA0
	case b == 0xED: // reject surrogates ED A0..BF
		s.need, s.hi = 2, 0x9F
	case b < 0xF0:
		s.need = 2
	case b == 0xF0: // reject overlong F0 80..8F
		s.need, s.lo = 3, 0x90
	case b < 0xF4:
		s.need = 3
	case b == 0xF4: // reject > U+10FFFF: F4 90..BF
		s.need, s.hi = 3, 0x8F
	default: // F5..FF never appear in UTF-8
		s.bad = true
		return false
	}
	return true
}

// lastCharStart returns the index where the last character of p starts, or
// len(p) when p ends with a byte that cannot start a multi-byte character.
// It looks back at most utf8.UTFMax-1 bytes.
func lastCharStart(p []byte) int {
	for i := len(p) - 1; i >= 0 && i >= len(p)-(utf8.UTFMax-1); i-- {
		if p[i]&0xC0 != 0x80 { // not a continuation byte
			return i
		}
	}
	return len(p)
}
