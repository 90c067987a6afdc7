// Package results is the versioned, documented schema of a conformance run
// (results.json), with reading, writing and the verdict vocabulary. It does
// no networking and knows nothing of how cases run.
package results

import (
	"encoding/json"
	"fmt"
	"os"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/wsharness/wsharness/internal/jsonpos"
	"github.com/wsharness/wsharness/wire"
)

// Schema identifies the format version of results.json.
const Schema = "wsharness.conformance/v1"

// Verdict judges what a case's peer did (Autobahn's "behavior").
type Verdict string

// Behaviour verdicts (Autobahn's vocabulary).
const (
	OK            Verdict = "OK"
	NonStrict     Verdict = "NON-STRICT"
	Informational Verdict = "INFORMATIONAL"
	Unimplemented Verdict = "UNIMPLEMENTED"
	Failed        Verdict = "FAILED"
)

// Verdicts lists behaviour verdicts in report order.
var Verdicts = []Verdict{OK, NonStrict, Informational, Unimplemented, Failed}

// CloseVerdict judges how the connection of a case was closed (Autobahn's
// "behaviorClose").
type CloseVerdict string

// Close verdicts.
const (
	CloseOK        CloseVerdict = "OK"
	CloseWrongCode CloseVerdict = "WRONG CODE"
	CloseUnclean   CloseVerdict = "UNCLEAN"
	CloseFailed    CloseVerdict = "FAILED"
)

// CloseVerdicts lists the close verdicts, best first.
var CloseVerdicts = []CloseVerdict{CloseOK, CloseWrongCode, CloseUnclean, CloseFailed}

// Run is one conformance run: every selected case against every target.
type Run struct {
	Schema     string    `json:"schema"`
	Started    time.Time `json:"started"`
	DurationMS int64     `json:"duration_ms"`
	// Incomplete is set when the run was interrupted or crashed before all
	// cases finished.
	Incomplete bool `json:"incomplete,omitempty"`
	// Seed is the hex seed every masking key and Sec-WebSocket-Key of the
	// run derives from: -wsh.seed (make conformance SEED=...) sends the
	// same bytes again.
	Seed string `json:"seed,omitempty"`
	// SkippedFamilies maps case families that did not run at all to why
	// (the browser family without a browser).
	SkippedFamilies map[string]string `json:"skipped_families,omitempty"`
	Targets         []Target          `json:"targets"`
}

// Target holds one target's results.
type Target struct {
	Name    string `json:"name"`
	URL     string `json:"url"`
	Agent   string `json:"agent"`
	Library string `json:"library,omitempty"`
	// Role is what was judged: a server (absent), or a client the harness
	// played the server for.
	Role wire.Role `json:"role,omitzero"`
	// Unavailable says why the target could not be started (a runtime
	// not installed, a command that never served); it then has no cases.
	Unavailable string `json:"unavailable,omitempty"`
	// Summary counts cases per behaviour verdict.
	Summary map[Verdict]int `json:"summary"`
	Cases   []Case          `json:"cases"`
}

// Case is the outcome of one case against one target.
type Case struct {
	ID          string `json:"id"`
	Family      string `json:"family"`
	Title       string `json:"title"`
	RFC         string `json:"rfc"`
	Description string `json:"description,omitempty"`
	Expectation string `json:"expectation"`

	Verdict      Verdict      `json:"verdict"`
	CloseVerdict CloseVerdict `json:"close_verdict"`
	// RemoteCloseCode is the status code of the server's Close frame; null
	// when it sent none or an empty one.
	RemoteCloseCode   *int    `json:"remote_close_code"`
	RemoteCloseReason string  `json:"remote_close_reason"`
	DurationMS        float64 `json:"duration_ms"`
	// Observed explains the verdict: expected versus observed, with the RFC
	// clause of any violation.
	Observed string `json:"observed"`
	// Events are the observed events in order (messages, pongs, markers).
	Events []string `json:"events"`
	// Deviation is the reason this target is listed as known to deviate in
	// this case; a listed FAILED does not fail the run.
	Deviation string `json:"deviation,omitempty"`
	// Unstable is set when the target's verdict on this case varies from
	// run to run, as the expectations file records with how often it
	// failed; the report shows it beside the verdict.
	Unstable *Frequency `json:"unstable,omitempty"`
	// HarnessError is set when wsharness itself could not run the case
	// (the browser crashed); the verdict is then UNIMPLEMENTED and the
	// run fails, since nothing was learnt about the server.
	HarnessError string `json:"harness_error,omitempty"`
	// NotRun is set when the case was not run because the server had
	// stopped answering opening handshakes; the verdict is then FAILED and
	// Observed says why. Reports count these apart.
	NotRun    bool         `json:"not_run,omitempty"`
	Wirelog   []wire.Entry `json:"wirelog"`
	Handshake Handshake    `json:"handshake"`
}

// Frequency is how often a case failed (Case.Failing: a FAILED verdict, or
// a FAILED or UNCLEAN close) in repeated runs against one target.
type Frequency struct {
	Failed int `json:"failed" yaml:"failed"`
	Runs   int `json:"runs" yaml:"runs"`
}

func (f Frequency) String() string { return fmt.Sprintf("failed in %d of %d runs", f.Failed, f.Runs) }

// Handshake is the raw opening handshake.
type Handshake struct {
	Request  string `json:"request"`
	Response string `json:"response"`
}

// Failing reports whether a case outcome breaks a MUST: a FAILED behaviour
// or a FAILED or UNCLEAN close.
func (c Case) Failing() bool {
	return c.Verdict == Failed || c.CloseVerdict == CloseFailed || c.CloseVerdict == CloseUnclean
}

// Unexpected reports whether the case fails and is not a listed
// deviation, or could not be run at all.
func (c Case) Unexpected() bool { return c.HarnessError != "" || c.Failing() && c.Deviation == "" }

// DeviationText is the reason the case is a listed deviation, with how
// often it FAILED when its verdict is known to vary; "" when not listed.
func (c Case) DeviationText() string {
	if c.Unstable == nil || c.Deviation == "" {
		return c.Deviation
	}
	return fmt.Sprintf("%s (unstable: %s when measured; never retried)", c.Deviation, c.Unstable)
}

// Summarize recomputes Summary from Cases.
func (t *Target) Summarize() {
	t.Summary = map[Verdict]int{}
	for _, v := range Verdicts {
		t.Summary[v] = 0
	}
	for _, c := range t.Cases {
		t.Summary[c.Verdict]++
	}
}

// SortCases orders cases by dotted numeric ID (1.2.10 after 1.2.9).
func (t *Target) SortCases() {
	sort.SliceStable(t.Cases, func(i, j int) bool { return LessID(t.Cases[i].ID, t.Cases[j].ID) })
}

// LessID compares dotted case IDs segment by segment, numerically.
func LessID(a, b string) bool {
	// A transport marker ("h2:") sorts a case with its kind, after the
	// unmarked ones.
	am, a, _ := cutMarker(a)
	bm, b, _ := cutMarker(b)
	if am != bm {
		return am < bm
	}
	as, bs := splitID(a), splitID(b)
	for i := 0; i < len(as) && i < len(bs); i++ {
		if as[i] != bs[i] {
			return as[i] < bs[i]
		}
	}
	return len(as) < len(bs)
}

// cutMarker splits a case ID into its transport marker ("h2:", or "")
// and the catalog ID.
func cutMarker(id string) (marker, base string, marked bool) {
	if i := strings.IndexByte(id, ':'); i >= 0 {
		return id[:i+1], id[i+1:], true
	}
	return "", id, false
}

func splitID(id string) []int {
	var out []int
	n, digits := 0, false
	for _, r := range id {
		if r == '.' {
			out = append(out, n)
			n, digits = 0, false
			continue
		}
		if r >= '0' && r <= '9' {
			n = n*10 + int(r-'0')
			digits = true
		}
	}
	if digits || len(out) > 0 {
		out = append(out, n)
	}
	return out
}

// Marshal encodes a run as indented JSON.
func Marshal(r Run) ([]byte, error) {
	b, err := json.MarshalIndent(r, "", "  ")
	if err != nil {
		return nil, fmt.Errorf("encode results: %w", err)
	}
	return append(b, '\n'), nil
}

// Unmarshal decodes and checks a results document. A JSON error names the
// line and column (see jsonpos.Error).
func Unmarshal(b []byte) (Run, error) {
	var r Run
	if err := json.Unmarshal(b, &r); err != nil {
		return Run{}, fmt.Errorf("decode results: %w", jsonpos.Annotate(b, err))
	}
	switch r.Schema {
	case Schema:
		if err := r.checkVerdicts(); err != nil {
			return Run{}, fmt.Errorf("decode results: %w", err)
		}
		return r, nil
	case "":
		return Run{}, fmt.Errorf("decode results: no \"schema\" field: not a wsharness results file (want %q)", Schema)
	}
	return Run{}, fmt.Errorf("decode results: schema %q, want %q", r.Schema, Schema)
}

// checkVerdicts refuses a verdict outside the vocabulary, which no run
// writes. An empty one is let through: a case the harness could not start
// at all (a client with no way to be started) has none.
func (r Run) checkVerdicts() error {
	for _, t := range r.Targets {
		for v := range t.Summary {
			if err := checkWord("summary verdict", v, Verdicts); err != nil {
				return fmt.Errorf("target %q: %w", t.Name, err)
			}
		}
		for _, c := range t.Cases {
			err := checkWord("verdict", c.Verdict, Verdicts)
			if err == nil {
				err = checkWord("close verdict", c.CloseVerdict, CloseVerdicts)
			}
			if err != nil {
				return fmt.Errorf("target %q, case %s: %w", t.Name, c.ID, err)
			}
		}
	}
	return nil
}

// checkWord reports whether v is empty or one of known.
func checkWord[V ~string](what string, v V, known []V) error {
	if v == "" || slices.Contains(known, v) {
		return nil
	}
	words := make([]string, len(known))
	for i, k := range known {
		words[i] = string(k)
	}
	return fmt.Errorf("%s %q is not one of %s", what, v, strings.Join(words, ", "))
}

// ReadFile reads and checks a results.json file.
func ReadFile(path string) (Run, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return Run{}, fmt.Errorf("read results: %w", err)
	}
	r, err := Unmarshal(b)
	if err != nil {
		return Run{}, fmt.Errorf("%s: %w", path, err)
	}
	return r, nil
}
