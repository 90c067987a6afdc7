package cases

import (
	"strings"
	"testing"

	"github.com/wsharness/wsharness/wire"
)

func TestCatalogIDsAreUnique(t *testing.T) {
	if dup := duplicateIDs(append(All(), clientOnly()...)); len(dup) > 0 {
		t.Fatalf("duplicate case IDs: %v", dup)
	}
}

func TestDuplicateIDsAreDetected(t *testing.T) {
	c := []Case{{ID: "1.1.1"}, {ID: "2.1"}, {ID: "1.1.1"}}
	if dup := duplicateIDs(c); len(dup) != 1 || dup[0] != "1.1.1" {
		t.Fatalf("duplicateIDs = %v, want [1.1.1]", dup)
	}
}

// Autobahn|Testsuite's counts per category, as its case list has them
// (autobahntestsuite/case/__init__.py in crossbario/autobahn-testsuite), so
// that results compare with Autobahn's ID by ID; wsharness adds the
// handshake (0.x), deflate negotiation (11.x), masking (100.x) and length
// (101.x) ranges.
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

// The family registry is the one list of families: each is registered
// once, has cases, and every case it returns carries its name.
func TestFamilyRegistry(t *testing.T) {
	seen := map[Family]bool{}
	for _, f := range families {
		if seen[f.name] {
			t.Errorf("family %s registered twice", f.name)
		}
		seen[f.name] = true
		var cs []Case
		for _, of := range []func() []Case{f.cases, f.clientOnly} {
			if of != nil {
				cs = append(cs, of()...)
			}
		}
		if len(cs) == 0 {
			t.Errorf("family %s has no cases", f.name)
		}
		for _, c := range cs {
			if c.Family != f.name {
				t.Errorf("%s: registered with family %s, but its Family is %q", c.ID, f.name, c.Family)
			}
		}
	}
}

func TestEveryCaseIsDocumented(t *testing.T) {
	families := map[Family]bool{}
	for _, f := range Families() {
		families[f] = true
	}
	for _, c := range append(All(), clientOnly()...) {
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
	for _, f := range SlowFamilies() {
		if def[f] != SlowFamilyReason {
			t.Errorf("default profile: family %s left out with %q, want %q", f, def[f], SlowFamilyReason)
		}
	}
	if len(def) != len(SlowFamilies()) {
		t.Errorf("default profile leaves out %v, want only %v", def, SlowFamilies())
	}
	if full := ProfileFull.LeftOut(); len(full) != 0 {
		t.Errorf("full profile leaves out %v", full)
	}
}

// The client form has Autobahn's client categories (1.x-7.x, 9.x, 10.x,
// 12.x, 13.x), 101.x and 100.x's masking cases, the frame and context
// cases of 11.x (11.4, 11.5), and
// each case's texts are the server form's with the two ends swapped.
func TestClientFormSwapsTheEnds(t *testing.T) {
	server := map[string]Case{}
	for _, c := range All() {
		server[c.ID] = c
	}
	// 101.x: wsharness's length encodings, which a client must read too;
	// 100.x: the masking cases a client form words of its own.
	// 110.x, 111.x, 112.x: the client-only handshake-response,
	// server-close and deflate-response families; 100.12 is a client-only
	// masking case; 11.x's frame and context cases (11.4, 11.5) have a
	// client form. A new family's client form is what its registry entry
	// says (swapsRoles, clientOnly); it needs no line here.
	want := map[string]int{"1": 16, "2": 11, "3": 7, "4": 10, "5": 20, "6": 145, "7": 37, "9": 54, "10": 1, "11": 15, "12": 90, "13": 126,
		"100": 8, "101": 3, "110": 15, "111": 19, "112": 16}
	got := map[string]int{}
	onlyForClients := map[string]bool{}
	for _, c := range clientOnly() {
		onlyForClients[c.ID] = true
	}
	for _, c := range ForPeer(wire.Client) {
		got[strings.SplitN(c.ID, ".", 2)[0]]++
		s, inServerForm := server[c.ID]
		if !inServerForm {
			if !onlyForClients[c.ID] {
				t.Errorf("%s: in the client form only, but not one of the client-only cases", c.ID)
			}
			continue
		}
		if s.client != nil {
			if c.Title != s.client.title || c.Expectation != s.client.expectation {
				t.Errorf("%s: the client form does not use its own wording", c.ID)
			}
			continue
		}
		if c.Expectation == s.Expectation && strings.Contains(s.Expectation, "server") {
			t.Errorf("%s: the client form's expectation still names the server: %q", c.ID, c.Expectation)
		}
		if swapRoles(c.Expectation) != s.Expectation || swapRoles(c.Title) != s.Title || c.RFC != s.RFC {
			t.Errorf("%s: the client form is not the server form with the ends swapped", c.ID)
		}
	}
	for cat, n := range want {
		if got[cat] != n {
			t.Errorf("client form, category %s: %d cases, want %d", cat, got[cat], n)
		}
	}
	if swapRoles("The server's Close; the Client") != "The client's Close; the Server" {
		t.Errorf("swapRoles: %q", swapRoles("The server's Close; the Client"))
	}
}

// A family is client-only when none of its cases has a server form: the
// server-close family is, masking (with its client-only 100.12) is not.
func TestClientOnlyFamilies(t *testing.T) {
	for family, want := range map[Family]bool{FamilyHandshakeResponse: true, FamilyServerClose: true, FamilyMasking: false, FamilyClose: false} {
		if got := ClientOnly(family); got != want {
			t.Errorf("ClientOnly(%s) = %v, want %v", family, got, want)
		}
	}
	if n := len(wire.ClosePayload(1000, serverCloseReason)); n != 125 {
		t.Errorf("111.5's Close body has %d bytes, want 125", n)
	}
}
