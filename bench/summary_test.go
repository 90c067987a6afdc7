package bench

import (
	"strings"
	"testing"

	"github.com/wsharness/wsharness/loadgen"
)

func progressEcho(closedLoop bool) *loadgen.Result {
	r := &loadgen.Result{
		Schema: loadgen.Schema, Scenario: loadgen.ScenarioEcho, Target: "gws",
		Params:      loadgen.Params{Conns: 1000, Rate: 4000, Size: 128},
		Connections: loadgen.Connections{Target: 1000, Established: 1000},
		Messages:    &loadgen.Messages{Sent: 40000, Received: 40000}, ThroughputPerS: 4000,
		// Different figures, so that the line shows which one it took.
		LatencyUS:     &loadgen.Percentiles{Count: 40000, P50: 700, P99: 2000, P999: 5000},
		ServiceTimeUS: &loadgen.Percentiles{Count: 40000, P50: 600, P99: 1500, P999: 3000},
	}
	if closedLoop {
		r.Params.Rate, r.Params.ClosedLoop = 0, true
	}
	return r
}

// The progress line leads with loadgen's primary figure and carries the
// generator's own figures and, when it fell behind, the mark.
func TestSummaryProgressLine(t *testing.T) {
	if got := progressLine(progressEcho(false)); !strings.Contains(got, "4,000 replies/s, latency p50 700 µs p99 2.00 ms p99.9 5.00 ms") {
		t.Errorf("open model: %q", got)
	}
	if got := progressLine(progressEcho(true)); !strings.Contains(got, "service time p50 600 µs p99 1.50 ms p99.9 3.00 ms") {
		t.Errorf("closed loop: %q", got)
	}
	if got := progressLine(progressEcho(false)); strings.Contains(got, "generator") {
		t.Errorf("generator figures for a result without a generator section: %q", got)
	}

	r := progressEcho(false)
	r.Generator = &loadgen.Generator{LagUS: &loadgen.Percentiles{Count: 40000, P50: 40, P99: 310}, LagLimitUS: 2000, Late: 1200, CPUCores: 0.42, Cores: 2}
	got := progressLine(r)
	if !strings.Contains(got, "generator lag p99 310 µs, generator CPU 0.42 of 2 cores, 1,200 late sends") || strings.Contains(got, "generator-limited") {
		t.Errorf("generator kept up: %q", got)
	}
	r.Generator.CPUCores = 1.93
	r.Generator.Limited = []loadgen.Limit{{Cause: loadgen.LimitCPU, Detail: "the generator kept 1.93 of its 2 cores busy"}}
	if got := progressLine(r); !strings.HasSuffix(got, ", generator-limited (cpu)") {
		t.Errorf("generator-limited: %q", got)
	}
}
