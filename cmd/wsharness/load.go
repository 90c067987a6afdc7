package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"runtime/pprof"
	"strings"

	"github.com/wsharness/wsharness/internal/numtext"
	"github.com/wsharness/wsharness/loadgen"
	"github.com/wsharness/wsharness/reports"
	"github.com/wsharness/wsharness/targets"
)

// repeated is a flag that may be given several times.
type repeated []string

func (r *repeated) String() string     { return strings.Join(*r, ",") }
func (r *repeated) Set(v string) error { *r = append(*r, v); return nil }

func runLoad(args []string, stdout, stderr io.Writer) error {
	fs := newFlags("load", "--scenario echo|broadcast|connect (--url URL | --target NAME) [flags]", stderr)
	var cfg loadgen.Config
	fs.StringVar(&cfg.Scenario, "scenario", loadgen.ScenarioEcho, strings.Join(loadgen.ScenarioNames(), ", "))
	fs.StringVar(&cfg.URL, "url", "", "server endpoint (ws://host:port/path or wss://host:port/path; ws+h2:// or wss+h2:// over HTTP/2)")
	tlsOpts := addTLSFlags(fs)
	target := fs.String("target", "", "start this reference target in its own process and load it")
	fs.StringVar(&cfg.Target, "name", "", "name of the server in the result (default: the target or URL)")
	fs.IntVar(&cfg.Conns, "conns", loadgen.DefaultConns, "connections (WebSockets; over HTTP/2 they share ceil(conns/streams-per-conn) TCP connections)")
	h2 := fs.Bool("h2", false, "WebSockets over HTTP/2 (RFC 8441) to the same server: ws:// becomes ws+h2://, wss:// wss+h2://; --h2=false loads an HTTP/2 target over HTTP/1.1")
	fs.IntVar(&cfg.StreamsPerConn, "streams-per-conn", 1, fmt.Sprintf("HTTP/2: WebSocket streams per TCP connection, 1 to %d (at most the server's SETTINGS_MAX_CONCURRENT_STREAMS)", loadgen.MaxStreamsPerConn))
	fs.Float64Var(&cfg.Rate, "rate", 0, "messages/s in total (broadcasts/s for broadcast); 0 = closed loop at full speed (echo)")
	fs.IntVar(&cfg.Size, "size", loadgen.DefaultSize, fmt.Sprintf("payload bytes (text ≥ %d, binary ≥ %d)", loadgen.MinTextSize, loadgen.MinBinarySize))
	fs.BoolVar(&cfg.Binary, "binary", false, "send binary messages instead of text")
	fs.DurationVar(&cfg.Duration, "duration", loadgen.DefaultDuration, "measured time (connect: how long to hold)")
	fs.DurationVar(&cfg.Warmup, "warmup", loadgen.DefaultWarmup, "sending time before the measurement, excluded from statistics")
	fs.Float64Var(&cfg.RampPerS, "ramp", loadgen.DefaultRamp, "connections opened per second (0 = unpaced)")
	fs.IntVar(&cfg.MaxInflight, "max-inflight", 0, fmt.Sprintf("unanswered messages per connection (default %d, closed loop 1)", loadgen.DefaultMaxInflight))
	fs.IntVar(&cfg.Senders, "senders", 1, "broadcast: connections that send")
	fs.BoolVar(&cfg.ExcludeSender, "exclude-sender", false, "broadcast: the server does not send a message back to its sender")
	fs.DurationVar(&cfg.LagLimit, "lag-limit", loadgen.DefaultLagLimit, "a send later than this by the generator's own fault counts as late; more than 1% late marks the run generator-limited")
	fs.DurationVar(&cfg.Drain, "drain", loadgen.DefaultDrain, "how long to wait for outstanding replies after sending stops")
	fs.DurationVar(&cfg.DialTimeout, "dial-timeout", loadgen.DefaultDialTimeout, "limit on TCP connect plus handshake, and on any one write (a server that stops reading)")
	fs.IntVar(&cfg.ServerPID, "server-pid", 0, "sample this process's CPU and RSS (the server's, when you started it)")
	sources := fs.String("source-ips", "", "comma-separated source addresses to spread connections over (default: automatic past 25,000 loopback connections)")
	out := fs.String("out", "", "write the JSON result here")
	quiet := fs.Bool("quiet", false, "no progress line")
	cpuProfile := fs.String("cpuprofile", "", "write a Go CPU profile of the generator here (to check it is not the bottleneck)")
	var thresholds repeated
	fs.Var(&thresholds, "threshold", "fail (exit 4) unless this holds, e.g. p99<20ms, errors==0, delivery>=0.999; repeatable")
	workers := addWorkerFlags(fs)
	if err := parseFlagsOnly(fs, args); err != nil {
		return err
	}
	if (cfg.URL == "") == (*target == "") {
		return usageError("give exactly one of --url and --target")
	}
	if cfg.URL != "" {
		if err := checkWSURL("--url", cfg.URL); err != nil {
			return err
		}
	}
	h2Set := flagSet(fs, "h2")
	if cfg.StreamsPerConn < 1 || cfg.StreamsPerConn > loadgen.MaxStreamsPerConn {
		return usageError("--streams-per-conn %d: want 1 to %d", cfg.StreamsPerConn, loadgen.MaxStreamsPerConn)
	}
	if cfg.StreamsPerConn > 1 && h2Set && !*h2 {
		return usageError("--streams-per-conn %d: streams need HTTP/2, and --h2=false asks for HTTP/1.1", cfg.StreamsPerConn)
	}
	if cfg.StreamsPerConn > 1 && !h2Set && cfg.URL != "" && loadgen.ToH1(cfg.URL) == cfg.URL {
		return usageError("--streams-per-conn %d: streams need HTTP/2 (--h2, or a ws+h2:// or wss+h2:// URL)", cfg.StreamsPerConn)
	}
	var tlsErr firstTLSError
	tlsConfig, err := tlsOpts.config()
	if err != nil {
		return err
	}
	cfg.TLS, cfg.DialError = tlsConfig, tlsErr.note
	for _, s := range strings.Split(*sources, ",") {
		if s = strings.TrimSpace(s); s == "" {
			continue
		}
		ip := net.ParseIP(s)
		if ip == nil {
			return usageError("--source-ips: %q is not an IP address", s)
		}
		cfg.SourceIPs = append(cfg.SourceIPs, ip)
	}
	checks, err := parseThresholds(thresholds)
	if err != nil {
		return err
	}
	worker, err := workers.worker(os.Getenv)
	if err != nil {
		return err
	}
	if worker != nil && worker.Count > 1 && *target != "" {
		return usageError("--workers needs --url: every worker loads the same server")
	}
	*out = outPath(*out, worker)
	if cfg.Scenario == loadgen.ScenarioEcho && cfg.Rate == 0 && !flagSet(fs, "rate") && !*quiet {
		fmt.Fprintln(stderr, "note: no --rate given: closed loop at full speed (latency is then service time)")
	}

	ctx, stop := interruptible()
	defer stop()

	if *target != "" {
		if cfg.Target == "" {
			cfg.Target = *target
		}
		srv, err := startTarget(ctx, *target)
		if err != nil {
			return err
		}
		defer srv.Stop()
		cfg.URL, cfg.ServerPID = srv.EchoURL, srv.PID
		if cfg.Scenario == loadgen.ScenarioBroadcast {
			cfg.URL = srv.BroadcastURL
		}
	}
	switch {
	case h2Set && *h2:
		cfg.URL = loadgen.ToH2(cfg.URL)
	case h2Set:
		cfg.URL = loadgen.ToH1(cfg.URL)
	}
	if worker != nil {
		if cfg, err = cfg.Share(worker.Index, worker.Count); err != nil {
			return usageError("%v", err)
		}
		cfg.SecondHistograms = worker.Count > 1
		if err := waitStart(ctx, worker, stderr); err != nil {
			return err
		}
	}
	if !*quiet {
		cfg.Progress = progressPrinter(stderr)
	}
	if *cpuProfile != "" {
		f, err := os.Create(*cpuProfile)
		if err != nil {
			return usageError("--cpuprofile: %v", err)
		}
		defer f.Close()
		if err := pprof.StartCPUProfile(f); err != nil {
			return fmt.Errorf("start CPU profile: %w", err)
		}
		defer pprof.StopCPUProfile()
	}
	res, err := loadgen.Run(ctx, cfg)
	if se := (*loadgen.SetupError)(nil); errors.As(err, &se) {
		// The server cannot take the run over HTTP/2: as unreachable.
		return &exitError{code: exitUnreachable, err: err}
	}
	if err != nil {
		return usageError("%v", err)
	}
	res.Worker = worker
	if !*quiet {
		fmt.Fprintln(stderr)
	}
	failed, err := evalThresholds(checks, res)
	if err != nil {
		return err
	}
	if *out != "" {
		if err := writeResult(*out, res, "result"); err != nil {
			return err
		}
	}
	_, _ = stdout.Write(reports.LoadSummary(res))
	if *out != "" {
		fmt.Fprintf(stdout, "result: %s\n", *out)
	}
	switch {
	case res.Interrupted:
		return &exitError{code: exitInterrupted, err: errors.New("interrupted; the result covers what was measured until then")}
	case res.Connections.Established == 0:
		return tlsErr.explain(unreachable(cfg.URL, res.Connections))
	case len(failed) > 0:
		return thresholdsFailed(failed)
	}
	return nil
}

// parseThresholds parses the --threshold expressions of load and merge.
func parseThresholds(exprs []string) ([]loadgen.Threshold, error) {
	var checks []loadgen.Threshold
	for _, expr := range exprs {
		t, err := loadgen.ParseThreshold(expr)
		if err != nil {
			return nil, usageError("--threshold %q: %v", expr, err)
		}
		checks = append(checks, t)
	}
	return checks, nil
}

// evalThresholds checks res against the thresholds, records the outcome
// in it and returns the thresholds that failed.
func evalThresholds(checks []loadgen.Threshold, res *loadgen.Result) (failed []string, err error) {
	if len(checks) == 0 {
		return nil, nil
	}
	if res.Thresholds, failed, err = loadgen.EvalAll(checks, res); err != nil {
		return nil, usageError("%v", err)
	}
	return failed, nil
}

// thresholdsFailed is the exit of a load or merge whose thresholds failed.
func thresholdsFailed(failed []string) error {
	return &exitError{code: exitThreshold, err: fmt.Errorf("thresholds failed: %s", strings.Join(failed, ", "))}
}

// writeResult writes a load result as JSON to path, creating its
// directory; what names the result in an error.
func writeResult(path string, res *loadgen.Result, what string) error {
	b, err := loadgen.Marshal(res)
	if err != nil {
		return err
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return fmt.Errorf("create %s: %w", filepath.Dir(path), err)
	}
	if err := os.WriteFile(path, b, 0o644); err != nil {
		return fmt.Errorf("write %s: %w", what, err)
	}
	return nil
}

func flagSet(fs *flag.FlagSet, name string) bool {
	set := false
	fs.Visit(func(f *flag.Flag) { set = set || f.Name == name })
	return set
}

// progressPrinter writes one status line a second: rewritten in place on
// a terminal, one line per second otherwise.
func progressPrinter(w io.Writer) func(loadgen.Progress) {
	tty := false
	if f, ok := w.(*os.File); ok {
		if st, err := f.Stat(); err == nil && st.Mode()&os.ModeCharDevice != 0 {
			tty = true
		}
	}
	return func(p loadgen.Progress) {
		line := fmt.Sprintf("%4ds %-7s conns %d/%d  sent %d/s  recv %d/s  errors %d  p99 %s",
			p.T, p.Phase, p.Conns, p.Target, p.SentPerS, p.ReceivedPerS, p.Errors, numtext.Micros(float64(p.P99US)))
		if tty {
			fmt.Fprintf(w, "\r%-100s", line)
		} else {
			fmt.Fprintln(w, line)
		}
	}
}

// startTarget starts the reference target name in a process of this
// executable's own (see targets.StartProcess).
func startTarget(ctx context.Context, name string) (*targets.Process, error) {
	t, err := targets.Lookup(name)
	if err != nil {
		return nil, usageError("%v", err)
	}
	if why := targets.ServeRefusal(t); why != "" {
		return nil, usageError("--target %s", why)
	}
	exe, err := os.Executable()
	if err != nil {
		return nil, fmt.Errorf("find own executable: %w", err)
	}
	p, err := targets.StartProcess(ctx, exe, name)
	if errors.Is(err, targets.ErrProcessStart) {
		return nil, &exitError{code: exitUnreachable, err: err}
	}
	return p, err
}
