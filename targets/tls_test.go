package targets_test

import (
	"bytes"
	"context"
	"crypto/tls"
	"errors"
	"io"
	"strings"
	"testing"
	"time"

	"github.com/wsharness/wsharness/internal/selfsigned"
	"github.com/wsharness/wsharness/targets"
	"github.com/wsharness/wsharness/wire"
)

// Every built-in target serves wss:// with a self-signed certificate: the
// harness's raw client (trusting only that certificate) completes the
// handshake, gets text and binary messages echoed and the closing
// handshake answered, and gorilla's client gets broadcasts over TLS.
func TestTargetsServeTLS(t *testing.T) {
	cert, err := selfsigned.Generate()
	if err != nil {
		t.Fatal(err)
	}
	for _, target := range targets.Builtin() {
		info := target.Info()
		t.Run(info.Name, func(t *testing.T) {
			t.Parallel()
			run, err := targets.StartTLS(context.Background(), target, "127.0.0.1:0", cert.ServerConfig())
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() {
				ctx, cancel := context.WithTimeout(context.Background(), ioTimeout)
				defer cancel()
				if err := run.Stop(ctx); err != nil {
					t.Errorf("stop: %v", err)
				}
			})
			echo, broadcast := http1(run.URL(targets.EchoPath)), http1(run.URL(targets.BroadcastPath))
			if !strings.HasPrefix(echo, "wss://127.0.0.1:") || !strings.HasPrefix(broadcast, "wss://") {
				t.Fatalf("URLs %s, %s: want wss://", echo, broadcast)
			}

			ctx := context.Background()
			conn, hs, err := wire.Dial(ctx, echo, wire.Options{TLS: cert.ClientConfig(), Timeout: ioTimeout})
			if err != nil {
				t.Fatalf("wss handshake: %v", err)
			}
			defer conn.Close()
			if hs.Response.Status != 101 {
				t.Fatalf("status %d", hs.Response.Status)
			}
			if !logMentions(conn.Log(), "TLS session") {
				t.Errorf("the wire log does not record the TLS session: %+v", conn.Log().Entries())
			}
			big := bytes.Repeat([]byte("0123456789abcdef"), 70000/16) // a 64-bit length, several TLS records
			for _, f := range []wire.Frame{wire.Text("hello over TLS"), wire.Binary(big)} {
				if err := conn.WriteFrames(ctx, []wire.Frame{f}, wire.OneWrite); err != nil {
					t.Fatal(err)
				}
				got, err := conn.ReadFrame(time.Now().Add(ioTimeout))
				if err != nil {
					t.Fatalf("echo of %s: %v", wire.OpName(f.Opcode), err)
				}
				if got.Opcode != f.Opcode || !got.Fin || !bytes.Equal(got.Payload, f.Payload) {
					t.Fatalf("echo: %s, %d bytes; want %s, %d bytes", wire.OpName(got.Opcode), len(got.Payload), wire.OpName(f.Opcode), len(f.Payload))
				}
			}
			if err := conn.WriteFrames(ctx, []wire.Frame{wire.Close(1000, "bye")}, wire.OneWrite); err != nil {
				t.Fatal(err)
			}
			got, err := conn.ReadFrame(time.Now().Add(ioTimeout))
			if err != nil || got.Opcode != wire.OpClose || len(got.Payload) < 2 || int(got.Payload[0])<<8|int(got.Payload[1]) != 1000 {
				t.Fatalf("close reply: %s %x, %v; want Close 1000", wire.OpName(got.Opcode), got.Payload, err)
			}
			// The server then ends the TLS session (close_notify) and TCP.
			if _, err := conn.ReadFrame(time.Now().Add(ioTimeout)); !errors.Is(err, io.EOF) {
				t.Errorf("after the closing handshake: %v, want EOF", err)
			}

			testBroadcastTLS(t, broadcast, cert.ClientConfig())
		})
	}
}

// testBroadcastTLS connects two raw clients over TLS to /broadcast; what
// one sends, the other receives.
func testBroadcastTLS(t *testing.T, url string, cfg *tls.Config) {
	t.Helper()
	ctx := context.Background()
	var conns []*wire.Conn
	for range 2 {
		c, _, err := wire.Dial(ctx, url, wire.Options{TLS: cfg, Timeout: ioTimeout})
		if err != nil {
			t.Fatalf("broadcast dial: %v", err)
		}
		defer c.Close()
		// A pong proves the server reads this connection, which it does
		// only after joining the hub.
		if err := c.WriteFrames(ctx, []wire.Frame{wire.Ping(nil)}, wire.OneWrite); err != nil {
			t.Fatal(err)
		}
		if f, err := c.ReadFrame(time.Now().Add(ioTimeout)); err != nil || f.Opcode != wire.OpPong {
			t.Fatalf("pong: %s %v", wire.OpName(f.Opcode), err)
		}
		conns = append(conns, c)
	}
	msg := wire.Text("broadcast over TLS")
	if err := conns[1].WriteFrames(ctx, []wire.Frame{msg}, wire.OneWrite); err != nil {
		t.Fatal(err)
	}
	got, err := conns[0].ReadFrame(time.Now().Add(ioTimeout))
	if err != nil || got.Opcode != wire.OpText || !bytes.Equal(got.Payload, msg.Payload) {
		t.Fatalf("broadcast: %s %q %v", wire.OpName(got.Opcode), got.Payload, err)
	}
}

func logMentions(l *wire.Log, s string) bool {
	for _, e := range l.Entries() {
		if strings.Contains(e.Note, s) {
			return true
		}
	}
	return false
}

// A target refuses to start TLS without a certificate, and a server that
// cannot serve TLS says so.
func TestStartTLSErrors(t *testing.T) {
	g, err := targets.Lookup("gorilla")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := targets.StartTLS(context.Background(), g, "127.0.0.1:0", &tls.Config{}); err == nil || !strings.Contains(err.Error(), "certificate") {
		t.Errorf("no certificate: %v", err)
	}
	ext := targets.URLTarget{Name: "mine", EchoURL: "ws://127.0.0.1:1/echo"}
	if _, err := targets.StartTLS(context.Background(), ext, "127.0.0.1:0", &tls.Config{}); err == nil || !strings.Contains(err.Error(), "cannot be started with TLS") {
		t.Errorf("URL target: %v", err)
	}
}
