package engine

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

	"github.com/wsharness/wsharness/conformance/cases"
	"github.com/wsharness/wsharness/conformance/internal/brokenpeer"
	"github.com/wsharness/wsharness/internal/fuzzclient"
	"github.com/wsharness/wsharness/results"
	"github.com/wsharness/wsharness/targets"
	"github.com/wsharness/wsharness/wire"
)

// fuzzCases is a small client-form list: framing, pings, one excluded
// for the agent "skipper".
func fuzzCases(t *testing.T) []cases.Case {
	t.Helper()
	cs := Select(cases.ForPeer(wire.Client), []string{"1.1.*", "2.*"}, nil)
	if len(cs) < 5 {
		t.Fatalf("%d cases: the catalog lost 1.1.x or 2.x", len(cs))
	}
	return cs
}

// A client driven by Autobahn's protocol runs every case with the runner
// of the harness-driven path: a correct one passes them, one that never
// answers a Ping FAILS the ping cases, and a case excluded for an agent
// is answered by just closing and not recorded.
func TestFuzzingServer(t *testing.T) {
	cs := fuzzCases(t)
	var updates atomic.Int32
	f, err := StartFuzzingServer(t.Context(), FuzzingOptions{
		Cases:    cs,
		Excluded: func(agent, id string) bool { return agent == "skipper" && id == cs[0].ID },
		OnUpdate: func([]AgentResults) { updates.Add(1) },
	})
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	drive := func(agent string, d brokenpeer.Defects) []fuzzclient.Case {
		got, err := fuzzclient.Run(t.Context(), f.URL(), agent, 4, func(ctx context.Context, url string) error {
			return brokenpeer.Echo(ctx, url, d)
		})
		if err != nil {
			t.Fatalf("%s: %v", agent, err)
		}
		if len(got) != len(cs) {
			t.Fatalf("%s: getCaseCount %d, want the %d cases of the list", agent, len(got), len(cs))
		}
		for i, c := range got {
			if c.ID != cs[i].ID || c.Description != cs[i].Description {
				t.Errorf("%s: getCaseInfo?case=%d = %q, want %q", agent, i+1, c.ID, cs[i].ID)
			}
		}
		return got
	}
	for _, c := range drive("correct", brokenpeer.Defects{}) {
		if c.Behavior != string(results.OK) && c.Behavior != string(results.Informational) {
			t.Errorf("correct client: %s is %s", c.ID, c.Behavior)
		}
	}
	for _, c := range drive("nopong", brokenpeer.Defects{NoPong: true}) {
		if strings.HasPrefix(c.ID, "2.1") && c.Behavior != string(results.Failed) { // 2.1: one Ping, its Pong expected
			t.Errorf("client that never answers a Ping: %s is %s, want FAILED", c.ID, c.Behavior)
		}
	}
	skipped := drive("skipper", brokenpeer.Defects{})
	if skipped[0].Behavior != notRunStatus {
		t.Errorf("excluded case %s: status %q, want %q", cs[0].ID, skipped[0].Behavior, notRunStatus)
	}
	if updates.Load() != 3 {
		t.Errorf("%d report updates, want one per driver", updates.Load())
	}
	byAgent := map[string]AgentResults{}
	for _, r := range f.Results() {
		byAgent[r.Agent] = r
		if r.Target.Info.Role != wire.Client {
			t.Errorf("%s recorded as a %v", r.Agent, r.Target.Info.Role)
		}
	}
	if n := len(byAgent["correct"].Records); n != len(cs) {
		t.Errorf("correct: %d records for %d cases", n, len(cs))
	}
	if r := byAgent["skipper"]; len(r.Records) != len(cs)-1 || r.Ran[cs[0].ID] {
		t.Errorf("skipper: %d records, excluded case recorded: %v", len(r.Records), r.Ran[cs[0].ID])
	}
	for _, r := range byAgent["nopong"].Records {
		if r.Case.HarnessError != "" {
			t.Errorf("%s: harness error %s", r.Case.ID, r.Case.HarnessError)
		}
	}
}

// The fuzzing server answers only on loopback.
func TestFuzzingServerLoopbackOnly(t *testing.T) {
	for _, addr := range []string{"0.0.0.0:0", ":0", "[::]:0"} {
		if _, err := StartFuzzingServer(t.Context(), FuzzingOptions{Addr: addr}); err == nil || !strings.Contains(err.Error(), "loopback") {
			t.Errorf("%s: %v, want a refusal naming loopback", addr, err)
		}
	}
}

// A client driver (Target.Drive) runs once with a fuzzing server of the
// target's cases: a correct one that runs them all passes each; one that
// stops halfway gets its verdicts for the cases it ran and a FAILED
// not-run record saying why for each of the rest; one that hangs without
// connecting is stopped on the idle bound, its cases all not run; one
// whose runtime is missing is listed unavailable.
func TestExecuteDriver(t *testing.T) {
	cs := fuzzCases(t)
	driver := func(name string, upTo int, hang bool) Target {
		return Target{Info: targets.Info{Name: name, Role: wire.Client}, Drive: func(ctx context.Context, url, agent string) error {
			if hang {
				<-ctx.Done()
				return ctx.Err()
			}
			var n atomic.Int32
			_, err := fuzzclient.Run(ctx, url, agent, 4, func(ctx context.Context, url string) error {
				if int(n.Add(1)) > upTo {
					return nil // never connects: the case is not run
				}
				return brokenpeer.Echo(ctx, url, brokenpeer.Defects{})
			})
			return err
		}}
	}
	// A driver that only ever asks for the case count runs no case: it is
	// as stuck as a silent one.
	chatty := Target{Info: targets.Info{Name: "chatty", Role: wire.Client}, Drive: func(ctx context.Context, url, _ string) error {
		for ctx.Err() == nil {
			var n int
			_ = fuzzclient.Call(ctx, url+"/getCaseCount", &n)
		}
		return ctx.Err()
	}}
	missing := Target{Info: targets.Info{Name: "missing", Role: wire.Client}, Drive: func(context.Context, string, string) error {
		return fmt.Errorf("client missing: %w: node not installed", targets.ErrTargetUnavailable)
	}}
	out := Execute(t.Context(), Plan{ClientCases: cs, Concurrency: 4, Settings: Settings{TimeScale: 0.1},
		Targets: []Target{driver("all", len(cs), false), driver("half", 3, false), driver("hung", 0, true), chatty, missing}})
	got := map[string][]results.Case{}
	for _, r := range out.Records {
		if r.Unavailable != "" {
			if r.Target != "missing" || !strings.Contains(r.Unavailable, "node not installed") {
				t.Errorf("%s unavailable: %s", r.Target, r.Unavailable)
			}
			continue
		}
		got[r.Target] = append(got[r.Target], r.Case)
	}
	for name, rs := range got {
		if len(rs) != len(cs) {
			t.Errorf("%s: %d records for %d cases", name, len(rs), len(cs))
		}
	}
	for _, c := range got["all"] {
		if c.Verdict != results.OK && c.Verdict != results.Informational || c.NotRun {
			t.Errorf("all: %s %s %s", c.ID, c.Verdict, c.Observed)
		}
	}
	notRun := 0
	for _, c := range got["half"] {
		if c.NotRun {
			notRun++
			if c.Verdict != results.Failed || !strings.Contains(c.Observed, "never ran this case: the driver") {
				t.Errorf("half: %s not run: %s %q", c.ID, c.Verdict, c.Observed)
			}
		}
	}
	if notRun == 0 || notRun == len(cs) {
		t.Errorf("half: %d of %d cases not run, want some", notRun, len(cs))
	}
	for _, name := range []string{"hung", "chatty"} {
		for _, c := range got[name] {
			if !c.NotRun || !strings.Contains(c.Observed, "without running a case") {
				t.Errorf("%s: %s %s %q", name, c.ID, c.Verdict, c.Observed)
			}
		}
	}
}

// A client opening more cases at once than MaxClientCases is refused
// with 503 beyond them: a flood of connections does not grow memory
// without bound.
func TestFuzzingServerCap(t *testing.T) {
	f, err := StartFuzzingServer(t.Context(), FuzzingOptions{Cases: fuzzCases(t)})
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	head := "GET /runCase?case=1&agent=flood HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n" +
		"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n"
	dial := func() net.Conn {
		nc, err := net.Dial("tcp", strings.TrimPrefix(f.URL(), "ws://"))
		if err != nil {
			t.Fatal(err)
		}
		if _, err := nc.Write([]byte(head)); err != nil {
			t.Fatal(err)
		}
		return nc
	}
	for range MaxClientCases {
		defer dial().Close() // never reads: each case waits for its echo
	}
	for deadline := time.Now().Add(20 * time.Second); ; time.Sleep(20 * time.Millisecond) {
		f.mu.Lock()
		n := f.inflight
		f.mu.Unlock()
		if n == MaxClientCases {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d cases in flight, want %d", n, MaxClientCases)
		}
	}
	nc := dial()
	defer nc.Close()
	resp, err := http.ReadResponse(bufio.NewReader(nc), nil)
	if err != nil || resp.StatusCode != http.StatusServiceUnavailable {
		t.Fatalf("one case too many: %v, %v; want 503", resp, err)
	}
}
