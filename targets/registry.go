package targets

import (
	"fmt"
	"strings"
)

// Library versions the built-in targets run, as go.mod requires them.
// TestLibraryVersionsMatchGoMod keeps them in step with the build.
const (
	gorillaLibrary = "github.com/gorilla/websocket v1.5.3"
	gobwasLibrary  = "github.com/gobwas/ws v1.5.0"
	gwsLibrary     = "github.com/lxzan/gws v1.8.9"
)

// Builtin returns the reference targets: each library configured to conform
// to RFC 6455, then the same with permessage-deflate (RFC 7692), then each
// library as its README runs it. Every call returns
// fresh targets; starting one builds its handler (and broadcast hub) anew.
func Builtin() []Target {
	return []Target{
		handlerTarget{
			info: Info{
				Name:        "gorilla",
				Library:     gorillaLibrary,
				Description: "gorilla/websocket as run for Autobahn, plus fail-fast UTF-8 checks, a 32 MiB limit and Close frames for every error",
			},
			newHandler: newGorillaHandler,
		},
		handlerTarget{
			info: Info{
				Name:        "gobwas",
				Library:     gobwasLibrary,
				Description: "gobwas/ws (wsutil.Reader) as run for Autobahn, plus Close frames for every error, fail-fast UTF-8 checks, 32 MiB limits and locked writes",
			},
			newHandler: newGobwasHandler,
		},
		handlerTarget{
			info: Info{
				Name:        "gws",
				Library:     gwsLibrary,
				Description: "lxzan/gws as run for Autobahn (UTF-8 checks, pong echoes ping), plus a 32 MiB limit; UTF-8 checked per message, not fail-fast",
			},
			newHandler: newGWSHandler,
		},
		handlerTarget{
			info: Info{
				Name:        "gorilla-deflate",
				Library:     gorillaLibrary,
				Description: "gorilla as configured, plus permessage-deflate (EnableCompression: no context takeover, 32 KiB windows); invalid offers and window limits declined, RSV bits guarded",
			},
			newHandler: newGorillaDeflateHandler,
		},
		handlerTarget{
			info: Info{
				Name:        "gobwas-deflate",
				Library:     gobwasLibrary,
				Description: "gobwas as configured, plus permessage-deflate from wsflate (DefaultParameters: no context takeover), decompressed within 32 MiB",
			},
			newHandler: newGobwasDeflateHandler,
		},
		handlerTarget{
			info: Info{
				Name:        "gws-deflate",
				Library:     gwsLibrary,
				Description: "gws as configured, plus permessage-deflate with context takeover on both sides and the offered server window; one valid offer handed to gws, RSV bits guarded",
			},
			newHandler: newGWSDeflateHandler,
		},
		handlerTarget{
			info: Info{
				Name:        "gorilla-default",
				Library:     gorillaLibrary,
				Description: "gorilla/websocket README echo: default Upgrader (any Origin), ReadMessage/WriteMessage",
				Default:     true,
			},
			newHandler: newGorillaDefaultHandler,
		},
		handlerTarget{
			info: Info{
				Name:        "gobwas-default",
				Library:     gobwasLibrary,
				Description: "gobwas/ws README echo: ws.UpgradeHTTP, wsutil.ReadClientData/WriteServerMessage",
				Default:     true,
			},
			newHandler: newGobwasDefaultHandler,
		},
		handlerTarget{
			info: Info{
				Name:        "gws-default",
				Library:     gwsLibrary,
				Description: "lxzan/gws README echo: BuiltinEventHandler defaults, default ServerOption",
				Default:     true,
			},
			newHandler: newGWSDefaultHandler,
		},
	}
}

// Lookup returns the built-in target called name.
func Lookup(name string) (Target, error) {
	targets := Builtin()
	names := make([]string, 0, len(targets))
	for _, t := range targets {
		if t.Info().Name == name {
			return t, nil
		}
		names = append(names, t.Info().Name)
	}
	return nil, fmt.Errorf("unknown target %q (valid: %s)", name, strings.Join(names, ", "))
}

// DefaultExternalFile is where the repository declares its external
// targets, relative to the repository root.
const DefaultExternalFile = "targets/external.yaml"

// Registry returns the built-in targets followed by the external targets
// declared in externalFile (see LoadExternal); an empty externalFile means
// built-in targets only.
func Registry(externalFile string) ([]Target, error) {
	all := Builtin()
	if externalFile == "" {
		return all, nil
	}
	ext, err := LoadExternal(externalFile)
	if err != nil {
		return nil, err
	}
	for _, e := range ext {
		all = append(all, e)
	}
	return all, nil
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
			names := []string{"all", "builtin", "external"}
			for _, t := range registry {
				names = append(names, t.Info().Name)
			}
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
