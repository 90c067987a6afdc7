package wire

import (
	"bytes"
	"encoding/hex"
	"errors"
	"io"
	"strings"
	"testing"
)

// unhex decodes a hex string with spaces; the frame tables below read as
// the bytes on the wire: byte 0 = FIN RSV1-3 opcode, byte 1 = MASK len7.
func unhex(t *testing.T, s string) []byte {
	t.Helper()
	b, err := hex.DecodeString(strings.ReplaceAll(s, " ", ""))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestEncode(t *testing.T) {
	key := [4]byte{1, 2, 3, 4}
	n126 := uint64(126)
	msb := uint64(1)<<63 | 5
	for _, tc := range []struct {
		name  string
		frame Frame
		want  string
	}{
		{"final unmasked text", Frame{Fin: true, Opcode: OpText, Payload: []byte("Hi")}, "81 02 4869"},
		{"non-final binary", Frame{Opcode: OpBinary, Payload: []byte{0xff}}, "02 01 ff"},
		{"RSV1+RSV3 ping", Frame{Fin: true, RSV: RSV1 | RSV3, Opcode: OpPing}, "d9 00"},
		{"reserved opcode 11", Frame{Fin: true, Opcode: 11}, "8b 00"},
		{"masked text", Frame{Fin: true, Opcode: OpText, Mask: MaskAlways, Key: &key, Payload: []byte("Hi")}, "81 82 01020304 496b"},
		{"a client's key", WithKey(Text("Hi"), key), "81 82 01020304 496b"},
		{"zero key leaves payload", Frame{Fin: true, Opcode: OpText, Mask: MaskAlways, Key: &[4]byte{}, Payload: []byte("Hi")}, "81 82 00000000 4869"},
		{"non-minimal 16-bit length", Frame{Fin: true, Opcode: OpText, Payload: []byte("Hi"), LengthForm: Length16}, "81 7e 0002 4869"},
		{"non-minimal 64-bit length", Frame{Fin: true, Opcode: OpText, Payload: []byte("Hi"), LengthForm: Length64}, "81 7f 0000000000000002 4869"},
		{"lying length", Frame{Fin: true, Opcode: OpText, Payload: []byte("Hi"), DeclaredLength: &n126}, "81 7e 007e 4869"},
		{"64-bit length MSB set", Frame{Fin: true, Opcode: OpText, DeclaredLength: &msb}, "81 7f 8000000000000005"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got, want := tc.frame.Encode(Server, nil), unhex(t, tc.want); !bytes.Equal(got, want) {
				t.Fatalf("Encode = % x, want % x", got, want)
			}
		})
	}
}

func TestLengthBoundaries(t *testing.T) {
	for _, tc := range []struct {
		n      int
		form   int
		header int
	}{{0, Length7, 2}, {125, Length7, 2}, {126, Length16, 4}, {65535, Length16, 4}, {65536, Length64, 10}} {
		b := Frame{Fin: true, Opcode: OpBinary, Payload: make([]byte, tc.n)}.Encode(Server, nil)
		h, err := ParseHeader(b)
		if err != nil {
			t.Fatal(err)
		}
		if h.Length != uint64(tc.n) || h.LengthForm != tc.form || h.Size != tc.header {
			t.Errorf("n=%d: got length %d form %d size %d, want form %d size %d", tc.n, h.Length, h.LengthForm, h.Size, tc.form, tc.header)
		}
		if v := h.Violations(Server, 0); len(v) != 0 {
			t.Errorf("n=%d: minimal frame reported as %v", tc.n, v)
		}
	}
}

func TestDecodeRoundTripUnmasks(t *testing.T) {
	payload := make([]byte, 70000)
	for i := range payload {
		payload[i] = byte(i * 7)
	}
	var stream []byte
	stream = append(stream, Frame{Fin: false, Opcode: OpBinary, Mask: MaskAlways, Key: &[4]byte{9, 8, 7, 6}, Payload: payload}.Encode(Server, nil)...)
	stream = append(stream, Close(1000, "bye").Encode(Server, nil)...)
	// One byte per read: the decoder must assemble headers and payloads
	// from arbitrary splits.
	d := NewDecoder(&oneByteReader{r: bytes.NewReader(stream)}, 0)
	f, err := d.Next()
	if err != nil {
		t.Fatal(err)
	}
	if f.Fin || f.Opcode != OpBinary || !f.Masked || !bytes.Equal(f.Payload, payload) {
		t.Fatalf("first frame: fin %v op %d masked %v, payload equal %v", f.Fin, f.Opcode, f.Masked, bytes.Equal(f.Payload, payload))
	}
	f, err = d.Next()
	if err != nil {
		t.Fatal(err)
	}
	if f.Opcode != OpClose || string(f.Payload) != "\x03\xe8bye" {
		t.Fatalf("second frame: op %d payload %q", f.Opcode, f.Payload)
	}
	if _, err := d.Next(); err != io.EOF {
		t.Fatalf("after the last frame: %v, want io.EOF", err)
	}
}

type oneByteReader struct{ r io.Reader }

func (o *oneByteReader) Read(p []byte) (int, error) {
	if len(p) == 0 {
		return 0, nil
	}
	return o.r.Read(p[:1])
}

func TestDecoderRefusesDeclaredGiants(t *testing.T) {
	for _, n := range []uint64{1<<63 - 1, 1 << 62, DefaultMaxPayload + 1} {
		n := n
		b := Frame{Fin: true, Opcode: OpBinary, DeclaredLength: &n}.Encode(Server, nil)
		_, err := NewDecoder(bytes.NewReader(b), 0).Next()
		var tl *TooLargeError
		if !errors.As(err, &tl) || tl.Declared != n {
			t.Errorf("declared %d: err %v, want TooLargeError", n, err)
		}
	}
}

func TestDecoderTrickleAllocatesWhatArrived(t *testing.T) {
	n := uint64(DefaultMaxPayload)
	b := Frame{Fin: true, Opcode: OpBinary, DeclaredLength: &n, Payload: make([]byte, 1000)}.Encode(Server, nil)
	f, err := NewDecoder(bytes.NewReader(b), 0).Next()
	if err != io.ErrUnexpectedEOF {
		t.Fatalf("err = %v, want io.ErrUnexpectedEOF", err)
	}
	if len(f.Payload) != 1000 || cap(f.Payload) > 2*growStep {
		t.Fatalf("read %d bytes into a %d-byte buffer; a 32 MiB declaration must not be allocated up front", len(f.Payload), cap(f.Payload))
	}
}

func TestHeaderViolations(t *testing.T) {
	msb := uint64(1)<<63 | 1
	for _, tc := range []struct {
		name   string
		sender Role
		frame  Frame
		want   string
	}{
		{"masked", Server, Frame{Fin: true, Opcode: OpText, Mask: MaskAlways}, "server frame is masked (§5.1: a server MUST NOT mask"},
		{"unmasked", Client, Frame{Fin: true, Opcode: OpText, Mask: MaskNever}, "client frame is not masked (§5.1: a client MUST mask"},
		{"rsv", Server, Frame{Fin: true, RSV: RSV2, Opcode: OpText}, "server text frame has RSV bits 010"},
		{"client rsv", Client, Frame{Fin: true, RSV: RSV2, Opcode: OpText}, "client text frame has RSV bits 010"},
		{"reserved opcode", Server, Frame{Fin: true, Opcode: 5}, "reserved opcode 5"},
		{"fragmented ping", Server, Frame{Opcode: OpPing}, "fragmented"},
		{"long ping", Client, Frame{Fin: true, Opcode: OpPing, Payload: make([]byte, 126)}, "client control frame has a 126-byte"},
		{"non-minimal", Server, Frame{Fin: true, Opcode: OpText, LengthForm: Length16}, "minimal"},
		{"msb", Server, Frame{Fin: true, Opcode: OpBinary, DeclaredLength: &msb}, "most significant bit"},
	} {
		h, err := ParseHeader(tc.frame.Encode(tc.sender, nil))
		if err != nil {
			t.Fatal(err)
		}
		v := strings.Join(h.Violations(tc.sender, 0), "; ")
		if !strings.Contains(v, tc.want) {
			t.Errorf("%s: violations %q, want one mentioning %q", tc.name, v, tc.want)
		}
	}
	// Each role's default masking is what §5.1 asks of it, and
	// MaskAgainstRole is the opposite.
	for _, role := range []Role{Client, Server} {
		h, err := ParseHeader(Text("ok").Encode(role, nil))
		if err != nil {
			t.Fatal(err)
		}
		if h.Masked != (role == Client) {
			t.Errorf("a %s's text frame: masked %v", role, h.Masked)
		}
		if v := h.Violations(role, 0); len(v) != 0 {
			t.Errorf("a %s's text frame, masked as its role requires: %v", role, v)
		}
		wrong := Text("no")
		wrong.Mask = MaskAgainstRole
		if h, _ := ParseHeader(wrong.Encode(role, nil)); h.Masked == (role == Client) || len(h.Violations(role, 0)) != 1 {
			t.Errorf("a %s's frame masked against its role: masked %v, violations %q", role, h.Masked, h.Violations(role, 0))
		}
	}
	if v := (Header{Fin: true, RSV: RSV1, Opcode: OpText, LengthForm: Length7}).Violations(Server, RSV1); len(v) != 0 {
		t.Errorf("RSV1 with an extension that defines it: %v", v)
	}
}

func TestParseHeaderShort(t *testing.T) {
	full := Frame{Fin: true, Opcode: OpBinary, Mask: MaskAlways, Payload: make([]byte, 300)}.Encode(Server, nil)
	for i := 0; i < 8; i++ { // 2 + 2 length + 4 key
		if _, err := ParseHeader(full[:i]); err != ErrShortHeader {
			t.Errorf("%d bytes: err %v, want ErrShortHeader", i, err)
		}
	}
	if _, err := ParseHeader(full[:8]); err != nil {
		t.Errorf("8 bytes: %v", err)
	}
}
