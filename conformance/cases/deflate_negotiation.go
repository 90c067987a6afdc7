package cases

import (
	"fmt"
	"strings"

	"github.com/wsharness/wsharness/conformance/casekit"
	"github.com/wsharness/wsharness/results"
	"github.com/wsharness/wsharness/wire"
	"github.com/wsharness/wsharness/wire/deflate"
	"github.com/wsharness/wsharness/wire/handshake"
)

// FamilyDeflateNegotiation is 11.x, a project range (Autobahn has no 11):
// how a server answers permessage-deflate offers (RFC 7692 §5, §7) and
// which frames it accepts once the extension is in use (§6).
const FamilyDeflateNegotiation Family = "deflate-negotiation"

const (
	acceptRule = "The server MAY decline (UNIMPLEMENTED). If it accepts, its response MUST accept exactly one offer with parameters RFC 7692 allows for it (§7: no parameter not defined for a response, no duplicate, values 8–15; client_max_window_bits only if offered, §7.1.2.2; server_no_context_takeover and server_max_window_bits honoured, §7.1.1.1, §7.1.2.1), " +
		"and every compressed message MUST decompress under what it accepted; then the echoes, and a clean close with 1000."
	declineRule = "An offer with a parameter not defined for an offer, an invalid value or a duplicate parameter MUST be declined (RFC 7692 §7). " +
		"Declining (101 without permessage-deflate) or failing the handshake with a 4xx is OK; accepting it is FAILED; another status or no response is NON-STRICT."
	rsv1Rule = "With permessage-deflate in use, RSV1 is set only on the first frame of a data message; on a control frame or a continuation frame it MUST fail the connection (RFC 7692 §6, RFC 6455 §5.2), with 1002 or a TCP drop."
)

// DeflateNegotiation returns cases 11.1–11.5.
func DeflateNegotiation() []Case {
	var out []Case
	out = append(out, deflateAccepts()...)
	out = append(out, deflateDeclines()...)
	out = append(out, deflateOfferLists()...)
	out = append(out, deflateFrames()...)
	out = append(out, deflateContexts()...)
	return out
}

// offerRaw is an Edit that sends Sec-WebSocket-Extensions exactly as given,
// one header line per value.
func offerRaw(values ...string) func(*handshake.Request) {
	return func(r *handshake.Request) {
		r.Headers.Del("Sec-WebSocket-Extensions")
		for _, v := range values {
			r.Headers = append(r.Headers, handshake.HeaderField{Name: "Sec-WebSocket-Extensions", Value: v})
		}
	}
}

// noise returns n bytes of printable ASCII from a fixed seed: text that
// compresses only by referring back to an earlier copy of itself.
func noise(seed uint64, n int) []byte {
	r := newRand(seed)
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(' ' + r.IntN(95))
	}
	return b
}

// repeatedEcho is a script sending msg compressed `times` times, each echo
// awaited in order: later copies are pure back-references under context
// takeover, and a server that must not use context takeover or that
// limits its window shows it in its echoes.
func repeatedEcho(edit func(*handshake.Request), msg []byte, times int) casekit.Script {
	var steps []casekit.Step
	var want []casekit.Event
	for range times {
		steps = append(steps, casekit.SendMessage(wire.OneWrite, wire.OpText, msg, 0))
		want = append(want, casekit.TextBytes(msg))
	}
	return casekit.Script{Edit: edit, RequireDeflate: true, Steps: steps, OK: onlyTrace(want...), Close: closeNormal}
}

// deflateAccepts is 11.1: valid offers, each answered within what it allows.
func deflateAccepts() []Case {
	hello := []byte("Hello, permessage-deflate! Hello, permessage-deflate!")
	accept := func(c Case, s casekit.Script) Case {
		c.Family, c.RFC, c.Expectation = FamilyDeflateNegotiation, "RFC 7692 §7", acceptRule
		return scripted(c, s)
	}
	echoOnce := func(offer string) casekit.Script { return repeatedEcho(offerRaw(offer), hello, 1) }
	four := noise(11, 4<<10)
	return []Case{
		accept(Case{
			ID: "11.1.1", Title: "plain offer: no client_max_window_bits in the answer",
			Description: offerThen("permessage-deflate", "send one compressed text message"),
		}, echoOnce("permessage-deflate")),
		accept(Case{
			ID: "11.1.2", Title: "client_max_window_bits offered: the answer may limit the client's window",
			Description: offerThen("permessage-deflate; client_max_window_bits", "send the same 4 KiB text three times, compressed within the window the answer allows"),
		}, repeatedEcho(offerRaw("permessage-deflate; client_max_window_bits"), four, 3)),
		accept(Case{
			ID: "11.1.3", Title: "server_no_context_takeover: each echo stands alone",
			Description: offerThen("permessage-deflate; server_no_context_takeover", "send the same 4 KiB text three times; each compressed echo must decompress with an empty window"),
		}, repeatedEcho(offerRaw("permessage-deflate; server_no_context_takeover"), four, 3)),
		accept(Case{
			ID: "11.1.4", Title: "client_no_context_takeover offered",
			Description: offerThen("permessage-deflate; client_no_context_takeover", "send one compressed text message"),
		}, echoOnce("permessage-deflate; client_no_context_takeover")),
		accept(Case{
			ID: "11.1.5", Title: "server_max_window_bits=10: echoes refer back at most 1 KiB",
			Description: offerThen("permessage-deflate; server_max_window_bits=10", "send the same 4 KiB text three times; the client keeps only 1 KiB of the server's history"),
		}, repeatedEcho(offerRaw("permessage-deflate; server_max_window_bits=10"), four, 3)),
		accept(Case{
			ID: "11.1.6", Title: "client_max_window_bits=10 offered",
			Description: offerThen("permessage-deflate; client_max_window_bits=10", "send the same 4 KiB text three times, compressed within a 1 KiB window"),
		}, repeatedEcho(offerRaw("permessage-deflate; client_max_window_bits=10"), four, 3)),
		accept(Case{
			ID: "11.1.7", Title: "every parameter",
			Description: offerThen("permessage-deflate; server_no_context_takeover; client_no_context_takeover; server_max_window_bits=12; client_max_window_bits=12", "send the same 2 KiB text three times (4 KiB windows: a copy of the last message is within reach)"),
		}, repeatedEcho(offerRaw("permessage-deflate; server_no_context_takeover; client_no_context_takeover; server_max_window_bits=12; client_max_window_bits=12"), four[:2<<10], 3)),
		accept(Case{
			ID: "11.1.8", Title: "value as a quoted-string (RFC 6455 §9.1)",
			Description: offerThen(`permessage-deflate; server_max_window_bits="10"`, "send the same 4 KiB text three times; the quoted value means 10, so the answer MUST limit the server's window to 10 or less"),
		}, repeatedEcho(offerRaw(`permessage-deflate; server_max_window_bits="10"`), four, 3)),
	}
}

// deflateDeclines is 11.2: offers a server MUST decline.
// offerThen is the description of a case that offers the extension
// offer, then does what then says.
func offerThen(offer, then string) string {
	return fmt.Sprintf("Offer Sec-WebSocket-Extensions: %s, then %s.", offer, then)
}

func deflateDeclines() []Case {
	decline := func(c Case, offer string) Case {
		c.Family, c.RFC, c.Expectation = FamilyDeflateNegotiation, "RFC 7692 §7", declineRule
		c.Description = fmt.Sprintf("Offer Sec-WebSocket-Extensions: %s and nothing else.", offer)
		c.run = casekit.Probe{Edit: offerRaw(offer), Judge: mustDecline}.Run
		return c
	}
	return []Case{
		decline(Case{ID: "11.2.1", Title: "unknown parameter"}, "permessage-deflate; x_wsharness_unknown"),
		decline(Case{ID: "11.2.2", Title: "duplicate server_no_context_takeover"}, "permessage-deflate; server_no_context_takeover; server_no_context_takeover"),
		decline(Case{ID: "11.2.3", Title: "duplicate client_max_window_bits"}, "permessage-deflate; client_max_window_bits=10; client_max_window_bits=12"),
		decline(Case{ID: "11.2.4", Title: "client_max_window_bits=7, below the range"}, "permessage-deflate; client_max_window_bits=7"),
		decline(Case{ID: "11.2.5", Title: "client_max_window_bits=16, above the range"}, "permessage-deflate; client_max_window_bits=16"),
		decline(Case{ID: "11.2.6", Title: "client_max_window_bits with a leading zero"}, "permessage-deflate; client_max_window_bits=09"),
		decline(Case{ID: "11.2.7", Title: "server_max_window_bits without a value"}, "permessage-deflate; server_max_window_bits"),
		decline(Case{ID: "11.2.8", Title: "server_max_window_bits that is not a number"}, "permessage-deflate; server_max_window_bits=abc"),
		decline(Case{ID: "11.2.9", Title: "client_no_context_takeover with a value"}, "permessage-deflate; client_no_context_takeover=1"),
	}
}

// mustDecline judges the answer to an offer the server MUST decline.
func mustDecline(resp *handshake.Response, err error) (results.Verdict, string) {
	got := describeResponse(resp, err)
	switch {
	case resp == nil:
		return results.NonStrict, got + "; the server should decline the offer or answer with a 4xx"
	case resp.Status >= 400 && resp.Status < 500:
		return results.OK, got + ": the handshake was failed"
	case !resp.Agreed():
		return results.NonStrict, got + "; declining the offer or a 4xx is expected"
	}
	values := resp.Header.Values("Sec-WebSocket-Extensions")
	exts, perr := handshake.ParseExtensions(values)
	switch {
	case perr != nil:
		return results.Failed, fmt.Sprintf("%s with a Sec-WebSocket-Extensions header that does not parse (RFC 6455 §9.1): %v", got, perr)
	case len(deflate.Elements(exts)) > 0:
		return results.Failed, fmt.Sprintf("%s accepting the offer it MUST decline: Sec-WebSocket-Extensions: %s", got, strings.Join(values, ", "))
	}
	return results.OK, got + " without permessage-deflate: the offer was declined"
}

// deflateOfferLists is 11.3: several offers in order of preference.
func deflateOfferLists() []Case {
	four := noise(13, 4<<10)
	list := func(c Case, edit func(*handshake.Request)) Case {
		c.Family, c.RFC = FamilyDeflateNegotiation, "RFC 7692 §5, §7"
		c.Expectation = "The server MUST accept at most one offer, one it may accept (§5: one element; §7: never an invalid offer), with parameters that offer allows; declining is UNIMPLEMENTED. Then the echoes and a clean close."
		return scripted(c, repeatedEcho(edit, four, 3))
	}
	return []Case{
		refusedNonStrict(list(Case{
			ID: "11.3.1", Title: "invalid offer first, valid offer second",
			Description: "Offer Sec-WebSocket-Extensions: permessage-deflate; x_wsharness_unknown, permessage-deflate; then send the same 4 KiB text three times.",
		}, offerRaw("permessage-deflate; x_wsharness_unknown, permessage-deflate"))),
		list(Case{
			ID: "11.3.2", Title: "preference order: window limit first, then plain",
			Description: "Offer Sec-WebSocket-Extensions: permessage-deflate; server_max_window_bits=10; client_max_window_bits, permessage-deflate; then send the same 4 KiB text three times.",
		}, offerRaw("permessage-deflate; server_max_window_bits=10; client_max_window_bits, permessage-deflate")),
		list(Case{
			ID: "11.3.3", Title: "two offers on two header lines",
			Description: "Offer permessage-deflate; server_no_context_takeover and permessage-deflate in two Sec-WebSocket-Extensions header lines (RFC 6455 §9.1 allows repeating it); then send the same 4 KiB text three times.",
		}, offerRaw("permessage-deflate; server_no_context_takeover", "permessage-deflate")),
		list(Case{
			ID: "11.3.4", Title: "unknown extension before permessage-deflate",
			Description: "Offer Sec-WebSocket-Extensions: x-wsharness-unknown; level=3, permessage-deflate; client_max_window_bits; then send the same 4 KiB text three times.",
		}, offerRaw("x-wsharness-unknown; level=3, permessage-deflate; client_max_window_bits")),
	}
}

// deflateFrames is 11.4: which frames a server accepts with the extension
// in use.
func deflateFrames() []Case {
	const offer = "permessage-deflate"
	hello := []byte("Hello, compressed world! Hello, compressed world!")
	withRSV := func(f wire.Frame, rsv byte) wire.Frame { f.RSV = rsv; return f }
	// offered is s after an offer of plain permessage-deflate, which it
	// needs accepted (the harness, as the server, accepts it as it is).
	offered := func(s casekit.Script) casekit.Script {
		s.Edit, s.RequireDeflate, s.Answer = offerRaw(offer), true, plainAnswer.answer
		return s
	}
	// frame is the case c whose Description says what is sent once the
	// offer is accepted; it gets the offer in front.
	frame := func(c Case, s casekit.Script) Case {
		steps := c.Description
		c.Family, c.Description = FamilyDeflateNegotiation, "Offer permessage-deflate; once accepted, "+steps
		return inBothForms(scripted(c, offered(s)), steps)
	}
	compose := func(f func(casekit.Codec) []wire.Frame) casekit.Step {
		return casekit.Step{Split: wire.FrameWise, Compose: f}
	}
	// Three frames of the compressed message; rsvLater sets RSV1 on the
	// continuations as well.
	fragmented := func(rsvLater bool) casekit.Step {
		return compose(func(c casekit.Codec) []wire.Frame {
			frames := c.Encode(wire.OpText, hello, 0)
			p := frames[0].Payload
			third := max(1, len(p)/3)
			out := casekit.Fragments(wire.OpText, p, third, frames[0].RSV)
			if rsvLater {
				for i := 1; i < len(out); i++ {
					out[i].RSV |= wire.RSV1
				}
			}
			return out
		})
	}
	invalidUTF8 := []byte("κόσμε\xed\xa0\x80edited")
	return []Case{
		frame(Case{
			ID: "11.4.1", Title: "ping with RSV1", RFC: "RFC 7692 §6",
			Description: `send a Ping "Hello" with RSV1 set.`,
			Expectation: rsv1Rule,
		}, casekit.Script{Steps: []casekit.Step{casekit.Send(wire.OneWrite, withRSV(wire.Ping([]byte("Hello")), wire.RSV1))}, OK: onlyTrace(), Close: failProtocol}),
		frame(Case{
			ID: "11.4.2", Title: "pong with RSV1", RFC: "RFC 7692 §6",
			Description: `send an unsolicited Pong "Hello" with RSV1 set.`,
			Expectation: rsv1Rule,
		}, casekit.Script{Steps: []casekit.Step{casekit.Send(wire.OneWrite, withRSV(wire.Pong([]byte("Hello")), wire.RSV1))}, OK: onlyTrace(), Close: failProtocol}),
		frame(Case{
			ID: "11.4.3", Title: "close with RSV1", RFC: "RFC 7692 §6",
			Description: "send Close 1000 with RSV1 set.",
			Expectation: rsv1Rule + " Answering 1000, as to a normal Close, shows RSV1 was ignored: FAILED.",
		}, casekit.Script{Steps: []casekit.Step{casekit.Send(wire.OneWrite, withRSV(wire.Close(1000, ""), wire.RSV1))}, OK: onlyTrace(),
			Close: casekit.CloseExpect{ByPeer: true, Codes: []int{1002}, WrongCodeFatal: true}}),
		frame(Case{
			ID: "11.4.4", Title: "compressed message with RSV1 on every fragment", RFC: "RFC 7692 §6",
			Description: "send a compressed text message in three frames, each with RSV1.",
			Expectation: rsv1Rule,
		}, casekit.Script{Steps: []casekit.Step{fragmented(true)}, OK: onlyTrace(), Close: failProtocol}),
		frame(Case{
			ID: "11.4.5", Title: "uncompressed fragment, continuation with RSV1", RFC: "RFC 7692 §6",
			Description: "send a text fragment without RSV1, then its final continuation with RSV1.",
			Expectation: rsv1Rule,
		}, casekit.Script{Steps: []casekit.Step{casekit.Send(wire.FrameWise, wire.Fragment(wire.Text("Hello, ")), withRSV(wire.Continuation([]byte("world"), true), wire.RSV1))}, OK: onlyTrace(), Close: failProtocol}),
		frame(Case{
			ID: "11.4.6", Title: "compressed message in three fragments", RFC: "RFC 7692 §6, §7.2.1",
			Description: "send a compressed text message in three frames, RSV1 on the first only.",
			Expectation: "The server MUST reassemble, decompress and echo the message; then a clean close.",
		}, casekit.Script{Steps: []casekit.Step{fragmented(false)}, OK: onlyTrace(casekit.TextBytes(hello)), Close: closeNormal}),
		frame(Case{
			ID: "11.4.7", Title: "uncompressed message", RFC: "RFC 7692 §6",
			Description: "send a text message without RSV1.",
			Expectation: "A message without RSV1 is not compressed (§6); the server MUST echo it; then a clean close.",
		}, casekit.Script{Steps: []casekit.Step{casekit.Send(wire.OneWrite, wire.Text(string(hello)))}, OK: onlyTrace(casekit.TextBytes(hello)), Close: closeNormal}),
		frame(Case{
			ID: "11.4.8", Title: "ping between the fragments of a compressed message", RFC: "RFC 7692 §6, RFC 6455 §5.4",
			Description: "send a compressed text in two frames with a Ping between them.",
			Expectation: "The Ping (no RSV1) MUST be answered, then the message echoed; then a clean close.",
		}, casekit.Script{Steps: []casekit.Step{compose(func(c casekit.Codec) []wire.Frame {
			p := c.Encode(wire.OpText, hello, 0)[0].Payload
			half := max(1, (len(p)+1)/2) // two frames, whatever the parity
			f := casekit.Fragments(wire.OpText, p, half, wire.RSV1)
			return []wire.Frame{f[0], wire.Ping([]byte("between")), f[1]}
		})}, OK: onlyTrace(casekit.PongOf([]byte("between")), casekit.TextBytes(hello)), Close: closeNormal}),
		frame(Case{
			ID: "11.4.9", Title: "compressed message with RSV2 as well", RFC: "RFC 6455 §5.2, RFC 7692 §6",
			Description: "send a compressed text message with RSV1 and RSV2.",
			Expectation: "permessage-deflate defines RSV1 only; RSV2 MUST still fail the connection (§5.2), with 1002 or a TCP drop.",
		}, casekit.Script{Steps: []casekit.Step{compose(func(c casekit.Codec) []wire.Frame {
			f := c.Encode(wire.OpText, hello, 0)
			f[0].RSV |= wire.RSV2
			return f
		})}, OK: onlyTrace(), Close: failProtocol}),
		frame(Case{
			ID: "11.4.10", Title: "empty compressed message", RFC: "RFC 7692 §7.2.3.6",
			Description: "send an empty text message compressed (RFC 7692 §7.2.3.6).",
			Expectation: "The server MUST echo an empty text message; then a clean close.",
		}, casekit.Script{Steps: []casekit.Step{casekit.SendMessage(wire.OneWrite, wire.OpText, nil, 0)}, OK: onlyTrace(casekit.Text("")), Close: closeNormal}),
		nonStrictWhenNotFailed(frame(Case{
			ID: "11.4.11", Title: "RSV1 on data that is not DEFLATE", RFC: "RFC 7692 §7.2.2, RFC 1951 §3.2.3",
			Description: "send a binary frame with RSV1 whose payload ff ff ff ff is not DEFLATE data (block type 3 is reserved).",
			Expectation: "The message cannot be decompressed, so the server cannot echo it; it should fail the connection (any code). Not failing is NON-STRICT; echoing anything is FAILED.",
		}, casekit.Script{Steps: []casekit.Step{casekit.Send(wire.OneWrite, withRSV(wire.Binary([]byte{0xff, 0xff, 0xff, 0xff}), wire.RSV1))}, OK: onlyTrace(), Close: casekit.CloseExpect{ByPeer: true}}),
			"RFC 7692 does not say what a receiver does with data it cannot decompress"),
		frame(Case{
			ID: "11.4.12", Title: "compressed text that is not UTF-8", RFC: "RFC 6455 §8.1, RFC 7692 §6",
			Description: "send a compressed text message whose decompressed payload holds the surrogate ED A0 80.",
			Expectation: "UTF-8 is checked on the decompressed message: the server MUST fail the connection with 1007 (or a TCP drop).",
		}, casekit.Script{Steps: []casekit.Step{casekit.SendMessage(wire.OneWrite, wire.OpText, invalidUTF8, 0)}, OK: onlyTrace(), Close: failInvalidUTF8}),
		frame(Case{
			ID: "11.4.13", Title: "compressed binary message", RFC: "RFC 7692 §6",
			Description: "send a compressed binary message of all 256 byte values, twice.",
			Expectation: "The server MUST echo both binary messages; then a clean close.",
		}, casekit.Script{Steps: []casekit.Step{
			casekit.SendMessage(wire.OneWrite, wire.OpBinary, allBytes(), 0),
			casekit.SendMessage(wire.OneWrite, wire.OpBinary, allBytes(), 0),
		}, OK: onlyTrace(casekit.Binary(allBytes()), casekit.Binary(allBytes())), Close: closeNormal}),
	}
}

func allBytes() []byte {
	b := make([]byte, 256)
	for i := range b {
		b[i] = byte(i)
	}
	return b
}

// deflateContexts is 11.5: the server's decompressor keeps the client's
// LZ77 window, and only for compressed messages (in client form, the
// client's keeps the server's).
func deflateContexts() []Case {
	a, b := noise(17, 2<<10), noise(19, 3<<10)
	takeover := repeatedEcho(offerRaw("permessage-deflate"), a, 3)
	takeover.Answer = plainAnswer.answer
	serverTakeover := inBothForms(scripted(Case{
		ID: "11.5.1", Family: FamilyDeflateNegotiation, Title: "client context takeover", RFC: "RFC 7692 §7.1.1.2, §7.2.1",
		Description: "Offer plain permessage-deflate (no client_no_context_takeover hint), then send the same 2 KiB text three times: unless the answer has client_no_context_takeover, the client keeps its window, so the second and third messages are back-references into the first.",
		Expectation: "Without client_no_context_takeover in its answer the server MUST keep the client's LZ77 window between messages and echo all three; then a clean close.",
	}, takeover), "send the same 2 KiB text three times, compressed with context takeover: the second and third messages are back-references into the first.")
	serverTakeover.client.expectation = "Without server_no_context_takeover in the answer the client MUST keep the server's LZ77 window between messages (RFC 7692 §7.1.1.1, §7.2.2) and echo all three; then a clean close."
	return []Case{
		serverTakeover,
		inBothForms(scripted(Case{
			ID: "11.5.2", Family: FamilyDeflateNegotiation, Title: "uncompressed message between compressed ones", RFC: "RFC 7692 §6, §7.2.1",
			Description: "Offer plain permessage-deflate, then send text A (2 KiB) compressed, text B (3 KiB) without RSV1, and A compressed again: the third refers back to the first, 2 KiB behind it in the client's window, which B never entered.",
			Expectation: "An uncompressed message is not part of the LZ77 window; the server MUST echo A, B, A; then a clean close.",
		}, casekit.Script{
			Edit: offerRaw("permessage-deflate"), RequireDeflate: true, Answer: plainAnswer.answer,
			Steps: []casekit.Step{
				casekit.SendMessage(wire.OneWrite, wire.OpText, a, 0),
				casekit.Send(wire.OneWrite, wire.Text(string(b))),
				casekit.SendMessage(wire.OneWrite, wire.OpText, a, 0),
			},
			OK: onlyTrace(casekit.TextBytes(a), casekit.TextBytes(b), casekit.TextBytes(a)), Close: closeNormal,
		}), "send text A (2 KiB) compressed, text B (3 KiB) without RSV1, and A compressed again: the third refers back to the first, 2 KiB behind it in the server's window, which B never entered."),
	}
}

// inBothForms gives a case of this family that judges what either end must
// do with the frames it receives a client form: the harness, as the
// server, accepts the client's first valid permessage-deflate offer as it
// is (UNIMPLEMENTED when the client makes none), then does what the steps
// say (clientSteps), and the client must do what the server must.
func inBothForms(c Case, clientSteps string) Case {
	c.client = &clientText{
		title:       swapRoles(c.Title),
		description: "Accept the client's first valid permessage-deflate offer as it is (UNIMPLEMENTED when it makes none); then " + clientSteps,
		expectation: swapRoles(c.Expectation),
	}
	return c
}

// refusedNonStrict grades a refused handshake (an HTTP error, or no
// answer) to a request holding an invalid offer NON-STRICT instead of
// FAILED: RFC 7692 §7 asks the server to decline that offer and consider
// the next, but refusing is what 11.2 tolerates for an invalid offer alone.
// A 101 that accepts the invalid offer stays FAILED.
func refusedNonStrict(c Case) Case {
	return regraded(c, func(_ casekit.Env, out *results.Case) {
		if out.Verdict == results.Failed && !agreed(out.Handshake.Response) {
			out.Verdict, out.CloseVerdict = results.NonStrict, results.CloseOK
			out.Observed = "NON-STRICT: the handshake was refused; the server should have declined the invalid offer and accepted or declined the valid one (RFC 7692 §7).\n" + out.Observed
		}
	})
}

// agreed reports whether a response as results.json holds it opened the
// WebSocket: "HTTP/1.1 101 ..." or, over HTTP/2, ":status: 200".
func agreed(raw string) bool {
	var proto string
	var status int
	if _, err := fmt.Sscan(raw, &proto, &status); err != nil {
		return false
	}
	if proto == ":status:" {
		proto = handshake.ProtoHTTP2
	}
	return handshake.StatusAgrees(proto, status)
}
