package results

import (
	"bytes"
	"testing"
)

// FuzzUnmarshal feeds arbitrary bytes to the results.json reader (summary,
// report and the comparison read every results file through it): it must
// never panic, must return either an error or a run of this schema, and a
// run it accepts must write out and read back to the same document.
//
// testdata/fuzz/FuzzUnmarshal holds real samples: a small results.json of
// two targets, an incomplete run, a truncated file, wrong schemas and
// types, and a load result.
func FuzzUnmarshal(f *testing.F) {
	f.Add([]byte(`{"schema": "wsharness.conformance/v1", "targets": []}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		run, err := Unmarshal(data)
		if err != nil {
			if run.Schema != "" || run.Targets != nil {
				t.Fatalf("error %v with a run %+v", err, run)
			}
			return
		}
		if run.Schema != Schema {
			t.Fatalf("accepted schema %q", run.Schema)
		}
		first, err := Marshal(run)
		if err != nil {
			t.Fatalf("a run that was read cannot be written: %v", err)
		}
		again, err := Unmarshal(first)
		if err != nil {
			t.Fatalf("a written run cannot be read back: %v\n%s", err, first)
		}
		second, err := Marshal(again)
		if err != nil || !bytes.Equal(first, second) {
			t.Fatalf("the run changed on a second round trip (%v):\n%s\n---\n%s", err, first, second)
		}
		// What the reports do with every run read.
		for i := range again.Targets {
			tg := &again.Targets[i]
			tg.SortCases()
			tg.Summarize()
			for _, c := range tg.Cases {
				_ = c.Unexpected()
				_ = splitID(c.ID)
			}
		}
	})
}
