// Package testtext checks rendered text in tests: reports, summaries and
// CLI output that must say certain things.
package testtext

import (
	"fmt"
	"strings"
	"testing"
)

// Contains fails the test for each of want that got, named what, does
// not contain.
func Contains(t testing.TB, what, got string, want ...string) {
	t.Helper()
	for _, w := range want {
		if !strings.Contains(got, w) {
			t.Errorf("%s lacks %q:\n%s", what, w, shown(got))
		}
	}
}

// shown is got, or its size when it is too long to read in a test log.
func shown(got string) string {
	const most = 8 << 10
	if len(got) > most {
		return fmt.Sprintf("(%d bytes, not shown)", len(got))
	}
	return got
}
