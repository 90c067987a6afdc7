package wire

import (
	"encoding/hex"
	"fmt"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/wsharness/wsharness/suites/results"
)

// Limits of a wire log, so a case that moves megabytes stays readable.
const (
	maxLogEntries = 300
	// maxLogBytes bounds the text of the entries: a flooding server's
	// frames each carry a payload prefix, and a case's record travels
	// through Ginkgo's report to results.json.
	maxLogBytes   = 24 << 10
	maxExtraNotes = 100
	payloadPrefix = 64
)

// Log is a case's wire log. It is safe for concurrent use.
type Log struct {
	mu      sync.Mutex
	start   time.Time
	entries []results.WireEntry
	bytes   int
	dropped int
	// limits bounds the frame and octet entries still recorded per
	// direction; unlogged counts what they left out.
	limits   map[string]int
	unlogged map[string]int
}

// NewLog starts a log whose times are relative to now.
func NewLog() *Log { return &Log{start: time.Now()} }

// Since returns milliseconds since the log started.
func (l *Log) Since() float64 { return float64(time.Since(l.start).Microseconds()) / 1000 }

func (l *Log) add(e results.WireEntry) {
	l.mu.Lock()
	defer l.mu.Unlock()
	size := len(e.Note) + 64 // the entry's fixed fields, roughly, in JSON
	if e.Frame != nil {
		size += len(e.Frame.PayloadHex) + len(e.Frame.PayloadText) + 96
	}
	full := len(l.entries) >= maxLogEntries || l.bytes+size > maxLogBytes
	if e.Dir == "--" {
		// The harness's own notes (timers, violations, how TCP ended)
		// explain the verdict: they get room past the frames' limits.
		full = len(l.entries) >= maxLogEntries+maxExtraNotes
	}
	if full {
		l.dropped++
		return
	}
	e.AtMS = l.Since()
	l.bytes += size
	l.entries = append(l.entries, e)
}

// Limit records at most n more frame and octet entries in direction dir
// ("tx" or "rx") and only counts the rest, so a case moving thousands of
// frames keeps a short log; n < 0 lifts the limit. Notes are never limited.
func (l *Log) Limit(dir string, n int) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.limits == nil {
		l.limits, l.unlogged = map[string]int{}, map[string]int{}
	}
	l.limits[dir] = n
}

// Unlogged returns how many entries in direction dir Limit left out since
// the last call, and resets the count.
func (l *Log) Unlogged(dir string) int {
	l.mu.Lock()
	defer l.mu.Unlock()
	n := l.unlogged[dir]
	delete(l.unlogged, dir)
	return n
}

// admit reports whether an entry in direction dir is recorded under Limit,
// counting it when it is not.
func (l *Log) admit(dir string) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	n, limited := l.limits[dir]
	switch {
	case !limited || n < 0:
		return true
	case n == 0:
		l.unlogged[dir]++
		return false
	}
	l.limits[dir] = n - 1
	return true
}

// Note records a harness event.
func (l *Log) Note(format string, args ...any) {
	l.add(results.WireEntry{Dir: "--", Note: fmt.Sprintf(format, args...)})
}

// Octets records raw bytes moving in direction dir ("tx" or "rx").
func (l *Log) Octets(dir string, format string, args ...any) {
	if !l.admit(dir) {
		return
	}
	l.add(results.WireEntry{Dir: dir, Note: fmt.Sprintf(format, args...)})
}

// Frame records a frame header and payload prefix; payload must be unmasked.
func (l *Log) Frame(dir string, h Header, payload []byte, note string) {
	if !l.admit(dir) {
		return
	}
	l.add(results.WireEntry{Dir: dir, Frame: Describe(h, payload), Note: note})
}

// Entries returns the log, with a last line counting dropped entries.
func (l *Log) Entries() []results.WireEntry {
	l.mu.Lock()
	defer l.mu.Unlock()
	out := append([]results.WireEntry(nil), l.entries...)
	if l.dropped > 0 {
		out = append(out, results.WireEntry{AtMS: l.Since(), Dir: "--", Note: fmt.Sprintf("%d more entries not logged", l.dropped)})
	}
	return out
}

// Describe renders a frame for the log.
func Describe(h Header, payload []byte) *results.FrameInfo {
	fi := &results.FrameInfo{
		Fin: h.Fin, RSV: int(h.RSV), Opcode: int(h.Opcode), OpName: OpName(h.Opcode),
		Masked: h.Masked, Length: h.Length,
	}
	if h.Masked {
		fi.Key = hex.EncodeToString(h.Key[:])
	}
	p := payload
	if len(p) > payloadPrefix {
		p, fi.Truncated = p[:payloadPrefix], true
	}
	fi.PayloadHex = hex.EncodeToString(p)
	fi.PayloadText = Printable(p)
	return fi
}

// Printable renders bytes as text, escaping what is not printable UTF-8.
func Printable(p []byte) string {
	var b strings.Builder
	for len(p) > 0 {
		r, n := utf8.DecodeRune(p)
		switch {
		case r == utf8.RuneError && n <= 1:
			fmt.Fprintf(&b, `\x%02x`, p[0])
		case r < 0x20 || r == 0x7f:
			fmt.Fprintf(&b, `\x%02x`, r)
		default:
			b.WriteRune(r)
		}
		p = p[n:]
	}
	return b.String()
}
