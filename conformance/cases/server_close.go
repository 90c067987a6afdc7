package cases

import (
	"fmt"
	"strings"
	"time"

	"github.com/wsharness/wsharness/conformance/casekit"
	"github.com/wsharness/wsharness/results"
	"github.com/wsharness/wsharness/wire"
)

// FamilyServerClose judges how a client takes a close the server starts;
// it has only a client form.
const FamilyServerClose Family = "server-close"

// serverCloseLinger is how long the harness, as the server, keeps TCP open
// after the closing handshake (111.1, 111.18) or after its FIN without a
// Close (111.19) to see what the client does: long enough for any client
// that closes at once to show it, short enough to keep the cases fast.
const serverCloseLinger = time.Second

// Rules of the server-close family.
const (
	answerRule = "On the server's Close the client MUST answer with a Close (RFC 6455 §5.5.1), typically echoing the code (another code is WRONG CODE, not FAILED); " +
		"the close is clean."
	refuseRule = "The Close breaks RFC 6455 (%s), so the client SHOULD fail the connection: a Close %s, or a TCP drop (OK). " +
		"It MUST NOT send a code that MUST NOT be sent (1005, 1006, 1015: FAILED) and MUST answer or fail, not ignore the Close (FAILED). " +
		"Answering as if the Close were valid is NON-STRICT: RFC 6455 has every input validated (§10.7) but no MUST to fail on this one."
)

// serverCloseReason is a 123-byte UTF-8 reason of 2-, 3- and 4-byte
// characters: with the code, a Close body of 125 bytes, the most a
// control frame holds (§5.5).
var serverCloseReason = strings.Repeat("κ✓🙂", 13) + "κόσ"

// ServerClose returns cases 111.x: the harness, as the server, starts the
// closing handshake, with valid and invalid Close frames, keeps TCP open
// after it, sends data after it, or closes TCP without a Close. Autobahn
// has its peer-initiated close cases (7.2, 7.4, 7.6, 7.8, 7.10, 7.11)
// commented out for clients; its 7.x client form has the harness close
// TCP at once, so who closes TCP first is never seen.
func ServerClose() []Case {
	closeFrame := func(payload []byte) wire.Frame { return wire.NewFrame(wire.OpClose, payload) }
	send := func(frames ...wire.Frame) []casekit.Step {
		return []casekit.Step{casekit.Send(wire.OneWrite, frames...)}
	}
	valid := func(c Case, f wire.Frame, codes []int, e casekit.CloseExpect) Case {
		c.Family, c.RFC, c.Expectation = FamilyServerClose, "RFC 6455 §5.5.1, §7.4", answerRule
		e.Codes, e.RequireClean, e.MustAnswer = codes, true, true
		return scripted(c, casekit.Script{Steps: send(f), OK: onlyTrace(), Close: e})
	}
	// refuse is a Close the client should fail the connection on, as it
	// breaks the rule broken; codes are the answers that say so.
	refuse := func(c Case, broken string, f wire.Frame, codes ...int) Case {
		answer := fmt.Sprintf("%d", codes[0])
		if len(codes) > 1 {
			answer = fmt.Sprintf("%d or %d", codes[0], codes[1])
		}
		c.Family, c.Expectation = FamilyServerClose, fmt.Sprintf(refuseRule, broken, answer)
		return answeredIsNonStrict(scripted(c, casekit.Script{Steps: send(f), OK: onlyTrace(), Close: casekit.CloseExpect{Codes: codes, CodeRequired: true, MustAnswer: true}}))
	}
	invalidCode := func(id string, code int, broken string) Case {
		return refuse(Case{
			ID: id, Title: fmt.Sprintf("Close with invalid code %d", code), RFC: "RFC 6455 §5.5.1, §7.4.1, §7.4.2",
			Description: fmt.Sprintf("Send Close with status code %d.", code),
		}, broken, wire.Close(uint16(code), ""), 1002)
	}
	// informational is a Close RFC 6455 neither allows nor forbids
	// clearly: any answer, or a drop, is recorded.
	informational := func(c Case, code int) Case {
		c.Family, c.RFC = FamilyServerClose, "RFC 6455 §7.4.2"
		return scripted(c, casekit.Script{Steps: send(wire.Close(uint16(code), "")), OK: onlyTrace(), Informational: true,
			Close: casekit.CloseExpect{Codes: []int{1000, code, 1002}, MustAnswer: true}})
	}
	linger := casekit.CloseExpect{Linger: serverCloseLinger}
	return []Case{
		valid(Case{
			ID: "111.1", Title: "Close 1000; the client waits for the server to close TCP",
			Description: fmt.Sprintf("Send Close 1000; once the client answers, keep TCP open up to %v before closing it.", serverCloseLinger),
		}, wire.Close(1000, ""), []int{1000}, linger),
		valid(Case{
			ID: "111.2", Title: "Close 1001 with a reason",
			Description: `Send Close 1001 with the reason "going away".`,
		}, wire.Close(1001, "going away"), []int{1000, 1001}, casekit.CloseExpect{}),
		valid(Case{
			ID: "111.3", Title: "Close 3000 with a multi-byte UTF-8 reason",
			Description: `Send Close 3000 with the reason "κόσμε ✓ 🙂".`,
		}, wire.Close(3000, "κόσμε ✓ 🙂"), []int{1000, 3000}, casekit.CloseExpect{}),
		valid(Case{
			ID: "111.4", Title: "Close 4999",
			Description: "Send Close 4999, the last private-use code, with no reason.",
		}, wire.Close(4999, ""), []int{1000, 4999}, casekit.CloseExpect{}),
		valid(Case{
			ID: "111.5", Title: "Close with a 125-byte body",
			Description: "Send Close 1000 with a 123-byte UTF-8 reason of 2-, 3- and 4-byte characters: a 125-byte body, the most a control frame holds.",
		}, wire.Close(1000, serverCloseReason), []int{1000}, casekit.CloseExpect{}),
		valid(Case{
			ID: "111.6", Title: "Close with no body",
			Description: "Send a Close frame with no body: no code, no reason.",
		}, closeFrame(nil), []int{1000}, casekit.CloseExpect{}),
		informational(Case{
			ID: "111.7", Title: "Close 1012 (service restart)",
			Description: "Send Close 1012, a code IANA registered after RFC 6455.",
			Expectation: "1012 is registered with IANA (service restart) but is not in RFC 6455, which reserves 1000-2999 (§7.4.2): answering with a Close or failing the connection are both recorded (INFORMATIONAL); the client MUST do one of them.",
		}, 1012),
		invalidCode("111.8", 0, "§7.4.2: codes 0-999 are not used"),
		invalidCode("111.9", 999, "§7.4.2: codes 0-999 are not used"),
		invalidCode("111.10", 1004, "§7.4.1: 1004 is reserved"),
		invalidCode("111.11", 1005, "§7.4.1: 1005 MUST NOT be sent in a Close frame"),
		invalidCode("111.12", 1006, "§7.4.1: 1006 MUST NOT be sent in a Close frame"),
		invalidCode("111.13", 1015, "§7.4.1: 1015 MUST NOT be sent in a Close frame"),
		invalidCode("111.14", 2999, "§7.4.2: 1000-2999 are reserved for RFC 6455 and its extensions, and 2999 is not defined"),
		informational(Case{
			ID: "111.15", Title: "Close 5000",
			Description: "Send Close 5000, beyond the ranges RFC 6455 defines.",
			Expectation: "RFC 6455 defines status codes up to 4999 (§7.4.2): answering with a Close or failing the connection are both recorded (INFORMATIONAL); the client MUST do one of them.",
		}, 5000),
		refuse(Case{
			ID: "111.16", Title: "Close with a 1-byte body", RFC: "RFC 6455 §5.5.1",
			Description: `Send a Close frame whose body is the single byte "a".`,
		}, "§5.5.1: a body starts with a 2-byte status code", closeFrame([]byte("a")), 1002),
		refuse(Case{
			ID: "111.17", Title: "Close reason that is not UTF-8", RFC: "RFC 6455 §5.5.1, §8.1",
			Description: "Send Close 1000 whose reason contains an encoded UTF-16 surrogate (ED A0 80).",
		}, "§5.5.1: the reason is UTF-8", closeFrame(append(wire.ClosePayload(1000, ""), invalidUTF8Reason...)), 1002, 1007),
		scripted(Case{
			ID: "111.18", Family: FamilyServerClose, Title: "text after the closing handshake", RFC: "RFC 6455 §5.5.1",
			Description: fmt.Sprintf(`Send Close 1000; once the client answers, keep TCP open, send the text message "Hello" and wait up to %v.`, serverCloseLinger),
			Expectation: "The client MUST answer the Close with a Close (§5.5.1) and, having sent its Close, MUST NOT send any more data frames: the message is not echoed. The close is clean.",
		}, casekit.Script{Steps: send(wire.Close(1000, "")), AfterClose: []wire.Frame{wire.Text("Hello")}, OK: onlyTrace(),
			Close: casekit.CloseExpect{Codes: []int{1000}, RequireClean: true, MustAnswer: true, Linger: serverCloseLinger}}),
		scripted(Case{
			ID: "111.19", Family: FamilyServerClose, Title: "the server closes TCP without a Close", RFC: "RFC 6455 §7.1.1, §7.1.5, §7.4.1",
			Description: fmt.Sprintf(`Send the text message "Hello"; after its echo, close the server's side of TCP (FIN) without a Close frame and wait up to %v.`, serverCloseLinger),
			Expectation: "The message MUST be echoed. The WebSocket connection is then closed with code 1006 (§7.1.5), which the client MUST NOT send in a Close frame (§7.4.1): it closes TCP, with a Close of another code or none. Keeping TCP open is INFORMATIONAL.",
		}, casekit.Script{Steps: send(wire.Text("Hello")), OK: onlyTrace(casekit.Text("Hello")),
			Close: casekit.CloseExpect{WithoutClose: true, Linger: serverCloseLinger}}),
	}
}

// answeredIsNonStrict downgrades a case where the client answered an
// invalid Close with a Close whose code does not refuse it (WRONG CODE:
// an echo, 1000, no code, or another code) to NON-STRICT: the RFC has no
// MUST to fail there.
func answeredIsNonStrict(c Case) Case {
	return regraded(c, func(env casekit.Env, out *results.Case) {
		if out.Verdict == results.OK && out.CloseVerdict == results.CloseWrongCode {
			answer := "a Close with no code"
			if out.RemoteCloseCode != nil {
				answer = fmt.Sprintf("Close %d", *out.RemoteCloseCode)
			}
			out.Verdict = results.NonStrict
			out.Observed = fmt.Sprintf("NON-STRICT: the %s answered the invalid Close with %s, not with a code that refuses it.\n%s", env.Peer, answer, out.Observed)
		}
	})
}
