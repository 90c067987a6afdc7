package wire

import (
	"bufio"
	"context"
	"fmt"
	"net"
	"net/http"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/wsharness/wsharness/internal/testhog"
	"github.com/wsharness/wsharness/internal/testnet"
	"github.com/wsharness/wsharness/wire/handshake"
)

// readCounter answers the opening handshake and then records the size of
// every read(2) its socket returns, with a buffer far larger than anything
// the client sends, as a server's parser would read.
type readCounter struct {
	url   string
	reads chan []int // per connection, once it has read want bytes
	want  int
}

func startReadCounter(t *testing.T, network, addr string, want int) *readCounter {
	t.Helper()
	ln, err := net.Listen(network, addr)
	if err != nil {
		t.Skipf("no %s loopback here: %v", network, err)
	}
	t.Cleanup(func() { ln.Close() })
	rc := &readCounter{url: "ws://" + ln.Addr().String() + "/", reads: make(chan []int, 1), want: want}
	go func() {
		nc, err := ln.Accept()
		if err != nil {
			return
		}
		defer nc.Close()
		_ = nc.SetDeadline(time.Now().Add(30 * time.Second))
		br := bufio.NewReader(nc)
		req, err := http.ReadRequest(br)
		if err != nil {
			return
		}
		fmt.Fprintf(nc, "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: %s\r\n\r\n", handshake.AcceptKey(req.Header.Get("Sec-WebSocket-Key")))
		if br.Buffered() > 0 {
			t.Errorf("the client wrote %d bytes with its request", br.Buffered())
		}
		var sizes []int
		buf := make([]byte, 64<<10)
		for got := 0; got < rc.want; {
			n, err := nc.Read(buf)
			if err != nil {
				break
			}
			sizes = append(sizes, n)
			got += n
		}
		rc.reads <- sizes
	}()
	return rc
}

// The proof that octet-wise and chopped writes reach the server as reads
// of their own: case 3.4's stream (a text message, a frame with RSV bits,
// a Ping) written one octet, then three octets, at a time, over IPv4 and
// IPv6 loopback and with every core busy; the server records each read's
// size. Without pacing, most of the 44 octets arrive in one read.
func TestSeparateChunksAreSeparateReads(t *testing.T) {
	hello := "Hello, world!"
	frames := []Frame{Text(hello), {Fin: true, RSV: RSV1 | RSV2, Opcode: OpText, Payload: []byte(hello)}, Ping(nil)}
	stream := 0
	for _, f := range frames {
		stream += len(f.Encode(Client, nil))
	}
	for _, tc := range []struct {
		network, addr string
		split         Split
	}{
		{"tcp4", "127.0.0.1:0", OctetWise},
		{"tcp6", "[::1]:0", OctetWise},
		{"tcp4", "127.0.0.1:0", Chops(3)},
	} {
		t.Run(fmt.Sprintf("%s/%d-octet chops", tc.network, tc.split.Chop), func(t *testing.T) {
			if os.Getenv("NOHOG") == "" {
				testhog.Start(t)
			}
			srv := startReadCounter(t, tc.network, tc.addr, stream)
			log := NewLog()
			c, _, err := Dial(context.Background(), srv.url, Options{Log: log})
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			if err := c.WriteFrames(context.Background(), frames, tc.split); err != nil {
				t.Fatal(err)
			}
			sizes := <-srv.reads
			want := (stream + tc.split.Chop - 1) / tc.split.Chop
			if len(sizes) != want {
				t.Fatalf("the server read %d octets in %d reads %v; want %d reads", stream, len(sizes), sizes, want)
			}
			for i, n := range sizes {
				if n > tc.split.Chop {
					t.Fatalf("read %d returned %d octets (%v); want at most %d", i, n, sizes, tc.split.Chop)
				}
			}
			if !logHas(log, "each read by the server before the next was written") {
				t.Errorf("the wire log does not say how the writes were paced: %v", log.Entries())
			}
		})
	}
}

// Where the server's socket cannot be seen, a pause stands in, and the
// budget bounds the connection's waiting whatever the server does.
func TestPacingWithoutSeeingTheServer(t *testing.T) {
	log := NewLog()
	pause := 2 * time.Millisecond
	p := &pacer{cfg: Pacing{Pause: pause, Budget: 25 * time.Millisecond}, reader: Server, log: log, closed: make(chan struct{}), unseen: true}
	start := time.Now()
	for range 5 {
		if err := p.awaitRead(context.Background()); err != nil {
			t.Fatal(err)
		}
	}
	if took := time.Since(start); took < 5*pause {
		t.Fatalf("5 chunks took %v; want at least 5 pauses of %v", took, pause)
	}
	if got := p.describe(); !strings.Contains(got, "apart (the server's socket is not visible)") {
		t.Errorf("describe = %q", got)
	}
	start = time.Now()
	for range 100 {
		if err := p.awaitRead(context.Background()); err != nil {
			t.Fatal(err)
		}
	}
	if took := time.Since(start); took > time.Second {
		t.Fatalf("100 more chunks took %v; the 25 ms budget should have ended the pauses", took)
	}
	if !logHas(log, "pacing budget of 25ms is spent") {
		t.Errorf("the wire log does not say the budget ran out: %v", log.Entries())
	}
}

// A server that never reads costs the budget once, not a wait per chunk.
func TestPacingAgainstAServerThatDoesNotRead(t *testing.T) {
	addr := testnet.Serve(t, func(net.Conn) {}) // accepts, never reads
	nc, err := net.Dial("tcp4", addr)
	if err != nil {
		t.Fatal(err)
	}
	log := NewLog()
	counted := &countingConn{Conn: nc}
	c := newConn(Client, counted, counted, log, nil, 0, Pacing{Budget: 50 * time.Millisecond})
	defer c.Close()
	start := time.Now()
	if err := c.WriteRaw(context.Background(), make([]byte, 200), OctetWise); err != nil {
		t.Fatal(err)
	}
	if took := time.Since(start); took > 2*time.Second {
		t.Fatalf("200 octets to a server that never reads took %v", took)
	}
	if !logHas(log, "pacing budget of 50ms is spent") {
		t.Errorf("the wire log does not say the budget ran out: %v", log.Entries())
	}
}

func logHas(l *Log, text string) bool {
	for _, e := range l.Entries() {
		if strings.Contains(e.Note, text) {
			return true
		}
	}
	return false
}
