package suites_test

import "github.com/wsharness/wsharness/suites/cases"

// permessage-deflate: negotiation and frame rules (11.x), and Autobahn's
// compressed round trips (12.x, 13.x; slow families, PROFILE=full).
var (
	_ = describeFamily(cases.FamilyDeflateNegotiation)
	_ = describeFamily(cases.FamilyDeflatePayloads)
	_ = describeFamily(cases.FamilyDeflateParams)
)
