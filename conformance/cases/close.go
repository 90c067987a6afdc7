package cases

import (
	"bytes"
	"fmt"
	"time"

	"github.com/wsharness/wsharness/conformance/casekit"
	"github.com/wsharness/wsharness/wire"
)

// Autobahn's 7.7 valid and 7.9 invalid status codes. 1012–1015 are left out
// on purpose, as Autobahn does (IANA-registered after RFC 6455; servers
// legitimately disagree).
var (
	validCloseCodes   = []int{1000, 1001, 1002, 1003, 1007, 1008, 1009, 1010, 1011, 3000, 3999, 4000, 4999}
	invalidCloseCodes = []int{0, 999, 1004, 1005, 1006, 1016, 1100, 2000, 2999}
)

// invalidUTF8Reason is κόσμε, a UTF-16 surrogate (ED A0 80), then "edited".
var invalidUTF8Reason = []byte("\xce\xba\xe1\xbd\xb9\xcf\x83\xce\xbc\xce\xb5\xed\xa0\x80\x65\x64\x69\x74\x65\x64")

const closeAnswerRule = "On a Close the server MUST answer with a Close (§5.5.1), normally echoing the code or 1000, MUST NOT send data after its Close, and then closes TCP."

// Close returns Autobahn 7.1.x, 7.3.x, 7.5.1, 7.7.x, 7.9.x and 7.13.x.
func Close() []Case {
	clean := casekit.CloseExpect{Codes: []int{1000}, RequireClean: true, WrongCodeFatal: true}
	protocolError := casekit.CloseExpect{Codes: []int{1002}, WrongCodeFatal: true}
	closeFrame := func(payload []byte) wire.Frame { return wire.NewFrame(wire.OpClose, payload) }
	hello := "Hello World!"

	send := func(frames ...wire.Frame) []casekit.Step {
		return []casekit.Step{casekit.Send(wire.OneWrite, frames...)}
	}
	big := bytes.Repeat([]byte("BAsd7&jh23"), 256<<10/10+1)[:256<<10]

	out := []Case{
		scripted(Case{
			ID: "7.1.1", Family: FamilyClose, Title: "message, then close", RFC: "RFC 6455 §5.5.1",
			Description: `Send a text message "Hello World!"; the client closes after the echo.`,
			Expectation: "The message MUST be echoed; then a clean close with 1000.",
		}, casekit.Script{Steps: send(wire.Text(hello)), OK: onlyTrace(casekit.Text(hello)), Close: clean}),
		scripted(Case{
			ID: "7.1.2", Family: FamilyClose, Title: "two close frames", RFC: "RFC 6455 §5.5.1",
			Description: "Send Close 1000, then a second Close frame.",
			Expectation: closeAnswerRule + " The second Close is ignored: a clean close with 1000.",
		}, casekit.Script{Steps: send(wire.Close(1000, ""), closeFrame(nil)), OK: onlyTrace(), Close: clean}),
		scripted(Case{
			ID: "7.1.3", Family: FamilyClose, Title: "ping after close", RFC: "RFC 6455 §5.5.1",
			Description: "Send Close 1000, then a Ping.",
			Expectation: closeAnswerRule + " No Pong follows the Close: a clean close with 1000.",
		}, casekit.Script{Steps: send(wire.Close(1000, ""), wire.Ping(nil)), OK: onlyTrace(), Close: clean}),
		scripted(Case{
			ID: "7.1.4", Family: FamilyClose, Title: "text after close", RFC: "RFC 6455 §5.5.1",
			Description: `Send Close 1000, then a text message "Hello World!".`,
			Expectation: closeAnswerRule + " Data after the Close is not echoed: a clean close with 1000.",
		}, casekit.Script{Steps: send(wire.Close(1000, ""), wire.Text(hello)), OK: onlyTrace(), Close: clean}),
		scripted(Case{
			ID: "7.1.5", Family: FamilyClose, Title: "fragment, close, fragment", RFC: "RFC 6455 §5.5.1",
			Description: `Send a text fragment "fragment1" (FIN=0), Close 1000, then the final fragment "fragment2".`,
			Expectation: closeAnswerRule + " The unfinished message is not echoed: a clean close with 1000.",
		}, casekit.Script{Steps: send(wire.Fragment(wire.Text("fragment1")), wire.Close(1000, ""), wire.Continuation([]byte("fragment2"), true)), OK: onlyTrace(), Close: clean}),
		scripted(Case{
			ID: "7.1.6", Family: FamilyClose, Title: "256 KiB message, text, close, ping", RFC: "RFC 6455 §5.5.1",
			Description: "Send a 256 KiB text message, a small text message, Close 1000 and a Ping back to back.",
			Expectation: "Whether the messages are echoed before the Close is processed is implementation-defined (INFORMATIONAL); the close MUST be clean.",
		}, casekit.Script{
			Steps:         send(wire.Text(string(big)), wire.Text(hello), wire.Close(1000, ""), wire.Ping(nil)),
			OK:            onlyTrace(casekit.TextBytes(big), casekit.Text(hello)),
			NonStrict:     onlyTrace(),
			Informational: true,
			Close:         casekit.CloseExpect{Codes: []int{1000}, RequireClean: true},
			Timeout:       10 * time.Second,
		}),

		scripted(Case{
			ID: "7.3.1", Family: FamilyClose, Title: "close with empty body", RFC: "RFC 6455 §5.5.1",
			Description: "Send a Close frame with no body (no code, no reason).",
			Expectation: "A Close MAY have no body (§5.5.1); the server MUST answer with a Close: a clean close (1000 or no code).",
		}, casekit.Script{Steps: send(closeFrame(nil)), OK: onlyTrace(), Close: clean}),
		scripted(Case{
			ID: "7.3.2", Family: FamilyClose, Title: "close with a 1-byte body", RFC: "RFC 6455 §5.5.1",
			Description: `Send a Close frame whose body is the single byte "a".`,
			Expectation: "A Close body MUST start with a 2-byte status code (§5.5.1): the server MUST fail the connection, with 1002 or a TCP drop.",
		}, casekit.Script{Steps: send(closeFrame([]byte("a"))), OK: onlyTrace(), Close: protocolError}),
		scripted(Case{
			ID: "7.3.3", Family: FamilyClose, Title: "close with code 1000", RFC: "RFC 6455 §5.5.1",
			Description: "Send Close 1000 with no reason.",
			Expectation: closeAnswerRule,
		}, casekit.Script{Steps: send(wire.Close(1000, "")), OK: onlyTrace(), Close: clean}),
		scripted(Case{
			ID: "7.3.4", Family: FamilyClose, Title: "close with code and reason", RFC: "RFC 6455 §5.5.1",
			Description: `Send Close 1000 with reason "Hello World!".`,
			Expectation: closeAnswerRule,
		}, casekit.Script{Steps: send(wire.Close(1000, hello)), OK: onlyTrace(), Close: clean}),
		scripted(Case{
			ID: "7.3.5", Family: FamilyClose, Title: "close with a 123-byte reason", RFC: "RFC 6455 §5.5, §5.5.1",
			Description: "Send Close 1000 with a 123-byte reason (a 125-byte body, the maximum).",
			Expectation: closeAnswerRule,
		}, casekit.Script{Steps: send(wire.Close(1000, string(bytes.Repeat([]byte("*"), 123)))), OK: onlyTrace(), Close: clean}),
		scripted(Case{
			ID: "7.3.6", Family: FamilyClose, Title: "close with a 124-byte reason", RFC: "RFC 6455 §5.5",
			Description: "Send Close 1000 with a 124-byte reason (a 126-byte control payload).",
			Expectation: "Control frames MUST have a payload of 125 bytes or less (§5.5): the server MUST fail the connection, with 1002 or a TCP drop.",
		}, casekit.Script{Steps: send(wire.Close(1000, string(bytes.Repeat([]byte("*"), 124)))), OK: onlyTrace(), Close: protocolError}),
		scripted(Case{
			ID: "7.5.1", Family: FamilyClose, Title: "close reason that is not UTF-8", RFC: "RFC 6455 §5.5.1, §8.1",
			Description: "Send Close 1000 whose reason contains an encoded UTF-16 surrogate (ED A0 80).",
			Expectation: "A close reason MUST be UTF-8 (§5.5.1): the server MUST fail the connection, with 1002, 1007 or a TCP drop.",
		}, casekit.Script{Steps: send(closeFrame(append(wire.ClosePayload(1000, ""), invalidUTF8Reason...))), OK: onlyTrace(),
			Close: casekit.CloseExpect{Codes: []int{1002, 1007}, WrongCodeFatal: true}}),
	}
	for i, code := range validCloseCodes {
		out = append(out, scripted(Case{
			ID: fmt.Sprintf("7.7.%d", i+1), Family: FamilyClose, RFC: "RFC 6455 §7.4.1, §5.5.1",
			Title:       fmt.Sprintf("close with valid code %d", code),
			Description: fmt.Sprintf("Send Close with status code %d.", code),
			Expectation: fmt.Sprintf("%d is a valid status code (§7.4.1, §7.4.2): the server MUST answer with a Close carrying 1000 or %d; a clean close.", code, code),
		}, casekit.Script{Steps: send(wire.Close(uint16(code), "")), OK: onlyTrace(),
			Close: casekit.CloseExpect{Codes: []int{1000, code}, RequireClean: true, WrongCodeFatal: true}}))
	}
	for i, code := range invalidCloseCodes {
		out = append(out, scripted(Case{
			ID: fmt.Sprintf("7.9.%d", i+1), Family: FamilyClose, RFC: "RFC 6455 §7.4.1, §7.4.2",
			Title:       fmt.Sprintf("close with invalid code %d", code),
			Description: fmt.Sprintf("Send Close with status code %d.", code),
			Expectation: fmt.Sprintf("%d is not a status code an endpoint may send (§7.4.1, §7.4.2): the server MUST fail the connection, with 1002 or a TCP drop, and MUST NOT echo it.", code),
		}, casekit.Script{Steps: send(wire.Close(uint16(code), "")), OK: onlyTrace(), Close: protocolError}))
	}
	for i, code := range []int{5000, 65535} {
		out = append(out, scripted(Case{
			ID: fmt.Sprintf("7.13.%d", i+1), Family: FamilyClose, RFC: "RFC 6455 §7.4.2",
			Title:       fmt.Sprintf("close with out-of-range code %d", code),
			Description: fmt.Sprintf("Send Close with status code %d.", code),
			Expectation: "The RFC does not define codes of 5000 and above: the answer (1000, the echo, 1002, or a drop) is recorded (INFORMATIONAL).",
		}, casekit.Script{Steps: send(wire.Close(uint16(code), "")), OK: onlyTrace(), Informational: true,
			Close: casekit.CloseExpect{Codes: []int{1000, code, 1002}}}))
	}
	return out
}
