package reports

import (
	"encoding/xml"
	"fmt"
	"io"

	"github.com/wsharness/wsharness/results"
)

type junitSuites struct {
	XMLName  xml.Name     `xml:"testsuites"`
	Name     string       `xml:"name,attr"`
	Tests    int          `xml:"tests,attr"`
	Failures int          `xml:"failures,attr"`
	Skipped  int          `xml:"skipped,attr"`
	Time     float64      `xml:"time,attr"`
	Suites   []junitSuite `xml:"testsuite"`
}

type junitSuite struct {
	Name       string          `xml:"name,attr"`
	Tests      int             `xml:"tests,attr"`
	Failures   int             `xml:"failures,attr"`
	Skipped    int             `xml:"skipped,attr"`
	Time       float64         `xml:"time,attr"`
	Properties []junitProperty `xml:"properties>property"`
	Cases      []junitCase     `xml:"testcase"`
}

// junitProperty is a testsuite's <property>: CI systems show them beside
// the suite, and they tell a server's suite from a client's.
type junitProperty struct {
	Name  string `xml:"name,attr"`
	Value string `xml:"value,attr"`
}

type junitCase struct {
	Name      string        `xml:"name,attr"`
	Classname string        `xml:"classname,attr"`
	Time      float64       `xml:"time,attr"`
	Failure   *junitMessage `xml:"failure,omitempty"`
	Skipped   *junitMessage `xml:"skipped,omitempty"`
	SystemOut string        `xml:"system-out,omitempty"`
}

type junitMessage struct {
	Message string `xml:"message,attr"`
	Type    string `xml:"type,attr,omitempty"`
	Text    string `xml:",chardata"`
}

// JUnit is the conformance cases as JUnit XML, junit.xml.
var JUnit = Format{Name: "junit", File: "junit.xml", Help: "the conformance cases, for a CI test view", Printed: true, Write: writeJUnit}

// writeJUnit renders the conformance runs as JUnit XML: one testsuite per
// target of each run, one testcase per case; the suite's "role" property
// says whether a server or a client was judged. Unexpected failures are
// <failure>s carrying the observed-versus-expected text; UNIMPLEMENTED
// cases are skipped; listed deviations pass with their reason in
// system-out.
func writeJUnit(w io.Writer, in Input, _ Options) error {
	doc := junitSuites{Name: "wsharness conformance"}
	for _, run := range in.Conformance {
		doc.Time += float64(run.DurationMS) / 1000
		doc.addRun(run)
	}
	b, err := xml.MarshalIndent(doc, "", "  ")
	if err != nil {
		return fmt.Errorf("encode JUnit: %w", err)
	}
	_, err = fmt.Fprintf(w, "%s%s\n", xml.Header, b)
	return err
}

func (doc *junitSuites) addRun(run results.Run) {
	for _, t := range run.Targets {
		s := junitSuite{Name: t.Name, Properties: []junitProperty{{Name: "role", Value: t.Role.String()}}}
		for _, c := range t.Cases {
			jc := junitCase{
				Name:      fmt.Sprintf("%s %s", c.ID, c.Title),
				Classname: fmt.Sprintf("%s.%s", t.Name, c.Family),
				Time:      c.DurationMS / 1000,
			}
			verdicts := fmt.Sprintf("behaviour %s, close %s", c.Verdict, c.CloseVerdict)
			switch {
			case c.Unexpected():
				jc.Failure = &junitMessage{
					Message: fmt.Sprintf("%s: %s (%s)", c.ID, verdicts, c.RFC),
					Type:    string(c.Verdict),
					Text:    fmt.Sprintf("Expected: %s\nObserved: %s\n", c.Expectation, c.Observed),
				}
				s.Failures++
			case c.Verdict == results.Unimplemented:
				jc.Skipped = &junitMessage{Message: "UNIMPLEMENTED: " + c.Observed}
				s.Skipped++
			case c.Failing():
				jc.SystemOut = fmt.Sprintf("%s; known deviation: %s\n%s", verdicts, c.DeviationText(), c.Observed)
			case c.Verdict != results.OK || c.CloseVerdict != results.CloseOK:
				jc.SystemOut = verdicts + "\n" + c.Observed
			}
			s.Tests++
			s.Time += jc.Time
			s.Cases = append(s.Cases, jc)
		}
		doc.Tests += s.Tests
		doc.Failures += s.Failures
		doc.Skipped += s.Skipped
		doc.Suites = append(doc.Suites, s)
	}
}
