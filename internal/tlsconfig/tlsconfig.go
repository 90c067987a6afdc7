// Package tlsconfig builds the TLS client configuration of wss:// runs from
// the user's options (a CA file, or no verification at all) and recognises
// the errors a certificate the client does not accept produces.
package tlsconfig

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io/fs"
	"os"
)

// Client returns the client configuration for caFile and insecure: the
// certificates of caFile (PEM) as the only roots, or no certificate
// verification at all, or nil (the system roots) when neither is given.
// A CA file that cannot be read or holds no PEM certificate is an error
// naming the file; so is asking for both.
func Client(caFile string, insecure bool) (*tls.Config, error) {
	switch {
	case caFile != "" && insecure:
		return nil, fmt.Errorf("a CA file (%s) and no verification (insecure) exclude each other: give one", caFile)
	case insecure:
		return &tls.Config{InsecureSkipVerify: true}, nil
	case caFile == "":
		return nil, nil
	}
	pool, err := LoadPool(caFile)
	if err != nil {
		return nil, err
	}
	return &tls.Config{RootCAs: pool}, nil
}

// LoadPool reads the PEM certificates of a CA file into a pool.
func LoadPool(caFile string) (*x509.CertPool, error) {
	b, err := os.ReadFile(caFile)
	if err != nil {
		var pe *fs.PathError
		if errors.As(err, &pe) {
			err = pe.Err
		}
		return nil, fmt.Errorf("CA file %s: %w", caFile, err)
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(b) {
		return nil, fmt.Errorf("CA file %s: no PEM certificate in it (want -----BEGIN CERTIFICATE-----)", caFile)
	}
	return pool, nil
}

// IsCertificateError reports whether err is the client refusing the
// server's certificate: unknown authority, wrong host, expired or
// otherwise invalid.
func IsCertificateError(err error) bool {
	var (
		verify   *tls.CertificateVerificationError
		unknown  x509.UnknownAuthorityError
		hostname x509.HostnameError
		invalid  x509.CertificateInvalidError
	)
	return errors.As(err, &verify) || errors.As(err, &unknown) || errors.As(err, &hostname) || errors.As(err, &invalid)
}

// IsHandshakeError reports whether err comes from the TLS handshake: a
// certificate the client refused, an alert the server sent, or a peer
// that does not speak TLS at all.
func IsHandshakeError(err error) bool {
	var (
		alert  tls.AlertError
		record tls.RecordHeaderError
		echErr *tls.ECHRejectionError
	)
	return IsCertificateError(err) || errors.As(err, &alert) || errors.As(err, &record) || errors.As(err, &echErr)
}

// Hint is what to tell a user whose client refused a certificate.
const Hint = "trust it with --ca FILE or skip verification with --insecure; make conformance: CA=FILE or INSECURE=1"

// State describes an established TLS connection for a log: version,
// cipher suite and whether the peer's certificate was verified.
func State(cs tls.ConnectionState, verified bool) string {
	v := "certificate verified"
	if !verified {
		v = "certificate NOT verified (insecure)"
	}
	alpn := ""
	if cs.NegotiatedProtocol != "" {
		alpn = ", ALPN " + cs.NegotiatedProtocol
	}
	return fmt.Sprintf("%s, %s%s, %s", tls.VersionName(cs.Version), tls.CipherSuiteName(cs.CipherSuite), alpn, v)
}
