package loadgen

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net"
	"net/url"
	"os"
	"syscall"
	"time"

	"github.com/gorilla/websocket"
	"golang.org/x/sys/unix"

	"github.com/wsharness/wsharness/internal/sockopt"
	"github.com/wsharness/wsharness/internal/tlsconfig"
	"github.com/wsharness/wsharness/wire"
	"github.com/wsharness/wsharness/wire/h2"
)

// Failure reasons for connections, as the result counts them: dial
// failures in Connections.Failures, established connections that failed
// during the run in Connections.Drops. This is the one list of kinds
// (docs/load.md, "Failed and dropped connections").
//
//   - refused: nothing listens (ECONNREFUSED);
//   - timeout: the TCP connect or the handshake took longer than the dial
//     timeout; for an established connection, a write blocked past its
//     deadline (a server that does not read);
//   - bad_handshake: the server answered, but not with a valid 101: a
//     status other than 101, missing or wrong upgrade headers, a malformed
//     or oversized (MaxHandshakeBytes) response, or one cut short;
//   - reset: a TCP reset (ECONNRESET, EPIPE);
//   - dns: the host name did not resolve (FailDNS);
//   - closed: the server closed the connection without a reset: a Close
//     frame, or TCP closed without one (also in the middle of a frame), or
//     before answering the handshake;
//   - protocol: established connections only: the server broke RFC 6455 as
//     gorilla checks it (reserved bits, unknown opcode, masked or oversized
//     control frame, a bad close code or reason), or sent a message over
//     the read limit (readLimit), such as a frame declaring 2^63 bytes;
//   - tls: the TLS handshake of a wss:// connection failed: the client
//     refused the server's certificate (unknown authority, wrong host,
//     expired), the server sent an alert, or it does not speak TLS;
//   - other: anything else.
const (
	FailRefused      = "refused"
	FailTimeout      = "timeout"
	FailBadHandshake = "bad_handshake"
	FailReset        = "reset"
	FailDNS          = "dns" // the host name did not resolve (also a resolver timeout)
	FailClosed       = "closed"
	FailProtocol     = "protocol"
	FailTLS          = "tls"
	FailOther        = "other"
)

// classify names why a dial failed.
func classify(err error) string {
	var ne net.Error
	var dns *net.DNSError
	switch {
	case errors.Is(err, websocket.ErrBadHandshake), errors.As(err, new(*SetupError)):
		return FailBadHandshake
	case errors.As(err, new(*h2.ResetError)):
		return FailReset
	case errors.As(err, new(*h2.GoneAwayError)):
		return FailClosed
	case tlsconfig.IsHandshakeError(err):
		return FailTLS
	case errors.As(err, &dns):
		return FailDNS
	case errors.Is(err, syscall.ECONNREFUSED):
		return FailRefused
	case errors.Is(err, syscall.ECONNRESET), errors.Is(err, syscall.EPIPE):
		return FailReset
	case errors.Is(err, context.DeadlineExceeded), errors.Is(err, os.ErrDeadlineExceeded),
		errors.As(err, &ne) && ne.Timeout():
		return FailTimeout
	case errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF):
		return FailClosed
	}
	return FailOther
}

// dialer opens client connections, spreading them over source addresses
// when asked: one source address reaches a destination through at most
// ~28,000 ephemeral ports here. Over HTTP/2 it opens streams on the
// pool's connections instead (h2.go).
type dialer struct {
	ws      websocket.Dialer
	sources []net.IP
	timeout time.Duration
	// h2 is set over HTTP/2; wsURL is then the URL gorilla is given,
	// whose handshake stays local (streamShim).
	h2    *h2Pool
	wsURL string
}

func newDialer(rawURL string, sources []net.IP, timeout time.Duration, bufSize, streamsPerConn int, tlsConfig *tls.Config) (*dialer, error) {
	d := &dialer{sources: sources, timeout: timeout, wsURL: rawURL}
	d.ws = websocket.Dialer{
		HandshakeTimeout: timeout,
		TLSClientConfig:  tlsConfig,
		// Small buffers: thousands of mostly idle connections. gorilla
		// reads larger messages through them in several calls.
		ReadBufferSize:  bufSize,
		WriteBufferSize: bufSize,
	}
	if isH2URL(rawURL) {
		u, err := url.Parse(rawURL)
		if err != nil {
			return nil, fmt.Errorf("parse URL: %w", err)
		}
		d.h2 = newH2Pool(u, max(streamsPerConn, 1), tlsConfig, d.netDialer)
		// TLS, if any, is the HTTP/2 connection's: gorilla sees ws://.
		u.Scheme = wire.SchemeWS
		d.wsURL = u.String()
	}
	return d, nil
}

// netDialer is the TCP dialer of connection i.
func (d *dialer) netDialer(i int) *net.Dialer {
	nd := &net.Dialer{Timeout: d.timeout}
	if len(d.sources) > 0 {
		nd.LocalAddr = &net.TCPAddr{IP: d.sources[i%len(d.sources)]}
		// Without IP_BIND_ADDRESS_NO_PORT, bind() reserves a port per
		// source address before connect() and large bursts fail with
		// EADDRINUSE.
		nd.Control = sockopt.Int(unix.IPPROTO_IP, unix.IP_BIND_ADDRESS_NO_PORT, 1)
	}
	return nd
}

// dial opens connection i.
func (d *dialer) dial(ctx context.Context, i int) (*websocket.Conn, error) {
	ws := d.ws
	hs := &handshake{}
	if d.h2 != nil {
		ws.NetDialContext = func(ctx context.Context, _, _ string) (net.Conn, error) { return d.h2.open(ctx, i) }
	} else {
		ws.NetDialContext = hs.wrap(d.netDialer(i).DialContext)
	}
	ctx, cancel := context.WithTimeout(ctx, d.timeout)
	defer cancel()
	c, resp, err := ws.DialContext(ctx, d.wsURL, nil)
	if resp != nil && resp.Body != nil {
		_ = resp.Body.Close()
	}
	if err != nil {
		if resp != nil && errors.Is(err, websocket.ErrBadHandshake) {
			return nil, fmt.Errorf("%w: HTTP %d", err, resp.StatusCode)
		}
		return nil, hs.explain(err)
	}
	hs.lift()
	return c, nil
}

// preflight makes the first HTTP/2 connection before the ramp, so that a
// server the run cannot use (SetupError) fails it with one error rather
// than every connection; the connection is kept for the first streams.
// Failures of other kinds are the first connections' to count.
func (d *dialer) preflight(ctx context.Context) error {
	if d.h2 == nil {
		return nil
	}
	ctx, cancel := context.WithTimeout(ctx, d.timeout)
	defer cancel()
	_, err := d.h2.conn(ctx, 0)
	if se := (*SetupError)(nil); errors.As(err, &se) {
		return se
	}
	return nil
}

// tcpConns is the number of TCP connections made: one per WebSocket over
// HTTP/1.1 (established), one per HTTP/2 connection otherwise.
func (d *dialer) tcpConns(established int) int {
	if d.h2 == nil {
		return established
	}
	return int(d.h2.tcp.Load())
}

// loopbackSources returns n source addresses 127.0.0.1, 127.0.0.2, ... for
// a loopback destination, or nil when the destination is not loopback.
func loopbackSources(rawURL string, n int) ([]net.IP, error) {
	u, err := url.Parse(rawURL)
	if err != nil {
		return nil, err
	}
	ip := net.ParseIP(u.Hostname())
	if u.Hostname() == "localhost" {
		ip = net.IPv4(127, 0, 0, 1)
	}
	if ip == nil || !ip.IsLoopback() || ip.To4() == nil {
		return nil, nil
	}
	out := make([]net.IP, n)
	for i := range out {
		out[i] = net.IPv4(127, 0, 0, byte(1+i))
	}
	return out, nil
}
