package targets

import (
	"fmt"
	"strings"
)

// variant is how a built-in target runs its library.
type variant int

const (
	// configured: the library configured to conform to RFC 6455, as its
	// authors run Autobahn, plus what it leaves to the application.
	configured variant = iota
	// configuredDeflate: configured, plus permessage-deflate (RFC 7692).
	configuredDeflate
	// asREADME: the library exactly as its README example runs it
	// (Info.Default), deviating from the RFC in known ways.
	asREADME
	// configuredH2: configured, served over HTTP/2 as well as HTTP/1.1:
	// WebSockets by extended CONNECT (RFC 8441), on h2c with prior
	// knowledge or TLS with ALPN h2. Its URLs are ws+h2:// and wss+h2://.
	configuredH2
)

// Builtin returns the reference targets: each library configured to
// conform to RFC 6455, then the same with permessage-deflate (RFC 7692),
// then each library as its README runs it, then the HTTP/2 targets (the last
// served over TLS by itself, ServesTLS). Every call returns fresh
// targets; starting one builds its handler (and broadcast hub) anew.
func Builtin() []Target {
	var out []Target
	for _, t := range builtin() {
		out = append(out, t)
	}
	return out
}

// builtin is the registry of reference targets, one entry each: a target
// is a file with its handler (and its library's version) and an entry here.
func builtin() []handlerTarget {
	return []handlerTarget{
		{
			info: Info{
				Name:        "gorilla",
				Library:     gorillaLibrary,
				Description: "gorilla/websocket as run for Autobahn, plus fail-fast UTF-8 checks, a 32 MiB limit and Close frames for every error",
			},
			newHandler: newGorillaHandler,
		},
		{
			info: Info{
				Name:        "gobwas",
				Library:     gobwasLibrary,
				Description: "gobwas/ws (wsutil.Reader) as run for Autobahn, plus Close frames for every error, fail-fast UTF-8 checks, 32 MiB limits and locked writes",
			},
			newHandler: newGobwasHandler,
		},
		{
			info: Info{
				Name:        "gws",
				Library:     gwsLibrary,
				Description: "lxzan/gws as run for Autobahn (UTF-8 checks, pong echoes ping), plus a 32 MiB limit; UTF-8 checked per message, not fail-fast",
			},
			newHandler: newGWSHandler,
		},
		{
			info: Info{
				Name:        "gorilla-deflate",
				Library:     gorillaLibrary,
				Description: "gorilla as configured, plus permessage-deflate (EnableCompression: no context takeover, 32 KiB windows); invalid offers and window limits declined, RSV bits guarded",
			},
			newHandler: newGorillaDeflateHandler,
			variant:    configuredDeflate,
		},
		{
			info: Info{
				Name:        "gobwas-deflate",
				Library:     gobwasLibrary,
				Description: "gobwas as configured, plus permessage-deflate from wsflate (DefaultParameters: no context takeover), decompressed within 32 MiB",
			},
			newHandler: newGobwasDeflateHandler,
			variant:    configuredDeflate,
		},
		{
			info: Info{
				Name:        "gws-deflate",
				Library:     gwsLibrary,
				Description: "gws as configured, plus permessage-deflate with context takeover on both sides and the offered server window; one valid offer handed to gws, RSV bits guarded",
			},
			newHandler: newGWSDeflateHandler,
			variant:    configuredDeflate,
		},
		{
			info: Info{
				Name:        "gorilla-default",
				Library:     gorillaLibrary,
				Description: "gorilla/websocket README echo: default Upgrader (any Origin), ReadMessage/WriteMessage",
			},
			newHandler: newGorillaDefaultHandler,
			variant:    asREADME,
		},
		{
			info: Info{
				Name:        "gobwas-default",
				Library:     gobwasLibrary,
				Description: "gobwas/ws README echo: ws.UpgradeHTTP, wsutil.ReadClientData/WriteServerMessage",
			},
			newHandler: newGobwasDefaultHandler,
			variant:    asREADME,
		},
		{
			info: Info{
				Name:        "gws-default",
				Library:     gwsLibrary,
				Description: "lxzan/gws README echo: BuiltinEventHandler defaults, default ServerOption",
			},
			newHandler: newGWSDefaultHandler,
			variant:    asREADME,
		},
		{
			info: Info{
				Name:        "gobwas-h2",
				Library:     gobwasLibrary,
				Description: "gobwas as configured, over HTTP/2 by extended CONNECT (RFC 8441: net/http, h2c or TLS with ALPN h2) and over HTTP/1.1 upgrades on the same port",
			},
			newHandler: newGobwasH2Handler,
			variant:    configuredH2,
		},
		{
			info: Info{
				Name:        "gobwas-h2-deflate",
				Library:     gobwasLibrary,
				Description: "gobwas-h2 plus permessage-deflate as gobwas-deflate negotiates it, in the HTTP/2 headers too",
			},
			newHandler: newGobwasH2DeflateHandler,
			variant:    configuredH2,
		},
		{
			info: Info{
				Name:        "gobwas-h2-tls",
				Library:     gobwasLibrary,
				Description: "gobwas-h2 always over TLS (ALPN h2, then http/1.1), with a self-signed certificate made at start that only the harness trusts: the HTTP/2 target a browser reaches (RFC 8441 over TLS only)",
			},
			newHandler: newGobwasH2Handler,
			variant:    configuredH2,
			ownTLS:     true,
		},
	}
}

// Configured returns the built-in targets that run their library
// configured to conform, without permessage-deflate: one per library, in
// Builtin's order. They are what a bench compares by default and what
// docker-compose.yml serves (files_test.go holds the files that cannot
// call this to it).
func Configured() []Target {
	var out []Target
	for _, t := range builtin() {
		if t.variant == configured {
			out = append(out, t)
		}
	}
	return out
}

// Servable returns the built-in targets `wsharness serve` serves, and so
// StartProcess, load and bench: all but those serving TLS by themselves
// (ServesTLS), whose certificate only the process that started them
// trusts.
func Servable() []Target {
	var out []Target
	for _, t := range Builtin() {
		if !ServesTLS(t) {
			out = append(out, t)
		}
	}
	return out
}

// ServeRefusal says why a target cannot be served in a process of its
// own, and what to serve instead; "" when it can.
func ServeRefusal(t Target) string {
	if !ServesTLS(t) {
		return ""
	}
	return fmt.Sprintf("%s serves TLS with a certificate only the harness running it trusts: serve --target gobwas-h2 --tls instead (the same server; its certificate is written for clients to trust)", t.Info().Name)
}

// Names returns the names of ts, in order.
func Names(ts []Target) []string {
	names := make([]string, len(ts))
	for i, t := range ts {
		names[i] = t.Info().Name
	}
	return names
}

// Lookup returns the built-in target called name.
func Lookup(name string) (Target, error) {
	all := Builtin()
	for _, t := range all {
		if t.Info().Name == name {
			return t, nil
		}
	}
	return nil, fmt.Errorf("unknown target %q (valid: %s)", name, strings.Join(Names(all), ", "))
}

// DefaultExternalFile is where the repository declares its external
// targets, relative to the repository root.
const DefaultExternalFile = "targets/external.yaml"

// Registry returns the built-in targets followed by the external targets
// declared in externalFile (see LoadExternal); an empty externalFile means
// built-in targets only.
func Registry(externalFile string) ([]Target, error) {
	return withExternal(Builtin(), externalFile, LoadExternal, func(e External) Target { return e })
}

// withExternal returns own followed by the entries load reads from
// externalFile, each made one of own's kind by as; own alone when
// externalFile is empty. It makes Registry and ClientRegistry.
func withExternal[E, T any](own []T, externalFile string, load func(string) ([]E, error), as func(E) T) ([]T, error) {
	if externalFile == "" {
		return own, nil
	}
	ext, err := load(externalFile)
	if err != nil {
		return nil, err
	}
	for _, e := range ext {
		own = append(own, as(e))
	}
	return own, nil
}

// Select picks targets from a registry by a comma-separated list of names
// and groups: "all" (every target), "builtin" (the reference targets),
// "external" (those of the external file). Each target appears once, in
// registry order; an unknown name is an error listing the valid ones.
func Select(registry []Target, list string) ([]Target, error) {
	if strings.TrimSpace(list) == "" {
		list = "all"
	}
	chosen := map[string]bool{}
	for _, name := range strings.Split(list, ",") {
		name = strings.TrimSpace(name)
		found := false
		for _, t := range registry {
			_, external := t.(External)
			if name == "all" || (name == "builtin" && !external) || (name == "external" && external) || t.Info().Name == name {
				chosen[t.Info().Name], found = true, true
			}
		}
		if !found && name != "external" {
			names := append([]string{"all", "builtin", "external"}, Names(registry)...)
			return nil, fmt.Errorf("unknown target %q (valid: %s)", name, strings.Join(names, ", "))
		}
	}
	var out []Target
	for _, t := range registry {
		if chosen[t.Info().Name] {
			out = append(out, t)
		}
	}
	return out, nil
}
