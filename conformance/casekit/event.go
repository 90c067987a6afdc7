// Package casekit runs conformance cases: a Script of frames to send, the
// event traces that pass, and the close the server owes, judged with
// Autobahn's two verdicts (behaviour and close).
package casekit

import (
	"bytes"
	"encoding/hex"
	"fmt"
	"strings"

	"github.com/wsharness/wsharness/wire"
)

// EventKind is what the client observed.
type EventKind int

// Event kinds recorded in a trace. Server pings are answered and logged but
// not traced: servers may ping whenever they like.
const (
	Message EventKind = iota
	Pong
	Marker
)

// Event is one entry of the observed trace.
type Event struct {
	Kind    EventKind
	Opcode  byte // text or binary, for messages
	Payload []byte
	Name    string // marker name
}

// Text is an expected text message.
func Text(s string) Event { return Event{Kind: Message, Opcode: wire.OpText, Payload: []byte(s)} }

// TextBytes is an expected text message given as bytes.
func TextBytes(b []byte) Event { return Event{Kind: Message, Opcode: wire.OpText, Payload: b} }

// Binary is an expected binary message.
func Binary(b []byte) Event { return Event{Kind: Message, Opcode: wire.OpBinary, Payload: b} }

// PongOf is an expected pong carrying payload.
func PongOf(b []byte) Event { return Event{Kind: Pong, Payload: b} }

// Mark is a marker the script records when a pause ends with the
// connection still open.
func Mark(name string) Event { return Event{Kind: Marker, Name: name} }

// Equal compares events by kind, opcode, payload bytes and name.
func (e Event) Equal(o Event) bool {
	return e.Kind == o.Kind && e.Opcode == o.Opcode && e.Name == o.Name && bytes.Equal(e.Payload, o.Payload)
}

const shownBytes = 32

func (e Event) String() string {
	switch e.Kind {
	case Marker:
		return "<" + e.Name + ">"
	case Pong:
		return fmt.Sprintf("pong(%d) %s", len(e.Payload), payloadText(e.Payload, true))
	}
	return fmt.Sprintf("%s(%d) %s", wire.OpName(e.Opcode), len(e.Payload), payloadText(e.Payload, e.Opcode == wire.OpText))
}

// payloadText renders a payload prefix as quoted text when it is printable text,
// else as hex.
func payloadText(p []byte, text bool) string {
	if len(p) == 0 {
		return `""`
	}
	cut, more := p, ""
	if len(cut) > shownBytes {
		cut, more = cut[:shownBytes], "…"
	}
	if text {
		s := wire.Printable(cut)
		if !strings.Contains(s, `\x`) {
			return fmt.Sprintf("%q%s", s, more)
		}
	}
	return "0x" + hex.EncodeToString(cut) + more
}

// Trace renders events as a list.
// Trace renders events for an observed text, listing at most
// listedEvents of them (see eventStrings).
func Trace(events []Event) string {
	return "[" + strings.Join(eventStrings(events), ", ") + "]"
}

func equalTrace(a, b []Event) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if !a[i].Equal(b[i]) {
			return false
		}
	}
	return true
}

func isPrefix(prefix, of []Event) bool {
	return len(prefix) <= len(of) && equalTrace(prefix, of[:len(prefix)])
}
