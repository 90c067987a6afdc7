package cases

import (
	"github.com/wsharness/wsharness/conformance/casekit"
	"github.com/wsharness/wsharness/wire"
	"github.com/wsharness/wsharness/wire/handshake"
)

// FamilyHandshakeResponse judges how a client takes the server's answer
// to its opening handshake; it has only a client form.
const FamilyHandshakeResponse Family = "handshake-response"

// Rules of the handshake-response family (RFC 6455 §4.1, last part).
const (
	responseFailRule = "The server's answer does not complete the opening handshake: the client MUST _Fail the WebSocket Connection_ (§4.1): it MUST NOT take the connection for a WebSocket, so it echoes nothing and closes TCP (a Close frame is tolerated, not required, since no WebSocket connection was established)."
	responseOKRule   = "The answer is a valid 101, only written unusually: the client MUST accept it (§4.1, §4.2.2; header names are case-insensitive and Connection is a token list, RFC 9110 §5.1, §7.6.1), echo the message and close cleanly with 1000."
)

// HandshakeResponse returns cases 110.x: the harness, as the server,
// answers the client's opening handshake wrongly, or rightly but in an
// unusual way, then sends "Hello". Autobahn's client mode has none of
// these: its answer is always valid.
func HandshakeResponse() []Case {
	const hello = "Hello"
	send := []casekit.Step{casekit.Send(wire.OneWrite, wire.Text(hello))}
	mustFail := func(c Case, respond func(*handshake.ClientRequest, *handshake.ResponseHead)) Case {
		c.Family, c.Expectation = FamilyHandshakeResponse, responseFailRule
		return scripted(c, casekit.Script{
			Respond: respond, Steps: send, OK: onlyTrace(), Close: casekit.CloseExpect{ByPeer: true},
		})
	}
	mustAccept := func(c Case, s casekit.Script) Case {
		c.Family, c.RFC, c.Expectation = FamilyHandshakeResponse, "RFC 6455 §4.1, §4.2.2", responseOKRule
		s.OK, s.Close = onlyTrace(casekit.Text(hello)), closeNormal
		if s.Trailing == nil {
			s.Steps = send
		}
		return scripted(c, s)
	}
	set := func(name, value string) func(*handshake.ClientRequest, *handshake.ResponseHead) {
		return func(_ *handshake.ClientRequest, r *handshake.ResponseHead) { r.Headers.Set(name, value) }
	}
	del := func(name string) func(*handshake.ClientRequest, *handshake.ResponseHead) {
		return func(_ *handshake.ClientRequest, r *handshake.ResponseHead) { r.Headers.Del(name) }
	}
	status := func(code int, reason string) func(*handshake.ClientRequest, *handshake.ResponseHead) {
		return func(_ *handshake.ClientRequest, r *handshake.ResponseHead) {
			r.Status, r.Reason = code, reason
			r.Headers.Set("Content-Length", "0") // else the client reads a body until TCP ends
		}
	}
	return []Case{
		mustFail(Case{
			ID: "110.1", Title: "wrong Sec-WebSocket-Accept", RFC: "RFC 6455 §4.1",
			Description: `Answer 101 with a Sec-WebSocket-Accept computed for another key, then send "Hello".`,
		}, set("Sec-WebSocket-Accept", handshake.AcceptKey("dGhlIHNhbXBsZSBub25jZQ=="))),
		mustFail(Case{
			ID: "110.2", Title: "no Sec-WebSocket-Accept", RFC: "RFC 6455 §4.1",
			Description: `Answer 101 without Sec-WebSocket-Accept, then send "Hello".`,
		}, del("Sec-WebSocket-Accept")),
		mustFail(Case{
			ID: "110.3", Title: "200 instead of 101", RFC: "RFC 6455 §4.1",
			Description: `Answer "200 OK" with the Upgrade headers and the right accept key, then send "Hello".`,
		}, status(200, "OK")),
		mustFail(Case{
			ID: "110.4", Title: "403 instead of 101", RFC: "RFC 6455 §4.1",
			Description: `Answer "403 Forbidden", then send "Hello".`,
		}, status(403, "Forbidden")),
		mustFail(Case{
			ID: "110.5", Title: "no Upgrade header", RFC: "RFC 6455 §4.1",
			Description: `Answer 101 without an Upgrade header, then send "Hello".`,
		}, del("Upgrade")),
		mustFail(Case{
			ID: "110.6", Title: "Upgrade: h2c", RFC: "RFC 6455 §4.1",
			Description: `Answer 101 with "Upgrade: h2c", then send "Hello".`,
		}, set("Upgrade", "h2c")),
		mustFail(Case{
			ID: "110.7", Title: "no Connection header", RFC: "RFC 6455 §4.1",
			Description: `Answer 101 without a Connection header, then send "Hello".`,
		}, del("Connection")),
		mustFail(Case{
			ID: "110.8", Title: "Connection: keep-alive", RFC: "RFC 6455 §4.1",
			Description: `Answer 101 with "Connection: keep-alive" (no upgrade token), then send "Hello".`,
		}, set("Connection", "keep-alive")),
		mustFail(Case{
			ID: "110.9", Title: "a subprotocol nobody offered", RFC: "RFC 6455 §4.1, §11.3.4",
			Description: `Answer 101 selecting the subprotocol "wsharness.unoffered", which the client did not offer, then send "Hello".`,
		}, set("Sec-WebSocket-Protocol", "wsharness.unoffered")),
		mustFail(Case{
			ID: "110.10", Title: "an extension nobody offered", RFC: "RFC 6455 §4.1, §9.1",
			Description: `Answer 101 accepting the extension "x-wsharness-unoffered", which the client did not offer, then send "Hello".`,
		}, set("Sec-WebSocket-Extensions", "x-wsharness-unoffered")),
		mustAccept(Case{
			ID: "110.11", Title: "header names and tokens in odd case",
			Description: `Answer 101 with "uPGRADE: WebSocket", "CONNECTION: UPGRADE" and "sec-websocket-accept", then send "Hello".`,
		}, casekit.Script{Respond: func(req *handshake.ClientRequest, r *handshake.ResponseHead) {
			r.Headers = handshake.Fields{{Name: "uPGRADE", Value: "WebSocket"}, {Name: "CONNECTION", Value: "UPGRADE"},
				{Name: "sec-websocket-accept", Value: r.Headers.Get("Sec-WebSocket-Accept")}}
		}}),
		scripted(Case{
			ID: "110.12", Family: FamilyHandshakeResponse, Title: "Connection as a token list", RFC: "RFC 6455 §4.1, §4.2.2",
			Description: `Answer 101 with "Connection: keep-alive, Upgrade", then send "Hello".`,
			Expectation: "§4.1 has the client check that Connection contains the token \"Upgrade\", so the client SHOULD accept the answer and echo the message (OK). §4.2.2 has the server send the value \"Upgrade\", so a client that fails the connection on a list is NON-STRICT, not FAILED.",
		}, casekit.Script{
			Respond: set("Connection", "keep-alive, Upgrade"), Steps: send,
			OK: onlyTrace(casekit.Text(hello)), NonStrict: onlyTrace(),
			Close: casekit.CloseExpect{Codes: []int{1000}, AnyEndpoint: true},
		}),
		mustAccept(Case{
			ID: "110.13", Title: "extra headers",
			Description: `Answer 101 with Server, Date, Cache-Control and X-Wsharness headers besides the required ones, then send "Hello".`,
		}, casekit.Script{Respond: func(_ *handshake.ClientRequest, r *handshake.ResponseHead) {
			r.Headers = append(handshake.Fields{{Name: "Server", Value: "wsharness"}, {Name: "Date", Value: "Sun, 06 Dec 2026 06:00:00 GMT"}},
				append(r.Headers, handshake.HeaderField{Name: "Cache-Control", Value: "no-store"}, handshake.HeaderField{Name: "X-Wsharness", Value: "1"})...)
		}}),
		mustAccept(Case{
			ID: "110.14", Title: "answer written one octet at a time",
			Description: `Write the valid 101 answer one octet per TCP write, each read by the client before the next, then send "Hello".`,
		}, casekit.Script{ResponseSplit: wire.OctetWise}),
		mustAccept(Case{
			ID: "110.15", Title: "a frame in the same write as the 101",
			Description: `Send the valid 101 answer and the text message "Hello" in one TCP write.`,
		}, casekit.Script{Trailing: []wire.Frame{wire.Text(hello)}}),
	}
}
