package metrics

import (
	"sync"
	"testing"
)

func TestRecorderMergesShardsAndWindows(t *testing.T) {
	r := NewRecorder(8)
	var wg sync.WaitGroup
	for g := range 16 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 1; i <= 1000; i++ {
				r.Record(g, int64(i)) // 1..1000 µs from every goroutine
			}
		}()
	}
	wg.Wait()
	total := r.Total()
	if total.TotalCount() != 16000 {
		t.Fatalf("count %d, want 16000", total.TotalCount())
	}
	if p50 := total.ValueAtQuantile(50); p50 < 495 || p50 > 505 {
		t.Fatalf("p50 %d, want ~500", p50)
	}
	if w := r.TakeWindow(); w.TotalCount() != 16000 {
		t.Fatalf("first window %d samples", w.TotalCount())
	}
	r.Record(0, 7)
	if w := r.TakeWindow(); w.TotalCount() != 1 || w.Max() != 7 {
		t.Fatalf("second window: count %d max %d", w.TotalCount(), w.Max())
	}
	if r.Total().TotalCount() != 16001 {
		t.Fatal("taking a window lost samples from the total")
	}
}

func TestRecorderClampsOutOfRange(t *testing.T) {
	r := NewRecorder(1)
	r.Record(0, -5)
	r.Record(0, 10*HighestUS)
	h := r.Total()
	if h.TotalCount() != 2 || h.Min() != LowestUS || !h.ValuesAreEquivalent(h.Max(), HighestUS) {
		t.Fatalf("count %d min %d max %d", h.TotalCount(), h.Min(), h.Max())
	}
}

func TestEncodeRoundTrip(t *testing.T) {
	h := NewHistogram()
	for i := int64(1); i < 100000; i += 37 {
		_ = h.RecordValue(i)
	}
	s, err := Encode(h)
	if err != nil {
		t.Fatal(err)
	}
	back, err := Decode(s)
	if err != nil {
		t.Fatal(err)
	}
	if !back.Equals(h) {
		t.Fatal("decoded histogram differs")
	}
	if _, err := Decode("not a histogram"); err == nil {
		t.Fatal("garbage decoded")
	}
}

func TestSequence(t *testing.T) {
	var s Sequence
	want := []struct {
		seq uint64
		o   Order
	}{{0, InOrder}, {1, InOrder}, {4, InOrder}, {2, OutOfOrder}, {2, Duplicate}, {4, Duplicate}, {3, OutOfOrder}, {5, InOrder}}
	for _, w := range want {
		if got := s.Observe(w.seq); got != w.o {
			t.Fatalf("Observe(%d) = %v, want %v", w.seq, got, w.o)
		}
	}
	var big Sequence
	big.Observe(1 << 40) // a wild jump must not allocate a trillion gaps
	if len(big.gaps) > maxGaps {
		t.Fatalf("%d gaps remembered", len(big.gaps))
	}
}
