// Package procstat reads the CPU time and resident memory of a Linux
// process from /proc, and samples them over a run.
package procstat

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"strconv"
	"strings"
	"syscall"
)

// ClockTick is the unit of the CPU times in /proc/PID/stat, in ticks per
// second. It is the kernel's USER_HZ, which is 100 on every Linux
// architecture Go supports (sysconf(_SC_CLK_TCK) reports it, but neither
// the standard library nor golang.org/x/sys/unix exposes sysconf on
// Linux).
const ClockTick = 100

// ErrNoProcess is wrapped by errors for a process that does not exist or
// has exited (including a zombie awaiting its parent).
var ErrNoProcess = errors.New("no such process")

// Stat is a process's resource use at one moment.
type Stat struct {
	// CPUSeconds is user plus system CPU time since the process started.
	CPUSeconds float64
	// RSSBytes is the resident set size (VmRSS); 0 for a kernel thread.
	RSSBytes int64
}

// Read returns the CPU time and resident memory of process pid.
func Read(pid int) (Stat, error) {
	b, err := os.ReadFile(procPath(pid, "stat"))
	if err != nil {
		return Stat{}, readErr(pid, err)
	}
	st, err := parseStat(string(b))
	if err != nil {
		return Stat{}, fmt.Errorf("procstat: pid %d: %w", pid, err)
	}
	if st.state == 'Z' || st.state == 'X' {
		return Stat{}, fmt.Errorf("procstat: pid %d: %w (state %c: exited, not yet reaped)", pid, ErrNoProcess, st.state)
	}
	rss, _, err := statusField(pid, "VmRSS")
	if err != nil {
		return Stat{}, err
	}
	return Stat{
		CPUSeconds: float64(st.utime+st.stime) / ClockTick,
		RSSBytes:   rss,
	}, nil
}

// PeakRSS returns the peak resident set size of process pid since it
// started (VmHWM).
func PeakRSS(pid int) (int64, error) {
	v, ok, err := statusField(pid, "VmHWM")
	if err != nil {
		return 0, err
	}
	if !ok {
		return 0, fmt.Errorf("procstat: pid %d: no VmHWM in %s (kernel thread or exited)", pid, procPath(pid, "status"))
	}
	return v, nil
}

func procPath(pid int, file string) string {
	return "/proc/" + strconv.Itoa(pid) + "/" + file
}

func readErr(pid int, err error) error {
	if errors.Is(err, fs.ErrNotExist) || errors.Is(err, syscall.ESRCH) {
		return fmt.Errorf("procstat: pid %d: %w (%w)", pid, ErrNoProcess, err)
	}
	return fmt.Errorf("procstat: pid %d: %w", pid, err)
}

type statFields struct {
	state        byte
	utime, stime uint64
}

// parseStat parses the content of /proc/PID/stat. The second field, the
// command name in parentheses, may itself contain spaces and
// parentheses, so the fields are counted from after the last ')'.
func parseStat(line string) (statFields, error) {
	i := strings.LastIndexByte(line, ')')
	if i < 0 || strings.IndexByte(line[:i], '(') < 0 {
		return statFields{}, fmt.Errorf("malformed stat line %q: no (comm)", truncate(line))
	}
	// rest[0] is field 3 (state); utime and stime are fields 14 and 15.
	rest := strings.Fields(line[i+1:])
	const utimeAt, stimeAt = 14 - 3, 15 - 3
	if len(rest) <= stimeAt {
		return statFields{}, fmt.Errorf("malformed stat line %q: too few fields", truncate(line))
	}
	if c := rest[0]; len(c) != 1 || (c[0] < 'A' || c[0] > 'Z') && (c[0] < 'a' || c[0] > 'z') {
		return statFields{}, fmt.Errorf("malformed stat line: state %q", c)
	}
	ut, err := strconv.ParseUint(rest[utimeAt], 10, 64)
	if err != nil {
		return statFields{}, fmt.Errorf("malformed stat line: utime %q", rest[utimeAt])
	}
	stt, err := strconv.ParseUint(rest[stimeAt], 10, 64)
	if err != nil {
		return statFields{}, fmt.Errorf("malformed stat line: stime %q", rest[stimeAt])
	}
	return statFields{state: rest[0][0], utime: ut, stime: stt}, nil
}

func truncate(s string) string {
	s = strings.TrimSpace(s)
	if len(s) > 80 {
		return s[:80] + "..."
	}
	return s
}

// statusField returns a "kB" field of /proc/PID/status in bytes; ok is
// false when the field is absent.
func statusField(pid int, key string) (v int64, ok bool, err error) {
	b, err := os.ReadFile(procPath(pid, "status"))
	if err != nil {
		return 0, false, readErr(pid, err)
	}
	return parseStatusField(string(b), key)
}

func parseStatusField(status, key string) (int64, bool, error) {
	for line := range strings.Lines(status) {
		name, rest, found := strings.Cut(line, ":")
		if !found || name != key {
			continue
		}
		f := strings.Fields(rest)
		if len(f) == 0 {
			return 0, false, fmt.Errorf("procstat: status %s: no value", key)
		}
		n, err := strconv.ParseInt(f[0], 10, 64)
		if err != nil || n < 0 {
			return 0, false, fmt.Errorf("procstat: status %s: bad value %q", key, f[0])
		}
		if len(f) > 1 && f[1] == "kB" {
			n *= 1024
		}
		return n, true, nil
	}
	return 0, false, nil
}

// ResetPeak restarts a process's peak-RSS counter (VmHWM) at its current
// RSS, so PeakRSS covers only what follows (Linux ≥ 4.0, own processes).
func ResetPeak(pid int) error {
	if err := os.WriteFile(procPath(pid, "clear_refs"), []byte("5"), 0); err != nil {
		return readErr(pid, err)
	}
	return nil
}
