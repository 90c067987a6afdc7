package cases_test

import (
	"context"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/wsharness/wsharness/conformance/casekit"
	"github.com/wsharness/wsharness/conformance/cases"
	"github.com/wsharness/wsharness/conformance/internal/brokenpeer"
	"github.com/wsharness/wsharness/results"
	"github.com/wsharness/wsharness/wire"
)

// Concurrency of the defect tests: cases mostly wait on timers, so many run
// at once even on two cores.
const (
	correctWorkers = 24
	defectWorkers  = 48
	testDeadline   = 3 * time.Minute
)

// TestCorrectServerPassesEveryCase runs the whole catalog against a server
// with no defect: no case may fail, no close may carry a wrong code, and
// since the server also does every SHOULD (fail fast, close TCP first),
// every verdict is OK or INFORMATIONAL.
func TestCorrectServerPassesEveryCase(t *testing.T) {
	t.Parallel()
	srv := brokenpeer.StartForTest(t, brokenpeer.Defects{})
	ctx, cancel := context.WithTimeout(context.Background(), testDeadline)
	defer cancel()

	started := time.Now()
	got := runAll(ctx, srv.URL(), quickCases(wire.HTTP1), make(chan struct{}, correctWorkers))
	requireAllPass(t, "server", got, started)
}

// TestCorrectH2ServerPassesEveryCase is the same over HTTP/2: the RFC 6455
// families on an extended CONNECT stream, and the HTTP/2 families,
// against the broken peer's HTTP/2 server with no defect.
func TestCorrectH2ServerPassesEveryCase(t *testing.T) {
	t.Parallel()
	srv := brokenpeer.StartH2ForTest(t, brokenpeer.Defects{}, brokenpeer.H2Defects{})
	ctx, cancel := context.WithTimeout(context.Background(), testDeadline)
	defer cancel()
	started := time.Now()
	got := runAll(ctx, srv.URL(), quickCases(wire.HTTP2), make(chan struct{}, correctWorkers))
	requireAllPass(t, "HTTP/2 server", got, started)
}

// quickCases is wireCases(transport) without the slow families
// (TestCorrectServerPassesLimits runs them).
func quickCases(transport wire.Transport) []cases.Case {
	var out []cases.Case
	for _, c := range wireCases(transport) {
		if !cases.IsSlow(c.Family) {
			out = append(out, c)
		}
	}
	return out
}

// requireAllPass fails the test for any result of the correct peer (a
// server or a client) that is not OK or INFORMATIONAL, or closes with a
// wrong code, and logs the counts.
func requireAllPass(t *testing.T, peer string, got []results.Case, started time.Time) {
	t.Helper()
	counts := map[results.Verdict]int{}
	for _, r := range got {
		counts[r.Verdict]++
		if r.Failing() || r.CloseVerdict == results.CloseWrongCode ||
			(r.Verdict != results.OK && r.Verdict != results.Informational) {
			t.Errorf("case %s (%s) against the correct %s: verdict %s, close %s\n%s",
				r.ID, r.Title, peer, r.Verdict, r.CloseVerdict, indent(r.Observed))
		}
	}
	t.Logf("%d cases in %v: %v", len(got), time.Since(started).Round(time.Millisecond), counts)
}

// TestEachDefectIsCaught runs, for each single defect, the cases aimed at
// it and checks that the listed ones fail. All rows run at once, sharing a
// pool of workers; each row's verdicts are then checked in a subtest.
func TestEachDefectIsCaught(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithTimeout(context.Background(), testDeadline)
	defer cancel()
	catalogs := map[bool][]cases.Case{false: wireCases(wire.HTTP1), true: wireCases(wire.HTTP2)}
	inCatalog := map[string]bool{}
	for _, c := range slices.Concat(catalogs[false], catalogs[true]) {
		inCatalog[c.ID] = true
	}

	type rowRun struct {
		selected []cases.Case
		got      []results.Case
		took     time.Duration
	}
	runs := make([]rowRun, len(defectRows))
	sem := make(chan struct{}, defectWorkers)
	var wg sync.WaitGroup
	started := time.Now()
	for i, row := range defectRows {
		if row.defects.ClientOnly() || row.clientFormOnly {
			continue // clientdefects_test.go
		}
		url := startBroken(t, row)
		runs[i].selected = selectCases(catalogs[row.overH2], row.run)
		wg.Go(func() {
			t0 := time.Now()
			runs[i].got = runAll(ctx, url, runs[i].selected, sem)
			runs[i].took = time.Since(t0)
		})
	}
	wg.Wait()
	t.Logf("%d defects in %v", len(defectRows), time.Since(started).Round(time.Millisecond))

	for i, row := range defectRows {
		if row.defects.ClientOnly() || row.clientFormOnly {
			continue
		}
		t.Run(row.name, func(t *testing.T) {
			run := runs[i]
			if len(run.selected) == 0 {
				t.Fatalf("run selectors %q select no case", row.run)
			}
			row.check(t, run.got, inCatalog) // a row may list client-only IDs too
			t.Logf("%d cases in %v, %d failing", len(run.got), run.took.Round(time.Millisecond), failing(run.got))
		})
	}
}

// startBroken starts the broken peer a row's server defects describe, over
// HTTP/1.1 or HTTP/2, for the test, and returns its URL.
func startBroken(t *testing.T, row defectRow) string {
	if row.overH2 {
		return brokenpeer.StartH2ForTest(t, row.defects, row.h2).URL()
	}
	return brokenpeer.StartForTest(t, row.defects).URL()
}

// wireCases is the catalog run over transport, without the browser
// family, whose client is a browser (browser_test.go runs it).
func wireCases(transport wire.Transport) []cases.Case {
	var out []cases.Case
	for _, c := range cases.All() {
		if c.Family != cases.FamilyBrowser && cases.RunsOver(c.Family, transport) {
			out = append(out, c)
		}
	}
	return out
}

// runAll runs cs against url, at most cap(sem) at a time across all
// callers sharing sem, and returns the results in the order of cs.
func runAll(ctx context.Context, url string, cs []cases.Case, sem chan struct{}) []results.Case {
	out := make([]results.Case, len(cs))
	var wg sync.WaitGroup
	for i, c := range cs {
		wg.Go(func() {
			sem <- struct{}{}
			defer func() { <-sem }()
			out[i] = c.Run(ctx, casekit.Env{URL: url})
		})
	}
	wg.Wait()
	return out
}

func indent(s string) string { return "    " + strings.ReplaceAll(s, "\n", "\n    ") }
