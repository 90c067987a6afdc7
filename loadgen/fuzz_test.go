package loadgen

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"testing"
)

// FuzzReadFile feeds arbitrary bytes to the load result reader (merge and
// report read every load result through it): it must never panic, must
// return either an error or a result of this schema, and a result it
// accepts must write out and read back to the same document.
//
// testdata/fuzz/FuzzReadFile holds real samples: an echo result with its
// histograms and timeline, an interrupted one, a worker's share, a
// truncated file, and conformance results.
func FuzzReadFile(f *testing.F) {
	f.Add([]byte(`{"schema": "wsharness.load/v1", "scenario": "echo"}`))
	path := filepath.Join(f.TempDir(), "result.json")
	f.Fuzz(func(t *testing.T, data []byte) {
		if err := os.WriteFile(path, data, 0o644); err != nil {
			t.Fatal(err)
		}
		r, err := ReadFile(path)
		if err != nil {
			if r != nil {
				t.Fatalf("error %v with a result", err)
			}
			return
		}
		if r == nil || r.Schema != Schema {
			t.Fatalf("accepted %+v", r)
		}
		first, err := Marshal(r)
		if err != nil {
			t.Fatalf("a result that was read cannot be written: %v", err)
		}
		var again Result
		if err := json.Unmarshal(first, &again); err != nil {
			t.Fatalf("a written result cannot be read back: %v\n%s", err, first)
		}
		second, err := Marshal(&again)
		if err != nil || !bytes.Equal(first, second) {
			t.Fatalf("the result changed on a second round trip (%v):\n%s\n---\n%s", err, first, second)
		}
	})
}
