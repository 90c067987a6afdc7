package reports

import (
	"bytes"
	"fmt"
	"io"
	"math"
	"slices"
	"sort"
	"strings"
	"text/tabwriter"

	"github.com/wsharness/wsharness/internal/numtext"
	"github.com/wsharness/wsharness/loadgen"
	"github.com/wsharness/wsharness/results"
)

// Thresholds are the relative changes of load figures that count as
// regressions in a Comparison.
type Thresholds struct {
	// P99 is how much the p99 of a workload's primary latency may rise:
	// 0.2 allows +20%; more is a regression.
	P99 float64
	// Throughput is how much throughput may fall: 0.1 allows −10%; more is
	// a regression.
	Throughput float64
}

// DefaultThresholds allow p99 +20% and throughput −10%.
var DefaultThresholds = Thresholds{P99: 0.2, Throughput: 0.1}

// Comparison is what changed from a baseline to current results.
type Comparison struct {
	Thresholds Thresholds
	// Cases are the conformance cases, per target and case ID, whose
	// verdict, close verdict or standing as a listed deviation changed,
	// and the cases found on one side only. Sorted by target, then ID.
	Cases []CaseChange
	// TargetsAdded and TargetsRemoved are conformance targets found only
	// in the current results or only in the baseline.
	TargetsAdded, TargetsRemoved []string
	// Load are the load figures that moved, per target and workload
	// (scenario and parameters, see ScenarioLabel), in report order.
	Load []LoadChange
	// LoadAdded and LoadRemoved are target and workload pairs found only
	// in the current results or only in the baseline.
	LoadAdded, LoadRemoved []LoadKey
	// ConformanceCompared and LoadCompared say whether both sides had
	// results of that kind to compare.
	ConformanceCompared, LoadCompared bool
	// Notes say what could not be compared and why.
	Notes []string
}

// CaseStanding is where a case stands on one side of a comparison: its
// verdicts and whether it is a listed deviation.
type CaseStanding struct {
	Verdict      results.Verdict
	CloseVerdict results.CloseVerdict
	// Deviation is the reason the target is listed as deviating in the
	// case; empty when it is not listed.
	Deviation string
}

func (o CaseStanding) asCase() results.Case {
	return results.Case{Verdict: o.Verdict, CloseVerdict: o.CloseVerdict, Deviation: o.Deviation}
}

// Failing reports whether the outcome breaks a MUST (see results.Case).
func (o CaseStanding) Failing() bool { return o.asCase().Failing() }

// Unexpected reports whether the outcome fails and is not a listed
// deviation.
func (o CaseStanding) Unexpected() bool { return o.asCase().Unexpected() }

// String is e.g. "FAILED, close OK (listed deviation)".
func (o CaseStanding) String() string {
	s := fmt.Sprintf("%s, close %s", o.Verdict, o.CloseVerdict)
	if o.Failing() && o.Deviation != "" {
		s += " (listed deviation)"
	}
	return s
}

// CaseChange is one case of one target whose outcome changed. Before is
// nil for a case only in the current results, After for one only in the
// baseline.
type CaseChange struct {
	Target, ID, Title, RFC string
	Before, After          *CaseStanding
}

// NewFailure reports whether the case is an unexpected failure now and
// was not one in the baseline (including when the baseline lacks it).
func (c CaseChange) NewFailure() bool {
	return c.After != nil && c.After.Unexpected() && (c.Before == nil || !c.Before.Unexpected())
}

// Fixed reports whether the case failed in the baseline and passes now.
func (c CaseChange) Fixed() bool {
	return c.Before != nil && c.After != nil && c.Before.Failing() && !c.After.Failing()
}

// LoadKey names a target's workload.
type LoadKey struct {
	Target   string
	Workload string // ScenarioLabel
}

// LoadChange is one load figure that moved. Before and After are medians
// over the runs of the target and workload on each side (percentiles: the
// median of the runs' own percentiles).
type LoadChange struct {
	LoadKey
	// Metric names the figure: "throughput", "latency p99", "fan-out p50",
	// "errors", "lost", "delivery ratio", …
	Metric                string
	Before, After         float64
	BeforeText, AfterText string
	// Change is (After − Before) / Before; +Inf when Before is 0.
	Change float64
	// Regression is set when the change passes a threshold; Limit is then
	// the threshold passed (relative, signed: +0.2, −0.1).
	Regression bool
	Limit      float64
}

// Regression is one entry of Comparison.Regressions.
type Regression struct {
	Target string
	// Subject is the case ID or the workload.
	Subject string
	Detail  string
}

func (r Regression) String() string { return r.Target + " " + r.Subject + ": " + r.Detail }

// Regressions lists new unexpected failures (see CaseChange.NewFailure),
// then load figures past a threshold: p99 of the primary latency up by
// more than Thresholds.P99, throughput down by more than
// Thresholds.Throughput.
func (c Comparison) Regressions() []Regression {
	var out []Regression
	newTarget := map[string]bool{}
	for _, t := range c.TargetsAdded {
		newTarget[t] = true
	}
	for _, ch := range c.Cases {
		if !ch.NewFailure() {
			continue
		}
		detail := "new case, " + ch.After.String()
		if newTarget[ch.Target] {
			detail = "new target, " + ch.After.String()
		}
		if ch.Before != nil {
			detail = ch.Before.String() + " → " + ch.After.String()
		}
		out = append(out, Regression{ch.Target, ch.ID, detail + ", not a listed deviation"})
	}
	for _, l := range c.Load {
		if l.Regression {
			out = append(out, Regression{l.Target, l.Workload, fmt.Sprintf("%s %s → %s (%s, limit %s)",
				l.Metric, l.BeforeText, l.AfterText, formatChange(l.Change), formatChange(l.Limit))})
		}
	}
	return out
}

// Compare compares current results with a baseline: conformance outcomes
// per target and case ID, load figures per target and workload. When a
// target appears in several conformance runs of one side, the last run
// read wins. Interrupted load runs are left out, as in LoadComparison.
// Results of one kind present on one side only are not compared (a note
// says so).
func Compare(base, cur Input, th Thresholds) Comparison {
	c := Comparison{Thresholds: th}
	c.compareConformance(base.Conformance, cur.Conformance)
	c.compareLoad(base, cur)
	return c
}

func (c *Comparison) compareConformance(base, cur []results.Run) {
	switch {
	case len(base) == 0 && len(cur) == 0:
		return
	case len(base) == 0:
		c.Notes = append(c.Notes, "The baseline has no conformance results; conformance is not compared.")
		return
	case len(cur) == 0:
		c.Notes = append(c.Notes, "The current results have no conformance results; conformance is not compared.")
		return
	}
	c.ConformanceCompared = true
	for _, r := range cur {
		if r.Incomplete {
			c.Notes = append(c.Notes, "The current conformance run is incomplete: cases it did not reach are listed as only in the baseline.")
			break
		}
	}
	b, a := caseIndex(base), caseIndex(cur)
	targets := map[string]bool{}
	for t := range b {
		targets[t] = true
	}
	for t := range a {
		targets[t] = true
	}
	names := make([]string, 0, len(targets))
	for t := range targets {
		names = append(names, t)
	}
	sort.Strings(names)
	for _, t := range names {
		switch {
		case b[t] == nil:
			c.TargetsAdded = append(c.TargetsAdded, t)
		case a[t] == nil:
			c.TargetsRemoved = append(c.TargetsRemoved, t)
		}
		ids := map[string]bool{}
		for id := range b[t] {
			ids[id] = true
		}
		for id := range a[t] {
			ids[id] = true
		}
		var changes []CaseChange
		for id := range ids {
			bc, inBase := b[t][id]
			ac, inCur := a[t][id]
			ch := CaseChange{Target: t, ID: id}
			ref := ac
			if !inCur {
				ref = bc
			}
			ch.Title, ch.RFC = ref.Title, ref.RFC
			if inBase {
				ch.Before = &CaseStanding{bc.Verdict, bc.CloseVerdict, bc.Deviation}
			}
			if inCur {
				ch.After = &CaseStanding{ac.Verdict, ac.CloseVerdict, ac.Deviation}
			}
			if inBase && inCur && bc.Verdict == ac.Verdict && bc.CloseVerdict == ac.CloseVerdict &&
				bc.Failing() == ac.Failing() && bc.Unexpected() == ac.Unexpected() {
				continue
			}
			changes = append(changes, ch)
		}
		sort.Slice(changes, func(i, j int) bool { return results.LessID(changes[i].ID, changes[j].ID) })
		c.Cases = append(c.Cases, changes...)
	}
}

// caseIndex maps target name and case ID to the case; later runs win.
func caseIndex(runs []results.Run) map[string]map[string]results.Case {
	idx := map[string]map[string]results.Case{}
	for _, r := range runs {
		for _, t := range r.Targets {
			m := idx[t.Name]
			if m == nil {
				m = map[string]results.Case{}
				idx[t.Name] = m
			}
			for _, cs := range t.Cases {
				m[cs.ID] = cs
			}
		}
	}
	return idx
}

func (c *Comparison) compareLoad(base, cur Input) {
	switch {
	case len(base.Load) == 0 && len(cur.Load) == 0:
		return
	case len(base.Load) == 0:
		c.Notes = append(c.Notes, "The baseline has no load results; load is not compared.")
		return
	case len(cur.Load) == 0:
		c.Notes = append(c.Notes, "The current results have no load results; load is not compared.")
		return
	}
	c.LoadCompared = true
	b, a := tabulate(base.Load), tabulate(cur.Load)
	if b.interrupted+a.interrupted > 0 {
		c.Notes = append(c.Notes, fmt.Sprintf("Interrupted load runs are left out: %d in the baseline, %d in the current results.", b.interrupted, a.interrupted))
	}
	before, after := workloadsByLabel(b.workloads), workloadsByLabel(a.workloads)
	// Every target and workload of either side, in report order.
	for _, w := range groupLoad(append(slices.Clone(b.runs), a.runs...)) {
		for _, t := range w.targets {
			c.compareRuns(LoadKey{t.target, w.label}, before[w.label].runsOf(t.target), after[w.label].runsOf(t.target))
		}
	}
}

// compareRuns compares a target's runs of a workload: b in the baseline,
// a in the current results; nil when that side has none.
func (c *Comparison) compareRuns(key LoadKey, b, a *loadRuns) {
	switch {
	case b == nil:
		c.LoadAdded = append(c.LoadAdded, key)
		return
	case a == nil:
		c.LoadRemoved = append(c.LoadRemoved, key)
		return
	}
	// Results written before the generator's own figures existed
	// counted its lateness in the open-model latency.
	if hasGenerator(b.runs) != hasGenerator(a.runs) && a.runs[0].Kind() == loadgen.KindEchoRate {
		c.Notes = append(c.Notes, fmt.Sprintf("%s %s: one side predates the generator's own figures, and its latency includes the generator's lag (about 0.5 ms here); latency changes between the two are not the server's.", key.Target, key.Workload))
	}
	// A regression measured by a generator that fell behind may be
	// the generator's: say so beside it rather than blame the server.
	for _, side := range []struct {
		name string
		runs *loadRuns
	}{{"baseline", b}, {"current", a}} {
		for _, r := range side.runs.runs {
			if why := GeneratorLimits(r); why != "" {
				c.Notes = append(c.Notes, fmt.Sprintf("%s %s, %s run: the load generator fell behind (%s); %s.", key.Target, key.Workload, side.name, why, GeneratorLimitedMeaning))
			}
		}
	}
	for _, f := range headlineFigures {
		bc, ac := b.cell(f), a.cell(f)
		if !bc.ok || !ac.ok || bc.value == ac.value {
			continue
		}
		ch := LoadChange{LoadKey: key, Metric: f.nameFor(a.runs[0]), Before: bc.value, After: ac.value,
			BeforeText: bc.text, AfterText: ac.text, Change: relChange(bc.value, ac.value)}
		switch {
		case f == figPrimaryP99 && ch.Change > c.Thresholds.P99:
			ch.Regression, ch.Limit = true, c.Thresholds.P99
		case f == figThroughput && ch.Change < -c.Thresholds.Throughput:
			ch.Regression, ch.Limit = true, -c.Thresholds.Throughput
		}
		c.Load = append(c.Load, ch)
	}
}

// relChange is (after − before) / before, ±Inf when before is 0.
func relChange(before, after float64) float64 {
	if before == 0 {
		return math.Inf(int(math.Copysign(1, after)))
	}
	return (after - before) / math.Abs(before)
}

// formatChange renders a relative change: "+50.0%", "-30.0%", "new" for
// a rise from 0.
func formatChange(v float64) string {
	switch {
	case math.IsInf(v, 1):
		return "up from 0"
	case math.IsInf(v, -1):
		return "down from 0"
	}
	return fmt.Sprintf("%+.1f%%", v*100)
}

// Caps on what the renderers list, to keep a CI job summary readable
// when a whole target fails.
const (
	maxRegressionLines = 30
	maxCaseRows        = 200
)

// compareMarkdown shows a comparison in Markdown, compare.md.
var compareMarkdown = ComparisonFormat{File: "compare.md", Write: writeCompareMarkdown}

// compareText shows a comparison in plain text, compare.txt.
var compareText = ComparisonFormat{File: "compare.txt", Write: writeCompareText}

// writeCompareMarkdown renders a comparison as Markdown: regressions
// first, then the conformance changes, then the load figures that moved.
func writeCompareMarkdown(w io.Writer, c Comparison) error {
	var b bytes.Buffer
	b.WriteString("## Comparison with the baseline\n\n")
	regs := c.Regressions()
	if len(regs) == 0 {
		fmt.Fprintf(&b, "No regressions (%s).\n", limitsText(c.Thresholds))
	} else {
		fmt.Fprintf(&b, "**%s** ❌ (%s):\n\n", numtext.Plural(len(regs), "regression"), limitsText(c.Thresholds))
		for _, line := range capped(len(regs), maxRegressionLines, func(i int) string {
			return fmt.Sprintf("- %s %s: %s", mdText(regs[i].Target), mdText(regs[i].Subject), mdText(regs[i].Detail))
		}, func(left int) string { return fmt.Sprintf("- … and %d more (see below)", left) }) {
			b.WriteString(line + "\n")
		}
	}
	for _, n := range c.Notes {
		fmt.Fprintf(&b, "\n_%s_\n", mdText(n))
	}

	if c.ConformanceCompared {
		b.WriteString("\n### Conformance\n\n")
		rows, sides := caseRows(c)
		if len(rows) == 0 {
			b.WriteString("No verdict changed.\n")
		} else {
			b.WriteString("| target | case | baseline | current | |\n|---|---|---|---|---|\n")
			for _, line := range capped(len(rows), maxCaseRows, func(i int) string {
				ch := rows[i]
				return fmt.Sprintf("| %s | %s | %s | %s | %s |", mdText(ch.Target), mdText(ch.ID),
					mdText(outcomeText(ch.Before)), mdText(outcomeText(ch.After)), caseMark(ch, true))
			}, func(left int) string { return fmt.Sprintf("\n… and %d more.", left) }) {
				b.WriteString(line + "\n")
			}
		}
		if len(sides) > 0 {
			b.WriteString("\n")
			for _, s := range sides {
				fmt.Fprintf(&b, "- %s\n", mdText(s))
			}
		}
	}

	if c.LoadCompared {
		b.WriteString("\n### Load\n\n")
		if len(c.Load) == 0 {
			b.WriteString("No figure changed.\n")
		} else {
			b.WriteString("| target | workload | metric | baseline | current | change |\n|---|---|---|--:|--:|--:|\n")
			for _, l := range c.Load {
				change := formatChange(l.Change)
				if l.Regression {
					change = "**" + change + "** ❌"
				}
				fmt.Fprintf(&b, "| %s | %s | %s | %s | %s | %s |\n", mdText(l.Target), mdText(l.Workload), mdText(l.Metric),
					l.BeforeText, l.AfterText, change)
			}
		}
		for _, s := range loadSides(c) {
			fmt.Fprintf(&b, "\n%s\n", mdText(s))
		}
	}
	_, err := w.Write(b.Bytes())
	return err
}

// writeCompareText renders a comparison as plain text, in the order of
// writeCompareMarkdown.
func writeCompareText(w io.Writer, c Comparison) error {
	var b bytes.Buffer
	regs := c.Regressions()
	if len(regs) == 0 {
		fmt.Fprintf(&b, "Compared with the baseline: no regressions (%s).\n", limitsText(c.Thresholds))
	} else {
		fmt.Fprintf(&b, "Compared with the baseline: %s (%s):\n", numtext.Plural(len(regs), "regression"), limitsText(c.Thresholds))
		for _, line := range capped(len(regs), maxRegressionLines, func(i int) string { return "  " + regs[i].String() },
			func(left int) string { return fmt.Sprintf("  … and %d more (see below)", left) }) {
			b.WriteString(line + "\n")
		}
	}
	for _, n := range c.Notes {
		fmt.Fprintf(&b, "%s\n", n)
	}

	if c.ConformanceCompared {
		b.WriteString("\nConformance changes:\n")
		rows, sides := caseRows(c)
		if len(rows) == 0 {
			b.WriteString("  no verdict changed\n")
		} else {
			tw := tabwriter.NewWriter(&b, 0, 0, 2, ' ', 0)
			fmt.Fprintln(tw, "  target\tcase\tbaseline\t\tcurrent")
			for _, line := range capped(len(rows), maxCaseRows, func(i int) string {
				ch := rows[i]
				line := fmt.Sprintf("  %s\t%s\t%s\t→\t%s", ch.Target, ch.ID, outcomeText(ch.Before), outcomeText(ch.After))
				if m := caseMark(ch, false); m != "" {
					line += "\t" + m
				}
				return line
			}, func(left int) string { return fmt.Sprintf("  … and %d more", left) }) {
				fmt.Fprintln(tw, line)
			}
			_ = tw.Flush()
		}
		for _, s := range sides {
			fmt.Fprintf(&b, "  %s\n", s)
		}
	}

	if c.LoadCompared {
		b.WriteString("\nLoad changes (medians per target and workload):\n")
		if len(c.Load) == 0 {
			b.WriteString("  no figure changed\n")
		} else {
			tw := tabwriter.NewWriter(&b, 0, 0, 2, ' ', 0)
			fmt.Fprintln(tw, "  target\tworkload\tmetric\tbaseline\tcurrent\tchange")
			for _, l := range c.Load {
				line := fmt.Sprintf("  %s\t%s\t%s\t%s\t%s\t%s", l.Target, l.Workload, l.Metric, l.BeforeText, l.AfterText, formatChange(l.Change))
				if l.Regression {
					line += "\tREGRESSION"
				}
				fmt.Fprintln(tw, line)
			}
			_ = tw.Flush()
		}
		for _, s := range loadSides(c) {
			fmt.Fprintf(&b, "  %s\n", s)
		}
	}
	_, err := w.Write(b.Bytes())
	return err
}

// capped lists line(i) for the first most of n items and then, when
// some were left out, more(how many): a failing target must not blow up
// a CI job summary.
func capped(n, most int, line func(i int) string, more func(left int) string) []string {
	out := make([]string, 0, min(n, most)+1)
	for i := range min(n, most) {
		out = append(out, line(i))
	}
	if n > most {
		out = append(out, more(n-most))
	}
	return out
}

func limitsText(th Thresholds) string {
	return fmt.Sprintf("limits: new unexpected failures, p99 %s, throughput %s",
		formatChange(th.P99), formatChange(-th.Throughput))
}

// caseRows splits case changes into the rows of the change table (cases
// on both sides, and new cases that fail unexpectedly) and one line per
// target summing up the cases found on one side only.
func caseRows(c Comparison) (rows []CaseChange, sides []string) {
	added, removed := map[string]bool{}, map[string]bool{}
	for _, t := range c.TargetsAdded {
		added[t] = true
	}
	for _, t := range c.TargetsRemoved {
		removed[t] = true
	}
	var order []string
	seen := map[string]bool{}
	onlyCur, onlyBase := map[string][]string{}, map[string][]string{}
	for _, ch := range c.Cases {
		if !seen[ch.Target] {
			seen[ch.Target] = true
			order = append(order, ch.Target)
		}
		switch {
		case ch.Before == nil:
			onlyCur[ch.Target] = append(onlyCur[ch.Target], ch.ID)
			if ch.NewFailure() {
				rows = append(rows, ch)
			}
		case ch.After == nil:
			onlyBase[ch.Target] = append(onlyBase[ch.Target], ch.ID)
		default:
			rows = append(rows, ch)
		}
	}
	for _, t := range order {
		switch {
		case added[t]:
			sides = append(sides, fmt.Sprintf("%s: only in the current results (%s)", t, numtext.Plural(len(onlyCur[t]), "case")))
		case removed[t]:
			sides = append(sides, fmt.Sprintf("%s: only in the baseline (%s)", t, numtext.Plural(len(onlyBase[t]), "case")))
		default:
			var parts []string
			if ids := onlyCur[t]; len(ids) > 0 {
				parts = append(parts, fmt.Sprintf("%s only in the current results (%s)", numtext.Plural(len(ids), "case"), compactIDs(ids)))
			}
			if ids := onlyBase[t]; len(ids) > 0 {
				parts = append(parts, fmt.Sprintf("%s only in the baseline (%s)", numtext.Plural(len(ids), "case"), compactIDs(ids)))
			}
			if len(parts) > 0 {
				sides = append(sides, t+": "+strings.Join(parts, "; "))
			}
		}
	}
	for _, t := range c.TargetsAdded {
		if !seen[t] {
			sides = append(sides, t+": only in the current results (no cases)")
		}
	}
	for _, t := range c.TargetsRemoved {
		if !seen[t] {
			sides = append(sides, t+": only in the baseline (no cases)")
		}
	}
	return rows, sides
}

func outcomeText(o *CaseStanding) string {
	if o == nil {
		return "—"
	}
	return o.String()
}

func caseMark(ch CaseChange, md bool) string {
	switch {
	case ch.NewFailure():
		if md {
			return "❌ new failure"
		}
		return "NEW FAILURE"
	case ch.Fixed():
		if md {
			return "✅ fixed"
		}
		return "fixed"
	}
	return ""
}

func loadSides(c Comparison) []string {
	var out []string
	list := func(keys []LoadKey) string {
		s := make([]string, len(keys))
		for i, k := range keys {
			s[i] = k.Target + " (" + k.Workload + ")"
		}
		return joinMax(s, 30)
	}
	if len(c.LoadAdded) > 0 {
		out = append(out, "Only in the current results: "+list(c.LoadAdded)+".")
	}
	if len(c.LoadRemoved) > 0 {
		out = append(out, "Only in the baseline: "+list(c.LoadRemoved)+".")
	}
	return out
}
