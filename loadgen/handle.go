package loadgen

import (
	"sync"

	"github.com/wsharness/wsharness/loadgen/metrics"
)

// onEcho handles an echo reply.
func (r *run) onEcho(c *conn, p []byte, at int64) {
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
		r.latency.Record(c.id, (at-st.intended)/1000)
		r.service.Record(c.id, (at-st.sentAtNS)/1000)
	}
}

// onBroadcast handles one delivery of a broadcast.
func (r *run) onBroadcast(c *conn, p []byte, at int64) {
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

// count classifies a matched message on its stream and updates the
// counters. counted is false for a duplicate; measured says the message
// was due in the measured window. Like Sent, Received and Lost, duplicates
// and late replies count only for messages due in that window.
func (r *run) count(seq *metrics.Sequence, st stamp) (measured, counted bool) {
	measured = r.inWindow(st)
	switch seq.Observe(st.seq) {
	case metrics.Duplicate:
		if measured {
			r.duplicated.Add(1)
		}
		return measured, false
	case metrics.OutOfOrder:
		if measured {
			r.outOfOrder.Add(1)
		}
	}
	r.received.Add(1)
	if measured {
		r.measuredReceived.Add(1)
	} else {
		r.notMeasured.Add(1)
	}
	return measured, true
}

// inWindow reports whether a message was due in the measured window.
func (r *run) inWindow(st stamp) bool {
	return st.intended >= r.measureStart.Load() && st.intended < r.sendEnd.Load()
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
