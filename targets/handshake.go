package targets

import (
	"encoding/base64"
	"net/http"
	"strings"
)

// acceptAnyOrigin is the Origin policy of every reference target: they are
// conformance and load targets, not browser applications, so a cross-origin
// request is as welcome as any other.
func acceptAnyOrigin(*http.Request) bool { return true }

// handshakeGuard wraps the upgrade handler of a configured target. It
// rejects an opening handshake that breaks RFC 6455 §4.2.1 before the
// library sees it, because the libraries disagree on what they let through
// and which status they answer (gws accepts an 8-byte key, gorilla answers
// 400 to an unknown version where the RFC asks for 426, ...). The status
// codes follow §4.2.2: 426 Upgrade Required with the supported version for a
// version the server does not speak, 405 for another method, 400 otherwise.
//
// An HTTP/2 request (only the HTTP/2 targets serve HTTP/2) is checked as an
// extended CONNECT instead (checkExtendedConnect).
func handshakeGuard(next http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		check := checkHandshake
		if r.ProtoMajor == 2 {
			check = checkExtendedConnect
		}
		if status, reason := check(r); status != 0 {
			rejectHandshake(w, r, status, reason)
			return
		}
		next(w, r)
	}
}

// checkHandshake returns the HTTP status and reason to reject r with, or 0
// when r is an opening handshake the configured targets accept.
func checkHandshake(r *http.Request) (status int, reason string) {
	if r.Method != http.MethodGet {
		return http.StatusMethodNotAllowed, "a WebSocket handshake must be a GET request"
	}
	if !r.ProtoAtLeast(1, 1) {
		return http.StatusBadRequest, "a WebSocket handshake needs HTTP/1.1 or later"
	}
	if !headerHasToken(r.Header, "Upgrade", "websocket") {
		return http.StatusBadRequest, `the Upgrade header lacks the "websocket" token`
	}
	if !headerHasToken(r.Header, "Connection", "upgrade") {
		return http.StatusBadRequest, `the Connection header lacks the "upgrade" token`
	}
	switch versions := r.Header.Values("Sec-WebSocket-Version"); {
	case len(versions) == 0 || len(versions) == 1 && versions[0] == "":
		return http.StatusBadRequest, "missing Sec-WebSocket-Version header"
	case len(versions) != 1 || versions[0] != "13":
		return http.StatusUpgradeRequired, "unsupported WebSocket version"
	}
	if keys := r.Header.Values("Sec-WebSocket-Key"); len(keys) != 1 || !validKey(keys[0]) {
		return http.StatusBadRequest, "Sec-WebSocket-Key must be one base64-encoded 16-byte value"
	}
	return 0, ""
}

// rejectHandshake answers a refused handshake. Every refusal names the
// version the server speaks, which the RFC requires for 426 and which
// helps a client to fix the others.
func rejectHandshake(w http.ResponseWriter, r *http.Request, status int, reason string) {
	h := w.Header()
	h.Set("Sec-WebSocket-Version", "13")
	if status == http.StatusMethodNotAllowed {
		h.Set("Allow", allowedMethod(r))
	}
	http.Error(w, reason, status)
}

// allowedMethod is the method of a WebSocket handshake on r's protocol:
// GET on HTTP/1.1, CONNECT on HTTP/2.
func allowedMethod(r *http.Request) string {
	if r.ProtoMajor == 2 {
		return http.MethodConnect
	}
	return http.MethodGet
}

// validKey reports whether key is the base64 encoding of 16 bytes.
func validKey(key string) bool {
	raw, err := base64.StdEncoding.DecodeString(key)
	return err == nil && len(raw) == 16
}

// headerHasToken reports whether a comma-separated header such as
// "Connection: keep-alive, Upgrade" lists token, compared case-insensitively.
func headerHasToken(h http.Header, name, token string) bool {
	for _, v := range h.Values(name) {
		for part := range strings.SplitSeq(v, ",") {
			if strings.EqualFold(strings.TrimSpace(part), token) {
				return true
			}
		}
	}
	return false
}
