package targets

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/wsharness/wsharness/wire"
)

// The HTTP/2 proxies of external.yaml, each in front of a reference target
// over HTTP/1.1: started by the harness, they complete an RFC 8441
// handshake (the setting advertised, 200 to the extended CONNECT) and
// echo a masked text frame and a 70 KB binary message, larger than the
// HTTP/2 initial window of 65,535 octets, on the stream.
func TestExternalH2Proxies(t *testing.T) {
	all, err := LoadExternal("external.yaml")
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"haproxy-h2", "apache-h2", "apache-h2-wstunnel"} {
		t.Run(name, func(t *testing.T) {
			var e *External
			for i := range all {
				if all[i].Spec.Name == name {
					e = &all[i]
				}
			}
			if e == nil {
				t.Fatalf("%s not in external.yaml", name)
			}
			if ok, reason := e.Available(); !ok {
				t.Skip(reason)
			}
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			r, err := e.Start(ctx, "")
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() {
				if err := r.Stop(context.Background()); err != nil {
					t.Error(err)
				}
			})
			if err := h2Echo(ctx, r.URL(EchoPath)); err != nil {
				t.Fatalf("%v\n%s output:\n%s", err, name, r.(OutputKeeper).Output())
			}
		})
	}
}

// h2Echo opens a WebSocket over HTTP/2 on url, checks that it is a 200
// answer on an HTTP/2 stream, has a text and a binary message echoed, and
// closes with 1000.
func h2Echo(ctx context.Context, url string) error {
	const ioTimeout = 5 * time.Second
	c, hs, err := wire.Dial(ctx, url, wire.Options{Timeout: ioTimeout})
	if err != nil {
		return fmt.Errorf("handshake: %w", err)
	}
	defer c.Close()
	if hs.Stream == nil || c.Transport() != wire.HTTP2 {
		return errors.New("not an HTTP/2 stream")
	}
	if hs.Response == nil || hs.Response.Status != 200 {
		return fmt.Errorf("response %q, want :status 200", hs.RawResponse)
	}
	big := bytes.Repeat([]byte("0123456789abcdef"), 70000/16)
	for _, f := range []wire.Frame{wire.Text("hello over h2"), wire.Binary(big)} {
		if err := c.WriteFrames(ctx, []wire.Frame{f}, wire.OneWrite); err != nil {
			return fmt.Errorf("write %s: %w", wire.OpName(f.Opcode), err)
		}
		got, err := c.ReadFrame(time.Now().Add(ioTimeout))
		if err != nil {
			return fmt.Errorf("echo of %s: %w", wire.OpName(f.Opcode), err)
		}
		if got.Opcode != f.Opcode || !got.Fin || !bytes.Equal(got.Payload, f.Payload) {
			return fmt.Errorf("echo: %s, %d bytes; want %s, %d bytes", wire.OpName(got.Opcode), len(got.Payload), wire.OpName(f.Opcode), len(f.Payload))
		}
	}
	if err := c.WriteFrames(ctx, []wire.Frame{wire.Close(1000, "bye")}, wire.OneWrite); err != nil {
		return fmt.Errorf("write Close: %w", err)
	}
	got, err := c.ReadFrame(time.Now().Add(ioTimeout))
	if err != nil || got.Opcode != wire.OpClose || len(got.Payload) < 2 || int(got.Payload[0])<<8|int(got.Payload[1]) != 1000 {
		return fmt.Errorf("close reply: %s %x, %v; want Close 1000", wire.OpName(got.Opcode), got.Payload, err)
	}
	return nil
}
