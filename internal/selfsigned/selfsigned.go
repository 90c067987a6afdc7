// Package selfsigned makes the short-lived self-signed certificates the
// reference targets serve TLS (wss://) with: ECDSA P-256, valid for
// 127.0.0.1, ::1 and localhost, made with crypto/x509 alone.
package selfsigned

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"fmt"
	"math/big"
	"net"
	"time"
)

// Validity is how long a generated certificate is valid: long enough for
// any test run or `wsharness serve --tls` session, short enough that a
// copied certificate soon stops mattering.
const Validity = 7 * 24 * time.Hour

// Hosts are the names a generated certificate is valid for: the loopback
// addresses the targets listen on.
var Hosts = []string{"127.0.0.1", "::1", "localhost"}

// Cert is a generated certificate and its private key.
type Cert struct {
	// Certificate is what a server presents.
	Certificate tls.Certificate
	// Leaf is the parsed certificate.
	Leaf *x509.Certificate
	// PEM is the certificate PEM-encoded: a client that trusts it as a CA
	// file (--ca FILE, CA=FILE) accepts the server.
	PEM []byte
}

// Generate makes a self-signed certificate for Hosts, valid from an hour
// ago (clock skew) for Validity.
func Generate() (*Cert, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, fmt.Errorf("self-signed certificate: generate key: %w", err)
	}
	serial, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 128))
	if err != nil {
		return nil, fmt.Errorf("self-signed certificate: serial number: %w", err)
	}
	now := time.Now()
	tmpl := &x509.Certificate{
		SerialNumber: serial,
		Subject:      pkix.Name{Organization: []string{"wsharness"}, CommonName: "wsharness self-signed reference target"},
		NotBefore:    now.Add(-time.Hour),
		NotAfter:     now.Add(Validity),
		// Its own issuer: a client trusts it by adding it as a root.
		IsCA:                  true,
		BasicConstraintsValid: true,
		KeyUsage:              x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign,
		ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	for _, h := range Hosts {
		if ip := net.ParseIP(h); ip != nil {
			tmpl.IPAddresses = append(tmpl.IPAddresses, ip)
		} else {
			tmpl.DNSNames = append(tmpl.DNSNames, h)
		}
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		return nil, fmt.Errorf("self-signed certificate: %w", err)
	}
	leaf, err := x509.ParseCertificate(der)
	if err != nil {
		return nil, fmt.Errorf("self-signed certificate: parse: %w", err)
	}
	return &Cert{
		Certificate: tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key, Leaf: leaf},
		Leaf:        leaf,
		PEM:         pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}),
	}, nil
}

// ServerConfig returns a server configuration presenting the certificate.
func (c *Cert) ServerConfig() *tls.Config {
	return &tls.Config{Certificates: []tls.Certificate{c.Certificate}, MinVersion: tls.VersionTLS12}
}

// Pool returns a certificate pool holding only this certificate.
func (c *Cert) Pool() *x509.CertPool {
	p := x509.NewCertPool()
	p.AddCert(c.Leaf)
	return p
}

// ClientConfig returns a client configuration that trusts this
// certificate and nothing else.
func (c *Cert) ClientConfig() *tls.Config {
	return &tls.Config{RootCAs: c.Pool(), MinVersion: tls.VersionTLS12}
}
