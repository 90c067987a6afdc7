// Package testhog keeps every core busy while a test runs, as a loaded CI
// machine would be, for the proofs that must hold under load.
package testhog

import (
	"context"
	"os/exec"
	"runtime"
	"testing"

	"github.com/wsharness/wsharness/internal/procgroup"
)

// Start runs one spinning process per core until the test ends. Each
// process also ends by itself after two minutes, should the test binary
// be killed before its cleanup runs.
func Start(t testing.TB) {
	t.Helper()
	for range runtime.NumCPU() {
		// A group of its own, so that the cleanup ends the shell too and
		// not only timeout.
		hog, err := procgroup.Start(exec.Command("timeout", "120", "sh", "-c", "while :; do :; done"))
		if err != nil {
			t.Fatalf("start a CPU hog: %v", err)
		}
		t.Cleanup(func() { hog.Stop(context.Background(), 0) })
	}
}
