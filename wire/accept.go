package wire

import (
	"bufio"
	"bytes"
	"cmp"
	"context"
	"encoding/base64"
	"fmt"
	"net"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// ResponseHead is an HTTP response head written byte for byte as given, so
// the harness, as a server, can answer a client's opening handshake with
// what no library would: a wrong accept key, a 200, a subprotocol that was
// not offered.
type ResponseHead struct {
	Proto   string
	Status  int
	Reason  string
	Headers Fields
}

// UpgradeResponse returns a valid 101 answer to a request with key
// (RFC 6455 §4.2.2), selecting no subprotocol and no extension.
func UpgradeResponse(key string) *ResponseHead {
	return &ResponseHead{
		Proto: "HTTP/1.1", Status: http.StatusSwitchingProtocols, Reason: "Switching Protocols",
		Headers: Fields{
			{"Upgrade", "websocket"},
			{"Connection", "Upgrade"},
			{"Sec-WebSocket-Accept", AcceptKey(key)},
		},
	}
}

// Bytes renders the response head.
func (r *ResponseHead) Bytes() []byte {
	return r.Headers.head(r.Proto + " " + strconv.Itoa(r.Status) + " " + r.Reason)
}

// ClientRequest is a parsed HTTP request head: a client's opening
// handshake as the harness received it.
type ClientRequest struct {
	Method, Target, Proto string
	Header                http.Header
	Raw                   []byte
}

// ParseRequest parses a request head read by ReadHead.
func ParseRequest(raw []byte) (*ClientRequest, error) {
	req, err := http.ReadRequest(bufio.NewReader(bytes.NewReader(raw)))
	if err != nil {
		return nil, fmt.Errorf("malformed HTTP request: %w", err)
	}
	_ = req.Body.Close()
	h := req.Header
	if req.Host != "" && h.Get("Host") == "" {
		h = h.Clone()
		h.Set("Host", req.Host) // net/http moves Host out of the header
	}
	return &ClientRequest{Method: req.Method, Target: req.RequestURI, Proto: req.Proto, Header: h, Raw: raw}, nil
}

// CheckRequest lists what in a client's opening handshake breaks RFC 6455
// §4.1 (what a client MUST send), as a server checks it in §4.2.1.
func CheckRequest(req *ClientRequest) []string {
	var v []string
	if req.Method != http.MethodGet {
		v = append(v, fmt.Sprintf("method %s, want GET (§4.1 item 2)", req.Method))
	}
	if major, minor, ok := http.ParseHTTPVersion(req.Proto); !ok || major < 1 || major == 1 && minor < 1 {
		v = append(v, fmt.Sprintf("protocol %s, want HTTP/1.1 or later (§4.1 item 2)", req.Proto))
	}
	if req.Header.Get("Host") == "" {
		v = append(v, "no Host header (§4.1 item 4)")
	}
	if !HeaderHasToken(req.Header, "Upgrade", "websocket") {
		v = append(v, fmt.Sprintf("Upgrade header %q lacks \"websocket\" (§4.1 item 5)", req.Header.Get("Upgrade")))
	}
	if !HeaderHasToken(req.Header, "Connection", "upgrade") {
		v = append(v, fmt.Sprintf("Connection header %q lacks \"Upgrade\" (§4.1 item 6)", req.Header.Get("Connection")))
	}
	switch keys := req.Header.Values("Sec-WebSocket-Key"); {
	case len(keys) != 1:
		v = append(v, fmt.Sprintf("%d Sec-WebSocket-Key headers, want exactly one (§4.1 item 7, §11.3.1)", len(keys)))
	default:
		if raw, err := base64.StdEncoding.DecodeString(keys[0]); err != nil || len(raw) != 16 {
			v = append(v, fmt.Sprintf("Sec-WebSocket-Key %q is not 16 bytes in base64 (§4.1 item 7)", keys[0]))
		}
	}
	if got := req.Header.Values("Sec-WebSocket-Version"); len(got) != 1 || strings.TrimSpace(got[0]) != "13" {
		v = append(v, fmt.Sprintf("Sec-WebSocket-Version %q, want 13 (§4.1 item 9)", got))
	}
	return v
}

// AcceptOptions tune Accept and ReadRequest.
type AcceptOptions struct {
	// Timeout bounds reading the request and writing the response;
	// 0 = DefaultIOTimeout.
	Timeout time.Duration
	// Respond edits Accept's answer before it is sent: a valid 101 for
	// the request's key, selecting nothing, unless Respond changes it. The
	// request is nil when it did not parse.
	Respond func(req *ClientRequest, resp *ResponseHead)
	// Split says how Accept sends the response and Trailing: one write, or
	// chopped into writes the client reads one by one.
	Split Split
	// Trailing bytes (frames) go out right after Accept's response, in the
	// same write unless Split cuts it.
	Trailing []byte
	// MaxPayload bounds received frames; 0 = DefaultMaxPayload.
	MaxPayload uint64
	// Log receives the wire log; nil = a new one.
	Log *Log
	// Keys gives the masking key of a frame masked on purpose without a
	// Key of its own; nil = a fresh random stream.
	Keys *KeyStream
	// Pacing keeps the chunks of Separate splits apart.
	Pacing Pacing
}

// ServerHandshake is what the server's end received and sent.
type ServerHandshake struct {
	// RawRequest is what was read, even when it did not parse.
	RawRequest []byte
	// Request is the parsed request; nil when it did not parse.
	Request *ClientRequest
	// Problems lists what in the request breaks RFC 6455 (CheckRequest).
	Problems []string
	// Response is what was sent; nil until Respond.
	Response []byte
}

// Key returns the request's Sec-WebSocket-Key; "" when it did not parse.
func (hs *ServerHandshake) Key() string {
	if hs.Request == nil {
		return ""
	}
	return hs.Request.Header.Get("Sec-WebSocket-Key")
}

// Incoming is the server's end of a connection whose opening handshake
// request has been read and not yet answered: a server that tests clients
// picks its answer from the request (its path names the case).
type Incoming struct {
	conn    *Conn
	timeout time.Duration
	// Handshake holds the request, and the response once sent.
	Handshake *ServerHandshake
}

// ReadRequest reads and checks a client's opening handshake request on a
// connection a listener accepted. An error means no request head arrived
// within the timeout (or it was too large); the caller then closes nc.
func ReadRequest(nc net.Conn, o AcceptOptions) (*Incoming, error) {
	timeout := cmp.Or(o.Timeout, DefaultIOTimeout)
	log := cmp.Or(o.Log, NewLog())
	log.Note("TCP connection accepted from %s", nc.RemoteAddr())
	sent := &countingConn{Conn: nc}
	in := &Incoming{conn: newConn(Server, sent, sent, log, o.Keys, o.MaxPayload, o.Pacing), timeout: timeout, Handshake: &ServerHandshake{}}
	hs := in.Handshake
	_ = nc.SetReadDeadline(time.Now().Add(timeout))
	raw, err := ReadHead(in.conn.br)
	hs.RawRequest = raw
	if err != nil {
		return in, fmt.Errorf("read handshake request: %w", describeIOError(err))
	}
	_ = nc.SetReadDeadline(time.Time{})
	hs.Request, err = ParseRequest(raw)
	if err != nil {
		hs.Problems = []string{err.Error()}
		log.Octets(Inbound, "opening handshake request that does not parse (%d octets): %v", len(raw), err)
		return in, nil
	}
	hs.Problems = CheckRequest(hs.Request)
	log.Octets(Inbound, "opening handshake request: %s %s (%d octets)", hs.Request.Method, hs.Request.Target, len(raw))
	return in, nil
}

// Respond sends resp, then trailing (frames), as split says, and returns
// the server's end of the connection. On an error the connection is
// closed.
func (in *Incoming) Respond(ctx context.Context, resp *ResponseHead, trailing []byte, split Split) (*Conn, error) {
	in.Handshake.Response = resp.Bytes()
	out := append(append([]byte(nil), in.Handshake.Response...), trailing...)
	in.conn.log.Octets(Outbound, "opening handshake response: %d (%d octets, %d more octets after it)", resp.Status, len(in.Handshake.Response), len(trailing))
	ctx, cancel := context.WithTimeout(ctx, in.timeout)
	defer cancel()
	if err := in.conn.write(ctx, out, split); err != nil {
		in.conn.Close()
		return nil, fmt.Errorf("send handshake response: %w", err)
	}
	return in.conn, nil
}

// Close drops a connection that will not be answered.
func (in *Incoming) Close() error { return in.conn.Close() }

// Accept plays the server's side of the opening handshake on a connection
// a listener accepted: it reads the client's request, checks it, and sends
// the (possibly edited) response. It returns the server's end even when
// the request broke the RFC, so a case can go on with the client it
// judged; an error means no request arrived or the response could not be
// written, and nc is then closed.
func Accept(ctx context.Context, nc net.Conn, o AcceptOptions) (*Conn, *ServerHandshake, error) {
	in, err := ReadRequest(nc, o)
	if err != nil {
		in.Close()
		return nil, in.Handshake, err
	}
	resp := UpgradeResponse(in.Handshake.Key())
	if o.Respond != nil {
		o.Respond(in.Handshake.Request, resp)
	}
	c, err := in.Respond(ctx, resp, o.Trailing, o.Split)
	return c, in.Handshake, err
}
