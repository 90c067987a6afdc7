// Package xconnect turns on net/http's HTTP/2 extended CONNECT (RFC 8441)
// for the process that imports it, so that the reference targets and the
// tests can serve WebSockets over HTTP/2 in process.
//
// net/http reads GODEBUG=http2xconnect=1 once, in its init, and has it off
// by default (golang/go#71128: browsers were lured into RFC 8441 by
// servers whose WebSocket handlers could not take it). The variable set
// here, in a package-level initialiser, is in place by then: the Go spec
// initialises packages in import-path order among those whose imports
// are done, and this one imports only os and strings, while
// "github.com/..." sorts before "net/http". TestSettingIsOn proves it.
//
// It affects every net/http server of the process, and every child it
// starts. wsharness's HTTP/1.1 servers do not offer HTTP/2 (no h2 in their
// TLS ALPN, no h2c), so no browser is offered RFC 8441 by a handler that
// cannot do it.
package xconnect

import (
	"os"
	"strings"
)

const setting = "http2xconnect=1"

// On is true once the setting is in GODEBUG.
var On = enable()

func enable() bool {
	v := os.Getenv("GODEBUG")
	if !strings.Contains(v, setting) {
		if v != "" {
			v += ","
		}
		_ = os.Setenv("GODEBUG", v+setting)
	}
	return true
}
