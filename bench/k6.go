package bench

import (
	"bytes"
	"context"
	_ "embed"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/wsharness/wsharness/internal/numtext"
	"github.com/wsharness/wsharness/internal/procgroup"
	"github.com/wsharness/wsharness/loadgen"
	"github.com/wsharness/wsharness/loadgen/procstat"
	"github.com/wsharness/wsharness/reports"
	"github.com/wsharness/wsharness/targets"
)

// k6Result is what one k6 run of k6/echo.js measured.
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

// echoJS is the k6 side of the generator comparison.
//
//go:embed k6/echo.js
var echoJS []byte

// script writes the embedded echo.js to a temporary directory, once per
// run, and returns its path; cleanup removes it.
func (r *runner) script() (string, error) {
	if r.k6Script != "" {
		return r.k6Script, nil
	}
	dir, err := os.MkdirTemp("", "wsharness-k6-")
	if err != nil {
		return "", fmt.Errorf("k6 script: %w", err)
	}
	path := filepath.Join(dir, "echo.js")
	if err := os.WriteFile(path, echoJS, 0o644); err != nil {
		_ = os.RemoveAll(dir)
		return "", fmt.Errorf("k6 script: %w", err)
	}
	r.k6Script = path
	return path, nil
}

func (r *runner) runK6Job(ctx context.Context, j Job) (string, error) {
	w := j.Workload
	script, err := r.script()
	if err != nil {
		return "", err
	}
	srv, err := targets.StartProcess(ctx, r.opts.Exe, j.Target)
	if err != nil {
		return "", err
	}
	defer srv.Stop()
	if !strings.HasPrefix(srv.EchoURL, "ws://127.0.0.1:") {
		return "", fmt.Errorf("target URL %s is not on 127.0.0.1; k6 only talks to loopback", srv.EchoURL)
	}
	base := strings.TrimSuffix(j.File(), ".json")
	summaryPath, err := filepath.Abs(filepath.Join(r.opts.Out, base+"-summary.json"))
	if err != nil {
		return "", err
	}
	logPath := filepath.Join(r.opts.Out, base+".log")
	_ = os.Remove(summaryPath)
	logFile, err := os.Create(logPath)
	if err != nil {
		return "", err
	}
	defer logFile.Close()
	// Time for every socket to open before the warm-up starts: the same
	// pace wsharness dials at, plus a second.
	openS := math.Ceil(float64(w.Conns)/w.Ramp) + 1
	jobCtx, cancel := context.WithTimeout(ctx, jobTimeout(w)+time.Duration(openS)*time.Second)
	defer cancel()
	cmd := exec.Command(r.opts.K6, "run", "--quiet", "--no-usage-report", "--no-color", script)
	cmd.Env = append(os.Environ(),
		"K6_NO_USAGE_REPORT=true",
		"WS_URL="+srv.EchoURL,
		"CONNS="+strconv.Itoa(w.Conns),
		"SIZE="+strconv.Itoa(w.Size),
		"DURATION_S="+strconv.FormatFloat(w.Duration.Seconds(), 'f', -1, 64),
		"WARMUP_S="+strconv.FormatFloat(w.Warmup.Seconds(), 'f', -1, 64),
		"OPEN_S="+strconv.FormatFloat(openS, 'f', -1, 64),
		"SUMMARY="+summaryPath,
	)
	cmd.Stdout, cmd.Stderr = logFile, logFile
	k6, err := procgroup.Start(cmd)
	if err != nil {
		return "", fmt.Errorf("start k6: %w", err)
	}
	// Sample the k6 process: CPU, and its own peak RSS (VmHWM), which only
	// grows, so the last successful read is the peak.
	sampler := procstat.Start(k6.PID(), 250*time.Millisecond)
	hwmDone := make(chan int64)
	stopHWM := make(chan struct{})
	go func() {
		var peak int64
		t := time.NewTicker(200 * time.Millisecond)
		defer t.Stop()
		for {
			if v, err := procstat.PeakRSS(k6.PID()); err == nil {
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
	// Past the job's time, k6 gets SIGTERM and 10 s to write its summary.
	waitErr := k6.Wait(jobCtx, 10*time.Second)
	close(stopHWM)
	peak := <-hwmDone
	cpu, _, _, _ := sampler.Stop()
	// The kernel's own accounting of the finished child is exact; prefer it.
	if st := k6.State(); st != nil {
		if ru, ok := st.SysUsage().(*syscall.Rusage); ok {
			peak = max(peak, ru.Maxrss*1024)
			cpu = max(cpu, time.Duration(ru.Utime.Nano()+ru.Stime.Nano()).Seconds())
		}
	}
	if ctx.Err() != nil {
		return "", ctx.Err()
	}
	res := &k6Result{
		Target: j.Target, Run: j.Run, URL: srv.EchoURL, K6Version: r.k6Version, Conns: w.Conns, Size: w.Size,
		DurationMS: w.Duration.Milliseconds(), WarmupMS: w.Warmup.Milliseconds(),
		PeakRSSBytes: peak, CPUSeconds: cpu, Summary: summaryPath, Log: logPath,
	}
	if st := k6.State(); st != nil {
		res.ExitCode = st.ExitCode()
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
	if err := os.WriteFile(filepath.Join(r.opts.Out, j.File()), append(data, '\n'), 0o644); err != nil {
		return "", fmt.Errorf("write k6 result: %w", err)
	}
	if waitErr != nil {
		return "", fmt.Errorf("k6 exited with %v (see %s)", waitErr, logPath)
	}
	r.pair(j.Run).k6 = res
	line := fmt.Sprintf("%s replies/s, %d/%d sockets opened", numtext.Rounded(res.ThroughputPerS), res.SocketsOpened, res.Conns)
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
	rate := func(v float64) string { return numtext.Rounded(v) + "/s" }
	us := func(v float64) string { return fmt.Sprintf("%.1f µs", v) }
	ratio := func(v float64) string { return fmt.Sprintf("%.2f", v) }
	b.WriteString("| | wsharness | k6 | wsharness ÷ k6 |\n|---|--:|--:|--:|\n")
	fmt.Fprintf(&b, "| echo replies/s (measured window) | %s | %s | %s |\n", med(wTP, rate), med(kTP, rate), med(rTP, ratio))
	fmt.Fprintf(&b, "| client peak RSS | %s | %s | %s |\n", med(wRSS, numtext.MiB), med(kRSS, numtext.MiB), med(rRSS, ratio))
	fmt.Fprintf(&b, "| client CPU per message (whole run) | %s | %s | |\n", med(wCPU, us), med(kCPU, us))
	fmt.Fprintf(&b, "| sockets open | %d | %s of %d | |\n", first.wsh.Connections.Established, med(opened, func(v float64) string { return strconv.Itoa(int(v)) }), first.k6.Conns)
	fmt.Fprintf(&b, "\nMedians over %s; the ratios are the medians of the per-run ratios. Per run (wsharness/k6 replies/s): ", numtext.Plural(len(runs), "run"))
	for i, run := range runs {
		if i > 0 {
			b.WriteString(", ")
		}
		p := pairs[run]
		fmt.Fprintf(&b, "%s/%s", numtext.Rounded(p.wsh.ThroughputPerS), numtext.Rounded(p.k6.ThroughputPerS))
	}
	b.WriteString(". Peak RSS is each generator process's VmHWM (wsharness: the bench process, its peak counter reset before the run). " +
		"CPU per message divides each process's CPU time over the whole run by every message it sent and received.\n")
	return b.Bytes()
}
