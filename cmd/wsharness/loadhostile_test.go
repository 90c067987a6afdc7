package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/wsharness/wsharness/internal/hostile"
	"github.com/wsharness/wsharness/loadgen"
)

// wsharness load against the hostile servers of internal/hostile ends on
// time, prints the failures and drops by kind, writes its result, and exits
// 0 when connections were made (errors are figures; a threshold turns them
// into exit 4) and 3 when none was.
func TestLoadAgainstHostileServers(t *testing.T) {
	for _, tc := range []struct {
		behaviour string
		extra     []string
		code      int
		stdout    string // in the summary
		kinds     map[string]int
		drops     bool // kinds are drops, else dial failures
	}{
		{"garbage", nil, exitOK, "5 dropped (protocol 5)", map[string]int{loadgen.FailProtocol: 5}, true},
		{"garbage", []string{"--threshold", "errors==0"}, exitThreshold, "errors==0", map[string]int{loadgen.FailProtocol: 5}, true},
		{"silent", nil, exitUnreachable, "5 failed (timeout 5)", map[string]int{loadgen.FailTimeout: 5}, false},
		{"malformed-101", nil, exitUnreachable, "5 failed (bad_handshake 5)", map[string]int{loadgen.FailBadHandshake: 5}, false},
	} {
		t.Run(tc.behaviour+strings.Join(tc.extra, ""), func(t *testing.T) {
			srv := hostile.StartForTest(t, tc.behaviour)
			out := filepath.Join(t.TempDir(), "load.json")
			args := append([]string{"load", "--url", srv.URL(), "--conns", "5", "--rate", "50", "--duration", "1s",
				"--warmup", "0s", "--ramp", "0", "--drain", "500ms", "--dial-timeout", "1s", "--quiet", "--out", out}, tc.extra...)
			start := time.Now()
			code, stdout, stderr := runCLI(args...)
			elapsed := time.Since(start)
			t.Logf("OBSERVED exit %d in %v\n%s%s", code, elapsed, stdout, stderr)
			// dial timeout, duration, a blocked write, drain, close, margin
			if bound := 1*time.Second + time.Second + time.Second + 500*time.Millisecond + time.Second + 5*time.Second; elapsed > bound {
				t.Errorf("took %v, more than %v", elapsed, bound)
			}
			if code != tc.code {
				t.Errorf("exit %d, want %d", code, tc.code)
			}
			if tc.code == exitOK && stderr != "" {
				t.Errorf("stderr %q, want nothing", stderr)
			}
			if tc.code != exitOK && strings.Count(stderr, "\n") != 1 {
				t.Errorf("stderr %q: want the reason on one line", stderr)
			}
			if !strings.Contains(stdout, tc.stdout) {
				t.Errorf("summary lacks %q:\n%s", tc.stdout, stdout)
			}
			if _, err := os.Stat(out); err != nil {
				t.Fatalf("no result written: %v", err)
			}
			r, err := loadgen.ReadFile(out)
			if err != nil {
				t.Fatal(err)
			}
			got := r.Connections.Failures
			if tc.drops {
				got = r.Connections.Drops
			}
			if len(got) != len(tc.kinds) || got[firstKey(tc.kinds)] != tc.kinds[firstKey(tc.kinds)] {
				t.Errorf("result: failures %v, drops %v; want %v as %s", r.Connections.Failures, r.Connections.Drops, tc.kinds,
					map[bool]string{true: "drops", false: "dial failures"}[tc.drops])
			}
		})
	}
}

func firstKey(m map[string]int) string {
	for k := range m {
		return k
	}
	return ""
}
