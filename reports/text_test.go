package reports

import (
	"slices"
	"strings"
	"testing"

	"github.com/wsharness/wsharness/internal/numtext"
	"github.com/wsharness/wsharness/internal/testtext"
	"github.com/wsharness/wsharness/loadgen"
	"github.com/wsharness/wsharness/results"
)

func TestTextReusesConformanceSummary(t *testing.T) {
	run := rcRun("alpha", []results.Case{
		rcCase("1.1.1", results.OK, results.CloseOK, ""),
		rcCase("1.1.2", results.Failed, results.CloseOK, ""),
	})
	txt := render(t, Text, Input{Conformance: []results.Run{run, run}, Sources: []string{"a.json", "b.json"}})
	if !strings.Contains(txt, string(ConformanceSummary(run))) {
		t.Errorf("conformance summary not included:\n%s", txt)
	}
	testtext.Contains(t, "text", txt, "Conformance run 1 of 2: started 2026-01-02 03:04:05 UTC", "Conformance run 2 of 2", "Read from: a.json, b.json")
	if strings.Contains(txt, "Load") {
		t.Errorf("load section without load results:\n%s", txt)
	}
}

// textRow returns the fields of the line of the load text table that
// starts with workload and has target as its next column.
func textRow(t *testing.T, txt, workload, target string) []string {
	t.Helper()
	for line := range strings.Lines(txt) {
		if rest, ok := strings.CutPrefix(line, workload); ok {
			f := strings.Fields(rest)
			if len(f) > 0 && f[0] == target {
				return f
			}
		}
	}
	t.Fatalf("no row for %s %s in\n%s", workload, target, txt)
	return nil
}

func TestLoadText(t *testing.T) {
	interrupted := echoRate("gws", 1, 1, 1, 1)
	interrupted.Interrupted = true
	lossy := broadcast("gorilla", 1000, 10, 60000, 0.999)
	lossy.Messages.Lost, lossy.Messages.Errors = 100, 3
	txt := render(t, Text, Input{Load: []*loadgen.Result{
		connect("gws", nil),
		lossy,
		echoRate("gws", 4000, 700, 10000, 30000),
		echoRate("gws", 3990, 900, 60000, 90000),
		echoRate("gws", 4001, 800, 20000, 50000),
		interrupted,
		echoClosed("gws", 30000),
	}})
	echo := textRow(t, txt, "echo 1,000 conns, 4,000 msg/s, 128 B text", "gws")
	// Medians over the three finished runs; the interrupted one left out.
	if want := []string{"gws", "3", "4,000/s", "latency", "800", "µs", "20.0", "ms", "50.0", "ms", "0", "0", "-"}; strings.Join(echo, " ") != strings.Join(want, " ") {
		t.Errorf("echo row %q, want %q", echo, want)
	}
	closed := textRow(t, txt, "echo closed loop 1,000 conns, 128 B text", "gws")
	if closed[3] != "service" || closed[5] != "60.0" {
		t.Errorf("closed-loop row %q: want service time 60.0 ms", closed)
	}
	bc := textRow(t, txt, "broadcast to 1,000 conns, 10/s from 1 sender", "gorilla")
	if want := "gorilla 1 10,000/s fan-out 30.0 ms 60.0 ms 0 µs 3 100 0.99900"; strings.Join(bc, " ") != want {
		t.Errorf("broadcast row %q, want %q", strings.Join(bc, " "), want)
	}
	conn := textRow(t, txt, "connect 10,000 conns at 2,000/s, hold 5s", "gws")
	if conn[2] != "-" || conn[3] != "connect" || conn[len(conn)-1] != "-" {
		t.Errorf("connect row %q", conn)
	}
	// Rows in LoadComparison's workload order.
	if i, j, k := strings.Index(txt, "echo 1,000"), strings.Index(txt, "echo closed"), strings.Index(txt, "broadcast to"); !(i < j && j < k && k < strings.Index(txt, "connect 10,000")) {
		t.Errorf("workloads out of order:\n%s", txt)
	}
}

func TestLoadTextGenerator(t *testing.T) {
	w := "echo 1,000 conns, 4,000 msg/s, 128 B text"
	txt := string(LoadText([]*loadgen.Result{
		withGenerator(echoRate("gws", 4000, 700, 10000, 30000), 300, 1.95, cpuLimit, schedLimit),
		withGenerator(echoRate("gorilla", 4000, 500, 1000, 4000), 200, 0.8),
		broadcast("gws", 1000, 10, 60000, 1), // written before the generator reported on itself
	}))
	if !strings.Contains(txt, "gen lag p50  gen lag p99  gen CPU (cores)  gen late sends  generator") {
		t.Errorf("no generator columns:\n%s", txt)
	}
	for target, want := range map[string]string{
		"gws":     "75 µs 300 µs 1.95 3 ⚠ generator-limited",
		"gorilla": "50 µs 200 µs 0.80 2 no",
	} {
		if got := strings.Join(textRow(t, txt, w, target), " "); !strings.HasSuffix(got, want) {
			t.Errorf("%s row %q, want it to end %q", target, got, want)
		}
	}
	if got := strings.Join(textRow(t, txt, "broadcast to 1,000 conns, 10/s from 1 sender", "gws"), " "); !strings.HasSuffix(got, "1.00000 - - - - -") {
		t.Errorf("broadcast without a generator section: %q", got)
	}
	want := "Generator-limited runs: the load generator fell behind; the figures may describe the generator rather than the server.\n" +
		"  " + w + ", gws: " + cpuLimit.Detail + "; " + schedLimit.Detail + ".\n"
	if !strings.Contains(txt, want) {
		t.Errorf("the limited run and its details not listed (want %q):\n%s", want, txt)
	}
	if strings.Contains(txt, ", gorilla:") {
		t.Errorf("a run that kept up listed as generator-limited:\n%s", txt)
	}
	old := string(LoadText([]*loadgen.Result{echoRate("gws", 4000, 700, 10000, 30000)}))
	if strings.Contains(old, "gen lag") || strings.Contains(old, "enerator-limited") || strings.Contains(old, "Generator lag") {
		t.Errorf("a result without a generator section:\n%s", old)
	}
}

// The text table takes each workload's primary figure and the order of
// the workloads from loadgen.
func TestLoadTextFollowsLoadgen(t *testing.T) {
	rs := kindResults()
	txt := string(LoadText(rs))
	last := -1
	for _, r := range slices.SortedFunc(slices.Values(rs), loadgen.Compare) {
		label := ScenarioLabel(r)
		if i := strings.Index(txt, label); i < last {
			t.Errorf("%s out of loadgen's order:\n%s", label, txt)
		} else {
			last = i
		}
		f, p, ok := r.Primary()
		if !ok {
			continue
		}
		want := f.Name + " " + numtext.Micros(float64(p.P50)) + " " + numtext.Micros(float64(p.P99))
		if got := strings.Join(textRow(t, txt, label, "gws"), " "); !strings.Contains(got, want) {
			t.Errorf("%s row %q lacks its primary figure %q", label, got, want)
		}
	}
}
