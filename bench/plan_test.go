package bench

import (
	"fmt"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/wsharness/wsharness/loadgen"
)

// These tests plan and validate only: none starts a target or sends load.

// defaults are the options `wsharness bench` runs with when given no
// flags; edit changes them (--quick implies one run, as the CLI sets it).
func defaults(t *testing.T, edit func(*Options)) Options {
	t.Helper()
	o := Options{Exe: "/usr/local/bin/wsharness", Targets: []string{"gorilla", "gobwas", "gws"}, Runs: 3, Out: "out/bench"}
	if edit != nil {
		edit(&o)
	}
	if err := o.Validate(); err != nil {
		t.Fatalf("%+v: %v", o, err)
	}
	return o
}

func quick(o *Options) { o.Quick, o.Runs = true, 1 }

func TestValidate(t *testing.T) {
	for _, tc := range []struct {
		edit func(*Options)
		want string
	}{
		{func(o *Options) { o.Targets = []string{"nope"} }, `--targets: unknown target "nope"`},
		{func(o *Options) { o.Targets = []string{"gorilla", "nope"} }, `--targets: unknown target "nope"`},
		{func(o *Options) { o.Targets = nil }, "--targets: empty list"},
		{func(o *Options) { o.Targets = []string{"gws", "gws"} }, `--targets: "gws" given twice`},
		{func(o *Options) { o.Runs = 0 }, "--runs 0: want 1 to 50"},
		{func(o *Options) { o.Runs = 51 }, "--runs 51: want 1 to 50"},
		{func(o *Options) { o.Workloads = []string{"echo-rate", "bogus"} }, `--scenarios: unknown workload "bogus"`},
		{func(o *Options) { o.Workloads = []string{} }, "--scenarios: empty list"},
		{func(o *Options) { o.Workloads = []string{"echo-rate", "echo-rate"} }, `--scenarios: "echo-rate" given twice`},
		{func(o *Options) { o.Out = " " }, "--out: want a directory"},
		{func(o *Options) { o.K6Conns = 10 }, "--k6-target and --k6-conns need --k6"},
		{func(o *Options) { o.K6, o.K6Target, o.Targets = "k6", "gws", []string{"gorilla"} }, `--k6-target "gws": not one of --targets (gorilla)`},
		{func(o *Options) { o.K6, o.K6Conns = "k6", -1 }, "--k6-conns -1: want 0 (echo-closed's) or more"},
		{func(o *Options) { o.Exe = "" }, "no wsharness executable"},
	} {
		o := defaults(t, nil)
		tc.edit(&o)
		err := o.Validate()
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%+v: error %v, want %q", o, err, tc.want)
		}
	}
	// All problems at once, each named.
	o := Options{Targets: []string{"nope"}, Runs: 0, Out: "", K6Conns: -1, Exe: "x"}
	if err := o.Validate(); err == nil || strings.Count(err.Error(), "; ") != 4 {
		t.Errorf("want five problems, got %v", err)
	}
}

// planJobs plans options without external targets: nothing is skipped.
func planJobs(t *testing.T, o Options, withK6 bool) []Job {
	t.Helper()
	jobs, skips := Plan(o, withK6, nil)
	if len(skips) > 0 {
		t.Errorf("skips without external targets: %v", skips)
	}
	return jobs
}

func jobNames(jobs []Job) []string {
	var names []string
	for _, j := range jobs {
		names = append(names, strings.TrimSuffix(j.File(), ".json"))
	}
	return names
}

func TestPlanDefault(t *testing.T) {
	o := defaults(t, nil)
	jobs := planJobs(t, o, false)
	if len(jobs) != 3*3*5 {
		t.Fatalf("%d jobs, want 45: %v", len(jobs), jobNames(jobs))
	}
	// Run-major: every target's workloads for run 1 before any of run 2.
	for i, j := range jobs {
		if want := i/15 + 1; j.Run != want {
			t.Fatalf("job %d (%s) is in run %d, want %d", i, j.File(), j.Run, want)
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
		if seen[j.File()] {
			t.Errorf("two jobs write %s", j.File())
		}
		seen[j.File()] = true
		if j.K6() {
			t.Errorf("k6 job planned without k6: %s", j.File())
		}
	}
	// The standard workloads, as docs/benchmarks.md describes them.
	byName := map[string]Workload{}
	for _, j := range jobs[:5] {
		byName[j.Workload.Name] = j.Workload
	}
	check := func(name string, conns int, rate float64, d, warmup time.Duration) {
		w := byName[name]
		if w.Conns != conns || w.Rate != rate || w.Duration != d || w.Warmup != warmup {
			t.Errorf("%s: %+v", name, w)
		}
	}
	check(echoRate, 1000, 4000, 10*time.Second, 2*time.Second)
	check(echoClosed, 1000, 0, 10*time.Second, 2*time.Second)
	check(broadcast1k, 1000, 10, 10*time.Second, 2*time.Second)
	check(broadcast5k, 5000, 2, 10*time.Second, 2*time.Second)
	check(connect10k, 10000, 0, 5*time.Second, 0)
	if w := byName[connect10k]; w.Ramp != 2000 || w.Scenario != loadgen.ScenarioConnect {
		t.Errorf("connect: %+v", w)
	}
	if got := Workloads(); !slices.Equal(got, []string{echoRate, echoClosed, broadcast1k, broadcast5k, connect10k}) {
		t.Errorf("Workloads() = %v", got)
	}
}

// Every planned workload must be one loadgen accepts.
func TestPlanValidConfigs(t *testing.T) {
	for _, q := range []bool{false, true} {
		o := defaults(t, func(o *Options) {
			if q {
				quick(o)
			}
			o.K6, o.K6Conns = "k6", 300
		})
		for _, j := range planJobs(t, o, true) {
			w := j.Workload
			cfg := loadgen.Config{
				Scenario: w.Scenario, URL: "ws://127.0.0.1:9/echo", Conns: w.Conns, Rate: w.Rate, Size: w.Size,
				Duration: w.Duration, Warmup: w.Warmup, RampPerS: w.Ramp, Senders: 1, MaxInflight: 1, DialTimeout: time.Second,
			}
			if w.Scenario == loadgen.ScenarioConnect {
				cfg.Size = loadgen.DefaultSize
			}
			if err := cfg.Validate(); err != nil {
				t.Errorf("quick %v %s: %v", q, j.File(), err)
			}
			if w.Conns > 15000 {
				t.Errorf("%s: %d connections would not fit the 20,000 open files of one process with its target's", j.File(), w.Conns)
			}
			if jobTimeout(w) < w.Warmup+w.Duration+time.Minute {
				t.Errorf("%s: timeout %v too tight", j.File(), jobTimeout(w))
			}
			// A server that answers no handshake (a stalled or overloaded
			// external one) makes every dial wait the whole dial timeout,
			// DialConcurrency at a time; the job must still end by itself,
			// with the failures counted, before it is cut off.
			batches := (w.Conns + loadgen.DialConcurrency - 1) / loadgen.DialConcurrency
			stalled := time.Duration(batches)*loadgen.DefaultDialTimeout + w.Warmup + w.Duration + loadgen.DefaultDrain
			if jobTimeout(w) < stalled+time.Minute {
				t.Errorf("%s: timeout %v does not cover a stalled server's %v", j.File(), jobTimeout(w), stalled)
			}
		}
	}
}

func TestPlanQuick(t *testing.T) {
	o := defaults(t, func(o *Options) { quick(o); o.Targets = []string{"gws"} })
	jobs := planJobs(t, o, false)
	if len(jobs) != 5 {
		t.Fatalf("%v", jobNames(jobs))
	}
	for _, j := range jobs {
		w := j.Workload
		if w.Duration != 2*time.Second || w.Conns > 1000 {
			t.Errorf("quick %s: %+v", w.Name, w)
		}
		if w.Name == echoRate && (w.Conns != 100 || w.Rate != 400) {
			t.Errorf("quick echo-rate: %+v", w)
		}
	}
	o.Runs = 2
	if jobs := planJobs(t, o, false); len(jobs) != 10 || jobs[9].Run != 2 {
		t.Errorf("quick, 2 runs: %v", jobNames(jobs))
	}
}

func TestPlanK6(t *testing.T) {
	// Same socket count as echo-closed: k6 runs right after the k6
	// target's echo-closed, which it is compared with.
	o := defaults(t, func(o *Options) { o.K6, o.K6Target, o.Runs = "out/tools/k6", "gws", 2 })
	jobs := planJobs(t, o, true)
	if len(jobs) != 2*(3*5+1) {
		t.Fatalf("%d jobs: %v", len(jobs), jobNames(jobs))
	}
	names := jobNames(jobs)
	for run := 1; run <= 2; run++ {
		i := slices.Index(names, "gws-k6-echo-"+strconv.Itoa(run))
		if i < 1 || names[i-1] != "gws-echo-closed-"+strconv.Itoa(run) {
			t.Errorf("run %d: k6 job not right after gws echo-closed: %v", run, names)
		}
		if jobs[i].Workload.Conns != 1000 || jobs[i].Workload.Size != loadgen.DefaultSize || !jobs[i].K6() {
			t.Errorf("k6 job %+v", jobs[i].Workload)
		}
	}
	if slices.ContainsFunc(names, func(n string) bool { return strings.Contains(n, echoClosedK6) }) {
		t.Errorf("extra wsharness echo planned though echo-closed matches: %v", names)
	}

	// Fewer sockets than echo-closed: wsharness runs the same smaller
	// workload first.
	o = defaults(t, func(o *Options) { o.K6, o.K6Conns, o.Targets = "k6", 300, []string{"gorilla"} })
	names = jobNames(planJobs(t, o, true))
	want := []string{"gorilla-echo-rate-1", "gorilla-echo-closed-1", "gorilla-echo-closed-k6-1", "gorilla-k6-echo-1", "gorilla-broadcast-1k-1"}
	if !slices.Equal(names[:5], want) {
		t.Errorf("jobs %v, want %v first", names, want)
	}

	// echo-closed not selected: the pair comes at the end of the target's list.
	o = defaults(t, func(o *Options) {
		o.K6, o.Workloads, o.Targets, o.Runs = "k6", []string{"echo-rate"}, []string{"gorilla", "gws"}, 1
	})
	names = jobNames(planJobs(t, o, true))
	want = []string{"gorilla-echo-rate-1", "gorilla-echo-closed-k6-1", "gorilla-k6-echo-1", "gws-echo-rate-1"}
	if !slices.Equal(names, want) {
		t.Errorf("jobs %v, want %v", names, want)
	}

	// k6 unusable: no k6 jobs at all.
	if names := jobNames(planJobs(t, o, false)); !slices.Equal(names, []string{"gorilla-echo-rate-1", "gws-echo-rate-1"}) {
		t.Errorf("without k6: %v", names)
	}
}

// An H2Target ends each run with the transport comparison's three jobs,
// echo-rate's parameters (cut down with --quick); a target that is not
// built in is refused.
func TestPlanH2Comparison(t *testing.T) {
	o := Options{Exe: "wsharness", Targets: []string{"gws"}, Runs: 2, Out: "x", Workloads: []string{echoClosed}, H2Target: DefaultH2Target, Quick: true}
	jobs := planJobs(t, o, false)
	var names []string
	for _, j := range jobs {
		names = append(names, fmt.Sprintf("%d %s %s", j.Run, j.Target, j.Workload.Name))
	}
	want := []string{"1 gws echo-closed", "1 gobwas-h2 h2cmp-http1", "1 gobwas-h2 h2cmp-k1", "1 gobwas-h2 h2cmp-k10",
		"2 gws echo-closed", "2 gobwas-h2 h2cmp-http1", "2 gobwas-h2 h2cmp-k1", "2 gobwas-h2 h2cmp-k10"}
	if !slices.Equal(names, want) {
		t.Fatalf("jobs %q, want %q", names, want)
	}
	if w := jobs[1].Workload; w.Scenario != loadgen.ScenarioEcho || w.Rate != 400 || w.Conns != 100 || w.Duration != 2*time.Second {
		t.Errorf("quick comparison workload %+v, want echo-rate cut down", w)
	}
	o.H2Target = "nope"
	if err := o.Validate(); err == nil || !strings.Contains(err.Error(), `--h2-target "nope"`) {
		t.Errorf("Validate: %v", err)
	}
}
