package cases_test

import (
	"context"
	"testing"
	"time"

	"github.com/wsharness/wsharness/conformance/cases"
	"github.com/wsharness/wsharness/conformance/engine"
	"github.com/wsharness/wsharness/conformance/internal/brokenpeer"
	"github.com/wsharness/wsharness/results"
	"github.com/wsharness/wsharness/targets"
	"github.com/wsharness/wsharness/wire"
)

// clientTarget is the broken peer as a client under test with defects d.
func clientTarget(name string, d brokenpeer.Defects) engine.Target {
	return engine.Target{
		Info:   targets.Info{Name: name, Role: wire.Client},
		Client: func(ctx context.Context, url string) error { return brokenpeer.Echo(ctx, url, d) },
	}
}

// clientRecords runs cs against the targets with the harness as the
// server and returns each target's results.
func clientRecords(t *testing.T, ts []engine.Target, cs []cases.Case) map[string][]results.Case {
	t.Helper()
	return clientRecordsWithin(t, testDeadline, ts, cs)
}

// clientRecordsWithin is clientRecords with a deadline of its own, for
// runs of the CPU-bound families.
func clientRecordsWithin(t *testing.T, deadline time.Duration, ts []engine.Target, cs []cases.Case) map[string][]results.Case {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), deadline)
	defer cancel()
	out := engine.Execute(ctx, engine.Plan{Targets: ts, ClientCases: cs, Concurrency: defectWorkers})
	if out.Cut > 0 {
		t.Fatalf("%d cases cut short by the test's deadline", out.Cut)
	}
	got := map[string][]results.Case{}
	for _, r := range out.Records {
		if r.Case.HarnessError != "" {
			t.Errorf("%s %s: harness error %s", r.Target, r.Case.ID, r.Case.HarnessError)
		}
		got[r.Target] = append(got[r.Target], r.Case)
	}
	return got
}

// TestCorrectClientPassesEveryCase runs the client form of the catalog
// against the broken peer as a client with no defect: every verdict is OK
// or INFORMATIONAL, with no wrong close code.
func TestCorrectClientPassesEveryCase(t *testing.T) {
	t.Parallel()
	var all []cases.Case
	for _, c := range cases.ForPeer(wire.Client) {
		if !cases.IsSlow(c.Family) {
			all = append(all, c)
		}
	}
	started := time.Now()
	// The cases that need offers without client_max_window_bits run
	// against the correct client offering plain permessage-deflate.
	correct, plain := clientTarget("correct", brokenpeer.Defects{}), clientTarget("plain", brokenpeer.Defects{ClientPlainDeflateOffer: true})
	correct.Skip, plain.Skip = func(id string) bool { return plainOfferCases[id] }, func(id string) bool { return !plainOfferCases[id] }
	records := clientRecords(t, []engine.Target{correct, plain}, all)
	got := append(records["correct"], records["plain"]...)
	if len(got) != len(all) {
		t.Fatalf("%d results for %d cases", len(got), len(all))
	}
	requireAllPass(t, "client", got, started)
}

// TestEachClientDefectIsCaught runs the defect table in client form: each
// defect of the frame loop, committed by the broken peer as a client, is
// caught by the client form of the cases that catch it in a server. Cases
// the client form does not have (masking, handshake) are not required
// here, and rows whose knob only a server has are left out.
func TestEachClientDefectIsCaught(t *testing.T) {
	t.Parallel()
	clientCatalog := cases.ForPeer(wire.Client)
	inCatalog := map[string]bool{}
	for _, c := range clientCatalog {
		inCatalog[c.ID] = true
	}
	var ts []engine.Target
	var cs []cases.Case
	seen := map[string]bool{}
	var rows []defectRow
	for _, row := range defectRows {
		if row.defects.ServerOnly() {
			continue
		}
		selected := selectCases(clientCatalog, row.run)
		if len(selected) == 0 {
			t.Logf("%s: no case of the client form targets it yet", row.name)
			continue
		}
		picked := map[string]bool{}
		for _, c := range selected {
			picked[c.ID] = true
			if !seen[c.ID] {
				seen[c.ID] = true
				cs = append(cs, c)
			}
		}
		target := clientTarget(row.name, row.defects)
		target.Skip = func(id string) bool { return !picked[id] } // each row runs its own cases
		rows = append(rows, row)
		ts = append(ts, target)
	}
	started := time.Now()
	got := clientRecords(t, ts, cs)
	t.Logf("%d defects in %v", len(rows), time.Since(started).Round(time.Millisecond))
	for _, row := range rows {
		t.Run(row.name, func(t *testing.T) {
			row.check(t, got[row.name], inCatalog)
			t.Logf("%d cases, %d failing", len(got[row.name]), failing(got[row.name]))
		})
	}
}
