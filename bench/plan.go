package bench

import (
	"cmp"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/wsharness/wsharness/loadgen"
	"github.com/wsharness/wsharness/targets"
)

// Workload is one standard workload: a load generator scenario and its
// parameters.
type Workload struct {
	Name     string
	Scenario string // loadgen.ScenarioEcho, ScenarioBroadcast or ScenarioConnect
	Conns    int
	Rate     float64 // echo: messages/s in total, 0 = closed loop; broadcast: broadcasts/s
	Size     int
	Duration time.Duration // connect: how long to hold
	Warmup   time.Duration
	Ramp     float64 // connections opened per second
}

// Standard workload names.
const (
	echoRate    = "echo-rate"
	echoClosed  = "echo-closed"
	broadcast1k = "broadcast-1k"
	broadcast5k = "broadcast-5k"
	connect10k  = "connect-10k"
	// echoClosedK6 is the closed-loop echo at the k6 socket count,
	// planned only when that differs from echo-closed's.
	echoClosedK6 = "echo-closed-k6"
	// k6Echo is k6 running the closed-loop echo.
	k6Echo = "k6-echo"
)

// The standard workloads. The parameters were chosen by measuring this
// 2-core machine (docs/benchmarks.md explains each choice): 4,000 msg/s
// is about a quarter of the slowest target's closed-loop ceiling at 1,000
// connections, so every target sustains it without loss; both broadcast
// workloads deliver 10,000 messages/s (1,000 receivers × 10/s and 5,000 ×
// 2/s), which all three targets sustain, while 5,000 × 5/s already queues
// for seconds.
var standardWorkloads = []Workload{
	{Name: echoRate, Scenario: loadgen.ScenarioEcho, Conns: 1000, Rate: 4000, Size: loadgen.DefaultSize,
		Duration: 10 * time.Second, Warmup: 2 * time.Second, Ramp: loadgen.DefaultRamp},
	{Name: echoClosed, Scenario: loadgen.ScenarioEcho, Conns: 1000, Rate: 0, Size: loadgen.DefaultSize,
		Duration: 10 * time.Second, Warmup: 2 * time.Second, Ramp: loadgen.DefaultRamp},
	{Name: broadcast1k, Scenario: loadgen.ScenarioBroadcast, Conns: 1000, Rate: 10, Size: loadgen.DefaultSize,
		Duration: 10 * time.Second, Warmup: 2 * time.Second, Ramp: loadgen.DefaultRamp},
	{Name: broadcast5k, Scenario: loadgen.ScenarioBroadcast, Conns: 5000, Rate: 2, Size: loadgen.DefaultSize,
		Duration: 10 * time.Second, Warmup: 2 * time.Second, Ramp: loadgen.DefaultRamp},
	{Name: connect10k, Scenario: loadgen.ScenarioConnect, Conns: 10000, Ramp: loadgen.DefaultRamp,
		Duration: 5 * time.Second},
}

// Workloads returns the names of the standard workloads in the order they
// run.
func Workloads() []string {
	var names []string
	for _, w := range standardWorkloads {
		names = append(names, w.Name)
	}
	return names
}

// quickWorkload cuts a workload down for a smoke run: a tenth of the
// connections (and of the echo rate, so the load per connection stays the
// same), 2 s of measurement after a 0.5 s warm-up.
func quickWorkload(w Workload) Workload {
	w.Conns = max(w.Conns/10, 1)
	if w.Scenario == loadgen.ScenarioEcho {
		w.Rate /= 10
	}
	w.Duration = 2 * time.Second
	if w.Warmup > 0 {
		w.Warmup = 500 * time.Millisecond
	}
	return w
}

// MaxRuns bounds Options.Runs.
const MaxRuns = 50

// Options describe one bench.
type Options struct {
	// Exe is the wsharness executable whose `serve` command starts each
	// target in its own process (see targets.StartProcess).
	Exe string
	// Targets are the targets to compare, in the order they run: built-in
	// reference targets (each started with Exe) and names from External.
	Targets []string
	// External are the external targets Targets may name, as loaded from
	// ExternalFile (targets.LoadExternal). Each is started per job with
	// External.Start and stopped after it.
	External []targets.External
	// ExternalFile is where External came from, for messages; "" = none.
	ExternalFile string
	// Runs is how often every workload runs against every target.
	Runs int
	// Out is the directory for the per-run results.
	Out string
	// K6 is the k6 binary for the generator comparison; "" = none.
	K6 string
	// K6Target is the target of the k6 comparison, a built-in one; "" =
	// the first built-in target of Targets.
	K6Target string
	// K6Conns is the k6 comparison's socket count; 0 = echo-closed's.
	K6Conns int
	// H2Target is the target of the HTTP/1.1 and HTTP/2 comparison
	// (h2.go), a built-in one serving both transports; "" = none.
	H2Target string
	// Quick cuts every workload down to a smoke run.
	Quick bool
	// Workloads selects standard workloads by name; nil = all.
	Workloads []string
	// Command is how the bench was invoked, for the summary.
	Command string
}

// Validate checks the options; it starts nothing. Its messages name the
// options by their `wsharness bench` flags.
func (o Options) Validate() error {
	var errs []string
	if len(o.Targets) == 0 {
		errs = append(errs, "--targets: empty list")
	}
	for i, t := range o.Targets {
		if ref, err := targets.Lookup(t); err == nil && targets.ServeRefusal(ref) != "" {
			errs = append(errs, fmt.Sprintf("--targets: %s", targets.ServeRefusal(ref)))
		} else if !isBuiltin(t) && o.external(t) == nil {
			errs = append(errs, fmt.Sprintf("--targets: %s", o.unknownTarget(t)))
		} else if slices.Contains(o.Targets[:i], t) {
			errs = append(errs, fmt.Sprintf("--targets: %q given twice", t))
		}
	}
	for i, w := range o.Workloads {
		if !slices.Contains(Workloads(), w) {
			errs = append(errs, fmt.Sprintf("--scenarios: unknown workload %q (want %s)", w, strings.Join(Workloads(), ", ")))
		} else if slices.Contains(o.Workloads[:i], w) {
			errs = append(errs, fmt.Sprintf("--scenarios: %q given twice", w))
		}
	}
	if o.Workloads != nil && len(o.Workloads) == 0 {
		errs = append(errs, "--scenarios: empty list")
	}
	if o.Runs < 1 || o.Runs > MaxRuns {
		errs = append(errs, fmt.Sprintf("--runs %d: want 1 to %d", o.Runs, MaxRuns))
	}
	if strings.TrimSpace(o.Out) == "" {
		errs = append(errs, "--out: want a directory")
	}
	if o.K6Target != "" && !slices.Contains(o.Targets, o.K6Target) {
		errs = append(errs, fmt.Sprintf("--k6-target %q: not one of --targets (%s)", o.K6Target, strings.Join(o.Targets, ",")))
	} else if o.K6Target != "" && !isBuiltin(o.K6Target) {
		errs = append(errs, fmt.Sprintf("--k6-target %q: an external target; the k6 comparison runs against a built-in (Go) target", o.K6Target))
	}
	if o.K6Conns < 0 {
		errs = append(errs, fmt.Sprintf("--k6-conns %d: want 0 (echo-closed's) or more", o.K6Conns))
	}
	if o.K6 == "" && (o.K6Target != "" || o.K6Conns != 0) {
		errs = append(errs, "--k6-target and --k6-conns need --k6")
	}
	if msg := checkH2Target(o.H2Target); msg != "" {
		errs = append(errs, msg)
	}
	if o.Exe == "" && (slices.ContainsFunc(o.Targets, isBuiltin) || o.H2Target != "") {
		errs = append(errs, "no wsharness executable to start the targets with")
	}
	if len(errs) > 0 {
		return errors.New(strings.Join(errs, "; "))
	}
	return nil
}

// k6TargetName is the target of the k6 comparison: K6Target, or the first
// built-in target; "" when Targets has none.
func (o Options) k6TargetName() string {
	if o.K6Target != "" {
		return o.K6Target
	}
	if i := slices.IndexFunc(o.Targets, isBuiltin); i >= 0 {
		return o.Targets[i]
	}
	return ""
}

// isBuiltin reports whether name is a built-in reference target's that a
// process of its own serves (targets.Servable): the ones a bench starts.
func isBuiltin(name string) bool {
	return slices.Contains(targets.Names(targets.Servable()), name)
}

// DefaultTargets are the targets a bench compares when none are named:
// the configured reference targets (targets.Configured), then every
// external target in file order that is not left out of benches.
func DefaultTargets(external []targets.External) []string {
	names := targets.Names(targets.Configured())
	for _, e := range external {
		if e.Spec.InBench() {
			names = append(names, e.Info().Name)
		}
	}
	return names
}

// external returns the external target called name; nil if none is.
func (o Options) external(name string) *targets.External {
	for i := range o.External {
		if o.External[i].Info().Name == name {
			return &o.External[i]
		}
	}
	return nil
}

// unknownTarget explains a name that is neither built-in nor external.
func (o Options) unknownTarget(name string) string {
	msg := fmt.Sprintf("unknown target %q (valid: %s", name, strings.Join(targets.Names(targets.Servable()), ", "))
	switch {
	case o.ExternalFile == "" && len(o.External) == 0:
		msg += " — no external targets file, see --external"
	case len(o.External) == 0:
		msg += " — none in " + o.ExternalFile
	default:
		var ext []string
		for _, e := range o.External {
			ext = append(ext, e.Info().Name)
		}
		msg += ", and from " + cmp.Or(o.ExternalFile, "the external targets") + ": " + strings.Join(ext, ", ")
	}
	return msg + ")"
}

// Skip is a target, or some of its workloads, left out of the bench, and
// why.
type Skip struct {
	Target string
	// Workloads are the workloads left out; nil = all of them.
	Workloads []string
	// Run is the run the skip applies to; 0 = every run.
	Run int
	// Reason is one line.
	Reason string
}

// String is the skip as one line, e.g. "node-ws: node not installed" or
// "php (broadcast-1k, broadcast-5k): no broadcast endpoint".
func (s Skip) String() string {
	var b strings.Builder
	if s.Run > 0 {
		fmt.Fprintf(&b, "run %d ", s.Run)
	}
	b.WriteString(s.Target)
	if len(s.Workloads) > 0 {
		b.WriteString(" (" + strings.Join(s.Workloads, ", ") + ")")
	}
	return b.String() + ": " + s.Reason
}

// oneLine keeps the first line of a message, trimmed.
func oneLine(s string) string {
	s, _, _ = strings.Cut(strings.TrimSpace(s), "\n")
	return strings.TrimSpace(s)
}

// checkExternals asks every external target among o.Targets whether it can
// run (External.Available: its runtimes are installed) and returns the
// reason for each that cannot, keyed by name.
func checkExternals(o Options) map[string]string {
	unavailable := map[string]string{}
	for _, name := range o.Targets {
		e := o.external(name)
		if e == nil {
			continue
		}
		if ok, reason := e.Available(); !ok {
			reason = oneLine(reason)
			if reason == "" {
				reason = "not available"
			}
			unavailable[name] = reason
		}
	}
	return unavailable
}

// unsupported says why target cannot run workload w, or "" when it can:
// an external target without a broadcast_url has no broadcast workloads,
// and one declaring max_connections none that needs more.
func (o Options) unsupported(target string, w Workload) string {
	e := o.external(target)
	switch {
	case e == nil:
		return ""
	case w.Scenario == loadgen.ScenarioBroadcast && e.Spec.BroadcastURL == "":
		return "no broadcast endpoint (broadcast_url) in its entry"
	case e.Spec.MaxConnections > 0 && w.Conns > e.Spec.MaxConnections:
		return fmt.Sprintf("needs %d connections; the entry declares max_connections %d", w.Conns, e.Spec.MaxConnections)
	}
	return ""
}

// Job is one run of one workload against one target, in its own target
// process.
type Job struct {
	Run      int // 1-based
	Target   string
	Workload Workload
}

// K6 reports whether k6, not wsharness, generates the job's load.
func (j Job) K6() bool { return j.Workload.Name == k6Echo }

// File is the job's result file name inside the output directory.
func (j Job) File() string {
	return fmt.Sprintf("%s-%s-%d.json", j.Target, j.Workload.Name, j.Run)
}

// Plan lists the jobs of valid options in the order they run: run-major,
// so that a change in the machine's background load during the bench
// spreads over all targets instead of hitting one. withK6 (a usable k6)
// gives the k6 target's list the k6 echo right after its closed-loop echo
// (and a closed-loop echo at k6's socket count first, when that differs
// from echo-closed's). An H2Target ends each run with the transport
// comparison's three jobs.
//
// unavailable names targets that cannot run, with the reason (see
// checkExternals): they get no jobs. Nor do workloads a target has no
// endpoint for. Both are returned as skips, in target order.
func Plan(o Options, withK6 bool, unavailable map[string]string) ([]Job, []Skip) {
	var workloads []Workload
	for _, w := range standardWorkloads {
		if o.Workloads != nil && !slices.Contains(o.Workloads, w.Name) {
			continue
		}
		if o.Quick {
			w = quickWorkload(w)
		}
		workloads = append(workloads, w)
	}
	var k6Pair []Workload
	k6Target := o.k6TargetName()
	if withK6 && k6Target != "" {
		closed := standardWorkloads[1]
		if o.Quick {
			closed = quickWorkload(closed)
		}
		conns := o.K6Conns
		if conns == 0 {
			conns = closed.Conns
		}
		selected := o.Workloads == nil || slices.Contains(o.Workloads, echoClosed)
		if !selected || conns != closed.Conns {
			own := closed
			own.Name, own.Conns = echoClosedK6, conns
			k6Pair = append(k6Pair, own)
		}
		k6 := closed
		k6.Name, k6.Conns = k6Echo, conns
		k6Pair = append(k6Pair, k6)
	}
	var skips []Skip
	runnable := map[string][]Workload{}
	for _, t := range o.Targets {
		if reason, ok := unavailable[t]; ok {
			skips = append(skips, Skip{Target: t, Reason: reason})
			continue
		}
		missing := map[string][]string{} // reason → workloads
		var reasons []string
		for _, w := range workloads {
			if reason := o.unsupported(t, w); reason != "" {
				if missing[reason] == nil {
					reasons = append(reasons, reason)
				}
				missing[reason] = append(missing[reason], w.Name)
				continue
			}
			runnable[t] = append(runnable[t], w)
		}
		for _, reason := range reasons {
			skips = append(skips, Skip{Target: t, Workloads: missing[reason], Reason: reason})
		}
	}
	var jobs []Job
	for run := 1; run <= o.Runs; run++ {
		for _, t := range o.Targets {
			if _, ok := unavailable[t]; ok {
				continue
			}
			pairDone := t != k6Target || len(k6Pair) == 0
			for _, w := range runnable[t] {
				jobs = append(jobs, Job{Run: run, Target: t, Workload: w})
				if w.Name == echoClosed && !pairDone {
					for _, p := range k6Pair {
						jobs = append(jobs, Job{Run: run, Target: t, Workload: p})
					}
					pairDone = true
				}
			}
			if !pairDone {
				for _, p := range k6Pair {
					jobs = append(jobs, Job{Run: run, Target: t, Workload: p})
				}
			}
		}
		if o.H2Target != "" {
			for _, w := range h2Workloads(o.Quick) {
				jobs = append(jobs, Job{Run: run, Target: o.H2Target, Workload: w})
			}
		}
	}
	return jobs, skips
}

// jobTimeout bounds one job. A target that keeps up ends well before:
// ramp, warm-up, measurement and drain. The bound also holds for a target
// that stalls or is overloaded (a single-threaded external server, one
// past its connection limit), whose errors should be recorded, not cut
// off: every dial may take the whole dial timeout, DialConcurrency dials
// at a time, a blocked write one more, closing a second, and two minutes
// are left for a busy machine.
func jobTimeout(w Workload) time.Duration {
	ramp := time.Duration(0)
	if w.Ramp > 0 {
		ramp = time.Duration(float64(w.Conns) / w.Ramp * float64(time.Second))
	}
	batches := (w.Conns + loadgen.DialConcurrency - 1) / loadgen.DialConcurrency
	stalls := time.Duration(batches+1) * loadgen.DefaultDialTimeout
	return ramp + stalls + w.Warmup + w.Duration + loadgen.DefaultDrain + time.Second + 2*time.Minute
}
