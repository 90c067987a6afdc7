package reports

import (
	"bytes"
	"fmt"
	"io"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"
	"unicode/utf8"

	"github.com/wsharness/wsharness/internal/numtext"
	"github.com/wsharness/wsharness/loadgen"
)

// Text is the report as plain text, summary.txt.
var Text = Format{Name: "text", File: "summary.txt", Printed: true, Write: writeText, Comparison: compareText}

// writeText renders everything in the input as plain text, under the
// title if there is one: each conformance run's summary (see
// ConformanceSummary), then one compact table of the load results, a row
// per workload and target.
func writeText(w io.Writer, in Input, opts Options) error {
	var b bytes.Buffer
	if opts.Title != "" {
		fmt.Fprintf(&b, "%s\n%s\n\n", opts.Title, strings.Repeat("=", utf8.RuneCountInString(opts.Title)))
	}
	for i, run := range in.Conformance {
		if i > 0 {
			b.WriteString("\n")
		}
		fmt.Fprintf(&b, "Conformance%s: %s\n\n", runOrdinal(i, len(in.Conformance)), runHeadline(run.Started, run.DurationMS, len(run.Targets), run.Seed))
		b.Write(ConformanceSummary(run))
	}
	if len(in.Load) > 0 {
		if len(in.Conformance) > 0 {
			b.WriteString("\n")
		}
		b.WriteString("Load\n\n")
		b.Write(LoadText(in.Load))
	}
	if len(in.Conformance) == 0 && len(in.Load) == 0 {
		b.WriteString("No results.\n")
	}
	if len(in.Sources) > 0 {
		fmt.Fprintf(&b, "\nRead from: %s\n", joinMax(in.Sources, 20))
	}
	_, err := w.Write(b.Bytes())
	return err
}

// LoadText renders load results as a compact text table: a row per
// workload and target with the median, over that target's runs of the
// workload, of the headline figures (throughput, the primary latency's
// p50, p99 and p99.9, errors, lost messages, the delivery ratio) and the
// generator's own figures, and whether the generator fell behind.
// Interrupted runs are left out, as in LoadComparison.
func LoadText(results []*loadgen.Result) []byte {
	table := tabulate(results)
	if len(table.workloads) == 0 {
		return table.empty()
	}
	var b bytes.Buffer
	withGenerator := hasGenerator(table.runs)
	var limited []string
	tw := tabwriter.NewWriter(&b, 0, 0, 2, ' ', 0)
	header := []string{"workload", "target", "runs"}
	for _, f := range headlineFigures {
		if f == figPrimaryP50 {
			header = append(header, "latency")
		}
		header = append(header, f.name)
	}
	if withGenerator {
		for _, f := range generatorFigures {
			header = append(header, strings.Replace(f.name, "generator ", "gen ", 1))
		}
		header = append(header, "generator")
	}
	fmt.Fprintln(tw, strings.Join(header, "\t"))
	for _, w := range table.workloads {
		for _, t := range w.targets {
			row := []string{w.label, t.target, strconv.Itoa(len(t.runs))}
			for _, f := range headlineFigures {
				if f == figPrimaryP50 { // the latency the percentiles are of
					name := "-"
					if primary, _, ok := w.first.Primary(); ok {
						name = primary.Name
					}
					row = append(row, name)
				}
				row = append(row, t.cell(f).or("-"))
			}
			if withGenerator {
				for _, f := range generatorFigures {
					row = append(row, t.cell(f).or("-"))
				}
				row = append(row, limitedCell(t.runs, "-"))
			}
			for _, line := range limitedLines(w.label, t.target, t.runs) {
				limited = append(limited, "  "+line+"\n")
			}
			fmt.Fprintln(tw, strings.Join(row, "\t"))
		}
	}
	_ = tw.Flush()
	if len(limited) > 0 {
		fmt.Fprintf(&b, "\nGenerator-limited runs: the load generator fell behind; %s.\n", GeneratorLimitedMeaning)
		b.WriteString(strings.Join(limited, ""))
	}
	b.WriteString("\nMedians over each target's runs of a workload (percentiles: the median of the runs' own percentiles). " +
		"The latency columns are the workload's primary figure, named in the latency column.")
	if note := measuresNote(table.workloads); note != "" {
		b.WriteString(" " + note)
	}
	if withGenerator {
		b.WriteString(" " + generatorNote)
	}
	if note := table.interruptedNote(); note != "" {
		b.WriteString(" " + note)
	}
	b.WriteString("\n")
	return b.Bytes()
}

// runOrdinal is " 2 of 3" when there are several runs, else "".
func runOrdinal(i, n int) string {
	if n < 2 {
		return ""
	}
	return fmt.Sprintf(" run %d of %d", i+1, n)
}

// runHeadline describes a conformance run in one line.
func runHeadline(started time.Time, durationMS int64, targets int, seed string) string {
	var parts []string
	if !started.IsZero() {
		parts = append(parts, "started "+started.UTC().Format("2006-01-02 15:04:05 UTC"))
	}
	if durationMS > 0 {
		parts = append(parts, "took "+(time.Duration(durationMS)*time.Millisecond).Round(100*time.Millisecond).String())
	}
	parts = append(parts, numtext.Plural(targets, "target"))
	if seed != "" {
		parts = append(parts, "seed "+seed)
	}
	return strings.Join(parts, ", ")
}

// joinMax joins items with commas, cutting long lists.
func joinMax(items []string, most int) string {
	if len(items) <= most {
		return strings.Join(items, ", ")
	}
	return strings.Join(items[:most], ", ") + fmt.Sprintf(", … (+%d more)", len(items)-most)
}
