package targets_test

import (
	"context"
	"runtime"
	"runtime/pprof"
	"strings"
	"testing"
	"time"

	"github.com/wsharness/wsharness/targets"
	"github.com/wsharness/wsharness/wire"
)

// TestNoGoroutinesLeft exercises every target's normal and failing paths,
// stops it, and checks that no goroutine outlives the connections. It is
// not parallel, so that the goroutine count is its own.
func TestNoGoroutinesLeft(t *testing.T) {
	before := runtime.NumGoroutine()
	for _, target := range plainBuiltin() {
		run, err := target.Start(context.Background(), "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		if url := run.URL(targets.EchoPath); strings.Contains(url, "+h2://") {
			exerciseH2(t, url)
		}
		echo, broadcast := http1(run.URL(targets.EchoPath)), http1(run.URL(targets.BroadcastPath))

		c := dialRaw(t, echo) // a clean closing handshake
		c.send(opText, []byte("hi"))
		c.expectMessage(opText, []byte("hi"))
		c.send(opClose, closePayload(1000, ""))
		c.observe()
		c.conn.Close()

		c = dialRaw(t, echo) // a protocol error
		c.write(frame{fin: true, rsv: 2, op: opText})
		c.observe()
		c.conn.Close()

		c = dialRaw(t, echo) // a peer that vanishes mid-message
		c.write(frame{op: opText, payload: []byte("half")})
		c.conn.Close()

		var members []*rawClient // broadcast members leaving both ways
		for range 3 {
			m := dialRaw(t, broadcast)
			m.send(opPing, nil)
			m.expectMessage(opPong, nil)
			members = append(members, m)
		}
		members[0].send(opText, []byte("bye"))
		for _, m := range members {
			m.expectMessage(opText, []byte("bye"))
		}
		members[0].send(opClose, closePayload(1001, ""))
		members[0].observe()
		for _, m := range members {
			m.conn.Close()
		}

		ctx, cancel := context.WithTimeout(context.Background(), ioTimeout)
		if err := run.Stop(ctx); err != nil {
			t.Errorf("stop %s: %v", target.Info().Name, err)
		}
		cancel()
	}

	deadline := time.Now().Add(ioTimeout)
	for runtime.NumGoroutine() > before {
		if time.Now().After(deadline) {
			var stacks strings.Builder
			_ = pprof.Lookup("goroutine").WriteTo(&stacks, 1)
			t.Fatalf("%d goroutines before, %d after:\n%s", before, runtime.NumGoroutine(), stacks.String())
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// exerciseH2 runs the same paths over HTTP/2 streams: a clean closing
// handshake, a protocol error, and a peer that vanishes mid-message.
func exerciseH2(t *testing.T, url string) {
	t.Helper()
	ctx := context.Background()
	for _, f := range []wire.Frame{
		wire.Close(1000, ""),
		{Fin: true, RSV: wire.RSV2, Opcode: wire.OpText},
		{Opcode: wire.OpText, Payload: []byte("half")},
	} {
		conn, _, err := wire.Dial(ctx, url, wire.Options{Timeout: ioTimeout})
		if err != nil {
			t.Fatal(err)
		}
		if err := conn.WriteFrames(ctx, []wire.Frame{f}, wire.OneWrite); err != nil {
			t.Fatal(err)
		}
		if f.Fin {
			if got, err := conn.ReadFrame(time.Now().Add(ioTimeout)); err != nil || got.Opcode != wire.OpClose {
				t.Fatalf("after %s: %s, %v; want Close", wire.OpName(f.Opcode), wire.OpName(got.Opcode), err)
			}
		}
		conn.Close()
	}
}
