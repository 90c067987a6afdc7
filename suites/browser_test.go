package suites_test

import "github.com/wsharness/wsharness/suites/cases"

var _ = describeFamily(cases.FamilyBrowser)
