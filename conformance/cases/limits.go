package cases

import (
	"encoding/binary"
	"fmt"
	"time"

	"github.com/wsharness/wsharness/conformance/casekit"
	"github.com/wsharness/wsharness/wire"
)

// FamilyLimits is Autobahn's 9.x: large messages, fragment and TCP-chop
// ramps, and series of round trips.
const FamilyLimits Family = "limits"

// Sizes, frame sizes, chops and timers of Autobahn|Testsuite's 9.x, as its
// autobahntestsuite/case/case9_*.py set them, so that 9.x verdicts compare
// with Autobahn's.
var (
	limitSizes = []struct {
		n              int
		text, binary   time.Duration // 9.1 and 9.2 timers
		title, caption string
	}{
		{64 << 10, 10 * time.Second, 10 * time.Second, "64 KiB", "65536"},
		{256 << 10, 10 * time.Second, 10 * time.Second, "256 KiB", "262144"},
		{1 << 20, 100 * time.Second, 10 * time.Second, "1 MiB", "1048576"},
		{4 << 20, 100 * time.Second, 10 * time.Second, "4 MiB", "4194304"},
		{8 << 20, 100 * time.Second, 100 * time.Second, "8 MiB", "8388608"},
		{16 << 20, 100 * time.Second, 100 * time.Second, "16 MiB", "16777216"},
	}
	limitFrameSizes = []int{64, 256, 1 << 10, 4 << 10, 16 << 10, 64 << 10, 256 << 10, 1 << 20, 4 << 20}
	limitChops      = []int{64, 128, 256, 512, 1024, 2048}
	limitSeries     = []struct {
		n       int
		timeout time.Duration
	}{{0, 60 * time.Second}, {16, 60 * time.Second}, {64, 60 * time.Second}, {256, 120 * time.Second}, {1024, 240 * time.Second}, {4096, 480 * time.Second}}
)

// Timers of 9.3–9.6 and the size of their messages.
const (
	fragmentedSize    = 4 << 20
	fragmentedTimeout = 100 * time.Second
	choppedSize       = 1 << 20
	choppedTimeout    = 1000 * time.Second
	seriesCount       = 1000
)

const limitsCheck = "Unlike Autobahn, which checks only the type and length of large echoes, the content is compared byte for byte (a mismatch names the first differing offset). The round-trip time is recorded."

// Limits returns Autobahn 9.1–9.8 (54 cases).
func Limits() []Case {
	var out []Case
	for k, kind := range []struct {
		name string
		op   byte
	}{{"text", wire.OpText}, {"binary", wire.OpBinary}} {
		sub := func(n int) int { return n + k } // 9.1/9.2, 9.3/9.4, ...
		for j, s := range limitSizes {
			timeout := s.text
			if kind.op == wire.OpBinary {
				timeout = s.binary
			}
			id := fmt.Sprintf("9.%d.%d", sub(1), j+1)
			out = append(out, exchanged(Case{
				ID: id, Family: FamilyLimits, RFC: "RFC 6455 §5.2, §5.6",
				Title:       fmt.Sprintf("%s message of %s in one frame", kind.name, s.title),
				Description: fmt.Sprintf("Send one %s frame with a %s-byte payload (%s) and wait for its echo. %s", kind.name, s.caption, s.title, limitsCheck),
				Expectation: limitExpectation(timeout),
			}, casekit.Exchange{N: 1, Message: single(kind.op, s.n, id), Timeout: timeout}))
		}
		for j, fs := range limitFrameSizes {
			id := fmt.Sprintf("9.%d.%d", sub(3), j+1)
			out = append(out, exchanged(Case{
				ID: id, Family: FamilyLimits, RFC: "RFC 6455 §5.4, §5.6",
				Title:       fmt.Sprintf("4 MiB %s message in %s frames", kind.name, sizeName(fs)),
				Description: fmt.Sprintf("Send a 4194304-byte %s message fragmented into frames of %d bytes (%s) and wait for its echo. %s", kind.name, fs, plural(fragmentedSize/fs, "frame"), limitsCheck),
				Expectation: limitExpectation(fragmentedTimeout) + " The server may fragment the echo as it likes.",
			}, casekit.Exchange{N: 1, Message: single(kind.op, fragmentedSize, id), FrameSize: fs, Timeout: fragmentedTimeout}))
		}
		for j, chop := range limitChops {
			id := fmt.Sprintf("9.%d.%d", sub(5), j+1)
			out = append(out, exchanged(Case{
				ID: id, Family: FamilyLimits, RFC: "RFC 6455 §5.2, §5.6",
				Title:       fmt.Sprintf("1 MiB %s message written in %d-byte TCP chops", kind.name, chop),
				Description: fmt.Sprintf("Send one %s frame with a 1048576-byte payload, written in TCP writes of %d bytes (%d writes), and wait for its echo. %s", kind.name, chop, choppedSize/chop+1, limitsCheck),
				Expectation: limitExpectation(choppedTimeout),
			}, casekit.Exchange{N: 1, Message: single(kind.op, choppedSize, id), Chop: chop, Timeout: choppedTimeout}))
		}
		for j, s := range limitSeries {
			id := fmt.Sprintf("9.%d.%d", sub(7), j+1)
			out = append(out, exchanged(Case{
				ID: id, Family: FamilyLimits, RFC: "RFC 6455 §5.6",
				Title:       fmt.Sprintf("%d sequential %s round trips of %d bytes", seriesCount, kind.name, s.n),
				Description: fmt.Sprintf("Send %d %s messages of %d bytes one at a time, each after the echo of the previous one, to measure the round-trip time. Each message has different content, so an echo of a stale message is caught.", seriesCount, kind.name, s.n),
				Expectation: fmt.Sprintf("The server MUST echo every message with the same type and bytes (§5.6), all %d within %s; then a clean close with 1000. The total and per-message round-trip times are recorded.", seriesCount, seconds(s.timeout)),
			}, casekit.Exchange{N: seriesCount, Message: series(kind.op, s.n, id), Timeout: s.timeout}))
		}
	}
	return out
}

func limitExpectation(timeout time.Duration) string {
	return fmt.Sprintf("The server MUST echo the message with the same type and bytes (§5.6) within %s; then a clean close with 1000. Refusing it with Close 1009 (message too big) is allowed by §7.4.1 and recorded as INFORMATIONAL.", seconds(timeout))
}

// seconds writes Autobahn's timers as it does: "100 s", not "1m40s".
func seconds(d time.Duration) string { return fmt.Sprintf("%d s", int(d.Seconds())) }

func plural(n int, noun string) string {
	if n == 1 {
		return "1 " + noun
	}
	return fmt.Sprintf("%d %ss", n, noun)
}

func sizeName(n int) string {
	switch {
	case n >= 1<<20:
		return fmt.Sprintf("%d MiB", n>>20)
	case n >= 1<<10:
		return fmt.Sprintf("%d KiB", n>>10)
	}
	return fmt.Sprintf("%d-byte", n)
}

// single builds the one message of a case when it runs, never when the
// catalog is listed.
func single(op byte, n int, id string) func(int) (byte, []byte) {
	return func(int) (byte, []byte) { return op, pattern(n, seedOf(id, 0), op == wire.OpText) }
}

// series builds message i of a round-trip series; each differs.
func series(op byte, n int, id string) func(int) (byte, []byte) {
	return func(i int) (byte, []byte) { return op, pattern(n, seedOf(id, i), op == wire.OpText) }
}

func seedOf(id string, i int) uint64 {
	h := uint64(14695981039346656037) // FNV-1a
	for _, c := range []byte(id) {
		h = (h ^ uint64(c)) * 1099511628211
	}
	return h ^ uint64(i)<<32
}

// textAlphabet keeps text payloads ASCII: valid UTF-8 wherever a frame or
// chop cuts them.
const textAlphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"

// pattern returns n deterministic bytes from a splitmix64 stream. Unlike
// Autobahn's 10-byte repeat, it never repeats, so a shifted, duplicated or
// dropped chunk changes the content.
func pattern(n int, seed uint64, text bool) []byte {
	p := make([]byte, n+7)
	x := seed
	for i := 0; i < n; i += 8 {
		x += 0x9E3779B97F4A7C15
		z := x
		z = (z ^ z>>30) * 0xBF58476D1CE4E5B9
		z = (z ^ z>>27) * 0x94D049BB133111EB
		binary.LittleEndian.PutUint64(p[i:], z^z>>31)
	}
	p = p[:n:n]
	if text {
		for i, b := range p {
			p[i] = textAlphabet[b&63]
		}
	}
	return p
}
