package autobahn

import (
	"encoding/json"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"regexp"
	"strings"

	"github.com/wsharness/wsharness/results"
)

// autobahnFamilies are the first ID segments Autobahn|Testsuite has. The
// others (0 handshake, 11 deflate negotiation, 100 masking, 101 limits,
// 200 browser) are wsharness's own.
var autobahnFamilies = map[string]bool{"1": true, "2": true, "3": true, "4": true, "5": true, "6": true,
	"7": true, "9": true, "10": true, "12": true, "13": true}

// IsAutobahnID reports whether Autobahn|Testsuite has a case with this ID's
// family.
func IsAutobahnID(id string) bool {
	first, _, _ := strings.Cut(id, ".")
	return autobahnFamilies[first]
}

// Entry is one case of index.json.
type Entry struct {
	Behavior        results.Verdict      `json:"behavior"`
	BehaviorClose   results.CloseVerdict `json:"behaviorClose"`
	Duration        int64                `json:"duration"` // ms
	RemoteCloseCode *int                 `json:"remoteCloseCode"`
	ReportFile      string               `json:"reportfile"`
}

// CaseReport is the file per case that index.json names: the fields of
// Autobahn's per-case JSON that wsharness has.
type CaseReport struct {
	Agent             string               `json:"agent"`
	ID                string               `json:"id"`
	Description       string               `json:"description"`
	Expectation       string               `json:"expectation"`
	Behavior          results.Verdict      `json:"behavior"`
	BehaviorClose     results.CloseVerdict `json:"behaviorClose"`
	Duration          int64                `json:"duration"`
	Result            string               `json:"result"`
	RemoteCloseCode   *int                 `json:"remoteCloseCode"`
	RemoteCloseReason string               `json:"remoteCloseReason"`
	Received          []string             `json:"received"`
	HTTPRequest       string               `json:"httpRequest"`
	HTTPResponse      string               `json:"httpResponse"`
}

// Write writes run as Autobahn's report directory: index.json, keyed by
// agent (the target's Agent: the spec's agent, else the Server header,
// else its name) and case ID, and one JSON file per case. Cases of
// wsharness's own families are left out unless all is set.
func Write(dir string, run results.Run, all bool) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("autobahn report: %w", err)
	}
	index := map[string]map[string]Entry{}
	for _, t := range run.Targets {
		if t.Unavailable != "" {
			continue // Autobahn lists nothing for a server it could not reach
		}
		agent := t.Agent
		entries := map[string]Entry{}
		for _, c := range t.Cases {
			if !all && !IsAutobahnID(c.ID) {
				continue
			}
			file := ReportFile(agent, c.ID)
			e := Entry{Behavior: c.Verdict, BehaviorClose: c.CloseVerdict, Duration: int64(math.Round(c.DurationMS)),
				RemoteCloseCode: c.RemoteCloseCode, ReportFile: file}
			entries[c.ID] = e
			b, err := json.MarshalIndent(CaseReport{
				Agent: agent, ID: c.ID, Description: c.Description, Expectation: c.Expectation,
				Behavior: e.Behavior, BehaviorClose: e.BehaviorClose, Duration: e.Duration, Result: c.Observed,
				RemoteCloseCode: c.RemoteCloseCode, RemoteCloseReason: c.RemoteCloseReason, Received: c.Events,
				HTTPRequest: c.Handshake.Request, HTTPResponse: c.Handshake.Response,
			}, "", "  ")
			if err != nil {
				return fmt.Errorf("autobahn report of %s %s: %w", agent, c.ID, err)
			}
			if err := os.WriteFile(filepath.Join(dir, file), b, 0o644); err != nil {
				return fmt.Errorf("autobahn report: %w", err)
			}
		}
		index[agent] = entries
	}
	b, err := json.MarshalIndent(index, "", "  ") // maps marshal with sorted keys, as Autobahn writes them
	if err != nil {
		return fmt.Errorf("autobahn index.json: %w", err)
	}
	if err := os.WriteFile(filepath.Join(dir, "index.json"), append(b, '\n'), 0o644); err != nil {
		return fmt.Errorf("autobahn index.json: %w", err)
	}
	return nil
}

var notAlnum = regexp.MustCompile(`[^a-z0-9]`)

// ReportFile names a case's file as Autobahn does: the agent lower-cased
// with every other character than a-z and 0-9 made "_", then
// "_case_1_2_3.json".
func ReportFile(agent, id string) string {
	return notAlnum.ReplaceAllString(strings.ToLower(agent), "_") + "_case_" + strings.ReplaceAll(id, ".", "_") + ".json"
}
