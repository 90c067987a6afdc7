package casekit_test

import (
	"bufio"
	"context"
	"fmt"
	"net"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/wsharness/wsharness/conformance/casekit"
	"github.com/wsharness/wsharness/internal/hostile"
	"github.com/wsharness/wsharness/internal/testnet"
	"github.com/wsharness/wsharness/results"
	"github.com/wsharness/wsharness/wire"
	"github.com/wsharness/wsharness/wire/handshake"
)

// runCases runs n one-message exchanges against url in a row, sharing one
// Liveness, at a tenth of the timers (0.5 s handshake timeout).
func runCases(url string, n int, edit func(i int) func(*handshake.Request)) ([]results.Case, time.Duration) {
	env := casekit.Env{URL: url, TimeScale: 0.1, Liveness: &casekit.Liveness{}}
	msg := func(int) (byte, []byte) { return wire.OpText, []byte("hello") }
	started := time.Now()
	var out []results.Case
	for i := range n {
		x := casekit.Exchange{N: 1, Message: msg}
		if edit != nil {
			x.Edit = edit(i)
		}
		out = append(out, casekit.Gate(context.Background(), env, x.Run))
	}
	return out, time.Since(started)
}

// A server that accepts TCP and never answers costs two handshake timers
// and one probe, then every later case ends at once, FAILED and saying so.
func TestSilentServerEndsAfterThreeUnansweredHandshakes(t *testing.T) {
	srv := hostile.StartForTest(t, "silent")
	out, took := runCases(srv.URL(), 20, nil)
	for i, c := range out {
		if c.Verdict != results.Failed {
			t.Errorf("case %d: verdict %s, want FAILED", i, c.Verdict)
		}
		if wantNotRun := i >= casekit.SilentLimit; c.NotRun != wantNotRun {
			t.Errorf("case %d: not run %v, want %v (%s)", i, c.NotRun, wantNotRun, c.Observed)
		}
	}
	want := "not run: the server stopped answering opening handshakes (3 in a row timed out, the last a plain upgrade request)"
	if got := out[len(out)-1].Observed; got != want {
		t.Errorf("observed %q, want %q", got, want)
	}
	// Three handshake timers of 0.5 s; without the gate, twenty.
	if took > 3*time.Second {
		t.Errorf("20 cases took %v, want about 1.5 s", took.Round(time.Millisecond))
	}
	t.Logf("20 cases against a silent server in %v", took.Round(time.Millisecond))
}

// Refused connections count like timeouts.
func TestRefusingServerEnds(t *testing.T) {
	url := "ws://" + testnet.FreeAddr(t) + "/echo"
	out, _ := runCases(url, 5, nil)
	if !out[4].NotRun || !strings.Contains(out[4].Observed, "3 in a row were refused") {
		t.Errorf("case 5: not run %v, observed %q", out[4].NotRun, out[4].Observed)
	}
}

// A server that answers, however slowly, is tested in full: one byte of
// its 101 every 300 ms misses every handshake timer, but it answers.
func TestSlowServerIsTestedInFull(t *testing.T) {
	srv := hostile.StartForTest(t, "slow-handshake")
	out, _ := runCases(srv.URL(), 5, nil)
	for i, c := range out {
		if c.NotRun {
			t.Errorf("case %d against a slow server was not run: %s", i, c.Observed)
		}
	}
}

// Cases whose deliberately odd requests go unanswered do not end the run:
// the probe's plain request is answered, and the next case runs.
func TestUnansweredOddRequestsDoNotEndTheRun(t *testing.T) {
	addr := testnet.Serve(t, func(c net.Conn) {
		defer c.Close()
		req, err := http.ReadRequest(bufio.NewReader(c))
		if err != nil || req.Header.Get("X-Odd") != "" {
			_ = c.SetDeadline(time.Now().Add(5 * time.Second))
			_, _ = c.Read(make([]byte, 1)) // never answers an odd request
			return
		}
		fmt.Fprintf(c, "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: %s\r\n\r\n", handshake.AcceptKey(req.Header.Get("Sec-WebSocket-Key")))
		_, _ = c.Read(make([]byte, 1<<10))
	})
	odd := func(i int) func(*handshake.Request) {
		if i >= 3 {
			return nil
		}
		return func(r *handshake.Request) {
			r.Headers = append(r.Headers, handshake.HeaderField{Name: "X-Odd", Value: "1"})
		}
	}
	out, _ := runCases("ws://"+addr+"/echo", 5, odd)
	for i, c := range out {
		if c.NotRun {
			t.Errorf("case %d was not run: %s", i, c.Observed)
		}
	}
	if !strings.HasPrefix(out[3].Handshake.Response, "HTTP/1.1 101") {
		t.Errorf("case 4 did not reach the server: handshake response %q", out[3].Handshake.Response)
	}
}

// A server busy with one connection's frames, which leaves new handshakes
// unanswered, is not taken for gone while its frames keep arriving: the
// cases whose handshakes time out say so, and none is skipped. Once its
// frames stop, the silence ends the run as for a silent server.
func TestBusyServerIsNotTakenForGone(t *testing.T) {
	busy := make(chan struct{})
	var answered atomic.Bool
	addr := testnet.Serve(t, func(nc net.Conn) {
		if answered.Swap(true) {
			return // never answered
		}
		defer nc.Close()
		c, _, err := wire.Accept(context.Background(), nc, wire.AcceptOptions{})
		if err != nil {
			return
		}
		for {
			select {
			case <-busy:
				return
			case <-time.After(20 * time.Millisecond):
			}
			if c.WriteFrames(context.Background(), []wire.Frame{wire.Ping([]byte("busy"))}, wire.OneWrite) != nil {
				return
			}
		}
	})
	url := "ws://" + addr + "/echo"
	env := casekit.Env{URL: url, TimeScale: 0.1, Liveness: &casekit.Liveness{}}
	// The long case holds the first connection for 4 s (scaled: 40 s
	// unscaled) while its pings arrive.
	long := make(chan results.Case, 1)
	go func() {
		s := casekit.Script{Steps: []casekit.Step{casekit.Wait(40*time.Second, "")}, Judge: func([]casekit.Event) (results.Verdict, bool) { return results.OK, false }}
		long <- casekit.Gate(context.Background(), env, s.Run)
	}()
	time.Sleep(200 * time.Millisecond) // the long case has its connection
	x := casekit.Exchange{N: 1, Message: func(int) (byte, []byte) { return wire.OpText, []byte("hello") }}
	for i := range 5 {
		if c := casekit.Gate(context.Background(), env, x.Run); c.NotRun || !strings.Contains(c.Observed, "timed out") {
			t.Errorf("case %d while the server is busy: not run %v, observed %q", i, c.NotRun, c.Observed)
		}
	}
	close(busy)
	<-long
	var last results.Case
	for range 4 {
		last = casekit.Gate(context.Background(), env, x.Run)
	}
	if !last.NotRun {
		t.Errorf("once the server is silent everywhere, a case still ran: %q", last.Observed)
	}
}
