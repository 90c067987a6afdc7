package reports

import (
	"math"
	"slices"
	"strings"
	"testing"

	"github.com/wsharness/wsharness/internal/numtext"
	"github.com/wsharness/wsharness/internal/testtext"
	"github.com/wsharness/wsharness/loadgen"
)

func TestMedian(t *testing.T) {
	for _, c := range []struct {
		in   []float64
		want float64
	}{
		{[]float64{5}, 5},
		{[]float64{3, 1, 2}, 2},
		{[]float64{30, 10, 20}, 20},
		{[]float64{4, 1}, 1},           // even: the lower middle value, not 2.5
		{[]float64{1, 9, 3, 7}, 3},     // even: 3, not (3+7)/2
		{[]float64{2, 2, 2, 100}, 2},   // outliers do not pull it
		{[]float64{-1, 0, 1, 2, 3}, 1}, // odd
	} {
		in := slices.Clone(c.in)
		if got := Median(in); got != c.want {
			t.Errorf("Median(%v) = %v, want %v", c.in, got, c.want)
		}
		if !slices.Equal(in, c.in) {
			t.Errorf("Median(%v) reordered its input to %v", c.in, in)
		}
	}
	if !math.IsNaN(Median(nil)) {
		t.Error("Median(nil) is not NaN")
	}
}

func echoRate(target string, throughput float64, p50, p99, p999 int64) *loadgen.Result {
	return &loadgen.Result{
		Schema: loadgen.Schema, Scenario: loadgen.ScenarioEcho, Target: target,
		Params:         loadgen.Params{Conns: 1000, Rate: 4000, Size: 128, DurationMS: 10000, RampPerS: 2000, MaxInflight: 16},
		Connections:    loadgen.Connections{Target: 1000, Established: 1000},
		Messages:       &loadgen.Messages{Sent: 40000, Received: 40000},
		ThroughputPerS: throughput,
		LatencyUS:      &loadgen.Percentiles{Count: 40000, P50: p50, P99: p99, P999: p999, Max: p999 * 2},
		Client:         loadgen.Resources{RSSBytesMax: 40 << 20, CPUSeconds: 4, CPUPerMessageUS: 50, RSSBytesPerConn: 25 * 1024},
		Server:         &loadgen.Resources{RSSBytesMax: 30 << 20, CPUSeconds: 3},
	}
}

func echoClosed(target string, throughput float64) *loadgen.Result {
	r := echoRate(target, throughput, 0, 0, 0)
	r.Params.Rate, r.Params.ClosedLoop, r.Params.MaxInflight = 0, true, 1
	r.LatencyUS = &loadgen.Percentiles{Count: 1, P50: 60000, P99: 120000}
	r.ServiceTimeUS = r.LatencyUS
	return r
}

func broadcast(target string, conns int, rate float64, fanoutP99 int64, ratio float64) *loadgen.Result {
	return &loadgen.Result{
		Schema: loadgen.Schema, Scenario: loadgen.ScenarioBroadcast, Target: target,
		Params:             loadgen.Params{Conns: conns, Rate: rate, Size: 128, Senders: 1, DurationMS: 10000},
		Connections:        loadgen.Connections{Target: conns, Established: conns},
		Messages:           &loadgen.Messages{Sent: 100, Received: int64(conns) * 100, Expected: int64(conns) * 100},
		ThroughputPerS:     float64(conns) * rate,
		FanoutLatencyUS:    &loadgen.Percentiles{Count: 1000, P50: fanoutP99 / 2, P99: fanoutP99, Max: fanoutP99 + 1000},
		FanoutCompletionUS: &loadgen.Percentiles{Count: 100, P99: fanoutP99 + 500},
		DeliveryRatio:      &ratio,
		Client:             loadgen.Resources{CPUPerMessageUS: 20, RSSBytesPerConn: 12 * 1024},
		Server:             &loadgen.Resources{RSSBytesMax: 150 << 20, CPUSeconds: 8},
	}
}

func connect(target string, timeline []loadgen.Second) *loadgen.Result {
	return &loadgen.Result{
		Schema: loadgen.Schema, Scenario: loadgen.ScenarioConnect, Target: target,
		Params:           loadgen.Params{Conns: 10000, RampPerS: 2000, DurationMS: 5000},
		Connections:      loadgen.Connections{Target: 10000, Established: 10000},
		ConnectLatencyUS: &loadgen.Percentiles{Count: 10000, P50: 900, P99: 17000},
		Timeline:         timeline,
		Client:           loadgen.Resources{RSSBytesPerConn: 9.8 * 1024},
		Server:           &loadgen.Resources{RSSBytesMax: 200 << 20, CPUSeconds: 4},
	}
}

// wantRow fails the test unless the row of metric in the workload's
// section has these cells.
func wantRow(t *testing.T, table, workload, metric string, cells ...string) {
	t.Helper()
	if got := row(t, table, workload, metric); !slices.Equal(got, cells) {
		t.Errorf("%s, %s: cells %q, want %q\n%s", workload, metric, got, cells, table)
	}
}

// row returns the cells of the table row whose metric column is metric,
// in the section that starts with the given workload label.
func row(t *testing.T, table, workload, metric string) []string {
	t.Helper()
	in := false
	for line := range strings.Lines(table) {
		if !strings.HasPrefix(line, "|") {
			continue
		}
		cells := strings.Split(strings.Trim(strings.TrimSpace(line), "|"), "|")
		for i := range cells {
			cells[i] = strings.TrimSpace(cells[i])
		}
		if cells[0] != "" {
			in = cells[0] == "**"+workload+"**"
		}
		if in && len(cells) > 1 && cells[1] == metric {
			return cells[2:]
		}
	}
	t.Fatalf("no row %q in section %q of\n%s", metric, workload, table)
	return nil
}

func TestLoadComparisonMediansPerRun(t *testing.T) {
	results := []*loadgen.Result{
		// gws: three runs; the median p99 is 20 ms (an average would be 30 ms).
		echoRate("gws", 4000, 700, 10000, 30000),
		echoRate("gws", 3990, 900, 60000, 90000),
		echoRate("gws", 4001, 800, 20000, 50000),
		// gorilla: two runs; the lower middle value, never their mean.
		echoRate("gorilla", 4000, 500, 1000, 4000),
		echoRate("gorilla", 4000, 600, 3000, 8000),
	}
	table := string(LoadComparison(results))
	w := "echo 1,000 conns, 4,000 msg/s, 128 B text"
	wantRow(t, table, w, "latency p99", "20.0 ms", "1.00 ms")
	wantRow(t, table, w, "latency p50", "800 µs", "500 µs")
	wantRow(t, table, w, "latency p99.9", "50.0 ms", "4.00 ms")
	wantRow(t, table, w, "throughput (replies)", "4,000/s", "4,000/s")
	wantRow(t, table, w, "server peak RSS", "30.0 MiB", "30.0 MiB")
	wantRow(t, table, w, "client KiB/conn", "25.0", "25.0")
	if !strings.Contains(table, "| workload | metric | gws | gorilla |") {
		t.Errorf("targets not in first-seen order:\n%s", table)
	}
	if !strings.Contains(table, "Medians over up to 3 runs") || !strings.Contains(table, "never averaged") {
		t.Errorf("footnote does not say how cells are computed:\n%s", table)
	}
}

func TestLoadComparisonMissing(t *testing.T) {
	partial := echoRate("gws", 4000, 700, 10000, 30000)
	partial.Server = nil // e.g. the server could not be sampled in this run
	interrupted := echoRate("gws", 1, 1, 1, 1)
	interrupted.Interrupted = true
	results := []*loadgen.Result{
		echoRate("gorilla", 4000, 500, 1000, 4000),
		broadcast("gorilla", 1000, 10, 60000, 1),
		echoRate("gws", 4000, 700, 10000, 30000),
		echoRate("gws", 4000, 700, 10000, 30000),
		partial,
		interrupted,
		nil,
	}
	table := string(LoadComparison(results))
	b := "broadcast to 1,000 conns, 10/s from 1 sender"
	wantRow(t, table, b, "fan-out p99", "60.0 ms", "—")
	wantRow(t, table, b, "delivery ratio", "1.00000", "—")
	w := "echo 1,000 conns, 4,000 msg/s, 128 B text"
	wantRow(t, table, w, "server CPU", "3.00 s", "3.00 s (2 of 3 runs)")
	if got := row(t, table, w, "latency p99"); got[1] != "10.0 ms" {
		t.Errorf("interrupted run counted: %q", got)
	}
}

// Both load tables leave interrupted runs out and say how many.
func TestLoadTablesLeaveOutInterrupted(t *testing.T) {
	interrupted := echoRate("gws", 1, 1, 1e9, 1e9)
	interrupted.Interrupted = true
	for name, table := range map[string]func([]*loadgen.Result) []byte{"markdown": LoadComparison, "text": LoadText} {
		if got := string(table(nil)); got != "No load results.\n" {
			t.Errorf("%s, empty input: %q", name, got)
		}
		if got := string(table([]*loadgen.Result{interrupted})); got != "No load results.\n1 run left out as interrupted.\n" {
			t.Errorf("%s, only an interrupted run: %q", name, got)
		}
		got := string(table([]*loadgen.Result{echoRate("gws", 4000, 700, 10000, 30000), interrupted, nil}))
		testtext.Contains(t, name, got, "1 run left out as interrupted.", "10.0 ms")
		if strings.Contains(got, "1000 s") {
			t.Errorf("%s counts the interrupted run:\n%s", name, got)
		}
	}
}

func TestLoadComparisonLayout(t *testing.T) {
	ramp := []loadgen.Second{
		{T: 1, Phase: loadgen.PhaseRamp, Conns: 1900}, {T: 2, Phase: loadgen.PhaseRamp, Conns: 3900},
		{T: 3, Phase: loadgen.PhaseRamp, Conns: 5900}, {T: 4, Phase: loadgen.PhaseRamp, Conns: 7900},
		{T: 5, Phase: loadgen.PhaseRamp, Conns: 9900}, {T: 6, Phase: loadgen.PhaseHold, Conns: 10000},
	}
	fast := []loadgen.Second{{T: 1, Phase: loadgen.PhaseHold, Conns: 10000}}
	results := []*loadgen.Result{
		connect("gorilla", ramp),
		broadcast("gorilla", 5000, 2, 300000, 0.99),
		broadcast("gorilla", 1000, 10, 60000, 1),
		echoClosed("gorilla", 15780),
		echoRate("gorilla", 4000, 500, 1000, 4000),
		connect("gws", fast),
	}
	table := string(LoadComparison(results))
	var sections []string
	lines := strings.Split(strings.TrimSpace(strings.SplitN(table, "\n\n", 2)[0]), "\n")
	for _, line := range lines {
		if cells := strings.Split(line, "|"); len(cells) != 6 {
			t.Errorf("row with %d columns, want 2 label columns + 2 targets: %q", len(cells)-2, line)
		}
		if i := strings.Index(line, "**"); i >= 0 {
			sections = append(sections, line[i+2:strings.LastIndex(line, "**")])
		}
	}
	want := []string{
		"echo 1,000 conns, 4,000 msg/s, 128 B text",
		"echo closed loop 1,000 conns, 128 B text",
		"broadcast to 1,000 conns, 10/s from 1 sender",
		"broadcast to 5,000 conns, 2/s from 1 sender",
		"connect 10,000 conns at 2,000/s, hold 5s",
	}
	if !slices.Equal(sections, want) {
		t.Errorf("sections\n%q\nwant\n%q", sections, want)
	}
	c := "connect 10,000 conns at 2,000/s, hold 5s"
	wantRow(t, table, c, "connections/s", "1,980/s", "≥10,000/s")
	wantRow(t, table, c, "connect p99", "17.0 ms", "17.0 ms")
	if got := row(t, table, "echo closed loop 1,000 conns, 128 B text", "throughput (replies)"); got[0] != "15,780/s" {
		t.Errorf("closed-loop throughput %q", got)
	}
	if got := row(t, table, "broadcast to 5,000 conns, 2/s from 1 sender", "completion p99"); got[0] != "300 ms" {
		t.Errorf("completion p99 %q", got)
	}
	// The connect section has no per-message figures.
	connectSection := table[strings.Index(table, "| **connect"):]
	connectSection = connectSection[:strings.Index(connectSection, "\n\n")]
	if strings.Contains(connectSection, "µs CPU/message") || strings.Contains(connectSection, "latency") {
		t.Errorf("connect section has message rows:\n%s", connectSection)
	}
	if strings.Count(table, "| **connect") != 1 {
		t.Errorf("connect section repeated:\n%s", table)
	}
}

func TestConnectRate(t *testing.T) {
	r := connect("x", []loadgen.Second{
		{T: 1, Phase: loadgen.PhaseRamp, Conns: 1500}, {T: 2, Phase: loadgen.PhaseRamp, Conns: 3000},
		{T: 3, Phase: loadgen.PhaseHold, Conns: 4000},
	})
	if v, lower, ok := ConnectRate(r); !ok || lower || v != 1500 {
		t.Errorf("ConnectRate = %v, %v, %v; want 1500 from the last ramp tick", v, lower, ok)
	}
	r.Timeline = nil
	if v, lower, ok := ConnectRate(r); !ok || !lower || v != 10000 {
		t.Errorf("ramp shorter than a tick: %v, %v, %v; want a lower bound of 10000", v, lower, ok)
	}
	r.Connections.Established = 0
	if _, _, ok := ConnectRate(r); ok {
		t.Error("no connection established, yet a rate")
	}
}

// Limits as loadgen words them.
var (
	cpuLimit   = loadgen.Limit{Cause: loadgen.LimitCPU, Detail: "the generator kept 1.95 of its 2 cores busy"}
	schedLimit = loadgen.Limit{Cause: loadgen.LimitSchedule, Detail: "3.1% of sends more than 2ms late by the generator's own fault (lag p99 4.2ms)"}
)

// withGenerator gives r the generator's own figures; limits mark the run
// generator-limited.
func withGenerator(r *loadgen.Result, lagP99 int64, cores float64, limits ...loadgen.Limit) *loadgen.Result {
	r.Generator = &loadgen.Generator{
		LagUS: &loadgen.Percentiles{Count: 1000, P50: lagP99 / 4, P99: lagP99}, LagLimitUS: 2000, Late: lagP99 / 100,
		CPUCores: cores, Cores: 2, Limited: limits,
	}
	return r
}

// section returns the lines of the table section of a workload.
func section(t *testing.T, table, workload string) string {
	t.Helper()
	i := strings.Index(table, "| **"+workload+"**")
	if i < 0 {
		t.Fatalf("no section %q in\n%s", workload, table)
	}
	rest := table[i:]
	if j := strings.Index(rest[1:], "| **"); j >= 0 {
		return rest[:j+1]
	}
	return rest[:strings.Index(rest, "\n\n")]
}

func TestLoadComparisonGenerator(t *testing.T) {
	results := []*loadgen.Result{
		withGenerator(echoRate("gws", 4000, 700, 10000, 30000), 300, 1.95, cpuLimit),
		withGenerator(echoRate("gws", 4000, 700, 10000, 30000), 500, 1.2), // kept up
		withGenerator(echoRate("gorilla", 4000, 500, 1000, 4000), 200, 0.8),
		broadcast("gws", 1000, 10, 60000, 1), // written before the generator reported on itself
	}
	table := string(LoadComparison(results))
	mdTableLines(t, table)
	w := "echo 1,000 conns, 4,000 msg/s, 128 B text"
	wantRow(t, table, w, "⚠ generator-limited", "⚠ generator-limited (1 of 2 runs)", "no")
	if !strings.HasPrefix(section(t, table, w), "| **"+w+"** | ⚠ generator-limited |") {
		t.Errorf("the marker is not the section's first row:\n%s", table)
	}
	for metric, want := range map[string][]string{
		"generator lag p50":     {"75 µs", "50 µs"},
		"generator lag p99":     {"300 µs", "200 µs"},
		"generator CPU (cores)": {"1.20", "0.80"},
		"generator late sends":  {"3", "2"},
	} {
		wantRow(t, table, w, metric, want...)
	}
	wantNote := "- " + w + ", gws (run 1 of 2): " + cpuLimit.Detail + ".\n"
	if !strings.Contains(table, "⚠ generator-limited runs: the load generator fell behind; the figures may describe the generator rather than the server.") ||
		!strings.Contains(table, wantNote) {
		t.Errorf("no note listing the generator-limited run (want %q):\n%s", wantNote, table)
	}
	if strings.Contains(table, "gorilla (run") || strings.Contains(table, "gorilla:") {
		t.Errorf("a run that kept up is listed as generator-limited:\n%s", table)
	}
	// The broadcast results have no generator section: no generator rows.
	if s := section(t, table, "broadcast to 1,000 conns, 10/s from 1 sender"); strings.Contains(s, "generator") {
		t.Errorf("generator rows for results without a generator section:\n%s", s)
	}

	// Escaped like every other text in Markdown.
	odd := withGenerator(echoRate("gws", 4000, 700, 10000, 30000), 300, 1, loadgen.Limit{Cause: loadgen.LimitSchedule, Detail: "late | *very* <b>"})
	if table := string(LoadComparison([]*loadgen.Result{odd})); !strings.Contains(table, `late \| \*very\* &lt;b&gt;`) {
		t.Errorf("detail not escaped:\n%s", table)
	}

	// Kept up: the generator's rows, no marker; an old result: neither.
	kept := string(LoadComparison(results[2:3]))
	if strings.Contains(kept, "generator-limited") || !strings.Contains(kept, "| generator lag p99 |") {
		t.Errorf("a run that kept up:\n%s", kept)
	}
	if old := string(LoadComparison([]*loadgen.Result{echoRate("gws", 4000, 700, 10000, 30000)})); strings.Contains(old, "enerator lag") || strings.Contains(old, "generator-limited") || strings.Contains(old, "generator CPU") {
		t.Errorf("a result without a generator section:\n%s", old)
	}
}

// kindResults has one result of each kind, in an order that is not the
// report's; the closed loop's latency differs from its service time, so
// that a renderer showing the wrong figure shows the wrong number.
func kindResults() []*loadgen.Result {
	closed := echoClosed("gws", 15000)
	closed.LatencyUS = &loadgen.Percentiles{Count: 1, P50: 999000, P99: 999000}
	other := echoRate("gws", 1, 1, 1, 1)
	other.Scenario = "mystery"
	return []*loadgen.Result{
		other, connect("gws", nil), closed, broadcast("gws", 1000, 10, 60000, 1), echoRate("gws", 4000, 700, 10000, 30000),
	}
}

// The Markdown table takes each workload's primary figure and the order
// of the workloads from loadgen.
func TestLoadComparisonFollowsLoadgen(t *testing.T) {
	rs := kindResults()
	table := string(LoadComparison(rs))
	var want []string
	for _, r := range slices.SortedFunc(slices.Values(rs), loadgen.Compare) {
		want = append(want, ScenarioLabel(r))
		f, p, ok := r.Primary()
		if !ok {
			continue
		}
		if got := row(t, table, ScenarioLabel(r), f.Name+" p99"); got[0] != numtext.Micros(float64(p.P99)) {
			t.Errorf("%s: %s p99 %q, want %s", ScenarioLabel(r), f.Name, got, numtext.Micros(float64(p.P99)))
		}
	}
	var got []string
	for line := range strings.Lines(table) {
		if i := strings.Index(line, "| **"); i == 0 {
			got = append(got, line[4:strings.Index(line[4:], "**")+4])
		}
	}
	if !slices.Equal(got, want) {
		t.Errorf("sections %q, want loadgen's order %q", got, want)
	}
	closed := section(t, table, "echo closed loop 1,000 conns, 128 B text")
	if !strings.Contains(closed, "| service time p99 | 120 ms |") || strings.Contains(closed, "| latency") {
		t.Errorf("closed loop not led by its service time:\n%s", closed)
	}
	for _, r := range rs {
		if m := r.Kind().Measures(); m != "" && !strings.Contains(table, m) {
			t.Errorf("footnote lacks what %s measures (%q):\n%s", r.Kind(), m, table)
		}
	}
}

// Runs over HTTP/2 are workloads of their own, by streams per connection,
// and their sections show the TCP connections; HTTP/1.1 runs read as
// before.
func TestLoadComparisonOverH2(t *testing.T) {
	h1 := echoRate("gobwas-h2", 4000, 700, 1000, 2000)
	h2 := echoRate("gobwas-h2", 4000, 600, 900, 1800)
	h2.Params.Transport, h2.Params.StreamsPerConn, h2.Connections.TCP = "HTTP/2", 10, 100
	if got, want := ScenarioLabel(h1), "echo 1,000 conns, 4,000 msg/s, 128 B text"; got != want {
		t.Errorf("HTTP/1.1 label %q, want %q", got, want)
	}
	want := "echo 1,000 conns over HTTP/2 (10 streams/conn), 4,000 msg/s, 128 B text"
	if got := ScenarioLabel(h2); got != want {
		t.Errorf("HTTP/2 label %q, want %q", got, want)
	}
	table := string(LoadComparison([]*loadgen.Result{h1, h2}))
	if got := row(t, table, want, "TCP conns"); got[0] != "100" {
		t.Errorf("TCP conns %q, want 100", got)
	}
	if strings.Count(table, "TCP conns") != 1 {
		t.Errorf("TCP conns shown outside the HTTP/2 section:\n%s", table)
	}
	if s := string(LoadSummary(h2)); !strings.Contains(s, "transport:   HTTP/2 (RFC 8441), 10 WebSocket streams per connection, on 100 TCP connections") {
		t.Errorf("summary:\n%s", s)
	}
	if s := string(LoadSummary(h1)); strings.Contains(s, "transport") {
		t.Errorf("an HTTP/1.1 summary names its transport:\n%s", s)
	}
}
