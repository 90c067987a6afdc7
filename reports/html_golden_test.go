package reports

import (
	"bytes"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/wsharness/wsharness/loadgen"
	"github.com/wsharness/wsharness/loadgen/metrics/metricstest"
	"github.com/wsharness/wsharness/results"
	"github.com/wsharness/wsharness/wire"
)

// -update rewrites the golden files: go test ./reports -run Golden -update.
// Registered only if no other test file of the package did, so that the
// package's golden tests can share it.
var _ = func() bool {
	if flag.Lookup("update") == nil {
		flag.Bool("update", false, "rewrite the golden files in testdata")
	}
	return true
}()

func htmlUpdateGolden() bool {
	f := flag.Lookup("update")
	return f != nil && f.Value.String() == "true"
}

var htmlGoldenTime = time.Date(2026, 11, 21, 12, 0, 0, 0, time.UTC)

func htmlGoldenCase(id, family, title string, verdict results.Verdict, closeVerdict results.CloseVerdict, code int, observed string) results.Case {
	c := results.Case{
		ID: id, Family: family, Title: title, RFC: "RFC 6455 §5.2",
		Description: "Send " + title + ".", Expectation: "The server MUST echo it, then close cleanly with 1000.",
		Verdict: verdict, CloseVerdict: closeVerdict, DurationMS: 1.25, Observed: observed,
		Events: []string{`text(5) "Hello"`},
		Wirelog: []wire.Entry{
			{AtMS: 0.1, Dir: "--", Note: "TCP connected to 127.0.0.1:9001"},
			{AtMS: 0.4, Dir: "tx", Frame: &wire.FrameInfo{Fin: true, Opcode: 1, OpName: "text", Masked: true, Key: "37fa213d", Length: 5, PayloadHex: "48656c6c6f", PayloadText: "Hello"}},
			{AtMS: 0.9, Dir: "rx", Frame: &wire.FrameInfo{Fin: true, Opcode: 1, OpName: "text", Length: 5, PayloadHex: "48656c6c6f", PayloadText: "Hello"}},
			{AtMS: 1.1, Dir: "rx", Frame: &wire.FrameInfo{Fin: true, Opcode: 8, OpName: "close", Length: 2, PayloadHex: "03e8", PayloadText: `\x03\xe8`, Truncated: true}},
			{AtMS: 1.2, Dir: "--", Note: "TCP closed by the server"},
		},
		Handshake: results.Handshake{
			Request:  "GET /echo HTTP/1.1\r\nHost: 127.0.0.1:9001\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n",
			Response: "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n",
		},
	}
	if code != 0 {
		c.RemoteCloseCode = &code
		c.RemoteCloseReason = "bye"
	}
	return c
}

func htmlGoldenInput(t *testing.T) Input {
	alpha := results.Target{Name: "alpha", URL: "ws://127.0.0.1:9001/echo", Agent: "alpha/1.0", Library: "example.org/alpha v1.0.0", Cases: []results.Case{
		htmlGoldenCase("0.1", "handshake", "valid opening handshake", results.OK, results.CloseOK, 1000, "as expected"),
		htmlGoldenCase("1.1.1", "framing", "text message, 0-byte payload", results.OK, results.CloseOK, 1000, "as expected"),
		htmlGoldenCase("1.1.2", "framing", "text message, 125-byte payload", results.NonStrict, results.CloseWrongCode, 1002, "RFC 6455 §7.4.1: expected 1000, got 1002"),
		htmlGoldenCase("2.1", "pingpong", "ping without payload", results.Informational, results.CloseOK, 1000, "the RFC leaves this open"),
		htmlGoldenCase("12.1.1", "compression", "permessage-deflate", results.Unimplemented, results.CloseOK, 1000, "not negotiated"),
	}}
	beta := results.Target{Name: "beta", URL: "ws://127.0.0.1:9002/echo", Agent: "beta", Cases: []results.Case{
		htmlGoldenCase("0.1", "handshake", "valid opening handshake", results.OK, results.CloseOK, 1000, "as expected"),
		htmlGoldenCase("1.1.1", "framing", "text message, 0-byte payload", results.Failed, results.CloseUnclean, 0, "RFC 6455 §5.5.1: no Close in reply"),
		htmlGoldenCase("1.1.2", "framing", "text message, 125-byte payload", results.OK, results.CloseOK, 1000, "as expected"),
		htmlGoldenCase("2.1", "pingpong", "ping without payload", results.Failed, results.CloseFailed, 0, "RFC 6455 §5.5.2: no Pong"),
	}}
	beta.Cases[3].Deviation = "beta answers pings late (issue 12)"
	alpha.Summarize()
	beta.Summarize()
	run := results.Run{Schema: results.Schema, Started: htmlGoldenTime, DurationMS: 15105, Targets: []results.Target{alpha, beta}}

	hist := func(base, spread int64) string {
		values := make([]int64, 2000)
		for i := range int64(len(values)) {
			values[i] = base + (i*i)%spread
			if i%500 == 0 {
				values[i] *= 20 // a few outliers for the tail
			}
		}
		return metricstest.Encoded(t, values...)
	}
	echo := func(target string, base int64) *loadgen.Result {
		return &loadgen.Result{
			Schema: loadgen.Schema, Scenario: loadgen.ScenarioEcho, Target: target, URL: "ws://127.0.0.1:9001/echo",
			Params:  loadgen.Params{Conns: 100, Rate: 1000, Size: 128, DurationMS: 3000, WarmupMS: 1000, RampPerS: 2000, MaxInflight: 16},
			Started: htmlGoldenTime.Add(time.Hour), DurationMS: 3000,
			Connections:      loadgen.Connections{Target: 100, Established: 100, Failures: map[string]int{}, RatePerS: 2000},
			Messages:         &loadgen.Messages{Sent: 3000, Received: 3000},
			ThroughputPerS:   1000,
			LatencyUS:        &loadgen.Percentiles{Count: 2000, Mean: float64(base) * 1.5, P50: base, P90: base * 2, P99: base * 3, P999: base * 20, Max: base * 25},
			ConnectLatencyUS: &loadgen.Percentiles{Count: 100, P50: 400, P90: 600, P99: 900, P999: 950, Max: 950},
			Timeline: []loadgen.Second{
				{T: 1, Phase: loadgen.PhaseWarmup, Conns: 100, Sent: 1000, Received: 990},
				{T: 2, Phase: loadgen.PhaseMeasure, Conns: 100, Sent: 1000, Received: 1000, P50US: base, P99US: base * 3},
				{T: 3, Phase: loadgen.PhaseMeasure, Conns: 100, Sent: 1000, Received: 1000, P50US: base, P99US: base * 4},
				{T: 4, Phase: loadgen.PhaseMeasure, Conns: 100, Sent: 1000, Received: 1010, P50US: base, P99US: base * 3},
			},
			Client:     loadgen.Resources{RSSBytesMax: 40 << 20, CPUSeconds: 0.5},
			Server:     &loadgen.Resources{RSSBytesMax: 20 << 20, CPUSeconds: 0.25},
			Histograms: map[string]string{"latency_us": hist(base, base*2)},
			Thresholds: []loadgen.ThresholdResult{{Expr: "p99<50ms", Value: float64(base * 3), Passed: true}},
		}
	}
	ratio := 0.999
	broadcast := &loadgen.Result{
		Schema: loadgen.Schema, Scenario: loadgen.ScenarioBroadcast, Target: "alpha", URL: "ws://127.0.0.1:9001/broadcast",
		Params:  loadgen.Params{Conns: 50, Rate: 10, Size: 128, DurationMS: 2000, WarmupMS: 1000, RampPerS: 2000, MaxInflight: 16, Senders: 1},
		Started: htmlGoldenTime.Add(2 * time.Hour), DurationMS: 2000,
		Connections:        loadgen.Connections{Target: 50, Established: 50, Failures: map[string]int{}},
		Messages:           &loadgen.Messages{Sent: 20, Received: 999, Expected: 1000, Lost: 1},
		ThroughputPerS:     499.5,
		FanoutLatencyUS:    &loadgen.Percentiles{Count: 999, P50: 1500, P90: 1900, P99: 2400, P999: 2700, Max: 2700},
		FanoutCompletionUS: &loadgen.Percentiles{Count: 20, P50: 1800, P90: 2100, P99: 2700, P999: 2700, Max: 2700},
		DeliveryRatio:      &ratio,
		Timeline: []loadgen.Second{
			{T: 1, Phase: loadgen.PhaseWarmup, Conns: 50, Sent: 10, Received: 500},
			{T: 2, Phase: loadgen.PhaseMeasure, Conns: 50, Sent: 10, Received: 500, P50US: 1500, P99US: 2400},
			{T: 3, Phase: loadgen.PhaseMeasure, Conns: 50, Sent: 10, Received: 499, P50US: 1500, P99US: 2300},
		},
		Client:     loadgen.Resources{RSSBytesMax: 15 << 20, CPUSeconds: 0.1},
		Histograms: map[string]string{"fanout_latency_us": hist(1500, 1200), "fanout_completion_us": hist(1800, 900)},
	}
	connect := &loadgen.Result{
		Schema: loadgen.Schema, Scenario: loadgen.ScenarioConnect, Target: "beta", URL: "ws://127.0.0.1:9002/echo",
		Params:  loadgen.Params{Conns: 300, DurationMS: 2000, RampPerS: 200},
		Started: htmlGoldenTime.Add(3 * time.Hour), DurationMS: 2000,
		Connections:      loadgen.Connections{Target: 300, Established: 298, Failed: 2, Failures: map[string]int{"timeout": 2}, RatePerS: 199.5},
		ConnectLatencyUS: &loadgen.Percentiles{Count: 298, P50: 420, P90: 530, P99: 6800, P999: 17000, Max: 17000},
		Timeline: []loadgen.Second{
			{T: 1, Phase: loadgen.PhaseRamp, Conns: 200, P50US: 400, P99US: 660},
			{T: 2, Phase: loadgen.PhaseHold, Conns: 298, P50US: 440, P99US: 13700},
			{T: 3, Phase: loadgen.PhaseHold, Conns: 298},
		},
		Client:     loadgen.Resources{RSSBytesMax: 17 << 20, CPUSeconds: 0.17},
		Server:     &loadgen.Resources{RSSBytesMax: 18 << 20, CPUSeconds: 0.1},
		Histograms: map[string]string{"connect_latency_us": hist(400, 300)},
	}
	// alpha's generator kept up; beta's fell behind.
	alphaEcho, betaEcho := echo("alpha", 600), echo("beta", 700)
	alphaEcho.Generator = &loadgen.Generator{LagUS: &loadgen.Percentiles{Count: 3000, P50: 40, P90: 90, P99: 310, P999: 900, Max: 1200}, Late: 2, LagLimitUS: 2000, CPUCores: 0.42, Cores: 2}
	betaEcho.Generator = &loadgen.Generator{LagUS: &loadgen.Percentiles{Count: 3000, P50: 350, P90: 1800, P99: 4200, P999: 6000, Max: 7000}, Late: 93, LagLimitUS: 2000, CPUCores: 1.93, Cores: 2,
		Limited: []loadgen.Limit{
			{Cause: loadgen.LimitSchedule, Detail: "3.1% of sends more than 2ms late by the generator's own fault (lag p99 4.2ms)"},
			{Cause: loadgen.LimitCPU, Detail: "the generator kept 1.93 of its 2 cores busy"},
		}}
	// Files in a mixed order: the report orders workloads and targets.
	return Input{
		Conformance: []results.Run{run},
		Load:        []*loadgen.Result{connect, betaEcho, broadcast, alphaEcho},
		Sources:     []string{"out/conformance/results.json", "out/load/alpha-echo.json", "out/load/beta-echo.json"},
	}
}

func TestHTMLGolden(t *testing.T) {
	got, err := HTML.Render(htmlGoldenInput(t), Options{Title: "wsharness golden report", Generated: htmlGoldenTime})
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join("testdata", "report.golden.html")
	if htmlUpdateGolden() {
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
		t.Logf("wrote %s (%d bytes)", path, len(got))
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test ./reports -run Golden -update to create it)", err)
	}
	if !bytes.Equal(got, want) {
		line, g, w := htmlFirstDiff(string(got), string(want))
		t.Errorf("HTML differs from %s at line %d:\n got: %s\nwant: %s\n(run go test ./reports -run Golden -update if the change is intended)", path, line, g, w)
	}
	// The report refers to nothing outside itself.
	for _, s := range []string{"http://", "https://", "//cdn", "@import", "url("} {
		if bytes.Contains(got, []byte(s)) {
			t.Errorf("the report contains %q", s)
		}
	}
}

func htmlFirstDiff(a, b string) (line int, la, lb string) {
	al, bl := strings.Split(a, "\n"), strings.Split(b, "\n")
	for i := 0; i < len(al) || i < len(bl); i++ {
		var x, y string
		if i < len(al) {
			x = al[i]
		}
		if i < len(bl) {
			y = bl[i]
		}
		if x != y {
			return i + 1, htmlClip(x), htmlClip(y)
		}
	}
	return 0, "", ""
}

func htmlClip(s string) string {
	if len(s) > 300 {
		return s[:300] + "…"
	}
	return s
}
