package cases

import (
	"bytes"
	"fmt"
	"time"

	"github.com/wsharness/wsharness/conformance/casekit"
	"github.com/wsharness/wsharness/wire"
)

// framingSizes are Autobahn 1.1/1.2's payload lengths: both sides of the
// 7-, 16- and 64-bit length encodings.
var framingSizes = []int{0, 125, 126, 127, 128, 65535, 65536}

// largeEchoTimeout is the timer for echoes of 64 KiB and more.
const largeEchoTimeout = 10 * time.Second

// Framing returns 1.1.x, 1.2.x (Autobahn) and 101.x (length encodings).
func Framing() []Case {
	var out []Case
	// The eighth size repeats the last one, written in 997-byte chops.
	sizes := append(append([]int(nil), framingSizes...), 65536)
	for _, kind := range []struct {
		sub  int
		name string
		op   byte
		fill byte
	}{{1, "text", wire.OpText, '*'}, {2, "binary", wire.OpBinary, 0xFE}} {
		for j, n := range sizes {
			payload := bytes.Repeat([]byte{kind.fill}, n)
			split, how := wire.OneWrite, ""
			if j == len(framingSizes) {
				split, how = wire.Chops(997), ", written in 997-byte TCP chops"
			}
			timeout := time.Duration(0)
			if n >= 65535 {
				timeout = largeEchoTimeout
			}
			out = append(out, scripted(Case{
				ID: fmt.Sprintf("1.%d.%d", kind.sub, j+1), Family: FamilyFraming, RFC: "RFC 6455 §5.2, §5.6",
				Title:       fmt.Sprintf("%s message, %d-byte payload%s", kind.name, n, how),
				Description: fmt.Sprintf("Send one %s frame with a %d-byte payload%s.", kind.name, n, how),
				Expectation: "The server MUST read the payload length in its 7-, 16- or 64-bit form and echo the message with the same type and bytes; then a clean close with 1000.",
			}, casekit.Script{
				Steps:   []casekit.Step{casekit.Send(split, wire.NewFrame(kind.op, payload))},
				OK:      onlyTrace(casekit.Event{Kind: casekit.Message, Opcode: kind.op, Payload: payload}),
				Close:   closeNormal,
				Timeout: timeout,
			}))
		}
	}
	return append(out, lengthEncodings()...)
}

// lengthEncodings are project cases 101.x: lengths Autobahn never sends.
func lengthEncodings() []Case {
	hello := []byte("Hello")
	nonMinimal := func(form int) casekit.Script {
		f := wire.Text(string(hello))
		f.LengthForm = form
		return casekit.Script{
			Steps:         []casekit.Step{casekit.Send(wire.OneWrite, f)},
			OK:            onlyTrace(casekit.TextBytes(hello)),
			NonStrict:     onlyTrace(),
			Informational: true,
			Close:         casekit.CloseExpect{AnyEndpoint: true, Codes: []int{1000, 1002}},
		}
	}
	msb := uint64(1)<<63 | uint64(len(hello))
	lying := wire.Text(string(hello))
	lying.DeclaredLength = &msb
	return []Case{
		scripted(Case{
			ID: "101.1", Family: FamilyFraming, Title: "5-byte text frame with a 16-bit length field", RFC: "RFC 6455 §5.2",
			Description: "Send a 5-byte text frame whose length is written in the 16-bit extended field instead of the 7-bit one.",
			Expectation: "§5.2 says a sender MUST use the minimal length encoding but says nothing of the receiver: echoing and failing the connection are both recorded (INFORMATIONAL).",
		}, nonMinimal(wire.Length16)),
		scripted(Case{
			ID: "101.2", Family: FamilyFraming, Title: "5-byte text frame with a 64-bit length field", RFC: "RFC 6455 §5.2",
			Description: "Send a 5-byte text frame whose length is written in the 64-bit extended field.",
			Expectation: "§5.2 says a sender MUST use the minimal length encoding but says nothing of the receiver: echoing and failing the connection are both recorded (INFORMATIONAL).",
		}, nonMinimal(wire.Length64)),
		nonStrictWhenNotFailed(scripted(Case{
			ID: "101.3", Family: FamilyFraming, Title: "64-bit length with the most significant bit set", RFC: "RFC 6455 §5.2",
			Description: "Send a text frame whose 64-bit length has its most significant bit set (2^63+5), followed by 5 payload bytes.",
			Expectation: "The most significant bit of a 64-bit length MUST be 0 (§5.2): the server should fail the connection (1002, or 1009 as too big) and MUST NOT echo anything. Waiting for 2^63 bytes is NON-STRICT.",
		}, casekit.Script{
			Steps: []casekit.Step{casekit.Send(wire.OneWrite, lying)},
			OK:    onlyTrace(),
			Close: casekit.CloseExpect{ByPeer: true, Codes: []int{1002, 1009}},
		}), "the RFC forbids sending this length but does not require the receiver to fail on it"),
	}
}
