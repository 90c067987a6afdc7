package reports

import (
	"testing"

	"github.com/wsharness/wsharness/results"
)

// render returns what f writes for in, its tables checked when it is
// Markdown.
func render(t *testing.T, f Format, in Input) string {
	t.Helper()
	b, err := f.Render(in, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if f.Name == Markdown.Name {
		mdTableLines(t, string(b))
	}
	return string(b)
}

// renderComparison returns what f writes for c, its tables checked when
// it is Markdown.
func renderComparison(t *testing.T, f ComparisonFormat, c Comparison) string {
	t.Helper()
	b, err := f.Render(c)
	if err != nil {
		t.Fatal(err)
	}
	if f.File == compareMarkdown.File {
		mdTableLines(t, string(b))
	}
	return string(b)
}

// renderings renders a conformance run in each of formats, by name, and
// as the CLI prints its summary ("summary").
func renderings(t *testing.T, run results.Run, formats ...Format) map[string]string {
	t.Helper()
	out := map[string]string{"summary": string(ConformanceSummary(run))}
	for _, f := range formats {
		out[f.Name] = render(t, f, Input{Conformance: []results.Run{run}})
	}
	return out
}
