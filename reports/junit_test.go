package reports

import (
	"encoding/xml"
	"strings"
	"testing"

	"github.com/wsharness/wsharness/results"
	"github.com/wsharness/wsharness/wire"
)

func TestJUnitOneTestcasePerTargetAndCase(t *testing.T) {
	run := results.Run{Schema: results.Schema, Targets: []results.Target{
		{Name: "good", Cases: []results.Case{{ID: "1.1.1", Family: "framing", Verdict: results.OK, CloseVerdict: results.CloseOK}}},
		{Name: "bad", Role: wire.Client, Cases: []results.Case{
			{ID: "1.1.1", Family: "framing", Verdict: results.OK, CloseVerdict: results.CloseOK},
			{ID: "2.2", Family: "pingpong", RFC: "RFC 6455 §5.5.3", Expectation: "pong echoes", Verdict: results.Failed, CloseVerdict: results.CloseOK, Observed: "pong(0) <b>"},
			{ID: "2.3", Family: "pingpong", Verdict: results.Failed, CloseVerdict: results.CloseOK, Deviation: "known"},
		}},
	}}
	b := render(t, JUnit, Input{Conformance: []results.Run{run}})
	var doc junitSuites
	if err := xml.Unmarshal([]byte(b), &doc); err != nil {
		t.Fatalf("not XML: %v\n%s", err, b)
	}
	if doc.Tests != 4 || doc.Failures != 1 || len(doc.Suites) != 2 {
		t.Fatalf("tests %d failures %d suites %d", doc.Tests, doc.Failures, len(doc.Suites))
	}
	f := doc.Suites[1].Cases[1].Failure
	if f == nil || !strings.Contains(f.Message, "RFC 6455 §5.5.3") || !strings.Contains(f.Text, "pong(0) <b>") {
		t.Fatalf("failure %+v", f)
	}
	if doc.Suites[1].Cases[2].Failure != nil {
		t.Fatal("a listed deviation was reported as a failure")
	}
	for i, want := range []string{"server", "client"} {
		if p := doc.Suites[i].Properties; len(p) != 1 || p[0] != (junitProperty{Name: "role", Value: want}) {
			t.Errorf("suite %s: properties %+v, want role %s", doc.Suites[i].Name, p, want)
		}
	}
}
