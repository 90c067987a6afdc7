package casekit_test

import (
	"context"
	"fmt"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/wsharness/wsharness/conformance/casekit"
	"github.com/wsharness/wsharness/results"
	"github.com/wsharness/wsharness/targets"
	"github.com/wsharness/wsharness/wire"
)

// clientEnv is a case environment in which the harness plays the server on
// a loopback listener; url is where the client under test connects.
func clientEnv(t *testing.T) (casekit.Env, string) {
	t.Helper()
	ln, err := net.Listen("tcp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	env := casekit.Env{
		Peer: wire.Client,
		Incoming: func(ctx context.Context, o wire.AcceptOptions) (*wire.Incoming, error) {
			stop := context.AfterFunc(ctx, func() { ln.Close() })
			defer stop()
			nc, err := ln.Accept()
			if err != nil {
				return nil, err
			}
			in, err := wire.ReadRequest(nc, o)
			if err != nil {
				in.Close()
				return nil, err
			}
			return in, nil
		},
	}
	return env, "ws://" + ln.Addr().String() + "/runCase?case=1&agent=test"
}

// echoScript sends a text message, a ping and a fragmented binary message
// as the peer's role requires, and expects them back (Autobahn's 1.1.x,
// 2.x and 5.x in client form).
var echoScript = casekit.Script{
	Steps: []casekit.Step{
		casekit.Send(wire.OneWrite, wire.Text("Hello")),
		casekit.Send(wire.FrameWise, wire.Ping([]byte("ping"))),
		casekit.Send(wire.FrameWise, wire.Fragment(wire.Binary([]byte("frag"))), wire.Continuation([]byte("ment"), true)),
	},
	OK:    [][]casekit.Event{{casekit.Text("Hello"), casekit.PongOf([]byte("ping")), casekit.Binary([]byte("fragment"))}},
	Close: casekit.CloseExpect{Codes: []int{1000}, RequireClean: true},
}

// runClient plays script with the harness as server against one client
// run of echo.
func runClient(t *testing.T, script casekit.Script, echo func(ctx context.Context, url string) error) results.Case {
	t.Helper()
	env, url := clientEnv(t)
	ctx, cancel := context.WithTimeout(t.Context(), 20*time.Second)
	defer cancel()
	done := make(chan error, 1)
	go func() { done <- echo(ctx, url) }()
	out := script.Run(ctx, env)
	select {
	case err := <-done:
		if err != nil {
			t.Logf("the client ended with %v", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("the client did not end after the case")
	}
	return out
}

// The harness as server runs a script against the three reference
// clients: each echoes, answers the ping and completes the closing
// handshake the server starts, and no frame of the server is masked.
func TestScriptAgainstReferenceClients(t *testing.T) {
	for _, agent := range targets.Clients() {
		t.Run(agent.Name, func(t *testing.T) {
			out := runClient(t, echoScript, agent.Echo)
			if out.Verdict != results.OK || out.CloseVerdict != results.CloseOK {
				t.Fatalf("%s: %s/%s\n%s\n%s", agent.Name, out.Verdict, out.CloseVerdict, out.Observed, out.Handshake.Request)
			}
			// Who drops TCP first races: a client MAY close it once it has
			// sent and received a Close (RFC 6455 §7.1.1).
			if !strings.Contains(out.Observed, "the server sent Close first; client Close code 1000") {
				t.Errorf("close story %q: want the harness, as the server, to start the closing handshake", out.Observed)
			}
			for _, e := range out.Wirelog {
				if e.Dir == wire.Outbound && e.Frame != nil && e.Frame.Masked {
					t.Errorf("the harness as server sent a masked frame: %+v", e.Frame)
				}
			}
		})
	}
}

// rawEchoClient echoes with the harness's own client, its frames masked as
// mask says: a client that forgets to mask is FAILED under §5.1. Once it
// has answered a Close it waits up to wait for the server to close TCP.
func rawEchoClient(mask wire.Masking, wait time.Duration) func(ctx context.Context, url string) error {
	return func(ctx context.Context, url string) error {
		c, _, err := wire.Dial(ctx, url, wire.Options{})
		if err != nil {
			return err
		}
		defer c.Close()
		for {
			f, err := c.ReadFrame(time.Now().Add(10 * time.Second))
			if err != nil {
				return nil
			}
			reply := wire.Frame{Fin: f.Fin, Opcode: f.Opcode, Mask: mask, Payload: f.Payload}
			switch f.Opcode {
			case wire.OpPing:
				reply.Opcode = wire.OpPong
			case wire.OpPong:
				continue
			}
			if err := c.WriteFrames(ctx, []wire.Frame{reply}, wire.OneWrite); err != nil {
				return nil
			}
			if f.Opcode == wire.OpClose {
				_, _ = c.ReadFrame(time.Now().Add(wait))
				return nil
			}
		}
	}
}

func TestScriptCatchesAnUnmaskingClient(t *testing.T) {
	if out := runClient(t, echoScript, rawEchoClient(wire.MaskForRole, 0)); out.Verdict != results.OK {
		t.Fatalf("a raw client that masks and echoes frame by frame: %s\n%s", out.Verdict, out.Observed)
	}
	out := runClient(t, echoScript, rawEchoClient(wire.MaskNever, 0))
	if out.Verdict != results.Failed || !strings.Contains(out.Observed, "client frame is not masked (§5.1: a client MUST mask") {
		t.Fatalf("a client that does not mask: %s\n%s", out.Verdict, out.Observed)
	}
}

// With Close.Linger the harness, as the server, holds TCP open after the
// closing handshake: a client that closes TCP at once is NON-STRICT
// (§7.1.1: it SHOULD wait for the server), one that waits a while and then
// closes is not (§5.5.1: it MAY, after a reasonable time), nor one that
// waits for the server.
func TestLingerJudgesWhoClosesTCPFirst(t *testing.T) {
	script := casekit.Script{
		Steps: []casekit.Step{casekit.Send(wire.OneWrite, wire.Close(1000, ""))},
		OK:    [][]casekit.Event{{}},
		Close: casekit.CloseExpect{Codes: []int{1000}, RequireClean: true, Linger: time.Second},
	}
	for _, tc := range []struct {
		wait    time.Duration
		verdict results.Verdict
		note    string
	}{
		{0, results.NonStrict, "without waiting for the server"},
		{500 * time.Millisecond, results.OK, "after a wait, which RFC 6455 §5.5.1 allows"},
		{5 * time.Second, results.OK, "TCP dropped by the server"},
	} {
		out := runClient(t, script, rawEchoClient(wire.MaskForRole, tc.wait))
		if out.Verdict != tc.verdict || out.CloseVerdict != results.CloseOK || !strings.Contains(out.Observed, tc.note) {
			t.Errorf("a client that waits %v after its Close: %s/%s, want %s with %q\n%s", tc.wait, out.Verdict, out.CloseVerdict, tc.verdict, tc.note, out.Observed)
		}
	}
}

// §5.5.1 forbids data frames after a Close, not control frames: a client
// that sends a Pong after its Close reply breaks no MUST of it, one that
// sends a text message does.
func TestOnlyDataAfterCloseIsAViolation(t *testing.T) {
	script := casekit.Script{
		Steps: []casekit.Step{casekit.Send(wire.OneWrite, wire.Close(1000, ""))},
		OK:    [][]casekit.Event{{}},
		Close: casekit.CloseExpect{Codes: []int{1000}, RequireClean: true},
	}
	closeThenSend := func(after wire.Frame) func(ctx context.Context, url string) error {
		return func(ctx context.Context, url string) error {
			c, _, err := wire.Dial(ctx, url, wire.Options{})
			if err != nil {
				return err
			}
			defer c.Close()
			if f, err := c.ReadFrame(time.Now().Add(10 * time.Second)); err != nil || f.Opcode != wire.OpClose {
				return fmt.Errorf("want the server's Close first: %v", err)
			}
			_ = c.WriteFrames(ctx, []wire.Frame{wire.Close(1000, ""), after}, wire.OneWrite)
			_, _ = c.ReadFrame(time.Now().Add(5 * time.Second))
			return nil
		}
	}
	// The Pong is still an event the script did not expect, as in
	// Autobahn's traces; what matters here is that it is no violation.
	if out := runClient(t, script, closeThenSend(wire.Frame{Fin: true, Opcode: wire.OpPong})); strings.Contains(out.Observed, "after its Close") {
		t.Errorf("a Pong after the client's Close was taken for a violation:\n%s", out.Observed)
	}
	if out := runClient(t, script, closeThenSend(wire.Text("late"))); out.Verdict != results.Failed || !strings.Contains(out.Observed, "text frame after its Close frame") {
		t.Errorf("a text message after the client's Close: %s\n%s", out.Verdict, out.Observed)
	}
}
