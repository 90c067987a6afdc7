package selfsigned

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/x509"
	"encoding/pem"
	"testing"
	"time"
)

func TestGenerate(t *testing.T) {
	c, err := Generate()
	if err != nil {
		t.Fatal(err)
	}
	key, ok := c.Leaf.PublicKey.(*ecdsa.PublicKey)
	if !ok || key.Curve != elliptic.P256() {
		t.Errorf("key %T, want ECDSA P-256", c.Leaf.PublicKey)
	}
	if v := c.Leaf.NotAfter.Sub(time.Now()); v <= 0 || v > Validity {
		t.Errorf("valid for another %v, want at most %v", v, Validity)
	}
	// The PEM is what a client trusts; it verifies for every loopback name.
	block, _ := pem.Decode(c.PEM)
	if block == nil || block.Type != "CERTIFICATE" {
		t.Fatalf("PEM %q", c.PEM)
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(c.PEM) {
		t.Fatal("the PEM does not load as a CA file")
	}
	for _, host := range []string{"127.0.0.1", "::1", "localhost"} {
		if _, err := c.Leaf.Verify(x509.VerifyOptions{DNSName: host, Roots: pool, KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}}); err != nil {
			t.Errorf("%s: %v", host, err)
		}
	}
	if _, err := c.Leaf.Verify(x509.VerifyOptions{DNSName: "example.com", Roots: pool}); err == nil {
		t.Error("verifies for example.com")
	}
	if _, err := c.Leaf.Verify(x509.VerifyOptions{DNSName: "127.0.0.1"}); err == nil {
		t.Error("verifies against the system roots")
	}
	d, err := Generate()
	if err != nil {
		t.Fatal(err)
	}
	if d.Leaf.SerialNumber.Cmp(c.Leaf.SerialNumber) == 0 {
		t.Error("two certificates with one serial number")
	}
}
