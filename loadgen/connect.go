package loadgen

import (
	"context"
	"time"

	"github.com/wsharness/wsharness/loadgen/metrics"
)

// connectScenario opens the connections and holds them: it measures
// connection time and the memory a held connection costs.
type connectScenario struct{}

func (connectScenario) name() string { return ScenarioConnect }

func (connectScenario) kinds() []kindSpec {
	return []kindSpec{{kind: KindConnect, primary: FigureConnect,
		measures: "connection time: TCP connect plus opening handshake"}}
}

func (connectScenario) kindOf(Params) Kind { return KindConnect }

func (connectScenario) check(Config) []error { return nil }

func (connectScenario) splitError() error { return nil }

// drive holds the connections open for the duration.
func (connectScenario) drive(ctx context.Context, r *run) {
	r.phase.Store(PhaseHold)
	now := r.now()
	r.sendStart.Store(now)
	r.measureStart.Store(now)
	r.sendEnd.Store(now + int64(r.cfg.Duration))
	sleepUntil(ctx, r.at(r.sendEnd.Load()))
}

// receive ignores what a server sends to a held connection.
func (connectScenario) receive(*run, *conn, []byte, int64) {}

func (connectScenario) timeline(r *run) *metrics.Recorder { return r.connect }

func (connectScenario) fill(_ *run, res *Result, _ time.Duration) {
	res.Params.Size, res.Params.MaxInflight = 0, 0
}
