// Package engine turns what a conformance run observed into its results:
// the records of each case against each target, assembled into the
// wsharness.conformance/v1 document that results.json, JUnit and every
// report are made from.
package engine

import (
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/wsharness/wsharness/conformance/cases"
	"github.com/wsharness/wsharness/results"
	"github.com/wsharness/wsharness/targets"
	"github.com/wsharness/wsharness/wire"
)

// Record is what one case against one target produced: its result, or why
// the target could not run at all.
type Record struct {
	Target  string       `json:"target"`
	Library string       `json:"library"`
	URL     string       `json:"url"`
	Case    results.Case `json:"case"`
	// Unavailable is why the target could not be started; Case is then
	// empty.
	Unavailable string `json:"unavailable,omitempty"`
}

// Run describes a conformance run as a whole.
type Run struct {
	Started  time.Time
	Duration time.Duration
	Seed     string
	// Incomplete: the run was interrupted before every case finished.
	Incomplete bool
	// Targets are the targets selected, in report order.
	Targets []targets.Info
	// SkippedFamilies maps families that did not run at all to why.
	SkippedFamilies map[cases.Family]string
}

// Assemble builds the results document from the records. A record that
// names no selected target is an error, not a silent loss; every other
// record is kept, so the document is complete even when err is not nil.
func Assemble(info Run, records []Record) (results.Run, error) {
	run := results.Run{
		Schema: results.Schema, Started: info.Started.UTC(), DurationMS: info.Duration.Milliseconds(),
		Seed: info.Seed, Incomplete: info.Incomplete,
	}
	if len(info.SkippedFamilies) > 0 {
		run.SkippedFamilies = map[string]string{}
		for f, why := range info.SkippedFamilies {
			run.SkippedFamilies[string(f)] = why
		}
	}
	byName := map[string]int{}
	for i, t := range info.Targets {
		run.Targets = append(run.Targets, results.Target{Name: t.Name, Library: t.Library, Role: t.Role})
		byName[t.Name] = i
	}
	var errs []error
	for _, rec := range records {
		i, ok := byName[rec.Target]
		if !ok {
			errs = append(errs, fmt.Errorf("a record of case %q names target %q, which is not in the run", rec.Case.ID, rec.Target))
			continue
		}
		t := &run.Targets[i]
		if rec.Unavailable != "" {
			t.Unavailable = rec.Unavailable
			continue
		}
		t.URL = rec.URL
		if t.Agent == "" {
			t.Agent = agentOf(t.Role, rec.Case.Handshake)
		}
		t.Cases = append(t.Cases, rec.Case)
	}
	for i := range run.Targets {
		t := &run.Targets[i]
		if t.Agent == "" {
			t.Agent = t.Name
		}
		t.SortCases()
		t.Summarize()
	}
	return run, errors.Join(errs...)
}

// agentOf names the implementation under test as its own handshake does:
// a server by its Server header. A client is named by the agent it runs as
// (Autobahn's runCase?agent=, the target's name), which Autobahn's reports
// key it by, not by its User-Agent.
func agentOf(peer wire.Role, hs results.Handshake) string {
	if peer == wire.Client {
		return ""
	}
	return headerOf(hs.Response, "Server")
}

// headerOf returns the value of the header called name in a raw HTTP head
// (its first line is the request or status line), "" when it has none.
func headerOf(raw, name string) string {
	lines := strings.Split(raw, "\r\n")
	for _, line := range lines[1:] {
		field, value, ok := strings.Cut(line, ":")
		if ok && http.CanonicalHeaderKey(strings.TrimSpace(field)) == http.CanonicalHeaderKey(name) {
			return strings.TrimSpace(value)
		}
	}
	return ""
}
