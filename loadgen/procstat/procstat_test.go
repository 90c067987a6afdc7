package procstat

import (
	"errors"
	"os"
	"os/exec"
	"runtime"
	"runtime/debug"
	"strconv"
	"strings"
	"testing"
	"time"
)

// missingPID is above PID_MAX_LIMIT (2^22), so no process has it.
const missingPID = 1 << 30

func linuxOnly(t *testing.T) {
	t.Helper()
	if runtime.GOOS != "linux" {
		t.Skip("needs Linux /proc")
	}
}

func TestParseStat(t *testing.T) {
	tail := " 1 1 0 -1 4194304 101 0 0 0 250 50 0 0 20 0 1 0 239726 3133440 380 18446744073709551615 0 0 0"
	tests := []struct {
		name, line   string
		state        byte
		utime, stime uint64
	}{
		{"plain", "1234 (cat) R 1" + tail, 'R', 250, 50},
		{"spaces", "1234 (my prog) S 1" + tail, 'S', 250, 50},
		{"parens", "1234 (a) (b) S 1" + tail, 'S', 250, 50},
		{"nested", "1234 ((x) (y)) D 1" + tail, 'D', 250, 50},
		{"digits in comm", "1234 (1 2 3 4 5 6 7 8 9 10 11 12 13 14) S 1" + tail, 'S', 250, 50},
		{"newline", "1234 (cat) R 1" + tail + "\n", 'R', 250, 50},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			st, err := parseStat(tc.line)
			if err != nil {
				t.Fatal(err)
			}
			if st.state != tc.state || st.utime != tc.utime || st.stime != tc.stime {
				t.Errorf("got state %c utime %d stime %d, want %c %d %d",
					st.state, st.utime, st.stime, tc.state, tc.utime, tc.stime)
			}
		})
	}

	for _, bad := range []string{
		"",
		"1234 cat R 1 2 3",
		"1234 (cat) R 1 2 3",
		"1234 (cat) R 1 1 1 0 -1 4194304 101 0 0 0 x 50 0",
		"1234 (cat) R 1 1 1 0 -1 4194304 101 0 0 0 250 -5 0",
		"1234 (cat) 1 1 1 0 -1 4194304 101 0 0 0 0 250 50 0", // no state
	} {
		if _, err := parseStat(bad); err == nil {
			t.Errorf("parseStat(%q) succeeded", bad)
		}
	}
}

func TestParseStatusField(t *testing.T) {
	status := "Name:\tcat\nVmPeak:\t    8000 kB\nVmHWM:\t    2060 kB\nVmRSS:\t    1024 kB\nThreads:\t1\n"
	for _, tc := range []struct {
		key  string
		want int64
		ok   bool
	}{
		{"VmRSS", 1024 * 1024, true},
		{"VmHWM", 2060 * 1024, true},
		{"Threads", 1, true},
		{"VmSwap", 0, false},
		{"Vm", 0, false},
	} {
		v, ok, err := parseStatusField(status, tc.key)
		if err != nil || v != tc.want || ok != tc.ok {
			t.Errorf("%s: got %d %v %v, want %d %v", tc.key, v, ok, err, tc.want, tc.ok)
		}
	}
	if _, _, err := parseStatusField("VmRSS:\tlots kB\n", "VmRSS"); err == nil {
		t.Error("bad VmRSS value accepted")
	}
}

func TestReadSelf(t *testing.T) {
	linuxOnly(t)
	st, err := Read(os.Getpid())
	if err != nil {
		t.Fatal(err)
	}
	if st.CPUSeconds < 0 || st.CPUSeconds > 3600 {
		t.Errorf("CPUSeconds = %v, implausible for a test process", st.CPUSeconds)
	}
	if st.RSSBytes < 1<<20 || st.RSSBytes > 64<<30 {
		t.Errorf("RSSBytes = %d, implausible", st.RSSBytes)
	}
	peak, err := PeakRSS(os.Getpid())
	if err != nil {
		t.Fatal(err)
	}
	if peak < st.RSSBytes {
		// VmHWM can only have been updated upwards since Read.
		t.Errorf("PeakRSS = %d < RSS %d", peak, st.RSSBytes)
	}
}

func TestMissingPID(t *testing.T) {
	linuxOnly(t)
	pidText := strconv.Itoa(missingPID)
	_, err := Read(missingPID)
	if err == nil || !strings.Contains(err.Error(), pidText) || !errors.Is(err, ErrNoProcess) {
		t.Errorf("Read(missing) error = %v, want one naming pid %s and wrapping ErrNoProcess", err, pidText)
	}
	_, err = PeakRSS(missingPID)
	if err == nil || !strings.Contains(err.Error(), pidText) {
		t.Errorf("PeakRSS(missing) error = %v, want one naming pid %s", err, pidText)
	}
	cpu, rss, n, err := Start(missingPID, time.Millisecond).Stop()
	if err == nil || !strings.Contains(err.Error(), pidText) || cpu != 0 || rss != 0 || n != 0 {
		t.Errorf("Sampler(missing) = %v, %d, %d, %v", cpu, rss, n, err)
	}
}

// burnCPU spins until this process has used at least d more CPU time.
func burnCPU(t *testing.T, d time.Duration) {
	t.Helper()
	start, err := Read(os.Getpid())
	if err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(10 * time.Second)
	x := uint64(1)
	for {
		for range 1 << 16 {
			x = x*6364136223846793005 + 1442695040888963407
		}
		st, err := Read(os.Getpid())
		if err != nil {
			t.Fatal(err)
		}
		if st.CPUSeconds-start.CPUSeconds >= d.Seconds() {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("could not burn %v of CPU in 10s", d)
		}
	}
	runtime.KeepAlive(x)
}

func TestSamplerSelf(t *testing.T) {
	linuxOnly(t)
	pid := os.Getpid()
	// Return freed heap to the OS, so the allocation below needs fresh
	// pages rather than reusing resident ones.
	runtime.GC()
	debug.FreeOSMemory()
	before, err := Read(pid)
	if err != nil {
		t.Fatal(err)
	}
	s := Start(pid, 20*time.Millisecond)

	burnCPU(t, 200*time.Millisecond)

	const size = 64 << 20
	buf := make([]byte, size)
	for i := 0; i < len(buf); i += 4096 {
		buf[i] = 1
	}
	time.Sleep(60 * time.Millisecond) // let the sampler see it too

	cpu, rssMax, n, err := s.Stop()
	runtime.KeepAlive(buf)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("cpu %.3fs, rss max %d MiB (before %d MiB), %d samples", cpu, rssMax>>20, before.RSSBytes>>20, n)
	if cpu < 0.18 {
		t.Errorf("cpu = %.3fs, want at least ~0.2s burned", cpu)
	}
	if cpu > 60 {
		t.Errorf("cpu = %.3fs, implausible", cpu)
	}
	if rssMax < before.RSSBytes+48<<20 {
		t.Errorf("rss max %d, want at least 48 MiB above %d after touching 64 MiB", rssMax, before.RSSBytes)
	}
	if n < 3 {
		t.Errorf("samples = %d, want several at 20ms over >200ms", n)
	}

	// Stop again: same figures.
	cpu2, rss2, n2, err2 := s.Stop()
	if cpu2 != cpu || rss2 != rssMax || n2 != n || err2 != nil {
		t.Errorf("second Stop = %v %d %d %v", cpu2, rss2, n2, err2)
	}
}

func TestSamplerProcessExits(t *testing.T) {
	linuxOnly(t)
	sleep, err := exec.LookPath("sleep")
	if err != nil {
		t.Skip("no sleep binary")
	}
	cmd := exec.Command(sleep, "0.2")
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	pid := cmd.Process.Pid
	s := Start(pid, 10*time.Millisecond)
	if err := cmd.Wait(); err != nil { // reaped: /proc/PID goes away
		t.Fatal(err)
	}
	time.Sleep(50 * time.Millisecond)
	cpu, rssMax, n, err := s.Stop()
	if err == nil {
		t.Fatal("no error for a process that exited mid-run")
	}
	if !errors.Is(err, ErrNoProcess) || !strings.Contains(err.Error(), "exited") ||
		!strings.Contains(err.Error(), strconv.Itoa(pid)) {
		t.Errorf("error %q should say pid %d exited", err, pid)
	}
	if n < 1 || rssMax <= 0 || cpu < 0 {
		t.Errorf("figures seen before exit lost: cpu %v rss %d samples %d", cpu, rssMax, n)
	}
}

// samplerGoroutines counts the goroutines that Start created and that
// are still alive.
func samplerGoroutines() int {
	buf := make([]byte, 1<<20)
	for {
		n := runtime.Stack(buf, true)
		if n < len(buf) {
			return strings.Count(string(buf[:n]), "procstat.Start in goroutine")
		}
		buf = make([]byte, 2*len(buf))
	}
}

// waitSamplerGoroutines waits briefly for the count to reach want: a
// goroutine lingers for an instant after closing its done channel.
func waitSamplerGoroutines(want int) int {
	deadline := time.Now().Add(2 * time.Second)
	for {
		n := samplerGoroutines()
		if n == want || time.Now().After(deadline) {
			return n
		}
		time.Sleep(time.Millisecond)
	}
}

func TestSamplerNoLeak(t *testing.T) {
	linuxOnly(t)
	if n := waitSamplerGoroutines(0); n != 0 {
		t.Fatalf("%d sampling goroutines before the test", n)
	}
	var ss []*Sampler
	for range 20 {
		ss = append(ss, Start(os.Getpid(), time.Millisecond))
	}
	if n := waitSamplerGoroutines(20); n != 20 {
		t.Errorf("%d sampling goroutines running, want 20", n)
	}
	time.Sleep(10 * time.Millisecond)
	for _, s := range ss {
		if _, _, _, err := s.Stop(); err != nil {
			t.Error(err)
		}
	}
	if n := waitSamplerGoroutines(0); n != 0 {
		t.Errorf("%d sampling goroutines left after Stop", n)
	}
	// A sampler whose process is gone from the start runs none.
	Start(missingPID, time.Millisecond)
	if n := waitSamplerGoroutines(0); n != 0 {
		t.Errorf("%d sampling goroutines for a missing pid", n)
	}
}

func TestSamplerDefaultInterval(t *testing.T) {
	linuxOnly(t)
	s := Start(os.Getpid(), 0)
	if s.every != DefaultEvery {
		t.Errorf("every = %v, want %v", s.every, DefaultEvery)
	}
	if _, _, n, err := s.Stop(); err != nil || n < 2 {
		t.Errorf("Stop = %d samples, %v; want the first and the last", n, err)
	}
}
