package cases

import (
	"strings"
	"testing"
)

func TestCatalogIDsAreUnique(t *testing.T) {
	if dup := duplicateIDs(All()); len(dup) > 0 {
		t.Fatalf("duplicate case IDs: %v", dup)
	}
}

func TestDuplicateIDsAreDetected(t *testing.T) {
	c := []Case{{ID: "1.1.1"}, {ID: "2.1"}, {ID: "1.1.1"}}
	if dup := duplicateIDs(c); len(dup) != 1 || dup[0] != "1.1.1" {
		t.Fatalf("duplicateIDs = %v, want [1.1.1]", dup)
	}
}

// Autobahn's counts per category (autobahn-cases.md §1); wsharness adds
// the handshake (0.x), deflate negotiation (11.x), masking (100.x) and
// length (101.x) ranges.
func TestCatalogCoversAutobahn(t *testing.T) {
	want := map[string]int{"1": 16, "2": 11, "3": 7, "4": 10, "5": 20, "6": 145, "7": 37, "9": 54, "10": 1, "12": 90, "13": 126}
	got := map[string]int{}
	for _, c := range All() {
		got[strings.SplitN(c.ID, ".", 2)[0]]++
	}
	for cat, n := range want {
		if got[cat] != n {
			t.Errorf("category %s: %d cases, want %d", cat, got[cat], n)
		}
	}
	if total := len(All()); total < 265 {
		t.Errorf("%d cases, want at least 265", total)
	}
}

func TestEveryCaseIsDocumented(t *testing.T) {
	families := map[string]bool{}
	for _, f := range Families {
		families[f] = true
	}
	for _, c := range All() {
		switch {
		case !families[c.Family]:
			t.Errorf("%s: unknown family %q", c.ID, c.Family)
		case c.Title == "" || c.Description == "" || c.Expectation == "":
			t.Errorf("%s: title, description and expectation are required", c.ID)
		case !strings.HasPrefix(c.RFC, "RFC "):
			t.Errorf("%s: RFC clause %q", c.ID, c.RFC)
		case c.run == nil:
			t.Errorf("%s: no script", c.ID)
		}
	}
}

// The default profile lists the slow families as skipped, with the
// reason, in results.json; the full profile leaves none out.
func TestProfileLeftOut(t *testing.T) {
	def := ProfileDefault.LeftOut()
	for _, f := range SlowFamilies {
		if def[f] != SlowFamilyReason {
			t.Errorf("default profile: family %s left out with %q, want %q", f, def[f], SlowFamilyReason)
		}
	}
	if len(def) != len(SlowFamilies) {
		t.Errorf("default profile leaves out %v, want only %v", def, SlowFamilies)
	}
	if full := ProfileFull.LeftOut(); len(full) != 0 {
		t.Errorf("full profile leaves out %v", full)
	}
}
