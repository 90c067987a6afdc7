package loadgen

import "github.com/wsharness/wsharness/loadgen/metrics"

// count classifies a matched message on its stream and updates the
// counters. counted is false for a duplicate; measured says the message
// was due in the measured window. Like Sent, Received and Lost, duplicates
// and late replies count only for messages due in that window.
func (r *run) count(seq *metrics.Sequence, st stamp) (measured, counted bool) {
	measured = st.measured
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
