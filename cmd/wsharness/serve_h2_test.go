package main

import (
	"context"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/wsharness/wsharness/internal/tlsconfig"
	"github.com/wsharness/wsharness/targets"
	"github.com/wsharness/wsharness/wire"
)

// `serve --target gobwas-h2` prints ws+h2:// URLs (wss+h2:// with --tls),
// which StartProcess and wire.Dial take: a WebSocket over HTTP/2 echoes.
func TestServeH2Target(t *testing.T) {
	for _, tc := range []struct {
		tls    bool
		scheme string
	}{{false, "ws+h2://"}, {true, "wss+h2://"}} {
		args := []string{"--target", "gobwas-h2", "--addr", "127.0.0.1:0"}
		certFile := filepath.Join(t.TempDir(), "cert.pem")
		if tc.tls {
			args = append(args, "--tls", "--cert-out", certFile)
		}
		line, url := startServe(t, args...)
		if !strings.HasPrefix(url, tc.scheme+"127.0.0.1:") || !strings.HasSuffix(url, targets.EchoPath) ||
			!strings.Contains(line, tc.scheme) || !strings.Contains(line, targets.BroadcastPath) {
			t.Fatalf("serve: URL %q in %q, want %s", url, line, tc.scheme)
		}
		o := wire.Options{Timeout: 10 * time.Second}
		if tc.tls {
			cfg, err := tlsconfig.Client(certFile, false)
			if err != nil {
				t.Fatal(err)
			}
			o.TLS = cfg
		}
		ctx := context.Background()
		conn, hs, err := wire.Dial(ctx, url, o)
		if err != nil {
			t.Fatalf("dial %s: %v", url, err)
		}
		if conn.Transport() != wire.HTTP2 || hs.Response.Status != 200 {
			t.Errorf("%s: %v, status %d", url, conn.Transport(), hs.Response.Status)
		}
		if err := conn.WriteFrames(ctx, []wire.Frame{wire.Text("hi")}, wire.OneWrite); err != nil {
			t.Fatal(err)
		}
		if got, err := conn.ReadFrame(time.Now().Add(10 * time.Second)); err != nil || got.Opcode != wire.OpText || string(got.Payload) != "hi" {
			t.Errorf("echo over %s: %s %q, %v", url, wire.OpName(got.Opcode), got.Payload, err)
		}
		conn.Close()
	}
}

// gobwas-h2-tls makes a certificate only the harness running it trusts,
// so serve (and load, which serves a target by serve) refuses it and
// names the target that writes its certificate.
func TestServeRefusesOwnTLSTarget(t *testing.T) {
	for _, args := range [][]string{
		{"serve", "--target", "gobwas-h2-tls", "--addr", "127.0.0.1:0"},
		{"serve", "--target", "gobwas-h2-tls", "--addr", "127.0.0.1:0", "--tls"},
		{"load", "--target", "gobwas-h2-tls", "--conns", "1", "--duration", "1s"},
	} {
		code, stdout, stderr := runCLI(args...)
		if code != exitUsage || stdout != "" || !strings.Contains(stderr, "--target gobwas-h2 --tls") {
			t.Errorf("%v: exit %d, stdout %q, stderr %q; want a usage error naming --target gobwas-h2 --tls", args, code, stdout, stderr)
		}
	}
}
