package loadgen

import "cmp"

// Kind is what a load result is: its workload shape, which decides the
// figure it leads with and where it sorts among other results. Every
// threshold, summary and report asks the result for its kind, its
// primary figure and its order here, and nowhere else.
type Kind string

// Kinds of result, in report order.
const (
	KindEchoRate   Kind = "echo-rate"   // echo at a scheduled rate (open model)
	KindEchoClosed Kind = "echo-closed" // echo in a closed loop
	KindBroadcast  Kind = "broadcast"
	KindConnect    Kind = "connect"
	// KindOther is a result of a scenario this build does not know.
	KindOther Kind = "other"
)

// kindSpec says what a kind of result leads with.
type kindSpec struct {
	kind    Kind
	primary Figure
	// measures says in a few words what the primary figure measures.
	measures string
}

// Kind classifies the result by its scenario and parameters.
func (r *Result) Kind() Kind {
	if s, ok := scenarioNamed(r.Scenario); ok {
		return s.kindOf(r.Params)
	}
	return KindOther
}

func (k Kind) spec() (kindSpec, int, bool) {
	rank := 0
	for _, s := range registry {
		for _, ks := range s.kinds() {
			if ks.kind == k {
				return ks, rank, true
			}
			rank++
		}
	}
	return kindSpec{kind: k}, rank, false
}

// Primary is the figure the result leads with (the open model's latency,
// the closed loop's service time, broadcast fan-out, connection time), and
// its summary; ok is false for a kind without one.
func (r *Result) Primary() (f Figure, p *Percentiles, ok bool) {
	spec, _, known := r.Kind().spec()
	if !known {
		return Figure{}, nil, false
	}
	return spec.primary, spec.primary.Of(r), true
}

// Measures says in a few words what the kind's primary figure measures,
// e.g. "latency from the scheduled send, less the generator's own lag".
func (k Kind) Measures() string {
	spec, _, _ := k.spec()
	return spec.measures
}

// Compare orders results for reports: by kind (open-model echo, closed
// loop, broadcast, connect, others), then connections, then rate.
func Compare(a, b *Result) int {
	_, ra, _ := a.Kind().spec()
	_, rb, _ := b.Kind().spec()
	return cmp.Or(cmp.Compare(ra, rb), cmp.Compare(a.Params.Conns, b.Params.Conns), cmp.Compare(a.Params.Rate, b.Params.Rate))
}
