package cases_test

import (
	"context"
	"strings"
	"testing"

	"github.com/wsharness/wsharness/suites/cases"
)

func TestTmpDump(t *testing.T) {
	for _, row := range defectRows {
		srv := startServer(t, row.defects)
		sel := selectCases(cases.All(), row.run)
		got := runAll(context.Background(), srv.URL(), sel, make(chan struct{}, 48))
		must := map[string]bool{}
		for _, id := range row.mustFail {
			must[id] = true
		}
		for _, r := range got {
			lines := strings.Split(r.Observed, "\n")
			first := lines[0]
			if len(lines) > 1 && strings.HasPrefix(first, "RFC") {
				first = lines[2]
			}
			if len(first) > 150 {
				first = first[:150]
			}
			mark := " "
			if must[r.ID] {
				mark = "*"
			}
			if r.Failing() || must[r.ID] {
				t.Logf("%-28s %s %-7s %-9s %-10s %s", row.name, mark, r.ID, r.Verdict, r.CloseVerdict, first)
			}
		}
	}
}
