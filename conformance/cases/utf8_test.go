package cases

import (
	"encoding/hex"
	"fmt"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/wsharness/wsharness/wire"
)

// utf8WantCounts is Autobahn's number of cases per 6.x sub-category.
var utf8WantCounts = map[string]int{
	"6.1": 3, "6.2": 4, "6.3": 2, "6.4": 4,
	"6.5": 5, "6.6": 11, "6.7": 4, "6.8": 2, "6.9": 4, "6.10": 3, "6.11": 5,
	"6.12": 8, "6.13": 5, "6.14": 10, "6.15": 1, "6.16": 3, "6.17": 5, "6.18": 5,
	"6.19": 5, "6.20": 7, "6.21": 8, "6.22": 34, "6.23": 7,
}

// subCategory returns "6.N" of "6.N.M".
func subCategory(id string) string { return id[:strings.LastIndex(id, ".")] }

func TestUTF8CountsAndIDs(t *testing.T) {
	all := UTF8()
	if len(all) != 145 {
		t.Errorf("UTF8() has %d cases, Autobahn 6.x has 145", len(all))
	}
	got := map[string]int{}
	seen := map[string]bool{}
	for _, c := range all {
		if seen[c.ID] {
			t.Errorf("duplicate ID %s", c.ID)
		}
		seen[c.ID] = true
		got[subCategory(c.ID)]++
		if c.Family != FamilyUTF8 {
			t.Errorf("%s: family %q, want %q", c.ID, c.Family, FamilyUTF8)
		}
		if c.Title == "" || c.Description == "" || c.Expectation == "" || c.run == nil {
			t.Errorf("%s: incomplete case %+v", c.ID, c)
		}
		if !strings.Contains(c.RFC, "§8.1") {
			t.Errorf("%s: RFC %q does not cite §8.1", c.ID, c.RFC)
		}
		if !strings.Contains(c.Expectation, "MUST") {
			t.Errorf("%s: expectation has no MUST: %q", c.ID, c.Expectation)
		}
	}
	for sub, want := range utf8WantCounts {
		if got[sub] != want {
			t.Errorf("%s has %d cases, want %d", sub, got[sub], want)
		}
	}
	for sub := range got {
		if _, ok := utf8WantCounts[sub]; !ok {
			t.Errorf("unexpected sub-category %s", sub)
		}
	}
	// Numbering is dense: 6.N.1 … 6.N.count.
	for sub, want := range utf8WantCounts {
		for j := 1; j <= want; j++ {
			if id := fmt.Sprintf("%s.%d", sub, j); !seen[id] {
				t.Errorf("missing case %s", id)
			}
		}
	}
}

// TestUTF8KuhnTableAgainstGo cross-checks every 6.5–6.23 vector's
// validity, as Autobahn marks it, against Go's UTF-8 decoder, and checks
// that each case follows its vector.
func TestUTF8KuhnTableAgainstGo(t *testing.T) {
	if len(utf8KuhnGroups) != 19 {
		t.Fatalf("%d Kuhn groups, want 19 (6.5–6.23)", len(utf8KuhnGroups))
	}
	byID := map[string]Case{}
	for _, c := range UTF8() {
		byID[c.ID] = c
	}
	valid, invalid := 0, 0
	for i, g := range utf8KuhnGroups {
		sub := fmt.Sprintf("6.%d", i+5)
		if len(g.vectors) != utf8WantCounts[sub] {
			t.Errorf("%s (%s): %d vectors, want %d", sub, g.title, len(g.vectors), utf8WantCounts[sub])
		}
		for j, v := range g.vectors {
			id := fmt.Sprintf("%s.%d", sub, j+1)
			if utf8.ValidString(v.payload) != v.valid {
				t.Errorf("%s %s: Autobahn says valid=%v, Go's utf8.Valid says %v", id, utf8HexOctets(v.payload), v.valid, !v.valid)
			}
			if v.valid {
				valid++
			} else {
				invalid++
			}
			c, ok := byID[id]
			if !ok {
				t.Errorf("no case %s", id)
				continue
			}
			prefix, rfc := "invalid: ", "RFC 6455 §8.1"
			if v.valid {
				prefix, rfc = "valid: ", "RFC 6455 §8.1, §5.6"
			}
			if !strings.HasPrefix(c.Title, prefix) || c.RFC != rfc {
				t.Errorf("%s: title %q / RFC %q do not match validity %v", id, c.Title, c.RFC, v.valid)
			}
			if !strings.Contains(c.Description, utf8HexOctets(v.payload)) {
				t.Errorf("%s: description does not show the payload in hex: %q", id, c.Description)
			}
		}
	}
	// Autobahn's split, as createUtf8TestSequences in Autobahn|Testsuite's
	// case6_x_x.py builds it: 5+5+4+4+4+34+7 valid.
	if valid != 63 || invalid != 69 {
		t.Errorf("%d valid and %d invalid vectors, want 63 and 69", valid, invalid)
	}
}

// TestUTF8GeneratedVectors pins the vectors Autobahn generates in loops.
func TestUTF8GeneratedVectors(t *testing.T) {
	group := func(n int) []utf8Vector { return utf8KuhnGroups[n-5].vectors }

	kosme, _ := hex.DecodeString("cebae1bdb9cf83cebcceb5")
	for i, v := range group(6) {
		if v.payload != string(kosme[:i+1]) {
			t.Errorf("6.6.%d: payload %s, want the %d-octet prefix of κόσμε", i+1, utf8HexOctets(v.payload), i+1)
		}
	}

	all := group(12)[7].payload
	if len(all) != 63 || all[0] != 0x80 || all[62] != 0xbe {
		t.Errorf("6.12.8: %d octets %s, want 80…BE (63 octets)", len(all), utf8HexOctets(all))
	}

	lonely := [][2]int{{0xc0, 0xdf}, {0xe0, 0xef}, {0xf0, 0xf7}, {0xf8, 0xfb}, {0xfc, 0xfd}}
	for i, r := range lonely {
		p := group(13)[i].payload
		if len(p) != 2*(r[1]-r[0]) || p[0] != byte(r[0]) || p[len(p)-2] != byte(r[1]-1) || strings.Count(p, " ") != r[1]-r[0] {
			t.Errorf("6.13.%d: %s, want %02X…%02X each followed by a space", i+1, utf8HexOctets(p), r[0], r[1]-1)
		}
	}

	concat := group(15)[0].payload
	want, _ := hex.DecodeString("c0e080f08080f8808080fc80808080dfefbff7bfbffbbfbfbffdbfbfbfbf")
	if concat != string(want) {
		t.Errorf("6.15.1: %s, want %s", utf8HexOctets(concat), utf8HexOctets(string(want)))
	}

	// 6.22 after U+FFFE and U+FFFF: U+1FFFE … U+10FFFF, the last two
	// code points of planes 1–16, in order.
	for k, v := range group(22)[2:] {
		r, n := utf8.DecodeRuneInString(v.payload)
		want := rune((k/2+1)<<16 | 0xfffe | k%2)
		if r != want || n != len(v.payload) {
			t.Errorf("6.22.%d: %s decodes to U+%X, want U+%X", k+3, utf8HexOctets(v.payload), r, want)
		}
	}
}

func TestUTF8FailFastParts(t *testing.T) {
	payload, _ := hex.DecodeString("cebae1bdb9cf83cebcceb5f4908080656469746564")
	wantLens := [2][3]int{{11, 4, 6}, {12, 1, 8}}
	for i, p := range utf8FailFastSplits {
		if got := p[0] + p[1] + p[2]; got != string(payload) {
			t.Errorf("split %d: parts concatenate to %s, want %s", i, utf8HexOctets(got), utf8HexOctets(string(payload)))
		}
		for k := range p {
			if len(p[k]) != wantLens[i][k] {
				t.Errorf("split %d part %d: %d octets, want %d", i, k+1, len(p[k]), wantLens[i][k])
			}
		}
		if !utf8ValidPrefix(p[0]) {
			t.Errorf("split %d: part 1 must be the start of some valid UTF-8", i)
		}
		if utf8ValidPrefix(p[0] + p[1]) {
			t.Errorf("split %d: part 2 must make the payload invalid whatever follows", i)
		}
		if utf8.ValidString(p[0]+p[1]+p[2]) || utf8FailFastPayload != string(payload) {
			t.Errorf("split %d: the payload must be Autobahn's invalid one", i)
		}
	}
}

// utf8ValidPrefix reports whether some continuation of up to 3 octets
// makes s valid UTF-8. The candidate octets cover the second-octet ranges
// of every lead octet (80–8F, 90–9F, A0–BF).
func utf8ValidPrefix(s string) bool {
	if utf8.ValidString(s) {
		return true
	}
	cands := []string{"\x80", "\x8f", "\x90", "\xa0", "\xbf"}
	for _, a := range cands {
		for _, b := range append([]string{""}, cands...) {
			for _, c := range append([]string{""}, cands...) {
				if utf8.ValidString(s + a + b + c) {
					return true
				}
			}
		}
	}
	return false
}

// TestUTF8FailFastChops checks 6.4.3/6.4.4's raw writes: one non-final
// masked text frame declaring the full length, cut after part 1 and part 2,
// then the empty final continuation frame.
func TestUTF8FailFastChops(t *testing.T) {
	for i, p := range utf8FailFastSplits {
		frames, cuts := utf8FailFastChops(p)
		var stream []byte
		for _, f := range frames {
			stream = append(stream, f.Encode(wire.Client, nil)...)
		}
		h, err := wire.ParseHeader(stream)
		if err != nil {
			t.Fatalf("split %d: %v", i, err)
		}
		// casekit.Cut offsets are in the first frame's payload.
		chops := [3][]byte{stream[:h.Size+cuts[0]], stream[h.Size+cuts[0] : h.Size+cuts[1]], stream[h.Size+cuts[1]:]}
		if h.Fin || h.Opcode != wire.OpText || !h.Masked || h.Length != uint64(len(utf8FailFastPayload)) {
			t.Errorf("split %d: header %+v, want a non-final masked text frame of %d octets", i, h, len(utf8FailFastPayload))
		}
		if len(chops[0]) != h.Size+len(p[0]) || len(chops[1]) != len(p[1]) {
			t.Errorf("split %d: chops of %d and %d octets, want header+%d and %d", i, len(chops[0]), len(chops[1]), len(p[0]), len(p[1]))
		}
		body := append([]byte(nil), stream[h.Size:h.Size+int(h.Length)]...)
		wire.Mask(body, h.Key, 0)
		if string(body) != utf8FailFastPayload {
			t.Errorf("split %d: unmasked payload %s", i, utf8HexOctets(string(body)))
		}
		rest := stream[h.Size+int(h.Length):]
		end, err := wire.ParseHeader(rest)
		if err != nil || !end.Fin || end.Opcode != wire.OpContinuation || end.Length != 0 || end.Size != len(rest) {
			t.Errorf("split %d: trailer %x (%+v, %v), want one empty final continuation frame", i, rest, end, err)
		}
	}
}
