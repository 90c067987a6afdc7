package engine

import (
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/wsharness/wsharness/reports"
	"github.com/wsharness/wsharness/results"
)

// Files are the names of what WriteFiles writes.
const (
	ResultsFile = "results.json"
	JUnitFile   = "junit.xml"
	ReportFile  = "index.html"
)

// WriteFiles writes a run's results.json, junit.xml and index.html into
// dir, creating it.
func WriteFiles(dir string, run results.Run) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("results directory: %w", err)
	}
	b, err := results.Marshal(run)
	if err != nil {
		return err
	}
	j, err := reports.JUnit(run)
	if err != nil {
		return err
	}
	h, err := reports.HTML(reports.Input{Conformance: []results.Run{run}}, reports.HTMLOptions{Title: "wsharness conformance", Generated: time.Now()})
	if err != nil {
		return err
	}
	for _, f := range []struct {
		name string
		data []byte
	}{{ResultsFile, b}, {JUnitFile, j}, {ReportFile, h}} {
		if err := os.WriteFile(filepath.Join(dir, f.name), f.data, 0o644); err != nil {
			return fmt.Errorf("write %s: %w", f.name, err)
		}
	}
	return nil
}
