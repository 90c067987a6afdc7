package casekit

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net"
	"sync"
	"syscall"
	"time"
	"unicode/utf8"

	"github.com/wsharness/wsharness/wire"
)

// Who started the close.
const (
	byNobody = iota
	byClient
	byServer     // server sent Close first
	byServerDrop // server dropped TCP without a Close
)

type closeFrame struct {
	code   *int
	reason string
}

// snapshot is the session state the judge reads.
type snapshot struct {
	trace                      []Event
	violations                 []string
	serverClose                *closeFrame
	clientCloseSent            bool
	clientCloseCausedByTimeout bool
	clientDroppedAfterClose    bool
	initiator                  int
	tcpClosed                  bool
	tcpStory                   string
}

func (s snapshot) closeStory() string {
	var who string
	switch s.initiator {
	case byClient:
		who = "the client sent Close first"
	case byServer:
		who = "the server sent Close first"
	case byServerDrop:
		who = "the server dropped TCP without a Close"
	default:
		who = "nobody sent Close"
	}
	code := "no Close frame from the server"
	if s.serverClose != nil {
		code = "server Close with no code"
		if s.serverClose.code != nil {
			code = fmt.Sprintf("server Close code %d reason %q", *s.serverClose.code, s.serverClose.reason)
		}
	}
	return fmt.Sprintf("%s; %s; %s", who, code, s.tcpStory)
}

// session is one running case connection: a reader goroutine that decodes
// server frames into events, and the script side that writes.
type session struct {
	conn   *wire.Conn
	log    *wire.Log
	opened time.Time
	// codec encodes what steps compose and decodes server messages: the
	// negotiated extension (permessage-deflate), or Identity.
	codec Codec
	// readDeadline bounds the reader whatever the server does.
	readDeadline time.Time
	// pongKeys masks the reader's Pongs: a stream of their own, so that
	// the script's frames get the same keys however the server's Pings
	// interleave with them.
	pongKeys *wire.KeyStream

	changed      chan struct{} // signalled on every state change
	ended        chan struct{} // closed when the reader ends
	serverClosed chan struct{} // closed on the server's Close frame
	closeOnce    sync.Once

	mu                      sync.Mutex
	trace                   []Event
	traceBytes              int
	violations              []string
	moreViolations          int
	serverClose             *closeFrame
	clientCloseSent         bool
	initiator               int
	tcpClosed               bool
	tcpStory                string
	droppedByClient         bool
	timedOut                bool
	clientDroppedAfterClose bool
}

func newSession(c *wire.Conn, log *wire.Log, ceiling time.Duration) *session {
	now := time.Now()
	return &session{
		conn: c, log: log, opened: now, readDeadline: now.Add(ceiling), codec: Identity{}, pongKeys: c.Keys().Derive("pongs"),
		changed: make(chan struct{}, 1), ended: make(chan struct{}), serverClosed: make(chan struct{}),
	}
}

func (s *session) signal() {
	select {
	case s.changed <- struct{}{}:
	default:
	}
}

func (s *session) snapshot() snapshot {
	s.mu.Lock()
	defer s.mu.Unlock()
	violations := append([]string(nil), s.violations...)
	if s.moreViolations > 0 {
		violations = append(violations, fmt.Sprintf("… and %d more violations", s.moreViolations))
	}
	return snapshot{
		trace: append([]Event(nil), s.trace...), violations: violations,
		serverClose: s.serverClose, clientCloseSent: s.clientCloseSent,
		clientCloseCausedByTimeout: s.timedOut && s.initiator == byClient,
		clientDroppedAfterClose:    s.clientDroppedAfterClose,
		initiator:                  s.initiator, tcpClosed: s.tcpClosed, tcpStory: s.tcpStory,
	}
}

// open reports whether the connection is still OPEN: no Close from the
// server and TCP up.
func (s *session) open() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.serverClose == nil && !s.tcpClosed
}

// pause waits d (scaled), or less when the server closes first; then,
// if marker is set and the connection is still open, it marks the trace.
// false means the case was cancelled.
func (s *session) pause(ctx context.Context, env Env, d time.Duration, marker string) bool {
	t := time.NewTimer(env.Scaled(d))
	defer t.Stop()
	select {
	case <-ctx.Done():
		return false
	case <-s.ended:
	case <-s.serverClosed:
	case <-t.C:
	}
	if marker != "" && s.open() {
		s.mark(marker)
	}
	return true
}

func (s *session) mark(name string) {
	s.mu.Lock()
	s.trace = append(s.trace, Mark(name))
	s.mu.Unlock()
	s.log.Note("marker <%s>: connection still open after the pause", name)
	s.signal()
}

// maxViolations is how many protocol violations a case records. A server
// sending garbage commits one per frame; past the limit the client has
// seen enough, fails the connection (drops TCP) and only counts.
const maxViolations = 20

func (s *session) violate(format string, args ...any) {
	s.mu.Lock()
	var msg string
	full := len(s.violations) >= maxViolations
	if full {
		s.moreViolations++
	} else {
		msg = fmt.Sprintf(format, args...)
		s.violations = append(s.violations, msg)
	}
	first := s.moreViolations == 1
	s.mu.Unlock()
	switch {
	case !full:
		s.log.Note("violation: %s", msg)
	case first:
		s.log.Note("more than %d violations: the client stops reading and drops TCP", maxViolations)
		s.drop()
	}
}

// clientClosing records that a Close frame is about to be sent by a step.
func (s *session) clientClosing() {
	s.mu.Lock()
	defer s.mu.Unlock()
	if !s.clientCloseSent {
		s.clientCloseSent = true
		if s.initiator == byNobody {
			s.initiator = byClient
		}
	}
}

// timedOutClosing closes because the case timer ran out.
func (s *session) timedOutClosing(ctx context.Context) {
	s.mu.Lock()
	s.timedOut = true
	s.mu.Unlock()
	s.sendClose(ctx, 1001)
}

func (s *session) sendClose(ctx context.Context, code uint16) {
	s.clientClosing()
	if err := s.conn.WriteFrames(ctx, []wire.Frame{wire.Close(code, "")}, wire.OneWrite); err != nil {
		s.writeFailed(err)
	}
	s.signal()
}

// replyClose answers the server's Close: with its code when that is one a
// Close may carry, else with an empty body.
func (s *session) replyClose(ctx context.Context, cf *closeFrame) {
	f := wire.NewFrame(wire.OpClose, nil)
	if cf.code != nil && validSendableCode(*cf.code) {
		f = wire.Close(uint16(*cf.code), "")
	}
	s.clientClosing()
	if err := s.conn.WriteFrames(ctx, []wire.Frame{f}, wire.OneWrite); err != nil {
		s.writeFailed(err)
	}
	s.signal()
}

func (s *session) writeFailed(err error) {
	s.log.Note("write failed: %v", err)
	s.signal()
}

// drop closes TCP from the client side.
func (s *session) drop() { s.dropTCP(false) }

// dropAfterClose drops TCP because the server kept it open after the
// closing handshake, which the judge weighs.
func (s *session) dropAfterClose() { s.dropTCP(true) }

func (s *session) dropTCP(afterClose bool) {
	s.mu.Lock()
	s.droppedByClient = true
	s.clientDroppedAfterClose = s.clientDroppedAfterClose || afterClose
	if !s.tcpClosed {
		s.tcpStory = "TCP dropped by the client"
	}
	s.mu.Unlock()
	_ = s.conn.Close()
}

// wait blocks until the reader has ended.
func (s *session) wait() {
	select {
	case <-s.ended:
	case <-time.After(CloseTimeout):
		_ = s.conn.Close()
		<-s.ended
	}
}

// readLoop runs a Script's reader: pings are answered at once, pongs and
// messages (decoded, text checked for UTF-8) go into the trace.
func (s *session) readLoop() {
	s.readFrames(frameSink{
		message: func(first wire.Header, raw []byte) {
			msg, err := s.codec.Decode(first, raw)
			if err != nil {
				s.violate("server %s message of %d bytes: %v", wire.OpName(first.Opcode), len(raw), err)
				return
			}
			if first.Opcode == wire.OpText && !utf8.Valid(msg) {
				s.violate("server sent a text message that is not valid UTF-8 (RFC 6455 §5.6, §8.1)")
			}
			s.push(Event{Kind: Message, Opcode: first.Opcode, Payload: msg})
		},
		ping: func(p []byte) {
			s.mu.Lock()
			closing := s.clientCloseSent
			s.mu.Unlock()
			if !closing {
				pong := wire.WithKey(wire.Pong(p), s.pongKeys.MaskKey())
				_ = s.conn.WriteFrames(context.Background(), []wire.Frame{pong}, wire.OneWrite)
			}
		},
		pong: func(p []byte) { s.push(PongOf(p)) },
	})
}

// A case's trace holds at most maxTraceEvents events and maxTraceBytes
// payload bytes: far more than any case expects, small enough that a
// server flooding messages or pongs cannot exhaust memory. Past either,
// the client stops reading and drops TCP.
const (
	maxTraceEvents = 1000
	maxTraceBytes  = MaxMessage
)

func (s *session) push(e Event) {
	s.mu.Lock()
	full := len(s.trace) >= maxTraceEvents || s.traceBytes+len(e.Payload) > maxTraceBytes
	if !full {
		s.trace = append(s.trace, e)
		s.traceBytes += len(e.Payload)
	}
	s.mu.Unlock()
	if full {
		s.log.Note("the server sent more than %d messages and pongs or %d bytes in them: the client stops reading", maxTraceEvents, maxTraceBytes)
		s.drop()
	}
	s.signal()
}

// maxCloseReason is the longest reason a Close frame can carry (125 bytes
// of body less the 2-byte code).
const maxCloseReason = 123

func (s *session) serverCloseFrame(p []byte) {
	cf := &closeFrame{}
	switch {
	case len(p) == 1:
		s.violate("server Close frame has a 1-byte body; a body starts with a 2-byte status code (RFC 6455 §5.5.1)")
	case len(p) >= 2:
		code := int(binary.BigEndian.Uint16(p))
		cf.code = &code
		body := p[2:]
		shown := body[:min(len(body), maxCloseReason)]
		cf.reason = string(shown)
		if code == 1005 || code == 1006 || code == 1015 {
			s.violate("server Close frame carries status code %d, which MUST NOT be sent in a Close frame (RFC 6455 §7.4.1)", code)
		}
		if !utf8.Valid(body) {
			s.violate("server Close reason is not valid UTF-8 (RFC 6455 §5.5.1)")
			cf.reason = wire.Printable(shown)
		}
		if len(body) > len(shown) {
			// Only a broken server sends this (a control frame carries at
			// most 125 bytes, §5.5); the report keeps the legal length.
			cf.reason += fmt.Sprintf("… (%d bytes in all)", len(body))
		}
	}
	s.mu.Lock()
	if s.serverClose == nil {
		s.serverClose = cf
		if s.initiator == byNobody {
			s.initiator = byServer
		}
	}
	s.mu.Unlock()
	s.closeOnce.Do(func() { close(s.serverClosed) })
	s.signal()
}

func (s *session) readEnded(err error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.tcpClosed = true
	if s.initiator == byNobody && !s.droppedByClient {
		s.initiator = byServerDrop
	}
	var tooLarge *wire.TooLargeError
	switch {
	case s.droppedByClient:
		if s.tcpStory == "" {
			s.tcpStory = "TCP dropped by the client"
		}
	case errors.As(err, &tooLarge):
		s.tcpStory = "stopped reading: " + err.Error()
		s.violations = append(s.violations, "server sent a frame declaring "+fmt.Sprint(tooLarge.Declared)+" payload bytes; no case expects more than 16 MiB")
		_ = s.conn.Close()
	case errors.Is(err, io.EOF):
		s.tcpStory = "TCP closed by the server"
	case errors.Is(err, io.ErrUnexpectedEOF):
		s.tcpStory = "TCP closed by the server in the middle of a frame"
	case errors.Is(err, syscall.ECONNRESET):
		s.tcpStory = "TCP reset by the server"
	case isTimeout(err):
		s.tcpStory = "client stopped reading: case time limit reached"
		_ = s.conn.Close()
	default:
		s.tcpStory = "TCP ended: " + err.Error()
	}
	s.log.Note("%s", s.tcpStory)
}

func isTimeout(err error) bool {
	var ne net.Error
	return errors.As(err, &ne) && ne.Timeout()
}

// validSendableCode reports whether a status code may appear in a Close
// frame (RFC 6455 §7.4).
func validSendableCode(code int) bool {
	switch {
	case code >= 3000 && code <= 4999:
		return true
	case code >= 1000 && code <= 1014:
		return code != 1004 && code != 1005 && code != 1006
	}
	return false
}
