package wire

import (
	"context"
	"crypto/tls"
	"fmt"
	"net"

	"github.com/wsharness/wsharness/internal/tlsconfig"
)

// clientTLS runs the client side of a TLS handshake on nc, bounded by ctx.
// The server name defaults to serverName (the URL's host). ALPN offers the
// transport's protocol alone unless cfg says otherwise: http/1.1 for the
// upgrade, h2 for an extended CONNECT, which a server that does not agree
// to h2 fails. On failure nc is closed and the error
// names addr and, for a refused certificate, how to trust it.
func clientTLS(ctx context.Context, nc net.Conn, serverName, addr string, cfg *tls.Config, transport Transport, log *Log) (net.Conn, error) {
	if cfg == nil {
		cfg = &tls.Config{}
	} else {
		cfg = cfg.Clone()
	}
	if cfg.ServerName == "" {
		cfg.ServerName = serverName
	}
	if len(cfg.NextProtos) == 0 {
		cfg.NextProtos = []string{"http/1.1"}
		if transport == HTTP2 {
			cfg.NextProtos = []string{"h2"}
		}
	}
	tc := tls.Client(nc, cfg)
	if err := tc.HandshakeContext(ctx); err != nil {
		_ = nc.Close()
		log.Note("TLS handshake with %s failed: %v", addr, err)
		if tlsconfig.IsCertificateError(err) {
			return nil, fmt.Errorf("TLS handshake with %s: %w (%s)", addr, err, tlsconfig.Hint)
		}
		return nil, fmt.Errorf("TLS handshake with %s: %w", addr, describeIOError(err))
	}
	log.Note("TLS session with %s (server name %q): %s", addr, cfg.ServerName, tlsconfig.State(tc.ConnectionState(), !cfg.InsecureSkipVerify))
	if got := tc.ConnectionState().NegotiatedProtocol; transport == HTTP2 && got != "h2" {
		_ = tc.Close()
		return nil, fmt.Errorf("TLS handshake with %s: the server did not agree to HTTP/2 in ALPN (it chose %q; RFC 9113 §3.2)", addr, got)
	}
	return tc, nil
}
