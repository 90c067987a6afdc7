package brokenpeer

import (
	"bufio"
	"io"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/wsharness/wsharness/wire"
	"github.com/wsharness/wsharness/wire/handshake"
	"golang.org/x/net/http2"
	"golang.org/x/net/http2/hpack"
)

// h2Request is a request's header block, pseudo-header fields apart.
type h2Request struct {
	pseudo map[string]string // by name without the colon; present even when empty
	header http.Header
	// connSpecific names the first connection-specific field (RFC 9113
	// §8.2.2), "" when there is none.
	connSpecific string
}

func parseH2Request(f *http2.MetaHeadersFrame) h2Request {
	r := h2Request{pseudo: map[string]string{}, header: http.Header{}}
	for _, hf := range f.PseudoFields() {
		r.pseudo[hf.Name[1:]] = hf.Value
	}
	for _, hf := range f.RegularFields() {
		r.header.Add(hf.Name, hf.Value)
		switch hf.Name {
		case "connection", "upgrade", "keep-alive", "proxy-connection", "transfer-encoding":
		case "te":
			if strings.EqualFold(strings.TrimSpace(hf.Value), "trailers") {
				continue // the one TE value HTTP/2 allows
			}
		default:
			continue
		}
		if r.connSpecific == "" {
			r.connSpecific = hf.Name
		}
	}
	return r
}

// has reports whether the pseudo-header field name is present and not
// empty.
func (r h2Request) has(name string) bool { return r.pseudo[name] != "" }

// h2Answer is the server's answer to a request: a stream error (reset), an
// HTTP status without a stream (status), or a WebSocket (serve).
type h2Answer struct {
	reset  http2.ErrCode
	status int
	fields []hpack.HeaderField
	serve  bool
	dfl    *deflateState
}

// headers takes a request's HEADERS (and CONTINUATION): a new stream.
func (c *h2Conn) headers(f *http2.MetaHeadersFrame) error {
	id := f.StreamID
	c.mu.Lock()
	if st := c.streams[id]; st != nil {
		// Trailers: a WebSocket stream has none; malformed (§8.1).
		c.mu.Unlock()
		st.resetBy(http2.ErrCodeProtocol)
		return nil
	}
	if id%2 == 0 || id <= c.lastID {
		c.mu.Unlock()
		return http2.ConnectionError(http2.ErrCodeProtocol) // §5.1.1: IDs only grow, clients' are odd
	}
	c.lastID = id
	full := len(c.streams) >= h2MaxStreams
	c.mu.Unlock()
	switch {
	case full:
		return c.reset(id, http2.ErrCodeRefusedStream) // §5.1.2
	case f.Truncated:
		return c.respond(id, f.StreamEnded(), http.StatusRequestHeaderFieldsTooLarge, nil)
	}
	a := c.answer(parseH2Request(f))
	switch {
	case a.reset != 0:
		return c.reset(id, a.reset)
	case !a.serve:
		return c.respond(id, f.StreamEnded(), a.status, a.fields)
	}
	st := &h2Stream{c: c, id: id, remoteEnded: f.StreamEnded(), recvWindow: h2InitialWindow}
	c.mu.Lock()
	if c.dead {
		c.mu.Unlock()
		return errConnGone
	}
	st.sendWindow = c.peerInitialWindow
	c.streams[id] = st
	c.streamsWG.Add(1)
	c.mu.Unlock()
	go c.serveStream(st, a)
	return nil
}

// respond answers a request that gets no WebSocket with a status and no
// content, then resets the stream with NO_ERROR if the client has not
// ended it: the answer is complete and the rest of the request unwanted
// (RFC 9113 §8.1).
func (c *h2Conn) respond(id uint32, clientEnded bool, status int, fields []hpack.HeaderField) error {
	all := append([]hpack.HeaderField{{Name: ":status", Value: strconv.Itoa(status)}}, fields...)
	if err := c.writeHeaders(id, true, all); err != nil {
		return err
	}
	if clientEnded {
		return nil
	}
	return c.reset(id, http2.ErrCodeNo)
}

// answer checks a request against RFC 9113 §8 and RFC 8441 §4 and §5, with
// the knobs that let it through.
func (c *h2Conn) answer(r h2Request) h2Answer {
	h := c.s.h
	protocolError := h2Answer{reset: http2.ErrCodeProtocol}
	if r.connSpecific != "" && !h.AcceptsConnectionHeaders {
		return protocolError // §8.2.2
	}
	method, extended := r.pseudo["method"], hasKey(r.pseudo, "protocol")
	switch {
	case extended && method != http.MethodConnect && !h.AcceptsProtocolOnGet:
		return protocolError // RFC 8441 §4: :protocol belongs to CONNECT
	case !extended && method == http.MethodConnect:
		// A plain CONNECT (§8.5): well formed with :authority alone, but
		// this server is no proxy.
		if !r.has("authority") || hasKey(r.pseudo, "scheme") || hasKey(r.pseudo, "path") {
			return protocolError
		}
		return h2Answer{status: http.StatusMethodNotAllowed}
	case !extended:
		if method == "" || !r.has("scheme") || !r.has("path") {
			return protocolError // §8.3.1
		}
		return h2Answer{status: http.StatusMethodNotAllowed} // only WebSockets here
	case (!r.has("scheme") || !r.has("path") || !r.has("authority")) && !h.AcceptsMissingPath:
		return protocolError // RFC 8441 §4: :scheme and :path MUST be included; §8.3.1 :authority
	case !strings.EqualFold(r.pseudo["protocol"], "websocket"):
		return h2Answer{status: http.StatusNotImplemented}
	}
	if v := r.header.Values("Sec-WebSocket-Version"); !c.s.d.UpgradeAnyVersion && (len(v) != 1 || strings.TrimSpace(v[0]) != "13") {
		a := h2Answer{status: http.StatusBadRequest}
		if !c.s.d.RejectVersionWithoutHeader {
			a.fields = []hpack.HeaderField{{Name: "sec-websocket-version", Value: "13"}} // RFC 6455 §4.4
		}
		return a
	}
	status := http.StatusOK
	if h.Status101 {
		status = http.StatusSwitchingProtocols
	}
	a := h2Answer{serve: true, fields: []hpack.HeaderField{{Name: ":status", Value: strconv.Itoa(status)}}}
	if sub := subprotocol(r.header, c.s.d.SelectUnofferedSubprotocol); sub != "" {
		a.fields = append(a.fields, hpack.HeaderField{Name: "sec-websocket-protocol", Value: sub})
	}
	if c.s.d.SendsExtension {
		a.fields = append(a.fields, hpack.HeaderField{Name: "sec-websocket-extensions", Value: "permessage-deflate"})
	} else if ext, st := (&Server{d: c.s.d}).negotiateDeflate(r.header.Values("Sec-WebSocket-Extensions")); st != nil {
		a.fields = append(a.fields, hpack.HeaderField{Name: "sec-websocket-extensions", Value: ext})
		a.dfl = st
	}
	if h.ConnectionHeaders {
		a.fields = append(a.fields,
			hpack.HeaderField{Name: "connection", Value: "upgrade"},
			hpack.HeaderField{Name: "upgrade", Value: "websocket"})
	}
	return a
}

func hasKey(m map[string]string, k string) bool {
	_, ok := m[k]
	return ok
}

// subprotocol selects the first subprotocol offered if it is "chat", so
// that a case can tell selection from echo; always "chat" under the
// SelectUnofferedSubprotocol defect.
func subprotocol(h http.Header, anyway bool) string {
	if anyway {
		return "chat"
	}
	if offered := handshake.HeaderTokens(h, "Sec-WebSocket-Protocol"); len(offered) > 0 && offered[0] == "chat" {
		return "chat"
	}
	return ""
}

// serveStream answers the extended CONNECT, runs the RFC 6455 frame loop
// on the stream, then ends the stream as RFC 8441 §5 says (or a knob).
func (c *h2Conn) serveStream(st *h2Stream, a h2Answer) {
	defer c.streamsWG.Done()
	defer st.Close()
	h := c.s.h
	if err := c.writeHeaders(st.id, h.StatusWithEndStream, a.fields); err != nil {
		return
	}
	if h.StatusWithEndStream {
		c.mu.Lock()
		st.localEnded = true
		c.mu.Unlock()
	}
	br := bufio.NewReaderSize(st, 16<<10)
	cn := &conn{d: c.s.d, role: wire.Server, nc: st, br: br, deflate: a.dfl}
	switch cn.run() {
	case endLinger:
		switch {
		case h.ResetInsteadOfEndStream:
			st.resetBy(http2.ErrCodeNo)
		case h.NeverEndsStream:
			drain(st, br, noTCPCloseTimeout) // Close resets it, if the client has not
		default:
			_ = st.CloseWrite()
			drain(st, br, lingerTimeout)
		}
	case endWaitForClient:
		// NoTCPClose: the server's END_STREAM waits for the client's.
		drain(st, br, noTCPCloseTimeout)
		_ = st.CloseWrite()
	case endDrop:
	}
}

// drain reads the stream until the client ends or resets it, or wait
// passes.
func drain(st *h2Stream, br *bufio.Reader, wait time.Duration) {
	_ = st.SetReadDeadline(time.Now().Add(wait))
	_, _ = io.Copy(io.Discard, br)
}
