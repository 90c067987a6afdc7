// Package testhog keeps every core busy while a test runs, as a loaded CI
// machine would be, for the proofs that must hold under load.
package testhog

import (
	"os/exec"
	"runtime"
	"syscall"
	"testing"
)

// Start runs one spinning process per core until the test ends. Each
// process also ends by itself after two minutes, should the test binary
// be killed before its cleanup runs.
func Start(t testing.TB) {
	t.Helper()
	for range runtime.NumCPU() {
		cmd := exec.Command("timeout", "120", "sh", "-c", "while :; do :; done")
		// A group of its own, so that the cleanup ends the shell too and
		// not only timeout.
		cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
		if err := cmd.Start(); err != nil {
			t.Fatalf("start a CPU hog: %v", err)
		}
		t.Cleanup(func() { _ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL); _ = cmd.Wait() })
	}
}
