package main

import (
	"crypto/tls"
	"errors"
	"flag"
	"fmt"
	"sync"

	"github.com/wsharness/wsharness/internal/tlsconfig"
	"github.com/wsharness/wsharness/loadgen"
)

// tlsFlags are --ca and --insecure: how a client verifies a wss://
// server's certificate.
type tlsFlags struct {
	ca       *string
	insecure *bool
}

func addTLSFlags(fs *flag.FlagSet) tlsFlags {
	return tlsFlags{
		ca:       fs.String("ca", "", "wss://: PEM file of the CA (or self-signed certificate, such as the one 'wsharness serve --tls' writes) the server's certificate must chain to; default: the system roots"),
		insecure: fs.Bool("insecure", false, "wss://: do not verify the server's certificate"),
	}
}

// config returns the client TLS configuration the flags ask for (nil: the
// system roots). A CA file that cannot be read, or both flags, is a usage
// error naming the file.
func (f tlsFlags) config() (*tls.Config, error) {
	if *f.ca != "" && *f.insecure {
		return nil, usageError("--ca and --insecure exclude each other: give one")
	}
	cfg, err := tlsconfig.Client(*f.ca, *f.insecure)
	if err != nil {
		return nil, usageError("--ca: %v", err)
	}
	return cfg, nil
}

// firstTLSError keeps the first TLS handshake error of a load run, so that
// a run whose connections all failed it can say why.
type firstTLSError struct {
	mu  sync.Mutex
	err error
}

// note is a loadgen.Config.DialError.
func (f *firstTLSError) note(kind string, err error) {
	if kind != loadgen.FailTLS {
		return
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.err == nil {
		f.err = err
	}
}

// explain adds the TLS error, and for a refused certificate how to trust
// it, to the error of a run in which no connection was established.
func (f *firstTLSError) explain(err error) error {
	f.mu.Lock()
	tlsErr := f.err
	f.mu.Unlock()
	var ee *exitError
	if tlsErr == nil || !errors.As(err, &ee) {
		return err
	}
	reason := "TLS handshake failed: " + tlsErr.Error()
	if tlsconfig.IsCertificateError(tlsErr) {
		reason += " (pass --ca FILE, e.g. the certificate 'wsharness serve --tls' wrote, or --insecure)"
	}
	return &exitError{code: ee.code, err: fmt.Errorf("%w: %s", ee.err, reason)}
}
