// Package bench runs the standard load workloads against the reference
// targets and external targets (servers in other languages, started by
// command), each target in its own process for every run, optionally with
// k6 on the same closed-loop echo for a generator comparison, and renders
// the comparison as Markdown. The wsharness bench command is its CLI.
package bench

import (
	"context"
	"errors"
	"fmt"
	"io"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"time"

	"github.com/wsharness/wsharness/internal/numtext"
	"github.com/wsharness/wsharness/loadgen"
	"github.com/wsharness/wsharness/reports"
	"github.com/wsharness/wsharness/targets"
)

// Report is the outcome of a bench that ran.
type Report struct {
	// Summary is summary.md: machine, command, the comparison table, the
	// k6 comparison and any failures.
	Summary []byte
	// Jobs is the number of jobs planned.
	Jobs int
	// Failures has one line per failed job.
	Failures []string
	// Skipped lists the targets and workloads left out: external targets
	// that cannot run here or did not start, workloads a target has no
	// endpoint for. They do not fail the bench.
	Skipped []Skip
	// Interrupted says ctx ended before every job ran; Summary covers the
	// jobs that finished.
	Interrupted bool
}

// Run plans the jobs, runs them one after the other, writes each job's
// result (<target>-<workload>-<run>.json, plus k6's summary and log) into
// o.Out and returns the report. A job that fails is reported and the rest
// still run; an ended ctx stops the bench after the job in progress. One
// line per job goes to progress. The error is for a bench that could not
// start: invalid options or no output directory.
//
// External targets whose runtime is missing are skipped before any job
// runs; one that does not start is skipped for the rest of the bench if it
// never started before, else for that job. Skips are reported, not failed.
func Run(ctx context.Context, o Options, progress io.Writer) (*Report, error) {
	if err := o.Validate(); err != nil {
		return nil, err
	}
	if progress == nil {
		progress = io.Discard
	}
	k6Version := ""
	if o.K6 != "" {
		var err error
		k6Version, err = checkK6(ctx, o.K6)
		if err != nil {
			fmt.Fprintf(progress, "bench: k6 comparison skipped: %v\n", err)
		}
	}
	k6Target := o.k6TargetName()
	if k6Version != "" && k6Target == "" {
		fmt.Fprintf(progress, "bench: k6 comparison skipped: %s\n", noGoTarget)
	}
	unavailable := checkExternals(o)
	jobs, skips := Plan(o, k6Version != "", unavailable)
	if err := os.MkdirAll(o.Out, 0o755); err != nil {
		return nil, fmt.Errorf("create %s: %w", o.Out, err)
	}
	raiseFileLimit()
	r := &runner{opts: o, k6Version: k6Version, started: time.Now(), loadStart: loadAverage(), skips: skips,
		ran: map[string]bool{}, dropped: map[string]bool{}, notSampled: map[string]bool{}}
	defer r.cleanup()
	workloads := map[string]bool{}
	for _, j := range jobs {
		if _, h2cmp := h2VariantOf(j.Workload); !h2cmp {
			workloads[j.Workload.Name] = true
		}
	}
	h2cmp := ""
	if o.H2Target != "" {
		h2cmp = fmt.Sprintf(", then HTTP/1.1 vs HTTP/2 on %s", o.H2Target)
	}
	fmt.Fprintf(progress, "bench: %d jobs (%s × %s × %d workloads%s), results in %s; load average %s\n",
		len(jobs), strings.Join(o.Targets, ","), numtext.Plural(o.Runs, "run"), len(workloads), h2cmp, o.Out, r.loadStart)
	for _, s := range skips {
		fmt.Fprintf(progress, "bench: skipped %s\n", s)
	}
	width := 8
	for _, t := range o.Targets {
		width = max(width, len(t))
	}
	done := 0
	for i, j := range jobs {
		if ctx.Err() != nil {
			break
		}
		if r.dropped[j.Target] {
			continue // said once, when it did not start
		}
		if done > 0 {
			// Let the previous target's sockets close and the machine settle.
			select {
			case <-time.After(pause(o.Quick)):
			case <-ctx.Done():
			}
		}
		done++
		prefix := fmt.Sprintf("[%*d/%d] run %d/%d %-*s %-15s", len(fmt.Sprint(len(jobs))), i+1, len(jobs), j.Run, o.Runs, width, j.Target, j.Workload.Name)
		t0 := time.Now()
		var line string
		var err error
		if j.K6() {
			line, err = r.runK6Job(ctx, j)
		} else {
			line, err = r.runLoadJob(ctx, j)
		}
		if err != nil {
			if ctx.Err() != nil {
				fmt.Fprintf(progress, "%s interrupted\n", prefix)
				break
			}
			if sk := (*skipError)(nil); errors.As(err, &sk) {
				s := r.skip(j, sk)
				fmt.Fprintf(progress, "%s skipped: %s\n", prefix, s.Reason)
				if s.Run == 0 {
					fmt.Fprintf(progress, "bench: skipped %s\n", s)
				}
				continue
			}
			r.failures = append(r.failures, fmt.Sprintf("run %d %s %s: %v", j.Run, j.Target, j.Workload.Name, err))
			fmt.Fprintf(progress, "%s FAILED: %v\n", prefix, err)
			continue
		}
		fmt.Fprintf(progress, "%s %s (%.1fs)\n", prefix, line, time.Since(t0).Seconds())
	}
	r.loadEnd = loadAverage()
	interrupted := ctx.Err() != nil
	if err := r.writeManifest(); err != nil {
		r.failures = append(r.failures, err.Error())
	}
	return &Report{
		Summary:     r.summary(interrupted),
		Jobs:        len(jobs),
		Failures:    r.failures,
		Skipped:     r.skips,
		Interrupted: interrupted,
	}, nil
}

// noGoTarget says why the k6 comparison has no target.
const noGoTarget = "no built-in (Go) target among --targets"

// skip records a job that could not run. A target that did not start and
// never started before is dropped for the rest of the bench.
func (r *runner) skip(j Job, sk *skipError) Skip {
	s := Skip{Target: j.Target, Workloads: []string{j.Workload.Name}, Run: j.Run, Reason: sk.reason}
	if sk.start && !r.ran[j.Target] {
		s = Skip{Target: j.Target, Reason: sk.reason}
		r.dropped[j.Target] = true
	}
	r.skips = append(r.skips, s)
	return s
}

// raiseFileLimit lifts the open-file soft limit to the hard one, for this
// process and the external servers it starts: Go raises its own limit at
// start-up but gives child processes the original one, and a server
// holding connect-10k's connections needs more than the usual 1,024.
// (Built-in targets run as `wsharness serve`, which raises its own.)
func raiseFileLimit() {
	var lim syscall.Rlimit
	if syscall.Getrlimit(syscall.RLIMIT_NOFILE, &lim) == nil {
		lim.Cur = lim.Max
		_ = syscall.Setrlimit(syscall.RLIMIT_NOFILE, &lim)
	}
}

// pause is the time between two jobs.
func pause(quick bool) time.Duration {
	if quick {
		return 200 * time.Millisecond
	}
	return time.Second
}

// runner is the state of one Run.
type runner struct {
	opts      Options
	k6Version string
	k6Script  string // the embedded echo.js written out; "" until needed
	started   time.Time
	loadStart string
	loadEnd   string

	results []*loadgen.Result
	pairs   map[int]*k6Pair // by run
	// h2Runs are the transport comparison's results by run, in
	// h2Variants order.
	h2Runs   map[int][]*loadgen.Result
	failures []string
	skips    []Skip
	// withErrors has one line per job whose result counts failed or
	// dropped connections, lost messages or errors.
	withErrors []string

	ran        map[string]bool // targets that started at least once
	dropped    map[string]bool // targets skipped for the rest of the bench
	notSampled map[string]bool // targets whose server process was not sampled
}

// k6Pair is one run's generator comparison: k6 and wsharness on the same
// closed-loop echo against the same target.
type k6Pair struct {
	wsh *loadgen.Result
	k6  *k6Result
}

func (r *runner) pair(run int) *k6Pair {
	if r.pairs == nil {
		r.pairs = map[int]*k6Pair{}
	}
	if r.pairs[run] == nil {
		r.pairs[run] = &k6Pair{}
	}
	return r.pairs[run]
}

// h2Result keeps a result of the transport comparison.
func (r *runner) h2Result(run int, v h2Variant, res *loadgen.Result) {
	if r.h2Runs == nil {
		r.h2Runs = map[int][]*loadgen.Result{}
	}
	if r.h2Runs[run] == nil {
		r.h2Runs[run] = make([]*loadgen.Result, len(h2Variants))
	}
	r.h2Runs[run][slices.IndexFunc(h2Variants, func(x h2Variant) bool { return x == v })] = res
}

// cleanup removes what the run kept outside o.Out.
func (r *runner) cleanup() {
	if r.k6Script != "" {
		_ = os.RemoveAll(filepath.Dir(r.k6Script))
	}
}

// skipError is a job that cannot run for a reason that is no failure of
// the bench: an external target that did not start.
type skipError struct {
	reason string // one line
	start  bool   // the target did not start
}

func (e *skipError) Error() string { return "skipped: " + e.reason }

// server is a target started for one job.
type server struct {
	echoURL, broadcastURL string
	// pid is the server process to sample; 0 = not sampled.
	pid  int
	stop func()
	// output returns what the server printed; nil if not kept.
	output func() string
}

// serverProcess is a running external target whose server is a process
// wsharness started: its CPU and memory are sampled like a built-in
// target's.
type serverProcess interface {
	PID() int
}

// start starts target for job j: a built-in target in a `wsharness serve`
// process, an external one with its command (External.Start). An external
// target that does not serve returns a *skipError; its full message goes
// to <job>.start.log.
func (r *runner) start(ctx context.Context, j Job) (*server, error) {
	e := r.opts.external(j.Target)
	if e == nil {
		p, err := targets.StartProcess(ctx, r.opts.Exe, j.Target)
		if err != nil {
			return nil, err
		}
		return &server{echoURL: p.EchoURL, broadcastURL: p.BroadcastURL, pid: p.PID, stop: p.Stop}, nil
	}
	run, err := e.Start(ctx, "")
	if err != nil {
		if ctx.Err() != nil {
			return nil, err
		}
		reason := startReason(j.Target, err)
		log := strings.TrimSuffix(j.File(), ".json") + ".start.log"
		if werr := os.WriteFile(filepath.Join(r.opts.Out, log), []byte(err.Error()+"\n"), 0o644); werr == nil {
			reason += " (see " + log + ")"
		}
		return nil, &skipError{reason: reason, start: true}
	}
	r.ran[j.Target] = true
	s := &server{
		echoURL: run.URL(targets.EchoPath), broadcastURL: run.URL(targets.BroadcastPath),
		stop: func() { _ = run.Stop(context.Background()) },
	}
	if p, ok := run.(serverProcess); ok {
		s.pid = p.PID()
	}
	if k, ok := run.(targets.OutputKeeper); ok {
		s.output = k.Output
	}
	return s, nil
}

// startReason makes External.Start's error one line: without the
// "target NAME: external target unavailable: " prefix, and with the
// command's last output line in place of the whole tail.
func startReason(name string, err error) string {
	msg := strings.TrimSpace(err.Error())
	msg = strings.TrimPrefix(msg, "target "+name+": ")
	msg = strings.TrimPrefix(msg, targets.ErrTargetUnavailable.Error()+": ")
	first, rest, _ := strings.Cut(msg, "\n")
	first = strings.TrimSuffix(strings.TrimSpace(first), "; its last output:")
	if lines := strings.Split(strings.TrimSpace(rest), "\n"); rest != "" {
		if last := strings.TrimSpace(lines[len(lines)-1]); last != "" {
			first += "; last output: " + last
		}
	}
	if len(first) > 300 {
		first = first[:297] + "..."
	}
	return first
}

func (r *runner) runLoadJob(ctx context.Context, j Job) (line string, err error) {
	w := j.Workload
	srv, err := r.start(ctx, j)
	if err != nil {
		return "", err
	}
	keepOutput := true
	defer func() {
		srv.stop()
		// What an external server printed, when its job went wrong.
		if srv.output == nil || !keepOutput {
			return
		}
		if out := srv.output(); out != "" {
			log := strings.TrimSuffix(j.File(), ".json") + ".server.log"
			if werr := os.WriteFile(filepath.Join(r.opts.Out, log), []byte(out), 0o644); werr == nil {
				if err != nil {
					err = fmt.Errorf("%w (server output: %s)", err, log)
				} else {
					line += " (server output: " + log + ")"
				}
			}
		}
	}()
	url := srv.echoURL
	if w.Scenario == loadgen.ScenarioBroadcast {
		url = srv.broadcastURL
		if url == "" {
			keepOutput = false
			return "", &skipError{reason: "no broadcast endpoint"}
		}
	}
	if srv.pid == 0 {
		r.notSampled[j.Target] = true
	}
	cfg := loadgen.Config{
		Scenario: w.Scenario, URL: url, Target: j.Target, Conns: w.Conns, Rate: w.Rate, Size: w.Size,
		Duration: w.Duration, Warmup: w.Warmup, RampPerS: w.Ramp, Senders: 1, ServerPID: srv.pid,
	}
	variant, h2cmp := h2VariantOf(w)
	if h2cmp {
		cfg.URL, cfg.StreamsPerConn = variant.url(url), variant.k
	}
	jobCtx, cancel := context.WithTimeout(ctx, jobTimeout(w))
	defer cancel()
	res, err := loadgen.Run(jobCtx, cfg)
	if err != nil {
		return "", err
	}
	if res.Interrupted {
		if ctx.Err() != nil {
			keepOutput = false
			return "", ctx.Err()
		}
		return "", fmt.Errorf("did not finish within %s", jobTimeout(w))
	}
	data, err := loadgen.Marshal(res)
	if err != nil {
		return "", err
	}
	if err := os.WriteFile(filepath.Join(r.opts.Out, j.File()), data, 0o644); err != nil {
		return "", fmt.Errorf("write result: %w", err)
	}
	line = reports.LoadLine(res)
	if srv.pid == 0 {
		line += ", server not sampled"
	}
	if e := errorLine(res); e != "" {
		r.withErrors = append(r.withErrors, fmt.Sprintf("run %d %s %s: %s", j.Run, j.Target, w.Name, e))
	} else {
		keepOutput = false
	}
	if h2cmp {
		r.h2Result(j.Run, variant, res)
		return line, nil // kept out of the main table: the comparison has it
	}
	switch w.Name {
	case echoClosedK6:
		r.pair(j.Run).wsh = res
		return line, nil // kept out of the main table: it duplicates a workload at another size
	case echoClosed:
		if j.Target == r.opts.k6TargetName() {
			if p := r.pair(j.Run); p.wsh == nil {
				p.wsh = res
			}
		}
	}
	r.results = append(r.results, res)
	return line, nil
}

// errorLine sums up what went wrong in a run that finished: connections
// that failed or dropped, messages lost, errors; "" when nothing did.
func errorLine(res *loadgen.Result) string {
	var parts []string
	c := res.Connections
	if c.Failed > 0 || c.Established < c.Target {
		f := fmt.Sprintf("%s of %s connections established", numtext.Thousands(c.Established), numtext.Thousands(c.Target))
		if c.Failed > 0 {
			var why []string
			for _, k := range slices.Sorted(maps.Keys(c.Failures)) {
				why = append(why, fmt.Sprintf("%s %s", k, numtext.Thousands(c.Failures[k])))
			}
			f += fmt.Sprintf(" (failed: %s)", strings.Join(why, ", "))
		}
		parts = append(parts, f)
	}
	if c.Dropped > 0 {
		parts = append(parts, fmt.Sprintf("%s dropped", numtext.Thousands(c.Dropped)))
	}
	if m := res.Messages; m != nil {
		if m.Lost > 0 {
			parts = append(parts, fmt.Sprintf("%s of %s lost", numtext.Thousands(int(m.Lost)), expectedCount(m)))
		}
		if m.Errors > 0 {
			parts = append(parts, fmt.Sprintf("%s errors", numtext.Thousands(int(m.Errors))))
		}
	}
	return strings.Join(parts, ", ")
}

// expectedCount is how many messages (deliveries) a run expected.
func expectedCount(m *loadgen.Messages) string {
	if m.Expected > 0 {
		return numtext.Thousands(int(m.Expected))
	}
	return numtext.Thousands(int(m.Sent))
}
