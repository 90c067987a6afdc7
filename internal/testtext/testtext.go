// Package testtext checks rendered text in tests: reports, summaries and
// CLI output that must say certain things.
package testtext

import (
	"strings"
	"testing"
)

// Contains fails the test, naming what was rendered (what), for each of
// want that got does not contain.
func Contains(t testing.TB, what, got string, want ...string) {
	t.Helper()
	for _, w := range want {
		if !strings.Contains(got, w) {
			t.Errorf("%s lacks %q:\n%s", what, w, got)
		}
	}
}

// Lacks fails the test for each of unwanted that got contains.
func Lacks(t testing.TB, what, got string, unwanted ...string) {
	t.Helper()
	for _, u := range unwanted {
		if strings.Contains(got, u) {
			t.Errorf("%s has %q, which it should not:\n%s", what, u, got)
		}
	}
}
