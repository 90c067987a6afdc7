package expect

import (
	"strings"
	"testing"
)

func TestMatch(t *testing.T) {
	for _, tc := range []struct {
		pattern, id string
		want        bool
	}{
		{"6.1.3", "6.1.3", true},
		{"6.1.3", "6.1.30", false},
		{"6.1.*", "6.1.3", true},
		{"6.1.*", "6.10.1", false},
		{"6.*", "6.22.34", true},
		{"6.*", "60.1", false},
		{"*", "1.1.1", true},
	} {
		if got := Match(tc.pattern, tc.id); got != tc.want {
			t.Errorf("Match(%q, %q) = %v, want %v", tc.pattern, tc.id, got, tc.want)
		}
	}
}

func TestParseRequiresReasons(t *testing.T) {
	if _, err := Parse([]byte("gws-default:\n  - cases: [\"2.2\"]\n")); err == nil {
		t.Fatal("a deviation without a reason was accepted")
	}
	l, err := Parse([]byte("gws-default:\n  - cases: [\"2.*\"]\n    reason: empty pongs\n"))
	if err != nil {
		t.Fatal(err)
	}
	if got := l.Reason("gws-default", "2.3"); got != "empty pongs" {
		t.Fatalf("Reason = %q", got)
	}
	if got := l.Reason("gws", "2.3"); got != "" {
		t.Fatalf("Reason for an unlisted target = %q", got)
	}
}

func TestUnstableNeedsAFrequencyThatVaries(t *testing.T) {
	l, err := Parse([]byte("lws:\n  - cases: [\"2.11\"]\n    unstable: {failed: 4, runs: 5}\n    reason: answers only the first Ping\n"))
	if err != nil {
		t.Fatal(err)
	}
	d, ok := l.Lookup("lws", "2.11")
	if !ok || d.Unstable == nil || d.Unstable.Failed != 4 || d.Unstable.Runs != 5 {
		t.Fatalf("Lookup = %+v, %v", d, ok)
	}
	for _, freq := range []string{"{failed: 0, runs: 5}", "{failed: 5, runs: 5}", "{failed: 1, runs: 1}", "{failed: 6, runs: 5}"} {
		if _, err := Parse([]byte("lws:\n  - cases: [\"2.11\"]\n    unstable: " + freq + "\n    reason: r\n")); err == nil {
			t.Errorf("unstable %s was accepted: that verdict does not vary", freq)
		}
	}
}

// A misspelt key would otherwise drop what it says: an "unstabel:" entry
// would make a varying case look like a steady deviation.
func TestParseRefusesUnknownKeys(t *testing.T) {
	_, err := Parse([]byte("lws:\n  - cases: [\"100.4\"]\n    reason: shared mask index\n    unstabel: {failed: 8, runs: 67}\n"))
	if err == nil || !strings.Contains(err.Error(), "unstabel") {
		t.Fatalf("an unknown key: %v", err)
	}
	if l, err := Parse(nil); err != nil || len(l) != 0 {
		t.Fatalf("an empty file: %v, %v", l, err)
	}
}
