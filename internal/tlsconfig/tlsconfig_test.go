package tlsconfig

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/wsharness/wsharness/internal/selfsigned"
)

func TestClient(t *testing.T) {
	if cfg, err := Client("", false); cfg != nil || err != nil {
		t.Errorf("no options: %v %v, want nil (system roots)", cfg, err)
	}
	if cfg, err := Client("", true); err != nil || cfg == nil || !cfg.InsecureSkipVerify {
		t.Errorf("insecure: %+v %v", cfg, err)
	}
	c, err := selfsigned.Generate()
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	ca := filepath.Join(dir, "ca.pem")
	if err := os.WriteFile(ca, c.PEM, 0o644); err != nil {
		t.Fatal(err)
	}
	cfg, err := Client(ca, false)
	if err != nil || cfg == nil || cfg.RootCAs == nil || cfg.InsecureSkipVerify {
		t.Fatalf("CA file: %+v %v", cfg, err)
	}
	if !cfg.RootCAs.Equal(c.Pool()) {
		t.Error("the pool does not hold exactly the file's certificate")
	}
	notPEM := filepath.Join(dir, "not.pem")
	if err := os.WriteFile(notPEM, []byte("hello"), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		ca       string
		insecure bool
		want     []string
	}{
		{filepath.Join(dir, "missing.pem"), false, []string{"missing.pem", "no such file"}},
		{notPEM, false, []string{"not.pem", "no PEM certificate"}},
		{ca, true, []string{"ca.pem", "exclude each other"}},
	} {
		_, err := Client(tc.ca, tc.insecure)
		for _, w := range tc.want {
			if err == nil || !strings.Contains(err.Error(), w) {
				t.Errorf("Client(%s, %v) = %v, want an error mentioning %q", tc.ca, tc.insecure, err, w)
			}
		}
	}
}
