package reports

import (
	"bytes"
	"fmt"
	"math"
	"slices"
	"strings"

	"github.com/wsharness/wsharness/internal/numtext"
	"github.com/wsharness/wsharness/loadgen"
)

// LoadComparison renders load results as one Markdown table: a section per
// workload (scenario and its parameters, see ScenarioLabel), a row per
// metric and a column per target. Each cell is the median over the runs of
// that target and workload of the figure each run reported; for a
// percentile that is the median of the runs' own percentiles; percentiles
// are never averaged. With an even number of runs the median is the lower
// of the two middle values, so a cell always shows a value some run
// measured. Interrupted runs are left out; a cell whose figure is missing
// from some of its runs says on how many it rests. A workload a target has
// no result for shows "—".
func LoadComparison(results []*loadgen.Result) []byte {
	table := tabulate(results)
	if len(table.workloads) == 0 {
		return table.empty()
	}
	var b bytes.Buffer
	var targets []string // columns, in the order first read
	for _, r := range table.runs {
		if !slices.Contains(targets, r.Target) {
			targets = append(targets, r.Target)
		}
	}

	b.WriteString("| workload | metric |")
	for _, t := range targets {
		fmt.Fprintf(&b, " %s |", mdEscape(t))
	}
	b.WriteString("\n|---|---|")
	for range targets {
		b.WriteString("--:|")
	}
	b.WriteString("\n")
	minRuns, maxRuns := math.MaxInt, 0
	var limited []string // the note under the table, a line per generator-limited run
	for _, w := range table.workloads {
		workload := "**" + mdEscape(w.label) + "**"
		if slices.ContainsFunc(w.runs(), (*loadgen.Result).GeneratorLimited) {
			// First, so that nobody reads the figures below without it.
			fmt.Fprintf(&b, "| %s | %s |", workload, generatorLimitedMark)
			workload = ""
			for _, t := range targets {
				var runs []*loadgen.Result
				if tr := w.runsOf(t); tr != nil {
					runs = tr.runs
				}
				fmt.Fprintf(&b, " %s |", limitedCell(runs, "—"))
				for _, line := range limitedLines(w.label, t, runs) {
					limited = append(limited, "- "+mdText(line)+"\n")
				}
			}
			b.WriteString("\n")
		}
		for _, tr := range w.targets {
			minRuns, maxRuns = min(minRuns, len(tr.runs)), max(maxRuns, len(tr.runs))
		}
		for _, row := range workloadRows(w) {
			fmt.Fprintf(&b, "| %s | %s |", workload, row.name)
			workload = ""
			for _, t := range targets {
				c := w.runsOf(t).cell(row.fig)
				if c.ok && c.of < c.runs {
					c.text += fmt.Sprintf(" (%d of %d runs)", c.of, c.runs)
				}
				fmt.Fprintf(&b, " %s |", c.or("—"))
			}
			b.WriteString("\n")
		}
	}
	if len(limited) > 0 {
		fmt.Fprintf(&b, "\n%s runs: the load generator fell behind; %s.\n\n", generatorLimitedMark, GeneratorLimitedMeaning)
		b.WriteString(strings.Join(limited, ""))
	}
	upTo := ""
	if minRuns < maxRuns {
		upTo = "up to "
	}
	fmt.Fprintf(&b, "\nMedians over %s%s per target and workload: each cell is the median of the figure each run reported "+
		"(for percentiles, the median of the runs' own percentiles; percentiles are never averaged; "+
		"with an even number of runs, the lower middle value).", upTo, numtext.Plural(maxRuns, "run"))
	if note := table.interruptedNote(); note != "" {
		b.WriteString(" " + note)
	}
	if note := measuresNote(table.workloads); note != "" {
		b.WriteString(" " + note)
	}
	if hasGenerator(table.runs) {
		b.WriteString(" " + generatorNote)
	}
	b.WriteString(" Server CPU, peak RSS and client KiB/conn cover the whole run " +
		"(connecting, warm-up, measurement, drain); client µs CPU/message is the generator's CPU time in the measured " +
		"window divided by the messages it sent and received in that window. Connections/s is the rate " +
		"achieved during the ramp: connections made divided by the time from the first attempt to the last success.\n")
	return b.Bytes()
}

// workloadRow is a row of a workload's section: a figure under the name
// the section gives it.
type workloadRow struct {
	name string
	fig  *loadFigure
}

// workloadRows lists the rows of a workload's section: its primary
// figure (loadgen's) and what else its kind reports, then the generator's
// own figures that some of its runs carry.
func workloadRows(w *loadWorkload) []workloadRow {
	kind := w.first.Kind()
	throughput := "throughput (replies)" // named by what it counts
	var figs []*loadFigure
	switch kind {
	case loadgen.KindEchoRate:
		figs = []*loadFigure{figThroughput, figPrimaryP50, figPrimaryP99, figPrimaryP999, figLostErrors}
	case loadgen.KindEchoClosed:
		figs = []*loadFigure{figThroughput, figPrimaryP50, figPrimaryP99, figLostErrors}
	case loadgen.KindBroadcast:
		throughput = "deliveries"
		figs = []*loadFigure{figThroughput, figPrimaryP50, figPrimaryP99, figPrimaryMax, figCompletionP99, figDelivery}
	case loadgen.KindConnect:
		figs = []*loadFigure{figEstablished, figPrimaryP50, figPrimaryP99, figConnectRate}
	}
	if w.first.Params.OverH2() {
		figs = append(figs, figTCP)
	}
	figs = append(figs, figServerCPU, figServerRSS, figClientKiBPerConn)
	if kind != loadgen.KindConnect {
		figs = append(figs, figClientCPUPerMessage)
		// Only the generator figures some run has: a closed loop, which
		// has no schedule to lag behind, has no lag rows.
		runs := w.runs()
		for _, f := range generatorFigures {
			if slices.ContainsFunc(runs, func(r *loadgen.Result) bool { _, ok := f.of(r); return ok }) {
				figs = append(figs, f)
			}
		}
	}
	rows := make([]workloadRow, len(figs))
	for i, f := range figs {
		rows[i] = workloadRow{f.nameFor(w.first), f}
		if f == figThroughput {
			rows[i].name = throughput
		}
	}
	return rows
}

func mdEscape(s string) string { return strings.ReplaceAll(s, "|", `\|`) }
