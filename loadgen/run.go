package loadgen

import (
	"context"
	"errors"
	"fmt"
	"math"
	"net"
	"os"
	"runtime"
	"runtime/debug"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	hdr "github.com/HdrHistogram/hdrhistogram-go"
	"github.com/gorilla/websocket"

	"github.com/wsharness/wsharness/loadgen/metrics"
	"github.com/wsharness/wsharness/loadgen/procstat"
	"github.com/wsharness/wsharness/wire"
)

// recorderShards spreads histogram locks over a few shards per core. Each
// shard holds two ~140 KB histograms, so more would cost memory for nothing.
func recorderShards() int { return 2 * runtime.GOMAXPROCS(0) }

// run is the state of one load run shared by its goroutines.
type run struct {
	cfg      Config
	scenario scenario
	base     time.Time // the clock all timestamps count from

	// Times in ns since base; set once sending starts.
	sendStart, measureStart, sendEnd atomic.Int64
	phase                            atomic.Value // string

	latency, service, ownLag, connect, fanout, completion *metrics.Recorder

	sent, received, errs, unmatched, duplicated, outOfOrder atomic.Int64
	warmupSent, notMeasured, measuredReceived, measuredSent atomic.Int64
	established, dropped, lateSends                         atomic.Int64

	failMu   sync.Mutex
	failures map[string]int // dial failures by kind
	drops    map[string]int // established connections that failed, by kind

	closing atomic.Bool // set when the run closes connections itself
	conns   []*conn
	connsMu sync.Mutex

	pending *pendingSet // broadcast completion tracking

	// CPU used by client and server at the start and end of the measured
	// window, so CPU per message divides like by like.
	cpuMu   sync.Mutex
	cpuMark [2]cpuSnapshot

	rampStart, lastEstablished atomic.Int64 // ns since base

	timelineMu sync.Mutex
	timeline   []Second
}

// conn is one client connection.
type conn struct {
	id       int
	ws       *websocket.Conn
	nextSeq  atomic.Uint64 // messages sent so far = next sequence number
	seq      metrics.Sequence
	senders  []metrics.Sequence // broadcast: per-sender sequence state
	inflight chan struct{}
	done     chan struct{} // closed when the reader ends
	failed   atomic.Bool   // set by the first failure counted (connFailed)
}

func (r *run) now() int64 { return int64(time.Since(r.base)) }

// Run executes one load run. It returns a result whenever anything was
// measured, also when ctx is cancelled (the result is marked interrupted);
// the error is for configurations that cannot run.
func Run(ctx context.Context, cfg Config) (*Result, error) {
	cfg = cfg.withDefaults()
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if err := checkFileLimit(cfg.tcpConns()); err != nil {
		return nil, err
	}
	sources, err := pickSources(cfg)
	if err != nil {
		return nil, err
	}
	s, _ := scenarioNamed(cfg.Scenario) // known: validated
	r := &run{
		cfg: cfg, scenario: s, base: time.Now(), failures: map[string]int{}, drops: map[string]int{},
		latency: metrics.NewRecorder(recorderShards()), service: metrics.NewRecorder(recorderShards()),
		ownLag:  metrics.NewRecorder(recorderShards()),
		connect: metrics.NewRecorder(recorderShards()), fanout: metrics.NewRecorder(recorderShards()),
		completion: metrics.NewRecorder(recorderShards()), pending: newPendingSet(),
	}
	r.phase.Store(PhaseRamp)
	r.sendEnd.Store(math.MaxInt64)
	r.measureStart.Store(math.MaxInt64)
	started := time.Now()

	self := os.Getpid()
	// The baseline for memory per connection is everything but the
	// connections; an earlier run in this process must not count.
	debug.FreeOSMemory()
	_ = procstat.ResetPeak(self)
	baseline, _ := procstat.Read(self)
	clientCPU := procstat.Start(self, 250*time.Millisecond)
	var serverCPU *procstat.Sampler
	if cfg.ServerPID > 0 {
		serverCPU = procstat.Start(cfg.ServerPID, 250*time.Millisecond)
	}

	tickCtx, stopTicker := context.WithCancel(context.Background())
	tickerDone := make(chan struct{})
	go func() { defer close(tickerDone); r.tick(tickCtx) }()

	d, err := newDialer(cfg.URL, sources, cfg.DialTimeout, dialBufferSize(cfg, s), cfg.StreamsPerConn, cfg.TLS)
	if err == nil {
		err = d.preflight(ctx)
	}
	if err != nil {
		stopTicker()
		<-tickerDone
		clientCPU.Stop()
		if serverCPU != nil {
			serverCPU.Stop()
		}
		return nil, err
	}
	r.ramp(ctx, d)
	s.drive(ctx, r)
	r.closeAll()
	if d.h2 != nil {
		d.h2.close()
	}
	stopTicker()
	<-tickerDone

	res := r.result(started, ctx.Err() != nil)
	res.Params.SourceIPs = ipStrings(sources)
	res.Params.Transport = wire.TransportOfURL(cfg.URL).String()
	res.Params.StreamsPerConn = cfg.StreamsPerConn
	res.Connections.TCP = d.tcpConns(res.Connections.Established)
	cpu, rss, samples, _ := clientCPU.Stop()
	peak, err := procstat.PeakRSS(self)
	if err != nil || peak < rss {
		peak = rss
	}
	res.Client = Resources{PID: self, RSSBytesMax: peak, CPUSeconds: cpu, Samples: samples}
	clientWindowCPU, serverWindowCPU := r.windowCPU()
	if handled := res.messagesHandled(); handled > 0 && clientWindowCPU > 0 {
		res.Client.CPUPerMessageUS = clientWindowCPU * 1e6 / float64(handled)
	}
	if n := res.Connections.Established; n > 0 && peak > baseline.RSSBytes {
		res.Client.RSSBytesPerConn = float64(peak-baseline.RSSBytes) / float64(n)
	}
	if serverCPU != nil {
		cpu, rss, samples, err := serverCPU.Stop()
		// VmHWM catches a peak between samples, when the server is ours
		// to read.
		if hwm, err := procstat.PeakRSS(cfg.ServerPID); err == nil && hwm > rss {
			rss = hwm
		}
		res.Server = &Resources{PID: cfg.ServerPID, RSSBytesMax: rss, CPUSeconds: cpu, Samples: samples}
		if handled := res.messagesHandled(); handled > 0 && serverWindowCPU > 0 {
			res.Server.CPUPerMessageUS = serverWindowCPU * 1e6 / float64(handled)
		}
		_ = err // a server that exited mid-run still reports what was sampled
	}
	return res, nil
}

// dialBufferSize sizes gorilla's per-connection buffers: small for idle
// connections, the message size (bounded) otherwise.
func dialBufferSize(cfg Config, s scenario) int {
	if _, sends := s.(messenger); !sends {
		return 256
	}
	return min(max(cfg.Size+16, 512), 16<<10)
}

// checkFileLimit raises the open-file soft limit to the hard one (Go does
// this at start-up too; being explicit costs nothing) and fails early when
// the process still cannot hold the connections: past the hard limit only
// more processes help.
func checkFileLimit(conns int) error {
	var lim syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &lim); err != nil {
		return nil
	}
	if lim.Cur < lim.Max {
		raised := lim
		raised.Cur = lim.Max
		if syscall.Setrlimit(syscall.RLIMIT_NOFILE, &raised) == nil {
			lim = raised
		}
	}
	if need := uint64(conns) + 64; lim.Cur < need {
		return fmt.Errorf("--conns %d needs about %d open files, but this process may open %d (hard limit %d); split the load over several processes", conns, need, lim.Cur, lim.Max)
	}
	return nil
}

func pickSources(cfg Config) ([]net.IP, error) {
	if len(cfg.SourceIPs) > 0 {
		return cfg.SourceIPs, nil
	}
	tcp := cfg.tcpConns()
	if tcp <= SourceSpreadAbove {
		return nil, nil
	}
	n := (tcp + SourceSpreadAbove - 1) / SourceSpreadAbove
	return loopbackSources(cfg.URL, n)
}

func ipStrings(ips []net.IP) []string {
	var out []string
	for _, ip := range ips {
		out = append(out, ip.String())
	}
	return out
}

// ramp opens the connections, paced, with bounded concurrency.
func (r *run) ramp(ctx context.Context, d *dialer) {
	cfg := r.cfg
	sem := make(chan struct{}, DialConcurrency)
	var wg sync.WaitGroup
	start := time.Now()
	r.rampStart.Store(r.now())
	for i := 0; i < cfg.Conns; i++ {
		if cfg.RampPerS > 0 {
			at := start.Add(time.Duration(float64(i) / cfg.RampPerS * float64(time.Second)))
			if !sleepUntil(ctx, at) {
				break
			}
		}
		select {
		case sem <- struct{}{}:
		case <-ctx.Done():
		}
		if ctx.Err() != nil {
			break
		}
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			defer func() { <-sem }()
			t0 := time.Now()
			ws, err := d.dial(ctx, i)
			if err != nil {
				if ctx.Err() == nil {
					kind := classify(err)
					r.fail(kind)
					if cfg.DialError != nil {
						cfg.DialError(kind, err)
					}
				}
				return
			}
			r.connect.Record(i, time.Since(t0).Microseconds())
			ws.SetReadLimit(readLimit(cfg))
			c := &conn{id: i, ws: ws, inflight: make(chan struct{}, cfg.MaxInflight), done: make(chan struct{})}
			r.connsMu.Lock()
			r.conns = append(r.conns, c)
			r.connsMu.Unlock()
			r.established.Add(1)
			r.noteEstablished()
			go r.read(c)
		}(i)
	}
	wg.Wait()
}

func (r *run) fail(reason string) {
	r.failMu.Lock()
	r.failures[reason]++
	r.failMu.Unlock()
}

// connFailed counts an established connection that failed during the run
// as dropped, under the kind of its first failure, and closes it so that
// its reader and writer end. It counts nothing when the run is closing the
// connection itself or the connection already failed; counted says
// whether it counted.
func (r *run) connFailed(c *conn, err error) (counted bool) {
	if r.closing.Load() || !c.failed.CompareAndSwap(false, true) {
		return false
	}
	kind := classifyDrop(err)
	r.failMu.Lock()
	r.drops[kind]++
	r.failMu.Unlock()
	r.dropped.Add(1)
	_ = c.ws.Close()
	return true
}

// closeAll closes every connection politely and waits for the readers.
func (r *run) closeAll() {
	r.closing.Store(true)
	r.connsMu.Lock()
	conns := append([]*conn(nil), r.conns...)
	r.connsMu.Unlock()
	deadline := time.Now().Add(time.Second)
	for _, c := range conns {
		_ = c.ws.WriteControl(websocket.CloseMessage, websocket.FormatCloseMessage(websocket.CloseNormalClosure, ""), deadline)
	}
	for _, c := range conns {
		select {
		case <-c.done:
		case <-time.After(time.Until(deadline)):
		}
		_ = c.ws.Close()
	}
	for _, c := range conns {
		<-c.done
	}
}

// read drains a connection, handing each message to the scenario.
func (r *run) read(c *conn) {
	defer close(c.done)
	var buf []byte
	for {
		_, rd, err := c.ws.NextReader()
		if err != nil {
			if r.connFailed(c, err) && !isCloseError(err) {
				r.errs.Add(1)
			}
			return
		}
		buf = buf[:0]
		for {
			if len(buf) == cap(buf) {
				buf = append(buf, 0)[:len(buf)]
			}
			n, err := rd.Read(buf[len(buf):cap(buf)])
			buf = buf[:len(buf)+n]
			if err != nil {
				break
			}
		}
		r.scenario.receive(r, c, buf, r.now())
	}
}

func isCloseError(err error) bool {
	var ce *websocket.CloseError
	return errors.As(err, &ce)
}

// sleepUntil waits for t; false when ctx ended first.
func sleepUntil(ctx context.Context, t time.Time) bool {
	d := time.Until(t)
	if d <= 0 {
		return ctx.Err() == nil
	}
	tm := time.NewTimer(d)
	defer tm.Stop()
	select {
	case <-tm.C:
		return true
	case <-ctx.Done():
		return false
	}
}

// tick records the timeline once a second and reports progress.
func (r *run) tick(ctx context.Context) {
	t := time.NewTicker(time.Second)
	defer t.Stop()
	var lastSent, lastRecv, lastErr int64
	primary := r.scenario.timeline(r)
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		// A starved process misses ticks: time, not tick count, says
		// which second this is (the counts are deltas either way).
		sec := int(time.Since(r.base).Round(time.Second) / time.Second)
		sent, recv, errs := r.sent.Load(), r.received.Load(), r.errs.Load()
		w := primary.TakeWindow()
		s := Second{
			T: sec, Phase: r.phase.Load().(string), Conns: int(r.established.Load() - r.dropped.Load()),
			Sent: sent - lastSent, Received: recv - lastRecv, Errors: errs - lastErr,
		}
		if w.TotalCount() > 0 {
			s.P50US, s.P99US = w.ValueAtQuantile(50), w.ValueAtQuantile(99)
			if r.cfg.SecondHistograms {
				s.Histogram, _ = metrics.Encode(w) // cannot fail for a histogram built here
			}
		}
		lastSent, lastRecv, lastErr = sent, recv, errs
		r.timelineMu.Lock()
		r.timeline = append(r.timeline, s)
		r.timelineMu.Unlock()
		if r.cfg.Progress != nil {
			r.cfg.Progress(Progress{T: sec, Phase: s.Phase, Conns: s.Conns, Target: r.cfg.Conns,
				SentPerS: s.Sent, ReceivedPerS: s.Received, Errors: errs + int64(r.failedCount()), P99US: s.P99US})
		}
	}
}

func (r *run) failedCount() int {
	r.failMu.Lock()
	defer r.failMu.Unlock()
	n := 0
	for _, v := range r.failures {
		n += v
	}
	return n
}

// summarize turns a histogram into the result's percentiles; nil when empty.
func summarize(h *hdr.Histogram) *Percentiles {
	if h.TotalCount() == 0 {
		return nil
	}
	return &Percentiles{
		Count: h.TotalCount(), Mean: math.Round(h.Mean()*10) / 10,
		P50: h.ValueAtQuantile(50), P90: h.ValueAtQuantile(90), P99: h.ValueAtQuantile(99),
		P999: h.ValueAtQuantile(99.9), Max: h.Max(),
	}
}

type cpuSnapshot struct {
	client, server float64
	ok             bool
}

// markCPU records the CPU time of client and server at window edge i
// (0 = start, 1 = end).
func (r *run) markCPU(i int) {
	snap := cpuSnapshot{ok: true}
	if st, err := procstat.Read(os.Getpid()); err == nil {
		snap.client = st.CPUSeconds
	} else {
		snap.ok = false
	}
	if r.cfg.ServerPID > 0 {
		if st, err := procstat.Read(r.cfg.ServerPID); err == nil {
			snap.server = st.CPUSeconds
		}
	}
	r.cpuMu.Lock()
	r.cpuMark[i] = snap
	r.cpuMu.Unlock()
}

// windowCPU returns the CPU seconds client and server used in the
// measured window; zero when it was not marked.
func (r *run) windowCPU() (client, server float64) {
	r.cpuMu.Lock()
	defer r.cpuMu.Unlock()
	a, b := r.cpuMark[0], r.cpuMark[1]
	if !a.ok || !b.ok {
		return 0, 0
	}
	return b.client - a.client, b.server - a.server
}

// noteEstablished keeps the time of the latest connection made.
func (r *run) noteEstablished() {
	now := r.now()
	for {
		last := r.lastEstablished.Load()
		if now <= last || r.lastEstablished.CompareAndSwap(last, now) {
			return
		}
	}
}
