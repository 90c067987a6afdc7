package cases_test

import (
	"context"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/wsharness/wsharness/conformance/cases"
	"github.com/wsharness/wsharness/conformance/internal/brokenpeer"
	"github.com/wsharness/wsharness/results"
	"github.com/wsharness/wsharness/wire"
)

// deflateSample is the part of 12.x and 13.x that make test runs against
// the correct server: every payload kind and every offer, messages up to
// 8 KiB, unfragmented and in 256-byte frames, 1000 each as in the catalog
// (a few seconds with the race detector; the 128 KiB series take half a
// minute each there). Set WSH_DEFLATE_ALL=1 to run all 216 cases instead
// (3–4 minutes without the race detector).
var deflateSample = ids("12.1.1", "12.2.4", "12.3.2", "12.4.3", "12.5.11",
	"13.1.4", "13.2.3", "13.3.4", "13.4.1", "13.5.2", "13.6.3", "13.7.4")

// TestCorrectServerPassesDeflateData runs the sample of 12.x and 13.x (all
// of them with WSH_DEFLATE_ALL=1) against the correct server, which
// negotiates every offer: all OK. 11.x runs in
// TestCorrectServerPassesEveryCase.
func TestCorrectServerPassesDeflateData(t *testing.T) {
	t.Parallel()
	selectors := deflateSample
	if os.Getenv("WSH_DEFLATE_ALL") != "" {
		selectors = []string{string(cases.FamilyDeflatePayloads), string(cases.FamilyDeflateParams)}
	}
	srv := brokenpeer.StartForTest(t, brokenpeer.Defects{})
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Minute)
	defer cancel()
	selected := selectCases(wireCases(wire.HTTP1), selectors)
	if len(selected) < len(selectors) {
		t.Fatalf("%d cases selected by %d selectors", len(selected), len(selectors))
	}
	started := time.Now()
	for _, r := range runAll(ctx, srv.URL(), selected, make(chan struct{}, 4)) {
		if r.Verdict != results.OK || r.CloseVerdict != results.CloseOK {
			t.Errorf("case %s (%s): verdict %s, close %s\n%s", r.ID, r.Title, r.Verdict, r.CloseVerdict, indent(r.Observed))
		}
	}
	t.Logf("%d cases in %v", len(selected), time.Since(started).Round(time.Millisecond))
}

// TestServerWithoutDeflate: a server that declines every offer is
// UNIMPLEMENTED wherever the case needs the extension, not FAILED, and OK
// in the 11.2 cases, where declining is the point.
func TestServerWithoutDeflate(t *testing.T) {
	t.Parallel()
	srv := brokenpeer.StartForTest(t, brokenpeer.Defects{NoDeflate: true})
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	selected := selectCases(wireCases(wire.HTTP1), append([]string{string(cases.FamilyDeflateNegotiation)}, deflateSample...))
	for _, r := range runAll(ctx, srv.URL(), selected, make(chan struct{}, 8)) {
		want := results.Unimplemented
		if strings.HasPrefix(r.ID, "11.2.") {
			want = results.OK
		}
		if r.Verdict != want || r.CloseVerdict != results.CloseOK {
			t.Errorf("case %s (%s): verdict %s, close %s; want %s\n%s", r.ID, r.Title, r.Verdict, r.CloseVerdict, want, indent(r.Observed))
		}
	}
}

// The 12.x and 13.x tables follow Autobahn: 18 series per sub-family, the
// sizes and fragmentations of case12_x_x.py, the offers of case13_x_x.py.
func TestDeflateCatalogMatchesAutobahn(t *testing.T) {
	byID := map[string]cases.Case{}
	for _, c := range cases.All() {
		byID[c.ID] = c
	}
	for _, tc := range []struct{ id, title string }{
		{"12.1.1", "1000 text messages of 16 bytes, unfragmented"},
		{"12.2.10", "1000 binary messages of 128 KiB, unfragmented"},
		{"12.3.11", "1000 binary messages of 8 KiB, compressed payload in frames of 256 bytes"},
		{"12.4.18", "1000 text messages of 128 KiB, compressed payload in frames of 32768 bytes"},
		{"13.1.1", "offer permessage-deflate; client_no_context_takeover; client_max_window_bits"},
		{"13.2.1", "client_max_window_bits; server_no_context_takeover"},
		{"13.3.1", "client_max_window_bits; server_max_window_bits=9"},
		{"13.4.1", "client_max_window_bits; server_max_window_bits=15"},
		{"13.5.1", "server_no_context_takeover; server_max_window_bits=9"},
		{"13.6.1", "server_no_context_takeover; server_max_window_bits=15"},
		{"13.7.16", "server_max_window_bits=9, permessage-deflate; client_no_context_takeover; client_max_window_bits; server_no_context_takeover, permessage-deflate; client_no_context_takeover; client_max_window_bits"},
	} {
		if c, ok := byID[tc.id]; !ok || !strings.Contains(c.Title, tc.title) {
			t.Errorf("%s: title %q, want it to contain %q", tc.id, c.Title, tc.title)
		}
	}
	for _, id := range []string{"12.5.18", "13.7.18"} {
		if _, ok := byID[id]; !ok {
			t.Errorf("%s missing", id)
		}
	}
	for _, f := range []cases.Family{cases.FamilyDeflatePayloads, cases.FamilyDeflateParams} {
		if !cases.IsSlow(f) {
			t.Errorf("%s is not in SlowFamilies", f)
		}
	}
}
