package main

import (
	"bufio"
	"crypto/x509"
	"encoding/pem"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/wsharness/wsharness/internal/selfsigned"
)

// TestServeHelperProcess is not a test of its own: run by startServe as a
// child process with WSH_SERVE_HELPER set, it is `wsharness serve` with
// the arguments in that variable (separated by newlines).
func TestServeHelperProcess(t *testing.T) {
	args := os.Getenv("WSH_SERVE_HELPER")
	if args == "" {
		t.Skip("run by the TLS tests as `wsharness serve`")
	}
	os.Exit(run(strings.Split(args, "\n"), os.Stdout, os.Stderr))
}

// startServe runs `wsharness serve args...` in a child process until the
// test ends and returns the line it printed and the echo URL in it.
func startServe(t *testing.T, args ...string) (line, url string) {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^TestServeHelperProcess$")
	cmd.Env = append(os.Environ(), "WSH_SERVE_HELPER="+strings.Join(append([]string{"serve"}, args...), "\n"))
	cmd.Stderr = os.Stderr
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = cmd.Process.Signal(syscall.SIGTERM)
		_ = cmd.Wait()
	})
	lines := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(out)
		if sc.Scan() {
			lines <- sc.Text()
		}
		close(lines)
		for sc.Scan() { // keep the pipe drained
		}
	}()
	select {
	case line = <-lines:
	case <-time.After(20 * time.Second):
		t.Fatal("serve printed nothing within 20 s")
	}
	for _, w := range strings.Fields(line) {
		if strings.HasPrefix(w, "wss://") || strings.HasPrefix(w, "ws://") || strings.HasPrefix(w, "ws+h2://") || strings.HasPrefix(w, "wss+h2://") {
			return line, w
		}
	}
	t.Fatalf("serve printed %q: no URL", line)
	return "", ""
}

// `serve --tls` writes its certificate where the line says; probe and a
// short load over wss:// succeed with it as --ca and fail, with the
// certificate error and how to trust it, without it.
func TestServeTLSProbeAndLoad(t *testing.T) {
	dir := t.TempDir()
	certFile := filepath.Join(dir, "gws.pem")
	line, url := startServe(t, "--target", "gws", "--tls", "--addr", "127.0.0.1:0", "--cert-out", certFile)
	if !strings.HasPrefix(url, "wss://127.0.0.1:") || !strings.HasSuffix(url, "/echo") {
		t.Fatalf("serve --tls: URL %q in %q", url, line)
	}
	if !strings.Contains(line, "certificate "+certFile) || !strings.Contains(line, "CA="+certFile) {
		t.Errorf("the serving line does not say where the certificate is: %q", line)
	}
	if b, err := os.ReadFile(certFile); err != nil || !strings.HasPrefix(string(b), "-----BEGIN CERTIFICATE-----") {
		t.Fatalf("certificate file: %v %q", err, b)
	}

	if code, stdout, stderr := runCLI("probe", "--ca", certFile, url); code != exitOK || !strings.Contains(stdout, "handshake completed") {
		t.Errorf("probe --ca: exit %d, %q %q", code, stdout, stderr)
	}
	if code, _, stderr := runCLI("probe", url); code != exitUnreachable ||
		!strings.Contains(stderr, "x509: certificate signed by unknown authority") || !strings.Contains(stderr, "--ca FILE") {
		t.Errorf("probe without --ca: exit %d, %q", code, stderr)
	}
	if code, stdout, stderr := runCLI("probe", "--insecure", url); code != exitOK {
		t.Errorf("probe --insecure: exit %d, %q %q", code, stdout, stderr)
	}

	start := time.Now()
	code, stdout, stderr := runCLI("load", "--url", url, "--ca", certFile, "--duration", "1s", "--conns", "10",
		"--rate", "100", "--warmup", "0s", "--drain", "1s", "--quiet")
	if code != exitOK || !strings.Contains(stdout, "10/10 established") {
		t.Errorf("load --ca: exit %d\n%s%s", code, stdout, stderr)
	}
	t.Logf("load over wss:// with --ca: %v", time.Since(start).Round(time.Millisecond))
	code, stdout, stderr = runCLI("load", "--url", url, "--duration", "1s", "--conns", "10", "--rate", "100", "--quiet")
	var errLine string
	for _, l := range strings.Split(stderr, "\n") {
		if strings.HasPrefix(l, "wsharness load: ") {
			errLine = l
		}
	}
	if code != exitUnreachable || !strings.Contains(stdout, "tls 10") ||
		!strings.Contains(errLine, "x509: certificate signed by unknown authority") || !strings.Contains(errLine, "--ca FILE") {
		t.Errorf("load without --ca: exit %d, want %d with an error line naming the certificate error\n%s%s", code, exitUnreachable, stdout, stderr)
	}

	missing := filepath.Join(dir, "missing.pem")
	for _, args := range [][]string{
		{"load", "--url", url, "--ca", missing},
		{"probe", "--ca", missing, url},
		{"load", "--url", url, "--ca", certFile, "--insecure"},
	} {
		code, _, stderr := runCLI(args...)
		if code != exitUsage {
			t.Errorf("%v: exit %d, want %d (%q)", args, code, exitUsage, stderr)
		}
		if strings.Contains(strings.Join(args, " "), missing) && !strings.Contains(stderr, missing) {
			t.Errorf("%v: the error does not name the file: %q", args, stderr)
		}
	}
}

// `serve --cert --key` serves the user's certificate.
func TestServeOwnCertificate(t *testing.T) {
	cert, err := selfsigned.Generate()
	if err != nil {
		t.Fatal(err)
	}
	der, err := x509.MarshalPKCS8PrivateKey(cert.Certificate.PrivateKey)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	certFile, keyFile := filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem")
	if err := os.WriteFile(certFile, cert.PEM, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(keyFile, pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der}), 0o600); err != nil {
		t.Fatal(err)
	}
	_, url := startServe(t, "--target", "gorilla", "--cert", certFile, "--key", keyFile, "--addr", "127.0.0.1:0")
	if code, stdout, stderr := runCLI("probe", "--ca", certFile, url); code != exitOK {
		t.Errorf("probe of the user's certificate: exit %d, %q %q", code, stdout, stderr)
	}

	for _, args := range [][]string{
		{"serve", "--target", "gorilla", "--cert", certFile},
		{"serve", "--target", "gorilla", "--key", keyFile},
		{"serve", "--target", "gorilla", "--cert-out", filepath.Join(dir, "x.pem")},
		{"serve", "--target", "gorilla", "--cert", certFile, "--key", keyFile, "--cert-out", filepath.Join(dir, "x.pem")},
		{"serve", "--target", "gorilla", "--cert", keyFile, "--key", certFile},
		{"serve", "--target", "gorilla", "--cert", filepath.Join(dir, "none.pem"), "--key", keyFile},
	} {
		if code, _, stderr := runCLI(args...); code != exitUsage {
			t.Errorf("%v: exit %d, want %d (%q)", args, code, exitUsage, stderr)
		}
	}
}
