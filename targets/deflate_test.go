package targets

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/wsharness/wsharness/wire"
	"github.com/wsharness/wsharness/wire/deflate"
	"github.com/wsharness/wsharness/wire/handshake"
)

func TestFilterDeflateOffers(t *testing.T) {
	for _, tc := range []struct {
		name, in string
		honour   func(handshake.Extension) bool
		max      int
		want     string // the header left; "" = removed
	}{
		{"valid offers kept in order", "permessage-deflate; client_max_window_bits, permessage-deflate", nil, 0, "permessage-deflate; client_max_window_bits, permessage-deflate"},
		{"invalid offers dropped", "permessage-deflate; x, permessage-deflate; client_max_window_bits=16, permessage-deflate; server_no_context_takeover", nil, 0, "permessage-deflate; server_no_context_takeover"},
		{"only invalid offers", "permessage-deflate; server_max_window_bits", nil, 0, ""},
		{"other extensions dropped", "x-foo; a=1, permessage-deflate", nil, 0, "permessage-deflate"},
		{"one offer at most", "permessage-deflate; server_max_window_bits=10, permessage-deflate", nil, 1, "permessage-deflate; server_max_window_bits=10"},
		{"full window only", "permessage-deflate; server_max_window_bits=10, permessage-deflate; server_max_window_bits=15", fullWindowOnly, 0, "permessage-deflate; server_max_window_bits=15"},
		{"unparsable header", `permessage-deflate; a="`, nil, 0, ""},
	} {
		h := http.Header{}
		h.Set("Sec-WebSocket-Extensions", tc.in)
		kept := filterDeflateOffers(h, tc.honour, tc.max)
		if got := h.Get("Sec-WebSocket-Extensions"); got != tc.want || (len(kept) == 0) != (tc.want == "") {
			t.Errorf("%s: header %q (%d kept), want %q", tc.name, got, len(kept), tc.want)
		}
	}
}

// The guard passes whole frames until the first header with a forbidden
// RSV bit, then fails the read and sends Close 1002 itself; later writes
// by the library are dropped.
func TestRSVGuard(t *testing.T) {
	good := []wire.Frame{
		{Fin: true, RSV: wire.RSV1, Opcode: wire.OpText, Payload: bytes.Repeat([]byte{0xc3}, 300)},
		wire.Ping([]byte("no RSV")),
		wire.Fragment(wire.Binary([]byte("a"))), wire.Continuation([]byte("b"), true),
	}
	for _, bad := range []wire.Frame{
		{Fin: true, RSV: wire.RSV1, Opcode: wire.OpPing, Payload: []byte("p")},
		{Fin: true, RSV: wire.RSV1, Opcode: wire.OpContinuation},
		{Fin: true, RSV: wire.RSV1 | wire.RSV2, Opcode: wire.OpText},
		{Fin: true, RSV: wire.RSV3, Opcode: wire.OpClose},
	} {
		var stream []byte
		for _, f := range good {
			stream = append(stream, f.Encode(wire.Client, nil)...)
		}
		passed := len(stream)
		stream = append(stream, bad.Encode(wire.Client, nil)...)
		stream = append(stream, wire.Text("after").Encode(wire.Client, nil)...)

		server, client := net.Pipe()
		g := newRSVGuard(server)
		go func() { _, _ = client.Write(stream) }()
		replies := make(chan []byte, 1)
		go func() {
			b, _ := io.ReadAll(io.LimitReader(client, 64))
			replies <- b
		}()
		got, err := io.ReadAll(readerFunc(func(p []byte) (int, error) { return g.Read(p[:min(len(p), 7)]) }))
		if !errors.Is(err, errRSVMisuse) || !bytes.Equal(got, stream[:passed]) {
			t.Errorf("RSV %03b %s: read %d bytes, %v; want the %d bytes before it, then errRSVMisuse", bad.RSV, wire.OpName(bad.Opcode), len(got), err, passed)
		}
		if n, err := g.Write([]byte("library close")); n != 13 || err != nil {
			t.Errorf("write after the guard's Close: %d, %v", n, err)
		}
		_ = server.Close()
		reply := <-replies
		h, err := wire.ParseHeader(reply)
		if err != nil || h.Opcode != wire.OpClose || !bytes.HasPrefix(reply[h.Size:], []byte{0x03, 0xea}) || bytes.Contains(reply, []byte("library")) {
			t.Errorf("the client got % x, want only a Close 1002", reply)
		}
		_ = client.Close()
	}
}

type readerFunc func([]byte) (int, error)

func (f readerFunc) Read(p []byte) (int, error) { return f(p) }

func TestInflateLimit(t *testing.T) {
	r := inflateLimit(io.LimitReader(zeros{}, maxMessageSize))
	if n, err := io.Copy(io.Discard, r); err != nil || n != maxMessageSize {
		t.Fatalf("exactly the limit: %d, %v", n, err)
	}
	r = inflateLimit(io.LimitReader(zeros{}, maxMessageSize+1))
	if _, err := io.Copy(io.Discard, r); !errors.Is(err, errInflatedTooLarge) {
		t.Fatalf("one byte over: %v", err)
	}
}

type zeros struct{}

func (zeros) Read(p []byte) (int, error) { clear(p); return len(p), nil }

// Each -deflate target negotiates permessage-deflate and echoes compressed
// messages; what each accepts is the conformance families' business.
func TestDeflateTargetsEchoCompressed(t *testing.T) {
	for _, target := range Builtin() {
		name := target.Info().Name
		if !strings.HasSuffix(name, "-deflate") {
			continue
		}
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			run, err := target.Start(context.Background(), "127.0.0.1:0")
			if err != nil {
				t.Fatal(err)
			}
			defer func() { _ = run.Stop(context.Background()) }()
			offer := handshake.MustParseExtension("permessage-deflate; client_max_window_bits")
			// The HTTP/2 targets' HTTP/1.1 side; h2_test.go has their HTTP/2 one.
			url := strings.Replace(run.URL(EchoPath), "+h2://", "://", 1)
			conn, hs, err := wire.Dial(context.Background(), url, wire.Options{
				Edit: func(r *handshake.Request) { r.Headers.Set("Sec-WebSocket-Extensions", offer.String()) },
			})
			if err != nil {
				t.Fatal(err)
			}
			defer conn.Close()
			if hs.Deflate == nil {
				t.Fatalf("permessage-deflate not negotiated: %s", hs.RawResponse)
			}
			codec := deflate.NewClientCodec(*hs.Deflate, 0)
			for i, msg := range [][]byte{[]byte(strings.Repeat("compress me ", 100)), []byte(strings.Repeat("compress me ", 100)), {}} {
				f := wire.NewFrame(wire.OpBinary, codec.Compress(msg))
				f.RSV = wire.RSV1
				if err := conn.WriteFrames(context.Background(), []wire.Frame{f}, wire.OneWrite); err != nil {
					t.Fatal(err)
				}
				got, err := conn.ReadFrame(time.Now().Add(5 * time.Second))
				if err != nil {
					t.Fatalf("message %d: %v", i, err)
				}
				payload := got.Payload
				if got.RSV&wire.RSV1 != 0 {
					if payload, err = codec.Decompress(payload); err != nil {
						t.Fatalf("message %d: %v", i, err)
					}
				}
				if got.Opcode != wire.OpBinary || !got.Fin || !bytes.Equal(payload, msg) {
					t.Fatalf("message %d: %s fin %v, %d bytes; want the %d bytes sent", i, wire.OpName(got.Opcode), got.Fin, len(payload), len(msg))
				}
			}
		})
	}
}
