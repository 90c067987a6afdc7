package reports

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/wsharness/wsharness/internal/testtext"
	"github.com/wsharness/wsharness/loadgen"
	"github.com/wsharness/wsharness/results"
)

// rcCase is a case outcome for the Markdown, Text and Compare tests.
func rcCase(id string, verdict results.Verdict, closeVerdict results.CloseVerdict, deviation string) results.Case {
	return results.Case{ID: id, Family: "framing", Title: "case " + id, RFC: "RFC 6455 §5.2",
		Verdict: verdict, CloseVerdict: closeVerdict, Deviation: deviation,
		Observed: "RFC 6455 §5.2: expected an echo\nobserved nothing"}
}

// rcRun is a conformance run of targets, each given as name and cases.
func rcRun(targets ...any) results.Run {
	run := results.Run{Schema: results.Schema, Started: time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC), DurationMS: 6900}
	for i := 0; i < len(targets); i += 2 {
		t := results.Target{Name: targets[i].(string), Cases: targets[i+1].([]results.Case)}
		t.Summarize()
		run.Targets = append(run.Targets, t)
	}
	return run
}

// mdTableLines checks that every line of every Markdown table has as many
// cells as its header, counting unescaped pipes.
func mdTableLines(t *testing.T, md string) {
	t.Helper()
	want := -1
	for line := range strings.Lines(md) {
		line = strings.TrimRight(line, "\n")
		if !strings.HasPrefix(line, "|") {
			want = -1
			continue
		}
		n := strings.Count(line, "|") - strings.Count(line, `\|`)
		if want < 0 {
			want = n
		} else if n != want {
			t.Errorf("table line has %d cells, header %d: %q", n-1, want-1, line)
		}
	}
}

func TestMarkdownConformance(t *testing.T) {
	failing := rcCase("1.1.2", results.Failed, results.CloseOK, "")
	failing.Observed = "RFC 6455 §5.2: expected an echo\nserver sent | <b>bold</b> *x*\nsecond line"
	code := 1002
	failing.RemoteCloseCode = &code
	incomplete := rcRun("alpha", []results.Case{
		rcCase("1.1.1", results.OK, results.CloseOK, ""),
		failing,
		rcCase("1.1.3", results.Failed, results.CloseOK, "documented in the library's README"),
		rcCase("1.1.4", results.NonStrict, results.CloseWrongCode, ""),
	}, "beta", []results.Case{
		rcCase("1.1.1", results.OK, results.CloseOK, ""),
	})
	incomplete.Incomplete = true
	md := render(t, Markdown, Input{Conformance: []results.Run{incomplete}, Sources: []string{"out/conformance/results.json"}})
	testtext.Contains(t, "markdown", md,
		"## Conformance\n\nstarted 2026-01-02 03:04:05 UTC, took 6.9s, 2 targets. **Incomplete**",
		"| target | role | cases | OK | NON-STRICT | INFORMATIONAL | UNIMPLEMENTED | FAILED | close not OK | unexpected failures | known deviations |",
		"| alpha | server | 4 | 1 | 1 | 0 | 0 | 2 | 1 | **1** ❌ | 1 |",
		"| beta | server | 1 | 1 | 0 | 0 | 0 | 0 | 0 | 0 | 0 |",
		"### alpha: 1 unexpected failure\n",
		// The first observed line after the RFC preamble, made harmless.
		`| 1.1.2 | FAILED | OK (1002) | RFC 6455 §5.2 | server sent \| &lt;b&gt;bold&lt;/b&gt; \*x\* |`,
		"- alpha: 1 (1.1.3)",
		"`out/conformance/results.json`",
	)
	for _, not := range []string{"### beta", "1.1.4 |", "second line", "<b>"} {
		if strings.Contains(md, not) {
			t.Errorf("unexpected %q in\n%s", not, md)
		}
	}
}

func TestMarkdownCapsFailures(t *testing.T) {
	var cs []results.Case
	for i := range mdMaxFailures + 7 {
		cs = append(cs, rcCase(fmt.Sprintf("9.%d", i+1), results.Failed, results.CloseOK, ""))
	}
	md := render(t, Markdown, Input{Conformance: []results.Run{rcRun("broken", cs)}})
	if !strings.Contains(md, "### broken: 107 unexpected failures") || !strings.Contains(md, "… and 7 more") {
		t.Errorf("failures not capped:\n%s", md)
	}
	if got := strings.Count(md, "| FAILED | OK |"); got != mdMaxFailures {
		t.Errorf("%d failure rows, want %d", got, mdMaxFailures)
	}
}

func TestMarkdownLoadPerScenario(t *testing.T) {
	load := []*loadgen.Result{
		broadcast("gws", 1000, 10, 60000, 1),
		echoRate("gws", 4000, 700, 10000, 30000),
		echoRate("gorilla", 4000, 500, 1000, 4000),
		connect("gorilla", nil),
	}
	md := render(t, Markdown, Input{Load: load})
	echo := strings.Index(md, "### echo\n")
	bc := strings.Index(md, "### broadcast\n")
	conn := strings.Index(md, "### connect\n")
	if !strings.HasPrefix(md, "## Load\n") || echo < 0 || bc < echo || conn < bc {
		t.Fatalf("scenario sections missing or out of order:\n%s", md)
	}
	if want := string(LoadComparison([]*loadgen.Result{load[1], load[2]})); !strings.Contains(md[echo:bc], want) {
		t.Errorf("echo section is not the LoadComparison of the echo results:\n%s\nwant\n%s", md[echo:bc], want)
	}
	if want := string(LoadComparison(load[:1])); !strings.Contains(md[bc:conn], want) {
		t.Errorf("broadcast section is not the LoadComparison of the broadcast result")
	}
	if strings.Contains(md, "## Conformance") {
		t.Error("conformance section without conformance results")
	}
	if got := render(t, Markdown, Input{}); got != "No results.\n" {
		t.Errorf("empty input: %q", got)
	}
}

func TestMarkdownLoadGeneratorLimited(t *testing.T) {
	md := render(t, Markdown, Input{Load: []*loadgen.Result{
		withGenerator(echoRate("gws", 4000, 700, 10000, 30000), 300, 1.2, schedLimit),
		withGenerator(echoRate("gorilla", 4000, 500, 1000, 4000), 200, 0.8),
	}})
	testtext.Contains(t, "markdown", md,
		"| ⚠ generator-limited | ⚠ generator-limited | no |",
		"- echo 1,000 conns, 4,000 msg/s, 128 B text, gws: "+schedLimit.Detail+".\n",
		"| generator lag p99 | 300 µs | 200 µs |",
	)
	kept := render(t, Markdown, Input{Load: []*loadgen.Result{withGenerator(echoRate("gorilla", 4000, 500, 1000, 4000), 200, 0.8)}})
	if strings.Contains(kept, "generator-limited") {
		t.Errorf("a run that kept up is marked:\n%s", kept)
	}
}

// Scenario sections follow loadgen's order of kinds; scenarios this build
// does not know come last, by name.
func TestMarkdownScenarioOrder(t *testing.T) {
	zeta, alpha := echoRate("gws", 1, 1, 1, 1), echoRate("gws", 1, 1, 1, 1)
	zeta.Scenario, alpha.Scenario = "zeta", "alpha"
	zeta.Params.Conns = 1 // fewer connections do not move it ahead of alpha
	md := render(t, Markdown, Input{Load: []*loadgen.Result{
		zeta, connect("gws", nil), broadcast("gws", 1000, 10, 60000, 1), alpha, echoClosed("gws", 15000),
	}})
	last := -1
	for _, s := range []string{"echo", "broadcast", "connect", "alpha", "zeta"} {
		i := strings.Index(md, "### "+s+"\n")
		if i < last {
			t.Fatalf("section %s missing or out of order:\n%s", s, md)
		}
		last = i
	}
}
