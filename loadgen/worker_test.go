package loadgen_test

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/wsharness/wsharness/loadgen"
	"github.com/wsharness/wsharness/loadgen/metrics"
)

// TestTwoWorkersMerge runs one echo load as two concurrent workers against
// a real server, each keeping its per-second histograms, and merges them.
func TestTwoWorkersMerge(t *testing.T) {
	srv := startEcho(t, echoBehavior{})
	total := loadgen.Config{
		Scenario: loadgen.ScenarioEcho, URL: srv.URL, Conns: 9, Rate: 600, Size: 64,
		Duration: 1500 * time.Millisecond, Warmup: 200 * time.Millisecond, Drain: time.Second,
		SecondHistograms: true,
	}
	parts := make([]*loadgen.Result, 2)
	errs := make([]error, len(parts))
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	var wg sync.WaitGroup
	for i := range parts {
		share, err := total.Share(i, len(parts))
		if err != nil {
			t.Fatal(err)
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			parts[i], errs[i] = loadgen.Run(ctx, share)
		}()
	}
	wg.Wait()
	for i, p := range parts {
		if errs[i] != nil || p == nil || p.Interrupted {
			t.Fatalf("worker %d: %v", i, errs[i])
		}
		p.Worker = &loadgen.Worker{Index: i, Count: len(parts)}
	}
	for i, p := range parts {
		if want := []int{5, 4}[i]; p.Connections.Established != want || p.Params.Rate != 300 {
			t.Fatalf("worker %d: %d connections at %v msg/s, want %d at 300", i, p.Connections.Established, p.Params.Rate, want)
		}
		var inSeconds int64
		for _, s := range p.Timeline {
			if s.P99US == 0 {
				continue
			}
			if s.Histogram == "" {
				t.Fatalf("worker %d: second %d has samples but no histogram", i, s.T)
			}
			h, err := metrics.Decode(s.Histogram)
			if err != nil {
				t.Fatal(err)
			}
			if h.ValueAtQuantile(99) != s.P99US {
				t.Errorf("worker %d second %d: histogram p99 %d, timeline p99 %d", i, s.T, h.ValueAtQuantile(99), s.P99US)
			}
			inSeconds += h.TotalCount()
		}
		// The last partial second is never ticked: at most all samples.
		if inSeconds == 0 || inSeconds > p.LatencyUS.Count {
			t.Errorf("worker %d: %d samples in the seconds' histograms, %d in the run", i, inSeconds, p.LatencyUS.Count)
		}
	}

	m, err := loadgen.Merge(parts)
	if err != nil {
		t.Fatal(err)
	}
	a, b := parts[0], parts[1]
	if m.Connections.Established != 9 || m.Params.Conns != 9 || m.Params.Rate != 600 {
		t.Errorf("merged connections %+v, params %+v", m.Connections, m.Params)
	}
	if m.Messages.Sent != a.Messages.Sent+b.Messages.Sent || m.Messages.Received != a.Messages.Received+b.Messages.Received {
		t.Errorf("merged messages %+v, workers %+v and %+v", *m.Messages, *a.Messages, *b.Messages)
	}
	if m.LatencyUS.Count != a.LatencyUS.Count+b.LatencyUS.Count || m.LatencyUS.Max != max(a.LatencyUS.Max, b.LatencyUS.Max) {
		t.Errorf("merged latency %+v, workers %+v and %+v", *m.LatencyUS, *a.LatencyUS, *b.LatencyUS)
	}
	// About 1.5 s at 600 msg/s; the schedule is exact, the replies prompt.
	if m.Messages.Sent < 800 || m.Messages.Sent > 1000 {
		t.Errorf("merged sent %d, want about 900", m.Messages.Sent)
	}
}
