package cases

import (
	"fmt"

	"github.com/wsharness/wsharness/conformance/casekit"
	"github.com/wsharness/wsharness/wire"
)

const rsvRule = "RSV bits MUST be 0 unless an extension defining them was negotiated; on a nonzero value the server MUST fail the connection (§5.2), with 1002 or a TCP drop."

// ReservedBits returns Autobahn 3.1–3.7.
func ReservedBits() []Case {
	hello := "Hello, world!"
	withRSV := func(f wire.Frame, rsv byte) wire.Frame { f.RSV = rsv; return f }
	binary := []byte{0x00, 0xff, 0xfe, 0xfd, 0xfc, 0xfb, 0x00, 0xff}
	alone := func(c Case, f wire.Frame) Case {
		c.Family, c.RFC, c.Expectation = FamilyReservedBits, "RFC 6455 §5.2", rsvRule
		return scripted(c, casekit.Script{
			Steps: []casekit.Step{casekit.Send(wire.OneWrite, f)},
			OK:    onlyTrace(),
			Close: failProtocol,
		})
	}
	afterEcho := func(id, how string, rsv byte, split wire.Split) Case {
		return scripted(Case{
			ID: id, Family: FamilyReservedBits, RFC: "RFC 6455 §5.2",
			Title:       fmt.Sprintf("text, then text with RSV=%d, then ping%s", rsv, how),
			Description: fmt.Sprintf("Send a text message, the same text with RSV=%d, then a Ping%s.", rsv, how),
			Expectation: rsvRule + " The first message MUST be echoed first (missing echo is NON-STRICT) and no Pong may follow.",
		}, casekit.Script{
			Steps:     []casekit.Step{casekit.Send(split, wire.Text(hello), withRSV(wire.Text(hello), rsv), wire.Ping(nil))},
			OK:        onlyTrace(casekit.Text(hello)),
			NonStrict: onlyTrace(),
			Close:     failProtocol,
		})
	}
	return []Case{
		alone(Case{
			ID: "3.1", Title: "text with RSV=1",
			Description: `Send a text frame "Hello, world!" with RSV=1.`,
		}, withRSV(wire.Text(hello), 1)),
		afterEcho("3.2", "", 2, wire.OneWrite),
		afterEcho("3.3", ", frame-wise writes", 3, wire.FrameWise),
		afterEcho("3.4", ", octet-wise writes", 4, wire.OctetWise),
		alone(Case{
			ID: "3.5", Title: "binary with RSV=5",
			Description: "Send an 8-byte binary frame with RSV=5.",
		}, withRSV(wire.Binary(binary), 5)),
		// Autobahn's 3.6 is titled "Ping with RSV=6" but sends a binary
		// frame; wsharness sends what the title says.
		alone(Case{
			ID: "3.6", Title: "ping with RSV=6",
			Description: `Send a Ping "Hello, world!" with RSV=6.`,
		}, withRSV(wire.Ping([]byte(hello)), 6)),
		// Autobahn sends an empty Close here, which a server that ignores
		// RSV answers with an empty Close: indistinguishable from failing
		// the connection. With code 1000 inside, such a server answers
		// 1000 where a conforming one says 1002 or drops TCP.
		scripted(Case{
			ID: "3.7", Family: FamilyReservedBits, Title: "close with RSV=7", RFC: "RFC 6455 §5.2",
			Description: "Send Close 1000 with RSV=7.",
			Expectation: rsvRule + " Answering 1000, as to a normal Close, shows the RSV bits were ignored: FAILED.",
		}, casekit.Script{
			Steps: []casekit.Step{casekit.Send(wire.OneWrite, withRSV(wire.Close(1000, ""), 7))},
			OK:    onlyTrace(),
			Close: casekit.CloseExpect{ByPeer: true, Codes: []int{1002}, WrongCodeFatal: true},
		}),
	}
}
