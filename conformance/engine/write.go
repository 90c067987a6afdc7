package engine

import (
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/wsharness/wsharness/reports"
	"github.com/wsharness/wsharness/results"
)

// ResultsFile is the name of a run's results; the reports beside it are
// named by their formats.
const ResultsFile = "results.json"

// The reports WriteFiles writes beside the results, and their names.
var (
	runReports = []reports.Format{reports.JUnit, reports.HTML}
	JUnitFile  = reports.JUnit.File
	ReportFile = reports.HTML.File
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
	if err := os.WriteFile(filepath.Join(dir, ResultsFile), b, 0o644); err != nil {
		return fmt.Errorf("write %s: %w", ResultsFile, err)
	}
	in := reports.Input{Conformance: []results.Run{run}}
	opts := reports.Options{Title: "wsharness conformance", Generated: time.Now()}
	for _, f := range runReports {
		if _, err := f.WriteFile(dir, in, opts); err != nil {
			return err
		}
	}
	return nil
}
