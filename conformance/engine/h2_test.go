package engine

import (
	"context"
	"crypto/tls"
	"os"
	"slices"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/wsharness/wsharness/conformance/browser"
	"github.com/wsharness/wsharness/conformance/browser/chromium"
	"github.com/wsharness/wsharness/conformance/cases"
	"github.com/wsharness/wsharness/conformance/internal/brokenpeer"
	"github.com/wsharness/wsharness/internal/selfsigned"
	"github.com/wsharness/wsharness/internal/testtarget"
	"github.com/wsharness/wsharness/results"
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

// The browser family over HTTP/2: a ws+h2:// target (h2c, which no
// browser speaks) gets every browser case UNIMPLEMENTED with the reason,
// marked h2:, without the run asking for a browser and without skipping
// the family for the targets a browser can reach.
func TestBrowserCasesOverH2CNeedNoBrowser(t *testing.T) {
	h2c := brokenpeer.StartH2ForTest(t, brokenpeer.Defects{}, brokenpeer.H2Defects{})
	var asked atomic.Int32
	out := Execute(t.Context(), Plan{
		Targets: []Target{{Info: targets.Info{Name: "h2c"}, EchoURL: h2c.URL()}},
		Cases:   cases.ByFamily(cases.FamilyBrowser), Concurrency: 4,
		Settings: Settings{Browser: func(context.Context) (browser.Runner, string, error) {
			asked.Add(1)
			return nil, "no browser here", nil
		}},
	})
	if asked.Load() != 0 || len(out.SkippedFamilies) != 0 {
		t.Errorf("browser asked for %d times, skipped families %v; want neither", asked.Load(), out.SkippedFamilies)
	}
	if len(out.Records) != len(cases.ByFamily(cases.FamilyBrowser)) {
		t.Fatalf("%d records", len(out.Records))
	}
	for _, r := range out.Records {
		c := r.Case
		if !strings.HasPrefix(c.ID, "h2:200.") || c.Verdict != results.Unimplemented || c.HarnessError != "" ||
			!strings.Contains(c.Observed, "no browser speaks WebSocket over cleartext HTTP/2") {
			t.Errorf("%s: %s (harness error %q): %s", c.ID, c.Verdict, c.HarnessError, c.Observed)
		}
	}
}

// A run with gobwas-h2 over TLS and over h2c: Chromium plays the browser
// family over RFC 8441 against the first (h2:200.x, all OK), and the
// second's browser cases say why they cannot run. A wss+h2:// target makes
// the run a TLS one, so Chromium accepts the self-signed certificate.
func TestBrowserFamilyOverHTTP2Run(t *testing.T) {
	if _, err := chromium.Find(); err != nil {
		if os.Getenv("WSH_REQUIRE_BROWSER") != "" {
			t.Fatalf("WSH_REQUIRE_BROWSER is set: %v", err)
		}
		t.Skip(err)
	}
	secure, _ := testtarget.StartTLS(t, "gobwas-h2")
	plain := testtarget.Start(t, "gobwas-h2")
	wants := []Want{{EchoURL: secure.URL(targets.EchoPath)}, {EchoURL: plain.URL(targets.EchoPath)}}
	if !TalksTLS(nil, wants) {
		t.Fatalf("a run with %s does not talk TLS", wants[0].EchoURL)
	}
	getBrowser, closeBrowser := Chromium(chromium.LaunchOptions{IgnoreCertificateErrors: true})
	defer closeBrowser()
	out := Execute(t.Context(), Plan{
		Targets: []Target{
			{Info: targets.Info{Name: "tls"}, EchoURL: secure.URL(targets.EchoPath), BroadcastURL: secure.URL(targets.BroadcastPath)},
			{Info: targets.Info{Name: "h2c"}, EchoURL: plain.URL(targets.EchoPath), BroadcastURL: plain.URL(targets.BroadcastPath)},
		},
		Cases: cases.ByFamily(cases.FamilyBrowser), Concurrency: 8,
		Settings: Settings{Browser: getBrowser},
	})
	n := len(cases.ByFamily(cases.FamilyBrowser))
	if len(out.Records) != 2*n || len(out.SkippedFamilies) != 0 {
		t.Fatalf("%d records for %d cases on two targets; skipped %v", len(out.Records), n, out.SkippedFamilies)
	}
	for _, r := range out.Records {
		c := r.Case
		want := results.OK
		if r.Target == "h2c" {
			want = results.Unimplemented
		}
		if !strings.HasPrefix(c.ID, "h2:200.") || c.Verdict != want || c.HarnessError != "" {
			t.Errorf("%s %s: %s, want %s (harness error %q)\n%s", r.Target, c.ID, c.Verdict, want, c.HarnessError, c.Observed)
		}
		if r.Target == "tls" && !strings.Contains(c.Observed, "RFC 8441: Chromium opened the WebSocket as an extended CONNECT") {
			t.Errorf("%s %s: not said to be over RFC 8441:\n%s", r.Target, c.ID, c.Observed)
		}
	}
}

// gobwas-h2-tls serves TLS with a certificate made at start: a run that
// names it talks TLS before it starts (so Chromium would accept the
// certificate), Start hands the engine the configuration that trusts it,
// and its cases run on that configuration with none for the run, or with
// the run's trusting something else. With Chromium on the machine its
// browser cases go over RFC 8441.
func TestOwnTLSTargetRun(t *testing.T) {
	wants, err := Resolve(Request{Names: []string{"gobwas-h2-tls"}})
	if err != nil || len(wants) != 1 {
		t.Fatalf("Resolve: %v, %v", wants, err)
	}
	if !TalksTLS(nil, wants) {
		t.Fatal("a run with gobwas-h2-tls does not talk TLS")
	}
	if plain, _ := Resolve(Request{Names: []string{"gobwas-h2"}}); TalksTLS(nil, plain) {
		t.Fatal("a run with gobwas-h2 (h2c) talks TLS")
	}
	target, stop := wants[0].Start(t.Context(), nil, 1)
	defer stop()
	if target.Unavailable != "" || target.TLS == nil || !strings.HasPrefix(target.EchoURL, "wss+h2://127.0.0.1:") {
		t.Fatalf("started: %+v", target)
	}
	// The run's own configuration trusts another certificate: the
	// target's wins for its cases.
	other, err := selfsigned.Generate()
	if err != nil {
		t.Fatal(err)
	}
	for name, runTLS := range map[string]*tls.Config{"no run TLS": nil, "run TLS for another certificate": other.ClientConfig()} {
		out := Execute(t.Context(), Plan{
			Targets:  []Target{target},
			Cases:    Select(cases.All(), []string{"1.1.1", "300.2"}, nil),
			Settings: Settings{TLS: runTLS}, Concurrency: 2,
		})
		var got []string
		for _, r := range out.Records {
			got = append(got, r.Case.ID+"="+string(r.Case.Verdict))
			if r.Case.Verdict != results.OK {
				t.Logf("%s %s:\n%s", name, r.Case.ID, r.Case.Observed)
			}
		}
		slices.Sort(got)
		if strings.Join(got, " ") != "h2:1.1.1=OK h2:300.2=OK" {
			t.Errorf("%s: %v, want h2:1.1.1=OK h2:300.2=OK", name, got)
		}
	}

	if _, err := chromium.Find(); err != nil {
		if os.Getenv("WSH_REQUIRE_BROWSER") != "" {
			t.Fatalf("WSH_REQUIRE_BROWSER is set: %v", err)
		}
		t.Skipf("the browser cases: %v", err)
	}
	getBrowser, closeBrowser := Chromium(chromium.LaunchOptions{IgnoreCertificateErrors: TalksTLS(nil, wants)})
	defer closeBrowser()
	family := cases.ByFamily(cases.FamilyBrowser)
	out := Execute(t.Context(), Plan{
		Targets: []Target{target}, Cases: family, Concurrency: 8,
		Settings: Settings{Browser: getBrowser},
	})
	if len(out.Records) != len(family) || len(out.SkippedFamilies) != 0 {
		t.Fatalf("%d records for %d browser cases; skipped %v", len(out.Records), len(family), out.SkippedFamilies)
	}
	for _, r := range out.Records {
		c := r.Case
		if !strings.HasPrefix(c.ID, "h2:200.") || c.Verdict != results.OK || c.HarnessError != "" ||
			!strings.Contains(c.Observed, "RFC 8441: Chromium opened the WebSocket as an extended CONNECT") {
			t.Errorf("%s: %s (harness error %q), want OK over RFC 8441:\n%s", c.ID, c.Verdict, c.HarnessError, c.Observed)
		}
	}
}
