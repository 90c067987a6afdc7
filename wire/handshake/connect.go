package handshake

import (
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strings"

	"golang.org/x/net/http2/hpack"
)

// ConnectionSpecific are the header fields HTTP/2 forbids (RFC 9113
// §8.2.2): a message carrying one is malformed. An HTTP/1.1 upgrade
// request carries two of them.
var ConnectionSpecific = []string{"connection", "upgrade", "keep-alive", "proxy-connection", "transfer-encoding"}

// ExtendedConnect is r, an RFC 6455 opening handshake (possibly edited by
// a case), as the extended CONNECT of RFC 8441 §5 carries it over HTTP/2:
// :method CONNECT, :protocol websocket, :scheme http or https, :path and
// :authority from the request, then its other header fields, lowercased
// (RFC 9113 §8.2), without Host (:authority replaces it), the fields
// HTTP/2 forbids, and Sec-WebSocket-Key, whose job :protocol does (§5).
func ExtendedConnect(u *url.URL, r *Request) []hpack.HeaderField {
	scheme := "http"
	if DefaultPort(u.Scheme) == "443" {
		scheme = "https"
	}
	authority := HostHeader(u)
	var rest []hpack.HeaderField
	for _, h := range r.Headers {
		name := strings.ToLower(h.Name)
		switch {
		case name == "host":
			authority = h.Value
		case name == "sec-websocket-key", slices.Contains(ConnectionSpecific, name):
		default:
			rest = append(rest, hpack.HeaderField{Name: name, Value: h.Value})
		}
	}
	return append([]hpack.HeaderField{
		{Name: ":method", Value: "CONNECT"},
		{Name: ":protocol", Value: "websocket"},
		{Name: ":scheme", Value: scheme},
		{Name: ":path", Value: r.Target},
		{Name: ":authority", Value: authority},
	}, rest...)
}

// ProtoHTTP2 is the Proto of an answer to an extended CONNECT.
const ProtoHTTP2 = "HTTP/2"

// ConnectResponse is an HTTP/2 answer as a Response: Status from
// :status, the other fields as a header, Proto "HTTP/2".
func ConnectResponse(fields []hpack.HeaderField, raw []byte) *Response {
	resp := &Response{Status: -1, Proto: ProtoHTTP2, Header: http.Header{}, Raw: raw}
	for _, f := range fields {
		if f.Name == ":status" {
			fmt.Sscan(f.Value, &resp.Status)
			continue
		}
		resp.Header.Add(f.Name, f.Value)
	}
	return resp
}

// CheckConnect lists what in an answer to an extended CONNECT breaks the
// server's side of RFC 8441 §5: a server that agrees MUST answer 200 (not
// 101; the Sec-WebSocket-Accept of RFC 6455 has no use here), without
// the fields HTTP/2 forbids (RFC 9113 §8.2.2), selecting only what was
// offered (RFC 6455 §4.2.2, which §5 keeps).
func CheckConnect(resp *Response, offeredProtocols, offeredExtensions []string) []string {
	if resp.Status != http.StatusOK {
		return []string{fmt.Sprintf(":status %d, want 200 (RFC 8441 §5)", resp.Status)}
	}
	var v []string
	for _, name := range ConnectionSpecific {
		if values := resp.Header.Values(name); len(values) > 0 {
			v = append(v, fmt.Sprintf("the answer carries %q: %q, a field HTTP/2 forbids, which makes it malformed (RFC 9113 §8.2.2)", name, values))
		}
	}
	return append(v, checkSelection(resp.Header, offeredProtocols, offeredExtensions)...)
}
