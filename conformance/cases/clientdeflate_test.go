package cases_test

import (
	"os"
	"testing"
	"time"

	"github.com/wsharness/wsharness/conformance/cases"
	"github.com/wsharness/wsharness/conformance/engine"
	"github.com/wsharness/wsharness/conformance/internal/brokenpeer"
	"github.com/wsharness/wsharness/results"
	"github.com/wsharness/wsharness/wire"
)

// plainOfferCases need a client whose offers lack client_max_window_bits;
// the correct client offers it, so a correct client offering plain
// permessage-deflate runs them in TestCorrectClientPassesEveryCase.
var plainOfferCases = map[string]bool{"112.4.1": true}

// clientDeflateSample is the part of 12.x and 13.x in client form that
// make test runs against the correct client: every payload kind and every
// answer (the correct client's two offers let each be asked).
var clientDeflateSample = ids("12.1.1", "12.2.4", "12.3.2", "12.4.3", "12.5.11",
	"13.1.4", "13.2.3", "13.3.4", "13.4.1", "13.5.2", "13.6.3", "13.7.4", "13.7.11")

// TestCorrectClientPassesDeflateData runs the sample of 12.x and 13.x in
// client form against the correct client (all 216 with WSH_DEFLATE_ALL=1,
// as CI sets it): all OK.
func TestCorrectClientPassesDeflateData(t *testing.T) {
	t.Parallel()
	selectors := clientDeflateSample
	if os.Getenv("WSH_DEFLATE_ALL") != "" {
		selectors = []string{"12", "13"}
	}
	selected := selectCases(cases.ForPeer(wire.Client), selectors)
	if os.Getenv("WSH_DEFLATE_ALL") == "" && len(selected) != len(clientDeflateSample) {
		t.Fatalf("%d cases selected by %d selectors", len(selected), len(clientDeflateSample))
	}
	started := time.Now()
	// All 216 take about two minutes alone, more beside the server's:
	// the deadline is the server form's.
	for _, r := range clientRecordsWithin(t, 20*time.Minute, []engine.Target{clientTarget("correct", brokenpeer.Defects{})}, selected)["correct"] {
		if r.Verdict != results.OK || r.CloseVerdict != results.CloseOK {
			t.Errorf("case %s (%s): verdict %s, close %s\n%s", r.ID, r.Title, r.Verdict, r.CloseVerdict, indent(r.Observed))
		}
	}
	t.Logf("%d cases in %v", len(selected), time.Since(started).Round(time.Millisecond))
}

// TestClientWithoutDeflate: a client that offers no permessage-deflate is
// UNIMPLEMENTED wherever the case needs the extension, as in Autobahn, and
// a client offering it plainly is UNIMPLEMENTED only where the case asks
// for a parameter it did not offer (13.3–13.6, 112.2.1).
func TestClientWithoutDeflate(t *testing.T) {
	t.Parallel()
	selected := selectCases(cases.ForPeer(wire.Client),
		append([]string{"11.4", "11.5", string(cases.FamilyDeflateResponse)}, "12.1.1", "13.1.1", "13.2.1", "13.3.1", "13.5.1", "13.7.1"))
	none, plain := clientTarget("none", brokenpeer.Defects{ClientNoDeflate: true}), clientTarget("plain", brokenpeer.Defects{ClientPlainDeflateOffer: true})
	plainUnimplemented := map[string]bool{"13.2.1": true, "13.3.1": true, "13.5.1": true, "112.2.1": true}
	got := clientRecords(t, []engine.Target{none, plain}, selected)
	for _, r := range got["none"] {
		if r.Verdict != results.Unimplemented || r.CloseVerdict != results.CloseOK {
			t.Errorf("no offer: case %s (%s): verdict %s, close %s; want UNIMPLEMENTED\n%s", r.ID, r.Title, r.Verdict, r.CloseVerdict, indent(r.Observed))
		}
	}
	for _, r := range got["plain"] {
		want := results.OK
		if plainUnimplemented[r.ID] {
			want = results.Unimplemented
		}
		if r.Verdict != want || r.CloseVerdict != results.CloseOK {
			t.Errorf("plain offer: case %s (%s): verdict %s, close %s; want %s\n%s", r.ID, r.Title, r.Verdict, r.CloseVerdict, want, indent(r.Observed))
		}
	}
}
