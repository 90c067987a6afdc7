package reports

import (
	"strings"
	"testing"

	"github.com/wsharness/wsharness/internal/testtext"
	"github.com/wsharness/wsharness/loadgen"
)

// runResult is an echo run whose latency and service time differ, so
// that a rendering showing the wrong figure shows the wrong number.
func runResult(closedLoop bool) *loadgen.Result {
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
	limited := runResult(false)
	limited.Generator = &loadgen.Generator{
		LagUS: &loadgen.Percentiles{Count: 3000, P50: 350, P90: 1800, P99: 4200, P999: 6000, Max: 7000},
		Late:  93, LagLimitUS: 2000, CPUCores: 1.93, Cores: 2,
		Limited: []loadgen.Limit{
			{Cause: loadgen.LimitSchedule, Detail: "3.1% of sends more than 2ms late by the generator's own fault (lag p99 4.2ms)"},
			{Cause: loadgen.LimitCPU, Detail: "the generator kept 1.93 of its 2 cores busy"},
		},
	}
	out := string(LoadSummary(limited))
	testtext.Contains(t, "summary", out,
		"generator:   lag p50 350 µs p99 4.20 ms, 1.93 of 2 cores busy, 93 sends more than 2.00 ms late\n",
		"\nGENERATOR-LIMITED: 3.1% of sends more than 2ms late by the generator's own fault (lag p99 4.2ms); "+
			"the generator kept 1.93 of its 2 cores busy; the figures may describe the generator rather than the server.\n")
	if !hasRow(out, "generator lag", "3000", "350 µs", "1.80 ms", "4.20 ms") {
		t.Errorf("no generator lag row:\n%s", out)
	}

	kept := runResult(false)
	kept.Generator = &loadgen.Generator{LagUS: &loadgen.Percentiles{Count: 3000, P50: 40, P99: 300}, LagLimitUS: 2000, CPUCores: 0.4, Cores: 2}
	if out := string(LoadSummary(kept)); strings.Contains(out, "GENERATOR-LIMITED") || !strings.Contains(out, "generator:   lag p50 40 µs p99 300 µs, 0.40 of 2 cores busy, 0 sends") {
		t.Errorf("a run whose generator kept up:\n%s", out)
	}
	// Written before the generator reported on itself.
	if out := string(LoadSummary(runResult(false))); strings.Contains(out, "generator:") || strings.Contains(out, "generator lag") || strings.Contains(out, "GENERATOR") {
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
		r := runResult(c.closed)
		out := string(LoadSummary(r))
		measures := "measures:    " + r.Kind().Measures() + "\n"
		if !strings.HasPrefix(out, c.head+measures) || !strings.Contains(measures, c.words) {
			t.Errorf("closed loop %v: want it to start %q, %q mentioning %q:\n%s", c.closed, c.head, measures, c.words, out)
		}
	}
}

// hasRow reports whether a line of out, split at runs of two or more
// spaces (the table's column gaps), has exactly these leading cells.
func hasRow(out string, name string, cells ...string) bool {
	for line := range strings.Lines(out) {
		rest, ok := strings.CutPrefix(strings.TrimSpace(line), name)
		if !ok {
			continue
		}
		var got []string
		for _, c := range strings.Split(strings.TrimSpace(rest), "  ") {
			if c = strings.TrimSpace(c); c != "" {
				got = append(got, c)
			}
		}
		if len(got) >= len(cells) && strings.Join(got[:len(cells)], "|") == strings.Join(cells, "|") {
			return true
		}
	}
	return false
}

// The line per run leads with loadgen's primary figure and carries the
// generator's own figures and, when it fell behind, the mark.
func TestLoadLine(t *testing.T) {
	echo := func(closedLoop bool) *loadgen.Result {
		r := runResult(closedLoop)
		r.Params.Conns, r.Params.Rate = 1000, 4000
		r.ThroughputPerS = 4000
		r.LatencyUS = &loadgen.Percentiles{Count: 40000, P50: 700, P99: 2000, P999: 5000}
		r.ServiceTimeUS = &loadgen.Percentiles{Count: 40000, P50: 600, P99: 1500, P999: 3000}
		if closedLoop {
			r.Params.Rate = 0
		}
		return r
	}
	if got := LoadLine(echo(false)); !strings.Contains(got, "4,000 replies/s, latency p50 700 µs p99 2.00 ms p99.9 5.00 ms") {
		t.Errorf("open model: %q", got)
	}
	if got := LoadLine(echo(true)); !strings.Contains(got, "service time p50 600 µs p99 1.50 ms p99.9 3.00 ms") {
		t.Errorf("closed loop: %q", got)
	}
	if got := LoadLine(echo(false)); strings.Contains(got, "generator") {
		t.Errorf("generator figures for a result without a generator section: %q", got)
	}

	r := echo(false)
	r.Generator = &loadgen.Generator{LagUS: &loadgen.Percentiles{Count: 40000, P50: 40, P99: 310}, LagLimitUS: 2000, Late: 1200, CPUCores: 0.42, Cores: 2}
	got := LoadLine(r)
	if !strings.Contains(got, "generator lag p99 310 µs, generator CPU 0.42 of 2 cores, 1,200 late sends") || strings.Contains(got, "generator-limited") {
		t.Errorf("generator kept up: %q", got)
	}
	r.Generator.CPUCores = 1.93
	r.Generator.Limited = []loadgen.Limit{{Cause: loadgen.LimitCPU, Detail: "the generator kept 1.93 of its 2 cores busy"}}
	if got := LoadLine(r); !strings.HasSuffix(got, ", generator-limited (cpu)") {
		t.Errorf("generator-limited: %q", got)
	}
}
