// Package reports renders results for people and for CI: the formats
// of Formats (an HTML page, Markdown, text, JUnit XML), each a pure
// function of the results read by ReadInput, and the comparison with a
// baseline (Compare).
package reports

import (
	"bytes"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"
)

// A Format is one kind of report: the function that writes it and what
// names it. Formats is the table of them; a new format is a file with
// its Write function and a Format, and one line in Formats.
type Format struct {
	// Name selects it: wsharness report --format NAME.
	Name string
	// File is its name in an output directory.
	File string
	// Help says in a few words what it is for, in --format's help.
	Help string
	// Printed formats go to standard output unless a directory is asked
	// for; the others (a page) are always written to a directory.
	Printed bool
	// Write renders the input. It never reads the clock (see
	// Options.Generated): the same input and options give the same bytes.
	Write func(w io.Writer, in Input, opts Options) error
	// Comparison renders a comparison with a baseline to go beside the
	// report; its zero value when the format has none.
	Comparison ComparisonFormat
}

// ComparisonFormat is how a Format shows a Comparison.
type ComparisonFormat struct {
	// File is its name beside the report's.
	File  string
	Write func(w io.Writer, c Comparison) error
}

// Options set what a report says about itself.
type Options struct {
	// Title heads the report: DefaultTitle when empty in HTML, no heading
	// in the other formats.
	Title string
	// Generated is printed as the report's time (HTML).
	Generated time.Time
}

// DefaultTitle heads an HTML report given no title.
const DefaultTitle = "wsharness report"

// Formats lists every report format; the first is the default.
var Formats = []Format{HTML, Markdown, Text, JUnit}

// FormatNamed returns the format called name; the error lists the names
// there are.
func FormatNamed(name string) (Format, error) {
	for _, f := range Formats {
		if f.Name == name {
			return f, nil
		}
	}
	return Format{}, fmt.Errorf("want %s", FormatList(" or ", func(f Format) string { return f.Name }))
}

// FormatList joins what say says of each format, leaving out "", as a
// sentence does, with last before the last one: "html, markdown or text".
func FormatList(last string, say func(Format) string) string {
	var items []string
	for _, f := range Formats {
		if s := say(f); s != "" {
			items = append(items, s)
		}
	}
	if len(items) < 2 {
		return strings.Join(items, "")
	}
	return strings.Join(items[:len(items)-1], ", ") + last + items[len(items)-1]
}

// Render returns the report as bytes.
func (f Format) Render(in Input, opts Options) ([]byte, error) {
	var b bytes.Buffer
	if err := f.Write(&b, in, opts); err != nil {
		return nil, fmt.Errorf("render %s: %w", f.Name, err)
	}
	return b.Bytes(), nil
}

// WriteFile writes the report into dir as f.File and returns its path.
func (f Format) WriteFile(dir string, in Input, opts Options) (string, error) {
	b, err := f.Render(in, opts)
	if err != nil {
		return "", err
	}
	return writeFile(dir, f.File, b)
}

// Render returns the comparison as bytes.
func (f ComparisonFormat) Render(c Comparison) ([]byte, error) {
	var b bytes.Buffer
	if err := f.Write(&b, c); err != nil {
		return nil, fmt.Errorf("render comparison: %w", err)
	}
	return b.Bytes(), nil
}

func writeFile(dir, name string, b []byte) (string, error) {
	path := filepath.Join(dir, name)
	if err := os.WriteFile(path, b, 0o644); err != nil {
		return "", fmt.Errorf("write %s: %w", name, err)
	}
	return path, nil
}
