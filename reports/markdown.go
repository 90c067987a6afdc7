package reports

import (
	"bytes"
	"fmt"
	"io"
	"maps"
	"slices"
	"strings"

	"github.com/wsharness/wsharness/internal/numtext"
	"github.com/wsharness/wsharness/loadgen"
	"github.com/wsharness/wsharness/results"
)

// mdMaxFailures caps the unexpected failures listed per target, so that a
// badly broken target cannot blow a CI job summary's size limit.
const mdMaxFailures = 100

// Markdown is the report as GitHub-flavoured Markdown, summary.md.
var Markdown = Format{Name: "markdown", File: "summary.md", Help: "e.g. for a CI job summary", Printed: true, Write: writeMarkdown, Comparison: compareMarkdown}

// writeMarkdown renders the input as GitHub-flavoured Markdown for a CI
// job summary, under the title if there is one: for each conformance run
// a table of verdict counts per target, then each target's unexpected
// failures (case, verdicts, RFC clause and the first line of what was
// observed) and its known deviations; then, per load scenario, the
// LoadComparison table of its workloads.
func writeMarkdown(w io.Writer, in Input, opts Options) error {
	var b bytes.Buffer
	if opts.Title != "" {
		// On one line: a heading ends at the line's end.
		fmt.Fprintf(&b, "# %s\n\n", strings.Join(strings.Fields(opts.Title), " "))
	}
	for i, run := range in.Conformance {
		if i > 0 {
			b.WriteString("\n")
		}
		mdConformance(&b, run, i, len(in.Conformance))
	}
	if len(in.Load) > 0 {
		if len(in.Conformance) > 0 {
			b.WriteString("\n")
		}
		b.WriteString("## Load\n")
		for _, sc := range splitScenarios(in.Load) {
			fmt.Fprintf(&b, "\n### %s\n\n", mdText(sc.name))
			b.Write(LoadComparison(sc.results))
		}
	}
	if len(in.Conformance) == 0 && len(in.Load) == 0 {
		b.WriteString("No results.\n")
	}
	if len(in.Sources) > 0 {
		quoted := make([]string, len(in.Sources))
		for i, s := range in.Sources {
			quoted[i] = mdCode(s)
		}
		fmt.Fprintf(&b, "\n<sub>Read from %s.</sub>\n", joinMax(quoted, 20))
	}
	_, err := w.Write(b.Bytes())
	return err
}

func mdConformance(b *bytes.Buffer, run results.Run, i, n int) {
	fmt.Fprintf(b, "## Conformance%s\n\n%s", runOrdinal(i, n), runHeadline(run.Started, run.DurationMS, len(run.Targets), run.Seed))
	if run.Incomplete {
		b.WriteString(". **Incomplete**: the run was interrupted; counts cover the cases that finished")
	}
	b.WriteString(".\n\n")
	for _, t := range run.Targets {
		if t.Unavailable != "" {
			fmt.Fprintf(b, "- target %s: %s\n", mdCode(t.Name), mdText(cut(t.Unavailable, 300)))
		}
		if line := notRunLine(t); line != "" {
			fmt.Fprintf(b, "- target %s: %s\n", mdCode(t.Name), mdText(cut(line, 300)))
		}
	}
	for _, fam := range sortedKeys(run.SkippedFamilies) {
		fmt.Fprintf(b, "- family %s: skipped, %s\n", mdCode(fam), mdText(run.SkippedFamilies[fam]))
	}
	if len(run.Targets) == 0 {
		b.WriteString("No targets.\n")
		return
	}

	b.WriteString("| target | role | cases |")
	for _, v := range results.Verdicts {
		fmt.Fprintf(b, " %s |", v)
	}
	b.WriteString(" close not OK | unexpected failures | known deviations |\n|---|---|--:|")
	for range results.Verdicts {
		b.WriteString("--:|")
	}
	b.WriteString("--:|--:|--:|\n")
	for _, t := range run.Targets {
		unexpected, known, badClose := conformanceCounts(t)
		fmt.Fprintf(b, "| %s | %s | %d |", mdText(t.Name), t.Role, len(t.Cases))
		for _, v := range results.Verdicts {
			fmt.Fprintf(b, " %d |", t.Summary[v])
		}
		u := fmt.Sprint(unexpected)
		if unexpected > 0 {
			u = "**" + u + "** ❌"
		}
		fmt.Fprintf(b, " %d | %s | %d |\n", badClose, u, known)
	}

	for _, t := range run.Targets {
		var failing []results.Case
		for _, c := range t.Cases {
			if c.Unexpected() && !c.NotRun { // counted apart
				failing = append(failing, c)
			}
		}
		if len(failing) == 0 {
			continue
		}
		fmt.Fprintf(b, "\n### %s: %s\n\n", mdText(t.Name), numtext.Plural(len(failing), "unexpected failure"))
		b.WriteString("| case | verdict | close | RFC | observed |\n|---|---|---|---|---|\n")
		for k, c := range failing {
			if k == mdMaxFailures {
				fmt.Fprintf(b, "\n… and %d more; see results.json.\n", len(failing)-k)
				break
			}
			fmt.Fprintf(b, "| %s | %s | %s | %s | %s |\n", mdText(c.ID), mdText(string(c.Verdict)), mdText(closeText(c)),
				mdText(c.RFC), mdText(cut(firstLine(c.Observed, c.RFC), 200)))
		}
	}

	var known []string
	for _, t := range run.Targets {
		if ids := knownDeviationIDs(t); len(ids) > 0 {
			known = append(known, fmt.Sprintf("- %s: %d (%s)\n", mdText(t.Name), len(ids), mdText(compactIDs(ids))))
		}
	}
	if len(known) > 0 {
		b.WriteString("\nKnown deviations (listed with reasons, not failing the run):\n\n")
		b.WriteString(strings.Join(known, ""))
	}
	var unstable []string
	for _, t := range run.Targets {
		if notes := unstableNotes(t); len(notes) > 0 {
			unstable = append(unstable, fmt.Sprintf("- %s: %s\n", mdText(t.Name), mdText(strings.Join(notes, "; "))))
		}
	}
	if len(unstable) > 0 {
		b.WriteString("\nVerdicts listed as varying from run to run (never retried):\n\n")
		b.WriteString(strings.Join(unstable, ""))
	}
}

// conformanceCounts counts a target's unexpected failures, known
// deviations that fail, and cases whose close was not OK.
func conformanceCounts(t results.Target) (unexpected, known, badClose int) {
	for _, c := range t.Cases {
		switch {
		case c.Unexpected():
			unexpected++
		case c.Failing():
			known++
		}
		if c.CloseVerdict != results.CloseOK {
			badClose++
		}
	}
	return unexpected, known, badClose
}

// closeText is the close verdict with the server's close code, if any.
func closeText(c results.Case) string {
	if c.RemoteCloseCode != nil {
		return fmt.Sprintf("%s (%d)", c.CloseVerdict, *c.RemoteCloseCode)
	}
	return string(c.CloseVerdict)
}

type scenarioResults struct {
	name    string
	results []*loadgen.Result
}

// splitScenarios groups load results by scenario, in loadgen's report
// order of their kinds (echo, broadcast, connect), then any other in name
// order.
func splitScenarios(rs []*loadgen.Result) []scenarioResults {
	by := map[string][]*loadgen.Result{}
	first := map[string]*loadgen.Result{} // each scenario's first result in report order
	for _, r := range rs {
		if r == nil {
			continue
		}
		by[r.Scenario] = append(by[r.Scenario], r)
		if f := first[r.Scenario]; f == nil || loadgen.Compare(r, f) < 0 {
			first[r.Scenario] = r
		}
	}
	names := slices.SortedFunc(maps.Keys(by), func(a, b string) int {
		// Compare only for the kind: connections and rate do not order
		// scenarios, and every unknown scenario is of the same kind.
		if fa, fb := first[a], first[b]; fa.Kind() != fb.Kind() {
			return loadgen.Compare(fa, fb)
		}
		return strings.Compare(a, b)
	})
	out := make([]scenarioResults, len(names))
	for i, n := range names {
		out[i] = scenarioResults{n, by[n]}
	}
	return out
}

// mdText makes text safe in a Markdown table cell or line: no line
// breaks, no table or emphasis syntax, no raw HTML.
var mdText = strings.NewReplacer(
	"\r\n", " ", "\n", " ", "\r", " ",
	`\`, `\\`, "|", `\|`, "*", `\*`, "_", `\_`, "`", "\\`", "[", `\[`, "]", `\]`,
	"<", "&lt;", ">", "&gt;", "&", "&amp;",
).Replace

// mdCode renders s as a code span.
func mdCode(s string) string {
	s = strings.NewReplacer("\n", " ", "\r", " ").Replace(s)
	fence := "`"
	for strings.Contains(s, fence) {
		fence += "`"
	}
	if strings.HasPrefix(s, "`") || strings.HasSuffix(s, "`") {
		return fence + " " + s + " " + fence
	}
	return fence + s + fence
}

// cut shortens s to at most n runes, marking the cut.
func cut(s string, n int) string {
	r := []rune(s)
	if len(r) <= n {
		return s
	}
	return string(r[:n-1]) + "…"
}
