package main

import (
	"encoding/json"
	"fmt"
	"net/url"
	"os"
	"sort"
	"strings"

	"github.com/wsharness/wsharness/loadgen"
	"github.com/wsharness/wsharness/results"
	"github.com/wsharness/wsharness/wire"
)

// checkWSURL checks a server URL given on the command line: ws://,
// wss://, ws+h2:// or wss+h2://, with a host. what names where it came
// from ("--url", "URL"). It
// does not resolve the host: an unresolvable host is a target that cannot
// be reached (exit 3), found when connecting.
func checkWSURL(what, raw string) error {
	u, err := url.Parse(raw)
	if err != nil {
		// url.Error repeats the URL; keep its reason only.
		if ue, ok := err.(*url.Error); ok {
			err = ue.Err
		}
		return usageError("%s %q: %v", what, raw, err)
	}
	if !wire.KnownScheme(u.Scheme) {
		return usageError("%s %q: want a %s URL such as ws://127.0.0.1:9001/echo", what, raw, wire.SchemesText)
	}
	if u.Hostname() == "" {
		return usageError("%s %q: no host (want ws://host:port/path)", what, raw)
	}
	return nil
}

// fileSchema returns the "schema" field of a JSON file, or "" when the file
// cannot be read or is not a JSON object.
func fileSchema(path string) string {
	b, err := os.ReadFile(path)
	if err != nil {
		return ""
	}
	var head struct {
		Schema string `json:"schema"`
	}
	if json.Unmarshal(b, &head) != nil {
		return ""
	}
	return head.Schema
}

// wrongKind explains a results file of the other kind than a command reads:
// a load result given to summary, conformance results given to merge. ""
// when path is not of the other kind.
func wrongKind(path, want string) string {
	switch s := fileSchema(path); {
	case s == want || s == "":
		return ""
	case s == loadgen.Schema:
		return fmt.Sprintf("%s is a load result (%s), not conformance results (%s); 'wsharness report %s' renders it", path, s, want, path)
	case s == results.Schema:
		return fmt.Sprintf("%s holds conformance results (%s), not a load result (%s); 'wsharness summary %s' prints them", path, s, want, path)
	}
	return ""
}

// unreachable explains a load in which not one connection was established.
func unreachable(rawURL string, c loadgen.Connections) error {
	msg := rawURL + ": no connection could be established"
	if len(c.Failures) == 0 {
		return &exitError{code: exitUnreachable, err: fmt.Errorf("%s", msg)}
	}
	kinds := make([]string, 0, len(c.Failures))
	for k, n := range c.Failures {
		kinds = append(kinds, fmt.Sprintf("%s %d", k, n))
	}
	sort.Strings(kinds)
	msg += " (" + strings.Join(kinds, ", ") + ")"
	switch {
	case len(c.Failures) != 1:
	case c.Failures[loadgen.FailDNS] > 0:
		host := rawURL
		if u, err := url.Parse(rawURL); err == nil {
			host = u.Hostname()
		}
		msg += fmt.Sprintf(": host %q does not resolve", host)
	case c.Failures[loadgen.FailRefused] > 0:
		msg += ": nothing listens there"
	}
	return &exitError{code: exitUnreachable, err: fmt.Errorf("%s", msg)}
}
