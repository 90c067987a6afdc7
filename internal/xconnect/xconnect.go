// Package xconnect turns on extended CONNECT (RFC 8441, WebSockets over
// HTTP/2) in net/http's HTTP/2 server, which is off unless the GODEBUG
// environment variable holds http2xconnect=1 when net/http initialises
// (net/http/h2_bundle.go reads it once, in an init function).
//
// Importing this package sets it in time: its package-level variable is
// initialised before net/http's init runs. The Go spec (1.21 and later)
// initialises packages in import-path order, the first one whose imports
// are done going first; this package imports only os and strings, which
// net/http imports too, and "github.com/..." sorts before "net/http".
//
// The setting is process-wide: every net/http HTTP/2 server of the process
// then advertises SETTINGS_ENABLE_CONNECT_PROTOCOL and hands extended
// CONNECT requests to its handlers. Go keeps it off by default because a
// server that advertises it with handlers that cannot serve it lures
// browsers into failing WebSockets (golang/go#71128). In wsharness only the
// HTTP/2 reference targets offer HTTP/2 at all: the HTTP/1.1 targets offer
// only http/1.1 over TLS and do not enable h2c, so no client reaches a
// handler that cannot do RFC 8441. The environment variable is inherited by
// the programs wsharness starts (for a Go program the same holds there).
package xconnect

import (
	"os"
	"strings"
)

// Setting is the GODEBUG entry this package adds.
const Setting = "http2xconnect=1"

// Enabled reports whether GODEBUG held Setting once this package had
// initialised (false only if the environment could not be set).
var Enabled = enable()

// enable appends Setting to GODEBUG, keeping what is there.
func enable() bool {
	cur := os.Getenv("GODEBUG")
	if strings.Contains(cur, Setting) {
		return true
	}
	if cur != "" {
		cur += ","
	}
	return os.Setenv("GODEBUG", cur+Setting) == nil
}
