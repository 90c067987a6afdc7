package reports

import (
	"strings"
	"testing"

	"github.com/wsharness/wsharness/results"
)

// Cases not run because the server stopped answering are counted apart,
// with the reason, instead of being listed one by one.
func TestNotRunCountedApart(t *testing.T) {
	why := "the server stopped answering opening handshakes (3 in a row timed out, the last a plain upgrade request)"
	target := results.Target{Name: "mine", Cases: []results.Case{
		{ID: "1.1.1", Verdict: results.Failed, CloseVerdict: results.CloseFailed, RFC: "RFC 6455 §5.6", Observed: "no WebSocket connection: read handshake response: timed out"},
		{ID: "1.1.2", Verdict: results.Failed, CloseVerdict: results.CloseFailed, NotRun: true, Observed: "not run: " + why},
		{ID: "1.1.3", Verdict: results.Failed, CloseVerdict: results.CloseFailed, NotRun: true, Observed: "not run: " + why},
	}}
	run := results.Run{Targets: []results.Target{target}}
	line := "mine: 2 cases not run (FAILED): " + why
	for name, out := range renderings(t, run, Markdown) {
		if !strings.Contains(out, strings.TrimPrefix(line, "mine: ")) {
			t.Errorf("%s lacks %q:\n%s", name, line, out)
		}
		if strings.Contains(out, "1.1.2") {
			t.Errorf("%s lists a case that was not run one by one:\n%s", name, out)
		}
		if !strings.Contains(out, "1.1.1") {
			t.Errorf("%s lacks the case that ran and failed:\n%s", name, out)
		}
	}
}
