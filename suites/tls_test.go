package suites_test

import (
	"crypto/tls"
	"flag"
	"fmt"

	"github.com/wsharness/wsharness/internal/tlsconfig"
)

// TLS flags: how the cases' client (and the readiness probe of a server
// started by -wsh.target-cmd) verifies a wss:// server's certificate.
// make conformance passes CA= and INSECURE=1 as these.
var (
	flagCA       = flag.String("wsh.ca", "", "PEM file of the CA (or self-signed certificate) a wss:// server's certificate must chain to; default: the system roots")
	flagInsecure = flag.Bool("wsh.insecure", false, "do not verify a wss:// server's certificate")
)

// suiteTLS is the client TLS configuration of every case, built once from
// the flags; nil means the system roots.
var suiteTLS *tls.Config

// setupTLS builds suiteTLS from -wsh.ca and -wsh.insecure (a CA file that
// cannot be read is an error naming it); engine.Want.Start hands it to
// the readiness probes of servers it starts.
func setupTLS() error {
	cfg, err := tlsconfig.Client(*flagCA, *flagInsecure)
	if err != nil {
		return fmt.Errorf("-wsh.ca/-wsh.insecure: %w", err)
	}
	suiteTLS = cfg
	return nil
}
