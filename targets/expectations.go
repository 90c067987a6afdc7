package targets

import _ "embed"

// Expectations is expectations.yaml: the known deviations of the reference
// and external targets, built into the binary so that it needs no
// checkout.
//
//go:embed expectations.yaml
var Expectations []byte
