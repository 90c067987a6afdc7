package bench

import (
	"strings"
	"testing"

	"github.com/wsharness/wsharness/loadgen"
)

func h2cmpResult(p50, p99 int64, tcp int, limited bool) *loadgen.Result {
	r := &loadgen.Result{
		Schema: loadgen.Schema, Scenario: loadgen.ScenarioEcho, Target: DefaultH2Target,
		Params:      loadgen.Params{Conns: 100, Rate: 400, Size: 128, DurationMS: 2000, WarmupMS: 500},
		Connections: loadgen.Connections{Target: 100, Established: 100, TCP: tcp},
		LatencyUS:   &loadgen.Percentiles{Count: 800, P50: p50, P99: p99, P999: p99},
		Generator:   &loadgen.Generator{Cores: 2, CPUCores: 0.1, LagUS: &loadgen.Percentiles{Count: 800, P50: 50, P99: 100}},
	}
	if limited {
		r.Generator.Limited = []loadgen.Limit{{Cause: loadgen.LimitCPU, Detail: "1.9 of 2 cores busy"}}
	}
	return r
}

// The comparison shows each transport's medians and the medians of the
// per-run ratios to HTTP/1.1, counts only runs with all three, and names
// the runs the generator limited.
func TestH2Comparison(t *testing.T) {
	runs := map[int][]*loadgen.Result{
		1: {h2cmpResult(100, 1000, 100, false), h2cmpResult(200, 2000, 100, false), h2cmpResult(300, 1500, 10, false)},
		2: {h2cmpResult(100, 1000, 100, false), h2cmpResult(100, 1000, 100, false), h2cmpResult(100, 3000, 10, true)},
		3: {h2cmpResult(100, 1000, 100, false), nil, nil}, // incomplete: left out
	}
	out := string(h2Comparison(runs))
	for _, want := range []string{
		"| | HTTP/1.1 | HTTP/2, 1 stream/conn | HTTP/2, 10 streams/conn | 1 stream/conn ÷ HTTP/1.1 | 10 streams/conn ÷ HTTP/1.1 |",
		"| echo latency p50 | 100 µs | 100 µs | 100 µs | 1.00 | 1.00 |",
		"| echo latency p99 | 1.00 ms | 1.00 ms | 1.50 ms | 1.00 | 1.50 |",
		"| TCP connections | 100 | 100 | 10 | 1.00 | 0.10 |",
		"Medians over 2 complete runs",
		"run 2 HTTP/2, 10 streams/conn: ",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("no %q in\n%s", want, out)
		}
	}
	if h2Comparison(map[int][]*loadgen.Result{1: {nil, nil, nil}}) != nil {
		t.Error("a comparison without a complete run")
	}
}
