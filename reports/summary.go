package reports

import (
	"bytes"
	"fmt"
	"sort"
	"strings"
	"text/tabwriter"

	"github.com/wsharness/wsharness/internal/numtext"
	"github.com/wsharness/wsharness/results"
)

// ConformanceSummary renders the per-target verdict counts, then every
// unexpected failure with its RFC clause, then known deviations.
func ConformanceSummary(run results.Run) []byte {
	var b bytes.Buffer
	tw := tabwriter.NewWriter(&b, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintf(tw, "target\trole\tcases\t")
	for _, v := range results.Verdicts {
		fmt.Fprintf(tw, "%s\t", v)
	}
	fmt.Fprintf(tw, "close !OK\tunexpected\tknown\t\n")
	for _, t := range run.Targets {
		unexpected, known, badClose := conformanceCounts(t)
		fmt.Fprintf(tw, "%s\t%s\t%d\t", t.Name, t.Role, len(t.Cases))
		for _, v := range results.Verdicts {
			fmt.Fprintf(tw, "%d\t", t.Summary[v])
		}
		fmt.Fprintf(tw, "%d\t%d\t%d\t\n", badClose, unexpected, known)
	}
	_ = tw.Flush()

	for _, t := range run.Targets {
		if t.Unavailable != "" {
			fmt.Fprintf(&b, "\n%s: skipped, %s\n", t.Name, t.Unavailable)
		}
		if line := notRunLine(t); line != "" {
			fmt.Fprintf(&b, "\n%s: %s\n", t.Name, line)
		}
	}
	for _, fam := range sortedKeys(run.SkippedFamilies) {
		fmt.Fprintf(&b, "\nfamily %s: skipped, %s\n", fam, run.SkippedFamilies[fam])
	}
	for _, t := range run.Targets {
		var lines []string
		for _, c := range t.Cases {
			if c.Unexpected() && !c.NotRun { // counted apart
				why := firstLine(c.Observed, c.RFC)
				if c.HarnessError != "" {
					why = "not run: " + c.HarnessError
				}
				lines = append(lines, fmt.Sprintf("  %-8s %-13s close %-10s %s — %s\n           %s", c.ID, c.Verdict, c.CloseVerdict, c.RFC, c.Title, why))
			}
		}
		if len(lines) > 0 {
			fmt.Fprintf(&b, "\n%s: %d unexpected failures\n%s\n", t.Name, len(lines), strings.Join(lines, "\n"))
		}
	}
	for _, t := range run.Targets {
		if ids := knownDeviationIDs(t); len(ids) > 0 {
			fmt.Fprintf(&b, "\n%s: %d known deviations (listed with reasons, not failing the run): %s\n", t.Name, len(ids), compactIDs(ids))
		}
	}
	for _, t := range run.Targets {
		if notes := unstableNotes(t); len(notes) > 0 {
			fmt.Fprintf(&b, "\n%s: verdicts listed as varying from run to run (never retried): %s\n", t.Name, strings.Join(notes, "; "))
		}
	}
	if run.Incomplete {
		b.WriteString("\nINCOMPLETE: the run was interrupted; counts cover the cases that finished.\n")
	}
	if run.Seed != "" {
		fmt.Fprintf(&b, "\nseed %s: make conformance SEED=%s (or wsharness conformance --seed %s) sends the same masking and handshake keys again\n", run.Seed, run.Seed, run.Seed)
	}
	return b.Bytes()
}

// notRunLine says how many of a target's cases were not run because the
// server stopped answering, and why; "" when all ran.
func notRunLine(t results.Target) string {
	n, why := 0, ""
	for _, c := range t.Cases {
		if c.NotRun {
			n++
			why = strings.TrimPrefix(c.Observed, "not run: ")
		}
	}
	if n == 0 {
		return ""
	}
	return fmt.Sprintf("%s not run (FAILED): %s", numtext.Plural(n, "case"), why)
}

// firstLine returns the first line of the observed text that is not the
// case's own RFC/expectation preamble.
func firstLine(observed, rfc string) string {
	for _, l := range strings.Split(observed, "\n") {
		if l != "" && !strings.HasPrefix(l, rfc+":") {
			return l
		}
	}
	return observed
}

// compactIDs joins IDs, cutting long lists.
func compactIDs(ids []string) string {
	const most = 30
	if len(ids) <= most {
		return strings.Join(ids, " ")
	}
	return strings.Join(ids[:most], " ") + fmt.Sprintf(" … (+%d more)", len(ids)-most)
}

// UnexpectedFailures counts failing cases not listed as deviations.
func UnexpectedFailures(run results.Run) int {
	n := 0
	for _, t := range run.Targets {
		for _, c := range t.Cases {
			if c.Unexpected() {
				n++
			}
		}
	}
	return n
}

// unstableNotes says, for each case whose verdict is listed as varying,
// what it was in this run and how often it FAILED when measured.
func unstableNotes(t results.Target) []string {
	var notes []string
	for _, c := range t.Cases {
		if c.Unstable != nil {
			verdicts := string(c.Verdict)
			if c.CloseVerdict != results.CloseOK {
				verdicts += ", close " + string(c.CloseVerdict)
			}
			notes = append(notes, fmt.Sprintf("%s %s this run (%s when measured)", c.ID, verdicts, c.Unstable))
		}
	}
	return notes
}

// knownDeviationIDs lists the failing cases a target is listed for.
func knownDeviationIDs(t results.Target) []string {
	var ids []string
	for _, c := range t.Cases {
		if c.Failing() && !c.Unexpected() {
			ids = append(ids, c.ID)
		}
	}
	return ids
}

// sortedKeys returns a map's keys in order.
func sortedKeys(m map[string]string) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}
