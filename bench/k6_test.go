package bench

import (
	"testing"

	"github.com/wsharness/wsharness/internal/testtext"
	"github.com/wsharness/wsharness/loadgen"
)

func TestK6ReadSummary(t *testing.T) {
	summary := `{"metrics": {
		"wsh_echo_measured": {"type": "counter", "values": {"count": 70000, "rate": 8000.5}},
		"wsh_sockets_opened": {"type": "counter", "values": {"count": 1000, "rate": 80}},
		"ws_msgs_sent": {"type": "counter", "values": {"count": 90000, "rate": 7000}},
		"ws_msgs_received": {"type": "counter", "values": {"count": 89000, "rate": 6900.25}},
		"ws_connecting": {"type": "trend", "values": {"med": 700, "max": 1100}}
	}, "state": {"testRunDurationMs": 13000}}`
	r := &k6Result{Conns: 1000, DurationMS: 10000, CPUSeconds: 17.9}
	if err := r.readSummary([]byte(summary)); err != nil {
		t.Fatal(err)
	}
	if r.RepliesMeasured != 70000 || r.ThroughputPerS != 7000 || r.SocketsOpened != 1000 || r.SocketsOpenedLate != 0 ||
		r.SocketErrors != 0 || r.MsgsSent != 90000 || r.MsgsReceived != 89000 || r.MsgsReceivedRate != 6900.25 {
		t.Errorf("%+v", r)
	}
	if r.CPUPerMessageUS != 100 {
		t.Errorf("CPU per message %v, want 17.9 s / 179,000 messages = 100 µs", r.CPUPerMessageUS)
	}
	for _, bad := range []string{`not json`, `{"metrics": {}}`} {
		if err := (&k6Result{DurationMS: 1000}).readSummary([]byte(bad)); err == nil {
			t.Errorf("%q: no error", bad)
		}
	}
}

func TestK6Comparison(t *testing.T) {
	wsh := func(tp float64, rss int64) *loadgen.Result {
		return &loadgen.Result{
			ThroughputPerS: tp, Connections: loadgen.Connections{Established: 1000},
			Messages: &loadgen.Messages{Sent: 100000, Received: 100000},
			Client:   loadgen.Resources{RSSBytesMax: rss, CPUSeconds: 4},
		}
	}
	k6 := func(tp float64, rss int64) *k6Result {
		return &k6Result{Target: "gorilla", Conns: 1000, Size: 128, DurationMS: 10000, WarmupMS: 2000,
			ThroughputPerS: tp, PeakRSSBytes: rss, SocketsOpened: 1000, CPUPerMessageUS: 60}
	}
	pairs := map[int]*k6Pair{
		1: {wsh(16000, 40<<20), k6(8000, 400<<20)}, // 2.0, 0.1
		2: {wsh(15000, 44<<20), k6(5000, 400<<20)}, // 3.0, 0.11
		3: {wsh(20000, 40<<20), k6(8000, 360<<20)}, // 2.5, 0.111
		4: {wsh: wsh(1, 1)},                        // k6 failed in this run: left out
	}
	got := string(k6Comparison(pairs, "k6 v1.8.1"))
	testtext.Contains(t, "output", got,
		"1000 sockets, 128 B text, 10s measured after a 2s warm-up, against gorilla",
		"| echo replies/s (measured window) | 16,000/s | 8,000/s | 2.50 |",
		"| client peak RSS | 40.0 MiB | 400.0 MiB | 0.11 |",
		"| client CPU per message (whole run) | 20.0 µs | 60.0 µs | |",
		"| sockets open | 1000 | 1000 of 1000 | |",
		"Medians over 3 runs",
		"16,000/8,000, 15,000/5,000, 20,000/8,000",
	)
	if c := k6Comparison(map[int]*k6Pair{1: {wsh: wsh(1, 1)}}, "k6"); c != nil {
		t.Errorf("comparison without any k6 result: %s", c)
	}
}
