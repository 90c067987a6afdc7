package main

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/wsharness/wsharness/conformance/cases"
	"github.com/wsharness/wsharness/conformance/engine"
	"github.com/wsharness/wsharness/results"
	"github.com/wsharness/wsharness/wire"
)

// The libwebsockets client driver (targets/external/lws/client.c), built
// as make lws-client builds it, must be faithful: on the cases libwebsockets
// passes (messages from 0 octets to 16 MiB that lws hands over in 1 KiB
// pieces, fragmented messages with Pings between the fragments, UTF-8 split
// across fragments) every verdict is OK, so the driver reassembles and
// echoes whole messages with their type; and it exits by itself after
// updateReports, well before the engine would stop an idle driver (30 s).
func TestLWSClientDriver(t *testing.T) {
	dir := t.TempDir()
	bin := filepath.Join(dir, "lws-client")
	build := exec.Command("bash", "../../targets/external/lws/build.sh", bin, "client.c")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("build.sh: %v\n%s", err, out)
	}
	if _, err := os.Stat(bin); err != nil {
		t.Skip("libwebsockets-dev, gcc or pkg-config not installed: build.sh built nothing")
	}
	file := filepath.Join(dir, "external.yaml")
	yaml := fmt.Sprintf("version: 1\nclients:\n  - name: lws-driver\n    command: [%s, \"{url}\", \"{agent}\", \"4\"]\n", bin)
	writeFile(t, file, []byte(yaml))
	patterns := []string{"1.*", "5.*", "6.2.*", "9.1.6", "9.2.6"}
	args := []string{"conformance", "--client", "lws-driver", "--external", file, "--profile", "full",
		"--out", filepath.Join(dir, "out")}
	for _, p := range patterns {
		args = append(args, "--cases", p)
	}
	start := time.Now()
	code, stdout, stderr := runCLI(args...)
	elapsed := time.Since(start)
	if code != exitOK {
		t.Fatalf("exit %d\nstdout:\n%s\nstderr: %s", code, stdout, stderr)
	}
	run, err := results.ReadFile(filepath.Join(dir, "out", "results.json"))
	if err != nil {
		t.Fatal(err)
	}
	want := len(engine.Select(cases.ForPeer(wire.Client), patterns, nil))
	if len(run.Targets) != 1 {
		t.Fatalf("%d targets", len(run.Targets))
	}
	tg := run.Targets[0]
	if len(tg.Cases) != want || tg.Summary[results.OK] != want {
		for _, c := range tg.Cases {
			if c.Verdict != results.OK {
				t.Errorf("%s: %s: %s", c.ID, c.Verdict, c.Observed)
			}
		}
		t.Fatalf("%d cases, summary %v; want %d OK", len(tg.Cases), tg.Summary, want)
	}
	if elapsed > 25*time.Second {
		t.Errorf("the run took %v: the driver did not exit after updateReports", elapsed)
	}
}
