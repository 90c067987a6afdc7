package engine

import (
	"context"
	"fmt"
	"maps"
	"net/url"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/wsharness/wsharness/conformance/browser/chromium"
	"github.com/wsharness/wsharness/conformance/cases"
	"github.com/wsharness/wsharness/conformance/internal/brokenpeer"
	"github.com/wsharness/wsharness/results"
	"github.com/wsharness/wsharness/targets"
	"github.com/wsharness/wsharness/wire"
)

// Chromium's own WebSocket is judged as a client in the run's browser: it
// connects and echoes a text and a binary message and answers a Ping (OK),
// and it refuses a wrong Sec-WebSocket-Accept, which it MUST (110.1: OK;
// FAILED would mean it took the answer). The page's view of each end, and
// Chromium's console message, are in the case's events.
func TestChromiumClient(t *testing.T) {
	if _, err := chromium.Find(); err != nil {
		if os.Getenv("WSH_REQUIRE_BROWSER") != "" {
			t.Fatalf("WSH_REQUIRE_BROWSER is set: %v", err)
		}
		t.Skip(err)
	}
	target := ChromiumClient()
	if target.Unavailable != "" || !target.InBrowser || target.Info.Role != wire.Client || target.Info.Name != chromium.ClientName {
		t.Fatalf("chromium client target %+v", target)
	}
	getBrowser, closeBrowser := Chromium(chromium.LaunchOptions{})
	defer closeBrowser()
	ids := []string{"1.1.1", "1.2.1", "2.2", "110.1"}
	plan := Plan{
		Targets:     []Target{target},
		ClientCases: Select(cases.ForPeer(wire.Client), ids, nil),
		Concurrency: 4,
		Settings:    Settings{Browser: getBrowser},
	}
	out := Execute(t.Context(), plan)
	if len(out.Records) != len(ids) {
		t.Fatalf("%d records for %d cases: %+v", len(out.Records), len(ids), out)
	}
	said := map[string]string{}
	for _, r := range out.Records {
		c := r.Case
		if c.Verdict != results.OK || c.HarnessError != "" {
			t.Errorf("%s: %s (%s): %s", c.ID, c.Verdict, c.HarnessError, c.Observed)
		}
		for _, e := range c.Events {
			if strings.HasPrefix(e, "<the client said: ") {
				said[c.ID] = e
			}
		}
	}
	if s := said["1.2.1"]; !strings.Contains(s, "echoed 1 messages") || !strings.Contains(s, "code 1000") {
		t.Errorf("1.2.1: the client said %q; want one message echoed and close code 1000", s)
	}
	if s := said["110.1"]; !strings.Contains(s, "never opened") || !strings.Contains(s, "Sec-WebSocket-Accept") {
		t.Errorf("110.1: the client said %q; want it never opened, with Chromium's message on the accept key", s)
	}
}

// Without Chromium the client is Unavailable, with the reason, and its
// cases do not run.
func TestChromiumClientUnavailable(t *testing.T) {
	t.Setenv("WSH_CHROMIUM", "/nonexistent/chromium")
	target := ChromiumClient()
	if target.Unavailable == "" || target.InBrowser || target.Info.Name != chromium.ClientName {
		t.Fatalf("target %+v; want %s unavailable", target, chromium.ClientName)
	}
	out := Execute(t.Context(), Plan{Targets: []Target{target}, ClientCases: Select(cases.ForPeer(wire.Client), []string{"1.1.1"}, nil)})
	if len(out.Records) != 1 || !strings.Contains(out.Records[0].Unavailable, "/nonexistent/chromium") {
		t.Errorf("records %+v; want one saying why the client is unavailable", out.Records)
	}
}

// A target's MaxInFlight bounds its cases in flight below the run's
// concurrency.
func TestMaxInFlight(t *testing.T) {
	var open, most atomic.Int32
	client := func(ctx context.Context, url string) error {
		n := open.Add(1)
		defer open.Add(-1)
		for m := most.Load(); n > m && !most.CompareAndSwap(m, n); m = most.Load() {
		}
		return brokenpeer.Echo(ctx, url, brokenpeer.Defects{})
	}
	ids := []string{"1.1.*", "1.2.*", "2.*"}
	plan := Plan{
		Targets:     []Target{{Info: targets.Info{Name: "bounded", Role: wire.Client}, Client: client, MaxInFlight: 2}},
		ClientCases: Select(cases.ForPeer(wire.Client), ids, nil),
		Concurrency: 32,
	}
	out := Execute(t.Context(), plan)
	if len(out.Records) != len(plan.ClientCases) {
		t.Fatalf("%d records for %d cases", len(out.Records), len(plan.ClientCases))
	}
	if got := most.Load(); got > 2 {
		t.Errorf("%d cases at once against a target bounded to 2", got)
	}
}

// A SlowAlone target runs each slow-family case with nothing else in
// flight against it, and its other cases up to MaxInFlight at once.
func TestSlowAlone(t *testing.T) {
	var mu sync.Mutex
	open := map[string]int{} // cases in flight, by whether they are slow
	var mixed []string
	most := 0
	list := Select(cases.ForPeer(wire.Client), []string{"9.1.1", "9.1.2", "9.2.1", "9.2.2", "1.1.*", "1.2.*", "2.*"}, nil)
	slow := map[string]bool{} // the slow cases' IDs
	for _, c := range list {
		if cases.IsSlow(c.Family) {
			slow[c.ID] = true
		}
	}
	if len(slow) == 0 {
		t.Fatalf("no slow case among the %d selected", len(list))
	}
	client := func(ctx context.Context, rawURL string) error {
		u, err := url.Parse(rawURL)
		if err != nil {
			return err
		}
		id := u.Query().Get("casetuple")
		kind := "other"
		if slow[id] {
			kind = "slow"
		}
		mu.Lock()
		open[kind]++
		if open["slow"] > 1 || open["slow"] == 1 && open["other"] > 0 {
			mixed = append(mixed, fmt.Sprintf("%s with %v", id, maps.Clone(open)))
		}
		most = max(most, open["other"])
		mu.Unlock()
		defer func() {
			mu.Lock()
			open[kind]--
			mu.Unlock()
		}()
		return brokenpeer.Echo(ctx, rawURL, brokenpeer.Defects{})
	}
	plan := Plan{
		Targets:     []Target{{Info: targets.Info{Name: "alone", Role: wire.Client}, Client: client, MaxInFlight: 4, SlowAlone: true}},
		ClientCases: list,
		Concurrency: 32,
	}
	out := Execute(t.Context(), plan)
	if len(out.Records) != len(plan.ClientCases) {
		t.Fatalf("%d records for %d cases", len(out.Records), len(plan.ClientCases))
	}
	for _, rec := range out.Records {
		if rec.Case.Verdict != results.OK {
			t.Errorf("%s: %s (%s); want OK from a correct client", rec.Case.ID, rec.Case.Verdict, rec.Case.Observed)
		}
	}
	if len(mixed) > 0 {
		t.Errorf("slow cases shared the client with other cases: %v", mixed)
	}
	if most < 2 || most > 4 {
		t.Errorf("at most %d other cases at once; want between 2 and the bound of 4", most)
	}
}
