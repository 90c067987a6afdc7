package engine

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/wsharness/wsharness/conformance/browser"
	"github.com/wsharness/wsharness/conformance/cases"
	"github.com/wsharness/wsharness/conformance/expect"
	"github.com/wsharness/wsharness/conformance/internal/brokenpeer"
	"github.com/wsharness/wsharness/results"
	"github.com/wsharness/wsharness/targets"
	"github.com/wsharness/wsharness/wire"
)

func pick(t *testing.T, ids ...string) []cases.Case {
	t.Helper()
	out := Select(cases.All(), ids, nil)
	if len(out) != len(ids) {
		t.Fatalf("%d cases for %v", len(out), ids)
	}
	return out
}

func TestSelect(t *testing.T) {
	got := Select(cases.All(), []string{"6.1.*", "2.2"}, []string{"6.1.2"})
	var ids []string
	for _, c := range got {
		ids = append(ids, c.ID)
	}
	if len(ids) != 3 || ids[0] != "2.2" || ids[1] != "6.1.1" || ids[2] != "6.1.3" {
		t.Errorf("Select: %v, want 2.2 6.1.1 6.1.3", ids)
	}
	if n := len(Select(cases.All(), nil, nil)); n != len(cases.All()) {
		t.Errorf("no patterns select %d of %d cases", n, len(cases.All()))
	}
}

// Every case against every target gets one record, concurrently; a
// defective server fails the case aimed at its defect, a listed deviation
// is applied, an unavailable target is recorded once, and the browser
// family without a browser is a skipped family.
func TestExecute(t *testing.T) {
	good := brokenpeer.StartForTest(t, brokenpeer.Defects{})
	bad := brokenpeer.StartForTest(t, brokenpeer.Defects{NoPong: true})
	browserCases := cases.ByFamily(cases.FamilyBrowser)
	plan := Plan{
		Targets: []Target{
			{Info: targets.Info{Name: "good"}, EchoURL: good.URL()},
			{Info: targets.Info{Name: "bad"}, EchoURL: bad.URL()},
			{Info: targets.Info{Name: "gone"}, Unavailable: "php not installed"},
		},
		Cases:       append(pick(t, "1.1.1", "2.2", "2.3", "5.1"), browserCases[0]),
		Concurrency: 4,
		Settings: Settings{
			Expect:    expect.List{"bad": {{Cases: []string{"2.3"}, Reason: "known"}}},
			TimeScale: 0.5,
			Browser: func(context.Context) (browser.Runner, string, error) {
				return nil, "no Chromium here", nil
			},
		},
	}
	out := Execute(context.Background(), plan)
	run, err := Assemble(Run{Targets: []targets.Info{{Name: "good"}, {Name: "bad"}, {Name: "gone"}}, SkippedFamilies: out.SkippedFamilies}, out.Records)
	if err != nil {
		t.Fatal(err)
	}
	byID := func(target results.Target, id string) results.Case {
		for _, c := range target.Cases {
			if c.ID == id {
				return c
			}
		}
		t.Fatalf("%s has no case %s", target.Name, id)
		return results.Case{}
	}
	goodT, badT, gone := run.Targets[0], run.Targets[1], run.Targets[2]
	if len(goodT.Cases) != 4 || len(badT.Cases) != 4 {
		t.Fatalf("cases: good %d, bad %d, want 4 each (the browser case skipped)", len(goodT.Cases), len(badT.Cases))
	}
	for _, c := range goodT.Cases {
		if c.Verdict != results.OK {
			t.Errorf("good %s: %s\n%s", c.ID, c.Verdict, c.Observed)
		}
	}
	if c := byID(badT, "2.2"); c.Verdict != results.Failed {
		t.Errorf("a server that never pongs passes 2.2: %s", c.Verdict)
	}
	if c := byID(badT, "2.3"); c.Deviation != "known" {
		t.Errorf("the listed deviation is not applied: %+v", c.Deviation)
	}
	if gone.Unavailable != "php not installed" || len(gone.Cases) != 0 {
		t.Errorf("unavailable target: %+v", gone)
	}
	if run.SkippedFamilies[string(cases.FamilyBrowser)] != "no Chromium here" {
		t.Errorf("skipped families %v", run.SkippedFamilies)
	}
}

// An interrupted run ends promptly, keeps what finished and leaves out
// what it cut short.
func TestExecuteInterrupted(t *testing.T) {
	srv := brokenpeer.StartForTest(t, brokenpeer.Defects{NoPong: true}) // 2.2 waits out its timer
	one := pick(t, "2.2")
	var cs []cases.Case
	for range 20 {
		cs = append(cs, one...)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel()
	started := time.Now()
	out := Execute(ctx, Plan{Targets: []Target{{Info: targets.Info{Name: "s"}, EchoURL: srv.URL()}}, Cases: cs, Concurrency: 2})
	if took := time.Since(started); took > 5*time.Second {
		t.Errorf("an interrupted run took %v", took)
	}
	if out.Cut == 0 || len(out.Records)+out.Cut >= 20 {
		t.Errorf("%d records, %d cut: want some cut and the rest never started", len(out.Records), out.Cut)
	}
}

// The client form of the catalog runs against the reference client
// agents with the harness as the server: every case gets a record without
// a harness error, each client gets verdicts of its own (gws-client fails
// only handshake answers, gws-client-deflate also permessage-deflate
// answers and RSV bits,
// gorilla-client, which checks no UTF-8, handshake answers and UTF-8
// cases, gobwas-client only close cases, its own and the server's),
// and the assembled target says it is a client.
func TestExecuteClients(t *testing.T) {
	var plan Plan
	for _, c := range cases.ForPeer(wire.Client) {
		if !cases.IsSlow(c.Family) {
			plan.ClientCases = append(plan.ClientCases, c)
		}
	}
	var infos []targets.Info
	for _, a := range targets.Clients() {
		plan.Targets = append(plan.Targets, Target{Info: a.Info, Client: a.Echo})
		infos = append(infos, a.Info)
	}
	plan.Concurrency = 32
	out := Execute(t.Context(), plan)
	if want := len(plan.ClientCases) * len(plan.Targets); len(out.Records) != want || out.Cut != 0 {
		t.Fatalf("%d records, %d cut; want %d", len(out.Records), out.Cut, want)
	}
	failed := map[string]map[cases.Family]bool{} // target -> failing families
	for _, r := range out.Records {
		if r.Case.HarnessError != "" {
			t.Errorf("%s %s: harness error %s", r.Target, r.Case.ID, r.Case.HarnessError)
		}
		if r.Case.Failing() {
			if failed[r.Target] == nil {
				failed[r.Target] = map[cases.Family]bool{}
			}
			failed[r.Target][cases.Family(r.Case.Family)] = true
		}
	}
	// gorilla's and gws' clients take a subprotocol and an extension they
	// did not offer (110.9, 110.10; docs/clients.md); gws' client, once it
	// compresses, ignores RSV bits (11.4.x) and takes invalid
	// permessage-deflate answers (112.4.x).
	if f := failed["gws-client"]; len(f) != 1 || !f[cases.FamilyHandshakeResponse] {
		t.Errorf("gws-client failed cases in %v; want the handshake-response family only", f)
	}
	if f := failed["gws-client-deflate"]; len(f) != 3 || !f[cases.FamilyHandshakeResponse] || !f[cases.FamilyDeflateNegotiation] || !f[cases.FamilyDeflateResponse] {
		t.Errorf("gws-client-deflate failed cases in %v; want the handshake-response and the two deflate frame and answer families only", f)
	}
	if f := failed["gorilla-client"]; len(f) != 2 || !f[cases.FamilyUTF8] || !f[cases.FamilyHandshakeResponse] {
		t.Errorf("gorilla-client failed cases in %v; want the UTF-8 and handshake-response families only", f)
	}
	// gobwas' control handler masks its Close 1002 in place and sends the
	// header unmasked (docs/clients.md), whoever started the close; the
	// rest passes, the UTF-8 fail-fast cases cut mid-frame (6.4.x) included.
	if f := failed["gobwas-client"]; len(f) != 2 || !f[cases.FamilyClose] || !f[cases.FamilyServerClose] {
		t.Errorf("gobwas-client failed cases in %v; want the close and server-close families only", f)
	}
	run, err := Assemble(Run{Targets: infos}, out.Records)
	if err != nil {
		t.Fatal(err)
	}
	for _, target := range run.Targets {
		if target.Role != wire.Client {
			t.Errorf("%s: role %v in results, want client", target.Name, target.Role)
		}
	}
}

// One run may judge servers and clients: each target gets the cases in
// the form for its role.
func TestExecuteMixedRoles(t *testing.T) {
	srv := brokenpeer.StartForTest(t, brokenpeer.Defects{})
	plan := Plan{
		Targets: []Target{
			{Info: targets.Info{Name: "server"}, EchoURL: srv.URL()},
			{Info: targets.Info{Name: "client", Role: wire.Client}, Client: func(ctx context.Context, url string) error {
				return brokenpeer.Echo(ctx, url, brokenpeer.Defects{})
			}},
		},
		Cases:       Select(cases.All(), []string{"1.1.1"}, nil),
		ClientCases: Select(cases.ForPeer(wire.Client), []string{"1.1.1"}, nil),
		Concurrency: 4,
	}
	out := Execute(t.Context(), plan)
	if len(out.Records) != 2 {
		t.Fatalf("%d records, want one per target", len(out.Records))
	}
	for _, r := range out.Records {
		want := map[string]string{"server": "The server MUST", "client": "The client MUST"}[r.Target]
		if r.Case.Verdict != results.OK || !strings.HasPrefix(r.Case.Expectation, want) {
			t.Errorf("%s: %s, expectation %q; want OK and %q", r.Target, r.Case.Verdict, r.Case.Expectation, want)
		}
	}
}

// A client the harness cannot start is the harness's fault: each case is
// UNIMPLEMENTED with the reason, carries its text, and counts as
// unexpected, so the run fails rather than report an empty verdict.
func TestClientThatCannotBeStarted(t *testing.T) {
	plan := Plan{
		Targets:     []Target{{Info: targets.Info{Name: "unstartable", Role: wire.Client}}},
		ClientCases: Select(cases.ForPeer(wire.Client), []string{"1.1.1", "2.1"}, nil),
	}
	out := Execute(t.Context(), plan)
	if len(out.Records) != len(plan.ClientCases) {
		t.Fatalf("%d records for %d cases", len(out.Records), len(plan.ClientCases))
	}
	for _, r := range out.Records {
		c := r.Case
		if c.Verdict != results.Unimplemented || !strings.Contains(c.HarnessError, "no way to be started") || c.Expectation == "" || !c.Unexpected() {
			t.Errorf("%s: verdict %q, harness error %q, expectation %q, unexpected %v", c.ID, c.Verdict, c.HarnessError, c.Expectation, c.Unexpected())
		}
	}
}
