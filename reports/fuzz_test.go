package reports

import (
	"os"
	"path/filepath"
	"testing"
	"time"
)

// FuzzReadInput feeds arbitrary bytes, as a results file, to what `wsharness
// report` does with it: read it (conformance results or a load result),
// then render every format and compare it with itself. Nothing may panic,
// whatever fields a hand-edited or corrupt file leaves out or sets.
//
// testdata/fuzz/FuzzReadInput holds real samples of both kinds, truncated
// and wrong-schema files.
func FuzzReadInput(f *testing.F) {
	f.Add([]byte(`{"schema": "wsharness.conformance/v1", "targets": [{"name": "x", "cases": [{"id": "1.1.1", "verdict": "OK"}]}]}`))
	f.Add([]byte(`{"schema": "wsharness.load/v1", "scenario": "echo", "messages": {"sent": 1}}`))
	path := filepath.Join(f.TempDir(), "results.json")
	f.Fuzz(func(t *testing.T, data []byte) {
		if err := os.WriteFile(path, data, 0o644); err != nil {
			t.Fatal(err)
		}
		in, err := ReadInput([]string{path})
		if err != nil {
			return
		}
		if len(in.Conformance)+len(in.Load) != 1 || len(in.Sources) != 1 {
			t.Fatalf("one file read as %d conformance runs and %d load results", len(in.Conformance), len(in.Load))
		}
		for _, format := range Formats {
			if _, err := format.Render(in, Options{Title: "fuzz", Generated: time.Unix(0, 0)}); err != nil {
				t.Fatal(err)
			}
		}
		for _, run := range in.Conformance {
			_ = ConformanceSummary(run)
			_ = UnexpectedFailures(run)
		}
		_ = LoadComparison(in.Load)
		c := Compare(in, in, DefaultThresholds)
		if regs := c.Regressions(); len(regs) > 0 {
			t.Fatalf("results compared with themselves regress: %v", regs)
		}
		for _, format := range []ComparisonFormat{compareText, compareMarkdown} {
			if _, err := format.Render(c); err != nil {
				t.Fatal(err)
			}
		}
	})
}
