package deflate

import (
	"bytes"
	"errors"
	"math/rand/v2"
	"reflect"
	"runtime"
	"strings"
	"testing"

	"github.com/wsharness/wsharness/wire/handshake"
)

func TestOfferProblems(t *testing.T) {
	for _, ok := range []string{
		"permessage-deflate",
		"permessage-deflate; client_max_window_bits",
		"permessage-deflate; server_no_context_takeover; client_no_context_takeover; server_max_window_bits=8; client_max_window_bits=15",
	} {
		if p := OfferProblems(handshake.MustParseExtension(ok)); len(p) > 0 {
			t.Errorf("%q: problems %q", ok, p)
		}
	}
	for _, bad := range []string{
		"permessage-deflate; x",
		"permessage-deflate; client_no_context_takeover; client_no_context_takeover",
		"permessage-deflate; client_max_window_bits; client_max_window_bits",
		"permessage-deflate; client_max_window_bits=7",
		"permessage-deflate; client_max_window_bits=16",
		"permessage-deflate; client_max_window_bits=09",
		"permessage-deflate; server_max_window_bits",
		"permessage-deflate; server_max_window_bits=abc",
		"permessage-deflate; server_no_context_takeover=1",
	} {
		if p := OfferProblems(handshake.MustParseExtension(bad)); len(p) == 0 {
			t.Errorf("%q: no problem found", bad)
		}
	}
}

func TestNegotiate(t *testing.T) {
	const plain = "permessage-deflate"
	for _, tc := range []struct {
		name     string
		offers   []string
		response string // "" = declined
		problem  string // substring of the first problem; "" = accepted
		want     Params
	}{
		{name: "declined", offers: []string{plain}},
		{name: "plain", offers: []string{plain}, response: plain,
			want: Params{ServerMaxWindowBits: 15, ClientMaxWindowBits: 15}},
		{name: "both no context takeover", offers: []string{plain}, response: "permessage-deflate; server_no_context_takeover; client_no_context_takeover",
			want: Params{ServerNoContextTakeover: true, ClientNoContextTakeover: true, ServerMaxWindowBits: 15, ClientMaxWindowBits: 15}},
		{name: "hint in the offer binds the client", offers: []string{"permessage-deflate; client_no_context_takeover"}, response: plain,
			want: Params{ClientNoContextTakeover: true, ServerMaxWindowBits: 15, ClientMaxWindowBits: 15}},
		{name: "client window answered", offers: []string{"permessage-deflate; client_max_window_bits"}, response: "permessage-deflate; client_max_window_bits=10",
			want: Params{ServerMaxWindowBits: 15, ClientMaxWindowBits: 10}},
		{name: "client window offered with a value", offers: []string{"permessage-deflate; client_max_window_bits=9"}, response: plain,
			want: Params{ServerMaxWindowBits: 15, ClientMaxWindowBits: 9}},
		{name: "client window not offered", offers: []string{plain}, response: "permessage-deflate; client_max_window_bits=10",
			problem: "client_max_window_bits, which the offer did not have"},
		{name: "server window honoured", offers: []string{"permessage-deflate; server_max_window_bits=10"}, response: "permessage-deflate; server_max_window_bits=9",
			want: Params{ServerMaxWindowBits: 9, ClientMaxWindowBits: 15}},
		{name: "server window omitted", offers: []string{"permessage-deflate; server_max_window_bits=10"}, response: plain,
			problem: "limits server_max_window_bits to 10 and the response allows 15"},
		{name: "server window raised", offers: []string{"permessage-deflate; server_max_window_bits=10"}, response: "permessage-deflate; server_max_window_bits=12",
			problem: "allows 12"},
		{name: "server window 15 may be omitted", offers: []string{"permessage-deflate; server_max_window_bits=15"}, response: plain,
			want: Params{ServerMaxWindowBits: 15, ClientMaxWindowBits: 15}},
		{name: "server no context takeover omitted", offers: []string{"permessage-deflate; server_no_context_takeover"}, response: plain,
			problem: "omits it"},
		{name: "unknown response parameter", offers: []string{plain}, response: "permessage-deflate; foo",
			problem: "not defined for permessage-deflate"},
		{name: "duplicate response parameter", offers: []string{plain}, response: "permessage-deflate; server_no_context_takeover; server_no_context_takeover",
			problem: "more than once"},
		{name: "bare client window in a response", offers: []string{"permessage-deflate; client_max_window_bits"}, response: "permessage-deflate; client_max_window_bits",
			problem: "in a response needs a value"},
		{name: "accepted twice", offers: []string{plain, plain}, response: "permessage-deflate, permessage-deflate",
			problem: "accepts permessage-deflate 2 times"},
		{name: "invalid offer accepted", offers: []string{"permessage-deflate; x"}, response: plain,
			problem: "MUST be declined"},
		{name: "second offer accepted", offers: []string{"permessage-deflate; x", "permessage-deflate; server_max_window_bits=10", plain}, response: plain,
			want: Params{Offer: 2, ServerMaxWindowBits: 15, ClientMaxWindowBits: 15}},
		{name: "first valid offer accepted", offers: []string{"permessage-deflate; server_max_window_bits=10", plain}, response: "permessage-deflate; server_max_window_bits=10",
			want: Params{ServerMaxWindowBits: 10, ClientMaxWindowBits: 15}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var offers []handshake.Extension
			for _, o := range tc.offers {
				offers = append(offers, handshake.MustParseExtension(o))
			}
			var resp []handshake.Extension
			if tc.response != "" {
				var err error
				if resp, err = handshake.ParseExtensions([]string{tc.response}); err != nil {
					t.Fatal(err)
				}
			}
			d, problems := Negotiate(offers, resp)
			switch {
			case tc.problem != "":
				if len(problems) == 0 || !strings.Contains(problems[0], tc.problem) {
					t.Fatalf("problems %q, want one containing %q", problems, tc.problem)
				}
			case len(problems) > 0:
				t.Fatalf("unexpected problems %q", problems)
			case tc.response == "":
				if d != nil {
					t.Fatalf("declined, but got %v", d)
				}
			default:
				got := *d
				got.Response = handshake.Extension{}
				if !reflect.DeepEqual(got, tc.want) {
					t.Fatalf("got %+v, want %+v", got, tc.want)
				}
			}
		})
	}
}

// The decompression examples of RFC 7692 §7.2.3.
func TestDecompressRFCExamples(t *testing.T) {
	d := NewDecompressor(15, false, 0)
	for _, tc := range []struct {
		name string
		in   []byte
	}{
		{"7.2.3.1 one compressed message", []byte{0xf2, 0x48, 0xcd, 0xc9, 0xc9, 0x07, 0x00}},
		{"7.2.3.2 the same again, sharing the window", []byte{0xf2, 0x00, 0x11, 0x00, 0x00}},
		{"7.2.3.3 no compression", []byte{0x00, 0x05, 0x00, 0xfa, 0xff, 0x48, 0x65, 0x6c, 0x6c, 0x6f, 0x00}},
		{"7.2.3.4 BFINAL set", []byte{0xf3, 0x48, 0xcd, 0xc9, 0xc9, 0x07, 0x00, 0x00}},
	} {
		got, err := d.Decompress(tc.in)
		if err != nil || string(got) != "Hello" {
			t.Errorf("%s: %q, %v; want \"Hello\"", tc.name, got, err)
		}
	}
	if got, err := d.Decompress([]byte{0x00}); err != nil || len(got) != 0 {
		t.Errorf("7.2.3.6 empty message: %q, %v", got, err)
	}
	// The same second message without the shared window refers to
	// nothing: corrupt.
	fresh := NewDecompressor(15, true, 0)
	_, _ = fresh.Decompress([]byte{0xf2, 0x48, 0xcd, 0xc9, 0xc9, 0x07, 0x00})
	if _, err := fresh.Decompress([]byte{0xf2, 0x00, 0x11, 0x00, 0x00}); !errors.Is(err, ErrBadDeflate) {
		t.Errorf("back-reference with no context takeover: err %v, want ErrBadDeflate", err)
	}
}

func randomBytes(seed uint64, n int) []byte {
	r := rand.New(rand.NewPCG(seed, seed))
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(r.Uint32())
	}
	return b
}

// A series of messages survives every combination of window and context
// takeover, and the compressed form never ends with the stripped tail.
func TestCompressRoundTrip(t *testing.T) {
	msgs := [][]byte{nil, []byte("a"), randomBytes(1, 5000), bytes.Repeat([]byte("wsharness "), 9000), randomBytes(2, 300)}
	msgs = append(msgs, msgs[3], msgs[2])
	for _, bits := range []int{8, 9, 12, 15} {
		for _, noContext := range []bool{false, true} {
			c, d := NewCompressor(bits, noContext), NewDecompressor(bits, noContext, 0)
			for i, m := range msgs {
				z := c.Compress(m)
				if bytes.HasSuffix(z, syncTail) && len(m) > 0 {
					t.Errorf("bits %d, no context %v, message %d: the sync tail was not stripped", bits, noContext, i)
				}
				got, err := d.Decompress(z)
				if err != nil || !bytes.Equal(got, m) {
					t.Fatalf("bits %d, no context %v, message %d (%d bytes): got %d bytes, %v", bits, noContext, i, len(m), len(got), err)
				}
			}
		}
	}
}

// The compressor never refers back further than its window: a random
// block repeated 4 KiB later shrinks with a 32 KiB window and does not
// with a 1 KiB one, in one message and across two.
func TestCompressorRespectsWindow(t *testing.T) {
	r := randomBytes(3, 4<<10)
	twice := append(append([]byte(nil), r...), r...)
	if n := len(NewCompressor(15, true).Compress(twice)); n > 5<<10 {
		t.Fatalf("32 KiB window: %d bytes; the repeat was not found", n)
	}
	if n := len(NewCompressor(10, true).Compress(twice)); n < 8<<10 {
		t.Fatalf("1 KiB window: %d bytes; a match reached 4 KiB back", n)
	}
	wide, narrow := NewCompressor(15, false), NewCompressor(10, false)
	wide.Compress(r)
	narrow.Compress(r)
	if n := len(wide.Compress(r)); n > 200 {
		t.Errorf("context takeover, 32 KiB window: the second copy took %d bytes", n)
	}
	if n := len(narrow.Compress(r)); n < 4000 {
		t.Errorf("context takeover, 1 KiB window: the second copy took %d bytes; a match reached into the first", n)
	}
	noContext := NewCompressor(15, true)
	noContext.Compress(r)
	if n := len(noContext.Compress(r)); n < 4000 {
		t.Errorf("no context takeover: the second copy took %d bytes; it referred to the first", n)
	}
}

// A decompressor keeps only the window the sender promised: a sender that
// refers back further across messages is corrupt data.
func TestDecompressorEnforcesWindowAcrossMessages(t *testing.T) {
	r := randomBytes(4, 4<<10)
	c := NewCompressor(15, false)
	first, second := c.Compress(r), c.Compress(r)
	d := NewDecompressor(10, false, 0)
	if _, err := d.Decompress(first); err != nil {
		t.Fatal(err)
	}
	if _, err := d.Decompress(second); !errors.Is(err, ErrBadDeflate) {
		t.Fatalf("reference 4 KiB back into a 1 KiB window: err %v, want ErrBadDeflate", err)
	}
}

// A deflate bomb stops at the limit without allocating what it would
// inflate to.
func TestDecompressBombIsBounded(t *testing.T) {
	bomb := NewCompressor(15, true).Compress(make([]byte, 64<<20))
	const limit = 1 << 20
	d := NewDecompressor(15, true, limit)
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	_, err := d.Decompress(bomb)
	runtime.ReadMemStats(&after)
	if !errors.Is(err, ErrInflateLimit) {
		t.Fatalf("%d compressed bytes: err %v, want ErrInflateLimit", len(bomb), err)
	}
	if alloc := after.TotalAlloc - before.TotalAlloc; alloc > 8<<20 {
		t.Fatalf("decompressing the bomb allocated %d bytes for a %d-byte limit", alloc, limit)
	}
	// Exactly the limit is fine.
	if out, err := NewDecompressor(15, true, limit).Decompress(NewCompressor(15, true).Compress(make([]byte, limit))); err != nil || len(out) != limit {
		t.Fatalf("a message of exactly the limit: %d bytes, %v", len(out), err)
	}
}

func TestDecompressRejectsGarbage(t *testing.T) {
	for _, in := range [][]byte{{0xff, 0xff, 0xff, 0xff}, {0xf2, 0x48}, {0x07}} {
		if _, err := NewDecompressor(15, true, 0).Decompress(in); !errors.Is(err, ErrBadDeflate) {
			t.Errorf("% x: err %v, want ErrBadDeflate", in, err)
		}
	}
}

// FuzzNegotiate feeds server-controlled extension headers to the
// parser and the negotiation: no panic, and what parses renders to a value
// that parses to the same elements.
func FuzzNegotiate(f *testing.F) {
	f.Add("permessage-deflate; client_max_window_bits=10")
	f.Add(`permessage-deflate; server_max_window_bits="9", x-foo; a=b`)
	f.Add("permessage-deflate;;, ,permessage-deflate; server_no_context_takeover")
	offers := []handshake.Extension{handshake.MustParseExtension("permessage-deflate; client_max_window_bits; server_max_window_bits=12")}
	f.Fuzz(func(t *testing.T, header string) {
		exts, err := handshake.ParseExtensions([]string{header})
		if err != nil {
			return
		}
		again, err := handshake.ParseExtensions([]string{handshake.FormatExtensions(exts...)})
		if err != nil || handshake.FormatExtensions(again...) != handshake.FormatExtensions(exts...) {
			t.Fatalf("%q renders as %q, which parses to %q (%v)", header, handshake.FormatExtensions(exts...), handshake.FormatExtensions(again...), err)
		}
		_, _ = Negotiate(offers, exts)
	})
}

// The two ends of one negotiated configuration talk to each other: what
// the server's codec compresses, with the server's window and context
// rule, the client's decompresses, and the other way round; and the
// server holds the client to the answer only (ClientBound).
func TestCodecEitherRole(t *testing.T) {
	offers := []handshake.Extension{handshake.MustParseExtension("permessage-deflate; client_no_context_takeover; client_max_window_bits")}
	msg := bytes.Repeat([]byte("the quick brown fox jumps over the lazy dog; "), 40)
	for _, add := range [][]handshake.ExtParam{
		nil,
		{WindowBitsParam(ServerMaxWindowBits, 8)},
		{WindowBitsParam(ClientMaxWindowBits, 8), {Name: ServerNoContextTakeover}},
		{{Name: ClientNoContextTakeover}, WindowBitsParam(ClientMaxWindowBits, 9)},
	} {
		answer := Answer(offers[0], add...)
		d, problems := Negotiate(offers, []handshake.Extension{answer})
		if len(problems) > 0 {
			t.Fatalf("%s: %v", answer, problems)
		}
		client, server := NewClientCodec(*d, 0), NewServerCodec(*d, 0)
		for i := range 3 {
			if got, err := client.Decompress(server.Compress(msg)); err != nil || !bytes.Equal(got, msg) {
				t.Fatalf("%s: server message %d: %v", answer, i, err)
			}
			if got, err := server.Decompress(client.Compress(msg)); err != nil || !bytes.Equal(got, msg) {
				t.Fatalf("%s: client message %d: %v", answer, i, err)
			}
		}
	}
	// The offer's client_no_context_takeover is a hint the client keeps
	// to, but the server does not hold it to: a client using its context
	// still decompresses when the answer lacks the parameter, and does not
	// when the answer has it.
	for _, strict := range []bool{false, true} {
		var add []handshake.ExtParam
		if strict {
			add = append(add, handshake.ExtParam{Name: ClientNoContextTakeover})
		}
		d, _ := Negotiate(offers, []handshake.Extension{Answer(offers[0], add...)})
		if bits, noContext := d.ClientBound(); bits != 15 || noContext != strict {
			t.Errorf("answer with client_no_context_takeover %v: ClientBound %d, %v", strict, bits, noContext)
		}
		server, keeping := NewServerCodec(*d, 0), NewCompressor(15, false)
		_, _ = server.Decompress(keeping.Compress(msg))
		_, err := server.Decompress(keeping.Compress(msg))
		if (err != nil) != strict {
			t.Errorf("answer with client_no_context_takeover %v: a client keeping its context decompresses with error %v", strict, err)
		}
	}
}

// Answer answers the offer's server parameters and keeps a
// server_max_window_bits within the offer's limit.
func TestAnswer(t *testing.T) {
	for _, tc := range []struct {
		offer string
		add   []handshake.ExtParam
		want  string
	}{
		{"permessage-deflate", nil, "permessage-deflate"},
		{"permessage-deflate; server_no_context_takeover; server_max_window_bits=10", nil, "permessage-deflate; server_no_context_takeover; server_max_window_bits=10"},
		{"permessage-deflate; server_max_window_bits=10", []handshake.ExtParam{WindowBitsParam(ServerMaxWindowBits, 12)}, "permessage-deflate; server_max_window_bits=10"},
		{"permessage-deflate; server_max_window_bits=10", []handshake.ExtParam{WindowBitsParam(ServerMaxWindowBits, 8)}, "permessage-deflate; server_max_window_bits=8"},
		{"permessage-deflate; client_max_window_bits", []handshake.ExtParam{WindowBitsParam(ClientMaxWindowBits, 8)}, "permessage-deflate; client_max_window_bits=8"},
	} {
		if got := Answer(handshake.MustParseExtension(tc.offer), tc.add...).String(); got != tc.want {
			t.Errorf("Answer(%q, %v) = %q, want %q", tc.offer, tc.add, got, tc.want)
		}
	}
}

// longestReference reads every block type: a window-bounded compressor's
// references stay within its window, a 32 KiB one's reach further, the
// RFC's examples parse, and truncated data is an error.
func TestLongestReference(t *testing.T) {
	var s referenceScanner
	longest := func(compressed []byte) int {
		t.Helper()
		far, err := s.longestReference(append(append([]byte{}, compressed...), inflateTail...))
		if err != nil {
			t.Fatalf("longestReference: %v", err)
		}
		return far
	}
	r := rand.New(rand.NewPCG(1, 2))
	block := make([]byte, 300)
	for i := range block {
		block[i] = byte(' ' + r.IntN(95))
	}
	msg := bytes.Repeat(block, 20) // copies 300 bytes apart
	if far := longest(NewCompressor(15, true).Compress(msg)); far != 300 {
		t.Errorf("32 KiB window: longest reference %d, want 300", far)
	}
	for _, bits := range []int{8, 9, 12} {
		if far := longest(NewCompressor(bits, true).Compress(msg)); far > 1<<bits || far == 0 && bits > 8 {
			t.Errorf("window 2^%d: longest reference %d", bits, far)
		}
	}
	// RFC 7692 §7.2.3.1 and §7.2.3.2: "Hello" with a fixed block, and
	// the same again referring back 5 bytes.
	if far := longest([]byte{0xf2, 0x48, 0xcd, 0xc9, 0xc9, 0x07, 0x00}); far != 0 {
		t.Errorf("fixed block without references: %d", far)
	}
	if far := longest([]byte{0xf2, 0x00, 0x11, 0x00, 0x00}); far != 5 {
		t.Errorf("RFC 7692 §7.2.3.2's second message: longest reference %d, want 5", far)
	}
	// A stored block (§7.2.3.3).
	if far := longest([]byte{0x00, 0x05, 0x00, 0xfa, 0xff, 0x48, 0x65, 0x6c, 0x6c, 0x6f, 0x00}); far != 0 {
		t.Errorf("stored block: %d", far)
	}
	compressed := NewCompressor(15, true).Compress(msg)
	if _, err := s.longestReference(compressed[:len(compressed)/2]); err == nil {
		t.Error("half a message: no error")
	}
	for range 2000 { // garbage ends with an error or a result, never a panic or a hang
		garbage := make([]byte, r.IntN(200))
		for i := range garbage {
			garbage[i] = byte(r.Uint32())
		}
		_, _ = s.longestReference(garbage)
	}
}

// A server's decompressor holds the client to its window inside one
// message too; a client's does not look.
func TestServerChecksDistancesInsideAMessage(t *testing.T) {
	offer := handshake.MustParseExtension("permessage-deflate; client_max_window_bits")
	answer := Answer(offer, WindowBitsParam(ClientMaxWindowBits, 8))
	d, _ := Negotiate([]handshake.Extension{offer}, []handshake.Extension{answer})
	r := rand.New(rand.NewPCG(3, 4))
	block := make([]byte, 360)
	for i := range block {
		block[i] = byte(' ' + r.IntN(95))
	}
	msg := append(append([]byte{}, block...), block...)
	wide := NewCompressor(15, true).Compress(msg) // refers 360 bytes back
	if _, err := NewServerCodec(*d, 0).Decompress(wide); err == nil || !strings.Contains(err.Error(), "reaches 360 bytes back") {
		t.Errorf("server: %v, want the reference beyond the window", err)
	}
	if got, err := NewServerCodec(*d, 0).Decompress(NewCompressor(8, true).Compress(msg)); err != nil || !bytes.Equal(got, msg) {
		t.Errorf("server, 8-bit compressor: %v", err)
	}
}
