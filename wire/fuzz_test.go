package wire

import (
	"bytes"
	"testing"
)

// FuzzDecoder feeds arbitrary bytes to the frame decoder: it must never
// panic, never return a payload longer than its limit, and never hold more
// than it was given.
func FuzzDecoder(f *testing.F) {
	f.Add(Text("Hello").Encode(Client, nil))
	f.Add(append(Frame{Fin: false, Opcode: OpText, Payload: []byte("frag")}.Encode(Server, nil), Continuation([]byte("ment"), true).Encode(Server, nil)...))
	f.Add(Frame{Fin: true, Opcode: OpBinary, Payload: make([]byte, 300), LengthForm: Length64}.Encode(Server, nil))
	msb := uint64(1)<<63 | 3
	f.Add(Frame{Fin: true, Opcode: OpText, DeclaredLength: &msb, Payload: []byte("abc")}.Encode(Server, nil))
	f.Add([]byte{0x81, 0xff})
	f.Fuzz(func(t *testing.T, data []byte) {
		const limit = 1 << 20
		d := NewDecoder(bytes.NewReader(data), limit)
		consumed := 0
		for {
			fr, err := d.Next()
			if len(fr.Payload) > limit || len(fr.Payload) > len(data) {
				t.Fatalf("payload of %d bytes from %d input bytes", len(fr.Payload), len(data))
			}
			if err != nil {
				return
			}
			consumed += fr.Size + len(fr.Payload)
			if consumed > len(data) {
				t.Fatalf("decoded %d bytes from %d", consumed, len(data))
			}
			_ = fr.Violations(Server, 0)
		}
	})
}
