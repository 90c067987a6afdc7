package loadgen

import (
	"fmt"
	"time"
)

// Worker identifies one worker's part of a load split over several
// processes (containers, Kubernetes pods): worker Index of Count. Each
// worker runs its Share of the configuration; Merge combines their
// results into one.
type Worker struct {
	Index int `json:"index"`
	Count int `json:"count"`
	// StartAt is the start time the workers agreed on, if any; LateMS is
	// how late this worker began against it (0 when on time).
	StartAt *time.Time `json:"start_at,omitempty"`
	LateMS  int64      `json:"late_ms,omitempty"`
}

// The environment variables the load command reads a worker's identity
// from when the flag is not given: containers get them from
// docker-compose, pods from a Kubernetes Indexed Job, which sets
// EnvJobIndex itself (the manifests in docs/kubernetes are tested against
// these names).
const (
	EnvWorkers     = "WSH_WORKERS"          // Count (--workers)
	EnvWorkerIndex = "WSH_WORKER_INDEX"     // Index (--worker-index)
	EnvJobIndex    = "JOB_COMPLETION_INDEX" // Index when EnvWorkerIndex is not set
	EnvStartAt     = "WSH_START_AT"         // StartAt, RFC 3339 (--start-at)
)

// MaxWorkers bounds how many workers a run may be split into.
const MaxWorkers = 1000

// Share returns worker index's part of c, a configuration for count
// workers together: connections are dealt out as evenly as possible (the
// first Conns%count workers take one more), and the message rate and the
// connection ramp are divided by count, so that the workers together
// open c.Conns connections at c.RampPerS and send c.Rate messages/s. A
// closed loop (Rate 0) stays one. The result is validated; count 1 returns
// c itself.
//
// Broadcast cannot be split: a receiver measures fan-out against its
// sender's clock and expects every broadcast of the run, and both live in
// other workers.
func (c Config) Share(index, count int) (Config, error) {
	if count < 1 || count > MaxWorkers {
		return Config{}, fmt.Errorf("--workers %d: want 1 to %d", count, MaxWorkers)
	}
	if index < 0 || index >= count {
		return Config{}, fmt.Errorf("--worker-index %d: want 0 to %d for %d workers", index, count-1, count)
	}
	if count > 1 {
		if s, ok := scenarioNamed(c.Scenario); ok && s.splitError() != nil {
			return Config{}, s.splitError()
		}
		if c.Conns < count {
			return Config{}, fmt.Errorf("--conns %d: fewer connections than --workers %d", c.Conns, count)
		}
		c.Conns = c.Conns/count + boolInt(index < c.Conns%count)
		c.Rate /= float64(count)
		c.RampPerS /= float64(count)
	}
	if err := c.withDefaults().Validate(); err != nil {
		return Config{}, err
	}
	return c, nil
}

func boolInt(b bool) int {
	if b {
		return 1
	}
	return 0
}
