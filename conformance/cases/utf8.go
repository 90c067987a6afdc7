package cases

import (
	"fmt"
	"strings"
	"time"

	"github.com/wsharness/wsharness/conformance/casekit"
	"github.com/wsharness/wsharness/wire"
)

// utf8Kosme is "κόσμε", the Greek word Markus Kuhn's UTF-8 test file opens
// with: 5 code points of 2, 3, 2, 2 and 2 octets.
const utf8Kosme = "\xce\xba\xe1\xbd\xb9\xcf\x83\xce\xbc\xce\xb5"

// utf8Hello is Autobahn 6.2's valid text, with 2-octet code points.
const utf8Hello = "Hello-µ@ßöäüàá-UTF-8!!"

// utf8Surrogate is 6.3's message: κόσμε, then U+D800 (a UTF-16 surrogate,
// which UTF-8 must not encode), then "edited". Octet 13 (A0) makes it
// invalid.
const utf8Surrogate = utf8Kosme + "\xed\xa0\x80" + "edited"

// utf8FailFastPayload is 6.4's message: κόσμε, then F4 90 80 80 (U+110000,
// beyond Unicode), then "edited". Octet 13 (90) makes it invalid.
const utf8FailFastPayload = utf8Kosme + "\xf4\x90\x80\x80" + "edited"

// utf8FailFastSplits are 6.4's two ways of cutting utf8FailFastPayload in
// three parts: around the whole bad sequence (6.4.1, 6.4.3), and with the
// second part only the octet that makes the payload invalid (6.4.2, 6.4.4).
var utf8FailFastSplits = [2][3]string{
	{utf8Kosme, "\xf4\x90\x80\x80", "edited"},
	{utf8FailFastPayload[:12], utf8FailFastPayload[12:13], utf8FailFastPayload[13:]},
}

// What the second part of each split is, for titles and descriptions.
var (
	utf8FailFastSecondShort = [2]string{"F4 90 80 80 (U+110000)", "the single octet 90"}
	utf8FailFastSecond      = [2]string{
		"the whole U+110000 sequence (F4 90 80 80)",
		"only the octet (90) that makes the payload invalid",
	}
)

// utf8Vector is one payload of the Markus Kuhn set.
type utf8Vector struct {
	valid   bool
	payload string
	what    string // what the payload is, for the title
}

// utf8Group is one Autobahn sub-category of the Markus Kuhn set.
type utf8Group struct {
	title   string
	vectors []utf8Vector
}

// utf8Truncated is Kuhn 3.3: sequences with their last continuation octet
// missing; 3.4 sends them all concatenated.
var utf8Truncated = []utf8Vector{
	{false, "\xc0", "2-octet sequence (of U+0000) missing its last octet"},
	{false, "\xe0\x80", "3-octet sequence (of U+0000) missing its last octet"},
	{false, "\xf0\x80\x80", "4-octet sequence (of U+0000) missing its last octet"},
	{false, "\xf8\x80\x80\x80", "5-octet sequence (of U+0000) missing its last octet"},
	{false, "\xfc\x80\x80\x80\x80", "6-octet sequence (of U+0000) missing its last octet"},
	{false, "\xdf", "2-octet sequence (of U+07FF) missing its last octet"},
	{false, "\xef\xbf", "3-octet sequence (of U+FFFF) missing its last octet"},
	{false, "\xf7\xbf\xbf", "4-octet sequence (of U+1FFFFF) missing its last octet"},
	{false, "\xfb\xbf\xbf\xbf", "5-octet sequence (of U+3FFFFFF) missing its last octet"},
	{false, "\xfd\xbf\xbf\xbf\xbf", "6-octet sequence (of U+7FFFFFFF) missing its last octet"},
}

// utf8KuhnGroups is Autobahn's generated set (Markus Kuhn's UTF-8 decoder
// stress test): group i is sub-category 6.(i+5), vector j case 6.(i+5).(j+1).
// The order, the bytes and the validity are Autobahn's.
var utf8KuhnGroups = []utf8Group{
	{"Some valid UTF-8 sequences", []utf8Vector{
		{true, "hello\x24world", "U+0024 '$' between ASCII words"},
		{true, "hello\xc2\xa2world", "U+00A2 '¢' (2 octets) between ASCII words"},
		{true, "hello\xe2\x82\xacworld", "U+20AC '€' (3 octets) between ASCII words"},
		{true, "hello\xf0\xa4\xad\xa2world", "U+24B62 (4 octets) between ASCII words"},
		{true, utf8Kosme, "Greek 'κόσμε'"},
	}},
	// Autobahn decides each prefix's validity with its own validator; a
	// prefix is valid exactly when it ends on a code point boundary.
	{"All prefixes of a valid UTF-8 string that contains multi-byte code points", []utf8Vector{
		{false, utf8Kosme[:1], "'κόσμε' cut after 1 octet, inside 'κ'"},
		{true, utf8Kosme[:2], "prefix 'κ' of 'κόσμε'"},
		{false, utf8Kosme[:3], "'κόσμε' cut after 3 octets, inside 'ό'"},
		{false, utf8Kosme[:4], "'κόσμε' cut after 4 octets, inside 'ό'"},
		{true, utf8Kosme[:5], "prefix 'κό' of 'κόσμε'"},
		{false, utf8Kosme[:6], "'κόσμε' cut after 6 octets, inside 'σ'"},
		{true, utf8Kosme[:7], "prefix 'κόσ' of 'κόσμε'"},
		{false, utf8Kosme[:8], "'κόσμε' cut after 8 octets, inside 'μ'"},
		{true, utf8Kosme[:9], "prefix 'κόσμ' of 'κόσμε'"},
		{false, utf8Kosme[:10], "'κόσμε' cut after 10 octets, inside 'ε'"},
		{true, utf8Kosme[:11], "all of 'κόσμε'"},
	}},
	{"First possible sequence of a certain length", []utf8Vector{
		{true, "\x00", "U+0000, the first 1-octet sequence"},
		{true, "\xc2\x80", "U+0080, the first 2-octet sequence"},
		{true, "\xe0\xa0\x80", "U+0800, the first 3-octet sequence"},
		{true, "\xf0\x90\x80\x80", "U+10000, the first 4-octet sequence"},
	}},
	{"First possible sequence length 5/6 (invalid codepoints)", []utf8Vector{
		{false, "\xf8\x88\x80\x80\x80", "5-octet sequence of U+200000 (beyond U+10FFFF)"},
		{false, "\xfc\x84\x80\x80\x80\x80", "6-octet sequence of U+4000000 (beyond U+10FFFF)"},
	}},
	{"Last possible sequence of a certain length", []utf8Vector{
		{true, "\x7f", "U+007F, the last 1-octet sequence"},
		{true, "\xdf\xbf", "U+07FF, the last 2-octet sequence"},
		{true, "\xef\xbf\xbf", "U+FFFF, the last 3-octet sequence"},
		{true, "\xf4\x8f\xbf\xbf", "U+10FFFF, the last code point"},
	}},
	{"Last possible sequence length 4/5/6 (invalid codepoints)", []utf8Vector{
		{false, "\xf7\xbf\xbf\xbf", "4-octet sequence of U+1FFFFF (beyond U+10FFFF)"},
		{false, "\xfb\xbf\xbf\xbf\xbf", "5-octet sequence of U+3FFFFFF (beyond U+10FFFF)"},
		{false, "\xfd\xbf\xbf\xbf\xbf\xbf", "6-octet sequence of U+7FFFFFFF (beyond U+10FFFF)"},
	}},
	{"Other boundary conditions", []utf8Vector{
		{true, "\xed\x9f\xbf", "U+D7FF, the last code point before the surrogates"},
		{true, "\xee\x80\x80", "U+E000, the first code point after the surrogates"},
		{true, "\xef\xbf\xbd", "U+FFFD replacement character"},
		{true, "\xf4\x8f\xbf\xbf", "U+10FFFF, the last code point"},
		{false, "\xf4\x90\x80\x80", "U+110000, the first value beyond Unicode"},
	}},
	{"Unexpected continuation bytes", []utf8Vector{
		{false, "\x80", "lone continuation octet"},
		{false, "\xbf", "lone continuation octet"},
		{false, "\x80\xbf", "2 continuation octets"},
		{false, "\x80\xbf\x80", "3 continuation octets"},
		{false, "\x80\xbf\x80\xbf", "4 continuation octets"},
		{false, "\x80\xbf\x80\xbf\x80", "5 continuation octets"},
		{false, "\x80\xbf\x80\xbf\x80\xbf", "6 continuation octets"},
		// Autobahn's range stops before BF.
		{false, utf8Octets(0x80, 0xbf, ""), "continuation octets 80 to BE in a row"},
	}},
	// Autobahn's ranges stop before DF, EF, F7, FB and FD.
	{"Lonely start characters", []utf8Vector{
		{false, utf8Octets(0xc0, 0xdf, " "), "2-octet start octets C0 to DE, each followed by a space"},
		{false, utf8Octets(0xe0, 0xef, " "), "3-octet start octets E0 to EE, each followed by a space"},
		{false, utf8Octets(0xf0, 0xf7, " "), "4-octet start octets F0 to F6, each followed by a space"},
		{false, utf8Octets(0xf8, 0xfb, " "), "5-octet start octets F8 to FA, each followed by a space"},
		{false, utf8Octets(0xfc, 0xfd, " "), "6-octet start octet FC followed by a space"},
	}},
	{"Sequences with last continuation byte missing", utf8Truncated},
	{"Concatenation of incomplete sequences", []utf8Vector{
		{false, utf8Concat(utf8Truncated), "the 10 truncated sequences of 6.14 concatenated"},
	}},
	{"Impossible bytes", []utf8Vector{
		{false, "\xfe", "impossible octet"},
		{false, "\xff", "impossible octet"},
		{false, "\xfe\xfe\xff\xff", "impossible octets"},
	}},
	{"Examples of an overlong ASCII character", []utf8Vector{
		{false, "\xc0\xaf", "overlong ASCII '/' in 2 octets"},
		{false, "\xe0\x80\xaf", "overlong ASCII '/' in 3 octets"},
		{false, "\xf0\x80\x80\xaf", "overlong ASCII '/' in 4 octets"},
		{false, "\xf8\x80\x80\x80\xaf", "overlong ASCII '/' in 5 octets"},
		{false, "\xfc\x80\x80\x80\x80\xaf", "overlong ASCII '/' in 6 octets"},
	}},
	{"Maximum overlong sequences", []utf8Vector{
		{false, "\xc1\xbf", "overlong U+007F in 2 octets"},
		{false, "\xe0\x9f\xbf", "overlong U+07FF in 3 octets"},
		{false, "\xf0\x8f\xbf\xbf", "overlong U+FFFF in 4 octets"},
		{false, "\xf8\x87\xbf\xbf\xbf", "overlong U+1FFFFF in 5 octets"},
		{false, "\xfc\x83\xbf\xbf\xbf\xbf", "overlong U+3FFFFFF in 6 octets"},
	}},
	{"Overlong representation of the NUL character", []utf8Vector{
		{false, "\xc0\x80", "overlong NUL in 2 octets"},
		{false, "\xe0\x80\x80", "overlong NUL in 3 octets"},
		{false, "\xf0\x80\x80\x80", "overlong NUL in 4 octets"},
		{false, "\xf8\x80\x80\x80\x80", "overlong NUL in 5 octets"},
		{false, "\xfc\x80\x80\x80\x80\x80", "overlong NUL in 6 octets"},
	}},
	{"Single UTF-16 surrogates", []utf8Vector{
		{false, "\xed\xa0\x80", "surrogate U+D800"},
		{false, "\xed\xad\xbf", "surrogate U+DB7F"},
		{false, "\xed\xae\x80", "surrogate U+DB80"},
		{false, "\xed\xaf\xbf", "surrogate U+DBFF"},
		{false, "\xed\xb0\x80", "surrogate U+DC00"},
		{false, "\xed\xbe\x80", "surrogate U+DF80"},
		{false, "\xed\xbf\xbf", "surrogate U+DFFF"},
	}},
	{"Paired UTF-16 surrogates", []utf8Vector{
		{false, "\xed\xa0\x80\xed\xb0\x80", "surrogate pair U+D800 U+DC00"},
		{false, "\xed\xa0\x80\xed\xbf\xbf", "surrogate pair U+D800 U+DFFF"},
		{false, "\xed\xad\xbf\xed\xb0\x80", "surrogate pair U+DB7F U+DC00"},
		{false, "\xed\xad\xbf\xed\xbf\xbf", "surrogate pair U+DB7F U+DFFF"},
		{false, "\xed\xae\x80\xed\xb0\x80", "surrogate pair U+DB80 U+DC00"},
		{false, "\xed\xae\x80\xed\xbf\xbf", "surrogate pair U+DB80 U+DFFF"},
		{false, "\xed\xaf\xbf\xed\xb0\x80", "surrogate pair U+DBFF U+DC00"},
		{false, "\xed\xaf\xbf\xed\xbf\xbf", "surrogate pair U+DBFF U+DFFF"},
	}},
	// Non-characters are code points: valid UTF-8 that a server must echo.
	{"Non-character code points (valid UTF-8)", []utf8Vector{
		{true, "\xef\xbf\xbe", "non-character U+FFFE"},
		{true, "\xef\xbf\xbf", "non-character U+FFFF"},
		{true, "\xf0\x9f\xbf\xbe", "non-character U+1FFFE"},
		{true, "\xf0\x9f\xbf\xbf", "non-character U+1FFFF"},
		{true, "\xf0\xaf\xbf\xbe", "non-character U+2FFFE"},
		{true, "\xf0\xaf\xbf\xbf", "non-character U+2FFFF"},
		{true, "\xf0\xbf\xbf\xbe", "non-character U+3FFFE"},
		{true, "\xf0\xbf\xbf\xbf", "non-character U+3FFFF"},
		{true, "\xf1\x8f\xbf\xbe", "non-character U+4FFFE"},
		{true, "\xf1\x8f\xbf\xbf", "non-character U+4FFFF"},
		{true, "\xf1\x9f\xbf\xbe", "non-character U+5FFFE"},
		{true, "\xf1\x9f\xbf\xbf", "non-character U+5FFFF"},
		{true, "\xf1\xaf\xbf\xbe", "non-character U+6FFFE"},
		{true, "\xf1\xaf\xbf\xbf", "non-character U+6FFFF"},
		{true, "\xf1\xbf\xbf\xbe", "non-character U+7FFFE"},
		{true, "\xf1\xbf\xbf\xbf", "non-character U+7FFFF"},
		{true, "\xf2\x8f\xbf\xbe", "non-character U+8FFFE"},
		{true, "\xf2\x8f\xbf\xbf", "non-character U+8FFFF"},
		{true, "\xf2\x9f\xbf\xbe", "non-character U+9FFFE"},
		{true, "\xf2\x9f\xbf\xbf", "non-character U+9FFFF"},
		{true, "\xf2\xaf\xbf\xbe", "non-character U+AFFFE"},
		{true, "\xf2\xaf\xbf\xbf", "non-character U+AFFFF"},
		{true, "\xf2\xbf\xbf\xbe", "non-character U+BFFFE"},
		{true, "\xf2\xbf\xbf\xbf", "non-character U+BFFFF"},
		{true, "\xf3\x8f\xbf\xbe", "non-character U+CFFFE"},
		{true, "\xf3\x8f\xbf\xbf", "non-character U+CFFFF"},
		{true, "\xf3\x9f\xbf\xbe", "non-character U+DFFFE"},
		{true, "\xf3\x9f\xbf\xbf", "non-character U+DFFFF"},
		{true, "\xf3\xaf\xbf\xbe", "non-character U+EFFFE"},
		{true, "\xf3\xaf\xbf\xbf", "non-character U+EFFFF"},
		{true, "\xf3\xbf\xbf\xbe", "non-character U+FFFFE"},
		{true, "\xf3\xbf\xbf\xbf", "non-character U+FFFFF"},
		{true, "\xf4\x8f\xbf\xbe", "non-character U+10FFFE"},
		{true, "\xf4\x8f\xbf\xbf", "non-character U+10FFFF"},
	}},
	{"Unicode specials (i.e. replacement char)", []utf8Vector{
		{true, "\xef\xbf\xb9", "U+FFF9 interlinear annotation anchor"},
		{true, "\xef\xbf\xba", "U+FFFA interlinear annotation separator"},
		{true, "\xef\xbf\xbb", "U+FFFB interlinear annotation terminator"},
		{true, "\xef\xbf\xbc", "U+FFFC object replacement character"},
		{true, "\xef\xbf\xbd", "U+FFFD replacement character"},
		{true, "\xef\xbf\xbe", "U+FFFE non-character"},
		{true, "\xef\xbf\xbf", "U+FFFF non-character"},
	}},
}

// utf8Octets returns the octets lo to hi-1 (hi excluded, as in Autobahn's
// ranges), each followed by after.
func utf8Octets(lo, hi int, after string) string {
	var b strings.Builder
	for c := lo; c < hi; c++ {
		b.WriteByte(byte(c))
		b.WriteString(after)
	}
	return b.String()
}

// utf8Concat joins the payloads of vs.
func utf8Concat(vs []utf8Vector) string {
	var b strings.Builder
	for _, v := range vs {
		b.WriteString(v.payload)
	}
	return b.String()
}

// utf8HexOctets renders octets as upper-case hex pairs separated by spaces.
func utf8HexOctets(s string) string {
	parts := make([]string, len(s))
	for i := 0; i < len(s); i++ {
		parts[i] = fmt.Sprintf("%02X", s[i])
	}
	return strings.Join(parts, " ")
}

// utf8TitleHexMax is the longest payload whose octets a title shows.
const utf8TitleHexMax = 6

// Expectations shared by the family.
const (
	utf8EchoRule = "The payload is valid UTF-8, so the server MUST accept the text message (§8.1) and echo it with the same bytes as a text message (§5.6); then a clean close with 1000."
	utf8FailRule = "The payload is not valid UTF-8: the server MUST _Fail the WebSocket Connection_ (§8.1), with status 1007 (§7.4.1; another code is WRONG CODE) or by dropping TCP, and MUST NOT echo anything. If the client has to close the connection instead, the case is FAILED."
)

// UTF8 returns Autobahn's 6.x: UTF-8 handling of text messages, whole and
// fragmented, fail-fast on invalid octets, and the Markus Kuhn decoder set.
func UTF8() []Case {
	out := utf8Basics()
	out = append(out, utf8FailFast()...)
	for i, g := range utf8KuhnGroups {
		for j, v := range g.vectors {
			out = append(out, utf8KuhnCase(fmt.Sprintf("6.%d.%d", i+5, j+1), g.title, v))
		}
	}
	return out
}

// utf8Fragments cuts payload into a text message of size-octet frames.
func utf8Fragments(payload string, size int) []wire.Frame {
	var frames []wire.Frame
	for off := 0; off < len(payload); off += size {
		end := min(off+size, len(payload))
		f := wire.Continuation([]byte(payload[off:end]), end == len(payload))
		if off == 0 {
			f.Opcode = wire.OpText
		}
		frames = append(frames, f)
	}
	return frames
}

// utf8Echo is a case whose frames carry one valid text message the server
// must echo.
func utf8Echo(c Case, message string, frames ...wire.Frame) Case {
	c.Family = FamilyUTF8
	return scripted(c, casekit.Script{
		Steps: []casekit.Step{casekit.Send(wire.OneWrite, frames...)},
		OK:    onlyTrace(casekit.Text(message)),
		Close: closeNormal,
	})
}

// utf8Reject is a case whose frames carry an invalid text message the
// server must fail the connection on.
func utf8Reject(c Case, frames ...wire.Frame) Case {
	c.Family, c.RFC, c.Expectation = FamilyUTF8, "RFC 6455 §8.1", utf8FailRule
	return scripted(c, casekit.Script{
		Steps: []casekit.Step{casekit.Send(wire.OneWrite, frames...)},
		OK:    onlyTrace(),
		Close: failInvalidUTF8,
	})
}

// utf8Basics returns 6.1.x–6.3.x.
func utf8Basics() []Case {
	const middle = "middle frame payload"
	const fragmentedEcho = "The server MUST reassemble the fragments (§5.4) and echo one text message with the same bytes (§5.6); then a clean close with 1000."
	hello1, hello2 := "Hello-µ@ßöä", "üàá-UTF-8!!"
	return []Case{
		utf8Echo(Case{
			ID: "6.1.1", Title: "empty text message", RFC: "RFC 6455 §8.1, §5.6",
			Description: "Send one text frame with an empty payload.",
			Expectation: "An empty payload is valid UTF-8: the server MUST echo an empty text message (§5.6, §8.1); then a clean close with 1000.",
		}, "", wire.Text("")),
		utf8Echo(Case{
			ID: "6.1.2", Title: "text message of 3 empty fragments", RFC: "RFC 6455 §5.4, §8.1, §5.6",
			Description: "Send a text message as 3 frames (text, continuation, final continuation), each with an empty payload.",
			Expectation: "The server MUST reassemble the fragments (§5.4) and echo one empty text message (§5.6); then a clean close with 1000.",
		}, "", wire.Fragment(wire.Text("")), wire.Continuation(nil, false), wire.Continuation(nil, true)),
		utf8Echo(Case{
			ID: "6.1.3", Title: "text message of empty, non-empty, empty fragments", RFC: "RFC 6455 §5.4, §8.1, §5.6",
			Description: fmt.Sprintf("Send a text message as 3 frames: an empty text frame, a continuation frame carrying %q, an empty final continuation frame.", middle),
			Expectation: fmt.Sprintf("The server MUST reassemble the fragments (§5.4) and echo one text message %q (§5.6); then a clean close with 1000.", middle),
		}, middle, wire.Fragment(wire.Text("")), wire.Continuation([]byte(middle), false), wire.Continuation(nil, true)),

		utf8Echo(Case{
			ID: "6.2.1", Title: "valid UTF-8 text in one frame", RFC: "RFC 6455 §8.1, §5.6",
			Description: fmt.Sprintf("Send one text frame with the valid UTF-8 payload %q (hex %s).", utf8Hello, utf8HexOctets(utf8Hello)),
			Expectation: utf8EchoRule,
		}, utf8Hello, wire.Text(utf8Hello)),
		utf8Echo(Case{
			ID: "6.2.2", Title: "valid UTF-8 text in 2 fragments split on a code point boundary", RFC: "RFC 6455 §5.4, §8.1, §5.6",
			Description: fmt.Sprintf("Send the valid UTF-8 text %q as 2 frames split between code points: %q (hex %s), then %q (hex %s).",
				utf8Hello, hello1, utf8HexOctets(hello1), hello2, utf8HexOctets(hello2)),
			Expectation: fragmentedEcho,
		}, utf8Hello, wire.Fragment(wire.Text(hello1)), wire.Continuation([]byte(hello2), true)),
		utf8Echo(Case{
			ID: "6.2.3", Title: "valid UTF-8 text in 1-octet fragments", RFC: "RFC 6455 §5.4, §8.1, §5.6",
			Description: fmt.Sprintf("Send the valid UTF-8 text %q (hex %s) as %d frames of 1 octet each, so frames end inside code points.",
				utf8Hello, utf8HexOctets(utf8Hello), len(utf8Hello)),
			Expectation: "A text frame may end inside a code point; only the whole message MUST be valid UTF-8 (§5.6). " + fragmentedEcho,
		}, utf8Hello, utf8Fragments(utf8Hello, 1)...),
		utf8Echo(Case{
			ID: "6.2.4", Title: "'κόσμε' in 1-octet fragments", RFC: "RFC 6455 §5.4, §8.1, §5.6",
			Description: fmt.Sprintf("Send the valid UTF-8 text \"κόσμε\" (hex %s) as %d frames of 1 octet each, so frames end inside code points.",
				utf8HexOctets(utf8Kosme), len(utf8Kosme)),
			Expectation: "A text frame may end inside a code point; only the whole message MUST be valid UTF-8 (§5.6). " + fragmentedEcho,
		}, utf8Kosme, utf8Fragments(utf8Kosme, 1)...),

		utf8Reject(Case{
			ID: "6.3.1", Title: "invalid UTF-8 (surrogate ED A0 80) in one frame",
			Description: fmt.Sprintf("Send one text frame whose payload is \"κόσμε\", the UTF-8 form of the surrogate U+D800 (ED A0 80) and \"edited\": hex %s. Octet 13 (A0) makes it invalid.",
				utf8HexOctets(utf8Surrogate)),
		}, wire.Text(utf8Surrogate)),
		utf8Reject(Case{
			ID: "6.3.2", Title: "invalid UTF-8 (surrogate ED A0 80) in 1-octet fragments",
			Description: fmt.Sprintf("Send the text message of 6.3.1 (hex %s) as %d frames of 1 octet each.",
				utf8HexOctets(utf8Surrogate), len(utf8Surrogate)),
		}, utf8Fragments(utf8Surrogate, 1)...),
	}
}

// utf8FailFast returns 6.4.x: a message made invalid by its second of three
// parts, with 1 s pauses after the first and second parts. A server that
// validates as octets arrive fails during the second pause (OK, trace
// [<A>]); one that validates the whole message fails after the third part
// (NON-STRICT, [<A>, <B>]); failing before part 2 is FAILED (trace []).
func utf8FailFast() []Case {
	const pause = time.Second
	const expectation = "Part 1 is valid UTF-8 so far and the connection MUST stay open during the first pause. " +
		"The server SHOULD fail the connection as soon as part 2 makes the payload invalid (OK); failing only once the message is complete is NON-STRICT. " +
		"It MUST _Fail the WebSocket Connection_ by then at the latest (§8.1), with status 1007 (§7.4.1; another code is WRONG CODE) or by dropping TCP, and MUST NOT echo anything; if the client has to close instead, the case is FAILED."
	// judgedFailFast is s judged as the expectation says.
	judgedFailFast := func(s casekit.Script) casekit.Script {
		s.OK = onlyTrace(casekit.Mark("A"))
		s.NonStrict = onlyTrace(casekit.Mark("A"), casekit.Mark("B"))
		s.Close = failInvalidUTF8
		return s
	}
	partsText := func(p [3]string) string {
		return fmt.Sprintf("part 1 = %s, part 2 = %s, part 3 = %s", utf8HexOctets(p[0]), utf8HexOctets(p[1]), utf8HexOctets(p[2]))
	}
	var out []Case
	for i, p := range utf8FailFastSplits {
		out = append(out, scripted(Case{
			ID: fmt.Sprintf("6.4.%d", i+1), Family: FamilyUTF8, RFC: "RFC 6455 §8.1",
			Title: fmt.Sprintf("fail fast on invalid UTF-8: 3 frames, part 2 is %s", utf8FailFastSecondShort[i]),
			Description: fmt.Sprintf("Send the text message %s (\"κόσμε\", U+110000 encoded as F4 90 80 80, \"edited\") as 3 frames with 1 s pauses after the first and second frames; the second frame carries %s: %s.",
				utf8HexOctets(utf8FailFastPayload), utf8FailFastSecond[i], partsText(p)),
			Expectation: expectation,
		}, judgedFailFast(casekit.Script{Steps: []casekit.Step{
			casekit.Send(wire.OneWrite, wire.Fragment(wire.Text(p[0]))),
			casekit.Wait(pause, "A"),
			casekit.Send(wire.OneWrite, wire.Continuation([]byte(p[1]), false)),
			casekit.Wait(pause, "B"),
			casekit.Send(wire.OneWrite, wire.Continuation([]byte(p[2]), true)),
		}})))
	}
	for i, p := range utf8FailFastSplits {
		frames, cuts := utf8FailFastChops(p)
		out = append(out, scripted(Case{
			ID: fmt.Sprintf("6.4.%d", i+3), Family: FamilyUTF8, RFC: "RFC 6455 §8.1",
			Title: fmt.Sprintf("fail fast on invalid UTF-8: 3 TCP chops of one frame, chop 2 is %s", utf8FailFastSecondShort[i]),
			Description: fmt.Sprintf("Send the text message %s (\"κόσμε\", U+110000 encoded as F4 90 80 80, \"edited\") as ONE non-final text frame whose header declares all %d payload octets, written in 3 TCP chops with 1 s pauses after the first and second; the second chop carries %s: %s. As in Autobahn's streaming API, an empty final continuation frame ends the message in the third write.",
				utf8HexOctets(utf8FailFastPayload), len(utf8FailFastPayload), utf8FailFastSecond[i], partsText(p)),
			Expectation: expectation,
		}, judgedFailFast(casekit.Script{Steps: []casekit.Step{
			casekit.SendCut(frames, casekit.Cut{At: cuts[0], Pause: pause, Marker: "A"}, casekit.Cut{At: cuts[1], Pause: pause, Marker: "B"}),
		}})))
	}
	return out
}

// utf8FailFastChops returns the frames Autobahn's streaming API sends for
// the payload parts, and where to cut their payload (casekit.Cut): one
// non-final text frame whose header declares the whole payload, cut after
// part 1 (which goes out with the header) and after part 2; the last write
// also carries the empty final continuation frame that ends the message.
func utf8FailFastChops(parts [3]string) ([]wire.Frame, [2]int) {
	payload := parts[0] + parts[1] + parts[2]
	frame := wire.Fragment(wire.Text(payload))
	return []wire.Frame{frame, wire.Continuation(nil, true)}, [2]int{len(parts[0]), len(parts[0]) + len(parts[1])}
}

// utf8KuhnCase is one case of 6.5–6.23: the payload in one unfragmented
// text frame.
func utf8KuhnCase(id, group string, v utf8Vector) Case {
	verdict, rfc, rule := "invalid", "RFC 6455 §8.1", utf8FailRule
	if v.valid {
		verdict, rfc, rule = "valid", "RFC 6455 §8.1, §5.6", utf8EchoRule
	}
	title := verdict + ": " + v.what
	if n := len(v.payload); n <= utf8TitleHexMax {
		title += " (" + utf8HexOctets(v.payload) + ")"
	}
	description := fmt.Sprintf("Markus Kuhn UTF-8 test, %q: send one unfragmented text frame whose %d-octet payload is %s UTF-8: %s.",
		group, len(v.payload), verdict, utf8HexOctets(v.payload))
	s := casekit.Script{
		Steps: []casekit.Step{casekit.Send(wire.OneWrite, wire.Text(v.payload))},
		OK:    onlyTrace(),
		Close: failInvalidUTF8,
	}
	if v.valid {
		s.OK, s.Close = onlyTrace(casekit.Text(v.payload)), closeNormal
	}
	return scripted(Case{
		ID: id, Family: FamilyUTF8, Title: title, RFC: rfc,
		Description: description,
		Expectation: rule,
	}, s)
}
