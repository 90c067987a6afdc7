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
	payloadPrefix = 64
)

// Log is a case's wire log. It is safe for concurrent use.
type Log struct {
	mu      sync.Mutex
	start   time.Time
	entries []results.WireEntry
	dropped int
}

// NewLog starts a log whose times are relative to now.
func NewLog() *Log { return &Log{start: time.Now()} }

// Since returns milliseconds since the log started.
func (l *Log) Since() float64 { return float64(time.Since(l.start).Microseconds()) / 1000 }

func (l *Log) add(e results.WireEntry) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if len(l.entries) >= maxLogEntries {
		l.dropped++
		return
	}
	e.AtMS = l.Since()
	l.entries = append(l.entries, e)
}

// Note records a harness event.
func (l *Log) Note(format string, args ...any) {
	l.add(results.WireEntry{Dir: "--", Note: fmt.Sprintf(format, args...)})
}

// Octets records raw bytes moving in direction dir ("tx" or "rx").
func (l *Log) Octets(dir string, format string, args ...any) {
	l.add(results.WireEntry{Dir: dir, Note: fmt.Sprintf(format, args...)})
}

// Frame records a frame header and payload prefix; payload must be unmasked.
func (l *Log) Frame(dir string, h Header, payload []byte, note string) {
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
