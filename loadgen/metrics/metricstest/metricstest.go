// Package metricstest makes latency histograms for tests, encoded as
// load results carry them.
package metricstest

import (
	"testing"

	"github.com/wsharness/wsharness/loadgen/metrics"
)

// Encoded records values (µs) in a histogram and returns it encoded.
func Encoded(t testing.TB, values ...int64) string {
	t.Helper()
	h := metrics.NewHistogram()
	for _, v := range values {
		if err := h.RecordValue(v); err != nil {
			t.Fatal(err)
		}
	}
	s, err := metrics.Encode(h)
	if err != nil {
		t.Fatal(err)
	}
	return s
}
