package suites_test

import (
	"strings"
	"testing"

	"github.com/onsi/ginkgo/v2/types"

	"github.com/wsharness/wsharness/suites/cases"
)

var _ = describeFamily(cases.FamilyLimits)

// TestProfileListsSlowFamilies: specs a label filter leaves out report
// nothing, so the default profile alone must name the slow families as
// skipped in results.json, and the full profile must not.
func TestProfileListsSlowFamilies(t *testing.T) {
	saved := profile
	defer func() { profile = saved }()
	for _, p := range []cases.Profile{cases.ProfileDefault, cases.ProfileFull} {
		profile = p
		run, err := assemble(types.Report{})
		if err != nil {
			t.Fatal(err)
		}
		for _, f := range cases.SlowFamilies {
			reason, listed := run.SkippedFamilies[f]
			switch {
			case p == cases.ProfileDefault && reason != cases.SlowFamilyReason:
				t.Errorf("profile %s: family %s skipped with %q, want %q", p, f, reason, cases.SlowFamilyReason)
			case p == cases.ProfileFull && listed:
				t.Errorf("profile %s: family %s listed as skipped: %q", p, f, reason)
			}
		}
	}
}

// A record that cannot be read fails the run's results instead of being
// dropped with a message.
func TestAssembleReportsUnreadableRecords(t *testing.T) {
	report := types.Report{SpecReports: types.SpecReports{{
		LeafNodeText: "1.1.1 text message, 0-byte payload",
		ReportEntries: types.ReportEntries{
			{Name: reportEntry, Value: types.WrapEntryValue("not a record")},
			{Name: skippedFamilyEntry, Value: types.WrapEntryValue("[1, 2]")},
		},
	}}}
	_, err := assemble(report)
	if err == nil || !strings.Contains(err.Error(), "case record") || !strings.Contains(err.Error(), "skipped family entry") {
		t.Errorf("assemble: %v, want both unreadable entries named", err)
	}
}
