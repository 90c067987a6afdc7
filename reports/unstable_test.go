package reports

import (
	"strings"
	"testing"
	"time"

	"github.com/wsharness/wsharness/internal/testtext"
	"github.com/wsharness/wsharness/results"
)

// A case listed as varying from run to run shows its measured frequency
// beside this run's verdict in every conformance rendering, and the seed
// that replays the run is named.
func TestUnstableCasesAndTheSeedAreShown(t *testing.T) {
	unstable := &results.Frequency{Failed: 4, Runs: 5}
	run := results.Run{
		Schema: results.Schema, Started: time.Date(2026, 12, 5, 0, 0, 0, 0, time.UTC), Seed: "00c0ffee0ddba11a",
		Targets: []results.Target{{Name: "lws", Cases: []results.Case{
			{ID: "2.11", Verdict: results.Failed, CloseVerdict: results.CloseUnclean, Deviation: "answers only the first Ping", Unstable: unstable},
			{ID: "2.10", Verdict: results.OK, CloseVerdict: results.CloseOK, Deviation: "answers only the first Ping", Unstable: unstable},
		}}},
	}
	run.Targets[0].Summarize()
	for name, out := range renderings(t, run, Markdown, HTML, JUnit) {
		testtext.Contains(t, name, out, "failed in 4 of 5 runs")
	}
	for name, out := range renderings(t, run, Text, Markdown, HTML) {
		if !strings.Contains(out, "seed 00c0ffee0ddba11a") && !strings.Contains(out, "Seed 00c0ffee0ddba11a") {
			t.Errorf("%s does not name the run's seed", name)
		}
	}
	summary := string(ConformanceSummary(run))
	testtext.Contains(t, "summary", summary, "2.11 FAILED, close UNCLEAN this run (failed in 4 of 5 runs when measured)", "2.10 OK this run", "make conformance SEED=00c0ffee0ddba11a")
}
