package cases

import (
	"time"

	"github.com/wsharness/wsharness/conformance/casekit"
	"github.com/wsharness/wsharness/wire"
)

const (
	controlFragRule = "Control frames MUST NOT be fragmented (§5.4, §5.5): the server MUST fail the connection, with 1002 or a TCP drop."
	orphanRule      = "A fragmented message is one frame with FIN clear and a non-zero opcode, then continuation frames (§5.4); a continuation with nothing to continue, or a new data frame inside a fragmented message, is a protocol error: the server MUST fail the connection, with 1002 or a TCP drop."
	reassembleRule  = "The server MUST reassemble the fragments into one message and echo it (§5.4); then a clean close with 1000."
	interleaveRule  = "Control frames MAY be injected in the middle of a fragmented message and the server MUST handle them (§5.4): the Pong comes first, then the echo of the whole message; then a clean close with 1000."
)

// Fragmentation returns Autobahn 5.1–5.20.
func Fragmentation() []Case {
	f1, f2 := []byte("fragment1"), []byte("fragment2")
	first := func(op byte, p []byte) wire.Frame { return wire.Fragment(wire.NewFrame(op, p)) }
	last := func(p []byte) wire.Frame { return wire.Continuation(p, true) }
	more := func(p []byte) wire.Frame { return wire.Continuation(p, false) }
	hello := "Hello, world!"
	nonCont := []byte("non-continuation payload")
	pingPayload := []byte("ping payload")

	fail := func(c Case, split wire.Split, frames ...wire.Frame) Case {
		c.Family, c.RFC = FamilyFragmentation, "RFC 6455 §5.4"
		return scripted(c, casekit.Script{
			Steps: []casekit.Step{casekit.Send(split, frames...)},
			OK:    onlyTrace(),
			Close: failProtocol,
		})
	}
	echo := func(c Case, expect []casekit.Event, split wire.Split, frames ...wire.Frame) Case {
		c.Family, c.RFC = FamilyFragmentation, "RFC 6455 §5.4"
		return scripted(c, casekit.Script{
			Steps: []casekit.Step{casekit.Send(split, frames...)},
			OK:    onlyTrace(expect...),
			Close: closeNormal,
		})
	}
	whole := casekit.Text("fragment1fragment2")
	orphanThenText := func(id string, fin bool, split wire.Split, how string) Case {
		title := "continuation with FIN=1 and nothing to continue, then text"
		orphan := last(nonCont)
		if !fin {
			title = "continuation with FIN=0 and nothing to continue, then text"
			orphan = more(nonCont)
		}
		return fail(Case{
			ID: id, Title: title + how,
			Description: "Send a continuation frame when no message is open, then an unfragmented text message" + how + ".",
			Expectation: orphanRule,
		}, split, orphan, wire.Text(hello))
	}
	twice := func(frames ...wire.Frame) []wire.Frame { return append(frames, frames...) }

	out := []Case{
		fail(Case{
			ID: "5.1", Title: "ping in 2 fragments",
			Description: "Send a Ping fragmented into 2 frames (Ping with FIN=0, then a continuation).",
			Expectation: controlFragRule,
		}, wire.OneWrite, first(wire.OpPing, f1), last(f2)),
		fail(Case{
			ID: "5.2", Title: "pong in 2 fragments",
			Description: "Send a Pong fragmented into 2 frames.",
			Expectation: controlFragRule,
		}, wire.OneWrite, first(wire.OpPong, f1), last(f2)),
		echo(Case{
			ID: "5.3", Title: "text in 2 fragments",
			Description: "Send a text message as 2 fragments in one write.",
			Expectation: reassembleRule,
		}, []casekit.Event{whole}, wire.OneWrite, first(wire.OpText, f1), last(f2)),
		echo(Case{
			ID: "5.4", Title: "text in 2 fragments, frame-wise writes",
			Description: "Send a text message as 2 fragments, one write per frame.",
			Expectation: reassembleRule,
		}, []casekit.Event{whole}, wire.FrameWise, first(wire.OpText, f1), last(f2)),
		echo(Case{
			ID: "5.5", Title: "text in 2 fragments, octet-wise writes",
			Description: "Send a text message as 2 fragments, one octet per write.",
			Expectation: reassembleRule,
		}, []casekit.Event{whole}, wire.OctetWise, first(wire.OpText, f1), last(f2)),
		echo(Case{
			ID: "5.6", Title: "text in 2 fragments with a ping between",
			Description: "Send a text fragment, a Ping \"ping payload\", then the last fragment, in one write.",
			Expectation: interleaveRule,
		}, []casekit.Event{casekit.PongOf(pingPayload), whole}, wire.OneWrite, first(wire.OpText, f1), wire.Ping(pingPayload), last(f2)),
		echo(Case{
			ID: "5.7", Title: "text in 2 fragments with a ping between, frame-wise writes",
			Description: "As 5.6, one write per frame.",
			Expectation: interleaveRule,
		}, []casekit.Event{casekit.PongOf(pingPayload), whole}, wire.FrameWise, first(wire.OpText, f1), wire.Ping(pingPayload), last(f2)),
		echo(Case{
			ID: "5.8", Title: "text in 2 fragments with a ping between, octet-wise writes",
			Description: "As 5.6, one octet per write.",
			Expectation: interleaveRule,
		}, []casekit.Event{casekit.PongOf(pingPayload), whole}, wire.OctetWise, first(wire.OpText, f1), wire.Ping(pingPayload), last(f2)),
		orphanThenText("5.9", true, wire.OneWrite, ""),
		orphanThenText("5.10", true, wire.FrameWise, ", frame-wise writes"),
		orphanThenText("5.11", true, wire.OctetWise, ", octet-wise writes"),
		orphanThenText("5.12", false, wire.OneWrite, ""),
		orphanThenText("5.13", false, wire.FrameWise, ", frame-wise writes"),
		orphanThenText("5.14", false, wire.OctetWise, ", octet-wise writes"),
		scripted(Case{
			ID: "5.15", Family: FamilyFragmentation, Title: "fragmented text, then an orphan continuation, then text", RFC: "RFC 6455 §5.4",
			Description: "Send a text message in 2 fragments, then a continuation with FIN=0 and nothing to continue, then a text frame, in one write.",
			Expectation: orphanRule + " The first message MUST be echoed first (missing echo is NON-STRICT).",
		}, casekit.Script{
			Steps: []casekit.Step{casekit.Send(wire.OneWrite,
				first(wire.OpText, f1), last(f2), more([]byte("fragment3")), wire.Text("fragment4"))},
			OK:        onlyTrace(whole),
			NonStrict: onlyTrace(),
			Close:     failProtocol,
		}),
		fail(Case{
			ID: "5.16", Title: "orphan continuation (FIN=0) then fragmented text, twice",
			Description: "Twice: a continuation with FIN=0 and nothing to continue, then a text message in 2 fragments.",
			Expectation: orphanRule,
		}, wire.OneWrite, twice(more(f1), first(wire.OpText, f2), last([]byte("fragment3")))...),
		fail(Case{
			ID: "5.17", Title: "orphan continuation (FIN=1) then fragmented text, twice",
			Description: "Twice: a continuation with FIN=1 and nothing to continue, then a text message in 2 fragments.",
			Expectation: orphanRule,
		}, wire.OneWrite, twice(last(f1), first(wire.OpText, f2), last([]byte("fragment3")))...),
		fail(Case{
			ID: "5.18", Title: "two fragments both with opcode text",
			Description: "Send a text fragment with FIN=0, then another text frame (opcode 1, not continuation) with FIN=1.",
			Expectation: orphanRule,
		}, wire.OneWrite, first(wire.OpText, f1), wire.Text("fragment2")),
		longInterleaved("5.19", wire.OneWrite, ""),
		longInterleaved("5.20", wire.FrameWise, ", frame-wise writes"),
	}
	return out
}

// longInterleaved is 5.19/5.20: five fragments with two Pings and a pause
// in the middle of the message.
func longInterleaved(id string, split wire.Split, how string) Case {
	frag := func(i int) []byte { return []byte("fragment" + string(rune('0'+i))) }
	ping1, ping2 := []byte("pongme 1!"), []byte("pongme 2!")
	return scripted(Case{
		ID: id, Family: FamilyFragmentation, Title: "text in 5 fragments with 2 pings and a 1 s pause" + how, RFC: "RFC 6455 §5.4, §5.5.2",
		Description: "Send 2 text fragments and a Ping, wait 1 s, then 2 more fragments, a Ping and the last fragment" + how + ".",
		Expectation: "Control frames inside a fragmented message MUST be handled (§5.4): Pong 1, Pong 2, then the echo of the whole message, in that order; then a clean close with 1000.",
	}, casekit.Script{
		Steps: []casekit.Step{
			casekit.Send(split, wire.Fragment(wire.NewFrame(wire.OpText, frag(1))), wire.Continuation(frag(2), false), wire.Ping(ping1)),
			casekit.Wait(time.Second, ""),
			casekit.Send(split, wire.Continuation(frag(3), false), wire.Continuation(frag(4), false), wire.Ping(ping2), wire.Continuation(frag(5), true)),
		},
		OK:    onlyTrace(casekit.PongOf(ping1), casekit.PongOf(ping2), casekit.Text("fragment1fragment2fragment3fragment4fragment5")),
		Close: closeNormal,
	})
}
