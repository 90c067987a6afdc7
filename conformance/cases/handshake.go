package cases

import (
	"fmt"
	"net/http"
	"strings"

	"github.com/wsharness/wsharness/conformance/casekit"
	"github.com/wsharness/wsharness/results"
	"github.com/wsharness/wsharness/wire"
	"github.com/wsharness/wsharness/wire/handshake"
)

const rejectRule = "If the client's handshake does not meet §4.2.1, the server MUST stop processing it and return an HTTP error (such as 400 Bad Request): it MUST NOT answer 101. Any 4xx is OK; another non-101 status or closing without a response is NON-STRICT."

// Handshake returns project cases 0.x: Autobahn has no handshake tests.
func Handshake() []Case {
	hello := "Hello, handshake!"
	upgrade := func(c Case, edit func(*handshake.Request)) Case {
		c.Family = FamilyHandshake
		return scripted(c, casekit.Script{
			Edit:  edit,
			Steps: []casekit.Step{casekit.Send(wire.OneWrite, wire.Text(hello))},
			OK:    onlyTrace(casekit.Text(hello)),
			Close: closeNormal,
		})
	}
	reject := func(c Case, edit func(*handshake.Request)) Case {
		c.Family, c.RFC, c.Expectation = FamilyHandshake, "RFC 6455 §4.2.1", rejectRule
		c.run = casekit.Probe{Edit: edit, Judge: mustReject}.Run
		return c
	}
	set := func(name, value string) func(*handshake.Request) {
		return func(r *handshake.Request) { r.Headers.Set(name, value) }
	}
	del := func(name string) func(*handshake.Request) { return func(r *handshake.Request) { r.Headers.Del(name) } }
	const acceptRule = "The server MUST answer 101 with Upgrade: websocket, Connection: Upgrade and Sec-WebSocket-Accept = base64(SHA-1(key + 258EAFA5-E914-47DA-95CA-C5AB0DC85B11)) (§4.2.2), then echo the message; then a clean close with 1000."

	return []Case{
		upgrade(Case{
			ID: "0.1", Title: "valid opening handshake", RFC: "RFC 6455 §4.2.2",
			Description: "Send a valid opening handshake, then a text message.",
			Expectation: acceptRule,
		}, nil),
		upgrade(Case{
			ID: "0.2", Title: "Connection: keep-alive, Upgrade", RFC: "RFC 6455 §4.2.1",
			Description: "Send the handshake with the header Connection: keep-alive, Upgrade (a token list, as Firefox sends).",
			Expectation: "Connection is a token list that MUST include \"Upgrade\" (§4.2.1 item 4); the server MUST accept it: 101 and an echo.",
		}, set("Connection", "keep-alive, Upgrade")),
		upgrade(Case{
			ID: "0.3", Title: "mixed-case header values", RFC: "RFC 6455 §4.2.1",
			Description: "Send Upgrade: WebSocket and Connection: UPGRADE.",
			Expectation: "The Upgrade and Connection values are compared case-insensitively (§4.2.1 items 3 and 4); the server MUST accept: 101 and an echo.",
		}, func(r *handshake.Request) {
			r.Headers.Set("Upgrade", "WebSocket")
			r.Headers.Set("Connection", "UPGRADE")
		}),
		upgrade(Case{
			ID: "0.4", Title: "mixed-case header names", RFC: "RFC 6455 §4.2.1, RFC 9110 §5.1",
			Description: "Send the handshake headers with unusual name casing (upgrade, CONNECTION, sec-websocket-key, SEC-WEBSOCKET-VERSION).",
			Expectation: "HTTP header names are case-insensitive; the server MUST accept: 101 and an echo.",
		}, func(r *handshake.Request) {
			for i, h := range r.Headers {
				switch strings.ToLower(h.Name) {
				case "upgrade", "sec-websocket-key":
					r.Headers[i].Name = strings.ToLower(h.Name)
				case "connection", "sec-websocket-version":
					r.Headers[i].Name = strings.ToUpper(h.Name)
				}
			}
		}),
		reject(Case{
			ID: "0.5", Title: "missing Sec-WebSocket-Key",
			Description: "Send the handshake without Sec-WebSocket-Key.",
		}, del("Sec-WebSocket-Key")),
		reject(Case{
			ID: "0.6", Title: "Sec-WebSocket-Key of 8 bytes",
			Description: "Send Sec-WebSocket-Key: AAAAAAAAAAA= (base64 of 8 bytes, not 16).",
		}, set("Sec-WebSocket-Key", "AAAAAAAAAAA=")),
		reject(Case{
			ID: "0.7", Title: "Sec-WebSocket-Key not base64",
			Description: "Send Sec-WebSocket-Key: not*base64*at*all!!! (24 characters that are not base64).",
		}, set("Sec-WebSocket-Key", "not*base64*at*all!!!!!!!")),
		{ID: "0.8", Family: FamilyHandshake, Title: "unknown Sec-WebSocket-Version 99", RFC: "RFC 6455 §4.2.2, §4.4",
			Description: "Send the handshake with Sec-WebSocket-Version: 99.",
			Expectation: "The server MUST NOT upgrade, and MUST list the versions it supports in Sec-WebSocket-Version (§4.4). 426 Upgrade Required with Sec-WebSocket-Version: 13 is OK; another error status with the header is NON-STRICT.",
			run:         casekit.Probe{Edit: set("Sec-WebSocket-Version", "99"), Judge: unknownVersion}.Run},
		reject(Case{
			ID: "0.9", Title: "missing Sec-WebSocket-Version",
			Description: "Send the handshake without Sec-WebSocket-Version.",
		}, del("Sec-WebSocket-Version")),
		reject(Case{
			ID: "0.10", Title: "POST instead of GET",
			Description: "Send the handshake with method POST.",
		}, func(r *handshake.Request) { r.Method = "POST"; r.Headers.Set("Content-Length", "0") }),
		reject(Case{
			ID: "0.11", Title: "missing Upgrade header",
			Description: "Send the handshake without the Upgrade header.",
		}, del("Upgrade")),
		reject(Case{
			ID: "0.12", Title: "missing Connection header",
			Description: "Send the handshake without the Connection header.",
		}, del("Connection")),
		reject(Case{
			ID: "0.13", Title: "Upgrade names another protocol",
			Description: "Send the handshake with Upgrade: h2c.",
		}, set("Upgrade", "h2c")),
		upgrade(Case{
			ID: "0.14", Title: "two subprotocols offered", RFC: "RFC 6455 §4.2.2",
			Description: "Offer Sec-WebSocket-Protocol: wsharness.a, wsharness.b.",
			Expectation: "The server MUST select at most one of the offered subprotocols, or send no Sec-WebSocket-Protocol (§4.2.2 item 5.5); then echo.",
		}, set("Sec-WebSocket-Protocol", "wsharness.a, wsharness.b")),
		upgrade(Case{
			ID: "0.15", Title: "subprotocols offered on two header lines", RFC: "RFC 6455 §4.2.2, §11.3.4",
			Description: "Offer wsharness.a and chat in two separate Sec-WebSocket-Protocol header lines.",
			Expectation: "The header MAY appear more than once (§11.3.4); the server MUST select at most one of the offered values, or none; then echo.",
		}, func(r *handshake.Request) {
			r.Headers = append(r.Headers, handshake.HeaderField{Name: "Sec-WebSocket-Protocol", Value: "wsharness.a"},
				handshake.HeaderField{Name: "Sec-WebSocket-Protocol", Value: "chat"})
		}),
		upgrade(Case{
			ID: "0.16", Title: "no subprotocol offered", RFC: "RFC 6455 §4.2.2",
			Description: "Send the handshake without Sec-WebSocket-Protocol.",
			Expectation: "With no subprotocol offered the server MUST NOT send Sec-WebSocket-Protocol (§4.2.2 item 5.5); then echo.",
		}, nil),
		upgrade(Case{
			ID: "0.17", Title: "unknown extension offered", RFC: "RFC 6455 §4.2.2, §9.1",
			Description: "Offer Sec-WebSocket-Extensions: x-wsharness-unknown; level=3.",
			Expectation: "The server MUST NOT accept an extension it does not support nor one that was not offered (§4.2.2 item 5.6, §9.1); then echo.",
		}, set("Sec-WebSocket-Extensions", "x-wsharness-unknown; level=3")),
		pipelined(),
		{ID: "0.19", Family: FamilyHandshake, Title: "HTTP/1.0 request", RFC: "RFC 6455 §4.1, §4.2.1",
			Description: "Send the handshake as an HTTP/1.0 request.",
			Expectation: "The handshake MUST be HTTP/1.1 or higher (§4.1). Rejecting is OK; upgrading anyway is NON-STRICT.",
			run:         casekit.Probe{Edit: func(r *handshake.Request) { r.Proto = "HTTP/1.0" }, Judge: http10}.Run},
	}
}

// pipelined is 0.18: a frame in the same TCP write as the request. §4.1
// tells the client to wait for the response, so a server may refuse; it
// only must not hang or crash.
func pipelined() Case {
	msg := "sent with the request"
	return regraded(scripted(Case{
		ID: "0.18", Family: FamilyHandshake, Title: "frame in the same TCP write as the request", RFC: "RFC 6455 §4.1",
		Description: "Send the opening handshake and a masked text frame in a single TCP write.",
		Expectation: "The client is supposed to wait for the response (§4.1), so refusing is allowed: an echo is OK, anything else is INFORMATIONAL.",
	}, casekit.Script{
		Trailing: []wire.Frame{wire.Text(msg)},
		OK:       onlyTrace(casekit.Text(msg)),
		Close:    closeNormal,
	}), func(_ casekit.Env, out *results.Case) {
		if out.Verdict != results.OK {
			out.Observed = "INFORMATIONAL: the frame sent with the request was not echoed.\n" + out.Observed
			out.Verdict, out.CloseVerdict = results.Informational, results.CloseOK
		}
	})
}

func describeResponse(resp *handshake.Response, err error) string {
	if resp == nil {
		return fmt.Sprintf("no HTTP response: %v", err)
	}
	return fmt.Sprintf("HTTP %d %s", resp.Status, http.StatusText(resp.Status))
}

func mustReject(resp *handshake.Response, err error) (results.Verdict, string) {
	got := describeResponse(resp, err)
	switch {
	case resp == nil:
		return results.NonStrict, got + "; the server should answer with an HTTP error"
	case resp.Status == http.StatusSwitchingProtocols:
		return results.Failed, got + ": the server upgraded a handshake it MUST reject"
	case resp.Status >= 400 && resp.Status < 500:
		return results.OK, got
	}
	return results.NonStrict, got + "; a 4xx client error is expected"
}

func unknownVersion(resp *handshake.Response, err error) (results.Verdict, string) {
	got := describeResponse(resp, err)
	switch {
	case resp == nil:
		return results.NonStrict, got + "; expected 426 with Sec-WebSocket-Version: 13"
	case resp.Status == http.StatusSwitchingProtocols:
		return results.Failed, got + ": the server upgraded an unknown protocol version (§4.2.2 MUST abort)"
	}
	versions := handshake.HeaderTokens(resp.Header, "Sec-WebSocket-Version")
	if len(versions) == 0 {
		return results.Failed, got + " without a Sec-WebSocket-Version header: a server that does not support the requested version MUST list the versions it supports (§4.4)"
	}
	got += fmt.Sprintf(" with Sec-WebSocket-Version: %s", strings.Join(versions, ", "))
	if resp.Status == http.StatusUpgradeRequired {
		return results.OK, got
	}
	return results.NonStrict, got + "; 426 Upgrade Required is the canonical status"
}

func http10(resp *handshake.Response, err error) (results.Verdict, string) {
	got := describeResponse(resp, err)
	switch {
	case resp == nil:
		return results.NonStrict, got + "; the server should answer with an HTTP error"
	case resp.Status == http.StatusSwitchingProtocols:
		return results.NonStrict, got + ": the server upgraded an HTTP/1.0 request"
	}
	return results.OK, got
}
