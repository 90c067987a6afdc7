package cases

import (
	"bytes"
	"flag"
	"os"
	"path/filepath"
	"testing"
)

var update = flag.Bool("update", false, "rewrite docs/cases.md and the marked counts of the docs from the catalog (make docs)")

// casesDocPath is docs/cases.md, from this package's directory.
var casesDocPath = filepath.Join("..", "..", "docs", "cases.md")

// TestCasesDocIsCurrent holds the checked-in docs/cases.md to what
// WriteMarkdown writes from the catalog; -update (make docs) rewrites it.
func TestCasesDocIsCurrent(t *testing.T) {
	var want bytes.Buffer
	if err := WriteMarkdown(&want); err != nil {
		t.Fatal(err)
	}
	if *update {
		if err := os.WriteFile(casesDocPath, want.Bytes(), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	got, err := os.ReadFile(casesDocPath)
	if err != nil {
		t.Fatalf("%v: run make docs to write it", err)
	}
	if !bytes.Equal(got, want.Bytes()) {
		t.Fatalf("%s is stale: the catalog or conformance/cases/cases.md.tmpl changed since it was written; run make docs "+
			"(go test ./conformance/cases -run TestCasesDocIsCurrent -update) and commit it", casesDocPath)
	}
}
