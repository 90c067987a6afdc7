package cases

import (
	"github.com/wsharness/wsharness/conformance/casekit"
	"github.com/wsharness/wsharness/wire"
)

const (
	unmaskedRule = "A server MUST close the connection upon receiving a frame that is not masked (§5.1), and MAY send 1002 first."
	maskedRule   = "A client MUST close the connection if it detects a masked frame (§5.1), and MAY send 1002 first."
)

// Masking returns project cases 100.x: Autobahn never checks that a server
// rejects unmasked client frames or unmasks every key correctly. That
// server frames are never masked (§5.1) is checked on every frame of every
// case; 100.11 makes it a case of its own. 100.1-100.6 and 100.11 have a
// client form: the harness as the server sends masked frames, which the
// client must refuse, and checks that the client masks every frame.
func Masking() []Case {
	// maskedWrongly masks the frame against its sender's role: a client's frame
	// unmasked, a server's masked.
	maskedWrongly := func(f wire.Frame) wire.Frame { f.Mask = wire.MaskAgainstRole; return f }
	hello := "Hello, world!"
	allBytes := make([]byte, 256)
	for i := range allBytes {
		allBytes[i] = byte(i)
	}

	// fail is the case c with its client form's title and description
	// (c.client), played by s.
	fail := func(c Case, s casekit.Script) Case {
		c.Family, c.RFC, c.Expectation = FamilyMasking, "RFC 6455 §5.1, §5.3", unmaskedRule
		c.client.expectation = maskedRule
		return scripted(c, s)
	}
	echo := func(c Case, expect casekit.Event, split wire.Split, frames ...wire.Frame) Case {
		c.Family, c.RFC = FamilyMasking, "RFC 6455 §5.3"
		c.Expectation = "The server MUST unmask the payload with the frame's key (§5.3) and echo the original bytes; then a clean close with 1000."
		return scripted(c, casekit.Script{Steps: []casekit.Step{casekit.Send(split, frames...)}, OK: onlyTrace(expect), Close: closeNormal})
	}
	return []Case{
		fail(Case{
			ID: "100.1", Title: "unmasked text frame",
			Description: `Send the text message "Hello, world!" with the MASK bit clear.`,
			client:      &clientText{title: "masked text frame", description: `Send the text message "Hello, world!" with the MASK bit set.`},
		}, casekit.Script{Steps: []casekit.Step{casekit.Send(wire.OneWrite, maskedWrongly(wire.Text(hello)))}, OK: onlyTrace(), Close: failProtocol}),
		fail(Case{
			ID: "100.2", Title: "unmasked binary frame",
			Description: "Send a 256-byte binary message with the MASK bit clear.",
			client:      &clientText{title: "masked binary frame", description: "Send a 256-byte binary message with the MASK bit set."},
		}, casekit.Script{Steps: []casekit.Step{casekit.Send(wire.OneWrite, maskedWrongly(wire.Binary(allBytes)))}, OK: onlyTrace(), Close: failProtocol}),
		fail(Case{
			ID: "100.3", Title: "unmasked ping",
			Description: `Send a Ping "Hello, world!" with the MASK bit clear.`,
			client:      &clientText{title: "masked ping", description: `Send a Ping "Hello, world!" with the MASK bit set.`},
		}, casekit.Script{Steps: []casekit.Step{casekit.Send(wire.OneWrite, maskedWrongly(wire.Ping([]byte(hello))))}, OK: onlyTrace(), Close: failProtocol}),
		fail(Case{
			ID: "100.4", Title: "text, then unmasked text, then ping",
			Description: "Send a masked text message, the same message unmasked, then a masked Ping.",
			client:      &clientText{title: "text, then masked text, then ping", description: "Send an unmasked text message, the same message masked, then an unmasked Ping."},
		}, casekit.Script{
			Steps:     []casekit.Step{casekit.Send(wire.OneWrite, wire.Text(hello), maskedWrongly(wire.Text(hello)), wire.Ping(nil))},
			OK:        onlyTrace(casekit.Text(hello)),
			NonStrict: onlyTrace(),
			Close:     failProtocol,
		}),
		fail(Case{
			ID: "100.5", Title: "masked first fragment, unmasked continuation",
			Description: "Send a text message in 2 fragments: the first masked, the continuation unmasked.",
			client:      &clientText{title: "unmasked first fragment, masked continuation", description: "Send a text message in 2 fragments: the first unmasked, the continuation masked."},
		}, casekit.Script{
			Steps: []casekit.Step{casekit.Send(wire.OneWrite, wire.Fragment(wire.Text("fragment1")), maskedWrongly(wire.Continuation([]byte("fragment2"), true)))},
			OK:    onlyTrace(),
			Close: failProtocol,
		}),
		fail(Case{
			ID: "100.6", Title: "unmasked close frame",
			Description: "Send Close 1000 with the MASK bit clear.",
			client:      &clientText{title: "masked close frame", description: "Send Close 1000 with the MASK bit set."},
		}, casekit.Script{
			Steps: []casekit.Step{casekit.Send(wire.OneWrite, maskedWrongly(wire.Close(1000, "")))},
			OK:    onlyTrace(),
			// The client sent a Close, so the server answers rather than
			// initiates; it should say 1002, a drop is fine.
			Close: casekit.CloseExpect{Codes: []int{1002}},
		}),
		echo(Case{
			ID: "100.7", Title: "all-zero masking key",
			Description: "Send a text message masked with the key 00 00 00 00 (masked, but the bytes are unchanged).",
		}, casekit.Text(hello), wire.OneWrite, wire.WithKey(wire.Text(hello), [4]byte{})),
		echo(Case{
			ID: "100.8", Title: "every byte value under key ff ff ff ff",
			Description: "Send a binary message of the 256 byte values masked with ff ff ff ff.",
		}, casekit.Binary(allBytes), wire.OneWrite, wire.WithKey(wire.Binary(allBytes), [4]byte{0xff, 0xff, 0xff, 0xff})),
		echo(Case{
			ID: "100.9", Title: "masked payload written in 3-byte chops",
			Description: "Send the 256 byte values masked with 01 02 03 04, in 3-byte TCP writes, so reads end off the key's 4-byte cycle.",
		}, casekit.Binary(allBytes), wire.Chops(3), wire.WithKey(wire.Binary(allBytes), [4]byte{1, 2, 3, 4})),
		echo(Case{
			ID: "100.10", Title: "fragments with different keys",
			Description: "Send a text message in 3 fragments, each masked with a different key.",
		}, casekit.Text("fragment1fragment2fragment3"), wire.OneWrite,
			wire.WithKey(wire.Fragment(wire.Text("fragment1")), [4]byte{0xde, 0xad, 0xbe, 0xef}),
			wire.WithKey(wire.Continuation([]byte("fragment2"), false), [4]byte{0x01, 0x00, 0x00, 0x80}),
			wire.WithKey(wire.Continuation([]byte("fragment3"), true), [4]byte{0x7f, 0x7f, 0x7f, 0x7f})),
		scripted(Case{
			ID: "100.11", Family: FamilyMasking, Title: "server frames are not masked", RFC: "RFC 6455 §5.1",
			Description: "Send a text message, a binary message and a Ping, and inspect every frame the server sends back.",
			Expectation: "A server MUST NOT mask any frames it sends (§5.1): echoes and Pong arrive unmasked; then a clean close with 1000. The Pong may overtake the echoes (§5.5.2 asks for it as soon as practical); the echoes keep their order.",
			client: &clientText{
				title:       "client frames are masked",
				description: "Send a text message, a binary message and a Ping, and inspect every frame the client sends back.",
				expectation: "A client MUST mask every frame it sends (§5.1): echoes and Pong arrive masked; then a clean close with 1000. The Pong may overtake the echoes (§5.5.2 asks for it as soon as practical); the echoes keep their order.",
			},
		}, casekit.Script{
			Steps: []casekit.Step{casekit.Send(wire.OneWrite, wire.Text(hello), wire.Binary(allBytes), wire.Ping([]byte("masked?")))},
			OK: [][]casekit.Event{
				{casekit.Text(hello), casekit.Binary(allBytes), casekit.PongOf([]byte("masked?"))},
				{casekit.Text(hello), casekit.PongOf([]byte("masked?")), casekit.Binary(allBytes)},
				{casekit.PongOf([]byte("masked?")), casekit.Text(hello), casekit.Binary(allBytes)},
			},
			Close: closeNormal,
		}),
	}
}
