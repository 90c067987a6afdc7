package engine

import (
	"slices"

	"github.com/wsharness/wsharness/conformance/cases"
	"github.com/wsharness/wsharness/conformance/expect"
)

// Select returns the cases of all whose ID matches one of include (every
// case when include is empty) and none of exclude, in the order of all.
// Patterns are those of the expectations file (expect.Match): an exact ID
// or a whole-segment prefix such as "6.1.*".
func Select(all []cases.Case, include, exclude []string) []cases.Case {
	matches := func(patterns []string, id string) bool {
		return slices.ContainsFunc(patterns, func(p string) bool { return expect.Match(p, id) })
	}
	var out []cases.Case
	for _, c := range all {
		if (len(include) == 0 || matches(include, c.ID)) && !matches(exclude, c.ID) {
			out = append(out, c)
		}
	}
	return out
}
