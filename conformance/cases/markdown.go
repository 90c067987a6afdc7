package cases

import (
	_ "embed"
	"fmt"
	"io"
	"slices"
	"strings"
	"sync"
	"text/template"

	"github.com/wsharness/wsharness/conformance/expect"
	"github.com/wsharness/wsharness/results"
	"github.com/wsharness/wsharness/wire"
)

// casesDoc is the page docs/cases.md is rendered from: hand-written prose
// around the tables, with every count and ID range it quotes computed from
// the catalog (the template functions count and span).
//
//go:embed cases.md.tmpl
var casesDoc string

// WriteMarkdown writes the catalog as the Markdown page docs/cases.md:
// what each family checks, the profiles, the counts per family for
// servers and clients, and every case with its title, RFC clause and the
// roles it judges. The page is checked in; TestCasesDocIsCurrent fails when
// it differs from what this writes, and rewrites it with -update.
func WriteMarkdown(w io.Writer) error {
	t, err := template.New("cases.md").Funcs(template.FuncMap{
		"count":  countCases,
		"span":   span,
		"counts": countsTable,
		"tables": familyTables,
	}).Parse(casesDoc)
	if err != nil {
		return err
	}
	return t.Execute(w, nil)
}

// docCase is one case ID with both of its forms: the server form (from
// All) and the client form (from ForPeer(wire.Client)), either possibly
// absent.
type docCase struct {
	server, client *Case
}

func (d docCase) any() Case {
	if d.server != nil {
		return *d.server
	}
	return *d.client
}

// bothForms merges the server and the client catalog by ID, sorted by ID.
func bothForms() []docCase {
	byID := map[string]*docCase{}
	var ids []string
	add := func(c Case, client bool) {
		d, ok := byID[c.ID]
		if !ok {
			d = &docCase{}
			byID[c.ID] = d
			ids = append(ids, c.ID)
		}
		if client {
			d.client = &c
		} else {
			d.server = &c
		}
	}
	for _, c := range ForPeer(wire.Server) {
		add(c, false)
	}
	for _, c := range ForPeer(wire.Client) {
		add(c, true)
	}
	slices.SortStableFunc(ids, func(a, b string) int {
		switch {
		case results.LessID(a, b):
			return -1
		case results.LessID(b, a):
			return 1
		}
		return 0
	})
	out := make([]docCase, len(ids))
	for i, id := range ids {
		out[i] = *byID[id]
	}
	return out
}

// docFamilies lists the families in the order of their first case ID.
func docFamilies(all []docCase) []Family {
	var out []Family
	for _, d := range all {
		if f := d.any().Family; !slices.Contains(out, f) {
			out = append(out, f)
		}
	}
	return out
}

// countCases returns how many cases a selection holds: the catalog's counts as
// docs/cases.md, the README and docs/ quote them. A selection is a role
// and an optional profile, then optional filters, separated by spaces:
//
//	server | client                  every case that judges that role
//	server-default, client-default   ... in the default profile
//	server-slow, client-slow         ... only in the full profile
//	family=NAME[,NAME]               only these families (-family=: not these)
//	ids=PATTERN[,PATTERN]            only these IDs, as --cases takes them:
//	                                 exact, or a prefix ending in ".*" (-ids=: not these)
//	over=h2                          the cases run over HTTP/2 (ws+h2://)
//	                                 instead of HTTP/1.1, the default
//
// e.g. "server-default", "client ids=12.*,13.*", "server family=utf8".
func countCases(selection string) (int, error) {
	cs, err := selectCases(selection)
	return len(cs), err
}

// span returns the first and last ID of a selection, "0.1–0.19" (one ID
// alone when the selection holds one case).
func span(selection string) (string, error) {
	cs, err := selectCases(selection)
	if err != nil {
		return "", err
	}
	if len(cs) == 0 {
		return "", fmt.Errorf("selection %q holds no case", selection)
	}
	if first, last := cs[0].ID, cs[len(cs)-1].ID; first != last {
		return first + "–" + last, nil
	}
	return cs[0].ID, nil
}

// selectCases returns the cases of a selection (see countCases), sorted by ID.
func selectCases(selection string) ([]Case, error) {
	fields := strings.Fields(selection)
	if len(fields) == 0 {
		return nil, fmt.Errorf("empty case selection")
	}
	role, profile, _ := strings.Cut(fields[0], "-")
	var all []Case
	switch role {
	case "server":
		all = catalogs()[0]
	case "client":
		all = catalogs()[1]
	default:
		return nil, fmt.Errorf("selection %q: starts with %q, want server or client", selection, role)
	}
	transport := wire.HTTP1
	keep := []func(Case) bool{func(c Case) bool { return RunsOver(c.Family, transport) }}
	switch profile {
	case "", string(ProfileFull):
	case string(ProfileDefault):
		keep = append(keep, func(c Case) bool { return ProfileDefault.Includes(c.Family) })
	case "slow":
		keep = append(keep, func(c Case) bool { return !ProfileDefault.Includes(c.Family) })
	default:
		return nil, fmt.Errorf("selection %q: profile %q, want default, full or slow", selection, profile)
	}
	for _, f := range fields[1:] {
		name, value, ok := strings.Cut(f, "=")
		list := strings.Split(value, ",")
		if !ok || value == "" || slices.Contains(list, "") {
			return nil, fmt.Errorf("selection %q: filter %q, want family=NAME,... or ids=PATTERN,... (- before either to leave out)", selection, f)
		}
		name, negated := strings.CutPrefix(name, "-")
		var in func(Case) bool
		switch name {
		case "family":
			for _, fam := range list {
				if !slices.Contains(Families(), Family(fam)) {
					return nil, fmt.Errorf("selection %q: unknown family %q", selection, fam)
				}
			}
			in = func(c Case) bool { return slices.Contains(list, string(c.Family)) }
		case "over":
			if value != "h2" || negated {
				return nil, fmt.Errorf("selection %q: filter %q, want over=h2", selection, f)
			}
			transport = wire.HTTP2
			continue
		case "ids":
			in = func(c Case) bool {
				return slices.ContainsFunc(list, func(p string) bool { return expect.Match(p, c.ID) })
			}
		default:
			return nil, fmt.Errorf("selection %q: filter %q, want family=, ids= or over=", selection, f)
		}
		keep = append(keep, func(c Case) bool { return in(c) != negated })
	}
	var out []Case
	for _, c := range all {
		if !slices.ContainsFunc(keep, func(k func(Case) bool) bool { return !k(c) }) {
			out = append(out, c)
		}
	}
	return out, nil
}

// catalogs holds the server and the client catalog for selections: a doc
// quotes dozens of counts, and each catalog takes milliseconds to build.
var catalogs = sync.OnceValue(func() [2][]Case { return [2][]Case{ForPeer(wire.Server), ForPeer(wire.Client)} })

// idRanges gives a family's IDs as ranges, one per leading number:
// "1.1.1–1.2.8, 101.1–101.3".
func idRanges(cs []docCase) string {
	var parts []string
	for i := 0; i < len(cs); {
		j := i
		lead := func(k int) string { return strings.SplitN(cs[k].any().ID, ".", 2)[0] }
		for j+1 < len(cs) && lead(j+1) == lead(i) {
			j++
		}
		if i == j {
			parts = append(parts, cs[i].any().ID)
		} else {
			parts = append(parts, cs[i].any().ID+"–"+cs[j].any().ID)
		}
		i = j + 1
	}
	return strings.Join(parts, ", ")
}

// byFamily groups the merged catalog by family, in docFamilies order.
func byFamily() ([]Family, map[Family][]docCase) {
	all := bothForms()
	groups := map[Family][]docCase{}
	for _, d := range all {
		f := d.any().Family
		groups[f] = append(groups[f], d)
	}
	return docFamilies(all), groups
}

// countsTable renders the counts per family, role and profile.
func countsTable() string {
	var b strings.Builder
	b.WriteString("| family | IDs | server | client | profile |\n|---|---|--:|--:|---|\n")
	families, groups := byFamily()
	var server, client, serverDefault, clientDefault int
	for _, f := range families {
		var s, c int
		for _, d := range groups[f] {
			if d.server != nil {
				s++
			}
			if d.client != nil {
				c++
			}
		}
		profile := "default"
		if !ProfileDefault.Includes(f) {
			profile = "full only"
		} else {
			serverDefault += s
			clientDefault += c
		}
		server += s
		client += c
		fmt.Fprintf(&b, "| [%s](#%s) | %s | %s | %s | %s |\n", f, f, idRanges(groups[f]), dash(s), dash(c), profile)
	}
	fmt.Fprintf(&b, "| **default profile** | | **%d** | **%d** | |\n", serverDefault, clientDefault)
	fmt.Fprintf(&b, "| **full profile** (every case) | | **%d** | **%d** | |\n", server, client)
	return b.String()
}

// dash writes 0 as a dash, so that a role a family does not judge stands out.
func dash(n int) string {
	if n == 0 {
		return "–"
	}
	return fmt.Sprint(n)
}

// familyTables renders one section per family: every case with its title,
// RFC clause and the roles it judges. A client form worded otherwise than
// by swapping "server" and "client" shows its own title too.
func familyTables() string {
	var b strings.Builder
	families, groups := byFamily()
	for i, f := range families {
		if i > 0 {
			b.WriteString("\n")
		}
		fmt.Fprintf(&b, "### %s\n\n", f)
		if !ProfileDefault.Includes(f) {
			b.WriteString("Slow: in the full profile only.\n\n")
		}
		b.WriteString("| ID | title | RFC clause | server | client |\n|---|---|---|:-:|:-:|\n")
		for _, d := range groups[f] {
			c := d.any()
			title := mdCell(c.Title)
			if d.server != nil && d.client != nil && d.client.Title != swapRoles(d.server.Title) {
				title += "<br>client form: " + mdCell(d.client.Title)
			}
			fmt.Fprintf(&b, "| %s | %s | %s | %s | %s |\n", c.ID, title, mdCell(c.RFC), tick(d.server != nil), tick(d.client != nil))
		}
	}
	return b.String()
}

func tick(ok bool) string {
	if ok {
		return "✓"
	}
	return ""
}

// mdCell escapes text for a Markdown table cell.
var mdCell = strings.NewReplacer(`\`, `\\`, "|", `\|`, "*", `\*`, "`", "\\`", "<", "&lt;", ">", "&gt;", "[", `\[`, "]", `\]`, "\n", " ").Replace
