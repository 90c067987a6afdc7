package wire

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"net/url"
	"time"

	"golang.org/x/net/http2"
	"golang.org/x/net/http2/hpack"

	"github.com/wsharness/wsharness/wire/h2"
	"github.com/wsharness/wsharness/wire/handshake"
)

// Transport is what carries a connection's WebSocket frames: the TCP (or
// TLS) connection an HTTP/1.1 upgrade took over, or one HTTP/2 stream
// opened by an extended CONNECT (RFC 8441).
type Transport int

const (
	HTTP1 Transport = iota
	HTTP2
)

// URL schemes. WebSocket URLs name no HTTP version; the harness's own
// schemes for HTTP/2 say which to use: ws+h2 is cleartext with prior
// knowledge (RFC 9113 §3.3), wss+h2 is TLS with ALPN "h2".
const (
	SchemeWS    = "ws"
	SchemeWSS   = "wss"
	SchemeWSH2  = "ws+h2"
	SchemeWSSH2 = "wss+h2"
)

// KnownScheme reports whether scheme is one of the four a WebSocket URL
// may have here.
func KnownScheme(scheme string) bool {
	switch scheme {
	case SchemeWS, SchemeWSS, SchemeWSH2, SchemeWSSH2:
		return true
	}
	return false
}

// SchemesText lists the schemes for error messages.
const SchemesText = "ws:// or wss://, or ws+h2:// or wss+h2:// for HTTP/2"

// TransportOf returns the transport a URL scheme names.
func TransportOf(scheme string) Transport {
	if scheme == SchemeWSH2 || scheme == SchemeWSSH2 {
		return HTTP2
	}
	return HTTP1
}

// TransportOfURL returns the transport rawURL names (HTTP1 for a URL that
// does not parse).
func TransportOfURL(rawURL string) Transport {
	u, err := url.Parse(rawURL)
	if err != nil {
		return HTTP1
	}
	return TransportOf(u.Scheme)
}

func (t Transport) String() string {
	if t == HTTP2 {
		return "HTTP/2"
	}
	return "HTTP/1.1"
}

// CaseMarker prefixes the ID of a case run over the transport in results
// and reports ("h2:1.1.1"); "" for HTTP/1.1, whose IDs are Autobahn's.
func (t Transport) CaseMarker() string {
	if t == HTTP2 {
		return "h2:"
	}
	return ""
}

// Carrier names what carries the frames, for the close story a case
// tells: "TCP", or "the HTTP/2 stream".
func (t Transport) Carrier() string {
	if t == HTTP2 {
		return "the HTTP/2 stream"
	}
	return "TCP"
}

// Transport returns the connection's transport.
func (c *Conn) Transport() Transport {
	if _, ok := c.nc.(*streamConn); ok {
		return HTTP2
	}
	return HTTP1
}

// secure reports whether a scheme runs over TLS.
func secure(scheme string) bool { return scheme == SchemeWSS || scheme == SchemeWSSH2 }

// H2Options tune a connection over HTTP/2.
type H2Options struct {
	// Conn, when set, is the HTTP/2 connection the stream is opened on;
	// nil opens a connection for the stream alone, closed with it.
	Conn *h2.Conn
	// Connection configures the connection Open makes.
	Connection h2.Options
	// WithoutSetting sends the extended CONNECT although the server did
	// not advertise SETTINGS_ENABLE_CONNECT_PROTOCOL, which no client may
	// (RFC 8441 §3).
	WithoutSetting bool
	// Edit changes the HEADERS fields after the translation of the
	// (edited) upgrade request.
	Edit func([]hpack.HeaderField) []hpack.HeaderField
}

// DialH2 opens an HTTP/2 connection to a ws+h2:// or wss+h2:// URL's
// server, for streams opened with H2Options.Conn.
func DialH2(ctx context.Context, rawURL string, o Options) (*h2.Conn, error) {
	u, host, err := parseURL(rawURL)
	if err != nil {
		return nil, err
	}
	if TransportOf(u.Scheme) != HTTP2 {
		return nil, fmt.Errorf("URL %q: HTTP/2 needs a ws+h2:// or wss+h2:// URL", rawURL)
	}
	log := o.Log
	if log == nil {
		log = NewLog()
	}
	nc, _, err := connect(ctx, u, host, o.timeout(), o.TLS, log)
	if err != nil {
		return nil, err
	}
	return dialH2(ctx, nc, log, o)
}

func dialH2(ctx context.Context, nc net.Conn, log *Log, o Options) (*h2.Conn, error) {
	co := o.H2.Connection
	co.Timeout = o.timeout()
	if co.Trace == nil {
		co.Trace = func(d h2.Dir, text string) {
			dir := Inbound
			if d == h2.Sent {
				dir = Outbound
			}
			log.Octets(dir, "HTTP/2 %s", text)
		}
	}
	hc, err := h2.Dial(ctx, nc, co)
	if err != nil {
		return nil, err
	}
	s := hc.Settings()
	log.Note("HTTP/2 server settings: SETTINGS_ENABLE_CONNECT_PROTOCOL %v", map[bool]string{true: "= 1", false: "not advertised"}[s.EnableConnectProtocol])
	return hc, nil
}

// ErrNoExtendedConnect is a server whose SETTINGS do not allow the
// extended CONNECT: it does not take WebSockets over HTTP/2.
var ErrNoExtendedConnect = errors.New("the server's SETTINGS lack ENABLE_CONNECT_PROTOCOL = 1: it takes no WebSocket over HTTP/2 (RFC 8441 §3)")

// openH2 is Open over HTTP/2: the upgrade request, edited, goes out as an
// extended CONNECT on a new stream (of o.H2.Conn, or of a connection made
// on nc) and the stream carries the frames.
func openH2(ctx context.Context, u *url.URL, nc net.Conn, sent *countingConn, log *Log, o Options) (*Conn, *Handshake, error) {
	hc := o.H2.Conn
	if hc == nil {
		var err error
		if hc, err = dialH2(ctx, nc, log, o); err != nil {
			return nil, nil, err
		}
	}
	owned := o.H2.Conn == nil
	fail := func(hs *Handshake, err error) (*Conn, *Handshake, error) {
		if owned {
			_ = hc.Close()
		}
		return nil, hs, err
	}
	if !hc.Settings().EnableConnectProtocol && !o.H2.WithoutSetting {
		return fail(nil, ErrNoExtendedConnect)
	}
	keys := o.Keys
	if keys == nil {
		keys = RandomKeyStream()
	}
	// The key is drawn so that the key stream stays the same over both
	// transports; RFC 8441 §5 has no use for it and it is not sent.
	hs := &Handshake{Key: keys.HandshakeKey()}
	req := handshake.UpgradeRequest(u, hs.Key)
	if o.Edit != nil {
		o.Edit(req)
	}
	fields := handshake.ExtendedConnect(u, req)
	if o.H2.Edit != nil {
		fields = o.H2.Edit(fields)
	}
	hs.Request = []byte(h2.FieldsText(fields))
	st, err := hc.Open(fields, false)
	if err != nil {
		return fail(hs, fmt.Errorf("send the extended CONNECT: %w", err))
	}
	hs.Stream = st
	if len(o.Trailing) > 0 {
		_ = st.SetWriteDeadline(time.Now().Add(o.timeout()))
		if _, err := st.Write(o.Trailing); err != nil {
			return fail(hs, fmt.Errorf("send the frames behind the extended CONNECT: %w", err))
		}
		log.Octets(Outbound, "%d more octets in DATA right behind the extended CONNECT", len(o.Trailing))
	}
	rctx, cancel := context.WithTimeout(ctx, o.timeout())
	defer cancel()
	resp, err := st.Response(rctx)
	if err != nil {
		return fail(hs, fmt.Errorf("read the answer to the extended CONNECT: %w", err))
	}
	hs.RawResponse = []byte(h2.FieldsText(resp.Fields))
	hs.Response = handshake.ConnectResponse(resp.Fields, hs.RawResponse)
	log.Octets(Inbound, "extended CONNECT answered: :status %d", resp.Status)
	sent = countingOf(hc.NetConn(), sent)
	sc := &streamConn{Stream: st, owned: owned}
	return newConn(Client, sc, sent, log, keys, o.MaxPayload, o.Pacing), hs, nil
}

// countingOf returns the counting TCP connection under nc (through TLS)
// when the connection was made here, or fallback.
func countingOf(nc net.Conn, fallback *countingConn) *countingConn {
	if tc, ok := nc.(*tls.Conn); ok {
		nc = tc.NetConn()
	}
	if c, ok := nc.(*countingConn); ok {
		return c
	}
	return fallback
}

// checkH2Answer lists what in an HTTP/2 answer breaks RFC 8441 §5 beyond
// the fields: a 200 whose HEADERS end the stream leaves no way to send a
// frame.
func checkH2Answer(hs *Handshake, protocols, extensions []string) []string {
	problems := handshake.CheckConnect(hs.Response, protocols, extensions)
	if len(problems) == 0 && hs.Stream != nil {
		if resp := hs.Stream.Answer(); resp != nil && resp.EndStream {
			problems = append(problems, "the 200 HEADERS carry END_STREAM: the server's side of the stream ended before any frame (RFC 9113 §5.1, RFC 8441 §5)")
		}
	}
	return problems
}

// streamConn is an HTTP/2 stream as the connection under a Conn: Close
// resets it (unless both sides ended it) and, when the connection was
// made for it, closes the connection too.
type streamConn struct {
	*h2.Stream
	owned bool
}

func (s *streamConn) Close() error {
	err := s.Stream.Close()
	if s.owned {
		// The connection ends politely: GOAWAY, then the TCP close.
		_ = s.Stream.Conn().SendGoAway(0, http2.ErrCodeNo)
		_ = s.Stream.Conn().Close()
	}
	return err
}
