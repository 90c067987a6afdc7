package targets

import (
	"net/http"
	"strings"

	"github.com/gobwas/httphead"
	"github.com/gobwas/ws/wsflate"
)

// newGobwasH2Handler serves the gobwas target (newGobwasHandler) over both
// transports: an RFC 6455 upgrade on HTTP/1.1, and extended CONNECT
// (RFC 8441) on HTTP/2, where the stream carries the frames. Both run the
// same gobwas session; only the bootstrap differs.
func newGobwasH2Handler() http.Handler { return gobwasH2Handler(false) }

// newGobwasH2DeflateHandler is newGobwasH2Handler with permessage-deflate
// as gobwas-deflate negotiates it, over HTTP/2 headers too.
func newGobwasH2DeflateHandler() http.Handler { return gobwasH2Handler(true) }

func gobwasH2Handler(compress bool) http.Handler {
	return serveSessions(newHub(encodeGobwas), func(w http.ResponseWriter, r *http.Request) session {
		if r.ProtoMajor == 2 {
			return acceptGobwasH2(w, r, compress)
		}
		return upgradeGobwas(w, r, compress)
	})
}

// acceptGobwasH2 answers an extended CONNECT request that handshakeGuard
// has checked with 200, with the permessage-deflate response when compress
// and an offer is accepted, and returns the session on its stream (nil if
// the response could not be sent).
func acceptGobwasH2(w http.ResponseWriter, r *http.Request, compress bool) session {
	var ext *wsflate.Extension
	if compress && len(filterDeflateOffers(r.Header, nil, 0)) > 0 {
		ext = &wsflate.Extension{Parameters: wsflate.DefaultParameters}
		if accept := negotiateWsflate(ext, r.Header.Values("Sec-WebSocket-Extensions")); accept != "" {
			w.Header().Set("Sec-WebSocket-Extensions", accept)
		}
	}
	stream, err := acceptH2Stream(w, r)
	if err != nil {
		return nil
	}
	return newGobwasSession(stream, stream, deflateAccepted(ext))
}

// negotiateWsflate hands the offers (already filtered to valid ones) to
// wsflate one by one, as gobwas' HTTP/1.1 upgrader does, and returns the
// response's extension header, or "" when wsflate accepted none.
func negotiateWsflate(ext *wsflate.Extension, header []string) string {
	for _, h := range header {
		opts, ok := httphead.ParseOptions([]byte(h), nil)
		if !ok {
			continue
		}
		for _, opt := range opts {
			accept, err := ext.Negotiate(opt)
			if err == nil && accept.Size() > 0 {
				var b strings.Builder
				if _, err := httphead.WriteOptions(&b, []httphead.Option{accept}); err == nil {
					return b.String()
				}
			}
		}
	}
	return ""
}

// checkExtendedConnect returns the HTTP status and reason to refuse an
// HTTP/2 request with, or 0 when it is a WebSocket extended CONNECT the
// HTTP/2 targets accept (RFC 8441 §4 and §5). Sec-WebSocket-Key plays no
// part over HTTP/2 (§5), so it is not looked at.
func checkExtendedConnect(r *http.Request) (status int, reason string) {
	// net/http hands the :protocol pseudo-header over as this key.
	protocol := r.Header.Get(":protocol")
	switch {
	case r.Method != http.MethodConnect && protocol != "":
		// RFC 8441 §4: :protocol only on CONNECT. Such a request is
		// malformed (RFC 9113 §8.1.1), which the handler can only
		// answer, not reset with PROTOCOL_ERROR.
		return http.StatusBadRequest, "the :protocol pseudo-header is only allowed on CONNECT (RFC 8441 §4)"
	case r.Method != http.MethodConnect:
		return http.StatusMethodNotAllowed, "a WebSocket over HTTP/2 is an extended CONNECT request (RFC 8441 §4)"
	case protocol == "":
		return http.StatusBadRequest, "a WebSocket CONNECT needs the :protocol pseudo-header (RFC 8441 §4)"
	case !strings.EqualFold(protocol, "websocket"):
		// RFC 8441 and RFC 9220 leave the status open; 501 says the
		// server does not implement that protocol.
		return http.StatusNotImplemented, "unsupported :protocol " + protocol
	}
	switch versions := r.Header.Values("Sec-WebSocket-Version"); {
	case len(versions) == 0 || len(versions) == 1 && versions[0] == "":
		return http.StatusBadRequest, "missing sec-websocket-version header"
	case len(versions) != 1 || versions[0] != "13":
		// Not 426 as RFC 6455 §4.2.2 has it for HTTP/1.1: HTTP/2 has
		// no Upgrade (RFC 9113 §8.6). The response names version 13
		// all the same (§4.4).
		return http.StatusBadRequest, "unsupported WebSocket version"
	}
	return 0, ""
}
