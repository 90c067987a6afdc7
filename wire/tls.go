package wire

import (
	"context"
	"crypto/tls"
	"fmt"
	"net"

	"github.com/wsharness/wsharness/internal/tlsconfig"
)

// clientTLS runs the client side of a TLS handshake on nc, bounded by ctx.
// The server name defaults to serverName (the URL's host); HTTP/1.1 is the
// only protocol offered by ALPN unless cfg says otherwise, since the
// upgrade is an HTTP/1.1 request. On failure nc is closed and the error
// names addr and, for a refused certificate, how to trust it.
func clientTLS(ctx context.Context, nc net.Conn, serverName, addr string, cfg *tls.Config, log *Log) (net.Conn, error) {
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
	return tc, nil
}
