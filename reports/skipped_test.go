package reports

import (
	"testing"
	"time"

	"github.com/wsharness/wsharness/internal/testtext"
	"github.com/wsharness/wsharness/results"
)

// Targets and families that could not run are named, with their reason,
// in every conformance rendering.
func TestSkippedTargetsAndFamiliesAreShown(t *testing.T) {
	run := results.Run{
		Schema: results.Schema, Started: time.Date(2026, 11, 21, 0, 0, 0, 0, time.UTC),
		SkippedFamilies: map[string]string{"browser": "no Chromium found (install it with `make deps`)"},
		Targets: []results.Target{
			{Name: "gorilla", Summary: map[results.Verdict]int{}},
			{Name: "node-ws", Unavailable: "skipped: node not installed (apt-get install nodejs node-ws)", Summary: map[results.Verdict]int{}},
		},
	}
	for name, out := range renderings(t, run, Markdown, HTML) {
		testtext.Contains(t, name, out, "node-ws", "node not installed", "browser", "no Chromium found")
	}
}
