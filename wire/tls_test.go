package wire

import (
	"bufio"
	"context"
	"crypto/tls"
	"errors"
	"io"
	"net"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/wsharness/wsharness/internal/selfsigned"
	"github.com/wsharness/wsharness/internal/testnet"
	"github.com/wsharness/wsharness/wire/handshake"
)

// tlsUpgrade serves wss:// on loopback with a fresh self-signed
// certificate: each connection gets a 101 and an unmasked text frame
// "hi"; the server then reads until the client's end of the stream and
// reports the Host header it got and how its read ended.
type tlsUpgrade struct {
	url  string
	cert *selfsigned.Cert
	// ended receives, per connection that completed the TLS handshake,
	// the request's Host header and the error that ended the server's
	// read (io.EOF after the client's close_notify).
	ended chan tlsEnd
}

type tlsEnd struct {
	host string
	err  error
}

func startTLSUpgrade(t *testing.T) *tlsUpgrade {
	t.Helper()
	cert, err := selfsigned.Generate()
	if err != nil {
		t.Fatal(err)
	}
	s := &tlsUpgrade{cert: cert, ended: make(chan tlsEnd, 16)}
	addr := testnet.Serve(t, func(c net.Conn) {
		nc := tls.Server(c, cert.ServerConfig())
		defer nc.Close()
		_ = nc.SetDeadline(time.Now().Add(10 * time.Second))
		req, err := http.ReadRequest(bufio.NewReader(nc))
		if err != nil {
			return // includes handshakes the client refused
		}
		head := "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: " + handshake.AcceptKey(req.Header.Get("Sec-WebSocket-Key")) + "\r\n\r\n"
		_, _ = nc.Write(append([]byte(head), 0x81, 0x02, 'h', 'i')) // 101, then an unmasked "hi"
		_, err = io.Copy(io.Discard, nc)
		if err == nil {
			err = io.EOF // io.Copy reports the EOF that ended it as nil
		}
		s.ended <- tlsEnd{host: req.Host, err: err}
	})
	s.url = "wss://" + addr + "/echo"
	return s
}

func TestDialWSSWithCA(t *testing.T) {
	srv := startTLSUpgrade(t)
	log := NewLog()
	c, hs, err := Dial(t.Context(), srv.url, Options{TLS: srv.cert.ClientConfig(), Log: log})
	if err != nil {
		t.Fatalf("wss with the right CA: %v", err)
	}
	defer c.Close()
	u, _ := url.Parse(srv.url)
	if !strings.Contains(string(hs.Request), "\r\nHost: "+u.Host+"\r\n") {
		t.Errorf("request lacks Host %s:\n%s", u.Host, hs.Request)
	}
	f, err := c.ReadFrame(time.Now().Add(5 * time.Second))
	if err != nil || f.Opcode != OpText || string(f.Payload) != "hi" {
		t.Fatalf("frame over TLS: %s %q %v", OpName(f.Opcode), f.Payload, err)
	}
	var tlsNote string
	for _, e := range log.Entries() {
		if strings.HasPrefix(e.Note, "TLS session") {
			tlsNote = e.Note
		}
	}
	if !strings.Contains(tlsNote, "TLS 1.3") || !strings.Contains(tlsNote, "certificate verified") {
		t.Errorf("wire log TLS note %q: want the version and a verified certificate", tlsNote)
	}
	// CloseWrite ends the server's reads (close_notify) like a TCP FIN.
	if err := c.CloseWrite(); err != nil {
		t.Fatalf("CloseWrite: %v", err)
	}
	select {
	case end := <-srv.ended:
		if !errors.Is(end.err, io.EOF) {
			t.Errorf("server read ended with %v, want EOF after CloseWrite", end.err)
		}
		if end.host != u.Host {
			t.Errorf("server got Host %q, want %q", end.host, u.Host)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("CloseWrite did not end the server's read")
	}
}

func TestDialWSSUntrusted(t *testing.T) {
	srv := startTLSUpgrade(t)
	c, _, err := Dial(t.Context(), srv.url, Options{}) // the system roots do not know the certificate
	if err == nil {
		c.Close()
		t.Fatal("wss to a self-signed server succeeded without its CA")
	}
	host := strings.TrimPrefix(strings.TrimSuffix(srv.url, "/echo"), "wss://")
	for _, want := range []string{"TLS handshake with " + host + ": ", "x509: certificate signed by unknown authority", "--ca FILE", "--insecure"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q lacks %q", err, want)
		}
	}
	// The wrong name is refused too: the certificate is not for it.
	cfg := srv.cert.ClientConfig()
	cfg.ServerName = "example.com"
	if c, _, err := Dial(t.Context(), srv.url, Options{TLS: cfg}); err == nil || !strings.Contains(err.Error(), "example.com") {
		if c != nil {
			c.Close()
		}
		t.Errorf("wrong server name: %v", err)
	}
}

func TestDialWSSInsecure(t *testing.T) {
	srv := startTLSUpgrade(t)
	log := NewLog()
	c, _, err := Dial(t.Context(), srv.url, Options{TLS: &tls.Config{InsecureSkipVerify: true}, Log: log})
	if err != nil {
		t.Fatalf("wss without verification: %v", err)
	}
	defer c.Close()
	found := false
	for _, e := range log.Entries() {
		found = found || strings.Contains(e.Note, "NOT verified")
	}
	if !found {
		t.Errorf("the wire log does not say the certificate went unverified: %+v", log.Entries())
	}
}

// A server that accepts TCP but never answers the TLS handshake costs the
// handshake timeout, not forever.
func TestDialWSSHandshakeTimeout(t *testing.T) {
	addr := testnet.Serve(t, func(net.Conn) {}) // accepts, never answers
	start := time.Now()
	_, _, err := Dial(context.Background(), "wss://"+addr+"/", Options{Timeout: 300 * time.Millisecond})
	if err == nil || !strings.Contains(err.Error(), "TLS handshake with") || !strings.Contains(err.Error(), "timed out") {
		t.Fatalf("silent server: %v", err)
	}
	if d := time.Since(start); d > 3*time.Second {
		t.Errorf("took %v, want about the 300 ms timeout", d)
	}
}

func TestHostHeader(t *testing.T) {
	for raw, want := range map[string]string{
		"ws://example.com/x":      "example.com",
		"ws://example.com:80/x":   "example.com",
		"ws://example.com:443/x":  "example.com:443",
		"wss://example.com/x":     "example.com",
		"wss://example.com:443/x": "example.com",
		"wss://example.com:80/x":  "example.com:80",
		"wss://127.0.0.1:9443/x":  "127.0.0.1:9443",
		"wss://[::1]:443/x":       "[::1]",
		"ws://[::1]:9001/x":       "[::1]:9001",
	} {
		u, err := url.Parse(raw)
		if err != nil {
			t.Fatal(err)
		}
		if got := handshake.HostHeader(u); got != want {
			t.Errorf("HostHeader(%s) = %q, want %q", raw, got, want)
		}
	}
	if _, _, err := Open(t.Context(), "https://127.0.0.1:1/", Options{}); err == nil || !strings.Contains(err.Error(), "wss://") {
		t.Errorf("https URL: %v", err)
	}
}
