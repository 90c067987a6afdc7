// Package handshake is the opening handshake of RFC 6455 §4 as text, for
// either end: requests and responses written byte for byte as given (so
// the harness can send what no library would), heads read within a bound,
// the checks of §4.1 and §4.2.2, and the Sec-WebSocket-Extensions grammar.
// Package wire sends and reads them on a connection.
package handshake

import (
	"bufio"
	"bytes"
	"crypto/sha1"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"slices"
	"strings"
)

// acceptGUID is the fixed string of RFC 6455 §1.3.
const acceptGUID = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"

// MaxHeadBytes bounds an HTTP head read from the peer; a peer sending more
// is reported, not buffered.
const MaxHeadBytes = 64 << 10

// AcceptKey computes Sec-WebSocket-Accept for a Sec-WebSocket-Key (§4.2.2).
func AcceptKey(key string) string {
	sum := sha1.Sum([]byte(key + acceptGUID))
	return base64.StdEncoding.EncodeToString(sum[:])
}

// HeaderField is one header line, kept in order and spelling.
type HeaderField struct{ Name, Value string }

// Fields are the header lines of a head the harness writes, in order and
// spelled as given.
type Fields []HeaderField

// Request is an HTTP request written byte for byte as given, so cases can
// send what net/http would refuse to.
type Request struct {
	Method, Target, Proto string
	Headers               Fields
}

// UpgradeRequest returns a valid RFC 6455 opening handshake for u.
func UpgradeRequest(u *url.URL, key string) *Request {
	target := u.RequestURI()
	return &Request{
		Method: "GET", Target: target, Proto: "HTTP/1.1",
		Headers: []HeaderField{
			{"Host", HostHeader(u)},
			{"Upgrade", "websocket"},
			{"Connection", "Upgrade"},
			{"Sec-WebSocket-Key", key},
			{"Sec-WebSocket-Version", "13"},
		},
	}
}

// HostHeader is the Host header of a request for u: the host, plus the
// port when it is not the scheme's default (80 for ws://, 443 for wss://;
// RFC 6455 §4.1 item 4).
func HostHeader(u *url.URL) string {
	if p := u.Port(); p == "" || p == DefaultPort(u.Scheme) {
		h := u.Hostname()
		if strings.Contains(h, ":") {
			return "[" + h + "]"
		}
		return h
	}
	return u.Host
}

// Get returns the first value of a header (case-insensitive name).
func (f Fields) Get(name string) string {
	for _, h := range f {
		if strings.EqualFold(h.Name, name) {
			return h.Value
		}
	}
	return ""
}

// Set replaces the first header of that name or appends one.
func (f *Fields) Set(name, value string) {
	for i, h := range *f {
		if strings.EqualFold(h.Name, name) {
			(*f)[i].Value = value
			return
		}
	}
	*f = append(*f, HeaderField{name, value})
}

// Del removes every header of that name.
func (f *Fields) Del(name string) {
	kept := (*f)[:0]
	for _, h := range *f {
		if !strings.EqualFold(h.Name, name) {
			kept = append(kept, h)
		}
	}
	*f = kept
}

// head renders a start line, the fields and the empty line that ends a
// head.
func (f Fields) head(startLine string) []byte {
	var b bytes.Buffer
	b.WriteString(startLine + "\r\n")
	for _, h := range f {
		fmt.Fprintf(&b, "%s: %s\r\n", h.Name, h.Value)
	}
	b.WriteString("\r\n")
	return b.Bytes()
}

// Bytes renders the request head.
func (r *Request) Bytes() []byte {
	return r.Headers.head(r.Method + " " + r.Target + " " + r.Proto)
}

// Response is a parsed HTTP response head.
type Response struct {
	Status int
	Proto  string
	Header http.Header
	Raw    []byte
}

// Agreed reports whether the answer opens the WebSocket: 101 Switching
// Protocols to an HTTP/1.1 upgrade, 200 to an HTTP/2 extended CONNECT
// (RFC 8441 §5).
func (r *Response) Agreed() bool { return StatusAgrees(r.Proto, r.Status) }

// StatusAgrees is the rule behind Agreed, for an answer known only by its
// protocol (ProtoHTTP2 or an HTTP/1.x version) and status.
func StatusAgrees(proto string, status int) bool {
	if proto == ProtoHTTP2 {
		return status == http.StatusOK
	}
	return status == http.StatusSwitchingProtocols
}

// ErrHeadTooLarge means the peer sent an HTTP head over MaxHeadBytes.
var ErrHeadTooLarge = fmt.Errorf("HTTP head is larger than %d bytes", MaxHeadBytes)

// ReadHead reads an HTTP head (a request or a response) up to and
// including the empty line, leaving whatever follows (frames) in br.
func ReadHead(br *bufio.Reader) ([]byte, error) {
	var head []byte
	for {
		line, err := br.ReadSlice('\n')
		if len(head)+len(line) > MaxHeadBytes {
			return head, ErrHeadTooLarge
		}
		head = append(head, line...)
		if errors.Is(err, bufio.ErrBufferFull) {
			continue
		}
		if err != nil {
			if err == io.EOF {
				err = io.ErrUnexpectedEOF
			}
			return head, err
		}
		if len(line) <= 2 && strings.TrimRight(string(line), "\r\n") == "" {
			return head, nil
		}
	}
}

// ParseResponse parses a response head read by ReadHead.
func ParseResponse(raw []byte) (*Response, error) {
	resp, err := http.ReadResponse(bufio.NewReader(bytes.NewReader(raw)), nil)
	if err != nil {
		return nil, fmt.Errorf("malformed HTTP response: %w", err)
	}
	_ = resp.Body.Close()
	return &Response{Status: resp.StatusCode, Proto: resp.Proto, Header: resp.Header, Raw: raw}, nil
}

// HeaderHasToken reports whether any value of a comma-separated header
// contains token, compared case-insensitively (RFC 7230 token lists).
func HeaderHasToken(h http.Header, name, token string) bool {
	for _, v := range h.Values(name) {
		for _, t := range strings.Split(v, ",") {
			if strings.EqualFold(strings.TrimSpace(t), token) {
				return true
			}
		}
	}
	return false
}

// HeaderTokens returns all comma-separated tokens of a header.
func HeaderTokens(h http.Header, name string) []string {
	var out []string
	for _, v := range h.Values(name) {
		for _, t := range strings.Split(v, ",") {
			if t = strings.TrimSpace(t); t != "" {
				out = append(out, t)
			}
		}
	}
	return out
}

// CheckUpgrade lists what in a response breaks the server's side of the
// opening handshake (RFC 6455 §4.2.2, as the client checks it in §4.1).
// offeredProtocols and offeredExtensions are what the request offered.
func CheckUpgrade(resp *Response, key string, offeredProtocols, offeredExtensions []string) []string {
	var v []string
	if resp.Status != http.StatusSwitchingProtocols {
		return []string{fmt.Sprintf("status %d, want 101 Switching Protocols (§4.2.2)", resp.Status)}
	}
	if !HeaderHasToken(resp.Header, "Upgrade", "websocket") {
		v = append(v, fmt.Sprintf("Upgrade header %q lacks \"websocket\" (§4.2.2 item 5.2)", resp.Header.Get("Upgrade")))
	}
	if !HeaderHasToken(resp.Header, "Connection", "upgrade") {
		v = append(v, fmt.Sprintf("Connection header %q lacks \"Upgrade\" (§4.2.2 item 5.3)", resp.Header.Get("Connection")))
	}
	if got, want := resp.Header.Get("Sec-WebSocket-Accept"), AcceptKey(key); got != want {
		v = append(v, fmt.Sprintf("Sec-WebSocket-Accept %q, want %q for key %q (§4.2.2 item 5.4)", got, want, key))
	}
	return append(v, checkSelection(resp.Header, offeredProtocols, offeredExtensions)...)
}

// checkSelection checks the subprotocol and extensions a server's answer
// selects against what the client offered: the same rules whether the
// answer is a 101 or an HTTP/2 200 (RFC 8441 §5 keeps §4.2.2's).
func checkSelection(h http.Header, offeredProtocols, offeredExtensions []string) []string {
	var v []string
	if protos := HeaderTokens(h, "Sec-WebSocket-Protocol"); len(protos) > 0 {
		switch {
		case len(protos) > 1 || len(h.Values("Sec-WebSocket-Protocol")) > 1:
			v = append(v, fmt.Sprintf("Sec-WebSocket-Protocol selects %d subprotocols %q; at most one (§4.2.2 item 5.5)", len(protos), protos))
		case !slices.Contains(offeredProtocols, protos[0]): // subprotocol names are case-sensitive (§11.3.4)
			v = append(v, fmt.Sprintf("Sec-WebSocket-Protocol %q was not offered (offered %q; §4.2.2 item 5.5, §4.1)", protos[0], offeredProtocols))
		}
	}
	for _, ext := range HeaderTokens(h, "Sec-WebSocket-Extensions") {
		name := strings.TrimSpace(strings.SplitN(ext, ";", 2)[0])
		if !ContainsToken(offeredExtensions, name) {
			v = append(v, fmt.Sprintf("Sec-WebSocket-Extensions accepts %q, which was not offered (§4.1, §9.1)", name))
		}
	}
	return v
}

// ExtensionNames returns the extension names of a Sec-WebSocket-Extensions
// value, without parameters.
func ExtensionNames(value string) []string {
	var out []string
	for _, ext := range strings.Split(value, ",") {
		if name := strings.TrimSpace(strings.SplitN(ext, ";", 2)[0]); name != "" {
			out = append(out, name)
		}
	}
	return out
}

// ContainsToken reports whether list holds the token s, compared without
// regard to case as header tokens are (extension names, "Upgrade").
func ContainsToken(list []string, s string) bool {
	for _, x := range list {
		if strings.EqualFold(x, s) {
			return true
		}
	}
	return false
}

// DefaultPort is the port a ws:// or wss:// URL without one means
// (RFC 6455 §3).
func DefaultPort(scheme string) string {
	if scheme == "wss" || scheme == "wss+h2" {
		return "443"
	}
	return "80"
}
