// Package bench runs the standard load workloads against the reference
// targets, each target in its own process for every run, optionally with
// k6 on the same closed-loop echo for a generator comparison, and renders
// the comparison as Markdown. The wsharness bench command is its CLI.
package bench

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/wsharness/wsharness/loadgen"
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
	jobs := Plan(o, k6Version != "")
	if err := os.MkdirAll(o.Out, 0o755); err != nil {
		return nil, fmt.Errorf("create %s: %w", o.Out, err)
	}
	r := &runner{opts: o, k6Version: k6Version, started: time.Now(), loadStart: loadAverage()}
	defer r.cleanup()
	workloads := map[string]bool{}
	for _, j := range jobs {
		workloads[j.Workload.Name] = true
	}
	fmt.Fprintf(progress, "bench: %d jobs (%s × %s × %d workloads), results in %s; load average %s\n",
		len(jobs), strings.Join(o.Targets, ","), plural(o.Runs, "run"), len(workloads), o.Out, r.loadStart)
	for i, j := range jobs {
		if ctx.Err() != nil {
			break
		}
		if i > 0 {
			// Let the previous target's sockets close and the machine settle.
			select {
			case <-time.After(pause(o.Quick)):
			case <-ctx.Done():
			}
		}
		prefix := fmt.Sprintf("[%*d/%d] run %d/%d %-8s %-15s", len(strconv.Itoa(len(jobs))), i+1, len(jobs), j.Run, o.Runs, j.Target, j.Workload.Name)
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
			r.failures = append(r.failures, fmt.Sprintf("run %d %s %s: %v", j.Run, j.Target, j.Workload.Name, err))
			fmt.Fprintf(progress, "%s FAILED: %v\n", prefix, err)
			continue
		}
		fmt.Fprintf(progress, "%s %s (%.1fs)\n", prefix, line, time.Since(t0).Seconds())
	}
	r.loadEnd = loadAverage()
	interrupted := ctx.Err() != nil
	return &Report{
		Summary:     r.summary(interrupted),
		Jobs:        len(jobs),
		Failures:    r.failures,
		Interrupted: interrupted,
	}, nil
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

func (r *runner) pair(run int) *k6Pair {
	if r.pairs == nil {
		r.pairs = map[int]*k6Pair{}
	}
	if r.pairs[run] == nil {
		r.pairs[run] = &k6Pair{}
	}
	return r.pairs[run]
}

// cleanup removes what the run kept outside o.Out.
func (r *runner) cleanup() {
	if r.k6Script != "" {
		_ = os.RemoveAll(filepath.Dir(r.k6Script))
	}
}

func (r *runner) runLoadJob(ctx context.Context, j Job) (string, error) {
	w := j.Workload
	srv, err := targets.StartProcess(ctx, r.opts.Exe, j.Target)
	if err != nil {
		return "", err
	}
	defer srv.Stop()
	url := srv.EchoURL
	if w.Scenario == loadgen.ScenarioBroadcast {
		url = srv.BroadcastURL
	}
	cfg := loadgen.Config{
		Scenario: w.Scenario, URL: url, Target: j.Target, Conns: w.Conns, Rate: w.Rate, Size: w.Size,
		Duration: w.Duration, Warmup: w.Warmup, RampPerS: w.Ramp, Senders: 1, ServerPID: srv.PID,
	}
	jobCtx, cancel := context.WithTimeout(ctx, jobTimeout(w))
	defer cancel()
	res, err := loadgen.Run(jobCtx, cfg)
	if err != nil {
		return "", err
	}
	if res.Interrupted {
		if ctx.Err() != nil {
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
	switch w.Name {
	case echoClosedK6:
		r.pair(j.Run).wsh = res
		return progressLine(res), nil // kept out of the main table: it duplicates a workload at another size
	case echoClosed:
		if j.Target == r.opts.k6TargetName() {
			if p := r.pair(j.Run); p.wsh == nil {
				p.wsh = res
			}
		}
	}
	r.results = append(r.results, res)
	return progressLine(res), nil
}
