package loadgen

import (
	"context"
	"time"

	"github.com/wsharness/wsharness/loadgen/metrics"
)

// echoScenario sends messages that the server returns to their sender,
// at a scheduled rate or in a closed loop.
type echoScenario struct{}

func (echoScenario) name() string { return ScenarioEcho }

func (echoScenario) kinds() []kindSpec {
	return []kindSpec{
		{kind: KindEchoRate, primary: FigureLatency,
			measures: "latency from the scheduled send (open model, corrected for coordinated omission), less the generator's own lag"},
		{kind: KindEchoClosed, primary: FigureServiceTime,
			measures: "closed loop: service time from the actual send, not corrected for coordinated omission"},
	}
}

func (echoScenario) kindOf(p Params) Kind {
	if p.ClosedLoop || p.Rate == 0 {
		return KindEchoClosed
	}
	return KindEchoRate
}

func (echoScenario) check(c Config) []error {
	if err := checkSize(c.Size, c.Binary); err != nil {
		return []error{err}
	}
	return nil
}

func (echoScenario) splitError() error { return nil }

func (e echoScenario) drive(ctx context.Context, r *run) { r.send(ctx, e) }

func (echoScenario) senders(conns []*conn, _ Config) []*conn { return conns }

// admit takes an in-flight slot; a counted reply frees it.
func (echoScenario) admit(ctx context.Context, c *conn) bool {
	select {
	case c.inflight <- struct{}{}:
		return true
	case <-ctx.Done():
		return false
	case <-c.done:
		return false
	}
}

func (echoScenario) sending(*run, stamp) {}

func (echoScenario) outstanding(r *run) int64 { return r.sent.Load() - r.received.Load() }

// receive handles an echo reply.
func (echoScenario) receive(r *run, c *conn, p []byte, at int64) {
	st, err := decodeStamp(p, r.cfg.Binary)
	if err != nil || int(st.id) != c.id || st.seq >= c.nextSeq.Load() || len(p) != r.cfg.Size {
		r.unmatched.Add(1)
		return
	}
	measured, counted := r.count(&c.seq, st)
	if !counted {
		return
	}
	select { // free the in-flight slot
	case <-c.inflight:
	default:
	}
	if measured {
		r.latency.Record(c.id, (at-st.latencyFrom)/1000)
		r.service.Record(c.id, (at-st.sentAtNS)/1000)
	}
}

func (echoScenario) timeline(r *run) *metrics.Recorder { return r.latency }

func (echoScenario) fill(r *run, res *Result, _ time.Duration) {
	res.Params.ClosedLoop = r.cfg.Rate == 0
	r.keep(res, FigureLatency, r.latency)
	r.keep(res, FigureServiceTime, r.service)
	sent, got := r.measuredSent.Load(), r.measuredReceived.Load()
	res.Messages = r.messages(sent, got, sent-got)
}
