package cases

import (
	"bytes"
	"fmt"
	"time"

	"github.com/wsharness/wsharness/conformance/casekit"
	"github.com/wsharness/wsharness/results"
	"github.com/wsharness/wsharness/wire"
)

const pongRule = "Upon receipt of a Ping the server MUST send a Pong whose Application data is identical to the Ping's (§5.5.2, §5.5.3); then a clean close with 1000."

// PingPong returns Autobahn 2.1–2.11.
func PingPong() []Case {
	pong := func(c Case, payload []byte, split wire.Split) Case {
		c.Family, c.RFC, c.Expectation = FamilyPingPong, "RFC 6455 §5.5.2, §5.5.3", pongRule
		return scripted(c, casekit.Script{
			Steps:   []casekit.Step{casekit.Send(split, wire.Ping(payload))},
			OK:      onlyTrace(casekit.PongOf(payload)),
			Close:   closeNormal,
			Timeout: 3 * time.Second,
		})
	}
	unsolicited := []byte("unsolicited pong payload")
	cases := []Case{
		pong(Case{
			ID: "2.1", Title: "ping without payload",
			Description: "Send a Ping with an empty payload.",
		}, []byte{}, wire.OneWrite),
		pong(Case{
			ID: "2.2", Title: "ping with small text payload",
			Description: `Send a Ping with payload "Hello, world!".`,
		}, []byte("Hello, world!"), wire.OneWrite),
		pong(Case{
			ID: "2.3", Title: "ping with small binary payload",
			Description: "Send a Ping with the 8-byte payload 00 ff fe fd fc fb 00 ff.",
		}, []byte{0x00, 0xff, 0xfe, 0xfd, 0xfc, 0xfb, 0x00, 0xff}, wire.OneWrite),
		pong(Case{
			ID: "2.4", Title: "ping with a 125-byte payload",
			Description: "Send a Ping with 125 bytes of 0xfe, the largest control payload.",
		}, bytes.Repeat([]byte{0xfe}, 125), wire.OneWrite),
		scripted(Case{
			ID: "2.5", Family: FamilyPingPong, Title: "ping with a 126-byte payload", RFC: "RFC 6455 §5.5",
			Description: "Send a Ping with 126 bytes of 0xfe.",
			Expectation: "All control frames MUST have a payload of 125 bytes or less (§5.5): the server MUST fail the connection (1002 or TCP drop) and MUST NOT answer with a Pong.",
		}, casekit.Script{
			Steps: []casekit.Step{casekit.Send(wire.OneWrite, wire.Ping(bytes.Repeat([]byte{0xfe}, 126)))},
			OK:    onlyTrace(),
			Close: failProtocol,
		}),
		pong(Case{
			ID: "2.6", Title: "125-byte ping written one octet at a time",
			Description: "Send a Ping with 125 bytes of 0xfe, one octet per TCP write.",
		}, bytes.Repeat([]byte{0xfe}, 125), wire.OctetWise),
		unsolicitedPong(Case{
			ID: "2.7", Title: "unsolicited pong without payload",
			Description: "Send an unsolicited Pong with no payload, then Close 1000.",
		}, nil),
		unsolicitedPong(Case{
			ID: "2.8", Title: "unsolicited pong with payload",
			Description: `Send an unsolicited Pong with payload "unsolicited pong payload", then Close 1000.`,
		}, unsolicited),
		scripted(Case{
			ID: "2.9", Family: FamilyPingPong, Title: "unsolicited pong, then ping", RFC: "RFC 6455 §5.5.2, §5.5.3",
			Description: `Send an unsolicited Pong, then a Ping with payload "ping payload".`,
			Expectation: "Nothing answers the Pong; the Ping MUST get exactly one Pong with payload \"ping payload\"; then a clean close with 1000.",
		}, casekit.Script{
			Steps: []casekit.Step{casekit.Send(wire.OneWrite, wire.Pong(unsolicited), wire.Ping([]byte("ping payload")))},
			OK:    onlyTrace(casekit.PongOf([]byte("ping payload"))),
			Close: closeNormal,
		}),
		tenPings(Case{
			ID: "2.10", Title: "ten pings",
			Description: "Send 10 Pings with payloads payload-0 … payload-9 in one write.",
		}, wire.OneWrite),
		tenPings(Case{
			ID: "2.11", Title: "ten pings written one octet at a time",
			Description: "Send 10 Pings with payloads payload-0 … payload-9, one octet per TCP write.",
		}, wire.OctetWise),
	}
	return cases
}

// unsolicitedPong is 2.7/2.8: a Pong nobody asked for, then Close.
func unsolicitedPong(c Case, payload []byte) Case {
	c.Family, c.RFC = FamilyPingPong, "RFC 6455 §5.5.3"
	c.Expectation = "A Pong MAY be sent unsolicited and no response is expected (§5.5.3): nothing is received, then a clean close with 1000."
	return scripted(c, casekit.Script{
		Steps: []casekit.Step{casekit.Send(wire.OneWrite, wire.Pong(payload), wire.Close(1000, ""))},
		OK:    onlyTrace(),
		Close: closeNormal,
	})
}

// tenPings is 2.10/2.11. Autobahn demands all ten pongs, but §5.5.3 lets an
// endpoint that is behind answer only the most recent Ping, so pongs for a
// subsequence ending with the last Ping are NON-STRICT, not FAILED.
func tenPings(c Case, split wire.Split) Case {
	var frames []wire.Frame
	var payloads [][]byte
	for i := range 10 {
		p := []byte(fmt.Sprintf("payload-%d", i))
		payloads = append(payloads, p)
		frames = append(frames, wire.Ping(p))
	}
	judge := func(trace []casekit.Event) (results.Verdict, bool) {
		next := 0 // index of the next acceptable ping payload
		for _, e := range trace {
			if e.Kind != casekit.Pong {
				return results.Failed, true
			}
			matched := false
			for next < len(payloads) {
				p := payloads[next]
				next++
				if bytes.Equal(e.Payload, p) {
					matched = true
					break
				}
			}
			if !matched {
				return results.Failed, true
			}
		}
		switch {
		case len(trace) == len(payloads):
			return results.OK, true
		case next == len(payloads):
			return results.NonStrict, true
		}
		return results.Failed, false
	}
	c.Family, c.RFC = FamilyPingPong, "RFC 6455 §5.5.2, §5.5.3"
	c.Expectation = "Each Ping MUST be answered with a Pong carrying its payload, in order; answering only the most recent of Pings still pending is allowed (§5.5.3) and NON-STRICT. Then a clean close with 1000."
	return scripted(c, casekit.Script{
		Steps:   []casekit.Step{casekit.Send(split, frames...)},
		Judge:   judge,
		Close:   closeNormal,
		Timeout: 3 * time.Second,
	})
}
