// Package browser is the seam between the browser interop cases and a
// real browser: the scenarios a case asks a browser to play, the trace the
// browser gives back, and the page that plays them with the browser's own
// WebSocket API. It has no verdicts (package cases grades traces) and no
// browser driver (package chromium is one).
package browser

import (
	"context"
	_ "embed"
	"fmt"
	"net/http"
	"strings"

	"github.com/wsharness/wsharness/wire"
)

// Scenario kinds.
const (
	// KindEcho opens URL, sends one message, waits for its echo and closes
	// with CloseCode.
	KindEcho = "echo"
	// KindBroadcast opens two connections to URL; the second sends one
	// text message, which the first must receive; both then close.
	KindBroadcast = "broadcast"
	// KindClose opens URL and closes with CloseCode and CloseReason
	// without sending anything.
	KindClose = "close"
)

// Scenario is what one case asks the browser to do.
type Scenario struct {
	Kind string `json:"kind"`
	URL  string `json:"url"`
	// Binary sends a binary message of Size bytes (byte i is i*31+7 mod
	// 256) instead of the text Text.
	Binary bool   `json:"binary"`
	Size   int    `json:"size"`
	Text   string `json:"text"`
	// CloseCode and CloseReason are passed to WebSocket.close.
	CloseCode   int    `json:"closeCode"`
	CloseReason string `json:"closeReason"`
	// TimeoutMS bounds each wait (open, message, close) in the page.
	TimeoutMS int `json:"timeoutMs"`
	// Session, when set, is an https:// URL the page fetches (no-cors,
	// with credentials) before it opens any WebSocket. Chromium opens a
	// WebSocket over HTTP/2 (RFC 8441) only on an HTTP/2 session it
	// already holds to the origin, and only on one of the same privacy
	// mode: a WebSocket always goes with credentials, so the fetch does
	// too, or its session would not be shared.
	Session string `json:"session,omitempty"`
}

// Trace is what the browser observed: the page's own view through the
// WebSocket API, plus what the driver saw underneath (handshake, frames,
// the browser's console errors).
type Trace struct {
	// Opened: onopen fired (on every connection of the scenario).
	Opened bool `json:"opened"`
	// Error is the first failure the page saw ("error event before open",
	// "no echo within 5000 ms", ...), empty if none.
	Error string `json:"error"`
	// Received lists the messages the (first) connection received.
	Received []Message `json:"received"`
	// Close is the close event of the (first) connection; nil if none
	// fired within the timeout.
	Close *CloseEvent `json:"close"`
	// ElapsedMS is the page's time from the first new WebSocket (or the
	// Session fetch) to the end.
	ElapsedMS float64 `json:"elapsedMs"`
	// SessionError is why the page's fetch of Scenario.Session failed,
	// empty if it did not (an HTTP error status is no failure: the
	// session is what counts).
	SessionError string `json:"sessionError"`

	// Filled in by the driver:
	Handshake HandshakeInfo `json:"-"`
	Frames    []Frame       `json:"-"`
	// Console holds the browser's error messages, such as "WebSocket
	// connection to '...' failed: A server must not mask any frames".
	Console []string `json:"-"`
	// TLSNote says how the browser treated the server's certificate on a
	// wss:// URL when it did not verify it; empty otherwise.
	TLSNote string `json:"-"`
	// SessionProtocol is the protocol DevTools reported for the response
	// to the Session fetch ("h2", "http/1.1"); empty when there was none.
	SessionProtocol string `json:"-"`
}

// Message is one received message as the page checked it.
type Message struct {
	Binary bool `json:"binary"`
	Length int  `json:"length"`
	// Equal: identical to the message the scenario sent. MismatchAt is
	// the first differing index (UTF-16 units for text, bytes for
	// binary), -1 when equal or when only the lengths differ.
	Equal      bool   `json:"equal"`
	MismatchAt int    `json:"mismatchAt"`
	Prefix     string `json:"prefix"`
}

// CloseEvent is a WebSocket close event.
type CloseEvent struct {
	Code     int    `json:"code"`
	Reason   string `json:"reason"`
	WasClean bool   `json:"wasClean"`
}

// HandshakeInfo is the opening handshake as the browser sent and got it.
type HandshakeInfo struct {
	Request  string
	Response string
	// Status is the response's status code, 0 when none arrived.
	Status int
	// RFC8441: the browser opened the WebSocket as an extended CONNECT on
	// an HTTP/2 stream. DevTools names no protocol for a WebSocket and
	// shows either kind of request in HTTP/1.1 form; what tells them
	// apart is that Chromium sends a Sec-WebSocket-Key on an HTTP/1.1
	// upgrade only (RFC 8441 §5 has none), and a 200, not a 101, comes
	// back.
	RFC8441 bool
}

// Frame is a WebSocket frame the browser sent or received.
type Frame struct {
	AtMS   float64
	Dir    wire.Dir // Outbound: browser to server
	Opcode int
	Masked bool
	// Length is the payload length; Payload at most its first 64 bytes
	// (text as is, binary decoded).
	Length  int
	Payload []byte
	// Error is set instead for a frame error the browser reported.
	Error string
}

// Runner plays scenarios in a browser.
type Runner interface {
	Run(ctx context.Context, s Scenario) (Trace, error)
}

// Page is the HTML page that plays scenarios: window.wshRun(scenario)
// returns a promise of the page's part of a Trace.
//
//go:embed page.html
var Page []byte

// PageHandler serves Page at every path.
func PageHandler() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		w.Header().Set("Cache-Control", "no-store")
		_, _ = w.Write(Page)
	})
}

// BinaryPayload is the binary message of a scenario: byte i is i*31+7.
func BinaryPayload(size int) []byte {
	b := make([]byte, size)
	for i := range b {
		b[i] = byte(i*31 + 7)
	}
	return b
}

// ClientEnd is what the page saw as a client under test (see Client): a
// case's server judges what the browser did on the wire; this says how
// the browser's WebSocket API reported it.
type ClientEnd struct {
	Opened bool `json:"opened"`
	// Messages counts the messages received, each echoed.
	Messages int `json:"messages"`
	// Error is the first failure the page saw ("error event before
	// open"), empty if none.
	Error string `json:"error"`
	// Close is the socket's close event.
	Close     *CloseEvent `json:"close"`
	ElapsedMS float64     `json:"elapsedMs"`
	// Console holds the browser's error messages about this connection,
	// such as "... failed: Error during WebSocket handshake: Incorrect
	// 'Sec-WebSocket-Accept' header value". Filled in by the driver.
	Console []string `json:"-"`
}

// String is the end on one line, for a case's log.
func (e ClientEnd) String() string {
	var b strings.Builder
	if e.Opened {
		fmt.Fprintf(&b, "opened, echoed %d messages", e.Messages)
	} else {
		b.WriteString("never opened")
	}
	if e.Error != "" {
		b.WriteString(", " + e.Error)
	}
	if c := e.Close; c != nil {
		fmt.Fprintf(&b, ", close event code %d reason %q wasClean %v", c.Code, c.Reason, c.WasClean)
	}
	for _, line := range e.Console {
		b.WriteString("; console: " + line)
	}
	return b.String()
}

// Client is a browser whose own WebSocket can be the client under test.
type Client interface {
	// Prepare loads the page Echo plays in, so that a case's timers do
	// not count the load.
	Prepare(ctx context.Context) error
	// Echo opens a WebSocket to url in a page and echoes every message
	// with its type until the socket closes (ctx ending closes it). An
	// error means the browser or the page failed, not the WebSocket.
	Echo(ctx context.Context, url string) (ClientEnd, error)
}
