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
			Conns: cfg.Conns, Rate: cfg.Rate, ClosedLoop: cfg.Scenario == ScenarioEcho && cfg.Rate == 0,
			Size: cfg.Size, Binary: cfg.Binary, DurationMS: cfg.Duration.Milliseconds(), WarmupMS: cfg.Warmup.Milliseconds(),
			RampPerS: cfg.RampPerS, MaxInflight: cfg.MaxInflight,
		},
		Histograms: map[string]string{},
	}
	if cfg.Scenario == ScenarioBroadcast {
		res.Params.Senders, res.Params.ExcludeSender = cfg.Senders, cfg.ExcludeSender
	}
	if cfg.Scenario == ScenarioConnect {
		res.Params.Size, res.Params.MaxInflight = 0, 0
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

	hists := map[string]*hdr.Histogram{"connect_latency_us": r.connect.Total()}
	res.ConnectLatencyUS = summarize(hists["connect_latency_us"])
	switch cfg.Scenario {
	case ScenarioEcho:
		hists["latency_us"], hists["service_time_us"] = r.latency.Total(), r.service.Total()
		res.LatencyUS, res.ServiceTimeUS = summarize(hists["latency_us"]), summarize(hists["service_time_us"])
		if cfg.Rate > 0 {
			hists["send_lag_us"] = r.sendLag.Total()
			res.SendLagUS = summarize(hists["send_lag_us"])
		}
		sent := r.measuredSent.Load()
		got := r.measuredReceived.Load()
		res.Messages = r.messages(sent, got, sent-got)
	case ScenarioBroadcast:
		hists["fanout_latency_us"], hists["fanout_completion_us"] = r.fanout.Total(), r.completion.Total()
		res.FanoutLatencyUS, res.FanoutCompletionUS = summarize(hists["fanout_latency_us"]), summarize(hists["fanout_completion_us"])
		sent := r.measuredSent.Load()
		expected := sent * int64(r.expectedReceivers())
		got := r.measuredReceived.Load()
		res.Messages = r.messages(sent, got, expected-got)
		res.Messages.Expected = expected
		if expected > 0 {
			ratio := float64(got) / float64(expected)
			res.DeliveryRatio = &ratio
		}
	}
	if res.Messages != nil && window > 0 {
		res.ThroughputPerS = math.Round(float64(res.Messages.Received)/window.Seconds()*10) / 10
	}
	for name, h := range hists {
		if h.TotalCount() == 0 {
			continue
		}
		if s, err := metrics.Encode(h); err == nil {
			res.Histograms[name] = s
		}
	}
	r.timelineMu.Lock()
	res.Timeline = append([]Second{}, r.timeline...)
	r.timelineMu.Unlock()
	return res
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
