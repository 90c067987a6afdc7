package cases_test

import (
	"context"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/wsharness/wsharness/conformance/casekit"
	"github.com/wsharness/wsharness/conformance/cases"
	"github.com/wsharness/wsharness/conformance/engine"
	"github.com/wsharness/wsharness/conformance/internal/brokenpeer"
	"github.com/wsharness/wsharness/results"
	"github.com/wsharness/wsharness/wire"
)

// limitsWorkers bounds the 9.x cases running at once: each holds up to
// four copies of its message (sent, encoded, received, reassembled).
const limitsWorkers = 8

// limitsTimeScale stretches the 9.x timers for the correct server only:
// under the race detector on two cores busy with other tests, 1000 round
// trips have taken 58 s of 9.8.1's 60. A longer timer cannot turn a wrong
// echo into a right one.
const limitsTimeScale = 4

// limitsSample is the part of 9.x make test runs: the smallest and largest
// single frames, the smallest and largest fragments and chops, and one
// series. WSH_FULL_PROFILE=1 (set by CI's full-profile step) runs all 54.
var limitsSample = []string{"9.1.1", "9.1.6", "9.2.6", "9.3.1", "9.4.9", "9.5.1", "9.6.6", "9.8.1"}

// TestCorrectServerPassesLimits runs 9.x against a correct server: every
// echo must come back right, with the round trips measured and a wire
// log and trace that do not grow with the data. It is not parallel: it
// runs alone, before the package's parallel tests, so its megabytes do not
// starve their 2 s timers of CPU.
func TestCorrectServerPassesLimits(t *testing.T) {
	srv := brokenpeer.StartForTest(t, brokenpeer.Defects{})
	ctx, cancel := context.WithTimeout(context.Background(), testDeadline)
	defer cancel()
	env := casekit.Env{URL: srv.URL(), TimeScale: limitsTimeScale}
	checkCorrectPeerPassesLimits(t, "server", cases.ByFamily(cases.FamilyLimits), func(cs []cases.Case, workers int) []results.Case {
		return runEnv(ctx, env, cs, workers)
	})
}

// TestCorrectClientPassesLimits runs 9.x in client form against a correct
// client, the harness as the server sending the megabytes: the same
// checks as for a server. Not parallel, for the same reason.
func TestCorrectClientPassesLimits(t *testing.T) {
	var limits []cases.Case
	for _, c := range cases.ForPeer(wire.Client) {
		if c.Family == cases.FamilyLimits {
			limits = append(limits, c)
		}
	}
	checkCorrectPeerPassesLimits(t, "client", limits, func(cs []cases.Case, workers int) []results.Case {
		ctx, cancel := context.WithTimeout(t.Context(), testDeadline)
		defer cancel()
		out := engine.Execute(ctx, engine.Plan{
			Settings: engine.Settings{TimeScale: limitsTimeScale},
			Targets:  []engine.Target{clientTarget("correct", brokenpeer.Defects{})}, ClientCases: cs, Concurrency: workers,
		})
		got := make([]results.Case, 0, len(out.Records))
		for _, r := range out.Records {
			got = append(got, r.Case)
		}
		if out.Cut > 0 || len(got) != len(cs) {
			t.Fatalf("%d results for %d cases, %d cut short", len(got), len(cs), out.Cut)
		}
		return got
	})
}

// checkCorrectPeerPassesLimits runs the sample of limits (all of them with
// WSH_FULL_PROFILE=1) with run, the megabyte echoes first and the
// latency-bound round-trip series after them, and requires every echo to
// come back right, the round trips measured, and a wire log and trace that
// do not grow with the data.
func checkCorrectPeerPassesLimits(t *testing.T, peer string, limits []cases.Case, run func(cs []cases.Case, workers int) []results.Case) {
	t.Helper()
	selected := limits
	if os.Getenv("WSH_FULL_PROFILE") == "" {
		selected = selectCases(selected, limitsSample)
		t.Logf("running %d of the 9.x cases; WSH_FULL_PROFILE=1 runs all", len(selected))
	}
	// The round-trip series are latency-bound: run beside the megabyte
	// echoes they would wait for the CPU on every one of their 12,000 round
	// trips, so they run after them.
	var bulk, series []cases.Case
	for _, c := range selected {
		if strings.HasPrefix(c.ID, "9.7.") || strings.HasPrefix(c.ID, "9.8.") {
			series = append(series, c)
		} else {
			bulk = append(bulk, c)
		}
	}
	started := time.Now()
	got := run(bulk, limitsWorkers)
	got = append(got, run(series, len(series))...)
	for _, r := range got {
		if r.Verdict != results.OK || r.CloseVerdict != results.CloseOK {
			t.Errorf("case %s (%s) against the correct %s: verdict %s, close %s\n%s",
				r.ID, r.Title, peer, r.Verdict, r.CloseVerdict, indent(r.Observed))
			continue
		}
		if !strings.HasPrefix(r.Observed, "1 round trip of ") && !strings.HasPrefix(r.Observed, "1000 round trips in ") {
			t.Errorf("case %s: the observed text does not state the measured round trips:\n%s", r.ID, indent(r.Observed))
		}
		if r.DurationMS <= 0 {
			t.Errorf("case %s: duration %v ms, want the measured round trips", r.ID, r.DurationMS)
		}
		if len(r.Events) > 6 || len(r.Wirelog) > 60 {
			t.Errorf("case %s: %d events and %d wire-log entries; both must stay short whatever the data", r.ID, len(r.Events), len(r.Wirelog))
		}
		t.Logf("%-6s %-50s %9.1f ms", r.ID, r.Title, r.DurationMS)
	}
	t.Logf("%d cases in %v", len(got), time.Since(started).Round(time.Millisecond))
}

// runEnv runs cs in env, at most workers at a time, in the order of cs.
func runEnv(ctx context.Context, env casekit.Env, cs []cases.Case, workers int) []results.Case {
	out := make([]results.Case, len(cs))
	sem := make(chan struct{}, max(workers, 1))
	var wg sync.WaitGroup
	for i, c := range cs {
		wg.Go(func() {
			sem <- struct{}{}
			defer func() { <-sem }()
			out[i] = c.Run(ctx, env)
		})
	}
	wg.Wait()
	return out
}

func TestLimitsCatalog(t *testing.T) {
	byID := map[string]cases.Case{}
	for _, c := range cases.ByFamily(cases.FamilyLimits) {
		byID[c.ID] = c
	}
	if len(byID) != 54 {
		t.Fatalf("%d 9.x cases, want Autobahn's 54", len(byID))
	}
	// Autobahn's timers (case9_*.py).
	for id, want := range map[string]time.Duration{
		"9.1.1": 10 * time.Second, "9.1.3": 100 * time.Second, "9.2.4": 10 * time.Second, "9.2.5": 100 * time.Second,
		"9.3.1": 100 * time.Second, "9.4.9": 100 * time.Second, "9.5.1": 1000 * time.Second, "9.6.6": 1000 * time.Second,
		"9.7.1": 60 * time.Second, "9.7.4": 120 * time.Second, "9.8.6": 480 * time.Second,
	} {
		if got := byID[id].Timeout(); got != want {
			t.Errorf("%s: timeout %v, want %v", id, got, want)
		}
	}
	if !cases.IsSlow(cases.FamilyLimits) {
		t.Errorf("the limits family is not in cases.SlowFamilies: the default profile would run it")
	}
}
