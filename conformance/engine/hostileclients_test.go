package engine

import (
	"runtime"
	"slices"
	"sync/atomic"
	"testing"
	"time"

	"github.com/wsharness/wsharness/conformance/casekit"
	"github.com/wsharness/wsharness/conformance/cases"
	"github.com/wsharness/wsharness/internal/hostile"
	"github.com/wsharness/wsharness/results"
	"github.com/wsharness/wsharness/targets"
	"github.com/wsharness/wsharness/wire"
)

// hostileTimeScale shortens every case timer: against a hostile client
// most cases wait out a timer.
const hostileTimeScale = 0.25

// hostileHeapBound is the most heap the run may hold at once: a client
// declaring a 2^63-byte frame or flooding must not make the harness buffer
// what it sends.
const hostileHeapBound = 512 << 20

// Against clients that hang, flood, never close, send garbage or declare
// a 2^63-byte frame, every case of a sample of each client family ends
// within its bound with a verdict, none with a harness error, every
// hostile client fails some case, and the heap stays bounded.
func TestHostileClients(t *testing.T) {
	if testing.Short() {
		t.Skip("plays a sample of the client catalog against every hostile client (about a minute)")
	}
	perFamily := map[cases.Family]int{}
	// Cases the first three of their family miss whose engine path is
	// their own: masking keys kept over a thousand round trips (100.12),
	// TCP held open after the closing handshake or a FIN (111.18, 111.19).
	ownPaths := []string{"100.12", "111.18", "111.19"}
	var plan Plan
	for _, c := range cases.ForPeer(wire.Client) {
		if !cases.IsSlow(c.Family) && (perFamily[c.Family] < 3 || slices.Contains(ownPaths, c.ID)) {
			perFamily[c.Family]++
			plan.ClientCases = append(plan.ClientCases, c)
		}
	}
	for _, b := range hostile.ClientBehaviours() {
		plan.Targets = append(plan.Targets, Target{Info: targets.Info{Name: b.Name, Role: wire.Client}, Client: b.Run})
	}
	plan.Concurrency, plan.TimeScale = 32, hostileTimeScale

	var peak atomic.Uint64
	stop := make(chan struct{})
	sampled := make(chan struct{})
	go func() {
		defer close(sampled)
		var ms runtime.MemStats
		for {
			runtime.ReadMemStats(&ms)
			if ms.HeapInuse > peak.Load() {
				peak.Store(ms.HeapInuse)
			}
			select {
			case <-stop:
				return
			case <-time.After(50 * time.Millisecond):
			}
		}
	}()
	start := time.Now()
	out := Execute(t.Context(), plan)
	close(stop)
	<-sampled
	t.Logf("%d cases × %d hostile clients in %v; peak heap %d MiB", len(plan.ClientCases), len(plan.Targets), time.Since(start).Round(time.Second), peak.Load()>>20)

	if want := len(plan.ClientCases) * len(plan.Targets); len(out.Records) != want || out.Cut != 0 {
		t.Fatalf("%d records, %d cut; want %d", len(out.Records), out.Cut, want)
	}
	bound := map[string]time.Duration{}
	for _, c := range plan.ClientCases {
		bound[c.ID] = c.Bound(casekit.Env{TimeScale: hostileTimeScale, Peer: wire.Client}) + clientEndWait
	}
	failing := map[string]int{}
	for _, r := range out.Records {
		c := r.Case
		switch {
		case c.HarnessError != "":
			t.Errorf("%s %s: harness error: %s", r.Target, c.ID, c.HarnessError)
		case !slices.Contains(results.Verdicts, c.Verdict):
			t.Errorf("%s %s: no verdict (%q): %s", r.Target, c.ID, c.Verdict, c.Observed)
		case time.Duration(c.DurationMS*float64(time.Millisecond)) > bound[c.ID]:
			t.Errorf("%s %s: took %.0f ms, past its bound of %v", r.Target, c.ID, c.DurationMS, bound[c.ID])
		}
		if c.Failing() {
			failing[r.Target]++
		}
	}
	for _, tg := range plan.Targets {
		if failing[tg.Info.Name] == 0 {
			t.Errorf("%s: no case failed against a hostile client", tg.Info.Name)
		}
	}
	if p := peak.Load(); p > hostileHeapBound {
		t.Errorf("peak heap %d MiB, over the bound of %d MiB", p>>20, hostileHeapBound>>20)
	}
}
