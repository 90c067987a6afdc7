package reports

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/wsharness/wsharness/internal/jsonpos"
	"github.com/wsharness/wsharness/loadgen"
	"github.com/wsharness/wsharness/results"
)

// Input is everything a report is made from: conformance runs and load
// results, as read from their JSON files.
type Input struct {
	Conformance []results.Run
	Load        []*loadgen.Result
	// Sources lists the files read, in order, for the report's footer.
	Sources []string
	// unreadable lists the files of a directory that were skipped as not
	// JSON, with why, for the error when nothing else was found.
	unreadable []string
}

// ReadInput reads result files. A path may be a file or a directory (its
// *.json files, recursively one level: out/bench/, out/conformance/). Files
// are told apart by their "schema" field; JSON files with another schema
// are skipped when found in a directory and rejected when named directly.
func ReadInput(paths []string) (Input, error) {
	var in Input
	for _, p := range paths {
		st, err := os.Stat(p)
		if err != nil {
			return Input{}, fmt.Errorf("read results: %w", err)
		}
		if !st.IsDir() {
			if err := in.add(p, true); err != nil {
				return Input{}, err
			}
			continue
		}
		files, err := filepath.Glob(filepath.Join(p, "*.json"))
		if err != nil {
			return Input{}, fmt.Errorf("list %s: %w", p, err)
		}
		sub, _ := filepath.Glob(filepath.Join(p, "*", "*.json"))
		files = append(files, sub...)
		sort.Strings(files)
		for _, f := range files {
			if err := in.add(f, false); err != nil {
				return Input{}, err
			}
		}
	}
	if len(in.Conformance) == 0 && len(in.Load) == 0 {
		var skipped string
		if len(in.unreadable) > 0 {
			skipped = "; skipped as not JSON: " + strings.Join(in.unreadable, ", ")
		}
		return Input{}, fmt.Errorf("no wsharness results in %s (want %s or %s JSON files)%s", strings.Join(paths, ", "), results.Schema, loadgen.Schema, skipped)
	}
	return in, nil
}

func (in *Input) add(path string, strict bool) error {
	b, err := os.ReadFile(path)
	if err != nil {
		return fmt.Errorf("read results: %w", err)
	}
	var head struct {
		Schema string `json:"schema"`
	}
	if err := json.Unmarshal(b, &head); err != nil {
		err = jsonpos.Annotate(b, err)
		if strict {
			return fmt.Errorf("%s: not a results file: invalid JSON: %w", path, err)
		}
		in.unreadable = append(in.unreadable, fmt.Sprintf("%s (%v)", path, err))
		return nil
	}
	switch head.Schema {
	case results.Schema:
		run, err := results.Unmarshal(b)
		if err != nil {
			return fmt.Errorf("%s: %w", path, err)
		}
		in.Conformance = append(in.Conformance, run)
	case loadgen.Schema:
		r, err := loadgen.ReadFile(path)
		if err != nil {
			return err
		}
		in.Load = append(in.Load, r)
	default:
		if strict {
			return fmt.Errorf("%s: schema %q is not %s or %s", path, head.Schema, results.Schema, loadgen.Schema)
		}
		return nil
	}
	in.Sources = append(in.Sources, path)
	return nil
}
