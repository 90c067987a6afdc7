package loadgen

import (
	"bufio"
	"bytes"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/gorilla/websocket"
	"golang.org/x/net/http2"
	"golang.org/x/net/http2/hpack"

	"github.com/wsharness/wsharness/wire"
	"github.com/wsharness/wsharness/wire/h2"
	wirehs "github.com/wsharness/wsharness/wire/handshake"
)

// Over HTTP/2 (a ws+h2:// or wss+h2:// URL) every WebSocket is a stream
// opened by an extended CONNECT (RFC 8441) on one of the run's HTTP/2
// connections, StreamsPerConn to a connection: connection i is stream
// i%K of TCP connection i/K. The stream is a net.Conn (wire/h2), and
// gorilla frames on it exactly as it does on TCP, so the scenarios, the
// reader and the sender do not know which transport carries them.

// MaxStreamsPerConn bounds Config.StreamsPerConn. Go's net/http server
// allows 250 concurrent streams per connection; more than the server's
// SETTINGS_MAX_CONCURRENT_STREAMS fails the run before the ramp.
const MaxStreamsPerConn = 1000

// ErrStreamLimit is a server whose SETTINGS_MAX_CONCURRENT_STREAMS is
// below the streams per connection asked for.
var ErrStreamLimit = errors.New("too many streams per connection for the server")

// SetupError is an HTTP/2 connection the run cannot use at all: the
// server does not offer the extended CONNECT (wire.ErrNoExtendedConnect),
// allows fewer concurrent streams than asked for (ErrStreamLimit), or is
// not an HTTP/2 server. Run returns it instead of counting every
// connection as failed, found on the first connection before the ramp.
type SetupError struct{ Err error }

func (e *SetupError) Error() string { return e.Err.Error() }
func (e *SetupError) Unwrap() error { return e.Err }

// h2Pool holds a run's HTTP/2 connections, each shared by perConn
// WebSocket streams.
type h2Pool struct {
	host    string // host:port to dial
	tls     *tls.Config
	perConn int
	fields  []hpack.HeaderField // the extended CONNECT, the same for every stream
	// netDialer returns the TCP dialer of connection n (its source
	// address).
	netDialer func(n int) *net.Dialer

	mu     sync.Mutex
	groups map[int]*h2Group
	// tcp counts the HTTP/2 connections made.
	tcp atomic.Int64
}

// h2Group is one HTTP/2 connection, dialled by the first of its streams
// to need it; the others wait for it.
type h2Group struct {
	ready chan struct{} // closed once hc or err is set
	hc    *h2.Conn
	err   error
}

func newH2Pool(u *url.URL, perConn int, tlsConfig *tls.Config, netDialer func(int) *net.Dialer) *h2Pool {
	// The key is irrelevant over HTTP/2 (RFC 8441 §5) and not sent.
	fields := wirehs.ExtendedConnect(u, wirehs.UpgradeRequest(u, "AAAAAAAAAAAAAAAAAAAAAA=="))
	if tlsConfig == nil {
		tlsConfig = &tls.Config{}
	} else {
		tlsConfig = tlsConfig.Clone()
	}
	if u.Scheme == wire.SchemeWSSH2 {
		tlsConfig.ServerName = u.Hostname()
		tlsConfig.NextProtos = []string{"h2"}
	} else {
		tlsConfig = nil
	}
	return &h2Pool{host: wire.HostPort(u), tls: tlsConfig, perConn: perConn, fields: fields, netDialer: netDialer, groups: map[int]*h2Group{}}
}

// conn returns the HTTP/2 connection of WebSocket i, dialling it when it
// is the first to need it.
func (p *h2Pool) conn(ctx context.Context, i int) (*h2.Conn, error) {
	n := i / p.perConn
	g, first := p.group(n)
	if first {
		g.hc, g.err = p.dial(ctx, p.netDialer(n))
		if g.err == nil {
			p.tcp.Add(1)
		}
		close(g.ready)
	}
	select {
	case <-g.ready:
	case <-ctx.Done():
		return nil, ctx.Err()
	}
	return g.hc, g.err
}

func (p *h2Pool) group(n int) (g *h2Group, first bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if g = p.groups[n]; g != nil {
		return g, false
	}
	g = &h2Group{ready: make(chan struct{})}
	p.groups[n] = g
	return g, true
}

// dial makes one HTTP/2 connection: TCP, TLS with ALPN h2 for wss+h2://,
// the prefaces, and the server's SETTINGS checked for what the run needs.
func (p *h2Pool) dial(ctx context.Context, nd *net.Dialer) (*h2.Conn, error) {
	nc, err := nd.DialContext(ctx, "tcp", p.host)
	if err != nil {
		return nil, err
	}
	if p.tls != nil {
		tc := tls.Client(nc, p.tls)
		if err := tc.HandshakeContext(ctx); err != nil {
			_ = nc.Close()
			return nil, fmt.Errorf("TLS handshake with %s: %w", p.host, err)
		}
		if got := tc.ConnectionState().NegotiatedProtocol; got != "h2" {
			_ = tc.Close()
			return nil, &SetupError{fmt.Errorf("%s: the server did not agree to HTTP/2 in ALPN (it chose %q)", p.host, got)}
		}
		nc = tc
	}
	// No Trace: a load run keeps no wire log.
	hc, err := h2.Dial(ctx, nc, h2.Options{Timeout: nd.Timeout})
	if err != nil {
		if classify(err) == FailOther {
			// Not a transport failure: the server spoke something else.
			return nil, &SetupError{fmt.Errorf("%s: %w", p.host, err)}
		}
		return nil, err
	}
	s := hc.Settings()
	if !s.EnableConnectProtocol {
		_ = hc.Close()
		return nil, &SetupError{fmt.Errorf("%s: %w", p.host, wire.ErrNoExtendedConnect)}
	}
	if s.MaxConcurrentStreams != nil && int(*s.MaxConcurrentStreams) < p.perConn {
		_ = hc.Close()
		return nil, &SetupError{fmt.Errorf("%w: --streams-per-conn %d, but %s allows %d concurrent streams per connection (SETTINGS_MAX_CONCURRENT_STREAMS); use at most %d",
			ErrStreamLimit, p.perConn, p.host, *s.MaxConcurrentStreams, *s.MaxConcurrentStreams)}
	}
	return hc, nil
}

// open opens WebSocket i's stream: the extended CONNECT, answered 200
// within ctx. A server that later lowers its stream limit resets the
// stream (REFUSED_STREAM), which fails this WebSocket alone.
func (p *h2Pool) open(ctx context.Context, i int) (net.Conn, error) {
	hc, err := p.conn(ctx, i)
	if err != nil {
		return nil, err
	}
	st, err := hc.Open(p.fields, false)
	if err != nil {
		return nil, fmt.Errorf("send the extended CONNECT: %w", err)
	}
	resp, err := st.Response(ctx)
	if err != nil {
		_ = st.Close()
		return nil, err
	}
	if resp.Status != 200 || resp.EndStream {
		_ = st.Close()
		return nil, fmt.Errorf("%w: the extended CONNECT was answered :status %d%s, not 200 (RFC 8441 §5)",
			websocket.ErrBadHandshake, resp.Status, map[bool]string{true: " with END_STREAM"}[resp.EndStream])
	}
	return &streamShim{Conn: st}, nil
}

// close ends every HTTP/2 connection; the streams were closed before.
func (p *h2Pool) close() {
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, g := range p.groups {
		select {
		case <-g.ready:
			if g.hc != nil {
				_ = g.hc.SendGoAway(0, http2.ErrCodeNo)
				_ = g.hc.Close()
			}
		default:
		}
	}
}

// streamShim lets gorilla's client, which knows only the HTTP/1.1
// upgrade, take a stream whose extended CONNECT was already answered: it
// reads gorilla's upgrade request, sends nothing, and answers it with
// the 101 gorilla checks, locally. From then on reads and writes are the
// stream's.
type streamShim struct {
	net.Conn
	req      bytes.Buffer // gorilla's request, until it is complete
	resp     []byte       // the local answer, while unread
	upgraded bool         // the answer has been read: pass through
}

func (s *streamShim) Write(p []byte) (int, error) {
	if s.resp != nil || s.upgraded {
		return s.Conn.Write(p)
	}
	s.req.Write(p)
	if !bytes.Contains(s.req.Bytes(), []byte("\r\n\r\n")) {
		return len(p), nil
	}
	req, err := http.ReadRequest(bufio.NewReader(&s.req))
	if err != nil {
		return 0, fmt.Errorf("read the client's upgrade request: %w", err)
	}
	var b strings.Builder
	b.WriteString("HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n")
	fmt.Fprintf(&b, "Sec-WebSocket-Accept: %s\r\n\r\n", wirehs.AcceptKey(req.Header.Get("Sec-WebSocket-Key")))
	s.resp = []byte(b.String())
	return len(p), nil
}

// Read hands out the local answer, then the stream's DATA. gorilla reads
// the answer and stops (a 101 has no body), so nothing of the stream's is
// read before the upgrade.
func (s *streamShim) Read(p []byte) (int, error) {
	if s.upgraded {
		return s.Conn.Read(p)
	}
	if s.resp == nil {
		return 0, errors.New("read before the upgrade request was written")
	}
	n := copy(p, s.resp)
	s.resp = s.resp[n:]
	if len(s.resp) == 0 {
		s.upgraded = true
	}
	return n, nil
}

// isH2URL reports whether rawURL asks for WebSockets over HTTP/2.
func isH2URL(rawURL string) bool { return wire.TransportOfURL(rawURL) == wire.HTTP2 }

// ToH2 returns a ws:// or wss:// URL as the ws+h2:// or wss+h2:// URL of
// the same server (the --h2 flag); a URL already over HTTP/2 stays.
func ToH2(rawURL string) string {
	for _, s := range []string{wire.SchemeWS, wire.SchemeWSS} {
		if rest, ok := strings.CutPrefix(rawURL, s+"://"); ok {
			return s + "+h2://" + rest
		}
	}
	return rawURL
}

// ToH1 returns a ws+h2:// or wss+h2:// URL as the ws:// or wss:// URL of
// the same server (--h2=false); other URLs stay.
func ToH1(rawURL string) string {
	for _, s := range []string{wire.SchemeWSH2, wire.SchemeWSSH2} {
		if rest, ok := strings.CutPrefix(rawURL, s+"://"); ok {
			return strings.TrimSuffix(s, "+h2") + "://" + rest
		}
	}
	return rawURL
}
