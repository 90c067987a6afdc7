package brokenserver

// utf8State validates UTF-8 incrementally, byte by byte, following the
// well-formed byte sequences of Unicode Table 3-7: it rejects the first byte
// after which no continuation can make the text valid (fail fast).
type utf8State struct {
	need   int  // continuation bytes still expected
	lo, hi byte // range of the next continuation byte
}

// feed checks more bytes; false means the text can no longer be valid.
func (u *utf8State) feed(p []byte) bool {
	for _, b := range p {
		if u.need > 0 {
			if b < u.lo || b > u.hi {
				return false
			}
			u.need--
			u.lo, u.hi = 0x80, 0xBF
			continue
		}
		switch {
		case b < 0x80:
		case b >= 0xC2 && b <= 0xDF:
			u.need, u.lo, u.hi = 1, 0x80, 0xBF
		case b == 0xE0:
			u.need, u.lo, u.hi = 2, 0xA0, 0xBF // no overlong 3-byte forms
		case b == 0xED:
			u.need, u.lo, u.hi = 2, 0x80, 0x9F // no UTF-16 surrogates
		case b >= 0xE1 && b <= 0xEF:
			u.need, u.lo, u.hi = 2, 0x80, 0xBF
		case b == 0xF0:
			u.need, u.lo, u.hi = 3, 0x90, 0xBF // no overlong 4-byte forms
		case b >= 0xF1 && b <= 0xF3:
			u.need, u.lo, u.hi = 3, 0x80, 0xBF
		case b == 0xF4:
			u.need, u.lo, u.hi = 3, 0x80, 0x8F // nothing above U+10FFFF
		default:
			return false // 0x80–0xC1 as a first byte, 0xF5–0xFF
		}
	}
	return true
}

// complete reports whether the text fed so far ends on a whole character.
func (u *utf8State) complete() bool { return u.need == 0 }
