package targets

import (
	"os"
	"path/filepath"
	"testing"
)

// FuzzLoadExternal feeds arbitrary bytes to the external targets file
// reader (make conformance, bench and `wsharness targets` read it): it must
// never panic, and what it accepts must hold up: every entry valid, names
// unique and free of the built-in ones, a command's directory made
// absolute, and every target selectable by name.
//
// testdata/fuzz/FuzzLoadExternal holds the project's external.yaml and
// small valid and invalid files.
func FuzzLoadExternal(f *testing.F) {
	f.Add([]byte("version: 1\ntargets:\n  - name: x\n    command: [php, s.php]\n    echo_url: ws://127.0.0.1:9110/echo\n"))
	path := filepath.Join(f.TempDir(), "external.yaml")
	f.Fuzz(func(t *testing.T, data []byte) {
		if err := os.WriteFile(path, data, 0o644); err != nil {
			t.Fatal(err)
		}
		ext, err := LoadExternal(path)
		if err != nil {
			if ext != nil {
				t.Fatalf("error %v with targets", err)
			}
			return
		}
		registry := Builtin()
		seen := map[string]bool{}
		for _, t0 := range registry {
			seen[t0.Info().Name] = true
		}
		for _, e := range ext {
			if err := e.Spec.Validate(); err != nil {
				t.Fatalf("accepted an invalid entry: %v", err)
			}
			if seen[e.Spec.Name] {
				t.Fatalf("accepted a repeated or built-in name %q", e.Spec.Name)
			}
			seen[e.Spec.Name] = true
			if len(e.Spec.Command) > 0 && !filepath.IsAbs(e.Spec.Dir) {
				t.Fatalf("%s: directory %q not made absolute", e.Spec.Name, e.Spec.Dir)
			}
			_ = e.Info()
			registry = append(registry, e)
		}
		for _, e := range ext {
			got, err := Select(registry, e.Spec.Name)
			if err != nil || len(got) != 1 || got[0].Info().Name != e.Spec.Name {
				t.Fatalf("Select(%q) = %v, %v", e.Spec.Name, got, err)
			}
		}
	})
}
