package suites_test

import (
	"testing"

	"github.com/onsi/ginkgo/v2/types"

	"github.com/wsharness/wsharness/suites/cases"
)

var _ = describeFamily(cases.FamilyLimits)

// TestProfileListsSlowFamilies: specs a label filter leaves out report
// nothing, so the default profile alone must name the slow families as
// skipped in results.json, and the full profile must not.
func TestProfileListsSlowFamilies(t *testing.T) {
	saved := *flagProfile
	defer func() { *flagProfile = saved }()
	for _, profile := range []string{profileDefault, profileFull} {
		*flagProfile = profile
		run := assemble(types.Report{})
		for _, f := range cases.SlowFamilies {
			reason, listed := run.SkippedFamilies[f]
			switch {
			case profile == profileDefault && reason != cases.SlowFamilyReason:
				t.Errorf("profile %s: family %s skipped with %q, want %q", profile, f, reason, cases.SlowFamilyReason)
			case profile == profileFull && listed:
				t.Errorf("profile %s: family %s listed as skipped: %q", profile, f, reason)
			}
		}
	}
}
