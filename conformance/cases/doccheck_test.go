package cases

import (
	"bytes"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/wsharness/wsharness/wire"
)

// docFiles are the hand-written and generated pages whose counts and
// links the tests check: README.md, CONTRIBUTING.md and docs/**/*.md,
// relative to the repository root (../.. from here).
func docFiles(t *testing.T) []string {
	t.Helper()
	root := filepath.Join("..", "..")
	files := []string{filepath.Join(root, "README.md"), filepath.Join(root, "CONTRIBUTING.md")}
	for _, f := range files {
		if _, err := os.Stat(f); err != nil {
			t.Fatal(err)
		}
	}
	err := filepath.WalkDir(filepath.Join(root, "docs"), func(path string, d fs.DirEntry, err error) error {
		if err == nil && !d.IsDir() && strings.HasSuffix(path, ".md") {
			files = append(files, path)
		}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return files
}

// countMarker is a count of cases quoted in a doc, marked with the
// selection it counts (see countCases):
//
//	<!-- count:server-default -->332<!-- /count -->
var countMarker = regexp.MustCompile(`<!-- count:(.*?) -->([^<]*)<!-- /count -->`)

// TestDocCounts holds every marked count in the docs to the catalog: a
// count of cases is either on the generated docs/cases.md or marked, so
// that a new case cannot leave a stale figure behind; -update (make docs)
// rewrites the marked counts. A count that is part of a measurement (how
// long N cases took) is not marked: it stays as measured, with its date.
func TestDocCounts(t *testing.T) {
	markers := 0
	for _, path := range docFiles(t) {
		text, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		found := countMarker.FindAllSubmatchIndex(text, -1)
		if opened := bytes.Count(text, []byte("<!-- count:")); opened != len(found) {
			t.Errorf("%s: %d count markers opened, %d well-formed (<!-- count:SELECTION -->N<!-- /count -->)", path, opened, len(found))
		}
		rewritten := text
		for i := len(found) - 1; i >= 0; i-- {
			m := found[i]
			markers++
			line := 1 + bytes.Count(text[:m[0]], []byte("\n"))
			selection, quoted := string(text[m[2]:m[3]]), string(text[m[4]:m[5]])
			want, err := countCases(selection)
			if err != nil {
				t.Errorf("%s:%d: %v", path, line, err)
				continue
			}
			if *update {
				rewritten = append(rewritten[:m[4]:m[4]], append([]byte(strconv.Itoa(want)), rewritten[m[5]:]...)...)
				continue
			}
			if got, err := strconv.Atoi(strings.ReplaceAll(quoted, ",", "")); err != nil || got != want {
				t.Errorf("%s:%d: says %q for %q; the catalog has %d (make docs rewrites it)", path, line, quoted, selection, want)
			}
		}
		if *update && !bytes.Equal(rewritten, text) {
			if err := os.WriteFile(path, rewritten, 0o644); err != nil {
				t.Fatal(err)
			}
		}
	}
	if markers == 0 {
		t.Fatal("no count marker in any doc: the pattern or the docs moved")
	}
}

func TestCountSelections(t *testing.T) {
	overHTTP1 := len(All()) - len(ByFamily(FamilyH2Bootstrap)) - len(ByFamily(FamilyH2Streams))
	for _, tc := range []struct {
		selection string
		want      int
	}{
		{"server", overHTTP1},
		{"server over=h2", len(All()) - len(ByFamily(FamilyHandshake)) - len(ByFamily(FamilyBrowser))},
		{"server family=h2-streams", 0},
		{"server over=h2 family=h2-streams", len(ByFamily(FamilyH2Streams))},
		{"client", len(ForPeer(wire.Client))},
		{"server family=utf8", len(ByFamily(FamilyUTF8))},
		{"server ids=6.*", len(ByFamily(FamilyUTF8))},
		{"server -family=utf8", overHTTP1 - len(ByFamily(FamilyUTF8))},
		{"server ids=1.1.1,1.1.2", 2},
		{"server-slow family=limits", len(ByFamily(FamilyLimits))},
		{"server-default family=limits", 0},
	} {
		if got, err := countCases(tc.selection); err != nil || got != tc.want {
			t.Errorf("countCases(%q) = %d, %v; want %d", tc.selection, got, err, tc.want)
		}
	}
	def, _ := countCases("server-default")
	slow, _ := countCases("server-slow")
	if def+slow != overHTTP1 || def == 0 || slow == 0 {
		t.Errorf("default %d + slow %d != %d", def, slow, overHTTP1)
	}
	for _, bad := range []string{"", "servers", "server-fast", "server family=nope", "server family=", "server ids", "server colour=red", "server over=h3", "server -over=h2"} {
		if _, err := countCases(bad); err == nil {
			t.Errorf("countCases(%q): no error", bad)
		}
	}
}

// Links: inline [text](target) and ![alt](target), reference definitions
// [name]: target, and href/src attributes.
var (
	inlineLink    = regexp.MustCompile(`!?\[(?:[^\[\]]|\[[^\]]*\])*\]\(\s*<?([^)\s>]*)>?(?:\s+"[^"]*")?\s*\)`)
	referenceLink = regexp.MustCompile(`(?m)^\s{0,3}\[[^\]]+\]:\s*<?(\S+?)>?(?:\s|$)`)
	htmlLink      = regexp.MustCompile(`(?:href|src)="([^"]*)"`)
	codeSpan      = regexp.MustCompile("`+[^`]*`+")
	fence         = regexp.MustCompile("^\\s{0,3}(```|~~~)")
)

// proseLines returns the lines of a Markdown file outside fenced code
// blocks, with code spans blanked: what holds links and headings.
func proseLines(text string) []string {
	var out []string
	inFence := ""
	for _, line := range strings.Split(text, "\n") {
		if m := fence.FindStringSubmatch(line); m != nil {
			switch {
			case inFence == "":
				inFence = m[1]
			case inFence == m[1]:
				inFence = ""
			}
			out = append(out, "")
			continue
		}
		if inFence != "" {
			out = append(out, "")
			continue
		}
		out = append(out, codeSpan.ReplaceAllString(line, "``"))
	}
	return out
}

var (
	heading     = regexp.MustCompile(`^\s{0,3}(#{1,6})\s+(.*?)\s*#*\s*$`)
	headingLink = regexp.MustCompile(`!?\[((?:[^\[\]]|\[[^\]]*\])*)\]\([^)]*\)`)
	htmlTag     = regexp.MustCompile(`<[^>]*>`)
	notSlug     = regexp.MustCompile(`[^\p{L}\p{M}\p{N}\p{Pc} -]`)
	explicitID  = regexp.MustCompile(`<a\s+(?:id|name)="([^"]+)"`)
)

// anchors returns the fragment IDs GitHub gives a Markdown file's
// headings: the text lowercased, without punctuation, spaces as hyphens,
// -1, -2 ... on repeats; plus <a id> and <a name> anchors.
func anchors(text string) map[string]bool {
	out := map[string]bool{}
	seen := map[string]int{}
	raw := strings.Split(text, "\n")
	for i, line := range proseLines(text) {
		if m := heading.FindStringSubmatch(raw[i]); m != nil && line != "" {
			title := headingLink.ReplaceAllString(m[2], "$1")
			title = htmlTag.ReplaceAllString(title, "")
			slug := strings.ReplaceAll(notSlug.ReplaceAllString(strings.ToLower(title), ""), " ", "-")
			if n := seen[slug]; n > 0 {
				out[fmt.Sprintf("%s-%d", slug, n)] = true
			} else {
				out[slug] = true
			}
			seen[slug]++
		}
		for _, m := range explicitID.FindAllStringSubmatch(raw[i], -1) {
			out[m[1]] = true
		}
	}
	return out
}

func TestAnchors(t *testing.T) {
	got := anchors("# wsharness\n## TLS (`wss://`)\n```\n# not a heading\n```\n## Load result schema (`wsharness.load/v1`)\n" +
		"### The generator's own error\n## Exit codes\n## Exit codes\n### See [the docs](docs/x.md)\n<a id=\"here\"></a>\n")
	for _, want := range []string{"wsharness", "tls-wss", "load-result-schema-wsharnessloadv1", "the-generators-own-error",
		"exit-codes", "exit-codes-1", "see-the-docs", "here"} {
		if !got[want] {
			t.Errorf("no anchor %q in %v", want, got)
		}
	}
	if got["not-a-heading"] {
		t.Error("a line in a code block was taken for a heading")
	}
}

// TestDocLinks checks every relative link in the docs: the file or
// directory exists inside the repository, and a #fragment into a Markdown
// file names one of its headings.
func TestDocLinks(t *testing.T) {
	root, err := filepath.Abs(filepath.Join("..", ".."))
	if err != nil {
		t.Fatal(err)
	}
	anchorsOf := map[string]map[string]bool{}
	fragments := func(path string) map[string]bool {
		if a, ok := anchorsOf[path]; ok {
			return a
		}
		text, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		anchorsOf[path] = anchors(string(text))
		return anchorsOf[path]
	}
	links := 0
	for _, path := range docFiles(t) {
		abs, _ := filepath.Abs(path)
		text, err := os.ReadFile(abs)
		if err != nil {
			t.Fatal(err)
		}
		for i, line := range proseLines(string(text)) {
			var targets []string
			for _, re := range []*regexp.Regexp{inlineLink, referenceLink, htmlLink} {
				for _, m := range re.FindAllStringSubmatch(line, -1) {
					targets = append(targets, m[1])
				}
			}
			for _, target := range targets {
				if target == "" || strings.Contains(target, "://") || strings.HasPrefix(target, "mailto:") {
					continue
				}
				links++
				where := fmt.Sprintf("%s:%d: link %q", path, i+1, target)
				file, fragment, _ := strings.Cut(target, "#")
				dest := abs
				if file != "" {
					if filepath.IsAbs(file) {
						t.Errorf("%s: absolute path; make it relative to the file", where)
						continue
					}
					dest = filepath.Join(filepath.Dir(abs), filepath.FromSlash(file))
				}
				if rel, err := filepath.Rel(root, dest); err != nil || strings.HasPrefix(rel, "..") {
					t.Errorf("%s: points outside the repository", where)
					continue
				}
				info, err := os.Stat(dest)
				if err != nil {
					t.Errorf("%s: %s does not exist", where, dest)
					continue
				}
				if fragment != "" && !info.IsDir() && strings.HasSuffix(dest, ".md") && !fragments(dest)[fragment] {
					t.Errorf("%s: %s has no heading with anchor #%s", where, filepath.Base(dest), fragment)
				}
			}
		}
	}
	if links == 0 {
		t.Fatal("no relative link in any doc: the pattern or the docs moved")
	}
}

// TestReadmeIsAFrontDoor keeps the README short: what wsharness is, the
// set-up, the main uses and links; the manual is docs/.
func TestReadmeIsAFrontDoor(t *testing.T) {
	text, err := os.ReadFile(filepath.Join("..", "..", "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	if n := bytes.Count(text, []byte("\n")); n > 250 {
		t.Errorf("README.md has %d lines, at most 250: move the detail to docs/ and link it", n)
	}
}
