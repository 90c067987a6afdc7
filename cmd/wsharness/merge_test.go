package main

import (
	"flag"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/wsharness/wsharness/internal/testtarget"
	"github.com/wsharness/wsharness/loadgen"
	"github.com/wsharness/wsharness/targets"
)

func TestProbe(t *testing.T) {
	url := testtarget.Start(t, "gorilla").URL(targets.EchoPath)
	if code, stdout, stderr := runCLI("probe", url); code != exitOK || !strings.Contains(stdout, "handshake completed") {
		t.Errorf("probe of a serving target: exit %d, %q %q", code, stdout, stderr)
	}
	// An HTTP server that does not upgrade is not healthy.
	plain := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { _, _ = io.WriteString(w, "hello") }))
	defer plain.Close()
	wsURL := "ws" + strings.TrimPrefix(plain.URL, "http") + "/echo"
	if code, _, stderr := runCLI("probe", "--timeout", "1s", wsURL); code != exitUnreachable || !strings.Contains(stderr, "handshake") {
		t.Errorf("probe of a plain HTTP server: exit %d, %q", code, stderr)
	}
	if code, _, _ := runCLI("probe", "--timeout", "500ms", "ws://127.0.0.1:1/echo"); code != exitUnreachable {
		t.Errorf("probe of a closed port: exit %d", code)
	}
	for _, args := range [][]string{{"probe"}, {"probe", "http://x/"}, {"probe", "ws://a:1/", "ws://b:1/"}, {"probe", "--timeout", "0s", "ws://a:1/"}} {
		if code, _, stderr := runCLI(args...); code != exitUsage || strings.Contains(stderr, "goroutine") {
			t.Errorf("%v: exit %d, %q", args, code, stderr)
		}
	}
}

func TestWorkerFromFlagsAndEnvironment(t *testing.T) {
	resolve := func(args []string, env map[string]string) (*loadgen.Worker, error) {
		fs := flag.NewFlagSet("load", flag.ContinueOnError)
		fs.SetOutput(io.Discard)
		w := addWorkerFlags(fs)
		if err := fs.Parse(args); err != nil {
			t.Fatal(err)
		}
		return w.worker(func(k string) string { return env[k] })
	}
	if w, err := resolve(nil, nil); w != nil || err != nil {
		t.Errorf("no flags, no environment: %+v, %v", w, err)
	}
	w, err := resolve(nil, map[string]string{loadgen.EnvWorkers: "3", loadgen.EnvJobIndex: "2"})
	if err != nil || w.Index != 2 || w.Count != 3 || w.StartAt != nil {
		t.Errorf("Kubernetes index: %+v, %v", w, err)
	}
	start := time.Now().Add(time.Minute).UTC().Truncate(time.Second)
	w, err = resolve([]string{"--worker-index", "0"}, map[string]string{loadgen.EnvWorkers: "2", loadgen.EnvWorkerIndex: "1", loadgen.EnvJobIndex: "1", loadgen.EnvStartAt: start.Format(time.RFC3339)})
	if err != nil || w.Index != 0 || w.Count != 2 || w.StartAt == nil || !w.StartAt.Equal(start) {
		t.Errorf("flag over environment: %+v, %v", w, err)
	}
	for _, c := range []struct {
		args []string
		env  map[string]string
		want string
	}{
		{[]string{"--workers", "2"}, nil, "not which one"},
		{nil, map[string]string{loadgen.EnvWorkers: "two"}, "want a number"},
		{[]string{"--workers", "2", "--worker-index", "2"}, nil, "want 0 to 1"},
		{nil, map[string]string{loadgen.EnvWorkers: "2", loadgen.EnvWorkerIndex: "x"}, "want a worker index"},
		{[]string{"--workers", "0"}, nil, "want 1 to"},
		{[]string{"--start-at", "tomorrow"}, nil, "RFC 3339"},
		{[]string{"--start-at", time.Now().Add(3 * time.Hour).Format(time.RFC3339)}, nil, "at most"},
	} {
		if _, err := resolve(c.args, c.env); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%v %v: %v, want an error containing %q", c.args, c.env, err, c.want)
		}
	}
	if got := outPath("/out/worker-{index}.json", &loadgen.Worker{Index: 3, Count: 4}); got != "/out/worker-3.json" {
		t.Errorf("outPath: %s", got)
	}
}

func TestLoadWorkerUsageErrors(t *testing.T) {
	for _, args := range [][]string{
		{"load", "--url", "ws://127.0.0.1:1/echo", "--workers", "2"},
		{"load", "--target", "gws", "--workers", "2", "--worker-index", "0"},
		{"load", "--url", "ws://127.0.0.1:1/echo", "--workers", "2", "--worker-index", "2"},
		{"load", "--url", "ws://127.0.0.1:1/echo", "--start-at", "soon"},
		{"load", "--url", "ws://127.0.0.1:1/broadcast", "--scenario", "broadcast", "--rate", "1", "--workers", "2", "--worker-index", "0"},
		{"load", "--url", "ws://127.0.0.1:1/echo", "--conns", "1", "--workers", "2", "--worker-index", "1"},
	} {
		code, _, stderr := runCLI(args...)
		if code != exitUsage || strings.Contains(stderr, "goroutine") {
			t.Errorf("%v: exit %d, want %d (stderr %q)", args, code, exitUsage, stderr)
		}
	}
}

// TestTwoWorkerLoadAndMerge runs the load command as two workers with a
// shared start time against a reference target, then merges their files.
func TestTwoWorkerLoadAndMerge(t *testing.T) {
	url := testtarget.Start(t, "gws").URL(targets.EchoPath)
	dir := t.TempDir()
	startAt := time.Now().Add(700 * time.Millisecond).UTC().Format(time.RFC3339Nano)
	var wg sync.WaitGroup
	codes := make([]int, 2)
	outs := make([]string, 2)
	for i := range codes {
		wg.Add(1)
		go func() {
			defer wg.Done()
			var stderr string
			codes[i], _, stderr = runCLI("load", "--url", url, "--conns", "7", "--rate", "400", "--size", "64",
				"--duration", "1s", "--warmup", "200ms", "--quiet", "--workers", "2", "--worker-index", []string{"0", "1"}[i],
				"--start-at", startAt, "--out", filepath.Join(dir, "worker-{index}.json"))
			outs[i] = stderr
		}()
	}
	wg.Wait()
	for i, c := range codes {
		if c != exitOK {
			t.Fatalf("worker %d: exit %d: %s", i, c, outs[i])
		}
	}
	var parts []*loadgen.Result
	for i := range 2 {
		r, err := loadgen.ReadFile(filepath.Join(dir, []string{"worker-0.json", "worker-1.json"}[i]))
		if err != nil {
			t.Fatal(err)
		}
		if r.Worker == nil || r.Worker.Index != i || r.Worker.Count != 2 || r.Worker.StartAt == nil || r.Worker.LateMS > 200 {
			t.Fatalf("worker %d identity %+v", i, r.Worker)
		}
		if want := []int{4, 3}[i]; r.Params.Conns != want || r.Params.Rate != 200 {
			t.Fatalf("worker %d ran %d conns at %v msg/s, want %d at 200", i, r.Params.Conns, r.Params.Rate, want)
		}
		parts = append(parts, r)
	}
	if d := parts[1].Started.Sub(parts[0].Started).Abs(); d > 200*time.Millisecond {
		t.Errorf("workers started %s apart despite --start-at", d)
	}

	merged := filepath.Join(dir, "merged.json")
	code, stdout, stderr := runCLI("merge", "--out", merged, "--threshold", "errors==0", dir)
	if code != exitOK {
		t.Fatalf("merge: exit %d\n%s%s", code, stdout, stderr)
	}
	if !strings.Contains(stdout, "merged 2 results") || !strings.Contains(stdout, "worker") {
		t.Errorf("merge summary:\n%s", stdout)
	}
	m, err := loadgen.ReadFile(merged)
	if err != nil {
		t.Fatal(err)
	}
	a, b := parts[0], parts[1]
	if m.Connections.Established != 7 || m.Messages.Sent != a.Messages.Sent+b.Messages.Sent ||
		m.Messages.Received != a.Messages.Received+b.Messages.Received || m.LatencyUS.Count != a.LatencyUS.Count+b.LatencyUS.Count {
		t.Errorf("merged %+v %+v %+v from %+v and %+v", m.Connections, *m.Messages, *m.LatencyUS, *a.Messages, *b.Messages)
	}
	if len(m.Thresholds) != 1 || !m.Thresholds[0].Passed {
		t.Errorf("thresholds %+v", m.Thresholds)
	}
	// A second merge of the same directory skips merged.json beside the
	// workers and writes the same figures to standard output.
	code, stdout, _ = runCLI("merge", dir)
	if code != exitOK || !strings.Contains(stdout, `"merged_from"`) {
		t.Errorf("merge to stdout: exit %d", code)
	}
}

func TestMergeUsageErrors(t *testing.T) {
	dir := t.TempDir()
	write := func(name string, r *loadgen.Result) string {
		b, err := loadgen.Marshal(r)
		if err != nil {
			t.Fatal(err)
		}
		return writeFile(t, filepath.Join(dir, name), b)
	}
	w0 := write("w0.json", &loadgen.Result{Schema: loadgen.Schema, Scenario: "echo", Worker: &loadgen.Worker{Index: 0, Count: 2}})
	w1other := write("w1.json", &loadgen.Result{Schema: loadgen.Schema, Scenario: "connect", Worker: &loadgen.Worker{Index: 1, Count: 2}})
	corrupt := filepath.Join(dir, "corrupt.json")
	_ = os.WriteFile(corrupt, []byte("{not json"), 0o644)
	empty := t.TempDir()
	for _, args := range [][]string{
		{"merge"},
		{"merge", filepath.Join(dir, "missing.json")},
		{"merge", corrupt},
		{"merge", w0},          // worker 1 missing
		{"merge", w0, w1other}, // different scenarios
		{"merge", empty},       // no worker results
		{"merge", "--threshold", "p99<", w0},
	} {
		code, _, stderr := runCLI(args...)
		if code != exitUsage || strings.Contains(stderr, "goroutine") {
			t.Errorf("%v: exit %d, want %d (stderr %q)", args, code, exitUsage, stderr)
		}
	}
}
