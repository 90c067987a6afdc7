package main

import (
	"strings"
	"testing"

	"github.com/wsharness/wsharness/loadgen"
)

func summaryResult(closedLoop bool) *loadgen.Result {
	r := &loadgen.Result{
		Schema: loadgen.Schema, Scenario: loadgen.ScenarioEcho, Target: "gws", URL: "ws://127.0.0.1:9001/echo",
		Params:      loadgen.Params{Conns: 100, Rate: 1000, Size: 128, DurationMS: 3000},
		Connections: loadgen.Connections{Target: 100, Established: 100},
		Messages:    &loadgen.Messages{Sent: 3000, Received: 3000}, ThroughputPerS: 1000, DurationMS: 3000,
		LatencyUS:     &loadgen.Percentiles{Count: 3000, P50: 600, P90: 900, P99: 1800, P999: 2500, Max: 3000},
		ServiceTimeUS: &loadgen.Percentiles{Count: 3000, P50: 500, P90: 800, P99: 1500, P999: 2000, Max: 2500},
	}
	if closedLoop {
		r.Params.Rate, r.Params.ClosedLoop = 0, true
	}
	return r
}

func TestLoadSummaryGenerator(t *testing.T) {
	limited := summaryResult(false)
	limited.Generator = &loadgen.Generator{
		LagUS: &loadgen.Percentiles{Count: 3000, P50: 350, P90: 1800, P99: 4200, P999: 6000, Max: 7000},
		Late:  93, LagLimitUS: 2000, CPUCores: 1.93, Cores: 2,
		Limited: []loadgen.Limit{
			{Cause: loadgen.LimitSchedule, Detail: "3.1% of sends more than 2ms late by the generator's own fault (lag p99 4.2ms)"},
			{Cause: loadgen.LimitCPU, Detail: "the generator kept 1.93 of its 2 cores busy"},
		},
	}
	out := string(loadSummary(limited))
	for _, want := range []string{
		"generator:   lag p50 350µs p99 4.2ms, 1.93 of 2 cores busy, 93 sends more than 2ms late\n",
		"\nGENERATOR-LIMITED: 3.1% of sends more than 2ms late by the generator's own fault (lag p99 4.2ms); " +
			"the generator kept 1.93 of its 2 cores busy; the figures may describe the generator rather than the server.\n",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("missing %q in\n%s", want, out)
		}
	}
	if !hasRow(out, "generator lag", "3000", "350µs", "1.8ms", "4.2ms") {
		t.Errorf("no generator lag row:\n%s", out)
	}

	kept := summaryResult(false)
	kept.Generator = &loadgen.Generator{LagUS: &loadgen.Percentiles{Count: 3000, P50: 40, P99: 300}, LagLimitUS: 2000, CPUCores: 0.4, Cores: 2}
	if out := string(loadSummary(kept)); strings.Contains(out, "GENERATOR-LIMITED") || !strings.Contains(out, "generator:   lag p50 40µs p99 300µs, 0.40 of 2 cores busy, 0 sends") {
		t.Errorf("a run whose generator kept up:\n%s", out)
	}
	// Written before the generator reported on itself.
	if out := string(loadSummary(summaryResult(false))); strings.Contains(out, "generator:") || strings.Contains(out, "generator lag") || strings.Contains(out, "GENERATOR") {
		t.Errorf("generator lines for a result without a generator section:\n%s", out)
	}
}

// The summary names the workload and what its primary figure measures
// as loadgen does: service time for a closed loop, latency from the
// schedule for the open model.
func TestLoadSummaryKind(t *testing.T) {
	for _, c := range []struct {
		closed      bool
		head, words string
	}{
		{false, "echo 100 conns, 1,000 msg/s, 128 B text against gws (ws://127.0.0.1:9001/echo)\n", "latency from the scheduled send"},
		{true, "echo closed loop 100 conns, 128 B text against gws (ws://127.0.0.1:9001/echo)\n", "service time from the actual send"},
	} {
		r := summaryResult(c.closed)
		out := string(loadSummary(r))
		measures := "measures:    " + r.Kind().Measures() + "\n"
		if !strings.HasPrefix(out, c.head+measures) || !strings.Contains(measures, c.words) {
			t.Errorf("closed loop %v: want it to start %q, %q mentioning %q:\n%s", c.closed, c.head, measures, c.words, out)
		}
	}
}

// hasRow reports whether a line of out has exactly these leading fields.
func hasRow(out string, name string, fields ...string) bool {
	for line := range strings.Lines(out) {
		rest, ok := strings.CutPrefix(strings.TrimSpace(line), name)
		if !ok {
			continue
		}
		f := strings.Fields(rest)
		if len(f) >= len(fields) && strings.Join(f[:len(fields)], " ") == strings.Join(fields, " ") {
			return true
		}
	}
	return false
}
