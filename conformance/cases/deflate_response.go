package cases

import (
	"fmt"

	"github.com/wsharness/wsharness/conformance/casekit"
	"github.com/wsharness/wsharness/wire"
	"github.com/wsharness/wsharness/wire/deflate"
	"github.com/wsharness/wsharness/wire/handshake"
)

// FamilyDeflateResponse is 112.x, client only: how a client takes the
// server's answer to its permessage-deflate offers (RFC 7692 §7), the
// window and context rules an answer sets, and answers it MUST refuse.
// Autobahn's client mode asks a client only for window 9 or 15 and never
// answers wrongly.
const FamilyDeflateResponse Family = "deflate-response"

// Rules of the deflate-response family.
const (
	deflateRefusable = "RFC 7692 §7 has a client fail the connection when it does not support the configuration an answer represents"
	serverWindowRule = "The client MUST decompress every message under the answer (RFC 7692 §7.1.2.1, §7.2.2: the server compresses within 2^N bytes and keeps its context, so the client keeps that much of the server's history; a 32 KiB window does as well) and echo each; then a clean close. " +
		"A client that does not support the answer MUST fail the connection instead (§7): failing it before echoing anything is UNIMPLEMENTED; echoing wrong data or failing later is FAILED. UNIMPLEMENTED when the client offers no permessage-deflate."
	clientWindowRule = "The client MUST compress within a 256-byte LZ77 window (RFC 7692 §7.1.2.2: the answer set client_max_window_bits=8): the harness keeps 256 bytes of the client's history and reads every back-reference of each echo, so one that reaches further back, into the previous message or inside one, is FAILED. " +
		"A client that cannot compress with 8 bits (zlib's raw deflate turns 8 into 9) MUST fail the connection instead (§7): failing it before echoing anything is UNIMPLEMENTED. UNIMPLEMENTED when no offer has client_max_window_bits."
	clientContextRule = "The client MUST NOT use context takeover (RFC 7692 §7.1.1.2: the answer's client_no_context_takeover prevents it, whatever the offer said): each echo MUST decompress on its own, with an empty window, as the harness decompresses it; then a clean close. " +
		"Failing the connection before echoing anything is UNIMPLEMENTED (§7); UNIMPLEMENTED when the client offers no permessage-deflate."
	invalidAnswerRule = "The answer accepts permessage-deflate in a way RFC 7692 forbids, so the client MUST _Fail the WebSocket Connection_ (§7; §5 for two elements): it echoes nothing and closes TCP, with or without a Close frame. " +
		"UNIMPLEMENTED when the client offers no permessage-deflate the case can answer (110.10 answers an extension nobody offered)."
)

// DeflateResponse returns cases 112.x: the harness, as the server, answers
// the client's permessage-deflate offer with each window, with
// client_no_context_takeover, or wrongly.
func DeflateResponse() []Case {
	var out []Case
	out = append(out, serverWindows()...)
	out = append(out, clientWindow(), clientNoContext())
	return append(out, invalidAnswers()...)
}

// repeatSteps sends each message compressed, each `times` times, and
// expects the echoes in order.
func repeatSteps(times int, msgs ...[]byte) ([]casekit.Step, []casekit.Event) {
	var steps []casekit.Step
	var want []casekit.Event
	for _, m := range msgs {
		for range times {
			steps = append(steps, casekit.SendMessage(wire.OneWrite, wire.OpText, m, 0))
			want = append(want, casekit.TextBytes(m))
		}
	}
	return steps, want
}

// answerCase is a 112.x case whose client must take the answer and echo.
func answerCase(c Case, answer casekit.DeflateAnswer, steps []casekit.Step, want []casekit.Event) Case {
	c.Family = FamilyDeflateResponse
	return scripted(c, casekit.Script{
		Answer: answer, RequireDeflate: true, Refusable: deflateRefusable,
		Steps: steps, OK: onlyTrace(want...), Close: closeNormal,
	})
}

// serverWindows is 112.1.1–112.1.8: server_max_window_bits 8 to 15.
func serverWindows() []Case {
	short, long := noise(23, 200), noise(29, 3<<10)
	steps, want := repeatSteps(3, short)
	more, moreWant := repeatSteps(2, long)
	steps, want = append(steps, more...), append(want, moreWant...)
	var out []Case
	for bits := 8; bits <= 15; bits++ {
		note := ""
		if bits == 8 {
			note = " zlib cannot compress with 8 bits, but the harness does, and the client only decompresses with the server's window."
		}
		out = append(out, answerCase(Case{
			ID: fmt.Sprintf("112.1.%d", bits-7), Title: fmt.Sprintf("server_max_window_bits=%d in the answer", bits), RFC: "RFC 7692 §7.1.2.1, §7.2.2",
			Description: fmt.Sprintf("Accept the client's first valid permessage-deflate offer with server_max_window_bits=%d added to the answer (§7.1.2.1 lets a server add it unasked; an offer's lower limit stays), and compress with a %d-byte window and context takeover: "+
				"send a 200-byte text three times, then a 3 KiB text twice; each copy refers back into the one before, as far as the window reaches.%s", bits, 1<<bits, note),
			Expectation: serverWindowRule,
		}, casekit.AcceptDeflate(nil, deflate.WindowBitsParam(deflate.ServerMaxWindowBits, bits)), steps, want))
	}
	return out
}

// clientWindow is 112.2.1: client_max_window_bits=8.
func clientWindow() Case {
	steps, want := repeatSteps(3, noise(31, 300))
	more, moreWant := repeatSteps(2, noise(37, 1<<10))
	return answerCase(Case{
		ID: "112.2.1", Title: "client_max_window_bits=8 in the answer", RFC: "RFC 7692 §7.1.2.2, §7.2.1",
		Description: "Accept the client's first valid permessage-deflate offer that has client_max_window_bits, answering client_max_window_bits=8. " +
			"Then send a 300-byte text three times and a 1 KiB text twice: a client that compresses with any window over 256 bytes (9 bits, as zlib does when asked for 8, reaches 512) refers back into the previous copy, 300 or 1024 bytes back, which the harness, keeping 256 bytes of the client's history and reading every distance, refuses.",
		Expectation: clientWindowRule,
	}, casekit.AcceptDeflate([]string{deflate.ClientMaxWindowBits}, deflate.WindowBitsParam(deflate.ClientMaxWindowBits, 8)),
		append(steps, more...), append(want, moreWant...))
}

// clientNoContext is 112.3.1: client_no_context_takeover in the answer.
func clientNoContext() Case {
	steps, want := repeatSteps(3, noise(41, 2<<10))
	return answerCase(Case{
		ID: "112.3.1", Title: "client_no_context_takeover in the answer", RFC: "RFC 7692 §7.1.1.2",
		Description: "Accept the client's first valid permessage-deflate offer with client_no_context_takeover in the answer (§7.1.1.2 lets a server add it whether offered or not), then send a 2 KiB text three times: " +
			"a client that keeps its context compresses the second and third echoes as references into the first, which do not decompress on their own.",
		Expectation: clientContextRule,
	}, casekit.AcceptDeflate(nil, handshake.ExtParam{Name: deflate.ClientNoContextTakeover}), steps, want)
}

// invalidAnswers is 112.4.x: answers the client MUST refuse.
func invalidAnswers() []Case {
	const hello = "Hello"
	invalid := func(c Case, answer string, pick casekit.DeflateAnswer) Case {
		c.Family, c.Expectation = FamilyDeflateResponse, invalidAnswerRule
		c.Description = fmt.Sprintf("Answer the client's permessage-deflate offer with Sec-WebSocket-Extensions: %s, then send %q uncompressed.", answer, hello)
		return scripted(c, casekit.Script{
			Answer: pick, Steps: []casekit.Step{casekit.Send(wire.OneWrite, wire.Text(hello))},
			OK: onlyTrace(), Close: casekit.CloseExpect{ByPeer: true},
		})
	}
	with := func(params ...handshake.ExtParam) casekit.DeflateAnswer { return answerWith(nil, params...) }
	flag := func(name string) handshake.ExtParam { return handshake.ExtParam{Name: name} }
	return []Case{
		invalid(Case{ID: "112.4.1", Title: "client_max_window_bits in the answer, not in any offer", RFC: "RFC 7692 §7.1.2.2, §7"},
			"permessage-deflate; client_max_window_bits=10 (to offers without client_max_window_bits)",
			answerWith(func(o handshake.Extension) bool { _, has := o.Param(deflate.ClientMaxWindowBits); return !has },
				deflate.WindowBitsParam(deflate.ClientMaxWindowBits, 10))),
		invalid(Case{ID: "112.4.2", Title: "unknown parameter in the answer", RFC: "RFC 7692 §7"},
			"permessage-deflate; x_wsharness_unknown", with(flag("x_wsharness_unknown"))),
		invalid(Case{ID: "112.4.3", Title: "duplicate parameter in the answer", RFC: "RFC 7692 §7"},
			"permessage-deflate; server_no_context_takeover; server_no_context_takeover",
			with(flag(deflate.ServerNoContextTakeover), flag(deflate.ServerNoContextTakeover))),
		invalid(Case{ID: "112.4.4", Title: "server_max_window_bits=7 in the answer", RFC: "RFC 7692 §7, §7.1.2.1"},
			"permessage-deflate; server_max_window_bits=7", with(deflate.WindowBitsParam(deflate.ServerMaxWindowBits, 7))),
		invalid(Case{ID: "112.4.5", Title: "client_max_window_bits without a value in the answer", RFC: "RFC 7692 §7, §7.1.2.2"},
			"permessage-deflate; client_max_window_bits (a response needs a value)", with(flag(deflate.ClientMaxWindowBits))),
		invalid(Case{ID: "112.4.6", Title: "permessage-deflate accepted twice", RFC: "RFC 7692 §5, §7"},
			"permessage-deflate, permessage-deflate",
			func(offers []handshake.Extension) ([]handshake.Extension, string) {
				if len(offers) == 0 {
					return nil, "the client offered no permessage-deflate"
				}
				plain := handshake.Extension{Name: deflate.ExtensionName}
				return []handshake.Extension{plain, plain}, ""
			}),
	}
}

// answerWith answers the client's first offer that fits (any, when fits is
// nil) with permessage-deflate and exactly params, valid or not.
func answerWith(fits func(handshake.Extension) bool, params ...handshake.ExtParam) casekit.DeflateAnswer {
	return func(offers []handshake.Extension) ([]handshake.Extension, string) {
		for _, o := range offers {
			if fits == nil || fits(o) {
				return []handshake.Extension{{Name: deflate.ExtensionName, Params: params}}, ""
			}
		}
		if len(offers) == 0 {
			return nil, "the client offered no permessage-deflate"
		}
		return nil, fmt.Sprintf("the client offered %q, and the case needs an offer without client_max_window_bits", handshake.FormatExtensions(offers...))
	}
}
