package main

import (
	"io"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/wsharness/wsharness/loadgen"
)

// These tests plan and validate only: none starts a target or sends load.

func TestBenchFlagErrors(t *testing.T) {
	out := filepath.Join(t.TempDir(), "bench")
	for _, args := range [][]string{
		{"--targets", "nope"},
		{"--targets", "gorilla,nope"},
		{"--targets", ""},
		{"--targets", "gws,gws"},
		{"--runs", "0"},
		{"--runs", "51"},
		{"--scenarios", "echo-rate,bogus"},
		{"--scenarios", ","},
		{"--out", " "},
		{"--k6-conns", "10"}, // needs --k6
		{"--k6", "k6", "--k6-target", "gws", "--targets", "gorilla"}, // not a bench target
		{"--k6", "k6", "--k6-conns", "-1"},
		{"--quick", "extra-argument"},
		{"--bogus"},
	} {
		args := append([]string{"bench", "--out", out}, args...)
		start := time.Now()
		code, _, stderr := runCLI(args...)
		if code != exitUsage {
			t.Errorf("%v: exit %d, want %d (stderr %q)", args, code, exitUsage, stderr)
		}
		if strings.Contains(stderr, "goroutine") || strings.Contains(stderr, "panic") {
			t.Errorf("%v: stack trace on stderr: %s", args, stderr)
		}
		if d := time.Since(start); d > 2*time.Second {
			t.Errorf("%v: took %v; a flag error must come before any work", args, d)
		}
	}
	if _, err := os.Stat(out); err == nil {
		t.Errorf("a rejected invocation created %s", out)
	}
}

func mustParse(t *testing.T, args ...string) benchOptions {
	t.Helper()
	o, err := parseBenchFlags(args, io.Discard)
	if err != nil {
		t.Fatalf("%v: %v", args, err)
	}
	return o
}

func jobNames(jobs []benchJob) []string {
	var names []string
	for _, j := range jobs {
		names = append(names, strings.TrimSuffix(j.file(), ".json"))
	}
	return names
}

func TestBenchPlanDefault(t *testing.T) {
	o := mustParse(t)
	if !slices.Equal(o.targets, []string{"gorilla", "gobwas", "gws"}) || o.runs != 3 || o.out != "out/bench" || o.k6 != "" {
		t.Fatalf("defaults %+v", o)
	}
	jobs := planBench(o, false)
	if len(jobs) != 3*3*5 {
		t.Fatalf("%d jobs, want 45: %v", len(jobs), jobNames(jobs))
	}
	// Run-major: every target's workloads for run 1 before any of run 2.
	for i, j := range jobs {
		if want := i/15 + 1; j.run != want {
			t.Fatalf("job %d (%s) is in run %d, want %d", i, j.file(), j.run, want)
		}
	}
	if got := jobNames(jobs[:6]); !slices.Equal(got, []string{
		"gorilla-echo-rate-1", "gorilla-echo-closed-1", "gorilla-broadcast-1k-1", "gorilla-broadcast-5k-1",
		"gorilla-connect-10k-1", "gobwas-echo-rate-1",
	}) {
		t.Errorf("first jobs %v", got)
	}
	seen := map[string]bool{}
	for _, j := range jobs {
		if seen[j.file()] {
			t.Errorf("two jobs write %s", j.file())
		}
		seen[j.file()] = true
		if j.k6() {
			t.Errorf("k6 job planned without k6: %s", j.file())
		}
	}
	// The standard workloads, as docs/benchmarks.md describes them.
	byName := map[string]benchScenario{}
	for _, j := range jobs[:5] {
		byName[j.scenario.Name] = j.scenario
	}
	check := func(name string, conns int, rate float64, d, warmup time.Duration) {
		s := byName[name]
		if s.Conns != conns || s.Rate != rate || s.Duration != d || s.Warmup != warmup {
			t.Errorf("%s: %+v", name, s)
		}
	}
	check(benchEchoRate, 1000, 4000, 10*time.Second, 2*time.Second)
	check(benchEchoClosed, 1000, 0, 10*time.Second, 2*time.Second)
	check(benchBroadcast1k, 1000, 10, 10*time.Second, 2*time.Second)
	check(benchBroadcast5k, 5000, 2, 10*time.Second, 2*time.Second)
	check(benchConnect10k, 10000, 0, 5*time.Second, 0)
	if s := byName[benchConnect10k]; s.Ramp != 2000 || s.Scenario != loadgen.ScenarioConnect {
		t.Errorf("connect: %+v", s)
	}
}

// Every planned workload must be one loadgen accepts.
func TestBenchPlanValidConfigs(t *testing.T) {
	for _, args := range [][]string{nil, {"--quick"}} {
		o := mustParse(t, append(args, "--k6", "k6", "--k6-conns", "300")...)
		for _, j := range planBench(o, true) {
			s := j.scenario
			cfg := loadgen.Config{
				Scenario: s.Scenario, URL: "ws://127.0.0.1:9/echo", Conns: s.Conns, Rate: s.Rate, Size: s.Size,
				Duration: s.Duration, Warmup: s.Warmup, RampPerS: s.Ramp, Senders: 1, MaxInflight: 1, DialTimeout: time.Second,
			}
			if s.Scenario == loadgen.ScenarioConnect {
				cfg.Size = loadgen.DefaultSize
			}
			if err := cfg.Validate(); err != nil {
				t.Errorf("%v %s: %v", args, j.file(), err)
			}
			if s.Conns > 15000 {
				t.Errorf("%s: %d connections would not fit the 20,000 open files of one process with its target's", j.file(), s.Conns)
			}
			if jobTimeout(s) < s.Warmup+s.Duration+time.Minute {
				t.Errorf("%s: timeout %v too tight", j.file(), jobTimeout(s))
			}
		}
	}
}

func TestBenchPlanQuick(t *testing.T) {
	o := mustParse(t, "--quick", "--targets", "gws")
	if o.runs != 1 {
		t.Errorf("--quick runs %d, want 1", o.runs)
	}
	jobs := planBench(o, false)
	if len(jobs) != 5 {
		t.Fatalf("%v", jobNames(jobs))
	}
	for _, j := range jobs {
		s := j.scenario
		if s.Duration != 2*time.Second || s.Conns > 1000 {
			t.Errorf("quick %s: %+v", s.Name, s)
		}
		if s.Name == benchEchoRate && (s.Conns != 100 || s.Rate != 400) {
			t.Errorf("quick echo-rate: %+v", s)
		}
	}
	if o := mustParse(t, "--quick", "--runs", "2"); o.runs != 2 {
		t.Errorf("--quick --runs 2: runs %d", o.runs)
	}
}

func TestBenchPlanK6(t *testing.T) {
	// Same socket count as echo-closed: k6 runs right after the k6
	// target's echo-closed, which it is compared with.
	o := mustParse(t, "--k6", "out/tools/k6", "--k6-target", "gws", "--runs", "2")
	jobs := planBench(o, true)
	if len(jobs) != 2*(3*5+1) {
		t.Fatalf("%d jobs: %v", len(jobs), jobNames(jobs))
	}
	names := jobNames(jobs)
	for run := 1; run <= 2; run++ {
		i := slices.Index(names, "gws-k6-echo-"+strconv.Itoa(run))
		if i < 1 || names[i-1] != "gws-echo-closed-"+strconv.Itoa(run) {
			t.Errorf("run %d: k6 job not right after gws echo-closed: %v", run, names)
		}
		if jobs[i].scenario.Conns != 1000 || jobs[i].scenario.Size != loadgen.DefaultSize {
			t.Errorf("k6 job %+v", jobs[i].scenario)
		}
	}
	if slices.ContainsFunc(names, func(n string) bool { return strings.Contains(n, benchEchoClosedK6) }) {
		t.Errorf("extra wsharness echo planned though echo-closed matches: %v", names)
	}

	// Fewer sockets than echo-closed: wsharness runs the same smaller
	// workload first.
	o = mustParse(t, "--k6", "k6", "--k6-conns", "300", "--targets", "gorilla")
	names = jobNames(planBench(o, true))
	want := []string{"gorilla-echo-rate-1", "gorilla-echo-closed-1", "gorilla-echo-closed-k6-1", "gorilla-k6-echo-1", "gorilla-broadcast-1k-1"}
	if !slices.Equal(names[:5], want) {
		t.Errorf("jobs %v, want %v first", names, want)
	}

	// echo-closed not selected: the pair comes at the end of the target's list.
	o = mustParse(t, "--k6", "k6", "--scenarios", "echo-rate", "--targets", "gorilla,gws", "--runs", "1")
	names = jobNames(planBench(o, true))
	want = []string{"gorilla-echo-rate-1", "gorilla-echo-closed-k6-1", "gorilla-k6-echo-1", "gws-echo-rate-1"}
	if !slices.Equal(names, want) {
		t.Errorf("jobs %v, want %v", names, want)
	}

	// k6 unusable: no k6 jobs at all.
	if names := jobNames(planBench(o, false)); !slices.Equal(names, []string{"gorilla-echo-rate-1", "gws-echo-rate-1"}) {
		t.Errorf("without k6: %v", names)
	}
}

func TestK6ReadSummary(t *testing.T) {
	summary := `{"metrics": {
		"wsh_echo_measured": {"type": "counter", "values": {"count": 70000, "rate": 8000.5}},
		"wsh_sockets_opened": {"type": "counter", "values": {"count": 1000, "rate": 80}},
		"ws_msgs_sent": {"type": "counter", "values": {"count": 90000, "rate": 7000}},
		"ws_msgs_received": {"type": "counter", "values": {"count": 89000, "rate": 6900.25}},
		"ws_connecting": {"type": "trend", "values": {"med": 700, "max": 1100}}
	}, "state": {"testRunDurationMs": 13000}}`
	r := &k6Result{Conns: 1000, DurationMS: 10000, CPUSeconds: 17.9}
	if err := r.readSummary([]byte(summary)); err != nil {
		t.Fatal(err)
	}
	if r.RepliesMeasured != 70000 || r.ThroughputPerS != 7000 || r.SocketsOpened != 1000 || r.SocketsOpenedLate != 0 ||
		r.SocketErrors != 0 || r.MsgsSent != 90000 || r.MsgsReceived != 89000 || r.MsgsReceivedRate != 6900.25 {
		t.Errorf("%+v", r)
	}
	if r.CPUPerMessageUS != 100 {
		t.Errorf("CPU per message %v, want 17.9 s / 179,000 messages = 100 µs", r.CPUPerMessageUS)
	}
	for _, bad := range []string{`not json`, `{"metrics": {}}`} {
		if err := (&k6Result{DurationMS: 1000}).readSummary([]byte(bad)); err == nil {
			t.Errorf("%q: no error", bad)
		}
	}
}

func TestK6Comparison(t *testing.T) {
	wsh := func(tp float64, rss int64) *loadgen.Result {
		return &loadgen.Result{
			ThroughputPerS: tp, Connections: loadgen.Connections{Established: 1000},
			Messages: &loadgen.Messages{Sent: 100000, Received: 100000},
			Client:   loadgen.Resources{RSSBytesMax: rss, CPUSeconds: 4},
		}
	}
	k6 := func(tp float64, rss int64) *k6Result {
		return &k6Result{Target: "gorilla", Conns: 1000, Size: 128, DurationMS: 10000, WarmupMS: 2000,
			ThroughputPerS: tp, PeakRSSBytes: rss, SocketsOpened: 1000, CPUPerMessageUS: 60}
	}
	pairs := map[int]*k6Pair{
		1: {wsh(16000, 40<<20), k6(8000, 400<<20)}, // 2.0, 0.1
		2: {wsh(15000, 44<<20), k6(5000, 400<<20)}, // 3.0, 0.11
		3: {wsh(20000, 40<<20), k6(8000, 360<<20)}, // 2.5, 0.111
		4: {wsh: wsh(1, 1)},                        // k6 failed in this run: left out
	}
	got := string(k6Comparison(pairs, "k6 v1.8.1"))
	for _, want := range []string{
		"1000 sockets, 128 B text, 10s measured after a 2s warm-up, against gorilla",
		"| echo replies/s (measured window) | 16,000/s | 8,000/s | 2.50 |",
		"| client peak RSS | 40.0 MiB | 400.0 MiB | 0.11 |",
		"| client CPU per message (whole run) | 20.0 µs | 60.0 µs | |",
		"| sockets open | 1000 | 1000 of 1000 | |",
		"Medians over 3 runs",
		"16,000/8,000, 15,000/5,000, 20,000/8,000",
	} {
		if !strings.Contains(got, want) {
			t.Errorf("missing %q in\n%s", want, got)
		}
	}
	if c := k6Comparison(map[int]*k6Pair{1: {wsh: wsh(1, 1)}}, "k6"); c != nil {
		t.Errorf("comparison without any k6 result: %s", c)
	}
}
