package loadgen

import (
	"math"
	"time"

	hdr "github.com/HdrHistogram/hdrhistogram-go"

	"github.com/wsharness/wsharness/loadgen/metrics"
)

// result assembles what was measured.
func (r *run) result(started time.Time, interrupted bool) *Result {
	cfg := r.cfg
	res := &Result{
		Schema: Schema, Scenario: cfg.Scenario, Target: cfg.Target, URL: cfg.URL, Started: started.UTC(),
		Interrupted: interrupted,
		Params: Params{
			Conns: cfg.Conns, Rate: cfg.Rate,
			Size: cfg.Size, Binary: cfg.Binary, DurationMS: cfg.Duration.Milliseconds(), WarmupMS: cfg.Warmup.Milliseconds(),
			RampPerS: cfg.RampPerS, MaxInflight: cfg.MaxInflight,
		},
		Histograms: map[string]string{},
	}
	r.failMu.Lock()
	failures := map[string]int{}
	for k, v := range r.failures {
		failures[k] = v
	}
	var drops map[string]int
	for k, v := range r.drops {
		if drops == nil {
			drops = map[string]int{}
		}
		drops[k] = v
	}
	r.failMu.Unlock()
	res.Connections = Connections{
		Target: cfg.Conns, Established: int(r.established.Load()), Failed: sumInts(failures),
		Failures: failures, Dropped: int(r.dropped.Load()), Drops: drops,
	}
	if n, d := r.established.Load(), r.lastEstablished.Load()-r.rampStart.Load(); n > 0 && d > 0 {
		res.Connections.RatePerS = math.Round(float64(n)/time.Duration(d).Seconds()*10) / 10
	}
	window := r.window(interrupted)
	res.DurationMS = window.Milliseconds()

	r.keep(res, FigureConnect, r.connect)
	r.scenario.fill(r, res, window)
	if _, sends := r.scenario.(messenger); sends {
		res.Generator = r.generator(window, r.measuredSent.Load())
		r.keepHistogram(res, generatorLagHistogram, r.ownLag.Total())
	}
	if res.Messages != nil && window > 0 {
		res.ThroughputPerS = math.Round(float64(res.Messages.Received)/window.Seconds()*10) / 10
	}
	r.timelineMu.Lock()
	res.Timeline = append([]Second{}, r.timeline...)
	r.timelineMu.Unlock()
	return res
}

// keep puts a recorder's whole-run histogram into res as figure f: its
// summary, and the histogram itself for merging.
func (r *run) keep(res *Result, f Figure, rec *metrics.Recorder) {
	h := rec.Total()
	*f.field(res) = summarize(h)
	r.keepHistogram(res, f.Histogram, h)
}

// keepHistogram stores h in res.Histograms under name, unless it is empty.
func (r *run) keepHistogram(res *Result, name string, h *hdr.Histogram) {
	if h.TotalCount() == 0 {
		return
	}
	if s, err := metrics.Encode(h); err == nil { // cannot fail for a histogram built here
		res.Histograms[name] = s
	}
}

func (r *run) messages(sent, received, lost int64) *Messages {
	return &Messages{
		Sent: sent, Received: received, Lost: max(lost, 0),
		Duplicated: r.duplicated.Load(), OutOfOrder: r.outOfOrder.Load(),
		Errors: r.errs.Load(), Unmatched: r.unmatched.Load(),
		WarmupSent: r.warmupSent.Load(), NotMeasured: r.notMeasured.Load(),
	}
}

// window is the measured time: warm-up end to send end, or to now when
// the run was interrupted before. A run that was not interrupted can
// finish before the send end (the last message is due up to one send
// interval before it): its window is still the whole schedule.
func (r *run) window(interrupted bool) time.Duration {
	start, end := r.measureStart.Load(), r.sendEnd.Load()
	if start == math.MaxInt64 {
		return 0
	}
	if now := r.now(); interrupted && now < end {
		end = now
	}
	return time.Duration(max(end-start, 0))
}

func sumInts(m map[string]int) int {
	n := 0
	for _, v := range m {
		n += v
	}
	return n
}

// messagesHandled counts messages the client sent and received, for CPU
// per message.
func (res *Result) messagesHandled() int64 {
	if res.Messages == nil {
		return 0
	}
	return res.Messages.Sent + res.Messages.Received
}
