// Package autobahn reads and writes Autobahn|Testsuite's file formats, so
// that a team can move from Autobahn by changing one command: the
// fuzzingclient spec that says which servers and cases to test, and the
// index.json (with a file per case) that CI scripts read.
package autobahn

import (
	"encoding/json"
	"fmt"
	"os"
	"regexp"
	"strings"

	"github.com/wsharness/wsharness/internal/jsonpos"
)

// Spec is a fuzzingclient spec (wstest -m fuzzingclient -s FILE), or a
// fuzzingserver one (wstest -m fuzzingserver -s FILE), which has a url to
// serve on instead of servers. Only what says which servers and cases to
// test is used; Autobahn's protocol options have no counterpart and are
// ignored.
type Spec struct {
	// URL is where a fuzzingserver spec's server listens.
	URL               string              `json:"url"`
	OutDir            string              `json:"outdir"`
	Servers           []Server            `json:"servers"`
	Cases             []string            `json:"cases"`
	ExcludeCases      []string            `json:"exclude-cases"`
	ExcludeAgentCases map[string][]string `json:"exclude-agent-cases"`
}

// Server is one entry of a spec's servers.
type Server struct {
	URL string `json:"url"`
	// Agent names the server in the reports; Autobahn falls back to the
	// server's Server header.
	Agent string `json:"agent"`
}

// ReadSpec reads a fuzzingclient spec.
func ReadSpec(path string) (Spec, error) {
	s, err := readSpec(path)
	if err != nil {
		return Spec{}, err
	}
	if len(s.Servers) == 0 {
		return Spec{}, fmt.Errorf("%s: no servers", path)
	}
	for i, srv := range s.Servers {
		if srv.URL == "" {
			return Spec{}, fmt.Errorf("%s: servers[%d] has no url", path, i)
		}
	}
	return s, nil
}

// DefaultFuzzingServerURL is where Autobahn's fuzzing server listens when
// its spec names no url.
const DefaultFuzzingServerURL = "ws://127.0.0.1:9001"

// ReadFuzzingServerSpec reads a fuzzingserver spec; a missing url is
// DefaultFuzzingServerURL.
func ReadFuzzingServerSpec(path string) (Spec, error) {
	s, err := readSpec(path)
	if err != nil {
		return Spec{}, err
	}
	if len(s.Servers) > 0 {
		return Spec{}, fmt.Errorf("%s: servers belong in a fuzzingclient spec; a fuzzingserver spec has a url", path)
	}
	if s.URL == "" {
		s.URL = DefaultFuzzingServerURL
	}
	return s, nil
}

// readSpec reads either kind of spec, which must select cases.
func readSpec(path string) (Spec, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return Spec{}, fmt.Errorf("read the spec: %w", err)
	}
	var s Spec
	if err := json.Unmarshal(b, &s); err != nil {
		return Spec{}, fmt.Errorf("%s: %w", path, jsonpos.Annotate(b, err))
	}
	if len(s.Cases) == 0 {
		return Spec{}, fmt.Errorf("%s: no cases (Autobahn runs none; use [\"*\"] for all)", path)
	}
	return s, nil
}

// Selects reports whether the spec runs case id against agent, with
// Autobahn's meaning: a case pattern matches at the start of the ID ("*"
// any text, so "6.1*" also selects 6.10.1 and "1.1.1" also 1.1.10), an
// agent pattern the whole agent name.
func (s Spec) Selects(agent, id string) bool {
	if !matchAny(s.Cases, id) || matchAny(s.ExcludeCases, id) {
		return false
	}
	for agentPattern, excluded := range s.ExcludeAgentCases {
		if pattern(agentPattern, true).MatchString(agent) && matchAny(excluded, id) {
			return false
		}
	}
	return true
}

func matchAny(patterns []string, id string) bool {
	for _, p := range patterns {
		if pattern(p, false).MatchString(id) {
			return true
		}
	}
	return false
}

// pattern turns an Autobahn pattern into a regular expression: "*" is any
// text, everything else literal; anchored at the start, and at the end
// too when whole is set.
func pattern(p string, whole bool) *regexp.Regexp {
	parts := strings.Split(p, "*")
	for i := range parts {
		parts[i] = regexp.QuoteMeta(parts[i])
	}
	expr := "^" + strings.Join(parts, ".*")
	if whole {
		expr += "$"
	}
	return regexp.MustCompile(expr) // quoted: always valid
}
