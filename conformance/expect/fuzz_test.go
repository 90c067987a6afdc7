package expect

import (
	"reflect"
	"strings"
	"testing"

	"go.yaml.in/yaml/v3"
)

// FuzzParse feeds arbitrary bytes to the deviations file reader: it must
// never panic; what it accepts has a reason and cases in every entry,
// answers Reason for every case it lists by ID, and writes out as YAML that
// parses to the same list.
//
// testdata/fuzz/FuzzParse holds the project's expectations.yaml, small
// valid and invalid files and a truncated one.
func FuzzParse(f *testing.F) {
	f.Add([]byte("gorilla:\n  - cases: [\"2.2\", \"6.*\"]\n    reason: known\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		l, err := Parse(data)
		if err != nil {
			if l != nil {
				t.Fatalf("error %v with a list", err)
			}
			return
		}
		for target, devs := range l {
			for _, d := range devs {
				if strings.TrimSpace(d.Reason) == "" || len(d.Cases) == 0 {
					t.Fatalf("%s: accepted an entry without reason or cases: %+v", target, d)
				}
				for _, id := range d.Cases {
					if strings.HasSuffix(id, "*") {
						continue
					}
					if l.Reason(target, id) == "" {
						t.Fatalf("%s lists case %q, but Reason finds none", target, id)
					}
				}
			}
		}
		out, err := yaml.Marshal(l)
		if err != nil {
			t.Fatalf("cannot write an accepted list: %v", err)
		}
		again, err := Parse(out)
		if err != nil {
			t.Fatalf("a written list does not parse: %v\n%s", err, out)
		}
		if !reflect.DeepEqual(normal(l), normal(again)) {
			t.Fatalf("round trip changed the list:\n%#v\n%#v\n%s", l, again, out)
		}
	})
}

// normal makes a list comparable after a round trip: a target with no
// entries is written as [] and read back as an empty slice.
func normal(l List) List {
	out := List{}
	for k, v := range l {
		if len(v) == 0 {
			v = nil
		}
		out[k] = v
	}
	return out
}
