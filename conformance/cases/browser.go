package cases

import (
	"cmp"
	"context"
	"encoding/hex"
	"fmt"
	"net/url"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/wsharness/wsharness/conformance/browser"
	"github.com/wsharness/wsharness/conformance/casekit"
	"github.com/wsharness/wsharness/results"
	"github.com/wsharness/wsharness/wire"
)

// FamilyBrowser is the real-browser interop family: the client is headless
// Chromium's own WebSocket, not the harness's wire client.
const FamilyBrowser Family = "browser"

// browserSizes are the message sizes in bytes: around the 7-bit/16-bit
// and 16-bit/64-bit length encodings a server must switch between.
var browserSizes = []int{0, 125, 126, 65535, 65536}

// browserTimeout bounds each wait of a browser scenario (open, echo,
// close); large echoes from slow servers fit well inside it.
const browserTimeout = 5 * time.Second

// browserTimer is a browser case's own timer for Case.Bound: at most five
// waits (over HTTP/2 the fetch that makes the session, two opens, the
// message, the close).
const browserTimer = 5 * browserTimeout

// browserFixed is what a browser case may add to its scaled timers:
// launching Chromium (the first case of each process, bounded by
// chromium.Launch) and the page's 3 s of grace for each of its two
// connections' close.
const browserFixed = 30*time.Second + 2*3*time.Second

// Browser returns the browser interop family (200.x).
func Browser() []Case {
	var out []Case
	for i, size := range browserSizes {
		out = append(out, browserEcho(Case{ID: fmt.Sprintf("200.1.%d", i+1), Title: fmt.Sprintf("Browser text, %d bytes ASCII", size)},
			browser.Scenario{Kind: browser.KindEcho, Text: asciiText(size)}))
	}
	for i, size := range browserSizes[1:] {
		out = append(out, browserEcho(Case{ID: fmt.Sprintf("200.2.%d", i+1), Title: fmt.Sprintf("Browser text, %d bytes multi-byte UTF-8", size)},
			browser.Scenario{Kind: browser.KindEcho, Text: multibyteText(size)}))
	}
	for i, size := range browserSizes {
		out = append(out, browserEcho(Case{ID: fmt.Sprintf("200.3.%d", i+1), Title: fmt.Sprintf("Browser binary, %d bytes", size)},
			browser.Scenario{Kind: browser.KindEcho, Binary: true, Size: size}))
	}
	out = append(out,
		Case{ID: "200.4.1", Family: FamilyBrowser, Title: "Browser receives a broadcast from a second browser connection",
			RFC: "RFC 6455 §6.2",
			Description: "Chromium opens two WebSockets to the broadcast endpoint; the second sends a text message, " +
				"which the first must receive; both close with 1000.",
			Expectation: "The first connection receives the message intact. A message that never arrives is NON-STRICT " +
				"(the /broadcast contract is wsharness's, not the RFC's); one that arrives corrupted, or a connection " +
				"Chromium has to fail, is FAILED.",
			run: runBrowserBroadcast, timeout: browserTimer, fixed: browserFixed},
		Case{ID: "200.5.1", Family: FamilyBrowser, Title: "Browser closes with 1000",
			RFC:         "RFC 6455 §5.5.1, §7.1.2",
			Description: `Chromium opens the echo endpoint and calls close(1000, "bye") without sending anything.`,
			Expectation: "The server MUST answer the Close with a Close (§5.5.1): onclose reports wasClean true. " +
				"Code 1000 is expected; another code with a clean close is NON-STRICT (echoing the code is typical, not required).",
			run: runBrowserClose, timeout: browserTimer, fixed: browserFixed},
	)
	for i := range out {
		out[i] = regraded(out[i], addTLSNote)
	}
	return out
}

// tlsNotePrefix starts the wire log note of a wss:// browser scenario
// whose certificate Chromium did not verify.
const tlsNotePrefix = "TLS: "

// browserTLSNote says, for a wss:// scenario Chromium played without
// verifying the certificate, that it did not and whether the harness's own
// client does; "" otherwise.
func browserTLSNote(tr browser.Trace, env casekit.Env) string {
	if tr.TLSNote == "" {
		return ""
	}
	client := "the harness's own client verifies it against the system roots"
	switch {
	case env.TLS != nil && env.TLS.InsecureSkipVerify:
		client = "the harness's own client does not verify it either (insecure run)"
	case env.TLS != nil && env.TLS.RootCAs != nil:
		client = "the harness's own client verifies it against the given CA file"
	}
	return tlsNotePrefix + tr.TLSNote + "; " + client
}

// addTLSNote adds a browser case's TLS note from its wire log to what it
// observed, whatever the verdict.
func addTLSNote(_ casekit.Env, out *results.Case) {
	for _, e := range out.Wirelog {
		if e.Dir == wire.HarnessEvent && strings.HasPrefix(e.Note, tlsNotePrefix) {
			if out.Observed != "" {
				out.Observed += "\n"
			}
			out.Observed += e.Note
			return
		}
	}
}

// browserEcho is the case c (its ID and title) played by the echo
// scenario sc.
func browserEcho(c Case, sc browser.Scenario) Case {
	kind, size := "text", len(sc.Text)
	if sc.Binary {
		kind, size = "binary", sc.Size
	}
	c.Family, c.RFC, c.timeout, c.fixed = FamilyBrowser, "RFC 6455 §5.2, §5.6", browserTimer, browserFixed
	c.Description = fmt.Sprintf("Chromium opens the echo endpoint with new WebSocket(url), sends a %d-byte %s message, "+
		"waits for the echo and closes with 1000.", size, kind)
	c.Expectation = "The echo arrives with the same type and content and Chromium never has to fail the connection " +
		"(§5.2 framing, §5.6 data); the close is clean. A server that refuses the browser's handshake " +
		"(for example by Origin, §10.2) is INFORMATIONAL."
	c.run = func(ctx context.Context, env casekit.Env) results.Case {
		sc := sc
		sc.URL = env.URL
		tr, out, ok := playInBrowser(ctx, env, sc)
		if !ok {
			return out
		}
		gradeEcho(&out, tr, sc)
		gradeBrowserClose(&out, tr, false)
		gradeTransport(&out, tr, env.URL)
		return out
	}
	return c
}

func runBrowserBroadcast(ctx context.Context, env casekit.Env) results.Case {
	if env.BroadcastURL == "" {
		// Over h2c the reason is the transport's, as for every other
		// browser case of the target.
		return results.Case{Verdict: results.Unimplemented, CloseVerdict: results.CloseOK,
			Observed: cmp.Or(BrowserUnreachable(env.URL), "the target declares no broadcast endpoint")}
	}
	sc := browser.Scenario{Kind: browser.KindBroadcast, URL: env.BroadcastURL,
		Text: fmt.Sprintf("wsharness broadcast %d ✓", time.Now().UnixNano())}
	tr, out, ok := playInBrowser(ctx, env, sc)
	if !ok {
		return out
	}
	var got *browser.Message
	for i := range tr.Received {
		if tr.Received[i].Equal {
			got = &tr.Received[i]
		}
	}
	switch {
	case browserFailure(tr) != "":
		out.Verdict = results.Failed
		out.Observed = "Chromium failed the connection: " + browserFailure(tr)
	case got != nil:
		out.Verdict = results.OK
		out.Observed = fmt.Sprintf("the first connection received the second's %d-byte message intact", got.Length)
	case tr.Error != "":
		out.Verdict = results.NonStrict
		out.Observed = "NON-STRICT: " + tr.Error + " (the /broadcast contract is wsharness's, not an RFC MUST)"
	default:
		out.Verdict = results.NonStrict
		out.Observed = "NON-STRICT: the broadcast message did not arrive"
	}
	gradeBrowserClose(&out, tr, false)
	gradeTransport(&out, tr, env.BroadcastURL)
	return out
}

func runBrowserClose(ctx context.Context, env casekit.Env) results.Case {
	sc := browser.Scenario{Kind: browser.KindClose, URL: env.URL, CloseCode: 1000, CloseReason: "bye"}
	tr, out, ok := playInBrowser(ctx, env, sc)
	if !ok {
		return out
	}
	out.Verdict = results.OK
	if f := browserFailure(tr); f != "" {
		out.Verdict = results.Failed
		out.Observed = "Chromium failed the connection: " + f
	}
	gradeBrowserClose(&out, tr, true)
	gradeTransport(&out, tr, env.URL)
	return out
}

// BrowserUnreachable says why no browser can open a WebSocket to the
// target URL rawURL (an h2c one), or "" when a browser case can run
// against it: the engine starts no browser for such a target.
func BrowserUnreachable(rawURL string) string {
	_, _, why := browserURLs(rawURL)
	return why
}

// h2cUnspoken is why the browser family does not run over ws+h2://.
const h2cUnspoken = "no browser speaks WebSocket over cleartext HTTP/2 (h2c, ws+h2://): Chromium opens a WebSocket " +
	"over HTTP/2 (RFC 8441) only on a TLS session that negotiated h2 by ALPN; serve the target over TLS " +
	"(wss+h2://) to run the browser family over HTTP/2"

// browserURLs returns the URL the page opens for a target URL and the
// Session it fetches first: a wss+h2:// target is opened at its wss://
// form (same host, port and path; WebSocket URLs name no HTTP version)
// after a fetch of its https:// origin, so that Chromium holds an HTTP/2
// session to put the WebSocket on (browser.Scenario.Session). unreachable
// says why no browser can open the URL (ws+h2://).
func browserURLs(rawURL string) (wsURL, session, unreachable string) {
	u, err := url.Parse(rawURL)
	if err != nil {
		return rawURL, "", ""
	}
	switch u.Scheme {
	case wire.SchemeWSH2:
		return "", "", h2cUnspoken
	case wire.SchemeWSSH2:
		u.Scheme = wire.SchemeWSS
		return u.String(), "https://" + u.Host + "/", ""
	}
	return rawURL, "", ""
}

// playInBrowser runs the scenario and grades what every browser case
// shares: no browser (a harness error), and a handshake that did not
// open. ok is false when the outcome is already final. Over HTTP/2 the
// caller passes the case's result through gradeTransport.
func playInBrowser(ctx context.Context, env casekit.Env, sc browser.Scenario) (browser.Trace, results.Case, bool) {
	started := time.Now()
	out := results.Case{CloseVerdict: results.CloseOK}
	target := sc.URL
	var unreachable string
	sc.URL, sc.Session, unreachable = browserURLs(target)
	if unreachable != "" {
		// Not a harness error: the target is fine, no browser can be
		// its client over this transport. Said per target and case.
		out.Verdict, out.Observed = results.Unimplemented, unreachable
		return browser.Trace{}, out, false
	}
	if env.Browser == nil {
		out.Verdict, out.HarnessError = results.Unimplemented, "no browser to run the browser family"
		out.Observed = out.HarnessError
		return browser.Trace{}, out, false
	}
	sc.CloseCode = max(sc.CloseCode, 1000)
	sc.TimeoutMS = int(env.Scaled(browserTimeout).Milliseconds())
	// The page's own timers end a scenario; this deadline ends it when
	// Chromium does not (Case.Bound counts on it).
	ctx, cancel := context.WithTimeout(ctx, env.Scaled(browserTimer)+browserFixed)
	defer cancel()
	tr, err := env.Browser.Run(ctx, sc)
	out.DurationMS = float64(time.Since(started).Microseconds()) / 1000
	out.Handshake = results.Handshake{Request: tr.Handshake.Request, Response: tr.Handshake.Response}
	out.Wirelog = browserWirelog(tr)
	if note := browserTLSNote(tr, env); note != "" {
		out.Wirelog = append([]wire.Entry{{Dir: wire.HarnessEvent, Note: note}}, out.Wirelog...)
	}
	out.Events = browserEvents(tr)
	if err != nil {
		out.Verdict, out.HarnessError = results.Unimplemented, err.Error()
		out.Observed = "the browser could not play the scenario: " + err.Error()
		return tr, out, false
	}
	if tr.Opened {
		return tr, out, true
	}
	console := strings.Join(tr.Console, "; ")
	switch st := tr.Handshake.Status; {
	case strings.Contains(console, "ERR_UNSAFE_PORT"):
		out.Verdict, out.HarnessError = results.Unimplemented, "Chromium refuses to connect to this port: "+console
		out.Observed = out.HarnessError
	case st == 101:
		out.Verdict, out.CloseVerdict = results.Failed, results.CloseFailed
		out.Observed = fmt.Sprintf("RFC 6455 §4.2.2: the server answered 101 but Chromium rejected the handshake response (a client MUST fail the connection on an invalid one, §4.1): %s", orNone(console, tr.Error))
	case st == 200 && tr.Handshake.RFC8441:
		out.Verdict, out.CloseVerdict = results.Failed, results.CloseFailed
		out.Observed = fmt.Sprintf("RFC 8441 §5: the server answered the extended CONNECT with 200 but Chromium rejected the response: %s", orNone(console, tr.Error))
	case st != 0:
		out.Verdict = results.Informational
		out.Observed = fmt.Sprintf("the server refused the browser's opening handshake with HTTP %d (a server may refuse, e.g. by Origin, §10.2); the response:\n%s", st, tr.Handshake.Response)
	default:
		out.Verdict, out.CloseVerdict = results.Failed, results.CloseFailed
		out.Observed = fmt.Sprintf("RFC 6455 §4.2.2: no handshake response reached Chromium: %s", orNone(console, tr.Error))
	}
	gradeTransport(&out, tr, target)
	return tr, out, false
}

// gradeTransport says, for a case on a wss+h2:// target (rawURL), whether
// Chromium used RFC 8441 as DevTools showed it. A case Chromium played
// with an HTTP/1.1 upgrade instead tested the target's HTTP/1.1 side on
// the same port, not the HTTP/2 one the case is marked for: it is
// INFORMATIONAL with why, whatever that upgrade did, and never FAILED.
// A case the browser could not play (UNIMPLEMENTED) stays so.
func gradeTransport(out *results.Case, tr browser.Trace, rawURL string) {
	_, session, _ := browserURLs(rawURL)
	if session == "" || out.Verdict == results.Unimplemented {
		return
	}
	note := func(s string) {
		if out.Observed != "" {
			out.Observed += "\n"
		}
		out.Observed += s
	}
	switch {
	case tr.Handshake.Request == "":
		note("DevTools showed no handshake request, so whether Chromium would have used RFC 8441 is unknown")
	case tr.Handshake.RFC8441:
		note(fmt.Sprintf("RFC 8441: Chromium opened the WebSocket as an extended CONNECT on its HTTP/2 session to %s (DevTools: no Sec-WebSocket-Key sent, HTTP %d back)", session, tr.Handshake.Status))
		out.Wirelog = append([]wire.Entry{{Dir: wire.HarnessEvent, Note: "HTTP/2: " + rfc8441Shown}}, out.Wirelog...)
	default:
		was := fmt.Sprintf("%s, close %s", out.Verdict, out.CloseVerdict)
		why := noRFC8441Why(tr, session)
		out.Wirelog = append([]wire.Entry{{Dir: wire.HarnessEvent, Note: "HTTP/2: the browser did not use RFC 8441: " + why}}, out.Wirelog...)
		out.Observed = fmt.Sprintf("the browser did not use RFC 8441: %s. The case therefore tested the target's HTTP/1.1 upgrade on the same port, not HTTP/2; over HTTP/1.1 it was %s:\n%s", why, was, out.Observed)
		out.Verdict, out.CloseVerdict = results.Informational, results.CloseOK
	}
}

// rfc8441Shown says how DevTools shows an RFC 8441 handshake, for the
// wire log of a case played over one.
const rfc8441Shown = "Chromium sent an extended CONNECT (:method CONNECT, :protocol websocket) on its HTTP/2 session; " +
	"DevTools shows it, and the 200 answer, in HTTP/1.1 form (\"GET wss://... HTTP/1.1\", Connection: Upgrade, " +
	"\"HTTP/1.1 200\"), without a Sec-WebSocket-Key, which Chromium sends on an HTTP/1.1 upgrade only"

// noRFC8441Why is why Chromium used an HTTP/1.1 upgrade, from what
// DevTools said of the page's fetch of the origin (session).
func noRFC8441Why(tr browser.Trace, session string) string {
	upgrade := fmt.Sprintf("DevTools shows an HTTP/1.1 upgrade (Sec-WebSocket-Key sent, HTTP %d back)", tr.Handshake.Status)
	// The fetch's response is often blocked from the page (an error
	// status, no CORS): it failed for the page, yet the protocol it came
	// over is known, and that is what counts.
	switch p := tr.SessionProtocol; {
	case p == "" && tr.SessionError != "":
		return fmt.Sprintf("%s; the page's fetch of %s failed (%s), so Chromium held no HTTP/2 session to the origin", upgrade, session, tr.SessionError)
	case p == "":
		return fmt.Sprintf("%s; DevTools reported no response to the page's fetch of %s", upgrade, session)
	case p != "h2":
		return fmt.Sprintf("%s; the page's fetch of %s went over %s: the server did not choose h2 by ALPN, and Chromium puts a WebSocket on HTTP/2 only on a session it already holds", upgrade, session, p)
	}
	return fmt.Sprintf("%s although the page's fetch of %s went over h2: Chromium does so when the server's SETTINGS do not carry SETTINGS_ENABLE_CONNECT_PROTOCOL = 1 (RFC 8441 §3; the h2:300.x cases check the setting)", upgrade, session)
}

// gradeEcho sets the verdict of an echo scenario.
func gradeEcho(out *results.Case, tr browser.Trace, sc browser.Scenario) {
	want := fmt.Sprintf("a %d-byte text message", len(sc.Text))
	if sc.Binary {
		want = fmt.Sprintf("a %d-byte binary message", sc.Size)
	}
	if f := browserFailure(tr); f != "" {
		out.Verdict = results.Failed
		out.Observed = fmt.Sprintf("Chromium failed the connection: %s (sent %s)", f, want)
		return
	}
	if len(tr.Received) == 0 {
		out.Verdict = results.Failed
		out.Observed = fmt.Sprintf("sent %s; %s", want, orNone(tr.Error, "no echo"))
		return
	}
	m := tr.Received[0]
	switch {
	case m.Equal && len(tr.Received) == 1:
		out.Verdict = results.OK
		out.Observed = fmt.Sprintf("sent %s; the identical message came back", want)
		return
	case m.Equal:
		out.Verdict = results.Failed
		out.Observed = fmt.Sprintf("sent %s; it came back, followed by %d unexpected message(s)", want, len(tr.Received)-1)
		return
	case m.Binary != sc.Binary:
		out.Observed = fmt.Sprintf("sent %s; the echo came back as a %d-byte %s message", want, m.Length, kindName(m.Binary))
	case m.MismatchAt >= 0:
		out.Observed = fmt.Sprintf("sent %s; the %d-byte echo differs from index %d on (echo starts %q)", want, m.Length, m.MismatchAt, m.Prefix)
	default:
		out.Observed = fmt.Sprintf("sent %s; the echo is %d bytes long", want, m.Length)
	}
	out.Verdict = results.Failed
}

// gradeBrowserClose sets the close verdict from the page's close event;
// closeCase makes a non-1000 code the case's behaviour verdict too.
func gradeBrowserClose(out *results.Case, tr browser.Trace, closeCase bool) {
	c := tr.Close
	note := func(s string) {
		if out.Observed != "" {
			out.Observed += "\n"
		}
		out.Observed += s
	}
	switch {
	case c == nil:
		out.CloseVerdict = results.CloseUnclean
		note("RFC 6455 §5.5.1: no close event within the timeout after close(1000): the server never completed the closing handshake")
		if closeCase {
			out.Verdict = results.Failed
		}
	case !c.WasClean:
		out.CloseVerdict = results.CloseUnclean
		note(fmt.Sprintf("RFC 6455 §5.5.1, §7.1.5: onclose reported code %d, wasClean false: the server did not answer the Close with a Close (or dropped TCP first)", c.Code))
		if closeCase {
			out.Verdict = results.Failed
		}
	case c.Code != 1000:
		out.CloseVerdict = results.CloseWrongCode
		note(fmt.Sprintf("onclose: code %d (reason %q), wasClean true; 1000 was expected after close(1000)", c.Code, c.Reason))
		if closeCase && out.Verdict == results.OK {
			out.Verdict = results.NonStrict
		}
	default:
		note(fmt.Sprintf("onclose: code 1000, wasClean true (reason %q)", c.Reason))
		out.RemoteCloseCode = &c.Code
		out.RemoteCloseReason = c.Reason
	}
}

// browserFailure is why Chromium failed the connection, if it did: the
// frame error or console message it reports for a protocol violation.
func browserFailure(tr browser.Trace) string {
	for _, f := range tr.Frames {
		if f.Dir == wire.HarnessEvent && f.Error != "" && !strings.HasPrefix(f.Error, "connection closed") {
			return f.Error
		}
	}
	for _, c := range tr.Console {
		if strings.Contains(c, "WebSocket") && strings.Contains(c, "failed") {
			return c
		}
	}
	return ""
}

// browserWirelog renders the messages DevTools reported as a wire log.
func browserWirelog(tr browser.Trace) []wire.Entry {
	out := []wire.Entry{}
	if tr.Handshake.Status != 0 {
		out = append(out, wire.Entry{Dir: wire.HarnessEvent, Note: fmt.Sprintf("handshake response HTTP %d (messages below are whole messages as Chromium's DevTools reports them, not frames)", tr.Handshake.Status)})
	}
	for _, f := range tr.Frames {
		e := wire.Entry{AtMS: f.AtMS, Dir: f.Dir, Note: f.Error}
		if f.Dir != wire.HarnessEvent {
			e.Frame = &wire.FrameInfo{Fin: true, Opcode: f.Opcode, OpName: opName(f.Opcode), Masked: f.Masked,
				Length: uint64(f.Length), PayloadHex: hex.EncodeToString(f.Payload), Truncated: f.Length > len(f.Payload)}
			if f.Opcode == 1 && utf8.Valid(f.Payload) {
				e.Frame.PayloadText = string(f.Payload)
			}
		}
		out = append(out, e)
	}
	for _, c := range tr.Console {
		out = append(out, wire.Entry{Dir: wire.HarnessEvent, Note: "Chromium: " + c})
	}
	return out
}

// browserEvents summarises the page's view as case events.
func browserEvents(tr browser.Trace) []string {
	out := []string{}
	if tr.Opened {
		out = append(out, "open")
	}
	for _, m := range tr.Received {
		e := fmt.Sprintf("%s(%d)", kindName(m.Binary), m.Length)
		if m.Equal {
			e += " intact"
		}
		out = append(out, e)
	}
	if tr.Error != "" {
		out = append(out, tr.Error)
	}
	if c := tr.Close; c != nil {
		out = append(out, fmt.Sprintf("close code %d wasClean %v", c.Code, c.WasClean))
	}
	return out
}

func opName(op int) string {
	switch op {
	case 1:
		return "text"
	case 2:
		return "binary"
	case 8:
		return "close"
	case 9:
		return "ping"
	case 10:
		return "pong"
	}
	return fmt.Sprintf("op%d", op)
}

func kindName(binary bool) string {
	if binary {
		return "binary"
	}
	return "text"
}

func orNone(s, alt string) string {
	if s == "" {
		return alt
	}
	return s
}

// asciiText is n bytes of printable ASCII.
func asciiText(n int) string {
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(' ' + i%95)
	}
	return string(b)
}

// multibyteText is exactly n bytes of UTF-8 mixing 2-, 3- and 4-byte
// sequences (so a 16-bit-only length or a per-character count shows),
// padded with ASCII to the exact size.
func multibyteText(n int) string {
	const unit = "é€😀ü" // 2+3+4+2 bytes
	var b strings.Builder
	for b.Len()+len(unit) <= n {
		b.WriteString(unit)
	}
	for b.Len() < n {
		b.WriteByte('.')
	}
	return b.String()
}
