package autobahn

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/wsharness/wsharness/results"
)

// A spec written the way Autobahn's documentation shows one, with its
// pattern rules: prefix matches ("6.1*" takes 6.10 to 6.19 too), excludes,
// and per-agent excludes matched on the whole agent name.
func TestReadSpec(t *testing.T) {
	s, err := ReadSpec("testdata/fuzzingclient.json")
	if err != nil {
		t.Fatal(err)
	}
	if len(s.Servers) != 2 || s.Servers[0].Agent != "AutobahnServer/0.7" || s.Servers[1].URL != "ws://127.0.0.1:9002/ws" {
		t.Errorf("servers %+v", s.Servers)
	}
	for _, tc := range []struct {
		agent, id string
		want      bool
	}{
		{"x", "1.1.1", true},
		{"x", "1.2.3", true},
		{"AutobahnServer/0.7", "1.2.3", false}, // excluded for this agent
		{"AutobahnServer/0.7", "1.1.3", true},
		{"xAutobahnServer", "1.2.3", true}, // agent patterns are anchored
		{"x", "6.1.1", true},
		{"x", "6.12.2", true},  // prefix match, as Autobahn does
		{"x", "6.10.1", false}, // excluded
		{"x", "6.2.1", false},
		{"x", "7.1.1", true},
		{"x", "2.1", false},
		{"x", "12.1.1", true},
		{"x", "12.1.10", true}, // "12.1.1" is a prefix of it
	} {
		if got := s.Selects(tc.agent, tc.id); got != tc.want {
			t.Errorf("Selects(%q, %q) = %v, want %v", tc.agent, tc.id, got, tc.want)
		}
	}
	for _, bad := range []string{`{"servers": []}`, `{"servers": [{"agent": "a"}], "cases": ["*"]}`, `{"servers": [{"url": "ws://x:1"}]}`, `{"servers": [`} {
		path := filepath.Join(t.TempDir(), "spec.json")
		if err := os.WriteFile(path, []byte(bad), 0o644); err != nil {
			t.Fatal(err)
		}
		if _, err := ReadSpec(path); err == nil {
			t.Errorf("ReadSpec(%s) passed", bad)
		}
	}
}

// index.json and the files it names are laid out as Autobahn writes them,
// so that a CI script written for Autobahn's works unchanged: here one
// like gobwas/ws's reporter, which fails on FAILED, UNCLEAN and NON-STRICT
// and prints each bad case's description from its report file.
func TestWriteIndex(t *testing.T) {
	code := 1002
	run := results.Run{Targets: []results.Target{
		{Name: "mine", Agent: "MyServer/1.0", Cases: []results.Case{
			{ID: "1.1.1", Verdict: results.OK, CloseVerdict: results.CloseOK, DurationMS: 2.4, Description: "Send text message with payload 0."},
			{ID: "5.1", Verdict: results.Failed, CloseVerdict: results.CloseUnclean, RemoteCloseCode: &code, Description: "Send Ping fragmented into 2 fragments.", Observed: "no Close"},
			{ID: "100.7", Verdict: results.OK, CloseVerdict: results.CloseOK},
		}},
		{Name: "gone", Agent: "gone", Unavailable: "cannot be reached"},
	}}
	dir := t.TempDir()
	if err := Write(dir, run, false); err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(filepath.Join(dir, "index.json"))
	if err != nil {
		t.Fatal(err)
	}
	var index map[string]map[string]struct {
		Behavior        string `json:"behavior"`
		BehaviorClose   string `json:"behaviorClose"`
		Duration        int64  `json:"duration"`
		RemoteCloseCode *int   `json:"remoteCloseCode"`
		ReportFile      string `json:"reportfile"`
	}
	if err := json.Unmarshal(b, &index); err != nil {
		t.Fatal(err)
	}
	if len(index) != 1 || len(index["MyServer/1.0"]) != 2 {
		t.Fatalf("index.json: %s", b)
	}
	if _, own := index["MyServer/1.0"]["100.7"]; own {
		t.Error("a wsharness-only case is in index.json without --autobahn-all")
	}
	var bad []string
	for id, e := range index["MyServer/1.0"] {
		if e.Behavior == "FAILED" || e.Behavior == "NON-STRICT" || e.BehaviorClose == "UNCLEAN" {
			var report struct{ Description string }
			rb, err := os.ReadFile(filepath.Join(dir, e.ReportFile))
			if err != nil || json.Unmarshal(rb, &report) != nil {
				t.Fatalf("report file %s of %s: %v", e.ReportFile, id, err)
			}
			bad = append(bad, id+": "+report.Description)
		}
	}
	if len(bad) != 1 || !strings.HasPrefix(bad[0], "5.1: Send Ping fragmented") {
		t.Errorf("the reporter found %v", bad)
	}
	e := index["MyServer/1.0"]["5.1"]
	if e.ReportFile != "myserver_1_0_case_5_1.json" || e.RemoteCloseCode == nil || *e.RemoteCloseCode != 1002 || index["MyServer/1.0"]["1.1.1"].Duration != 2 {
		t.Errorf("entry %+v", e)
	}
	if err := Write(dir, run, true); err != nil {
		t.Fatal(err)
	}
	b, _ = os.ReadFile(filepath.Join(dir, "index.json"))
	if !strings.Contains(string(b), `"100.7"`) {
		t.Error("--autobahn-all leaves out the wsharness-only case")
	}
}
