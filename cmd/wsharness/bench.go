package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"text/tabwriter"
	"time"

	"github.com/wsharness/wsharness/loadgen"
	"github.com/wsharness/wsharness/loadgen/procstat"
	"github.com/wsharness/wsharness/reports"
	"github.com/wsharness/wsharness/targets"
)

// benchScenario is one standard workload of `wsharness bench`.
type benchScenario struct {
	Name     string
	Scenario string
	Conns    int
	Rate     float64 // echo: messages/s in total, 0 = closed loop; broadcast: broadcasts/s
	Size     int
	Duration time.Duration // connect: how long to hold
	Warmup   time.Duration
	Ramp     float64 // connections opened per second
}

// Standard workload names.
const (
	benchEchoRate    = "echo-rate"
	benchEchoClosed  = "echo-closed"
	benchBroadcast1k = "broadcast-1k"
	benchBroadcast5k = "broadcast-5k"
	benchConnect10k  = "connect-10k"
	// benchEchoClosedK6 is the closed-loop echo at the k6 socket count,
	// planned only when that differs from echo-closed's.
	benchEchoClosedK6 = "echo-closed-k6"
	// benchK6 is k6 running the closed-loop echo.
	benchK6 = "k6-echo"
)

// The standard workloads. The parameters were chosen by measuring this
// 2-core machine (docs/benchmarks.md explains each choice): 4,000 msg/s
// is about a quarter of the slowest target's closed-loop ceiling at 1,000
// connections, so every target sustains it without loss; both broadcast
// workloads deliver 10,000 messages/s (1,000 receivers × 10/s and 5,000 ×
// 2/s), which all three targets sustain, while 5,000 × 5/s already queues
// for seconds.
var standardScenarios = []benchScenario{
	{Name: benchEchoRate, Scenario: loadgen.ScenarioEcho, Conns: 1000, Rate: 4000, Size: loadgen.DefaultSize,
		Duration: 10 * time.Second, Warmup: 2 * time.Second, Ramp: loadgen.DefaultRamp},
	{Name: benchEchoClosed, Scenario: loadgen.ScenarioEcho, Conns: 1000, Rate: 0, Size: loadgen.DefaultSize,
		Duration: 10 * time.Second, Warmup: 2 * time.Second, Ramp: loadgen.DefaultRamp},
	{Name: benchBroadcast1k, Scenario: loadgen.ScenarioBroadcast, Conns: 1000, Rate: 10, Size: loadgen.DefaultSize,
		Duration: 10 * time.Second, Warmup: 2 * time.Second, Ramp: loadgen.DefaultRamp},
	{Name: benchBroadcast5k, Scenario: loadgen.ScenarioBroadcast, Conns: 5000, Rate: 2, Size: loadgen.DefaultSize,
		Duration: 10 * time.Second, Warmup: 2 * time.Second, Ramp: loadgen.DefaultRamp},
	{Name: benchConnect10k, Scenario: loadgen.ScenarioConnect, Conns: 10000, Ramp: loadgen.DefaultRamp,
		Duration: 5 * time.Second},
}

// quickScenario cuts a workload down for a smoke run: a tenth of the
// connections (and of the echo rate, so the load per connection stays the
// same), 2 s of measurement after a 0.5 s warm-up.
func quickScenario(s benchScenario) benchScenario {
	s.Conns = max(s.Conns/10, 1)
	if s.Scenario == loadgen.ScenarioEcho {
		s.Rate /= 10
	}
	s.Duration = 2 * time.Second
	if s.Warmup > 0 {
		s.Warmup = 500 * time.Millisecond
	}
	return s
}

// benchOptions are the parsed flags of `wsharness bench`.
type benchOptions struct {
	targets   []string
	runs      int
	out       string
	k6        string // path to the k6 binary; "" = no k6 comparison
	k6Target  string
	k6Conns   int // 0 = echo-closed's connections
	quick     bool
	scenarios []string // nil = all
}

// benchJob is one run of one workload against one target, in its own
// target process.
type benchJob struct {
	run      int // 1-based
	target   string
	scenario benchScenario
}

func (j benchJob) k6() bool { return j.scenario.Name == benchK6 }

// file is the job's result file name inside the output directory.
func (j benchJob) file() string {
	return fmt.Sprintf("%s-%s-%d.json", j.target, j.scenario.Name, j.run)
}

const maxBenchRuns = 50

// parseBenchFlags parses and checks the flags; it starts nothing.
func parseBenchFlags(args []string, stderr io.Writer) (benchOptions, error) {
	fs := newFlags("bench", "[--targets gorilla,gobwas,gws] [--runs N] [--out DIR] [--k6 PATH] [--quick]", stderr)
	targetList := fs.String("targets", "gorilla,gobwas,gws", "comma-separated reference targets, each started in its own process for every run")
	runs := fs.Int("runs", 3, "runs of every workload per target (--quick: 1 unless given)")
	out := fs.String("out", "out/bench", "directory for the per-run JSON results and summary.md")
	k6 := fs.String("k6", "", "k6 binary for the generator comparison (skipped with a message if absent)")
	k6Target := fs.String("k6-target", "", "target of the k6 comparison (default: the first of --targets)")
	k6Conns := fs.Int("k6-conns", 0, "sockets for the k6 comparison (default: echo-closed's connections; lower it if k6 cannot hold them)")
	quick := fs.Bool("quick", false, "smoke run: a tenth of the connections, 2 s per workload")
	scenarioList := fs.String("scenarios", "", "comma-separated workloads to run (default all: "+strings.Join(scenarioNames(), ", ")+")")
	if err := parse(fs, args); err != nil {
		return benchOptions{}, err
	}
	if fs.NArg() > 0 {
		return benchOptions{}, usageError("unexpected arguments: %v", fs.Args())
	}
	o := benchOptions{runs: *runs, out: *out, k6: *k6, k6Target: *k6Target, k6Conns: *k6Conns, quick: *quick}
	if o.quick && !flagSet(fs, "runs") {
		o.runs = 1
	}
	var err error
	if o.targets, err = splitList(*targetList); err != nil {
		return o, usageError("--targets: %v", err)
	}
	if *scenarioList != "" {
		if o.scenarios, err = splitList(*scenarioList); err != nil {
			return o, usageError("--scenarios: %v", err)
		}
	}
	return o, o.validate()
}

func scenarioNames() []string {
	var names []string
	for _, s := range standardScenarios {
		names = append(names, s.Name)
	}
	return names
}

// splitList splits a comma-separated list, refusing empty lists and
// repeated names.
func splitList(s string) ([]string, error) {
	var out []string
	for _, f := range strings.Split(s, ",") {
		f = strings.TrimSpace(f)
		if f == "" {
			continue
		}
		if slices.Contains(out, f) {
			return nil, fmt.Errorf("%q given twice", f)
		}
		out = append(out, f)
	}
	if len(out) == 0 {
		return nil, errors.New("empty list")
	}
	return out, nil
}

func (o benchOptions) validate() error {
	var errs []string
	for _, t := range o.targets {
		if _, err := targets.Lookup(t); err != nil {
			errs = append(errs, fmt.Sprintf("--targets: %v", err))
		}
	}
	for _, s := range o.scenarios {
		if !slices.Contains(scenarioNames(), s) {
			errs = append(errs, fmt.Sprintf("--scenarios: unknown workload %q (want %s)", s, strings.Join(scenarioNames(), ", ")))
		}
	}
	if o.runs < 1 || o.runs > maxBenchRuns {
		errs = append(errs, fmt.Sprintf("--runs %d: want 1 to %d", o.runs, maxBenchRuns))
	}
	if strings.TrimSpace(o.out) == "" {
		errs = append(errs, "--out: want a directory")
	}
	if o.k6Target != "" && !slices.Contains(o.targets, o.k6Target) {
		errs = append(errs, fmt.Sprintf("--k6-target %q: not one of --targets (%s)", o.k6Target, strings.Join(o.targets, ",")))
	}
	if o.k6Conns < 0 {
		errs = append(errs, fmt.Sprintf("--k6-conns %d: want 0 (echo-closed's) or more", o.k6Conns))
	}
	if o.k6 == "" && (o.k6Target != "" || o.k6Conns != 0) {
		errs = append(errs, "--k6-target and --k6-conns need --k6")
	}
	if len(errs) > 0 {
		return usageError("%s", strings.Join(errs, "; "))
	}
	return nil
}

// planBench lists the jobs in the order they run: run-major, so that a
// change in the machine's background load during the bench spreads over
// all targets instead of hitting one. With k6, the k6 target's list gets
// the k6 echo right after its closed-loop echo (and a closed-loop echo at
// k6's socket count first, when that differs from echo-closed's).
func planBench(o benchOptions, withK6 bool) []benchJob {
	var scenarios []benchScenario
	for _, s := range standardScenarios {
		if o.scenarios != nil && !slices.Contains(o.scenarios, s.Name) {
			continue
		}
		if o.quick {
			s = quickScenario(s)
		}
		scenarios = append(scenarios, s)
	}
	var k6Pair []benchScenario
	k6Target := o.k6Target
	if withK6 {
		if k6Target == "" {
			k6Target = o.targets[0]
		}
		closed := standardScenarios[1]
		if o.quick {
			closed = quickScenario(closed)
		}
		conns := o.k6Conns
		if conns == 0 {
			conns = closed.Conns
		}
		selected := o.scenarios == nil || slices.Contains(o.scenarios, benchEchoClosed)
		if !selected || conns != closed.Conns {
			own := closed
			own.Name, own.Conns = benchEchoClosedK6, conns
			k6Pair = append(k6Pair, own)
		}
		k6 := closed
		k6.Name, k6.Conns = benchK6, conns
		k6Pair = append(k6Pair, k6)
	}
	var jobs []benchJob
	for run := 1; run <= o.runs; run++ {
		for _, t := range o.targets {
			pairDone := t != k6Target || len(k6Pair) == 0
			for _, s := range scenarios {
				jobs = append(jobs, benchJob{run: run, target: t, scenario: s})
				if s.Name == benchEchoClosed && !pairDone {
					for _, p := range k6Pair {
						jobs = append(jobs, benchJob{run: run, target: t, scenario: p})
					}
					pairDone = true
				}
			}
			if !pairDone {
				for _, p := range k6Pair {
					jobs = append(jobs, benchJob{run: run, target: t, scenario: p})
				}
			}
		}
	}
	return jobs
}

func runBench(args []string, stdout, stderr io.Writer) error {
	o, err := parseBenchFlags(args, stderr)
	if err != nil {
		return err
	}
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer stop()
	go func() {
		<-ctx.Done()
		stop() // a second signal ends the process at once
	}()

	k6Version := ""
	if o.k6 != "" {
		k6Version, err = checkK6(ctx, o.k6)
		if err != nil {
			fmt.Fprintf(stderr, "bench: k6 comparison skipped: %v\n", err)
		}
	}
	jobs := planBench(o, k6Version != "")
	if err := os.MkdirAll(o.out, 0o755); err != nil {
		return fmt.Errorf("create %s: %w", o.out, err)
	}
	b := &bench{opts: o, out: o.out, stderr: stderr, k6Version: k6Version, started: time.Now(), loadStart: loadAverage()}
	workloads := map[string]bool{}
	for _, j := range jobs {
		workloads[j.scenario.Name] = true
	}
	fmt.Fprintf(stderr, "bench: %d jobs (%s × %s × %d workloads), results in %s; load average %s\n",
		len(jobs), strings.Join(o.targets, ","), plural(o.runs, "run"), len(workloads), o.out, b.loadStart)
	for i, j := range jobs {
		if ctx.Err() != nil {
			break
		}
		if i > 0 {
			// Let the previous target's sockets close and the machine settle.
			select {
			case <-time.After(benchPause(o.quick)):
			case <-ctx.Done():
			}
		}
		prefix := fmt.Sprintf("[%*d/%d] run %d/%d %-8s %-15s", len(strconv.Itoa(len(jobs))), i+1, len(jobs), j.run, o.runs, j.target, j.scenario.Name)
		t0 := time.Now()
		var line string
		var err error
		if j.k6() {
			line, err = b.runK6Job(ctx, j)
		} else {
			line, err = b.runLoadJob(ctx, j)
		}
		if err != nil {
			if ctx.Err() != nil {
				fmt.Fprintf(stderr, "%s interrupted\n", prefix)
				break
			}
			b.failures = append(b.failures, fmt.Sprintf("run %d %s %s: %v", j.run, j.target, j.scenario.Name, err))
			fmt.Fprintf(stderr, "%s FAILED: %v\n", prefix, err)
			continue
		}
		fmt.Fprintf(stderr, "%s %s (%.1fs)\n", prefix, line, time.Since(t0).Seconds())
	}
	b.loadEnd = loadAverage()
	summary := b.summary(args, ctx.Err() != nil)
	path := filepath.Join(o.out, "summary.md")
	if err := os.WriteFile(path, summary, 0o644); err != nil {
		return fmt.Errorf("write summary: %w", err)
	}
	_, _ = stdout.Write(summary)
	fmt.Fprintf(stdout, "\nsummary: %s (bench took %s)\n", path, time.Since(b.started).Round(time.Second))
	switch {
	case ctx.Err() != nil:
		return &exitError{code: exitInterrupted, err: errors.New("interrupted; the summary covers the finished runs")}
	case len(b.failures) > 0:
		return &exitError{code: exitInternal, err: fmt.Errorf("%d of %d jobs failed", len(b.failures), len(jobs))}
	}
	return nil
}

func benchPause(quick bool) time.Duration {
	if quick {
		return 200 * time.Millisecond
	}
	return time.Second
}

// bench is the state of one bench invocation.
type bench struct {
	opts      benchOptions
	out       string
	stderr    io.Writer
	k6Version string
	started   time.Time
	loadStart string
	loadEnd   string

	results  []*loadgen.Result
	pairs    map[int]*k6Pair // by run
	failures []string
}

// k6Pair is one run's generator comparison: k6 and wsharness on the same
// closed-loop echo against the same target.
type k6Pair struct {
	wsh *loadgen.Result
	k6  *k6Result
}

func (b *bench) pair(run int) *k6Pair {
	if b.pairs == nil {
		b.pairs = map[int]*k6Pair{}
	}
	if b.pairs[run] == nil {
		b.pairs[run] = &k6Pair{}
	}
	return b.pairs[run]
}

// jobTimeout bounds one job: it should end by itself well before.
func jobTimeout(s benchScenario) time.Duration {
	ramp := time.Duration(0)
	if s.Ramp > 0 {
		ramp = time.Duration(float64(s.Conns) / s.Ramp * float64(time.Second))
	}
	return ramp + s.Warmup + s.Duration + loadgen.DefaultDrain + 2*time.Minute
}

func (b *bench) runLoadJob(ctx context.Context, j benchJob) (string, error) {
	s := j.scenario
	srv, err := startTargetProcess(ctx, j.target, s.Scenario)
	if err != nil {
		return "", err
	}
	defer srv.stop()
	cfg := loadgen.Config{
		Scenario: s.Scenario, URL: srv.url, Target: j.target, Conns: s.Conns, Rate: s.Rate, Size: s.Size,
		Duration: s.Duration, Warmup: s.Warmup, RampPerS: s.Ramp, Senders: 1, ServerPID: srv.pid,
	}
	jobCtx, cancel := context.WithTimeout(ctx, jobTimeout(s))
	defer cancel()
	res, err := loadgen.Run(jobCtx, cfg)
	if err != nil {
		return "", err
	}
	if res.Interrupted {
		if ctx.Err() != nil {
			return "", ctx.Err()
		}
		return "", fmt.Errorf("did not finish within %s", jobTimeout(s))
	}
	data, err := loadgen.Marshal(res)
	if err != nil {
		return "", err
	}
	if err := os.WriteFile(filepath.Join(b.out, j.file()), data, 0o644); err != nil {
		return "", fmt.Errorf("write result: %w", err)
	}
	switch s.Name {
	case benchEchoClosedK6:
		b.pair(j.run).wsh = res
		return progressLine(res), nil // kept out of the main table: it duplicates a workload at another size
	case benchEchoClosed:
		if j.target == b.k6TargetName() {
			if p := b.pair(j.run); p.wsh == nil {
				p.wsh = res
			}
		}
	}
	b.results = append(b.results, res)
	return progressLine(res), nil
}

func (b *bench) k6TargetName() string {
	if b.opts.k6Target != "" {
		return b.opts.k6Target
	}
	return b.opts.targets[0]
}

// progressLine is the one line printed when a run ends.
func progressLine(r *loadgen.Result) string {
	var parts []string
	add := func(format string, args ...any) { parts = append(parts, fmt.Sprintf(format, args...)) }
	switch r.Scenario {
	case loadgen.ScenarioEcho:
		add("%s replies/s", thousandsF(r.ThroughputPerS))
		if p := r.LatencyUS; p != nil {
			add("p50 %s p99 %s p99.9 %s", reports.FormatMicros(float64(p.P50)), reports.FormatMicros(float64(p.P99)), reports.FormatMicros(float64(p.P999)))
		}
		if m := r.Messages; m != nil {
			add("lost %d errors %d", m.Lost, m.Errors)
		}
	case loadgen.ScenarioBroadcast:
		add("%s deliveries/s", thousandsF(r.ThroughputPerS))
		if p := r.FanoutLatencyUS; p != nil {
			add("fan-out p99 %s", reports.FormatMicros(float64(p.P99)))
		}
		if p := r.FanoutCompletionUS; p != nil {
			add("completion p99 %s", reports.FormatMicros(float64(p.P99)))
		}
		if r.DeliveryRatio != nil {
			add("delivery %.5f", *r.DeliveryRatio)
		}
	case loadgen.ScenarioConnect:
		add("%d/%d established", r.Connections.Established, r.Connections.Target)
		if p := r.ConnectLatencyUS; p != nil {
			add("p99 %s", reports.FormatMicros(float64(p.P99)))
		}
		if v, lower, ok := reports.ConnectRate(r); ok {
			ge := ""
			if lower {
				ge = "≥"
			}
			add("%s%s conns/s", ge, thousandsF(v))
		}
	}
	if r.Connections.Failed > 0 || r.Connections.Dropped > 0 {
		add("conns failed %d dropped %d", r.Connections.Failed, r.Connections.Dropped)
	}
	if s := r.Server; s != nil {
		add("server %.2fs CPU %.0f MiB", s.CPUSeconds, float64(s.RSSBytesMax)/(1<<20))
	}
	return strings.Join(parts, ", ")
}

func thousandsF(v float64) string {
	n := strconv.FormatInt(int64(math.Round(v)), 10)
	var out []byte
	for i := range n {
		if i > 0 && (len(n)-i)%3 == 0 && n[i-1] != '-' {
			out = append(out, ',')
		}
		out = append(out, n[i])
	}
	return string(out)
}

func plural(n int, word string) string {
	if n == 1 {
		return "1 " + word
	}
	return strconv.Itoa(n) + " " + word + "s"
}

// loadAverage returns the 1-, 5- and 15-minute load averages as
// /proc/loadavg gives them.
func loadAverage() string {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return "unknown"
	}
	f := strings.Fields(string(b))
	if len(f) < 3 {
		return "unknown"
	}
	return strings.Join(f[:3], " ")
}

// ---- k6 ----

// k6Result is what one k6 run of bench/k6/echo.js measured.
type k6Result struct {
	Target     string `json:"target"`
	Run        int    `json:"run"`
	URL        string `json:"url"`
	K6Version  string `json:"k6_version"`
	Conns      int    `json:"conns"` // virtual users = sockets asked for
	Size       int    `json:"size"`
	DurationMS int64  `json:"duration_ms"`
	WarmupMS   int64  `json:"warmup_ms"`

	SocketsOpened     int64 `json:"sockets_opened"`
	SocketsOpenedLate int64 `json:"sockets_opened_late"` // opened after the measured window began
	SocketErrors      int64 `json:"socket_errors"`
	// RepliesMeasured counts replies inside the measured window;
	// ThroughputPerS divides it by the window.
	RepliesMeasured int64   `json:"replies_measured"`
	ThroughputPerS  float64 `json:"throughput_per_s"`
	// k6's own counters over the whole test, and its ws_msgs_received
	// rate (count over the test's whole duration, connecting included).
	MsgsSent         int64   `json:"ws_msgs_sent"`
	MsgsReceived     int64   `json:"ws_msgs_received"`
	MsgsReceivedRate float64 `json:"ws_msgs_received_rate"`

	PeakRSSBytes int64   `json:"peak_rss_bytes"` // VmHWM of the k6 process
	CPUSeconds   float64 `json:"cpu_seconds"`
	// CPUPerMessageUS is k6's CPU time over all the messages it sent and
	// received.
	CPUPerMessageUS float64 `json:"cpu_per_message_us"`
	ExitCode        int     `json:"exit_code"`
	Summary         string  `json:"summary"` // k6's handleSummary JSON
	Log             string  `json:"log"`
}

// checkK6 makes sure path runs and returns its version line.
func checkK6(ctx context.Context, path string) (string, error) {
	if _, err := os.Stat(path); err != nil {
		return "", fmt.Errorf("no k6 binary at %s (build it with 'make out/tools/k6')", path)
	}
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	out, err := exec.CommandContext(ctx, path, "version").Output()
	if err != nil {
		return "", fmt.Errorf("%s version: %v", path, err)
	}
	line, _, _ := strings.Cut(strings.TrimSpace(string(out)), "\n")
	return line, nil
}

// k6Script finds bench/k6/echo.js: next to the working directory (make
// bench runs from the repository root) or up from the executable.
func k6Script() (string, error) {
	candidates := []string{filepath.Join("bench", "k6", "echo.js")}
	if exe, err := os.Executable(); err == nil {
		dir := filepath.Dir(exe)
		for range 4 {
			candidates = append(candidates, filepath.Join(dir, "bench", "k6", "echo.js"))
			dir = filepath.Dir(dir)
		}
	}
	for _, c := range candidates {
		if _, err := os.Stat(c); err == nil {
			return filepath.Abs(c)
		}
	}
	return "", errors.New("bench/k6/echo.js not found (run from the repository root)")
}

func (b *bench) runK6Job(ctx context.Context, j benchJob) (string, error) {
	s := j.scenario
	script, err := k6Script()
	if err != nil {
		return "", err
	}
	srv, err := startTargetProcess(ctx, j.target, loadgen.ScenarioEcho)
	if err != nil {
		return "", err
	}
	defer srv.stop()
	if !strings.HasPrefix(srv.url, "ws://127.0.0.1:") {
		return "", fmt.Errorf("target URL %s is not on 127.0.0.1; k6 only talks to loopback", srv.url)
	}
	base := strings.TrimSuffix(j.file(), ".json")
	summaryPath, err := filepath.Abs(filepath.Join(b.out, base+"-summary.json"))
	if err != nil {
		return "", err
	}
	logPath := filepath.Join(b.out, base+".log")
	_ = os.Remove(summaryPath)
	logFile, err := os.Create(logPath)
	if err != nil {
		return "", err
	}
	defer logFile.Close()
	// Time for every socket to open before the warm-up starts: the same
	// pace wsharness dials at, plus a second.
	openS := math.Ceil(float64(s.Conns)/s.Ramp) + 1
	jobCtx, cancel := context.WithTimeout(ctx, jobTimeout(s)+time.Duration(openS)*time.Second)
	defer cancel()
	cmd := exec.CommandContext(jobCtx, b.opts.k6, "run", "--quiet", "--no-usage-report", "--no-color", script)
	cmd.Env = append(os.Environ(),
		"K6_NO_USAGE_REPORT=true",
		"WS_URL="+srv.url,
		"CONNS="+strconv.Itoa(s.Conns),
		"SIZE="+strconv.Itoa(s.Size),
		"DURATION_S="+strconv.FormatFloat(s.Duration.Seconds(), 'f', -1, 64),
		"WARMUP_S="+strconv.FormatFloat(s.Warmup.Seconds(), 'f', -1, 64),
		"OPEN_S="+strconv.FormatFloat(openS, 'f', -1, 64),
		"SUMMARY="+summaryPath,
	)
	cmd.Stdout, cmd.Stderr = logFile, logFile
	cmd.Cancel = func() error { return cmd.Process.Signal(syscall.SIGTERM) }
	cmd.WaitDelay = 10 * time.Second
	if err := cmd.Start(); err != nil {
		return "", fmt.Errorf("start k6: %w", err)
	}
	// Sample the k6 process: CPU, and its own peak RSS (VmHWM), which only
	// grows, so the last successful read is the peak.
	sampler := procstat.Start(cmd.Process.Pid, 250*time.Millisecond)
	hwmDone := make(chan int64)
	stopHWM := make(chan struct{})
	go func() {
		var peak int64
		t := time.NewTicker(200 * time.Millisecond)
		defer t.Stop()
		for {
			if v, err := procstat.PeakRSS(cmd.Process.Pid); err == nil {
				peak = max(peak, v)
			}
			select {
			case <-stopHWM:
				hwmDone <- peak
				return
			case <-t.C:
			}
		}
	}()
	waitErr := cmd.Wait()
	close(stopHWM)
	peak := <-hwmDone
	cpu, _, _, _ := sampler.Stop()
	// The kernel's own accounting of the finished child is exact; prefer it.
	if st := cmd.ProcessState; st != nil {
		if ru, ok := st.SysUsage().(*syscall.Rusage); ok {
			peak = max(peak, ru.Maxrss*1024)
			cpu = max(cpu, time.Duration(ru.Utime.Nano()+ru.Stime.Nano()).Seconds())
		}
	}
	if ctx.Err() != nil {
		return "", ctx.Err()
	}
	res := &k6Result{
		Target: j.target, Run: j.run, URL: srv.url, K6Version: b.k6Version, Conns: s.Conns, Size: s.Size,
		DurationMS: s.Duration.Milliseconds(), WarmupMS: s.Warmup.Milliseconds(),
		PeakRSSBytes: peak, CPUSeconds: cpu, Summary: summaryPath, Log: logPath,
	}
	if cmd.ProcessState != nil {
		res.ExitCode = cmd.ProcessState.ExitCode()
	}
	summary, err := os.ReadFile(summaryPath)
	if err != nil {
		return "", fmt.Errorf("k6 wrote no summary (exit %v; see %s)", waitErr, logPath)
	}
	if err := res.readSummary(summary); err != nil {
		return "", fmt.Errorf("%s: %w", summaryPath, err)
	}
	data, err := json.MarshalIndent(res, "", "  ")
	if err != nil {
		return "", err
	}
	if err := os.WriteFile(filepath.Join(b.out, j.file()), append(data, '\n'), 0o644); err != nil {
		return "", fmt.Errorf("write k6 result: %w", err)
	}
	if waitErr != nil {
		return "", fmt.Errorf("k6 exited with %v (see %s)", waitErr, logPath)
	}
	b.pair(j.run).k6 = res
	line := fmt.Sprintf("%s replies/s, %d/%d sockets opened", thousandsF(res.ThroughputPerS), res.SocketsOpened, res.Conns)
	if res.SocketsOpenedLate > 0 || res.SocketErrors > 0 {
		line += fmt.Sprintf(" (%d late, %d errors)", res.SocketsOpenedLate, res.SocketErrors)
	}
	line += fmt.Sprintf(", k6 peak RSS %.0f MiB, %.2fs CPU", float64(res.PeakRSSBytes)/(1<<20), res.CPUSeconds)
	return line, nil
}

// readSummary takes the figures out of k6's handleSummary JSON.
func (r *k6Result) readSummary(data []byte) error {
	var s struct {
		Metrics map[string]struct {
			Values map[string]float64 `json:"values"`
		} `json:"metrics"`
	}
	if err := json.Unmarshal(data, &s); err != nil {
		return fmt.Errorf("decode k6 summary: %w", err)
	}
	value := func(metric, key string) (float64, bool) {
		m, ok := s.Metrics[metric]
		if !ok {
			return 0, false
		}
		v, ok := m.Values[key]
		return v, ok
	}
	measured, ok := value("wsh_echo_measured", "count")
	if !ok {
		// A counter that was never added to is absent from the summary.
		if _, any := value("ws_msgs_received", "count"); !any {
			return errors.New("no wsh_echo_measured or ws_msgs_received in the summary: did the script run?")
		}
	}
	count := func(metric string) int64 { v, _ := value(metric, "count"); return int64(v) }
	r.RepliesMeasured = int64(measured)
	r.SocketsOpened = count("wsh_sockets_opened")
	r.SocketsOpenedLate = count("wsh_sockets_opened_late")
	r.SocketErrors = count("wsh_socket_errors")
	r.MsgsSent = count("ws_msgs_sent")
	r.MsgsReceived = count("ws_msgs_received")
	r.MsgsReceivedRate, _ = value("ws_msgs_received", "rate")
	if r.DurationMS > 0 {
		r.ThroughputPerS = math.Round(float64(r.RepliesMeasured)/(float64(r.DurationMS)/1000)*10) / 10
	}
	if n := r.MsgsSent + r.MsgsReceived; n > 0 && r.CPUSeconds > 0 {
		r.CPUPerMessageUS = r.CPUSeconds * 1e6 / float64(n)
	}
	return nil
}

// wshMessagesTotal counts every message a wsharness echo run sent and
// received, warm-up and drain included, to divide the whole run's CPU
// time the way it is done for k6.
func wshMessagesTotal(r *loadgen.Result) int64 {
	if r.Messages == nil {
		return 0
	}
	m := r.Messages
	return m.Sent + m.WarmupSent + m.Received + m.NotMeasured
}

// k6Comparison renders the generator comparison: medians over runs of
// each side, and the median of the per-run ratios (each run pairs the two
// generators against the same target minutes apart).
func k6Comparison(pairs map[int]*k6Pair, version string) []byte {
	var runs []int
	for run, p := range pairs {
		if p.wsh != nil && p.k6 != nil {
			runs = append(runs, run)
		}
	}
	slices.Sort(runs)
	var b bytes.Buffer
	if len(runs) == 0 {
		return nil
	}
	first := pairs[runs[0]]
	fmt.Fprintf(&b, "Closed-loop echo, %d sockets, %d B text, %s measured after a %s warm-up, against %s (a fresh target process per generator and run); %s.\n\n",
		first.k6.Conns, first.k6.Size, time.Duration(first.k6.DurationMS)*time.Millisecond,
		time.Duration(first.k6.WarmupMS)*time.Millisecond, first.k6.Target, version)
	var wTP, kTP, rTP, wRSS, kRSS, rRSS, wCPU, kCPU []float64
	opened := []float64{}
	for _, run := range runs {
		p := pairs[run]
		wTP = append(wTP, p.wsh.ThroughputPerS)
		kTP = append(kTP, p.k6.ThroughputPerS)
		if p.k6.ThroughputPerS > 0 {
			rTP = append(rTP, p.wsh.ThroughputPerS/p.k6.ThroughputPerS)
		}
		wRSS = append(wRSS, float64(p.wsh.Client.RSSBytesMax))
		kRSS = append(kRSS, float64(p.k6.PeakRSSBytes))
		if p.k6.PeakRSSBytes > 0 {
			rRSS = append(rRSS, float64(p.wsh.Client.RSSBytesMax)/float64(p.k6.PeakRSSBytes))
		}
		if n := wshMessagesTotal(p.wsh); n > 0 {
			wCPU = append(wCPU, p.wsh.Client.CPUSeconds*1e6/float64(n))
		}
		if p.k6.CPUPerMessageUS > 0 {
			kCPU = append(kCPU, p.k6.CPUPerMessageUS)
		}
		opened = append(opened, float64(p.k6.SocketsOpened))
	}
	med := func(vs []float64, f func(float64) string) string {
		if len(vs) == 0 {
			return "—"
		}
		return f(reports.Median(vs))
	}
	rate := func(v float64) string { return thousandsF(v) + "/s" }
	mib := func(v float64) string { return fmt.Sprintf("%.1f MiB", v/(1<<20)) }
	us := func(v float64) string { return fmt.Sprintf("%.1f µs", v) }
	ratio := func(v float64) string { return fmt.Sprintf("%.2f", v) }
	b.WriteString("| | wsharness | k6 | wsharness ÷ k6 |\n|---|--:|--:|--:|\n")
	fmt.Fprintf(&b, "| echo replies/s (measured window) | %s | %s | %s |\n", med(wTP, rate), med(kTP, rate), med(rTP, ratio))
	fmt.Fprintf(&b, "| client peak RSS | %s | %s | %s |\n", med(wRSS, mib), med(kRSS, mib), med(rRSS, ratio))
	fmt.Fprintf(&b, "| client CPU per message (whole run) | %s | %s | |\n", med(wCPU, us), med(kCPU, us))
	fmt.Fprintf(&b, "| sockets open | %d | %s of %d | |\n", first.wsh.Connections.Established, med(opened, func(v float64) string { return strconv.Itoa(int(v)) }), first.k6.Conns)
	fmt.Fprintf(&b, "\nMedians over %s; the ratios are the medians of the per-run ratios. Per run (wsharness/k6 replies/s): ", plural(len(runs), "run"))
	for i, run := range runs {
		if i > 0 {
			b.WriteString(", ")
		}
		p := pairs[run]
		fmt.Fprintf(&b, "%s/%s", thousandsF(p.wsh.ThroughputPerS), thousandsF(p.k6.ThroughputPerS))
	}
	b.WriteString(". Peak RSS is each generator process's VmHWM (wsharness: the bench process, its peak counter reset before the run). " +
		"CPU per message divides each process's CPU time over the whole run by every message it sent and received.\n")
	return b.Bytes()
}

// summary renders summary.md: machine, command, the comparison table, the
// k6 comparison and any failures.
func (b *bench) summary(args []string, interrupted bool) []byte {
	var s bytes.Buffer
	s.WriteString("# wsharness bench\n\n")
	tw := tabwriter.NewWriter(&s, 0, 0, 1, ' ', 0)
	fmt.Fprintf(tw, "- date:\t%s\n", b.started.UTC().Format(time.RFC3339))
	fmt.Fprintf(tw, "- command:\twsharness bench %s\n", strings.Join(args, " "))
	fmt.Fprintf(tw, "- machine:\t%s\n", machineLine())
	fmt.Fprintf(tw, "- load average:\t%s at the start, %s at the end (1, 5, 15 min)\n", b.loadStart, b.loadEnd)
	fmt.Fprintf(tw, "- wall time:\t%s\n", time.Since(b.started).Round(time.Second))
	_ = tw.Flush()
	if interrupted {
		s.WriteString("\n**Interrupted**: the figures cover the runs that finished.\n")
	}
	s.WriteString("\n## Targets compared\n\n")
	s.Write(reports.LoadComparison(b.results))
	if b.opts.k6 != "" {
		s.WriteString("\n## wsharness and k6 on the same echo workload\n\n")
		if c := k6Comparison(b.pairs, b.k6Version); c != nil {
			s.Write(c)
		} else if b.k6Version == "" {
			fmt.Fprintf(&s, "Skipped: no usable k6 at %s.\n", b.opts.k6)
		} else {
			s.WriteString("No complete k6/wsharness pair (see the failures below).\n")
		}
	}
	if len(b.failures) > 0 {
		s.WriteString("\n## Failures\n\n")
		for _, f := range b.failures {
			fmt.Fprintf(&s, "- %s\n", f)
		}
	}
	return s.Bytes()
}

// machineLine describes the machine the bench ran on.
func machineLine() string {
	parts := []string{fmt.Sprintf("%d CPUs", runtime.NumCPU())}
	if b, err := os.ReadFile("/proc/meminfo"); err == nil {
		for line := range strings.Lines(string(b)) {
			if f := strings.Fields(line); len(f) >= 2 && f[0] == "MemTotal:" {
				if kb, err := strconv.ParseFloat(f[1], 64); err == nil {
					parts = append(parts, fmt.Sprintf("%.1f GiB memory", kb/(1<<20)))
				}
			}
		}
	}
	if b, err := os.ReadFile("/proc/sys/kernel/osrelease"); err == nil {
		parts = append(parts, "Linux "+strings.TrimSpace(string(b)))
	}
	parts = append(parts, runtime.Version())
	return strings.Join(parts, ", ")
}
