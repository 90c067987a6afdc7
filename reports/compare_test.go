package reports

import (
	"math"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/wsharness/wsharness/internal/testtext"
	"github.com/wsharness/wsharness/loadgen"
	"github.com/wsharness/wsharness/results"
)

func caseChange(t *testing.T, c Comparison, target, id string) CaseChange {
	t.Helper()
	for _, ch := range c.Cases {
		if ch.Target == target && ch.ID == id {
			return ch
		}
	}
	t.Fatalf("no change listed for %s %s in %+v", target, id, c.Cases)
	return CaseChange{}
}

func regressionNames(c Comparison) []string {
	var out []string
	for _, r := range c.Regressions() {
		out = append(out, r.Target+" "+r.Subject)
	}
	return out
}

func TestCompareConformance(t *testing.T) {
	const (
		ok, failed = results.OK, results.Failed
		cok        = results.CloseOK
	)
	base := Input{Conformance: []results.Run{rcRun(
		"alpha", []results.Case{
			rcCase("1.1.1", ok, cok, ""),
			rcCase("1.1.2", failed, cok, ""),
			rcCase("1.1.3", ok, cok, "flaky on slow machines"), // a listed deviation that passed
			rcCase("1.1.4", ok, cok, ""),
			rcCase("1.1.5", ok, cok, ""),
			rcCase("1.1.6", ok, cok, ""),
			rcCase("1.1.9", failed, cok, "known"),
			rcCase("1.1.10", failed, cok, "known"),
		},
		"beta", []results.Case{rcCase("1.1.1", ok, cok, "")},
	)}}
	cur := Input{Conformance: []results.Run{rcRun(
		"alpha", []results.Case{
			rcCase("1.1.1", failed, cok, ""),                       // OK → FAILED: a new failure
			rcCase("1.1.2", ok, cok, ""),                           // FAILED → OK: fixed
			rcCase("1.1.3", failed, cok, "flaky on slow machines"), // listed deviation now FAILED: not unexpected
			rcCase("1.1.4", ok, cok, ""),                           // unchanged
			rcCase("1.1.5", ok, results.CloseWrongCode, ""),        // close verdict changed, still passing
			rcCase("1.1.7", ok, cok, ""),                           // added, passing
			rcCase("1.1.8", failed, cok, ""),                       // added, failing
			rcCase("1.1.9", failed, cok, ""),                       // no longer listed: now unexpected
			rcCase("1.1.10", failed, results.CloseUnclean, "known"),
		},
		"gamma", []results.Case{rcCase("2.1", failed, cok, ""), rcCase("2.2", ok, cok, "")},
	)}}
	baseCopy, curCopy := rcClone(t, base), rcClone(t, cur)
	c := Compare(base, cur, DefaultThresholds)
	if !reflect.DeepEqual(base, baseCopy) || !reflect.DeepEqual(cur, curCopy) {
		t.Fatal("Compare modified its input")
	}
	if !c.ConformanceCompared || c.LoadCompared {
		t.Errorf("compared conformance %v, load %v", c.ConformanceCompared, c.LoadCompared)
	}

	if ch := caseChange(t, c, "alpha", "1.1.1"); !ch.NewFailure() || ch.Fixed() || ch.Before.Verdict != ok || ch.After.Verdict != failed {
		t.Errorf("OK → FAILED: %+v new failure %v", ch, ch.NewFailure())
	}
	if ch := caseChange(t, c, "alpha", "1.1.2"); ch.NewFailure() || !ch.Fixed() {
		t.Errorf("FAILED → OK: new failure %v, fixed %v", ch.NewFailure(), ch.Fixed())
	}
	if ch := caseChange(t, c, "alpha", "1.1.3"); ch.NewFailure() || ch.Fixed() {
		t.Errorf("listed deviation becoming FAILED: new failure %v", ch.NewFailure())
	}
	if ch := caseChange(t, c, "alpha", "1.1.5"); ch.NewFailure() || ch.After.CloseVerdict != results.CloseWrongCode {
		t.Errorf("close verdict change: %+v", ch)
	}
	if ch := caseChange(t, c, "alpha", "1.1.6"); ch.After != nil || ch.Before == nil || ch.NewFailure() {
		t.Errorf("removed case: %+v", ch)
	}
	if ch := caseChange(t, c, "alpha", "1.1.7"); ch.Before != nil || ch.NewFailure() {
		t.Errorf("added passing case: %+v", ch)
	}
	if ch := caseChange(t, c, "alpha", "1.1.8"); ch.Before != nil || !ch.NewFailure() {
		t.Errorf("added failing case: %+v", ch)
	}
	if ch := caseChange(t, c, "alpha", "1.1.9"); !ch.NewFailure() {
		t.Errorf("deviation no longer listed: %+v", ch)
	}
	if ch := caseChange(t, c, "alpha", "1.1.10"); ch.NewFailure() {
		t.Errorf("listed deviation with a new close verdict: %+v", ch)
	}
	for _, ch := range c.Cases {
		if ch.Target == "alpha" && ch.ID == "1.1.4" {
			t.Error("unchanged case listed")
		}
	}
	var alpha []string
	for _, ch := range c.Cases {
		if ch.Target == "alpha" {
			alpha = append(alpha, ch.ID)
		}
	}
	if want := []string{"1.1.1", "1.1.2", "1.1.3", "1.1.5", "1.1.6", "1.1.7", "1.1.8", "1.1.9", "1.1.10"}; !slices.Equal(alpha, want) {
		t.Errorf("alpha changes %v, want %v (numeric ID order)", alpha, want)
	}
	if !slices.Equal(c.TargetsAdded, []string{"gamma"}) || !slices.Equal(c.TargetsRemoved, []string{"beta"}) {
		t.Errorf("targets added %v removed %v", c.TargetsAdded, c.TargetsRemoved)
	}
	if got, want := regressionNames(c), []string{"alpha 1.1.1", "alpha 1.1.8", "alpha 1.1.9", "gamma 2.1"}; !slices.Equal(got, want) {
		t.Errorf("regressions %v, want %v", got, want)
	}
	regs := c.Regressions()
	if d := regs[0].Detail; d != "OK, close OK → FAILED, close OK, not a listed deviation" {
		t.Errorf("detail %q", d)
	}
	if d := regs[3].Detail; !strings.HasPrefix(d, "new target, FAILED") {
		t.Errorf("detail %q", d)
	}

	md := renderComparison(t, compareMarkdown, c)
	testtext.Contains(t, "markdown", md,
		"**4 regressions** ❌",
		"| alpha | 1.1.1 | OK, close OK | FAILED, close OK | ❌ new failure |",
		"| alpha | 1.1.2 | FAILED, close OK | OK, close OK | ✅ fixed |",
		"| alpha | 1.1.3 | OK, close OK | FAILED, close OK (listed deviation) |  |",
		"| alpha | 1.1.8 | — | FAILED, close OK | ❌ new failure |",
		"- alpha: 2 cases only in the current results (1.1.7 1.1.8); 1 case only in the baseline (1.1.6)",
		"- beta: only in the baseline (1 case)",
		"- gamma: only in the current results (2 cases)",
	)
	if strings.Contains(md, "| 1.1.7 |") || strings.Contains(md, "### Load") {
		t.Errorf("passing added case in the table, or a load section without load:\n%s", md)
	}
	txt := renderComparison(t, compareText, c)
	testtext.Contains(t, "text", txt, "4 regressions", "alpha 1.1.1: OK, close OK → FAILED", "NEW FAILURE", "fixed")
}

// rcClone deep-copies an input through its fields that Compare reads.
func rcClone(t *testing.T, in Input) Input {
	t.Helper()
	out := Input{Sources: slices.Clone(in.Sources)}
	for _, r := range in.Conformance {
		r2 := r
		r2.Targets = nil
		for _, tg := range r.Targets {
			tg.Cases = slices.Clone(tg.Cases)
			sum := map[results.Verdict]int{}
			for k, v := range tg.Summary {
				sum[k] = v
			}
			tg.Summary = sum
			r2.Targets = append(r2.Targets, tg)
		}
		out.Conformance = append(out.Conformance, r2)
	}
	for _, r := range in.Load {
		r2 := *r
		out.Load = append(out.Load, &r2)
	}
	return out
}

func loadChange(c Comparison, target, metric string) (LoadChange, bool) {
	for _, l := range c.Load {
		if l.Target == target && l.Metric == metric {
			return l, true
		}
	}
	return LoadChange{}, false
}

func TestCompareLoadThresholds(t *testing.T) {
	for _, tc := range []struct {
		name           string
		p99, tput      float64 // current relative to a baseline of p99 10 ms, 4,000/s
		th             Thresholds
		p99Reg, tpReg  bool
		p99Listed      bool
		throughputSeen bool
	}{
		{"p99 +50% over 20%", 1.5, 1, Thresholds{0.2, 0.1}, true, false, true, false},
		{"p99 +10% under 20%", 1.1, 1, Thresholds{0.2, 0.1}, false, false, true, false},
		{"p99 +20% exactly", 1.2, 1, Thresholds{0.2, 0.1}, false, false, true, false},
		{"p99 -50%", 0.5, 1, Thresholds{0.2, 0.1}, false, false, true, false},
		{"throughput -30% over 10%", 1, 0.7, Thresholds{0.2, 0.1}, false, true, false, true},
		{"throughput -5% under 10%", 1, 0.95, Thresholds{0.2, 0.1}, false, false, false, true},
		{"throughput +30%", 1, 1.3, Thresholds{0.2, 0.1}, false, false, false, true},
		{"zero thresholds", 1.01, 0.99, Thresholds{}, true, true, true, true},
		{"both", 2, 0.5, DefaultThresholds, true, true, true, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			base := echoRate("gws", 4000, 700, 10000, 30000)
			cur := echoRate("gws", 4000*tc.tput, 700, int64(math.Round(10000*tc.p99)), 30000)
			c := Compare(Input{Load: []*loadgen.Result{base}}, Input{Load: []*loadgen.Result{cur}}, tc.th)
			p, ok := loadChange(c, "gws", "latency p99")
			if ok != tc.p99Listed || p.Regression != tc.p99Reg {
				t.Errorf("p99 listed %v regression %v (change %v), want %v %v", ok, p.Regression, p.Change, tc.p99Listed, tc.p99Reg)
			}
			tp, ok := loadChange(c, "gws", "throughput")
			if ok != tc.throughputSeen || tp.Regression != tc.tpReg {
				t.Errorf("throughput listed %v regression %v (change %v), want %v %v", ok, tp.Regression, tp.Change, tc.throughputSeen, tc.tpReg)
			}
			if _, ok := loadChange(c, "gws", "latency p50"); ok {
				t.Error("an unchanged figure is listed")
			}
			want := 0
			if tc.p99Reg {
				want++
			}
			if tc.tpReg {
				want++
			}
			if got := len(c.Regressions()); got != want {
				t.Errorf("%d regressions, want %d: %v", got, want, c.Regressions())
			}
		})
	}
}

func TestCompareLoadDetails(t *testing.T) {
	interrupted := echoRate("gws", 1, 1, 1e9, 1e9)
	interrupted.Interrupted = true
	lossy := broadcast("gws", 1000, 10, 60000, 0.99)
	lossy.Messages.Errors, lossy.Messages.Lost = 4, 100
	base := Input{Load: []*loadgen.Result{
		// Medians over three runs: p99 10 ms.
		echoRate("gws", 4000, 700, 9000, 30000),
		echoRate("gws", 4000, 700, 10000, 30000),
		echoRate("gws", 4000, 700, 90000, 30000),
		broadcast("gws", 1000, 10, 60000, 1),
		echoRate("gorilla", 4000, 700, 10000, 30000),
	}}
	cur := Input{Load: []*loadgen.Result{
		echoRate("gws", 4000, 700, 11000, 30000),
		interrupted,
		lossy,
		echoClosed("gws", 30000),
	}}
	c := Compare(base, cur, DefaultThresholds)
	p99, ok := loadChange(c, "gws", "latency p99")
	if !ok || p99.Before != 10000 || p99.After != 11000 || math.Abs(p99.Change-0.1) > 1e-9 || p99.Regression {
		t.Errorf("p99 from medians, interrupted run left out: %+v", p99)
	}
	if p99.Workload != "echo 1,000 conns, 4,000 msg/s, 128 B text" || p99.BeforeText != "10.0 ms" || p99.AfterText != "11.0 ms" {
		t.Errorf("p99 change %+v", p99)
	}
	if e, ok := loadChange(c, "gws", "errors"); !ok || !math.IsInf(e.Change, 1) || e.Regression {
		t.Errorf("errors 0 → 4: %+v", e)
	}
	if l, ok := loadChange(c, "gws", "lost"); !ok || l.After != 100 {
		t.Errorf("lost: %+v", l)
	}
	if d, ok := loadChange(c, "gws", "delivery ratio"); !ok || d.Before != 1 || d.After != 0.99 || d.Regression {
		t.Errorf("delivery ratio: %+v", d)
	}
	if f, ok := loadChange(c, "gws", "fan-out p99"); ok {
		t.Errorf("unchanged fan-out p99 listed: %+v", f)
	}
	if !slices.Equal(c.LoadAdded, []LoadKey{{"gws", "echo closed loop 1,000 conns, 128 B text"}}) ||
		!slices.Equal(c.LoadRemoved, []LoadKey{{"gorilla", "echo 1,000 conns, 4,000 msg/s, 128 B text"}}) {
		t.Errorf("added %v removed %v", c.LoadAdded, c.LoadRemoved)
	}
	if len(c.Notes) != 1 || !strings.Contains(c.Notes[0], "0 in the baseline, 1 in the current") {
		t.Errorf("notes %q", c.Notes)
	}
	// Echo before broadcast, as in LoadComparison.
	if c.Load[0].Workload != p99.Workload || !strings.HasPrefix(c.Load[len(c.Load)-1].Workload, "broadcast") {
		t.Errorf("load changes out of order: %+v", c.Load)
	}

	md := renderComparison(t, compareMarkdown, c)
	testtext.Contains(t, "markdown", md,
		"No regressions (limits: new unexpected failures, p99 +20.0%, throughput -10.0%).",
		"| gws | echo 1,000 conns, 4,000 msg/s, 128 B text | latency p99 | 10.0 ms | 11.0 ms | +10.0% |",
		"| gws | broadcast to 1,000 conns, 10/s from 1 sender | errors | 0 | 4 | up from 0 |",
		"| gws | broadcast to 1,000 conns, 10/s from 1 sender | delivery ratio | 1.00000 | 0.99000 | -1.0% |",
		"Only in the current results: gws (echo closed loop 1,000 conns, 128 B text).",
		"Only in the baseline: gorilla (echo 1,000 conns, 4,000 msg/s, 128 B text).",
	)
	if strings.Contains(md, "### Conformance") {
		t.Errorf("conformance section without conformance results:\n%s", md)
	}

	c = Compare(base, Input{Load: []*loadgen.Result{echoRate("gws", 2000, 700, 30000, 30000)}}, DefaultThresholds)
	md = renderComparison(t, compareMarkdown, c)
	testtext.Contains(t, "markdown", md,
		"**2 regressions** ❌",
		"- gws echo 1,000 conns, 4,000 msg/s, 128 B text: throughput 4,000/s → 2,000/s (-50.0%, limit -10.0%)",
		"- gws echo 1,000 conns, 4,000 msg/s, 128 B text: latency p99 10.0 ms → 30.0 ms (+200.0%, limit +20.0%)",
		"| latency p99 | 10.0 ms | 30.0 ms | **+200.0%** ❌ |",
	)
	txt := renderComparison(t, compareText, c)
	if !strings.Contains(txt, "2 regressions") || strings.Count(txt, "REGRESSION") != 2 {
		t.Errorf("text:\n%s", txt)
	}
}

func TestCompareOneSided(t *testing.T) {
	conf := Input{Conformance: []results.Run{rcRun("alpha", []results.Case{rcCase("1.1.1", results.Failed, results.CloseOK, "")})}}
	load := Input{Load: []*loadgen.Result{echoRate("gws", 4000, 700, 10000, 30000)}}
	c := Compare(conf, load, DefaultThresholds)
	if c.ConformanceCompared || c.LoadCompared || len(c.Cases) > 0 || len(c.Load) > 0 || len(c.Regressions()) > 0 {
		t.Errorf("one-sided kinds compared: %+v", c)
	}
	if len(c.Notes) != 2 {
		t.Errorf("notes %q", c.Notes)
	}
	md := renderComparison(t, compareMarkdown, c)
	if strings.Contains(md, "###") || !strings.Contains(md, "conformance is not compared") || !strings.Contains(md, "load is not compared") {
		t.Errorf("markdown:\n%s", md)
	}
	if c := Compare(conf, conf, DefaultThresholds); len(c.Cases) != 0 || !strings.Contains(renderComparison(t, compareText, c), "no verdict changed") {
		t.Errorf("identical inputs: %+v", c)
	}
}

// A regression measured by a generator that fell behind is shown with
// that fact beside it, in both renderings, rather than blamed on the
// server alone.
func TestCompareLoadGeneratorLimited(t *testing.T) {
	base := echoRate("gws", 4000, 700, 10000, 30000)
	cur := echoRate("gws", 4000, 700, 20000, 30000)
	cur.Generator = &loadgen.Generator{Cores: 2, CPUCores: 1.95,
		Limited: []loadgen.Limit{{Cause: loadgen.LimitCPU, Detail: "the generator kept 1.95 of its 2 cores busy"}}}
	c := Compare(Input{Load: []*loadgen.Result{base}}, Input{Load: []*loadgen.Result{cur}}, DefaultThresholds)
	if len(c.Regressions()) == 0 {
		t.Fatal("the p99 regression is not listed")
	}
	for name, out := range map[string]string{"markdown": renderComparison(t, compareMarkdown, c), "text": renderComparison(t, compareText, c)} {
		if !strings.Contains(out, "current run: the load generator fell behind (the generator kept 1.95 of its 2 cores busy)") {
			t.Errorf("%s does not say the current run was generator-limited:\n%s", name, out)
		}
	}
	if !strings.Contains(renderComparison(t, compareText, c), "one side predates the generator's own figures") {
		t.Error("a baseline without generator figures is compared with a current run that has them, without a word")
	}
	kept := Compare(Input{Load: []*loadgen.Result{base}}, Input{Load: []*loadgen.Result{echoRate("gws", 4000, 700, 20000, 30000)}}, DefaultThresholds)
	if strings.Contains(renderComparison(t, compareText, kept), "fell behind") {
		t.Error("a run whose generator kept up is called generator-limited")
	}
}
