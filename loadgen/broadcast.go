package loadgen

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/wsharness/wsharness/loadgen/metrics"
)

// broadcastScenario has a few connections send at a rate and the server
// relay every message to every connection.
type broadcastScenario struct{}

func (broadcastScenario) name() string { return ScenarioBroadcast }

func (broadcastScenario) kinds() []kindSpec {
	return []kindSpec{{kind: KindBroadcast, primary: FigureFanout,
		measures: "fan-out: from a broadcast's send to each delivery"}}
}

func (broadcastScenario) kindOf(Params) Kind { return KindBroadcast }

func (broadcastScenario) check(c Config) []error {
	var errs []error
	if c.Rate <= 0 {
		errs = append(errs, errors.New("--rate: broadcast needs a rate above 0 (broadcasts/s)"))
	}
	if c.Senders < 1 || c.Senders > c.Conns {
		errs = append(errs, fmt.Errorf("--senders %d: want 1 to --conns (%d)", c.Senders, c.Conns))
	}
	if err := checkSize(c.Size, c.Binary); err != nil {
		errs = append(errs, err)
	}
	return errs
}

func (broadcastScenario) splitError() error {
	return errors.New("broadcast cannot be split over workers or merged: receivers measure fan-out against the sender's clock and must see every broadcast; run it in one process")
}

func (b broadcastScenario) drive(ctx context.Context, r *run) { r.send(ctx, b) }

// senders are the first Senders connections.
func (broadcastScenario) senders(conns []*conn, cfg Config) []*conn {
	var out []*conn
	for _, c := range conns {
		if c.id < cfg.Senders {
			out = append(out, c)
		}
	}
	return out
}

func (broadcastScenario) admit(context.Context, *conn) bool { return true }

// sending starts tracking a measured broadcast until every receiver got it.
func (broadcastScenario) sending(r *run, st stamp) { r.pending.add(st, r.expectedReceivers()) }

func (broadcastScenario) outstanding(r *run) int64 { return int64(r.pending.len()) }

// receive handles one delivery of a broadcast.
func (broadcastScenario) receive(r *run, c *conn, p []byte, at int64) {
	if c.senders == nil { // only this reader touches it
		c.senders = make([]metrics.Sequence, r.cfg.Senders)
	}
	st, err := decodeStamp(p, r.cfg.Binary)
	if err != nil || int(st.id) >= len(c.senders) || len(p) != r.cfg.Size {
		r.unmatched.Add(1)
		return
	}
	if measured, counted := r.count(&c.senders[st.id], st); !measured || !counted {
		return
	}
	r.fanout.Record(c.id, (at-st.sentAtNS)/1000)
	if r.pending.deliver(st) {
		r.completion.Record(int(st.seq), (at-st.sentAtNS)/1000)
	}
}

func (broadcastScenario) timeline(r *run) *metrics.Recorder { return r.fanout }

func (broadcastScenario) fill(r *run, res *Result, _ time.Duration) {
	res.Params.Senders, res.Params.ExcludeSender = r.cfg.Senders, r.cfg.ExcludeSender
	r.keep(res, FigureFanout, r.fanout)
	r.keep(res, FigureCompletion, r.completion)
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

// expectedReceivers is how many deliveries one broadcast should produce.
func (r *run) expectedReceivers() int {
	n := int(r.established.Load())
	if r.cfg.ExcludeSender {
		n--
	}
	return n
}

// pendingSet tracks measured broadcasts until every receiver got them.
type pendingSet struct {
	mu sync.Mutex
	m  map[pendingKey]int // deliveries still expected
}

type pendingKey struct {
	sender uint32
	seq    uint64
}

func newPendingSet() *pendingSet { return &pendingSet{m: map[pendingKey]int{}} }

func (p *pendingSet) add(st stamp, expected int) {
	p.mu.Lock()
	p.m[pendingKey{st.id, st.seq}] = expected
	p.mu.Unlock()
}

// deliver counts one delivery; true when it was the last one expected.
func (p *pendingSet) deliver(st stamp) bool {
	k := pendingKey{st.id, st.seq}
	p.mu.Lock()
	defer p.mu.Unlock()
	left, ok := p.m[k]
	if !ok {
		return false
	}
	if left <= 1 {
		delete(p.m, k)
		return true
	}
	p.m[k] = left - 1
	return false
}

func (p *pendingSet) len() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return len(p.m)
}
