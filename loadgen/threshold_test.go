package loadgen

import (
	"strings"
	"testing"
)

func TestParseThresholdValid(t *testing.T) {
	tests := []struct {
		expr   string
		metric string
		op     string
		value  float64
	}{
		{"p99<20ms", "p99", "<", 20000},
		{"latency.p999<=50ms", "latency.p999", "<=", 50000},
		{"errors==0", "errors", "==", 0},
		{"delivery>=0.999", "delivery", ">=", 0.999},
		{"throughput>=50000", "throughput", ">=", 50000},
		{"connect.p99<100ms", "connect.p99", "<", 100000},
		{"lost==0", "lost", "==", 0},
		{"  p50 <  1.5ms  ", "p50", "<", 1500},
		{"P99<20ms", "p99", "<", 20000},
		{"p90 > 2 us", "p90", ">", 2},
		{"max!=0s", "max", "!=", 0},
		{"mean>=.5ms", "mean", ">=", 500},
		{"service.mean<1e3us", "service.mean", "<", 1000},
		{"fanout.p50<3ms", "fanout.p50", "<", 3000},
		{"completion.max<=2s", "completion.max", "<=", 2e6},
		{"failed<=+3", "failed", "<=", 3},
		{"established>=1e4", "established", ">=", 10000},
		{"duplicated==0", "duplicated", "==", 0},
		{"out_of_order==0", "out_of_order", "==", 0},
		// units
		{"p99<1500ns", "p99", "<", 1.5},
		{"p99<20us", "p99", "<", 20},
		{"p99<20µs", "p99", "<", 20}, // micro sign
		{"p99<20μs", "p99", "<", 20}, // Greek mu
		{"p99<20ms", "p99", "<", 20000},
		{"p99<0.25s", "p99", "<", 250000},
	}
	for _, tc := range tests {
		t.Run(tc.expr, func(t *testing.T) {
			th, err := ParseThreshold(tc.expr)
			if err != nil {
				t.Fatalf("ParseThreshold(%q): %v", tc.expr, err)
			}
			if th.Expr != strings.TrimSpace(tc.expr) {
				t.Errorf("Expr = %q, want %q", th.Expr, strings.TrimSpace(tc.expr))
			}
			if th.Metric != tc.metric || th.Op != tc.op {
				t.Errorf("got metric %q op %q, want %q %q", th.Metric, th.Op, tc.metric, tc.op)
			}
			if diff := th.Value - tc.value; diff > 1e-9 || diff < -1e-9 {
				t.Errorf("Value = %v, want %v", th.Value, tc.value)
			}
		})
	}
}

func TestParseThresholdInvalid(t *testing.T) {
	tests := []struct {
		expr string
		want []string // substrings of the error
	}{
		{"", []string{"empty threshold"}},
		{"   ", []string{"empty threshold"}},
		{"p99 20ms", []string{"no operator", "<="}},
		{"p99=20ms", []string{`operator "="`, "use =="}},
		{"p99=<20ms", []string{`operator "=<"`}},
		{"p99<<20ms", []string{`operator "<<"`}},
		{"p99!20ms", []string{`operator "!"`}},
		{"<20ms", []string{"missing metric", "valid metrics"}},
		{"p99<", []string{"missing value"}},
		{"p99<  ", []string{"missing value"}},
		{"p99<20ms<30ms", []string{"more than one operator"}},
		{"p99<20", []string{"p99<20: add a unit, e.g. 20ms"}},
		{"latency.p999<=50", []string{"add a unit, e.g. 50ms"}},
		{"p99<20m", []string{`unknown unit "m"`}},
		{"p99<20msec", []string{`unknown unit "msec"`}},
		{"p99<20h", []string{`unknown unit "h"`}},
		{"p99<-5ms", []string{"negative"}},
		{"p99<fast", []string{"not a number"}},
		{"p99<.ms", []string{"not a number"}},
		{"p99<1.2.3ms", []string{"not a number"}},
		{"errors==zero", []string{"not a number"}},
		{"delivery>=NaN", []string{"not a number"}},
		{"throughput>=Inf", []string{"not a number"}},
		{"errors==0ms", []string{"plain number", "drop the unit"}},
		{"delivery>=99.9%", []string{"plain number"}},
		{"throughput>=50k", []string{"plain number"}},
		{"p95<20ms", []string{`unknown metric "p95"`, "valid metrics", "p999", "completion.", "out_of_order"}},
		{"latency<20ms", []string{`unknown metric "latency"`, "valid metrics"}},
		{"foo.p99<20ms", []string{`unknown metric "foo.p99"`}},
		{"latency.p95<20ms", []string{`unknown metric "latency.p95"`}},
		{"latency.p99.p50<20ms", []string{`unknown metric`}},
		{"warnings==0", []string{`unknown metric "warnings"`, "valid metrics", "errors"}},
	}
	for _, tc := range tests {
		t.Run(tc.expr, func(t *testing.T) {
			th, err := ParseThreshold(tc.expr)
			if err == nil {
				t.Fatalf("ParseThreshold(%q) = %+v, want an error", tc.expr, th)
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not mention %q", err, w)
				}
			}
		})
	}
}

func ratio(v float64) *float64 { return &v }

func echoResult() *Result {
	return &Result{
		Schema:   Schema,
		Scenario: "echo",
		Params:   Params{Conns: 100, Rate: 4000},
		Connections: Connections{
			Target: 100, Established: 97, Failed: 3, Dropped: 2,
		},
		Messages: &Messages{
			Sent: 1000, Received: 990, Lost: 7, Duplicated: 4, OutOfOrder: 5, Errors: 6,
		},
		ThroughputPerS:   50000,
		LatencyUS:        &Percentiles{Count: 990, Mean: 1234.5, P50: 1000, P90: 2000, P99: 3000, P999: 4000, Max: 5000},
		ServiceTimeUS:    &Percentiles{Count: 990, Mean: 111.5, P50: 100, P90: 200, P99: 300, P999: 400, Max: 500},
		ConnectLatencyUS: &Percentiles{Count: 97, Mean: 22.5, P50: 10, P90: 20, P99: 30, P999: 40, Max: 50},
	}
}

// The primary latency is the one every report leads with: the open
// model's latency, the closed loop's service time; the generator's own
// figures can be checked too.
func TestThresholdPrimaryAndGenerator(t *testing.T) {
	closed := echoResult()
	closed.Params = Params{Conns: 100, ClosedLoop: true}
	limited := echoResult()
	limited.Generator = &Generator{LagUS: &Percentiles{Count: 990, P50: 500, P99: 4000}, Limited: []Limit{{Cause: LimitSchedule, Detail: "late"}}}
	kept := echoResult()
	kept.Generator = &Generator{LagUS: &Percentiles{Count: 990, P50: 500, P99: 1100}}
	for _, tc := range []struct {
		expr  string
		r     *Result
		value float64
	}{
		{"p99<1s", echoResult(), 3000},
		{"p99<1s", closed, 300},
		{"generator_limited==0", limited, 1},
		{"generator_limited==0", kept, 0},
		{"lag.p99<1s", kept, 1100},
	} {
		th, err := ParseThreshold(tc.expr)
		if err != nil {
			t.Fatal(err)
		}
		res, err := th.Eval(tc.r)
		if err != nil {
			t.Fatalf("%s: %v", tc.expr, err)
		}
		if res.Value != tc.value {
			t.Errorf("%s: observed %v, want %v", tc.expr, res.Value, tc.value)
		}
	}
	th, _ := ParseThreshold("generator_limited==0")
	if _, err := th.Eval(echoResult()); err == nil {
		t.Error("generator_limited on a result without generator figures passed")
	}
}

func broadcastResult() *Result {
	return &Result{
		Schema:      Schema,
		Scenario:    "broadcast",
		Connections: Connections{Target: 10, Established: 10},
		Messages: &Messages{
			Sent: 10, Received: 99, Expected: 100, Lost: 1,
		},
		ThroughputPerS:     990,
		ConnectLatencyUS:   &Percentiles{Count: 10, Mean: 5, P50: 5, P90: 6, P99: 7, P999: 8, Max: 9},
		FanoutLatencyUS:    &Percentiles{Count: 99, Mean: 700.25, P50: 600, P90: 800, P99: 900, P999: 950, Max: 999},
		FanoutCompletionUS: &Percentiles{Count: 10, Mean: 1500, P50: 1400, P90: 1600, P99: 1700, P999: 1800, Max: 1900},
		DeliveryRatio:      ratio(0.99),
	}
}

func connectResult() *Result {
	return &Result{
		Schema:           Schema,
		Scenario:         "connect",
		Connections:      Connections{Target: 1000, Established: 990, Failed: 8, Dropped: 1},
		ConnectLatencyUS: &Percentiles{Count: 998, Mean: 3000.5, P50: 2500, P90: 4000, P99: 9000, P999: 12000, Max: 15000},
	}
}

func TestThresholdEvalMetrics(t *testing.T) {
	tests := []struct {
		name   string
		r      *Result
		metric string
		want   float64
	}{
		// primary latency, per scenario
		{"echo", echoResult(), "p50", 1000},
		{"echo", echoResult(), "p90", 2000},
		{"echo", echoResult(), "p99", 3000},
		{"echo", echoResult(), "p999", 4000},
		{"echo", echoResult(), "max", 5000},
		{"echo", echoResult(), "mean", 1234.5},
		{"broadcast", broadcastResult(), "p50", 600},
		{"broadcast", broadcastResult(), "p99", 900},
		{"broadcast", broadcastResult(), "mean", 700.25},
		{"connect", connectResult(), "p99", 9000},
		{"connect", connectResult(), "max", 15000},
		// prefixed histograms
		{"echo", echoResult(), "latency.p999", 4000},
		{"echo", echoResult(), "service.p99", 300},
		{"echo", echoResult(), "service.mean", 111.5},
		{"echo", echoResult(), "connect.p90", 20},
		{"broadcast", broadcastResult(), "fanout.p90", 800},
		{"broadcast", broadcastResult(), "completion.p999", 1800},
		{"broadcast", broadcastResult(), "completion.max", 1900},
		{"broadcast", broadcastResult(), "connect.p50", 5},
		{"connect", connectResult(), "connect.p50", 2500},
		// counts and ratios
		{"echo", echoResult(), "errors", 6 + 3 + 2},
		{"echo", echoResult(), "lost", 7},
		{"echo", echoResult(), "duplicated", 4},
		{"echo", echoResult(), "out_of_order", 5},
		{"echo", echoResult(), "throughput", 50000},
		{"echo", echoResult(), "failed", 3},
		{"echo", echoResult(), "established", 97},
		{"broadcast", broadcastResult(), "delivery", 0.99},
		{"broadcast", broadcastResult(), "lost", 1},
		{"broadcast", broadcastResult(), "throughput", 990},
		{"broadcast", broadcastResult(), "errors", 0},
		{"connect", connectResult(), "errors", 8 + 1}, // no message counts
		{"connect", connectResult(), "failed", 8},
		{"connect", connectResult(), "established", 990},
	}
	for _, tc := range tests {
		t.Run(tc.name+"/"+tc.metric, func(t *testing.T) {
			th := Threshold{Expr: tc.metric + ">=0", Metric: tc.metric, Op: ">=", Value: 0}
			res, err := th.Eval(tc.r)
			if err != nil {
				t.Fatalf("Eval: %v", err)
			}
			if res.Value != tc.want {
				t.Errorf("Value = %v, want %v", res.Value, tc.want)
			}
			if res.Expr != th.Expr || !res.Passed {
				t.Errorf("got %+v, want Expr %q and Passed", res, th.Expr)
			}
		})
	}
}

func TestThresholdEvalMissing(t *testing.T) {
	noSamples := echoResult()
	noSamples.LatencyUS = &Percentiles{}
	noLatency := echoResult()
	noLatency.LatencyUS = nil
	unknownScenario := echoResult()
	unknownScenario.Scenario = "soak"

	tests := []struct {
		name string
		r    *Result
		expr string
		want string
	}{
		{"delivery on echo", echoResult(), "delivery>=0.999", "no delivery_ratio"},
		{"nil latency", noLatency, "p99<20ms", "no latency_us"},
		{"nil latency prefixed", noLatency, "latency.p99<20ms", "no latency_us"},
		{"empty histogram", noSamples, "p99<20ms", "no samples"},
		{"fanout on echo", echoResult(), "fanout.p99<20ms", "no fanout_latency_us"},
		{"completion on echo", echoResult(), "completion.p99<20ms", "no fanout_completion_us"},
		{"service on broadcast", broadcastResult(), "service.p99<20ms", "no service_time_us"},
		{"latency on broadcast", broadcastResult(), "latency.max<20ms", "no latency_us"},
		{"lost on connect", connectResult(), "lost==0", "no message counts"},
		{"duplicated on connect", connectResult(), "duplicated==0", "no message counts"},
		{"out_of_order on connect", connectResult(), "out_of_order==0", "no message counts"},
		{"throughput on connect", connectResult(), "throughput>=1", "no message throughput"},
		{"delivery on connect", connectResult(), "delivery>=1", "no delivery_ratio"},
		{"primary on unknown scenario", unknownScenario, "p99<20ms", `scenario "soak" has no primary latency`},
		{"nil result", nil, "errors==0", "no result"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			th, err := ParseThreshold(tc.expr)
			if err != nil {
				t.Fatal(err)
			}
			res, err := th.Eval(tc.r)
			if err == nil {
				t.Fatalf("Eval = %+v, want an error", res)
			}
			if !strings.Contains(err.Error(), tc.want) || !strings.Contains(err.Error(), tc.expr) {
				t.Errorf("error %q should mention %q and the expression", err, tc.want)
			}
			if res.Passed {
				t.Errorf("a missing metric passed: %+v", res)
			}
		})
	}

	// The primary histogram of an unknown scenario is missing, but a
	// named one works.
	th, _ := ParseThreshold("latency.p99<20ms")
	if res, err := th.Eval(unknownScenario); err != nil || !res.Passed || res.Value != 3000 {
		t.Errorf("latency.p99 on scenario soak = %+v, %v", res, err)
	}
}

func TestThresholdOperators(t *testing.T) {
	// echo p99 is 3000us = 3ms; errors is 11.
	tests := []struct {
		expr string
		pass bool
	}{
		{"p99<3ms", false},
		{"p99<3001us", true},
		{"p99<=3ms", true},
		{"p99<=2999us", false},
		{"p99>3ms", false},
		{"p99>2.999ms", true},
		{"p99>=3ms", true},
		{"p99>=3000001ns", false},
		{"p99==3ms", true},
		{"p99==3000us", true},
		{"p99==0.003s", true},
		{"p99==3.5ms", false},
		{"p99!=3ms", false},
		{"p99!=4ms", true},
		{"errors<11", false},
		{"errors<12", true},
		{"errors<=11", true},
		{"errors>10", true},
		{"errors>11", false},
		{"errors>=11", true},
		{"errors==11", true},
		{"errors==0", false},
		{"errors!=0", true},
		{"errors!=11", false},
		{"throughput>=50000", true},
		{"throughput>50000", false},
	}
	for _, tc := range tests {
		t.Run(tc.expr, func(t *testing.T) {
			th, err := ParseThreshold(tc.expr)
			if err != nil {
				t.Fatal(err)
			}
			res, err := th.Eval(echoResult())
			if err != nil {
				t.Fatal(err)
			}
			if res.Passed != tc.pass {
				t.Errorf("Passed = %v, want %v (observed %v, limit %v)", res.Passed, tc.pass, res.Value, th.Value)
			}
		})
	}

	bad := Threshold{Expr: "p99~3ms", Metric: "p99", Op: "~", Value: 3000}
	if _, err := bad.Eval(echoResult()); err == nil {
		t.Error("Eval with operator ~ succeeded")
	}
	unknown := Threshold{Expr: "p95<3ms", Metric: "p95", Op: "<", Value: 3000}
	if _, err := unknown.Eval(echoResult()); err == nil || !strings.Contains(err.Error(), "valid metrics") {
		t.Errorf("Eval with metric p95: %v", err)
	}
}

func TestEvalAll(t *testing.T) {
	var ts []Threshold
	for _, e := range []string{"p99<20ms", "p50<500us", "errors==0", "delivery>=0.999", "throughput>=1000"} {
		th, err := ParseThreshold(e)
		if err != nil {
			t.Fatal(err)
		}
		ts = append(ts, th)
	}
	results, failed, err := EvalAll(ts, echoResult())
	if len(results) != len(ts) {
		t.Fatalf("got %d results, want %d", len(results), len(ts))
	}
	wantPassed := []bool{true, false, false, false, true}
	wantValue := []float64{3000, 1000, 11, 0, 50000}
	for i, res := range results {
		if res.Expr != ts[i].Expr || res.Passed != wantPassed[i] || res.Value != wantValue[i] {
			t.Errorf("results[%d] = %+v, want Expr %q Passed %v Value %v",
				i, res, ts[i].Expr, wantPassed[i], wantValue[i])
		}
	}
	wantFailed := []string{
		"p50<500us: observed 1ms",
		"errors==0: observed 11",
		`threshold "delivery>=0.999": the echo result has no delivery_ratio`,
	}
	if strings.Join(failed, "\n") != strings.Join(wantFailed, "\n") {
		t.Errorf("failed =\n%s\nwant\n%s", strings.Join(failed, "\n"), strings.Join(wantFailed, "\n"))
	}
	if err == nil || !strings.Contains(err.Error(), "delivery_ratio") {
		t.Errorf("err = %v, want the missing delivery_ratio", err)
	}

	// All passing: no failures, no error.
	results, failed, err = EvalAll(ts[:1], echoResult())
	if err != nil || len(failed) != 0 || len(results) != 1 || !results[0].Passed {
		t.Errorf("EvalAll(p99<20ms) = %+v, %q, %v", results, failed, err)
	}
	// None at all.
	results, failed, err = EvalAll(nil, echoResult())
	if err != nil || len(failed) != 0 || len(results) != 0 {
		t.Errorf("EvalAll(nil) = %+v, %q, %v", results, failed, err)
	}
}

func TestThresholdFormatValue(t *testing.T) {
	th, _ := ParseThreshold("mean<1ms")
	if got := th.formatValue(1234.5); got != "1.2345ms" {
		t.Errorf("formatValue(1234.5us) = %q", got)
	}
	th, _ = ParseThreshold("throughput>=1")
	if got := th.formatValue(1234567); got != "1234567" {
		t.Errorf("formatValue(1234567) = %q", got)
	}
}
