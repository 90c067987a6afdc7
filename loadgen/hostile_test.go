package loadgen_test

// The load generator against servers that misbehave on purpose
// (internal/hostile). Whatever the server does, a run ends on time, returns
// a result that survives the JSON round trip, counts each failure under
// its kind, allocates nothing in proportion to what the server declares
// and leaves no goroutine behind.

import (
	"context"
	"maps"
	"os"
	"path/filepath"
	"reflect"
	"runtime"
	"slices"
	"strings"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/wsharness/wsharness/internal/hostile"
	"github.com/wsharness/wsharness/loadgen"
)

const hostileConns = 20

// hostileConfig is a load short enough to run against every hostile
// server in one test: 20 connections opened
// unpaced, 200 messages/s for 1 s with no warm-up, a 1 s dial timeout and
// a short drain.
func hostileConfig(url string) loadgen.Config {
	return loadgen.Config{
		Scenario: loadgen.ScenarioEcho, URL: url, Conns: hostileConns, Rate: 200,
		Duration: time.Second, DialTimeout: time.Second, Drain: 500 * time.Millisecond,
	}
}

// runBound is the longest a run of cfg may take: the ramp (one dial
// timeout when unpaced), the warm-up and the duration, a write blocked
// past the end of sending (its deadline is the dial timeout), the drain,
// the closing handshake (1 s), and a wide margin for this shared 2-core
// machine, where an in-process server flooding its clients starves the
// run (ping-flood takes 2.5 s idle, up to 9 s under load).
func runBound(cfg loadgen.Config) time.Duration {
	ramp := cfg.DialTimeout
	if cfg.RampPerS > 0 {
		ramp += time.Duration(float64(cfg.Conns) / cfg.RampPerS * float64(time.Second))
	}
	return ramp + cfg.Warmup + cfg.Duration + cfg.DialTimeout + cfg.Drain + time.Second + 10*time.Second
}

// hostileRun is what one run against a hostile server produced.
type hostileRun struct {
	cfg      loadgen.Config
	res      *loadgen.Result
	elapsed  time.Duration
	alloc    uint64 // bytes allocated by the whole process during the run
	accepted int    // connections the server accepted
}

// runAgainst starts the hostile server b (nil: no server, url is used as
// given), runs cfg against it and checks what every run must do: end
// within runBound, return a result that is not marked interrupted and
// that reads back from its JSON, count every connection once
// (established or failed by kind), count every drop by kind, and leave no
// goroutine behind once the server is closed.
func runAgainst(t *testing.T, b *hostile.Behaviour, url string, cfg func(url string) loadgen.Config) hostileRun {
	t.Helper()
	leaks := goleak.IgnoreCurrent()
	var srv *hostile.Server
	if b != nil {
		var err error
		if srv, err = hostile.Start(*b); err != nil {
			t.Fatal(err)
		}
		url = srv.URL()
	}
	c := cfg(url)
	bound := runBound(c)
	// The context only guards the test: a run that needs it has failed.
	ctx, cancel := context.WithTimeout(context.Background(), 3*bound)
	defer cancel()

	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	start := time.Now()
	res, err := loadgen.Run(ctx, c)
	elapsed := time.Since(start)
	runtime.ReadMemStats(&after)
	out := hostileRun{cfg: c, res: res, elapsed: elapsed, alloc: after.TotalAlloc - before.TotalAlloc}
	if srv != nil {
		out.accepted = srv.Accepted()
		srv.Close()
	}
	goleak.VerifyNone(t, leaks)

	if err != nil {
		t.Fatalf("Run: %v", err)
	}
	if res == nil {
		t.Fatal("Run returned no result")
	}
	conns := res.Connections
	t.Logf("OBSERVED %.2fs (bound %v), %.1f MiB allocated, accepted %d, established %d, failures %v, dropped %d %v",
		elapsed.Seconds(), bound, float64(out.alloc)/(1<<20), out.accepted, conns.Established, conns.Failures, conns.Dropped, conns.Drops)
	if m := res.Messages; m != nil {
		t.Logf("OBSERVED messages sent %d received %d lost %d errors %d unmatched %d", m.Sent, m.Received, m.Lost, m.Errors, m.Unmatched)
	}
	if elapsed > bound {
		t.Errorf("run took %v, more than its bound %v", elapsed, bound)
	}
	if res.Interrupted {
		t.Error("result marked interrupted although the run was not")
	}
	if conns.Target != c.Conns || conns.Established+conns.Failed != c.Conns || sum(conns.Failures) != conns.Failed {
		t.Errorf("connections %+v: want %d attempts, each established or failed by kind", conns, c.Conns)
	}
	if sum(conns.Drops) != conns.Dropped || conns.Dropped > conns.Established {
		t.Errorf("dropped %d, by kind %v (%d), of %d established", conns.Dropped, conns.Drops, sum(conns.Drops), conns.Established)
	}
	roundTrip(t, res)
	return out
}

func sum(m map[string]int) int {
	n := 0
	for _, v := range m {
		n += v
	}
	return n
}

// roundTrip writes res as the CLI does and reads it back.
func roundTrip(t *testing.T, res *loadgen.Result) {
	t.Helper()
	b, err := loadgen.Marshal(res)
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Connections.Drops) > 0 && !strings.Contains(string(b), `"drops"`) {
		t.Errorf("drops %v not written", res.Connections.Drops)
	}
	path := filepath.Join(t.TempDir(), "load.json")
	if err := os.WriteFile(path, b, 0o644); err != nil {
		t.Fatal(err)
	}
	back, err := loadgen.ReadFile(path)
	if err != nil {
		t.Fatalf("the result does not read back: %v", err)
	}
	if !reflect.DeepEqual(back.Connections, res.Connections) || !reflect.DeepEqual(back.Messages, res.Messages) {
		t.Errorf("read back connections %+v messages %+v, wrote %+v %+v", back.Connections, back.Messages, res.Connections, res.Messages)
	}
}

// onlyKind checks that every one of n was counted under kind.
func onlyKind(t *testing.T, what string, got map[string]int, kind string, n int) {
	t.Helper()
	if want := map[string]int{kind: n}; !maps.Equal(got, want) {
		t.Errorf("%s by kind %v, want %v", what, got, want)
	}
}

// kindsWithin checks that got counts n in all and only kinds from allowed.
func kindsWithin(t *testing.T, what string, got map[string]int, n int, allowed ...string) {
	t.Helper()
	for k := range got {
		if !slices.Contains(allowed, k) {
			t.Errorf("%s by kind %v: %q is not one of %v", what, got, k, allowed)
		}
	}
	if sum(got) != n {
		t.Errorf("%s by kind %v: %d in all, want %d", what, got, sum(got), n)
	}
}

// allDialsFailed: no connection was made, and all failed as kind.
func allDialsFailed(t *testing.T, r hostileRun, kind string) {
	t.Helper()
	c := r.res.Connections
	if c.Established != 0 || c.Dropped != 0 {
		t.Errorf("established %d, dropped %d: want no connection", c.Established, c.Dropped)
	}
	onlyKind(t, "failures", c.Failures, kind, r.cfg.Conns)
	if m := r.res.Messages; m == nil || m.Sent != 0 || m.Received != 0 || m.Errors != 0 {
		t.Errorf("messages %+v: want an echo result with nothing sent", m)
	}
}

// allDropped: every connection was made and then failed as kind, each
// counted as one error unless the server closed it.
func allDropped(t *testing.T, r hostileRun, kind string) {
	t.Helper()
	n := r.cfg.Conns
	c := r.res.Connections
	if c.Established != n || c.Failed != 0 {
		t.Errorf("established %d, failed %d %v: want all %d established", c.Established, c.Failed, c.Failures, n)
	}
	if c.Dropped != n {
		t.Errorf("dropped %d, want all %d", c.Dropped, n)
	}
	onlyKind(t, "drops", c.Drops, kind, n)
	if m := r.res.Messages; m == nil || m.Received != int64(0) || m.Errors != int64(n) {
		t.Errorf("messages %+v: want nothing received and one error per connection", m)
	}
}

// TestHostileServers runs hostileConfig's load against every hostile server.
// The kinds expected are the ones this machine observes, and each check
// fails when the defence it covers is removed: without the read limit the
// huge and trickled frames are read (no protocol drops), without the
// handshake bound huge-header allocates ~100 MB per connection, without a
// write deadline never-reads hangs the run, and without the transport
// error behind a half-read response slow-handshake and random-reset read
// as malformed responses.
func TestHostileServers(t *testing.T) {
	checks := map[string]func(t *testing.T, r hostileRun){
		// TCP accepted, no answer: the handshake times out.
		"silent": func(t *testing.T, r hostileRun) { allDialsFailed(t, r, loadgen.FailTimeout) },
		// Random bytes after the 101: gorilla rejects the first frame
		// header (reserved bits, opcodes, a mask) or its length.
		"garbage": func(t *testing.T, r hostileRun) { allDropped(t, r, loadgen.FailProtocol) },
		// Frames declaring more than the read limit fail at their header,
		// before a byte of payload is read or allocated.
		"huge-frame-63": func(t *testing.T, r hostileRun) { allDropped(t, r, loadgen.FailProtocol) },
		"huge-frame-62": func(t *testing.T, r hostileRun) { allDropped(t, r, loadgen.FailProtocol) },
		"trickle-frame": func(t *testing.T, r hostileRun) { allDropped(t, r, loadgen.FailProtocol) },
		// Pings are legal: the client answers them all and counts the
		// messages the server never echoes as lost. It keeps its
		// connections, unless the Pongs the flood asks for fill the
		// socket while the server is busy flooding (on a loaded
		// machine): a Pong write then times out, and so does the
		// connection.
		"ping-flood": func(t *testing.T, r hostileRun) {
			c, m := r.res.Connections, r.res.Messages
			if c.Established != r.cfg.Conns || c.Failed != 0 {
				t.Errorf("connections %+v: want all established", c)
			}
			kindsWithin(t, "drops", c.Drops, c.Dropped, loadgen.FailTimeout)
			if m.Sent == 0 || m.Received != 0 || m.Lost != m.Sent || m.Errors != int64(c.Dropped) {
				t.Errorf("messages %+v: want every one sent lost, an error per drop", m)
			}
		},
		// A 4 MiB message is more than the socket buffers hold: its write
		// blocks until its deadline (the dial timeout) fails the
		// connection.
		"never-reads": func(t *testing.T, r hostileRun) { allDropped(t, r, loadgen.FailTimeout) },
		// 10 bytes of a 256-byte frame, then TCP closed: gorilla reports
		// the end without a Close frame (closed); when the client's next
		// message reached the closed socket first, the kernel resets.
		"mid-frame-close": func(t *testing.T, r hostileRun) {
			c := r.res.Connections
			if c.Established != hostileConns {
				t.Errorf("established %d, want %d", c.Established, hostileConns)
			}
			kindsWithin(t, "drops", c.Drops, hostileConns, loadgen.FailClosed, loadgen.FailReset)
		},
		// RST before, during or after the handshake: failed dials and
		// drops are all resets, whatever the parser saw of a half
		// response.
		"random-reset": func(t *testing.T, r hostileRun) {
			c := r.res.Connections
			if c.Established == 0 || c.Failed == 0 {
				t.Errorf("established %d, failed %d: the seeded server resets some connections before and some after the handshake", c.Established, c.Failed)
			}
			kindsWithin(t, "failures", c.Failures, c.Failed, loadgen.FailReset)
			kindsWithin(t, "drops", c.Drops, c.Established, loadgen.FailReset)
		},
		// One byte every 300 ms: the dial timeout ends it, although the
		// parser saw a malformed status line.
		"slow-handshake": func(t *testing.T, r hostileRun) { allDialsFailed(t, r, loadgen.FailTimeout) },
		"malformed-101":  func(t *testing.T, r hostileRun) { allDialsFailed(t, r, loadgen.FailBadHandshake) },
		// A 100 MB header stops at MaxHandshakeBytes per connection.
		"huge-header": func(t *testing.T, r hostileRun) {
			allDialsFailed(t, r, loadgen.FailBadHandshake)
			if limit := uint64(64 << 20); r.alloc > limit {
				t.Errorf("the run allocated %d MiB: the handshake response is not bounded", r.alloc>>20)
			}
		},
	}
	for _, b := range hostile.Behaviours() {
		t.Run(b.Name, func(t *testing.T) {
			check, ok := checks[b.Name]
			if !ok {
				t.Fatalf("no expectation for hostile behaviour %q: add one", b.Name)
			}
			cfg := hostileConfig
			switch b.Name {
			case "ping-flood":
				// The flood costs CPU per connection, server and
				// client alike: five are enough.
				cfg = func(url string) loadgen.Config {
					c := hostileConfig(url)
					c.Conns, c.Rate = 5, 50
					return c
				}
			case "never-reads":
				// Few connections and 3 s: on a starved machine a
				// sender must still start its first write in time.
				cfg = func(url string) loadgen.Config {
					c := hostileConfig(url)
					c.Conns, c.Rate, c.Size, c.Duration = 4, 40, 4<<20, 3*time.Second
					return c
				}
			}
			r := runAgainst(t, &b, "", cfg)
			if r.accepted == 0 {
				t.Errorf("the server accepted no connection")
			}
			check(t, r)
		})
	}
}

// Nothing listens: every connection is refused, at once.
func TestHostileRefused(t *testing.T) {
	r := runAgainst(t, nil, closedPort(t), hostileConfig)
	allDialsFailed(t, r, loadgen.FailRefused)
}

// The connect scenario holds connections without sending: a server that
// sends garbage drops them all as protocol errors all the same.
func TestHostileConnectScenario(t *testing.T) {
	b, err := hostile.Lookup("garbage")
	if err != nil {
		t.Fatal(err)
	}
	r := runAgainst(t, &b, "", func(url string) loadgen.Config {
		c := hostileConfig(url)
		c.Scenario, c.Rate = loadgen.ScenarioConnect, 0
		return c
	})
	c := r.res.Connections
	if c.Established != hostileConns || r.res.Messages != nil {
		t.Errorf("established %d, messages %+v: want all established, no messages", c.Established, r.res.Messages)
	}
	onlyKind(t, "drops", c.Drops, loadgen.FailProtocol, hostileConns)
}

// Broadcast: every receiver of a server declaring 2^63-byte frames is
// dropped as a protocol error, and no delivery is counted.
func TestHostileBroadcastScenario(t *testing.T) {
	b, err := hostile.Lookup("huge-frame-63")
	if err != nil {
		t.Fatal(err)
	}
	r := runAgainst(t, &b, "", func(url string) loadgen.Config {
		c := hostileConfig(url)
		c.Scenario, c.Rate, c.Senders = loadgen.ScenarioBroadcast, 20, 2
		return c
	})
	c, m := r.res.Connections, r.res.Messages
	if c.Established != hostileConns {
		t.Errorf("established %d, want %d", c.Established, hostileConns)
	}
	onlyKind(t, "drops", c.Drops, loadgen.FailProtocol, hostileConns)
	if m == nil || m.Received != 0 {
		t.Errorf("messages %+v: want none received", m)
	}
}

// The read limit is twice the message size (at least MinReadLimit), and
// the handshake bound is lifted once the connection is made: messages
// larger than either cross a correct server intact.
func TestLargeMessagesPassTheLimits(t *testing.T) {
	srv := startEcho(t, echoBehavior{})
	size := max(loadgen.MaxHandshakeBytes, loadgen.MinReadLimit) + 1000
	res := runLoad(t, loadgen.Config{
		Scenario: loadgen.ScenarioEcho, URL: srv.URL, Conns: 2, Rate: 20, Size: size, Binary: true,
		Duration: time.Second, DialTimeout: 2 * time.Second,
	})
	c, m := res.Connections, res.Messages
	t.Logf("OBSERVED connections %+v messages %+v", c, *m)
	if c.Established != 2 || c.Dropped != 0 || m.Errors != 0 || m.Unmatched != 0 || m.Sent == 0 || m.Received != m.Sent {
		t.Errorf("connections %+v messages %+v: want every %d-byte message echoed", c, *m, size)
	}
}

// Every connection fails during a long warm-up: sending ends early, and
// the goroutine that would have started the measurement ends with it
// rather than outliving the run.
func TestHostileDuringWarmup(t *testing.T) {
	b, err := hostile.Lookup("garbage")
	if err != nil {
		t.Fatal(err)
	}
	r := runAgainst(t, &b, "", func(url string) loadgen.Config {
		c := hostileConfig(url)
		c.Warmup = 5 * time.Second
		return c
	})
	onlyKind(t, "drops", r.res.Connections.Drops, loadgen.FailProtocol, hostileConns)
	if r.elapsed > 4*time.Second {
		t.Errorf("run took %v: it waited out the warm-up of connections that had all failed", r.elapsed)
	}
}
