package bench

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/gorilla/websocket"

	"github.com/wsharness/wsharness/internal/testnet"
	"github.com/wsharness/wsharness/internal/testtext"
	"github.com/wsharness/wsharness/loadgen"
	"github.com/wsharness/wsharness/targets"
)

// These tests plan, validate and start external targets. Only
// TestRunExternalErrors sends load, to a fake server of its own.

// TestMain turns the test binary into a fake external server when
// WSH_BENCH_FAKE_SERVER names an address.
func TestMain(m *testing.M) {
	if addr := os.Getenv("WSH_BENCH_FAKE_SERVER"); addr != "" {
		fakeServer(addr)
		return
	}
	os.Exit(m.Run())
}

// fakeServer echoes on /echo for the readiness probe and the next
// WSH_BENCH_FAKE_LIMIT handshakes, then answers 503: a server past its
// connection limit. It runs until killed.
func fakeServer(addr string) {
	limit, _ := strconv.Atoi(os.Getenv("WSH_BENCH_FAKE_LIMIT"))
	var n atomic.Int64
	up := websocket.Upgrader{}
	http.HandleFunc("/echo", func(w http.ResponseWriter, r *http.Request) {
		if i := n.Add(1); i > int64(limit)+1 {
			if i == int64(limit)+2 {
				fmt.Fprintf(os.Stderr, "fake server full: refusing handshakes after %d\n", limit)
			}
			http.Error(w, "full", http.StatusServiceUnavailable)
			return
		}
		c, err := up.Upgrade(w, r, nil)
		if err != nil {
			return
		}
		defer c.Close()
		testnet.Echo(c)
	})
	fmt.Fprintf(os.Stderr, "fake server on %s\n", addr)
	fmt.Fprintln(os.Stderr, http.ListenAndServe(addr, nil))
	os.Exit(1)
}

// fakeExternal writes an external targets file into a temporary directory
// and loads it: ext-full (echo and broadcast), ext-echo-only (no
// broadcast_url), ext-missing (its runtime is not installed). The commands
// exit at once without serving.
func fakeExternal(t *testing.T) (string, []targets.External) {
	t.Helper()
	yaml := fmt.Sprintf(`version: 1
targets:
  - name: ext-full
    command: [/bin/sh, -c, "echo cannot bind >&2; exit 3"]
    echo_url: ws://%[1]s/echo
    broadcast_url: ws://%[1]s/broadcast
  - name: ext-echo-only
    command: [/bin/sh, -c, "exit 3"]
    echo_url: ws://%[2]s/echo
  - name: ext-variant
    command: [/bin/sh, -c, "exit 3"]
    echo_url: ws://%[2]s/echo
    bench: false
  - name: ext-missing
    command: [wsh-no-such-runtime, server.x]
    echo_url: ws://%[3]s/echo
    broadcast_url: ws://%[3]s/broadcast
    requires: [wsh-no-such-runtime]
    install: apt-get install wsh-no-such-runtime
`, testnet.FreeAddr(t), testnet.FreeAddr(t), testnet.FreeAddr(t))
	return loadExternal(t, yaml)
}

// loadExternal writes an external targets file into a temporary directory
// and loads it.
func loadExternal(t *testing.T, yaml string) (string, []targets.External) {
	t.Helper()
	path := filepath.Join(t.TempDir(), "external.yaml")
	if err := os.WriteFile(path, []byte(yaml), 0o644); err != nil {
		t.Fatal(err)
	}
	ext, err := targets.LoadExternal(path)
	if err != nil {
		t.Fatal(err)
	}
	return path, ext
}

func withExternal(t *testing.T, edit func(*Options)) Options {
	t.Helper()
	path, ext := fakeExternal(t)
	return defaults(t, func(o *Options) {
		o.External, o.ExternalFile = ext, path
		o.Targets = DefaultTargets(ext)
		if edit != nil {
			edit(o)
		}
	})
}

const missingReason = "wsh-no-such-runtime not installed (apt-get install wsh-no-such-runtime)"

func TestPlanExternal(t *testing.T) {
	o := withExternal(t, func(o *Options) { quick(o); o.Runs, o.K6 = 2, "k6" })
	// ext-variant (bench: false) is left out.
	if want := slices.Concat(targets.Names(targets.Configured()), []string{"ext-full", "ext-echo-only", "ext-missing"}); !slices.Equal(o.Targets, want) {
		t.Fatalf("default targets %v, want %v", o.Targets, want)
	}
	unavailable := checkExternals(o)
	if want := map[string]string{"ext-missing": missingReason}; fmt.Sprint(unavailable) != fmt.Sprint(want) {
		t.Fatalf("unavailable %v, want %v", unavailable, want)
	}
	jobs, skips := Plan(o, true, unavailable)
	wantSkips := []string{
		"ext-echo-only (broadcast-1k, broadcast-5k): no broadcast endpoint (broadcast_url) in its entry",
		"ext-missing: " + missingReason,
	}
	var got []string
	for _, s := range skips {
		got = append(got, s.String())
	}
	if !slices.Equal(got, wantSkips) {
		t.Errorf("skips\n%v\nwant\n%v", strings.Join(got, "\n"), strings.Join(wantSkips, "\n"))
	}
	names := jobNames(jobs)
	// Per run: three built-in targets with 5 workloads, gorilla's k6 echo,
	// ext-full's 5 and ext-echo-only's 3.
	if len(jobs) != 2*(3*5+1+5+3) {
		t.Fatalf("%d jobs: %v", len(jobs), names)
	}
	for run := 1; run <= 2; run++ {
		var ext []string
		for _, j := range jobs {
			if j.Run == run && strings.HasPrefix(j.Target, "ext-") {
				ext = append(ext, strings.TrimSuffix(j.File(), fmt.Sprintf("-%d.json", run)))
			}
		}
		want := []string{
			"ext-full-echo-rate", "ext-full-echo-closed", "ext-full-broadcast-1k", "ext-full-broadcast-5k", "ext-full-connect-10k",
			"ext-echo-only-echo-rate", "ext-echo-only-echo-closed", "ext-echo-only-connect-10k",
		}
		if !slices.Equal(ext, want) {
			t.Errorf("run %d external jobs %v, want %v", run, ext, want)
		}
	}
	// External jobs are the same workloads as the built-in targets'.
	byName := map[string]Workload{}
	for _, j := range jobs {
		if j.Target == "gws" {
			byName[j.Workload.Name] = j.Workload
		}
	}
	for _, j := range jobs {
		if strings.HasPrefix(j.Target, "ext-") && j.Workload != byName[j.Workload.Name] {
			t.Errorf("%s: %+v, gws has %+v", j.File(), j.Workload, byName[j.Workload.Name])
		}
		// The k6 comparison stays on the first built-in target.
		if j.K6() && j.Target != "gorilla" {
			t.Errorf("k6 job against %s", j.Target)
		}
	}
	if !slices.Contains(names, "gorilla-k6-echo-1") {
		t.Errorf("no k6 job: %v", names)
	}
}

func TestValidateExternal(t *testing.T) {
	for _, tc := range []struct {
		edit func(*Options)
		want string
	}{
		{func(o *Options) { o.Targets = []string{"gws", "nope"} },
			`--targets: unknown target "nope" (valid: gorilla, gobwas, gws, gorilla-deflate, gobwas-deflate, gws-deflate, gorilla-default, gobwas-default, gws-default, gobwas-h2, gobwas-h2-deflate, and from `},
		{func(o *Options) { o.Targets = []string{"ext-full", "ext-full"} }, `--targets: "ext-full" given twice`},
		{func(o *Options) { o.Targets = []string{"gobwas-h2-tls"} }, `--targets: gobwas-h2-tls serves TLS with a certificate only the harness running it trusts: serve --target gobwas-h2 --tls instead`},
		{func(o *Options) { o.H2Target = "gobwas-h2-tls" }, `--h2-target "gobwas-h2-tls": not a built-in target a process serves`},
		{func(o *Options) { o.K6, o.K6Target = "k6", "ext-full" }, `--k6-target "ext-full": an external target`},
	} {
		o := withExternal(t, nil)
		tc.edit(&o)
		err := o.Validate()
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("error %v, want %q", err, tc.want)
		}
	}
	o := withExternal(t, nil)
	o.Targets = []string{"nope"}
	if err := o.Validate(); err == nil || !strings.Contains(err.Error(), ": ext-full, ext-echo-only, ext-variant, ext-missing)") {
		t.Errorf("unknown name's error does not list the external targets: %v", err)
	}
	// An external name without its file is unknown.
	o = defaults(t, nil)
	o.Targets = []string{"ext-full"}
	if err := o.Validate(); err == nil || !strings.Contains(err.Error(), `unknown target "ext-full"`) || !strings.Contains(err.Error(), "no external targets file") {
		t.Errorf("external name without --external: %v", err)
	}
	// External targets alone need no wsharness executable, and have no
	// k6 target.
	o = withExternal(t, func(o *Options) { o.Targets, o.Exe, o.K6 = []string{"ext-full"}, "", "k6" })
	if o.k6TargetName() != "" {
		t.Errorf("k6 target %q among external targets only", o.k6TargetName())
	}
	if jobs, _ := Plan(o, true, nil); slices.ContainsFunc(jobs, Job.K6) {
		t.Errorf("k6 planned against an external target: %v", jobNames(jobs))
	}
	o = withExternal(t, func(o *Options) { o.Targets = []string{"ext-full", "gws", "gobwas"} })
	if o.k6TargetName() != "gws" {
		t.Errorf("k6 target %q, want the first built-in one, gws", o.k6TargetName())
	}
}

// External targets that cannot run are skipped, never failed: one whose
// runtime is missing before any job, one that does not start for the rest
// of the bench.
func TestRunSkipsExternal(t *testing.T) {
	path, ext := fakeExternal(t)
	out := filepath.Join(t.TempDir(), "bench")
	o := Options{
		Targets: []string{"ext-full", "ext-missing", "ext-echo-only"}, External: ext, ExternalFile: path,
		Runs: 2, Out: out, Quick: true, Workloads: []string{echoRate, broadcast1k}, Command: "wsharness bench --quick",
	}
	var progress bytes.Buffer
	rep, err := Run(context.Background(), o, &progress)
	if err != nil {
		t.Fatal(err)
	}
	if len(rep.Failures) != 0 || rep.Interrupted || rep.Jobs != 6 {
		t.Fatalf("report %+v\n%s", rep, progress.String())
	}
	var got []string
	for _, s := range rep.Skipped {
		got = append(got, s.String())
	}
	want := []string{
		"ext-missing: " + missingReason,
		"ext-echo-only (broadcast-1k): no broadcast endpoint (broadcast_url) in its entry",
		`ext-full: "/bin/sh -c echo cannot bind >&2; exit 3" exited before serving (exit status 3); last output: cannot bind (see ext-full-echo-rate-1.start.log)`,
		`ext-echo-only: "/bin/sh -c exit 3" exited before serving (exit status 3); it printed nothing (see ext-echo-only-echo-rate-1.start.log)`,
	}
	if !slices.Equal(got, want) {
		t.Errorf("skipped\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	p := progress.String()
	for _, line := range []string{
		"bench: skipped ext-missing: " + missingReason + "\n",
		"[1/6] run 1/2 ext-full      echo-rate       skipped: \"/bin/sh -c echo cannot bind >&2; exit 3\" exited before serving",
		"bench: skipped ext-full: ",
		"[3/6] run 1/2 ext-echo-only echo-rate       skipped: ",
	} {
		if !strings.Contains(p, line) {
			t.Errorf("progress lacks %q:\n%s", line, p)
		}
	}
	// Each target that did not start is tried once.
	if n := strings.Count(p, "[") - strings.Count(p, "[earlier"); n != 2 {
		t.Errorf("%d job lines, want 2 (one per target tried):\n%s", n, p)
	}
	for _, w := range []string{"## Skipped\n\n- ext-missing: " + missingReason + "\n- ext-echo-only (broadcast-1k): ", "- ext-full: ", "No load results."} {
		if !strings.Contains(string(rep.Summary), w) {
			t.Errorf("summary lacks %q:\n%s", w, rep.Summary)
		}
	}
	if strings.Contains(string(rep.Summary), "## Failures") {
		t.Errorf("skips listed as failures:\n%s", rep.Summary)
	}
	log, err := os.ReadFile(filepath.Join(out, "ext-full-echo-rate-1.start.log"))
	if err != nil || !strings.Contains(string(log), "its last output:\ncannot bind") {
		t.Errorf("start log %q, %v", log, err)
	}
	var m manifest
	b, err := os.ReadFile(filepath.Join(out, "bench.json"))
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(b, &m); err != nil || m.Schema != ManifestSchema || len(m.Skipped) != 4 || m.Skipped[0].Target != "ext-missing" ||
		!slices.Equal(m.Skipped[1].Workloads, []string{broadcast1k}) || len(m.Failures) != 0 || m.ExternalFile != path {
		t.Errorf("bench.json %+v, %v", m, err)
	}
}

// A target that started before and then does not is skipped for that job
// only.
func TestSkipAfterStart(t *testing.T) {
	r := &runner{ran: map[string]bool{"a": true}, dropped: map[string]bool{}}
	j := Job{Run: 2, Target: "a", Workload: Workload{Name: echoRate}}
	if s := r.skip(j, &skipError{reason: "busy", start: true}); s.String() != "run 2 a (echo-rate): busy" || r.dropped["a"] {
		t.Errorf("skip %v, dropped %v", s, r.dropped)
	}
	j.Target = "b"
	if s := r.skip(j, &skipError{reason: "busy", start: true}); s.String() != "b: busy" || !r.dropped["b"] {
		t.Errorf("skip %v, dropped %v", s, r.dropped)
	}
}

func TestStartReason(t *testing.T) {
	err := fmt.Errorf("target php: %w: %s", targets.ErrTargetUnavailable, "\"php server.php 9105\" exited before serving (exit status 1); its last output:\nPHP Warning: x\nlisten 127.0.0.1:9105: Address already in use (98)")
	if got, want := startReason("php", err), `"php server.php 9105" exited before serving (exit status 1); last output: listen 127.0.0.1:9105: Address already in use (98)`; got != want {
		t.Errorf("got  %s\nwant %s", got, want)
	}
	err = fmt.Errorf("target php: %w: something already listens on 127.0.0.1:9105", targets.ErrTargetUnavailable)
	if got := startReason("php", err); got != "something already listens on 127.0.0.1:9105" {
		t.Errorf("got %s", got)
	}
	if got := startReason("x", errors.New(strings.Repeat("y", 400))); len(got) != 300 {
		t.Errorf("%d bytes", len(got))
	}
}

func TestErrorLine(t *testing.T) {
	res := &loadgen.Result{
		Connections: loadgen.Connections{Target: 10000, Established: 1004, Failed: 8996, Failures: map[string]int{"timeout": 8990, "reset": 6}, Dropped: 3},
		Messages:    &loadgen.Messages{Sent: 800, Lost: 12, Errors: 2},
	}
	if got, want := errorLine(res), "1,004 of 10,000 connections established (failed: reset 6, timeout 8,990), 3 dropped, 12 of 800 lost, 2 errors"; got != want {
		t.Errorf("got  %s\nwant %s", got, want)
	}
	if got := errorLine(&loadgen.Result{Connections: loadgen.Connections{Target: 5, Established: 5}, Messages: &loadgen.Messages{}}); got != "" {
		t.Errorf("clean run: %q", got)
	}
}

// A server that serves some connections and refuses the rest: the
// workloads finish, their results count the failures, the bench does not
// fail, and every job gets a fresh server (the limit holds per process).
func TestRunExternalErrors(t *testing.T) {
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	addr := testnet.FreeAddr(t)
	yaml := fmt.Sprintf(`version: 1
targets:
  - name: fake
    command: [%q]
    env: [WSH_BENCH_FAKE_SERVER=%s, WSH_BENCH_FAKE_LIMIT=10]
    echo_url: ws://%[2]s/echo
`, exe, addr)
	path, ext := loadExternal(t, yaml)
	out := filepath.Join(t.TempDir(), "bench")
	o := Options{
		Targets: []string{"fake"}, External: ext, ExternalFile: path, Runs: 1, Out: out, Quick: true,
		Workloads: []string{echoRate, broadcast1k, connect10k},
	}
	var progress bytes.Buffer
	rep, err := Run(context.Background(), o, &progress)
	if err != nil {
		t.Fatal(err)
	}
	p := progress.String()
	if strings.Contains(p, "not sampled") {
		t.Errorf("the fake server started by command was not sampled:\n%s", p)
	}
	if len(rep.Failures) != 0 || rep.Jobs != 2 {
		t.Fatalf("report %+v\n%s", rep, p)
	}
	testtext.Contains(t, "progress", p,
		"bench: skipped fake (broadcast-1k): no broadcast endpoint (broadcast_url) in its entry\n",
		// The started command's process is sampled like a built-in target's.
		"conns failed 90 dropped 0, server ",
		"conns failed 990 dropped 0, server ",
		"(server output: fake-echo-rate-1.server.log)",
		"(server output: fake-connect-10k-1.server.log)",
	)
	testtext.Contains(t, "summary", string(rep.Summary),
		"| workload | metric | fake |",
		"## Runs with errors\n\nThese runs finished; their figures above include what went wrong.\n\n"+
			"- run 1 fake echo-rate: 10 of 100 connections established (failed: bad_handshake 90)\n"+
			"- run 1 fake connect-10k: 10 of 1,000 connections established (failed: bad_handshake 990)\n",
	)
	for _, f := range []string{"fake-echo-rate-1", "fake-connect-10k-1"} {
		res, err := loadgen.ReadFile(filepath.Join(out, f+".json"))
		if err != nil {
			t.Fatal(err)
		}
		if res.Target != "fake" || res.Connections.Established != 10 || res.Server == nil || res.Server.PID == 0 || res.Server.Samples == 0 {
			t.Errorf("%s: target %s, %d established, server %+v", f, res.Target, res.Connections.Established, res.Server)
		}
		if log, err := os.ReadFile(filepath.Join(out, f+".server.log")); err != nil || !strings.Contains(string(log), "refusing handshakes after 10") {
			t.Errorf("%s server log %q, %v", f, log, err)
		}
	}
}

// A server built for at most N connections (max_connections) is not run
// on workloads that need more; the quick profile's tenth still fits.
func TestPlanMaxConnections(t *testing.T) {
	for _, q := range []bool{false, true} {
		o := withExternal(t, func(o *Options) {
			o.Targets = []string{"ext-full"}
			o.External[0].Spec.MaxConnections = 2000
			if q {
				quick(o)
			}
		})
		_, skips := Plan(o, false, nil)
		var got []string
		for _, s := range skips {
			got = append(got, s.String())
		}
		want := []string{
			"ext-full (broadcast-5k): needs 5000 connections; the entry declares max_connections 2000",
			"ext-full (connect-10k): needs 10000 connections; the entry declares max_connections 2000",
		}
		if q {
			want = nil
		}
		if !slices.Equal(got, want) {
			t.Errorf("quick %v: skips %q, want %q", q, got, want)
		}
	}
}
