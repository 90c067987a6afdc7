package targets

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestRegistryAndSelect(t *testing.T) {
	file := filepath.Join(t.TempDir(), "ext.yaml")
	body := "version: 1\ntargets:\n  - name: a\n    echo_url: ws://127.0.0.1:1/echo\n  - name: b\n    echo_url: ws://127.0.0.1:2/echo\n"
	if err := os.WriteFile(file, []byte(body), 0o644); err != nil {
		t.Fatal(err)
	}
	reg, err := Registry(file)
	if err != nil {
		t.Fatal(err)
	}
	names := func(ts []Target) string {
		var out []string
		for _, t := range ts {
			out = append(out, t.Info().Name)
		}
		return strings.Join(out, ",")
	}
	builtin := names(Builtin())
	for list, want := range map[string]string{
		"":                   builtin + ",a,b",
		"all":                builtin + ",a,b",
		"builtin":            builtin,
		"external":           "a,b",
		"b, gws,b":           "gws,b",
		"gorilla,external":   "gorilla,a,b",
		"external,all":       builtin + ",a,b",
		"gobwas-default , a": "gobwas-default,a",
	} {
		got, err := Select(reg, list)
		if err != nil || names(got) != want {
			t.Errorf("Select(%q) = %s, %v; want %s", list, names(got), err, want)
		}
	}
	if _, err := Select(reg, "gorilla,nope"); err == nil || !strings.Contains(err.Error(), `unknown target "nope"`) || !strings.Contains(err.Error(), "a, b") {
		t.Errorf("unknown name: %v", err)
	}
	// No external file: "external" selects nothing rather than failing.
	reg, err = Registry("")
	if err != nil {
		t.Fatal(err)
	}
	if got, err := Select(reg, "external"); err != nil || len(got) != 0 {
		t.Errorf("Select(external) without a file = %s, %v", names(got), err)
	}
	if _, err := Registry(filepath.Join(t.TempDir(), "missing.yaml")); err == nil {
		t.Error("Registry of a missing file: no error")
	}
}

// Servable is Builtin without the targets serving TLS by themselves, which
// ServeRefusal names; the others have no refusal.
func TestServable(t *testing.T) {
	var want []string
	for _, tg := range Builtin() {
		if tg.Info().Name != "gobwas-h2-tls" {
			want = append(want, tg.Info().Name)
		}
		if why := ServeRefusal(tg); (why != "") != ServesTLS(tg) {
			t.Errorf("%s: ServeRefusal %q, ServesTLS %v", tg.Info().Name, why, ServesTLS(tg))
		}
	}
	if got := strings.Join(Names(Servable()), ","); got != strings.Join(want, ",") {
		t.Errorf("Servable() = %s, want %s", got, strings.Join(want, ","))
	}
}
