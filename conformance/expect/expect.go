// Package expect reads the per-target list of known deviations: cases a
// target is known to fail, each with a written reason. A listed failure is
// reported but does not fail the run; an unlisted one does.
package expect

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"

	"go.yaml.in/yaml/v3"

	"github.com/wsharness/wsharness/results"
)

// Deviation is one entry: case patterns and why the target fails them.
type Deviation struct {
	Cases  []string `yaml:"cases"`
	Reason string   `yaml:"reason"`
	// Unstable says the target's verdict on these cases varies from run to
	// run, with how often it FAILED when it was measured. The case is
	// never retried: the report shows the frequency beside the verdict.
	Unstable *results.Frequency `yaml:"unstable,omitempty"`
}

// List maps target names to their deviations.
type List map[string][]Deviation

// Parse decodes and checks a deviations file. A key it does not know is
// an error, so that a misspelt "unstable:" or "reason:" is not silently
// dropped.
func Parse(b []byte) (List, error) {
	var l List
	dec := yaml.NewDecoder(bytes.NewReader(b))
	dec.KnownFields(true)
	if err := dec.Decode(&l); err != nil && !errors.Is(err, io.EOF) {
		return nil, fmt.Errorf("parse deviations: %w", err)
	}
	for target, devs := range l {
		for i, d := range devs {
			if strings.TrimSpace(d.Reason) == "" {
				return nil, fmt.Errorf("deviations of %s, entry %d: a reason is required", target, i+1)
			}
			if len(d.Cases) == 0 {
				return nil, fmt.Errorf("deviations of %s, entry %d: no cases listed", target, i+1)
			}
			if u := d.Unstable; u != nil && (u.Runs < 2 || u.Failed < 1 || u.Failed >= u.Runs) {
				return nil, fmt.Errorf("deviations of %s, entry %d: unstable needs failed in some but not all of at least 2 runs, not %d of %d", target, i+1, u.Failed, u.Runs)
			}
		}
	}
	return l, nil
}

// ReadFile reads a deviations file; an empty path means no deviations.
func ReadFile(path string) (List, error) {
	if path == "" {
		return List{}, nil
	}
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read deviations: %w", err)
	}
	l, err := Parse(b)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return l, nil
}

// Lookup returns the first entry listing case id for target, its reason
// trimmed.
func (l List) Lookup(target, id string) (Deviation, bool) {
	for _, d := range l[target] {
		for _, p := range d.Cases {
			if Match(p, id) {
				d.Reason = strings.TrimSpace(d.Reason)
				return d, true
			}
		}
	}
	return Deviation{}, false
}

// Reason returns why target is expected to deviate in case id, or "".
func (l List) Reason(target, id string) string {
	d, _ := l.Lookup(target, id)
	return d.Reason
}

// Match reports whether a case pattern matches id. A pattern is an exact
// ID or a prefix ending in ".*", matched on whole segments: "6.1.*"
// matches 6.1.3 but not 6.10.1.
func Match(pattern, id string) bool {
	if prefix, ok := strings.CutSuffix(pattern, "*"); ok {
		return prefix == "" || strings.HasPrefix(id, prefix) && strings.HasSuffix(prefix, ".")
	}
	return pattern == id
}
