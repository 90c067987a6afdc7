package handshake

import (
	"bufio"
	"bytes"
	"encoding/base64"
	"fmt"
	"net/http"
	"strconv"
	"strings"
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
