package engine

import (
	"context"
	"errors"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/wsharness/wsharness/conformance/cases"
	"github.com/wsharness/wsharness/internal/testnet"
	"github.com/wsharness/wsharness/targets"
	"github.com/wsharness/wsharness/wire"
)

func TestSplitURL(t *testing.T) {
	for in, want := range map[string][2]string{
		"ws://127.0.0.1:9001/echo":          {"external", "ws://127.0.0.1:9001/echo"},
		"mine=ws://127.0.0.1:9001/echo":     {"mine", "ws://127.0.0.1:9001/echo"},
		"ws://127.0.0.1:9001/echo?a=b":      {"external", "ws://127.0.0.1:9001/echo?a=b"},
		"gorilla=ws://gorilla:9001/echo?x=": {"gorilla", "ws://gorilla:9001/echo?x="},
	} {
		if name, u := SplitURL(in); name != want[0] || u != want[1] {
			t.Errorf("SplitURL(%q) = %q, %q; want %q, %q", in, name, u, want[0], want[1])
		}
	}
}

// Resolve keeps the order given, names a reference target given by URL
// with its own name and broadcast sibling, and refuses what cannot be a
// run: a name twice, an unknown target, a command without one URL.
func TestResolve(t *testing.T) {
	ws, err := Resolve(Request{URLs: []string{"mine=ws://127.0.0.1:1/echo", "gorilla=ws://10.0.0.7:9001/echo"}, Names: []string{"gws"}})
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, w := range ws {
		names = append(names, w.Info.Name)
	}
	if strings.Join(names, ",") != "mine,gorilla,gws" {
		t.Fatalf("targets %v, want mine, gorilla, gws in that order", names)
	}
	if ws[0].Info.Library != "external" || ws[0].InProcess() || ws[0].BroadcastURL != "" {
		t.Errorf("a URL target: %+v", ws[0])
	}
	if ws[1].Info.Library == "external" || ws[1].InProcess() || ws[1].BroadcastURL != "ws://10.0.0.7:9001/broadcast" {
		t.Errorf("a reference target given by URL: %+v", ws[1])
	}
	if !ws[2].InProcess() {
		t.Errorf("gws by name is not started in-process")
	}
	for _, bad := range []Request{
		{URLs: []string{"gorilla=ws://a:1/echo"}, Names: []string{"gorilla"}},
		{Names: []string{"no-such-target"}},
		{URLs: []string{"bad name=ws://a:1/echo"}},
		{Command: "php server.php", URLs: []string{"a=ws://127.0.0.1:1/", "b=ws://127.0.0.1:2/"}},
		{Command: "php server.php", URLs: []string{"ws://10.0.0.1:9001/echo"}}, // a command serves on loopback
	} {
		if _, err := Resolve(bad); !errors.Is(err, ErrRequest) {
			t.Errorf("Resolve(%+v): %v, want ErrRequest", bad, err)
		}
	}
}

// Start makes a URL target unavailable, with the reason, when nothing
// answers there, and starts a reference target on loopback.
func TestStart(t *testing.T) {
	refused := "ws://" + testnet.FreeAddr(t) + "/echo"
	ws, err := Resolve(Request{URLs: []string{"gone=" + refused}, Names: []string{"gorilla"}})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	gone, stop := ws[0].Start(ctx, nil, 1)
	stop()
	if !strings.Contains(gone.Unavailable, "cannot be reached") || !strings.Contains(gone.Unavailable, "refused") {
		t.Errorf("unreachable URL: unavailable %q", gone.Unavailable)
	}
	g, stop := ws[1].Start(ctx, nil, 1)
	defer stop()
	if g.Unavailable != "" || !strings.HasPrefix(g.EchoURL, "ws://127.0.0.1:") || !strings.HasSuffix(g.BroadcastURL, targets.BroadcastPath) {
		t.Fatalf("gorilla: %+v", g)
	}
	out := Execute(ctx, Plan{Targets: []Target{g}, Cases: pick(t, "1.1.1"), Concurrency: 1})
	if len(out.Records) != 1 || out.Records[0].Case.Verdict != "OK" {
		t.Errorf("1.1.1 against the started gorilla: %+v", out.Records)
	}
}

// The slow families go first, then the browser family, then the rest,
// each in catalog order.
func TestLongestFirst(t *testing.T) {
	got := longestFirst(cases.All())
	for i := 1; i < len(got); i++ {
		if costRank(got[i]) < costRank(got[i-1]) {
			t.Fatalf("case %s (%s) after %s (%s)", got[i].ID, got[i].Family, got[i-1].ID, got[i-1].Family)
		}
	}
	if len(got) != len(cases.All()) || !cases.IsSlow(got[0].Family) || got[len(got)-1].Family == cases.FamilyBrowser {
		t.Errorf("%d cases, first %s", len(got), got[0].ID)
	}
}

// A server that stops answering ends the rest of its cases fast when they
// run concurrently too: the cases against one target share a liveness.
func TestExecuteSilentServerEndsFast(t *testing.T) {
	silent := testnet.Serve(t, func(net.Conn) {}) // connections held open, never answered
	var all []cases.Case
	for _, c := range cases.All() {
		if !cases.IsSlow(c.Family) && c.Family != cases.FamilyBrowser && cases.RunsOver(c.Family, wire.HTTP1) {
			all = append(all, c)
		}
	}
	started := time.Now()
	out := Execute(context.Background(), Plan{
		Targets:     []Target{{Info: targets.Info{Name: "silent"}, EchoURL: "ws://" + silent + "/"}},
		Cases:       all,
		Concurrency: 8,
		Settings:    Settings{TimeScale: 0.2},
	})
	notRun := 0
	for _, r := range out.Records {
		if r.Case.NotRun {
			notRun++
		}
	}
	if took := time.Since(started); took > 20*time.Second {
		t.Errorf("%d cases against a silent server took %v", len(all), took)
	}
	if len(out.Records) != len(all) || notRun < len(all)-8-3 {
		t.Errorf("%d records of %d cases, %d not run", len(out.Records), len(all), notRun)
	}
}
