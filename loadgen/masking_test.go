package loadgen_test

import (
	"bufio"
	"fmt"
	"io"
	"net"
	"net/http"
	"sync"
	"testing"
	"time"

	"github.com/wsharness/wsharness/loadgen"
	"github.com/wsharness/wsharness/wire"
	"github.com/wsharness/wsharness/wire/handshake"
)

// keyRecorder is a raw echo server that records the masking key of every
// frame its clients send: what the load generator's clients really put on
// the wire, which a library server would unmask and forget.
type keyRecorder struct {
	url    string
	mu     sync.Mutex
	frames int
	keys   map[[4]byte]int
}

func startKeyRecorder(t *testing.T) *keyRecorder {
	t.Helper()
	ln, err := net.Listen("tcp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	k := &keyRecorder{url: "ws://" + ln.Addr().String() + "/", keys: map[[4]byte]int{}}
	go func() {
		for {
			nc, err := ln.Accept()
			if err != nil {
				return
			}
			go k.serve(nc)
		}
	}()
	return k
}

func (k *keyRecorder) serve(nc net.Conn) {
	defer nc.Close()
	br := bufio.NewReader(nc)
	req, err := http.ReadRequest(br)
	if err != nil {
		return
	}
	fmt.Fprintf(nc, "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: %s\r\n\r\n", handshake.AcceptKey(req.Header.Get("Sec-WebSocket-Key")))
	for {
		head := make([]byte, 2, 14)
		if _, err := io.ReadFull(br, head); err != nil {
			return
		}
		head = head[:wire.HeaderSize(head[1])]
		if _, err := io.ReadFull(br, head[2:]); err != nil {
			return
		}
		h, err := wire.ParseHeader(head)
		if err != nil || h.Length > 1<<20 {
			return
		}
		payload := make([]byte, h.Length)
		if _, err := io.ReadFull(br, payload); err != nil {
			return
		}
		k.mu.Lock()
		k.frames++
		if h.Masked {
			k.keys[h.Key]++
		}
		k.mu.Unlock()
		wire.Mask(payload, h.Key, 0)
		if _, err := nc.Write(wire.Frame{Fin: h.Fin, Opcode: h.Opcode, Payload: payload}.Encode(wire.Server, nil)); err != nil || h.Opcode == wire.OpClose {
			return
		}
	}
}

// The load generator's clients mask every frame with a key of its own
// (RFC 6455 §5.3), as docs/harness-client.md says: a load run's frames carry
// (nearly) as many distinct keys as there are frames.
func TestLoadClientsMaskEveryFrameWithAFreshKey(t *testing.T) {
	srv := startKeyRecorder(t)
	res := runLoad(t, loadgen.Config{
		Scenario: loadgen.ScenarioEcho, URL: srv.url, Conns: 20, Rate: 2000, Size: 64, Binary: true,
		Duration: time.Second, Warmup: 200 * time.Millisecond, Drain: time.Second,
	})
	srv.mu.Lock()
	defer srv.mu.Unlock()
	masked := 0
	for _, n := range srv.keys {
		masked += n
	}
	if masked != srv.frames {
		t.Errorf("%d of %d client frames were masked", masked, srv.frames)
	}
	// 32-bit keys drawn at random repeat by chance: among 3,000 frames
	// about once in a thousand runs. More than two repeats is not chance.
	if srv.frames < 1000 || masked-len(srv.keys) > 2 {
		t.Errorf("%d masked frames carry %d distinct keys; want one key per frame", masked, len(srv.keys))
	}
	t.Logf("%d frames, %d distinct masking keys (%d replies measured)", srv.frames, len(srv.keys), res.Messages.Received)
}
