package cases

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"golang.org/x/net/http2"
	"golang.org/x/net/http2/hpack"

	"github.com/wsharness/wsharness/conformance/casekit"
	"github.com/wsharness/wsharness/results"
	"github.com/wsharness/wsharness/wire"
	"github.com/wsharness/wsharness/wire/h2"
	"github.com/wsharness/wsharness/wire/handshake"
)

// The HTTP/2 families: WebSockets bootstrapped by the extended CONNECT of
// RFC 8441 (300.x) and carried on HTTP/2 streams (301.x). They run only
// against ws+h2:// and wss+h2:// targets, beside the RFC 6455 families,
// which run over the stream with the "h2:" marker on their IDs.
const (
	FamilyH2Bootstrap Family = "h2-bootstrap"
	FamilyH2Streams   Family = "h2-streams"
)

const malformedRule = "A malformed request MUST be treated as a stream error of type PROTOCOL_ERROR (RFC 9113 §8.1.1); the server MAY answer it (4xx) before resetting. RST_STREAM PROTOCOL_ERROR or a 4xx is OK; another reset code or a connection error is NON-STRICT; a 2xx (a WebSocket opened on a malformed request) is FAILED."

const h2RejectRule = "The server processes the extended CONNECT as a WebSocket handshake (RFC 8441 §5) and MUST NOT accept one that fails RFC 6455 §4.2.1: any 4xx is OK; another status or a reset is NON-STRICT; a 2xx is FAILED."

// H2Bootstrap returns project cases 300.x: the extended CONNECT.
func H2Bootstrap() []Case {
	probe := func(c Case, p casekit.H2Probe) Case {
		c.Family = FamilyH2Bootstrap
		c.run = p.Run
		return c
	}
	malformed := func(c Case, edit func([]hpack.HeaderField) []hpack.HeaderField) Case {
		c.RFC, c.Expectation = "RFC 9113 §8.1.1, RFC 8441 §4", malformedRule
		return probe(c, casekit.H2Probe{Fields: edit, Judge: mustRefuseMalformed})
	}
	reject := func(c Case, edit func(*handshake.Request)) Case {
		c.RFC, c.Expectation = "RFC 8441 §5, RFC 6455 §4.2.1", h2RejectRule
		return probe(c, casekit.H2Probe{Edit: edit, Judge: mustRejectH2})
	}
	return []Case{
		probe(Case{
			ID: "300.1", Title: "SETTINGS_ENABLE_CONNECT_PROTOCOL advertised", RFC: "RFC 8441 §3",
			Description: "Open an HTTP/2 connection and read the server's SETTINGS.",
			Expectation: "A server that takes WebSockets over HTTP/2 MUST send SETTINGS_ENABLE_CONNECT_PROTOCOL = 1: a client MAY use the extended CONNECT only once it has (§3). The value MUST be 0 or 1 and MUST NOT go from 1 back to 0.",
		}, casekit.H2Probe{Judge: judgeSetting}),
		probe(Case{
			ID: "300.2", Title: "valid extended CONNECT", RFC: "RFC 8441 §5",
			Description: "Send :method CONNECT, :protocol websocket, :scheme, :path, :authority and sec-websocket-version: 13, then a text message in DATA.",
			Expectation: "The server MUST answer 200 (not 101, RFC 8441 §5), leave the stream open, carry no field HTTP/2 forbids (RFC 9113 §8.2.2) and echo the message. A Sec-WebSocket-Accept, which RFC 8441 §5 has no use for, is NON-STRICT.",
		}, casekit.H2Probe{Judge: mustAcceptH2}),
		reject(Case{
			ID: "300.3", Title: "sec-websocket-version: 8",
			Description: "Send the extended CONNECT with sec-websocket-version: 8.",
		}, func(r *handshake.Request) { r.Headers.Set("Sec-WebSocket-Version", "8") }),
		reject(Case{
			ID: "300.4", Title: "no sec-websocket-version",
			Description: "Send the extended CONNECT without sec-websocket-version.",
		}, func(r *handshake.Request) { r.Headers.Del("Sec-WebSocket-Version") }),
		malformed(Case{
			ID: "300.5", Title: ":protocol on a GET",
			Description: "Send the request with :method GET and :protocol websocket.",
		}, setField(":method", "GET")),
		malformed(Case{
			ID: "300.6", Title: "extended CONNECT without :path",
			Description: "Send the extended CONNECT without the :path pseudo-header, which RFC 8441 §4 requires of it.",
		}, dropField(":path")),
		malformed(Case{
			ID: "300.7", Title: "extended CONNECT without :scheme",
			Description: "Send the extended CONNECT without the :scheme pseudo-header, which RFC 8441 §4 requires of it.",
		}, dropField(":scheme")),
		malformed(Case{
			ID: "300.8", Title: "connection: upgrade and upgrade: websocket",
			Description: "Send the extended CONNECT with the HTTP/1.1 upgrade's connection: upgrade and upgrade: websocket fields.",
			RFC:         "RFC 9113 §8.2.2",
		}, func(f []hpack.HeaderField) []hpack.HeaderField {
			return append(f, hpack.HeaderField{Name: "connection", Value: "upgrade"}, hpack.HeaderField{Name: "upgrade", Value: "websocket"})
		}),
		malformed(Case{
			ID: "300.9", Title: "an uppercase field name",
			Description: "Send the extended CONNECT with the field Sec-WebSocket-Version (uppercase letters) instead of sec-websocket-version.",
		}, func(f []hpack.HeaderField) []hpack.HeaderField {
			for i := range f {
				if f[i].Name == "sec-websocket-version" {
					f[i].Name = "Sec-WebSocket-Version"
				}
			}
			return f
		}),
		probe(Case{
			ID: "300.10", Title: ":protocol other than websocket", RFC: "RFC 8441 §4, §5",
			Description: "Send the extended CONNECT with :protocol nonsense.",
			Expectation: "Only :protocol websocket asks for a WebSocket (§5); the server should refuse another protocol it does not know (RFC 9220 §3 words it: SHOULD answer 501). Any refusal is OK; a 2xx is NON-STRICT.",
		}, casekit.H2Probe{Fields: setField(":protocol", "nonsense"), Judge: shouldRefuse}),
		probe(Case{
			ID: "300.11", Title: "extended CONNECT where the setting was not advertised", RFC: "RFC 8441 §3",
			Description: "When the server's SETTINGS lack ENABLE_CONNECT_PROTOCOL = 1, send the extended CONNECT anyway.",
			Expectation: "A server that did not advertise the setting treats the request as malformed (§3: a stream error). A 2xx is FAILED: it advertised nothing and accepted anyway. INFORMATIONAL when the server advertises the setting (nothing to test).",
		}, casekit.H2Probe{Judge: judgeWithoutSetting}),
		probe(Case{
			ID: "300.12", Title: "two subprotocols offered", RFC: "RFC 8441 §5, RFC 6455 §4.2.2",
			Description: "Send the extended CONNECT with sec-websocket-protocol: chat, superchat.",
			Expectation: "The server MUST answer 200 selecting at most one of the offered subprotocols, or none (RFC 6455 §4.2.2 item 5.5, kept by RFC 8441 §5), then echo.",
		}, casekit.H2Probe{
			Edit:  func(r *handshake.Request) { r.Headers.Set("Sec-WebSocket-Protocol", "chat, superchat") },
			Judge: selectsOffered([]string{"chat", "superchat"}),
		}),
		probe(Case{
			ID: "300.13", Title: "a frame right behind the extended CONNECT", RFC: "RFC 8441 §5, RFC 9113 §8.1",
			Description: "Send a text frame in DATA right behind the HEADERS, before the server's answer.",
			Expectation: "DATA may follow the HEADERS at once (RFC 9113 §8.1), but a WebSocket client is supposed to wait for the answer (RFC 6455 §4.1), so refusing is allowed: the echo of the early frame and of the next message is OK, anything else is INFORMATIONAL.",
		}, casekit.H2Probe{Trailing: []wire.Frame{wire.Text("early")}, Judge: earlyFrame}),
	}
}

// setField returns an edit that sets the value of the field called name.
func setField(name, value string) func([]hpack.HeaderField) []hpack.HeaderField {
	return func(f []hpack.HeaderField) []hpack.HeaderField {
		for i := range f {
			if f[i].Name == name {
				f[i].Value = value
			}
		}
		return f
	}
}

// dropField returns an edit that leaves out the field called name.
func dropField(name string) func([]hpack.HeaderField) []hpack.HeaderField {
	return func(f []hpack.HeaderField) []hpack.HeaderField {
		out := f[:0]
		for _, x := range f {
			if x.Name != name {
				out = append(out, x)
			}
		}
		return out
	}
}

func judgeSetting(a casekit.H2Answer) (results.Verdict, string) {
	var settingProblems []string
	for _, v := range a.Violations {
		if strings.Contains(v, "SETTINGS") {
			settingProblems = append(settingProblems, v)
		}
	}
	switch {
	case !a.Settings.EnableConnectProtocol:
		return results.Failed, "the server's SETTINGS lack ENABLE_CONNECT_PROTOCOL = 1: no client may send it an extended CONNECT, so it takes no WebSocket over HTTP/2; SETTINGS received: " + a.Settings.String()
	case len(settingProblems) > 0:
		return results.Failed, strings.Join(settingProblems, "; ")
	}
	return results.OK, "SETTINGS: " + a.Settings.String()
}

// accepted judges a 2xx answer to a valid extended CONNECT: §5's 200,
// the fields, the selection, the stream left open and the echo.
func accepted(a casekit.H2Answer, protocols []string) (results.Verdict, string) {
	if !a.Settings.EnableConnectProtocol {
		return results.Failed, "the server did not advertise SETTINGS_ENABLE_CONNECT_PROTOCOL (RFC 8441 §3): no conforming client can open a WebSocket on it; " + a.String()
	}
	if a.Response == nil {
		return results.Failed, "the extended CONNECT was not accepted: " + a.String()
	}
	resp := handshake.ConnectResponse(a.Response.Fields, nil)
	if problems := handshake.CheckConnect(resp, protocols, nil); len(problems) > 0 {
		return results.Failed, strings.Join(append(problems, a.String()), "; ")
	}
	if a.Response.EndStream {
		return results.Failed, "the 200 HEADERS carry END_STREAM: the server's side of the stream ended before any frame (RFC 9113 §5.1, RFC 8441 §5); " + a.String()
	}
	if len(a.Violations) > 0 {
		return results.Failed, a.String()
	}
	if !a.Echoed {
		return results.Failed, "the WebSocket did not work: " + a.String()
	}
	if accept := resp.Header.Get("Sec-WebSocket-Accept"); accept != "" {
		return results.NonStrict, fmt.Sprintf("the 200 carries Sec-WebSocket-Accept %q, which RFC 8441 §5 has no use for; %s", accept, a.String())
	}
	return results.OK, a.String()
}

func mustAcceptH2(a casekit.H2Answer) (results.Verdict, string) { return accepted(a, nil) }

// earlyFrame judges 300.13 as 0.18 is judged over HTTP/1.1: the client
// sent before the answer, which §4.1 asks it not to.
func earlyFrame(a casekit.H2Answer) (results.Verdict, string) {
	if v, observed := accepted(a, nil); v != results.OK {
		return results.Informational, "INFORMATIONAL: the frame sent before the answer was not echoed (RFC 6455 §4.1 has the client wait); " + observed
	}
	return results.OK, a.String()
}

func selectsOffered(offered []string) func(casekit.H2Answer) (results.Verdict, string) {
	return func(a casekit.H2Answer) (results.Verdict, string) { return accepted(a, offered) }
}

func mustRefuseMalformed(a casekit.H2Answer) (results.Verdict, string) {
	switch {
	case a.Response != nil && !a.Refused():
		return results.Failed, "the server accepted a malformed request: " + a.String()
	case a.Response != nil:
		return results.OK, a.String()
	case a.Reset != nil && a.Reset.Code == http2.ErrCodeProtocol:
		return results.OK, a.String()
	case a.Reset != nil:
		return results.NonStrict, "reset with a code other than PROTOCOL_ERROR: " + a.String()
	case a.GoAway != nil:
		return results.NonStrict, "a connection error where a stream error is asked: " + a.String()
	}
	return results.NonStrict, "neither answered nor reset: " + a.String()
}

func mustRejectH2(a casekit.H2Answer) (results.Verdict, string) {
	switch {
	case a.Response != nil && !a.Refused():
		return results.Failed, "the server accepted the handshake: " + a.String()
	case a.Response != nil && a.Response.Status >= 400 && a.Response.Status < 500:
		return results.OK, a.String()
	}
	return results.NonStrict, a.String()
}

func shouldRefuse(a casekit.H2Answer) (results.Verdict, string) {
	if a.Response != nil && !a.Refused() {
		return results.NonStrict, "the server accepted it: " + a.String()
	}
	return results.OK, a.String()
}

func judgeWithoutSetting(a casekit.H2Answer) (results.Verdict, string) {
	if a.Settings.EnableConnectProtocol {
		return results.Informational, "the server advertises SETTINGS_ENABLE_CONNECT_PROTOCOL = 1: nothing to test"
	}
	if a.Response != nil && !a.Refused() {
		return results.Failed, "the server advertised no SETTINGS_ENABLE_CONNECT_PROTOCOL and accepted the extended CONNECT anyway (RFC 8441 §3): " + a.String()
	}
	return results.OK, a.String()
}

// The stream cases' large message: larger than HTTP/2's default window of
// 65,535 octets. Its echo may take many WINDOW_UPDATE round trips (64 at
// a window of 1,024 octets, through a proxy, on a loaded machine), so it
// gets a timer of its own, and the cases that send it that much more
// time (Case.timeout).
const (
	h2BigMessage = 64 << 10
	h2BigWait    = 10 * time.Second
)

// H2Streams returns project cases 301.x: WebSockets on HTTP/2 streams.
func H2Streams() []Case {
	scenario := func(c Case, play func(context.Context, *casekit.H2Kit) (results.Verdict, string)) Case {
		c.Family = FamilyH2Streams
		c.run = casekit.H2Scenario{Play: play}.Run
		return c
	}
	// big is a scenario that waits for the echo of h2BigMessage.
	big := func(c Case, play func(context.Context, *casekit.H2Kit) (results.Verdict, string)) Case {
		c = scenario(c, play)
		c.timeout = h2BigWait
		return c
	}
	return []Case{
		big(Case{
			ID: "301.1", Title: "a message larger than the initial window", RFC: "RFC 9113 §6.9, RFC 8441 §5",
			Description: "Send a 64 KiB + 1 octet binary message on a WebSocket stream: more than the 65,535-octet window every stream starts with.",
			Expectation: "The server MUST give credit as it reads (WINDOW_UPDATE) so the message gets through, and echo it within the harness's windows (RFC 9113 §6.9.1: a sender MUST NOT exceed them).",
		}, func(ctx context.Context, k *casekit.H2Kit) (results.Verdict, string) {
			return echoBig(ctx, k, h2.Options{})
		}),
		big(Case{
			ID: "301.2", Title: "the harness's stream window of 1,024 octets", RFC: "RFC 9113 §6.9.1",
			Description: "Announce SETTINGS_INITIAL_WINDOW_SIZE = 1024, then send a 64 KiB + 1 octet binary message; credit goes back as the echo is read.",
			Expectation: "The server MUST NOT send more DATA than the window allows (§6.9.1) and MUST still deliver the whole echo, 1,024 octets of credit at a time.",
		}, func(ctx context.Context, k *casekit.H2Kit) (results.Verdict, string) {
			return echoBig(ctx, k, h2.Options{StreamWindow: 1024})
		}),
		scenario(Case{
			ID: "301.3", Title: "three WebSockets on one connection", RFC: "RFC 8441 §5, RFC 9113 §5",
			Description: "Open three WebSocket streams on one connection and send a message on each, in turn, twice.",
			Expectation: "Each stream is its own WebSocket (RFC 8441 §5): every message MUST come back on its own stream, whole.",
		}, threeStreams),
		big(Case{
			ID: "301.4", Title: "a stalled stream does not stall the others", RFC: "RFC 9113 §5.2",
			Description: "On one connection, stop reading stream A (no credit) while its 64 KiB + 1 octet echo is due, then send a message on stream B; then read A again.",
			Expectation: "Flow control exists so that streams do not stall each other (RFC 9113 §5.2, not a MUST): B's echo is expected while A waits (NON-STRICT without it). A's echo MUST arrive once read (FAILED otherwise).",
		}, stalledStream),
		scenario(Case{
			ID: "301.5", Title: "closing handshake, then END_STREAM both ways", RFC: "RFC 8441 §5, RFC 6455 §7.1.1",
			Description: "Exchange a message, send Close 1000, read the server's Close, then wait for the server to end its side of the stream; then end the harness's.",
			Expectation: "The server MUST answer the Close (RFC 6455 §5.5.1). Over HTTP/2, an orderly TCP close is END_STREAM and a TCP reset is RST_STREAM (RFC 8441 §5): the server should end its side with END_STREAM, as it closes TCP first over HTTP/1.1 (§7.1.1). RST_STREAM instead, or a stream left open, is NON-STRICT.",
		}, closeThenEndStream),
		scenario(Case{
			ID: "301.6", Title: "RST_STREAM CANCEL of one WebSocket", RFC: "RFC 8441 §5, RFC 9113 §5.4.2",
			Description: "Open streams A and B on one connection, exchange a message on each, reset A with RST_STREAM CANCEL, then exchange a message on B and open stream C.",
			Expectation: "A reset ends its stream only (RFC 9113 §5.4.2; RFC 8441 §5: the HTTP/2 form of a TCP reset): B and C are expected to work on (NON-STRICT when the connection goes with A).",
		}, func(ctx context.Context, k *casekit.H2Kit) (results.Verdict, string) {
			return resetOne(ctx, k, false)
		}),
		scenario(Case{
			ID: "301.7", Title: "a stream reset in the middle of a message", RFC: "RFC 8441 §5, RFC 9113 §5.4.2",
			Description: "Open streams A and B on one connection, send on A the first fragment of a text message and half of the next frame, reset A with RST_STREAM CANCEL, then exchange a message on B and open stream C.",
			Expectation: "The reset ends A's WebSocket as a TCP reset would; B and C are expected to work on (NON-STRICT when the connection goes with A).",
		}, func(ctx context.Context, k *casekit.H2Kit) (results.Verdict, string) {
			return resetOne(ctx, k, true)
		}),
		scenario(Case{
			ID: "301.8", Title: "GOAWAY from the client while a WebSocket is open", RFC: "RFC 9113 §6.8",
			Description: "Open a WebSocket stream, send GOAWAY (last stream 0, NO_ERROR): the harness will open no more streams and takes none from the server; then exchange a message and close.",
			Expectation: "GOAWAY stops new streams, not the ones open (§6.8): the WebSocket is expected to work and close normally (NON-STRICT otherwise).",
		}, goAwayWhileOpen),
		scenario(Case{
			ID: "301.9", Title: "PING while a WebSocket is open", RFC: "RFC 9113 §6.7",
			Description: "Open a WebSocket stream, send an HTTP/2 PING, then exchange a message.",
			Expectation: "The server MUST answer the PING with a PING ACK carrying the same data (§6.7) and echo the message.",
		}, pingWhileOpen),
		scenario(Case{
			ID: "301.10", Title: "a frame in one-octet DATA frames", RFC: "RFC 8441 §5, RFC 9113 §6.1",
			Description: "Send a text message of 130 octets (a 16-bit length) in DATA frames of one octet each.",
			Expectation: "DATA frames carry a byte stream, not WebSocket frames (RFC 8441 §5): the server MUST reassemble the frame and echo it.",
		}, func(ctx context.Context, k *casekit.H2Kit) (results.Verdict, string) {
			conn, why := openOne(ctx, k, h2.Options{})
			if conn == nil {
				return results.Failed, why
			}
			msg := []byte(strings.Repeat("*", 130))
			if why := k.Echo(ctx, conn, msg, false, wire.Split{Chop: 1}); why != "" {
				return results.Failed, why
			}
			return results.OK, "the message, sent one octet per DATA frame, was echoed"
		}),
	}
}

// h2Streams is a connection and the WebSocket streams a case opened on
// it, named A, B, C... in the order opened.
type h2Streams struct {
	hc      *h2.Conn
	conns   []*wire.Conn
	streams []*h2.Stream
}

// openStreams connects with o and opens n WebSocket streams on the one
// connection; why says what failed, "" when all opened.
func openStreams(ctx context.Context, k *casekit.H2Kit, o h2.Options, n int) (h2Streams, string) {
	var out h2Streams
	hc, err := k.Connect(ctx, o)
	if err != nil {
		return out, "no HTTP/2 connection: " + err.Error()
	}
	out.hc = hc
	for i := range n {
		conn, st, err := k.Open(ctx, hc)
		if err != nil {
			return out, fmt.Sprintf("WebSocket stream %c: %v", 'A'+i, err)
		}
		out.conns, out.streams = append(out.conns, conn), append(out.streams, st)
	}
	return out, ""
}

// openOne connects with o and opens one WebSocket stream; nil and why
// when it could not.
func openOne(ctx context.Context, k *casekit.H2Kit, o h2.Options) (*wire.Conn, string) {
	s, why := openStreams(ctx, k, o, 1)
	if why != "" {
		return nil, why
	}
	return s.conns[0], ""
}

func echoBig(ctx context.Context, k *casekit.H2Kit, o h2.Options) (results.Verdict, string) {
	conn, why := openOne(ctx, k, o)
	if conn == nil {
		return results.Failed, why
	}
	msg := make([]byte, h2BigMessage+1)
	for i := range msg {
		msg[i] = byte(i)
	}
	if err := conn.WriteFrames(ctx, []wire.Frame{{Fin: true, Opcode: wire.OpBinary, Payload: msg}}, wire.OneWrite); err != nil {
		return results.Failed, "the message could not be sent: " + err.Error()
	}
	if why := k.Await(conn, msg, k.Env.Scaled(h2BigWait)); why != "" {
		return results.Failed, why
	}
	_ = conn.ClosePolitely(ctx, k.Env.Scaled(casekit.CloseTimeout))
	return results.OK, fmt.Sprintf("the %d-octet message was echoed", len(msg))
}

func threeStreams(ctx context.Context, k *casekit.H2Kit) (results.Verdict, string) {
	s, why := openStreams(ctx, k, h2.Options{}, 3)
	if why != "" {
		return results.Failed, why
	}
	conns := s.conns
	for round := range 2 {
		for i, conn := range conns {
			msg := []byte(fmt.Sprintf("stream %d, message %d", i+1, round+1))
			if err := conn.WriteFrames(ctx, []wire.Frame{wire.Text(string(msg))}, wire.OneWrite); err != nil {
				return results.Failed, fmt.Sprintf("stream %d: %v", i+1, err)
			}
		}
		for i, conn := range conns {
			msg := []byte(fmt.Sprintf("stream %d, message %d", i+1, round+1))
			if why := k.Await(conn, msg, k.Env.Scaled(casekit.DefaultTimeout)); why != "" {
				return results.Failed, fmt.Sprintf("stream %d, message %d: %s", i+1, round+1, why)
			}
		}
	}
	for _, conn := range conns {
		_ = conn.ClosePolitely(ctx, k.Env.Scaled(casekit.CloseTimeout))
	}
	return results.OK, "each of three streams echoed its own two messages"
}

func stalledStream(ctx context.Context, k *casekit.H2Kit) (results.Verdict, string) {
	s, why := openStreams(ctx, k, h2.Options{StreamWindow: 65535}, 2)
	if why != "" {
		return results.Failed, why
	}
	a, b, streamA := s.conns[0], s.conns[1], s.streams[0]
	streamA.Hold(true)
	big := make([]byte, h2BigMessage+1)
	if err := a.WriteFrames(ctx, []wire.Frame{{Fin: true, Opcode: wire.OpBinary, Payload: big}}, wire.OneWrite); err != nil {
		return results.Failed, "stream A: " + err.Error()
	}
	k.Log.Note("stream A is not read: its echo, past its 65,535-octet window, is stuck")
	time.Sleep(k.Env.Scaled(200 * time.Millisecond))
	verdict, observed := results.OK, "stream B echoed while stream A's echo waited for credit"
	if why := k.Echo(ctx, b, []byte("stream B"), false, wire.OneWrite); why != "" {
		verdict, observed = results.NonStrict, "stream B stalled while stream A waited for credit: "+why
	}
	streamA.Hold(false)
	if why := k.Await(a, big, k.Env.Scaled(h2BigWait)); why != "" {
		return results.Failed, observed + "; stream A, read again: " + why
	}
	return verdict, observed + "; stream A's echo arrived once read"
}

func closeThenEndStream(ctx context.Context, k *casekit.H2Kit) (results.Verdict, string) {
	conn, why := openOne(ctx, k, h2.Options{})
	if conn == nil {
		return results.Failed, why
	}
	if why := k.Echo(ctx, conn, []byte(probeText), false, wire.OneWrite); why != "" {
		return results.Failed, why
	}
	if err := conn.WriteFrames(ctx, []wire.Frame{wire.Close(1000, "")}, wire.OneWrite); err != nil {
		return results.Failed, "the Close could not be sent: " + err.Error()
	}
	deadline := time.Now().Add(k.Env.Scaled(casekit.CloseTimeout))
	for {
		f, err := conn.ReadFrame(deadline)
		if err != nil {
			return results.Failed, "no Close in answer to the harness's (RFC 6455 §5.5.1): " + err.Error()
		}
		if f.Opcode == wire.OpClose {
			break
		}
	}
	_, err := conn.ReadFrame(time.Now().Add(k.Env.Scaled(casekit.CloseTimeout)))
	_ = conn.CloseWrite()
	var reset *h2.ResetError
	switch {
	case errors.Is(err, io.EOF):
		return results.OK, "Close answered; the server ended its side with END_STREAM, then the harness did"
	case errors.As(err, &reset):
		return results.NonStrict, fmt.Sprintf("Close answered, then the server reset the stream (RST_STREAM %v) instead of ending it with END_STREAM (RFC 8441 §5: RST_STREAM stands for a TCP reset)", reset.Code)
	case errors.Is(err, os.ErrDeadlineExceeded):
		return results.NonStrict, fmt.Sprintf("Close answered, but the server kept its side of the stream open for %v (RFC 6455 §7.1.1: the server SHOULD close first; RFC 8441 §5: with END_STREAM)", k.Env.Scaled(casekit.CloseTimeout))
	case err != nil:
		return results.NonStrict, "Close answered, then: " + err.Error()
	}
	return results.Failed, "a frame after the Close (RFC 6455 §5.5.1)"
}

// probeText is the message the stream cases exchange.
const probeText = "Hello, HTTP/2 stream!"

func resetOne(ctx context.Context, k *casekit.H2Kit, midMessage bool) (results.Verdict, string) {
	s, why := openStreams(ctx, k, h2.Options{}, 2)
	if why != "" {
		return results.Failed, why
	}
	hc, a, b, streamA := s.hc, s.conns[0], s.conns[1], s.streams[0]
	for name, conn := range map[string]*wire.Conn{"A": a, "B": b} {
		if why := k.Echo(ctx, conn, []byte(probeText), false, wire.OneWrite); why != "" {
			return results.Failed, "stream " + name + ": " + why
		}
	}
	if midMessage {
		first := wire.Frame{Opcode: wire.OpText, Payload: []byte("first fragment")}
		next := a.Encode([]wire.Frame{{Fin: true, Opcode: wire.OpContinuation, Payload: []byte("the rest of the message")}})
		if err := a.WriteFrames(ctx, []wire.Frame{first}, wire.OneWrite); err != nil {
			return results.Failed, "stream A: " + err.Error()
		}
		if err := a.WriteRaw(ctx, next[:len(next)/2], wire.OneWrite); err != nil {
			return results.Failed, "stream A: " + err.Error()
		}
	}
	_ = streamA.Reset(http2.ErrCodeCancel)
	time.Sleep(k.Env.Scaled(100 * time.Millisecond))
	if why := k.Echo(ctx, b, []byte(probeText), false, wire.OneWrite); why != "" {
		return results.NonStrict, "after stream A's reset, stream B: " + why
	}
	c, _, err := k.Open(ctx, hc)
	if err != nil {
		return results.NonStrict, "after stream A's reset, a new stream: " + err.Error()
	}
	if why := k.Echo(ctx, c, []byte(probeText), false, wire.OneWrite); why != "" {
		return results.NonStrict, "after stream A's reset, a new stream: " + why
	}
	_ = b.ClosePolitely(ctx, k.Env.Scaled(casekit.CloseTimeout))
	_ = c.ClosePolitely(ctx, k.Env.Scaled(casekit.CloseTimeout))
	return results.OK, "stream A reset; stream B and a new stream C worked on"
}

func goAwayWhileOpen(ctx context.Context, k *casekit.H2Kit) (results.Verdict, string) {
	s, why := openStreams(ctx, k, h2.Options{}, 1)
	if why != "" {
		return results.Failed, why
	}
	hc, conn := s.hc, s.conns[0]
	if err := hc.SendGoAway(0, http2.ErrCodeNo); err != nil {
		return results.Failed, "GOAWAY could not be sent: " + err.Error()
	}
	time.Sleep(k.Env.Scaled(100 * time.Millisecond))
	if why := k.Echo(ctx, conn, []byte(probeText), false, wire.OneWrite); why != "" {
		return results.NonStrict, "after the harness's GOAWAY: " + why
	}
	if err := conn.ClosePolitely(ctx, k.Env.Scaled(casekit.CloseTimeout)); err != nil {
		return results.NonStrict, "after the harness's GOAWAY, the close: " + err.Error()
	}
	return results.OK, "the WebSocket worked on after the harness's GOAWAY"
}

func pingWhileOpen(ctx context.Context, k *casekit.H2Kit) (results.Verdict, string) {
	s, why := openStreams(ctx, k, h2.Options{}, 1)
	if why != "" {
		return results.Failed, why
	}
	hc, conn := s.hc, s.conns[0]
	pctx, cancel := context.WithTimeout(ctx, k.Env.Scaled(casekit.DefaultTimeout))
	defer cancel()
	if err := hc.Ping(pctx); err != nil {
		return results.Failed, "no PING ACK (RFC 9113 §6.7: MUST): " + err.Error()
	}
	if why := k.Echo(ctx, conn, []byte(probeText), false, wire.OneWrite); why != "" {
		return results.Failed, why
	}
	_ = conn.ClosePolitely(ctx, k.Env.Scaled(casekit.CloseTimeout))
	return results.OK, "PING ACK received; the message was echoed"
}
