package engine

import (
	"context"
	"slices"
	"strings"
	"testing"

	"github.com/wsharness/wsharness/conformance/cases"
	"github.com/wsharness/wsharness/conformance/internal/brokenpeer"
	"github.com/wsharness/wsharness/targets"
)

// An HTTP/2 target runs the RFC 6455 families with the h2: marker on
// their IDs and the HTTP/2 families, not the HTTP/1.1 handshake; an
// HTTP/1.1 target runs no HTTP/2 case. Expectations name marked IDs.
func TestExecuteOverHTTP2MarksIDs(t *testing.T) {
	h2srv := brokenpeer.StartH2ForTest(t, brokenpeer.Defects{}, brokenpeer.H2Defects{})
	h1srv := brokenpeer.StartForTest(t, brokenpeer.Defects{})
	picked := Select(cases.All(), []string{"0.1", "1.1.1", "300.2", "301.3"}, nil)
	out := Execute(context.Background(), Plan{
		Targets: []Target{
			{Info: targets.Info{Name: "over-h2"}, EchoURL: h2srv.URL()},
			{Info: targets.Info{Name: "over-h1"}, EchoURL: h1srv.URL()},
		},
		Cases: picked, Concurrency: 4,
	})
	got := map[string][]string{}
	for _, r := range out.Records {
		got[r.Target] = append(got[r.Target], r.Case.ID+"="+string(r.Case.Verdict))
	}
	for target, want := range map[string]string{
		"over-h2": "h2:1.1.1=OK h2:300.2=OK h2:301.3=OK",
		"over-h1": "0.1=OK 1.1.1=OK",
	} {
		ids := got[target]
		slices.Sort(ids)
		if strings.Join(ids, " ") != want {
			t.Errorf("%s: %v, want %s", target, ids, want)
		}
	}
}
