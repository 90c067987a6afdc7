package brokenpeer

import (
	"bufio"
	"bytes"
	"encoding/base64"
	"fmt"
	"net"
	"net/http"
	"strings"
	"time"

	"github.com/wsharness/wsharness/wire/handshake"
)

// rejection is an HTTP error answer to an opening handshake.
type rejection struct {
	status int
	reason string
	// version, when set, adds Sec-WebSocket-Version (§4.4).
	version bool
}

// handshake reads and checks the opening handshake (RFC 6455 §4.2.1) and
// writes the answer. It reports whether the connection was upgraded, and
// with what compression; bytes the client sent after the request stay in br.
func (s *Server) handshake(nc net.Conn, br *bufio.Reader) (*deflateState, bool) {
	raw, err := handshake.ReadHead(br)
	if err != nil {
		return nil, false
	}
	req, err := http.ReadRequest(bufio.NewReader(bytes.NewReader(raw)))
	if err != nil {
		s.writeHead(nc, rejectText(rejection{status: http.StatusBadRequest, reason: "malformed request"}))
		return nil, false
	}
	key, rej := s.check(req)
	if rej != nil {
		s.writeHead(nc, rejectText(*rej))
		return nil, false
	}
	accept := handshake.AcceptKey(key)
	if s.d.WrongAcceptKey {
		accept = handshake.AcceptKey(key + " ") // the wrong input, a well-formed answer
	}
	var b strings.Builder
	b.WriteString("HTTP/1.1 101 Switching Protocols\r\n")
	b.WriteString("Upgrade: websocket\r\n")
	b.WriteString("Connection: Upgrade\r\n")
	fmt.Fprintf(&b, "Sec-WebSocket-Accept: %s\r\n", accept)
	if s.d.SelectUnofferedSubprotocol {
		b.WriteString("Sec-WebSocket-Protocol: chat\r\n")
	}
	var dfl *deflateState
	if s.d.SendsExtension {
		b.WriteString("Sec-WebSocket-Extensions: permessage-deflate\r\n")
	} else if ext, st := s.negotiateDeflate(req.Header.Values("Sec-WebSocket-Extensions")); st != nil {
		fmt.Fprintf(&b, "Sec-WebSocket-Extensions: %s\r\n", ext)
		dfl = st
	}
	b.WriteString("\r\n")
	return dfl, s.writeHead(nc, b.String())
}

// check applies §4.2.1 and returns the client's key, or why to reject.
func (s *Server) check(req *http.Request) (string, *rejection) {
	bad := func(reason string) (string, *rejection) {
		return "", &rejection{status: http.StatusBadRequest, reason: reason}
	}
	if req.Method != http.MethodGet {
		return "", &rejection{status: http.StatusMethodNotAllowed, reason: "the opening handshake must be a GET"}
	}
	if !req.ProtoAtLeast(1, 1) {
		return bad("the opening handshake must be HTTP/1.1 or higher")
	}
	if req.Host == "" {
		return bad("missing Host")
	}
	if !s.upgradeOK(req.Header) {
		return bad("missing or wrong Upgrade: websocket")
	}
	if !s.connectionOK(req.Header) {
		return bad("missing or wrong Connection: Upgrade")
	}
	keys := req.Header.Values("Sec-WebSocket-Key")
	key := ""
	if len(keys) > 0 {
		key = keys[0]
	}
	if !s.d.UpgradeWithoutKey && (len(keys) != 1 || !validKey(key)) {
		return bad("Sec-WebSocket-Key must be the base64 encoding of 16 bytes")
	}
	if !s.d.UpgradeAnyVersion {
		if v := req.Header.Values("Sec-WebSocket-Version"); len(v) != 1 || strings.TrimSpace(v[0]) != "13" {
			if s.d.RejectVersionWithoutHeader {
				return bad("unsupported WebSocket version")
			}
			return "", &rejection{status: http.StatusUpgradeRequired, reason: "unsupported WebSocket version", version: true}
		}
	}
	return key, nil
}

func (s *Server) upgradeOK(h http.Header) bool {
	if s.d.CaseSensitiveUpgrade {
		return hasExactToken(h, "Upgrade", "websocket")
	}
	return handshake.HeaderHasToken(h, "Upgrade", "websocket")
}

func (s *Server) connectionOK(h http.Header) bool {
	switch {
	case s.d.RequireExactConnectionUpgrade:
		v := h.Values("Connection")
		return len(v) == 1 && strings.EqualFold(strings.TrimSpace(v[0]), "upgrade")
	case s.d.CaseSensitiveUpgrade:
		return hasExactToken(h, "Connection", "Upgrade")
	}
	return handshake.HeaderHasToken(h, "Connection", "upgrade")
}

// hasExactToken is HeaderHasToken with a case-sensitive comparison: the
// CaseSensitiveUpgrade defect.
func hasExactToken(h http.Header, name, token string) bool {
	for _, t := range handshake.HeaderTokens(h, name) {
		if t == token {
			return true
		}
	}
	return false
}

// validKey reports whether a Sec-WebSocket-Key is base64 of 16 bytes
// (§4.2.1 item 5).
func validKey(key string) bool {
	b, err := base64.StdEncoding.DecodeString(strings.TrimSpace(key))
	return err == nil && len(b) == 16
}

func rejectText(r rejection) string {
	var b strings.Builder
	fmt.Fprintf(&b, "HTTP/1.1 %d %s\r\n", r.status, http.StatusText(r.status))
	if r.version {
		b.WriteString("Sec-WebSocket-Version: 13\r\n")
	}
	b.WriteString("Content-Type: text/plain; charset=utf-8\r\n")
	fmt.Fprintf(&b, "Content-Length: %d\r\n", len(r.reason)+1)
	b.WriteString("Connection: close\r\n\r\n")
	b.WriteString(r.reason + "\n")
	return b.String()
}

func (s *Server) writeHead(nc net.Conn, head string) bool {
	_ = nc.SetWriteDeadline(time.Now().Add(writeTimeout))
	_, err := nc.Write([]byte(head))
	return err == nil
}
