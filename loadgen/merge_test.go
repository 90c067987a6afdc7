package loadgen

import (
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	hdr "github.com/HdrHistogram/hdrhistogram-go"

	"github.com/wsharness/wsharness/loadgen/metrics"
	"github.com/wsharness/wsharness/loadgen/metrics/metricstest"
)

// sample is one measured echo: which connection, its latency and service
// time, in microseconds.
type sample struct {
	conn             int
	latency, service int64
}

// echoSamples returns a reproducible sample set over conns connections
// with 1,000 samples each: lognormal latencies around 600 µs, and on four
// of the first eight connections a heavy tail (a server that stalls some
// clients). The slow connections all fall on the first worker, so each
// worker's percentiles differ from the whole load's.
func echoSamples(conns int) []sample {
	var out []sample
	for c := range conns {
		rng := rand.New(rand.NewPCG(42, uint64(c)))
		for range 1000 {
			lat := int64(600 * math.Exp(0.6*rng.NormFloat64()))
			if c < 8 && c%2 == 1 && rng.IntN(5) == 0 {
				lat += int64(20_000 + rng.IntN(200_000))
			}
			out = append(out, sample{conn: c, latency: lat, service: lat/2 + 1})
		}
	}
	return out
}

// fakeRun is a run whose recorders and counters hold the given samples, as
// if its connections had measured them; result() then assembles the
// Result exactly as a real run does.
func fakeRun(cfg Config, conns []int, samples []sample) *run {
	cfg = cfg.withDefaults()
	s, _ := scenarioNamed(cfg.Scenario)
	r := &run{
		cfg: cfg, scenario: s, base: time.Now(), failures: map[string]int{"refused": len(conns) % 3}, drops: map[string]int{},
		latency: metrics.NewRecorder(4), service: metrics.NewRecorder(4), ownLag: metrics.NewRecorder(4),
		connect: metrics.NewRecorder(4), fanout: metrics.NewRecorder(4), completion: metrics.NewRecorder(4),
		pending: newPendingSet(),
	}
	r.measureStart.Store(0)
	r.sendEnd.Store(int64(cfg.Duration))
	r.lastEstablished.Store(int64(time.Second))
	mine := map[int]bool{}
	for _, c := range conns {
		mine[c] = true
		r.connect.Record(c, int64(150+c*7))
	}
	var n int64
	for _, s := range samples {
		if !mine[s.conn] {
			continue
		}
		r.latency.Record(s.conn, s.latency)
		r.service.Record(s.conn, s.service)
		r.ownLag.Record(s.conn, s.latency-s.service)
		n++
	}
	// Unanswered messages and errors on some connections, so that the
	// whole load's counts are the workers' sums.
	var unanswered, errs int64
	for _, c := range conns {
		unanswered += int64(c % 4)
		errs += int64(c % 5 / 4)
		// Some connections failed during the run, by kind.
		if kind := map[int]string{3: FailProtocol, 5: FailReset, 6: FailClosed}[c%7]; kind != "" {
			r.drops[kind]++
			r.dropped.Add(1)
		}
	}
	r.established.Store(int64(len(conns)))
	r.measuredSent.Store(n + unanswered)
	r.measuredReceived.Store(n)
	r.errs.Store(errs)
	r.warmupSent.Store(int64(10 * len(conns)))
	return r
}

// TestMergeEqualsSingleProcess proves the merge exact: a load split over
// three workers, each measuring its own connections' samples, merges into
// the same figures one process measuring every sample reports. The same
// data shows that averaging the workers' percentiles would be wrong.
func TestMergeEqualsSingleProcess(t *testing.T) {
	const conns, workers = 40, 3
	total := Config{Scenario: ScenarioEcho, URL: "ws://server:9001/echo", Target: "gws", Conns: conns, Rate: 3000, RampPerS: 300, Duration: 10 * time.Second}
	samples := echoSamples(conns)
	all := make([]int, conns)
	for i := range all {
		all[i] = i
	}
	started := time.Date(2026, 11, 22, 10, 0, 0, 0, time.UTC)
	single := fakeRun(total, all, samples).result(started, false)

	var parts []*Result
	next := 0
	for w := range workers {
		share, err := total.Share(w, workers)
		if err != nil {
			t.Fatal(err)
		}
		mine := all[next : next+share.Conns]
		next += share.Conns
		res := fakeRun(share, mine, samples).result(started.Add(time.Duration(w)*3*time.Millisecond), false)
		res.Worker = &Worker{Index: w, Count: workers}
		parts = append(parts, res)
	}
	if next != conns {
		t.Fatalf("shares hold %d connections, want %d", next, conns)
	}
	// Give Merge the workers out of order: it must sort them by index.
	parts[0], parts[2] = parts[2], parts[0]

	merged, err := Merge(parts)
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range Figures {
		got, want := f.Of(merged), f.Of(single)
		if !reflect.DeepEqual(got, want) {
			t.Errorf("%s: merged %+v, single process %+v", f.Name, got, want)
		}
		if want == nil {
			continue
		}
		if !decode(t, merged.Histograms[f.Histogram]).Equals(decode(t, single.Histograms[f.Histogram])) {
			t.Errorf("%s: merged histogram differs from the single process's", f.Name)
		}
	}
	if single.Generator == nil || single.Generator.LagUS == nil {
		t.Fatal("the single process's result has no generator lag")
	}
	if g := merged.Generator; g == nil || g.Cores != workers*single.Generator.Cores || g.Late != single.Generator.Late {
		t.Errorf("generator: merged %+v, want %d workers' cores and the single process's late sends", g, workers)
	}
	if !reflect.DeepEqual(merged.Messages, single.Messages) {
		t.Errorf("messages: merged %+v, single %+v", *merged.Messages, *single.Messages)
	}
	mc, sc := merged.Connections, single.Connections
	if mc.Target != sc.Target || mc.Established != sc.Established || mc.Dropped != sc.Dropped {
		t.Errorf("connections: merged %+v, single %+v", mc, sc)
	}
	var failed int
	for _, p := range parts {
		failed += p.Connections.Failed
	}
	if mc.Failed != failed || mc.Failures["refused"] != failed {
		t.Errorf("failures: merged %+v, want %d summed", mc, failed)
	}
	if !reflect.DeepEqual(mc.Drops, sc.Drops) || len(sc.Drops) != 3 {
		t.Errorf("drops: merged %v, single process %v (want three kinds)", mc.Drops, sc.Drops)
	}
	if merged.Params.Conns != conns || merged.Params.Rate != total.Rate || merged.Params.RampPerS != total.RampPerS {
		t.Errorf("params: merged %+v, want the whole load's", merged.Params)
	}
	if merged.ThroughputPerS != single.ThroughputPerS || merged.DurationMS != single.DurationMS {
		t.Errorf("throughput %v over %d ms, single %v over %d ms", merged.ThroughputPerS, merged.DurationMS, single.ThroughputPerS, single.DurationMS)
	}
	if !merged.Started.Equal(started) || merged.Worker != nil || len(merged.MergedFrom) != workers {
		t.Errorf("started %v, worker %+v, merged_from %d", merged.Started, merged.Worker, len(merged.MergedFrom))
	}
	for i, p := range merged.MergedFrom {
		if p.Index != i {
			t.Errorf("merged_from[%d] is worker %d", i, p.Index)
		}
	}

	// The control: the workers' percentiles really differ from the whole
	// load's, so an implementation that averaged them would fail above.
	var avgP99, avgMean float64
	for _, p := range parts {
		avgP99 += float64(p.LatencyUS.P99) / workers
		avgMean += p.LatencyUS.Mean / workers
	}
	if truth := float64(single.LatencyUS.P99); math.Abs(avgP99-truth) < 0.05*truth {
		t.Fatalf("test data cannot tell merging from averaging: mean of worker p99s %.0f, true p99 %.0f", avgP99, truth)
	}
	if truth := single.LatencyUS.Mean; math.Abs(avgMean-truth) < 0.01*truth {
		t.Fatalf("test data cannot tell merging from averaging means: %.1f vs %.1f", avgMean, truth)
	}
}

func decode(t *testing.T, s string) *hdr.Histogram {
	t.Helper()
	h, err := metrics.Decode(s)
	if err != nil {
		t.Fatal(err)
	}
	return h
}

func TestMergeAlignsTimelines(t *testing.T) {
	t0 := time.Date(2026, 11, 22, 10, 0, 0, 0, time.UTC)
	second := func(tt int, phase string, sent int64, values ...int64) Second {
		s := Second{T: tt, Phase: phase, Conns: 10, Sent: sent, Received: sent}
		if len(values) > 0 {
			h := decode(t, metricstest.Encoded(t, values...))
			s.P50US, s.P99US, s.Histogram = h.ValueAtQuantile(50), h.ValueAtQuantile(99), metricstest.Encoded(t, values...)
		}
		return s
	}
	a := &Result{Schema: Schema, Scenario: ScenarioEcho, Started: t0, Worker: &Worker{Index: 0, Count: 2},
		Timeline: []Second{second(1, PhaseRamp, 0), second(2, PhaseMeasure, 100, 100, 100, 100), second(3, PhaseMeasure, 100, 100)}}
	// Worker 1 started 1.2 s later: its second 1 is worker 0's second 2.
	b := &Result{Schema: Schema, Scenario: ScenarioEcho, Started: t0.Add(1200 * time.Millisecond), Worker: &Worker{Index: 1, Count: 2},
		Timeline: []Second{second(1, PhaseWarmup, 50, 9000), second(2, PhaseMeasure, 50, 9000, 9000, 9000, 9000, 9000)}}
	m, err := Merge([]*Result{a, b})
	if err != nil {
		t.Fatal(err)
	}
	want := []struct {
		t        int
		phase    string
		sent     int64
		conns    int
		p50, p99 int64
	}{
		{1, PhaseRamp, 0, 10, 0, 0},
		{2, PhaseWarmup, 150, 20, 100, 9000},   // 3×100 and 1×9000: least advanced phase
		{3, PhaseMeasure, 150, 20, 9000, 9000}, // 1×100 and 5×9000
	}
	if len(m.Timeline) != len(want) {
		t.Fatalf("timeline %+v", m.Timeline)
	}
	for i, w := range want {
		s := m.Timeline[i]
		if s.T != w.t || s.Phase != w.phase || s.Sent != w.sent || s.Conns != w.conns ||
			!sameValue(s.P50US, w.p50) || !sameValue(s.P99US, w.p99) {
			t.Errorf("second %d: %+v, want %+v", i, s, w)
		}
	}

	// A second with samples but no histogram has no exact percentiles.
	b.Timeline[0].Histogram = ""
	m, err = Merge([]*Result{a, b})
	if err != nil {
		t.Fatal(err)
	}
	if s := m.Timeline[1]; s.P50US != 0 || s.P99US != 0 || s.Histogram != "" {
		t.Errorf("second without every histogram got percentiles: %+v", s)
	}
}

// sameValue compares histogram values at their 3-digit resolution.
func sameValue(got, want int64) bool {
	return metrics.NewHistogram().ValuesAreEquivalent(got, want)
}

func TestMergeRejects(t *testing.T) {
	part := func(index, count int) *Result {
		return &Result{Schema: Schema, Scenario: ScenarioEcho, Target: "gws", URL: "ws://gws:9001/echo",
			Params: Params{Size: 128, DurationMS: 1000}, Worker: &Worker{Index: index, Count: count},
			Histograms: map[string]string{}}
	}
	cases := []struct {
		name  string
		parts func() []*Result
		want  string
	}{
		{"nothing", func() []*Result { return nil }, "no results"},
		{"missing worker", func() []*Result { return []*Result{part(0, 3), part(2, 3)} }, "worker(s) 1 are missing"},
		{"same worker twice", func() []*Result { return []*Result{part(0, 2), part(0, 2)} }, "appears twice"},
		{"different splits", func() []*Result { return []*Result{part(0, 2), part(1, 3)} }, "different runs"},
		{"index out of range", func() []*Result { return []*Result{part(0, 2), part(5, 2)} }, "outside"},
		{"different start times", func() []*Result {
			a, b := part(0, 2), part(1, 2)
			t1, t2 := time.Now(), time.Now().Add(time.Minute)
			a.Worker.StartAt, b.Worker.StartAt = &t1, &t2
			return []*Result{a, b}
		}, "different start times"},
		{"start time on one only", func() []*Result {
			b := part(1, 2)
			t1 := time.Now()
			b.Worker.StartAt = &t1
			return []*Result{part(0, 2), b}
		}, "different start times"},
		{"worker and non-worker", func() []*Result {
			p := part(1, 2)
			p.Worker = nil
			return []*Result{part(0, 2), p}
		}, "some results are workers"},
		{"transport", func() []*Result {
			p := part(1, 2)
			p.Params.Transport, p.Params.StreamsPerConn = "HTTP/2", 10
			return []*Result{part(0, 2), p}
		}, "transport or streams per connection"},
		{"streams per connection", func() []*Result {
			a, b := part(0, 2), part(1, 2)
			a.Params.Transport, a.Params.StreamsPerConn = "HTTP/2", 1
			b.Params.Transport, b.Params.StreamsPerConn = "HTTP/2", 10
			return []*Result{a, b}
		}, "transport or streams per connection"},
		{"scenario", func() []*Result {
			p := part(1, 2)
			p.Scenario = ScenarioConnect
			return []*Result{part(0, 2), p}
		}, "scenario"},
		{"target", func() []*Result {
			p := part(1, 2)
			p.Target = "gorilla"
			return []*Result{part(0, 2), p}
		}, "target"},
		{"size", func() []*Result {
			p := part(1, 2)
			p.Params.Size = 64
			return []*Result{part(0, 2), p}
		}, "message size"},
		{"duration", func() []*Result {
			p := part(1, 2)
			p.Params.DurationMS = 5000
			return []*Result{part(0, 2), p}
		}, "duration"},
		{"broadcast", func() []*Result {
			a, b := part(0, 2), part(1, 2)
			a.Scenario, b.Scenario = ScenarioBroadcast, ScenarioBroadcast
			return []*Result{a, b}
		}, "broadcast"},
		{"schema", func() []*Result {
			p := part(1, 2)
			p.Schema = "wsharness.load/v0"
			return []*Result{part(0, 2), p}
		}, "schema"},
		{"percentiles without histogram", func() []*Result {
			p := part(1, 2)
			p.LatencyUS = &Percentiles{Count: 10, P50: 5}
			return []*Result{part(0, 2), p}
		}, "no histogram"},
		{"corrupt histogram", func() []*Result {
			p := part(1, 2)
			p.Histograms["latency_us"] = "HISTFAAAA-not-really"
			return []*Result{part(0, 2), p}
		}, "histogram latency_us"},
	}
	for _, c := range cases {
		_, err := Merge(c.parts())
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: error %v, want one containing %q", c.name, err, c.want)
		}
	}
}

func TestMergeResources(t *testing.T) {
	msgs := func(n int64) *Messages { return &Messages{Sent: n, Received: n} }
	a := &Result{Schema: Schema, Scenario: ScenarioEcho, Messages: msgs(1000), Connections: Connections{Established: 100},
		Client: Resources{RSSBytesMax: 10 << 20, CPUSeconds: 2, CPUPerMessageUS: 10, RSSBytesPerConn: 1000}}
	b := &Result{Schema: Schema, Scenario: ScenarioEcho, Messages: msgs(3000), Connections: Connections{Established: 300},
		Client: Resources{RSSBytesMax: 20 << 20, CPUSeconds: 3, CPUPerMessageUS: 20, RSSBytesPerConn: 3000}}
	m, err := Merge([]*Result{a, b})
	if err != nil {
		t.Fatal(err)
	}
	c := m.Client
	// 2,000 messages handled at 10 µs and 6,000 at 20 µs: 17.5 µs each.
	if c.RSSBytesMax != 30<<20 || c.CPUSeconds != 5 || math.Abs(c.CPUPerMessageUS-17.5) > 1e-9 || math.Abs(c.RSSBytesPerConn-2500) > 1e-9 {
		t.Errorf("client %+v", c)
	}
	if m.Server != nil {
		t.Errorf("server %+v from workers that sampled none", m.Server)
	}
}

func TestShare(t *testing.T) {
	total := Config{Scenario: ScenarioEcho, URL: "ws://gws:9001/echo", Conns: 10, Rate: 900, RampPerS: 300}
	var conns int
	var rate, ramp float64
	for i := range 3 {
		s, err := total.Share(i, 3)
		if err != nil {
			t.Fatal(err)
		}
		if want := []int{4, 3, 3}[i]; s.Conns != want {
			t.Errorf("worker %d: %d connections, want %d", i, s.Conns, want)
		}
		conns, rate, ramp = conns+s.Conns, rate+s.Rate, ramp+s.RampPerS
	}
	if conns != 10 || rate != 900 || ramp != 300 {
		t.Errorf("shares add up to %d conns, %v msg/s, %v conns/s", conns, rate, ramp)
	}
	// Six shares of 1000 msg/s merge back into exactly 1000.
	var sixths []*Result
	for i := range 6 {
		s, err := (Config{Scenario: ScenarioEcho, URL: "ws://x:1/", Conns: 6, Rate: 1000}).Share(i, 6)
		if err != nil {
			t.Fatal(err)
		}
		sixths = append(sixths, &Result{Schema: Schema, Scenario: ScenarioEcho, Params: Params{Conns: s.Conns, Rate: s.Rate}, Worker: &Worker{Index: i, Count: 6}})
	}
	if m, err := Merge(sixths); err != nil || m.Params.Rate != 1000 || m.Params.Conns != 6 {
		t.Errorf("six shares merged: %+v, %v", m, err)
	}
	closed := total
	closed.Rate = 0
	if s, err := closed.Share(1, 2); err != nil || s.Rate != 0 {
		t.Errorf("closed loop share: rate %v, err %v", s.Rate, err)
	}
	if s, err := total.Share(0, 1); err != nil || !reflect.DeepEqual(s, total) {
		t.Errorf("one worker: %+v, %v", s, err)
	}
	bc := total
	bc.Scenario = ScenarioBroadcast
	for _, c := range []struct {
		cfg          Config
		index, count int
		want         string
	}{
		{total, 0, 0, "--workers 0"},
		{total, 3, 3, "--worker-index 3"},
		{total, -1, 2, "--worker-index -1"},
		{total, 0, 11, "fewer connections"},
		{bc, 0, 2, "broadcast cannot be split"},
		{Config{Scenario: ScenarioEcho, URL: "http://x/", Conns: 4}, 0, 2, "--url"},
	} {
		if _, err := c.cfg.Share(c.index, c.count); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("Share(%d, %d): %v, want an error containing %q", c.index, c.count, err, c.want)
		}
	}
}

// Results written before drops existed have no "drops" key: they still
// read and merge, their merge writes no "drops" key, and merging them with
// a newer result keeps the newer one's counts.
func TestMergeDropsBackwardCompatible(t *testing.T) {
	cfg := Config{Scenario: ScenarioEcho, URL: "ws://server:9001/echo", Conns: 10, Rate: 100, Duration: time.Second}
	started := time.Date(2026, 11, 22, 10, 0, 0, 0, time.UTC)
	old := fakeRun(cfg, []int{0, 1, 2}, nil).result(started, false)
	if old.Connections.Drops != nil {
		t.Fatalf("no connection dropped, yet drops %v", old.Connections.Drops)
	}
	b, err := Marshal(old)
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(string(b), `"drops"`) {
		t.Errorf("a result without drops writes a drops key:\n%s", b)
	}
	path := filepath.Join(t.TempDir(), "old.json")
	if err := os.WriteFile(path, b, 0o644); err != nil {
		t.Fatal(err)
	}
	back, err := ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	merged, err := Merge([]*Result{back, old})
	if err != nil {
		t.Fatal(err)
	}
	if merged.Connections.Drops != nil {
		t.Errorf("merging results without drops made drops %v", merged.Connections.Drops)
	}
	newer := fakeRun(cfg, []int{3, 5, 6, 10}, nil).result(started, false)
	merged, err = Merge([]*Result{back, newer})
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]int{FailProtocol: 2, FailReset: 1, FailClosed: 1}
	if !reflect.DeepEqual(merged.Connections.Drops, want) || merged.Connections.Dropped != 4 {
		t.Errorf("merged dropped %d by kind %v, want 4 as %v", merged.Connections.Dropped, merged.Connections.Drops, want)
	}
}
