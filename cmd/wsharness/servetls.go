package main

import (
	"context"
	"crypto/tls"
	"flag"
	"fmt"
	"os"
	"path/filepath"

	"github.com/wsharness/wsharness/internal/selfsigned"
	"github.com/wsharness/wsharness/targets"
)

// serveTLSFlags are serve's TLS flags: --tls with a generated certificate
// written to --cert-out, or the user's --cert and --key.
type serveTLSFlags struct {
	on                 *bool
	certOut, cert, key *string
}

func addServeTLSFlags(fs *flag.FlagSet) serveTLSFlags {
	return serveTLSFlags{
		on:      fs.Bool("tls", false, "serve wss:// with a generated self-signed certificate (ECDSA P-256 for 127.0.0.1, ::1 and localhost, valid 7 days), written to --cert-out for clients to trust"),
		certOut: fs.String("cert-out", "", "with --tls: where to write the certificate (PEM) clients pass as --ca / CA= (default out/tls/TARGET.pem)"),
		cert:    fs.String("cert", "", "serve wss:// with this certificate (PEM, with --key) instead of a generated one"),
		key:     fs.String("key", "", "the private key (PEM) of --cert"),
	}
}

// serverTLS is what serve's TLS flags ask for.
type serverTLS struct {
	config *tls.Config
	// pem is the generated certificate to write to path; nil when the
	// user gave --cert (path is then that file).
	pem  []byte
	path string
}

// config checks the flags and returns the server TLS configuration, nil
// without TLS. Inconsistent flags, or a certificate and key that do not
// load, are usage errors.
func (f serveTLSFlags) config(target string) (*serverTLS, error) {
	own := *f.cert != "" || *f.key != ""
	switch {
	case own && (*f.cert == "" || *f.key == ""):
		return nil, usageError("--cert and --key go together")
	case own && *f.certOut != "":
		return nil, usageError("--cert-out writes a generated certificate; with --cert the certificate is %s", *f.cert)
	case !*f.on && !own && *f.certOut != "":
		return nil, usageError("--cert-out needs --tls")
	case own:
		pair, err := tls.LoadX509KeyPair(*f.cert, *f.key)
		if err != nil {
			return nil, usageError("--cert %s --key %s: %v", *f.cert, *f.key, err)
		}
		return &serverTLS{config: &tls.Config{Certificates: []tls.Certificate{pair}, MinVersion: tls.VersionTLS12}, path: *f.cert}, nil
	case !*f.on:
		return nil, nil
	}
	cert, err := selfsigned.Generate()
	if err != nil {
		return nil, err
	}
	path := *f.certOut
	if path == "" {
		path = filepath.Join("out", "tls", target+".pem")
	}
	return &serverTLS{config: cert.ServerConfig(), pem: cert.PEM, path: path}, nil
}

// start starts t, over TLS when s is not nil.
func (s *serverTLS) start(ctx context.Context, t targets.Target, addr string) (targets.Running, error) {
	if s == nil {
		return t.Start(ctx, addr)
	}
	return targets.StartTLS(ctx, t, addr, s.config)
}

// publish writes a generated certificate to its path and returns what the
// serving line adds: where the certificate is and how to trust it.
func (s *serverTLS) publish() (string, error) {
	if s == nil {
		return "", nil
	}
	path := s.path
	if abs, err := filepath.Abs(path); err == nil {
		path = abs
	}
	if s.pem != nil {
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			return "", fmt.Errorf("--cert-out: %w", err)
		}
		if err := os.WriteFile(path, s.pem, 0o644); err != nil {
			return "", fmt.Errorf("--cert-out: %w", err)
		}
	}
	return fmt.Sprintf("; certificate %s: pass CA=%s to make conformance, --ca %s to load and probe", path, path, path), nil
}
