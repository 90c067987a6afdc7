package wire

import (
	"encoding/hex"
	"fmt"
	"strings"
	"sync"
	"time"
	"unicode/utf8"
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

// Dir says which way a wire-log entry went: from the harness, to it, or
// neither (an event of the harness itself). The harness may play either
// end of the connection, so the directions are its own, not client and
// server.
type Dir string

const (
	Outbound     Dir = "tx" // the harness sent it
	Inbound      Dir = "rx" // the peer sent it
	HarnessEvent Dir = "--" // a timer, a marker, the TCP state
)

// Entry is one line of a case's wire log.
type Entry struct {
	AtMS  float64    `json:"t_ms"`
	Dir   Dir        `json:"dir"`
	Frame *FrameInfo `json:"frame,omitempty"`
	Note  string     `json:"note,omitempty"`
}

// FrameInfo is a decoded frame header with a payload prefix.
type FrameInfo struct {
	Fin    bool   `json:"fin"`
	RSV    int    `json:"rsv"`
	Opcode int    `json:"opcode"`
	OpName string `json:"op"`
	Masked bool   `json:"masked"`
	Key    string `json:"mask_key,omitempty"`
	Length uint64 `json:"len"`
	// PayloadHex and PayloadText show at most the first 64 payload bytes
	// (unmasked); Truncated says more followed.
	PayloadHex  string `json:"payload_hex"`
	PayloadText string `json:"payload_text"`
	Truncated   bool   `json:"truncated,omitempty"`
}

// Log is a case's wire log. It is safe for concurrent use.
type Log struct {
	mu      sync.Mutex
	start   time.Time
	entries []Entry
	bytes   int
	dropped int
	// limits bounds the frame and octet entries still recorded per
	// direction; unlogged counts what they left out.
	limits   map[Dir]int
	unlogged map[Dir]int
}

// NewLog starts a log whose times are relative to now.
func NewLog() *Log { return &Log{start: time.Now()} }

// Since returns milliseconds since the log started.
func (l *Log) Since() float64 { return float64(time.Since(l.start).Microseconds()) / 1000 }

func (l *Log) add(e Entry) {
	l.mu.Lock()
	defer l.mu.Unlock()
	size := len(e.Note) + 64 // the entry's fixed fields, roughly, in JSON
	if e.Frame != nil {
		size += len(e.Frame.PayloadHex) + len(e.Frame.PayloadText) + 96
	}
	full := len(l.entries) >= maxLogEntries || l.bytes+size > maxLogBytes
	if e.Dir == HarnessEvent {
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
// (Outbound or Inbound) and only counts the rest, so a case moving thousands of
// frames keeps a short log; n < 0 lifts the limit. Notes are never limited.
func (l *Log) Limit(dir Dir, n int) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.limits == nil {
		l.limits, l.unlogged = map[Dir]int{}, map[Dir]int{}
	}
	l.limits[dir] = n
}

// Unlogged returns how many entries in direction dir Limit left out since
// the last call, and resets the count.
func (l *Log) Unlogged(dir Dir) int {
	l.mu.Lock()
	defer l.mu.Unlock()
	n := l.unlogged[dir]
	delete(l.unlogged, dir)
	return n
}

// admit reports whether an entry in direction dir is recorded under Limit,
// counting it when it is not.
func (l *Log) admit(dir Dir) bool {
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
	l.add(Entry{Dir: HarnessEvent, Note: fmt.Sprintf(format, args...)})
}

// Octets records raw bytes moving in direction dir.
func (l *Log) Octets(dir Dir, format string, args ...any) {
	if !l.admit(dir) {
		return
	}
	l.add(Entry{Dir: dir, Note: fmt.Sprintf(format, args...)})
}

// Frame records a frame header and payload prefix; payload must be unmasked.
func (l *Log) Frame(dir Dir, h Header, payload []byte, note string) {
	if !l.admit(dir) {
		return
	}
	l.add(Entry{Dir: dir, Frame: Describe(h, payload), Note: note})
}

// Entries returns the log, with a last line counting dropped entries.
func (l *Log) Entries() []Entry {
	l.mu.Lock()
	defer l.mu.Unlock()
	out := append([]Entry(nil), l.entries...)
	if l.dropped > 0 {
		out = append(out, Entry{AtMS: l.Since(), Dir: HarnessEvent, Note: fmt.Sprintf("%d more entries not logged", l.dropped)})
	}
	return out
}

// Describe renders a frame for the log.
func Describe(h Header, payload []byte) *FrameInfo {
	fi := &FrameInfo{
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
