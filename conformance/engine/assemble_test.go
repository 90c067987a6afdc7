package engine

import (
	"strings"
	"testing"

	"github.com/wsharness/wsharness/conformance/cases"
	"github.com/wsharness/wsharness/results"
	"github.com/wsharness/wsharness/targets"
	"github.com/wsharness/wsharness/wire"
)

func TestAssemble(t *testing.T) {
	info := Run{Targets: []targets.Info{{Name: "a", Library: "lib/a"}, {Name: "b", Library: "lib/b"}, {Name: "c"}},
		Seed: "0123456789abcdef", SkippedFamilies: map[cases.Family]string{cases.FamilyBrowser: "no Chromium"}}
	resp := "HTTP/1.1 101 Switching Protocols\r\nserver:  gws/1.8\r\nUpgrade: websocket\r\n\r\n"
	records := []Record{
		{Target: "a", URL: "ws://a/echo", Case: results.Case{ID: "1.1.10", Verdict: results.OK, Handshake: results.Handshake{Response: resp}}},
		{Target: "a", URL: "ws://a/echo", Case: results.Case{ID: "1.1.9", Verdict: results.Failed}},
		{Target: "b", Unavailable: "php not installed"},
		{Target: "stray", Case: results.Case{ID: "2.1"}},
	}
	run, err := Assemble(info, records)
	if err == nil || !strings.Contains(err.Error(), `target "stray"`) {
		t.Errorf("a record of an unknown target: err %v, want it named", err)
	}
	a := run.Targets[0]
	if len(a.Cases) != 2 || a.Cases[0].ID != "1.1.9" || a.Agent != "gws/1.8" || a.URL != "ws://a/echo" {
		t.Errorf("target a: %+v", a)
	}
	if a.Summary[results.OK] != 1 || a.Summary[results.Failed] != 1 || a.Summary[results.NonStrict] != 0 {
		t.Errorf("summary %v", a.Summary)
	}
	if b := run.Targets[1]; b.Unavailable != "php not installed" || len(b.Cases) != 0 {
		t.Errorf("target b: %+v", b)
	}
	if c := run.Targets[2]; c.Agent != "c" {
		t.Errorf("a target without a Server header is named by itself: %q", c.Agent)
	}
	if run.Schema != results.Schema || run.Seed != info.Seed || run.SkippedFamilies["browser"] != "no Chromium" {
		t.Errorf("run: %+v", run)
	}
}

func TestAgentOf(t *testing.T) {
	for _, tc := range []struct {
		peer wire.Role
		hs   results.Handshake
		want string
	}{
		{wire.Server, results.Handshake{Response: "HTTP/1.1 101 x\r\nServer: a b\r\n\r\n"}, "a b"},
		{wire.Server, results.Handshake{Response: "HTTP/1.1 101 x\r\nX: y\r\n\r\n"}, ""},
		{wire.Server, results.Handshake{}, ""},
		{wire.Server, results.Handshake{Response: "Server: first line is the status\r\n"}, ""},
		{wire.Server, results.Handshake{Request: "GET / HTTP/1.1\r\nUser-Agent: c\r\n\r\n"}, ""},
		{wire.Client, results.Handshake{Request: "GET / HTTP/1.1\r\nuser-agent: Go-http-client/1.1\r\n\r\n",
			Response: "HTTP/1.1 101 x\r\nServer: wsharness\r\n\r\n"}, ""},
	} {
		if got := agentOf(tc.peer, tc.hs); got != tc.want {
			t.Errorf("agentOf(%v, %q) = %q, want %q", tc.peer, tc.hs, got, tc.want)
		}
	}
}
