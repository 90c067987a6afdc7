package main

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	"github.com/wsharness/wsharness/conformance/autobahn"
	"github.com/wsharness/wsharness/conformance/cases"
	"github.com/wsharness/wsharness/conformance/engine"
	"github.com/wsharness/wsharness/internal/fuzzclient"
	"github.com/wsharness/wsharness/internal/testnet"
	"github.com/wsharness/wsharness/results"
	"github.com/wsharness/wsharness/targets"
	"github.com/wsharness/wsharness/wire"
)

// silentEcho is a client with a defect: it reads what the server sends
// and never echoes it.
func silentEcho(ctx context.Context, url string) error {
	conn, _, err := websocket.DefaultDialer.DialContext(ctx, url, nil)
	if err != nil {
		return err
	}
	defer conn.Close()
	for {
		if _, _, err := conn.ReadMessage(); err != nil {
			return nil
		}
	}
}

// 'wsharness fuzzingserver' drives clients written to Autobahn's
// protocol from an Autobahn spec: the count is the spec's filtered list,
// a correct client passes every case, one that does not echo FAILS the
// echo cases, exclude-agent-cases leaves cases out for an agent, and
// results.json (role client, one target per agent), junit.xml, index.html
// and Autobahn's index.json hold every case run. Unexpected FAILED gives
// conformance's exit code.
func TestFuzzingServerCommand(t *testing.T) {
	dir := t.TempDir()
	addr := testnet.FreeAddr(t)
	base := "ws://" + addr
	spec := filepath.Join(dir, "fuzzingserver.json")
	specText := fmt.Sprintf(`{"url": %q, "outdir": %q, "cases": ["1.1.*", "2.*"], "exclude-agent-cases": {"silent*": ["2.*"]}}`,
		base, filepath.Join(dir, "reports"))
	writeFile(t, spec, []byte(specText))
	out := filepath.Join(dir, "out")
	type result struct {
		code           int
		stdout, stderr string
	}
	done := make(chan result, 1)
	go func() {
		code, stdout, stderr := runCLI("fuzzingserver", "--spec", spec, "--timescale", "0.5", "--out", out)
		done <- result{code, stdout, stderr}
	}()
	ctx := t.Context()
	var count int
	for deadline := time.Now().Add(10 * time.Second); ; {
		if err := fuzzclient.Call(ctx, base+"/getCaseCount", &count); err == nil {
			break
		} else if time.Now().After(deadline) {
			t.Fatalf("the fuzzing server did not answer: %v", err)
		}
		time.Sleep(50 * time.Millisecond)
	}
	want := 0
	for _, c := range cases.ForPeer(wire.Client) {
		if strings.HasPrefix(c.ID, "1.1.") || strings.HasPrefix(c.ID, "2.") {
			want++
		}
	}
	if count != want {
		t.Fatalf("getCaseCount %d, want the spec's %d cases", count, want)
	}
	gorilla, ok := targets.LookupClient("gorilla-client")
	if !ok {
		t.Fatal("no gorilla-client")
	}
	correct, err := fuzzclient.Run(ctx, base, "gorilla/correct", 4, gorilla.Echo)
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range correct {
		if c.Behavior != string(results.OK) {
			t.Errorf("correct client: %s %s", c.ID, c.Behavior)
		}
	}
	silent, err := fuzzclient.Run(ctx, base, "silent", 4, silentEcho)
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range silent {
		wantBehavior := string(results.Failed)
		if strings.HasPrefix(c.ID, "2.") {
			wantBehavior = "NOT RUN" // excluded for the agent: answered by closing
		}
		if c.Behavior != wantBehavior {
			t.Errorf("client that does not echo: %s %s, want %s", c.ID, c.Behavior, wantBehavior)
		}
	}
	if err := fuzzclient.Call(ctx, base+"/stopServer", nil); err != nil {
		t.Fatal(err)
	}
	var r result
	select {
	case r = <-done:
	case <-time.After(30 * time.Second):
		t.Fatal("the fuzzing server did not stop on /stopServer")
	}
	if r.code != exitCasesFailed || !strings.Contains(r.stdout, "silent") {
		t.Errorf("exit %d, want %d naming the silent agent\nstdout:\n%s\nstderr: %s", r.code, exitCasesFailed, r.stdout, r.stderr)
	}

	run, err := results.ReadFile(filepath.Join(out, "results.json"))
	if err != nil {
		t.Fatal(err)
	}
	wantCases := map[string]int{"gorilla/correct": want, "silent": len(silent) - countPrefix(silent, "2.")}
	if len(run.Targets) != 2 {
		t.Fatalf("%d targets, want one per agent", len(run.Targets))
	}
	for _, tg := range run.Targets {
		if tg.Role != wire.Client || len(tg.Cases) != wantCases[tg.Agent] {
			t.Errorf("target %s (agent %s): role %v, %d cases; want a client with %d", tg.Name, tg.Agent, tg.Role, len(tg.Cases), wantCases[tg.Agent])
		}
	}
	for _, f := range []string{"junit.xml", "index.html"} {
		if b, err := os.ReadFile(filepath.Join(out, f)); err != nil || len(b) == 0 {
			t.Errorf("%s: %d bytes, %v", f, len(b), err)
		}
	}
	b, err := os.ReadFile(filepath.Join(dir, "reports", "index.json"))
	if err != nil {
		t.Fatal(err)
	}
	var index map[string]map[string]autobahn.Entry
	if err := json.Unmarshal(b, &index); err != nil {
		t.Fatal(err)
	}
	for agent, n := range wantCases {
		if len(index[agent]) != n {
			t.Errorf("index.json: %s has %d cases, want %d", agent, len(index[agent]), n)
		}
	}
	if e := index["silent"]["1.1.1"]; e.Behavior != results.Failed {
		t.Errorf("index.json: silent 1.1.1 is %q, want FAILED", e.Behavior)
	}
}

func countPrefix(cs []fuzzclient.Case, prefix string) int {
	n := 0
	for _, c := range cs {
		if strings.HasPrefix(c.ID, prefix) {
			n++
		}
	}
	return n
}

// The fuzzing server listens on loopback only, and says so in one line.
func TestFuzzingServerAddr(t *testing.T) {
	for _, addr := range []string{"0.0.0.0:9001", ":9001", "example.com:9001"} {
		code, _, stderr := runCLI("fuzzingserver", "--addr", addr)
		if code != exitUsage || !strings.Contains(stderr, "loopback") || strings.Count(strings.TrimSpace(stderr), "\n") > 0 {
			t.Errorf("--addr %s: exit %d, %q; want a one-line usage error naming loopback", addr, code, stderr)
		}
	}
}

// --client resolves the clients of --external: one whose runtime is
// there is driven through Autobahn's protocol and judged on every case;
// one whose runtime is missing is listed unavailable with the reason.
func TestConformanceExternalClient(t *testing.T) {
	if _, err := exec.LookPath("node"); err != nil {
		t.Skip("node not installed")
	}
	if exec.Command("node", "-e", "require('/usr/share/nodejs/ws')").Run() != nil {
		t.Skip("node-ws not installed")
	}
	nodeDir, err := filepath.Abs("../../targets/external/node")
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	file := filepath.Join(dir, "external.yaml")
	yaml := fmt.Sprintf(`version: 1
clients:
  - name: node-driver
    command: [node, client.js, "{url}", "{agent}", "4"]
    dir: %s
    env: [NODE_PATH=/usr/share/nodejs]
    requires: [node]
  - name: missing-driver
    command: [no-such-runtime-here, "{url}"]
    requires: [no-such-runtime-here]
    install: apt-get install it
`, nodeDir)
	writeFile(t, file, []byte(yaml))
	out := filepath.Join(dir, "out")
	code, stdout, stderr := runCLI("conformance", "--client", "node-driver", "--client", "missing-driver", "--external", file,
		"--cases", "1.1.*", "--cases", "2.*", "--out", out)
	if code != exitOK {
		t.Fatalf("exit %d\nstdout:\n%s\nstderr: %s", code, stdout, stderr)
	}
	run, err := results.ReadFile(filepath.Join(out, "results.json"))
	if err != nil {
		t.Fatal(err)
	}
	want := len(engine.Select(cases.ForPeer(wire.Client), []string{"1.1.*", "2.*"}, nil))
	for _, tg := range run.Targets {
		switch tg.Name {
		case "node-driver":
			if tg.Role != wire.Client || len(tg.Cases) != want || tg.Summary[results.OK] != want {
				t.Errorf("node-driver: role %v, %d cases, summary %v; want %d OK", tg.Role, len(tg.Cases), tg.Summary, want)
			}
		case "missing-driver":
			if !strings.Contains(tg.Unavailable, "no-such-runtime-here not installed (apt-get install it)") {
				t.Errorf("missing-driver: unavailable %q", tg.Unavailable)
			}
		default:
			t.Errorf("target %s", tg.Name)
		}
	}
}
