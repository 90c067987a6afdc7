// Package metrics holds the load generator's measurement state: sharded
// HdrHistograms and per-connection sequence tracking. It does no I/O and
// never keeps raw samples.
package metrics

import (
	"fmt"
	"sync"

	hdr "github.com/HdrHistogram/hdrhistogram-go"
)

// Histogram range: 1 µs to 60 s at 3 significant digits.
const (
	LowestUS  = 1
	HighestUS = 60_000_000
	Digits    = 3
)

// NewHistogram returns an empty latency histogram in microseconds.
func NewHistogram() *hdr.Histogram { return hdr.New(LowestUS, HighestUS, Digits) }

// clamp keeps a value inside the histogram's range, so an out-of-range
// sample (a clock step, a 2-minute stall) is counted at the edge instead of
// being dropped.
func clamp(us int64) int64 {
	switch {
	case us < LowestUS:
		return LowestUS
	case us > HighestUS:
		return HighestUS
	}
	return us
}

// Recorder is a concurrency-safe histogram split into shards, so thousands
// of connection goroutines record without contending on one lock. It keeps
// the whole run and the current window (for the per-second timeline).
type Recorder struct {
	shards []shard
}

type shard struct {
	mu     sync.Mutex
	total  *hdr.Histogram
	window *hdr.Histogram
	_      [40]byte // keep shards on separate cache lines
}

// NewRecorder returns a recorder with n shards (at least 1).
func NewRecorder(n int) *Recorder {
	r := &Recorder{shards: make([]shard, max(n, 1))}
	for i := range r.shards {
		r.shards[i].total, r.shards[i].window = NewHistogram(), NewHistogram()
	}
	return r
}

// Record adds one sample in microseconds; key picks the shard (a
// connection id, say).
func (r *Recorder) Record(key int, us int64) {
	s := &r.shards[uint(key)%uint(len(r.shards))]
	v := clamp(us)
	s.mu.Lock()
	_ = s.total.RecordValue(v) // cannot fail: v is in range
	_ = s.window.RecordValue(v)
	s.mu.Unlock()
}

// Total returns a merged copy of everything recorded.
func (r *Recorder) Total() *hdr.Histogram {
	return r.merged(func(s *shard, out *hdr.Histogram) { out.Merge(s.total) })
}

// TakeWindow returns what was recorded since the last call and starts a
// new window.
func (r *Recorder) TakeWindow() *hdr.Histogram {
	return r.merged(func(s *shard, out *hdr.Histogram) {
		out.Merge(s.window)
		s.window.Reset()
	})
}

// merged returns a new histogram into which take has merged every shard,
// each under its lock.
func (r *Recorder) merged(take func(s *shard, out *hdr.Histogram)) *hdr.Histogram {
	out := NewHistogram()
	for i := range r.shards {
		s := &r.shards[i]
		s.mu.Lock()
		take(s, out)
		s.mu.Unlock()
	}
	return out
}

// Encode returns the HdrHistogram V2 compressed, base64 encoding of h.
func Encode(h *hdr.Histogram) (string, error) {
	b, err := h.Encode(hdr.V2CompressedEncodingCookieBase)
	if err != nil {
		return "", fmt.Errorf("encode histogram: %w", err)
	}
	return string(b), nil
}

// Decode reverses Encode.
func Decode(s string) (*hdr.Histogram, error) {
	h, err := hdr.Decode([]byte(s))
	if err != nil {
		return nil, fmt.Errorf("decode histogram: %w", err)
	}
	return h, nil
}
