package casekit

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net"
	"strings"
	"sync"
	"syscall"
	"time"
	"unicode/utf8"

	"github.com/wsharness/wsharness/wire"
	"github.com/wsharness/wsharness/wire/h2"
)

// Who started the close.
const (
	byNobody   = iota
	byHarness  // the harness sent Close first
	byPeer     // the peer under test sent Close first
	byPeerDrop // the peer dropped TCP without a Close
	// byHarnessFIN: the harness, as the server, closed its side of TCP
	// without a Close (CloseExpect.WithoutClose).
	byHarnessFIN
)

type closeFrame struct {
	code   *int
	reason string
}

// snapshot is the session state the judge reads.
type snapshot struct {
	trace                []Event
	violations           []string
	peerClose            *closeFrame
	closeSent            bool
	closeCausedByTimeout bool
	droppedAfterClose    bool
	initiator            int
	tcpClosed            bool
	tcpStory             string
	// peerDroppedTCP: the peer closed or reset TCP, not the harness;
	// tcpCloseDelay is how long after the harness's Close it did (0 when
	// the harness sent none).
	peerDroppedTCP bool
	tcpCloseDelay  time.Duration
	// peerKeptOpen: the peer kept TCP open for the whole linger.
	peerKeptOpen bool
	// gaveUpWaiting: the harness dropped TCP because no Close answered
	// its own.
	gaveUpWaiting bool
	// peer is the role of the implementation under test; the harness
	// plays the other.
	peer wire.Role
	// transport carries the connection's frames.
	transport wire.Transport
}

// say words text, written of TCP, for the connection's transport: over
// HTTP/2 the stream stands for TCP, END_STREAM for a FIN (RFC 8441 §5).
func (s snapshot) say(text string) string { return sayFor(s.transport, text) }

func (s *session) say(text string) string { return sayFor(s.conn.Transport(), text) }

func sayFor(t wire.Transport, text string) string {
	if t != wire.HTTP2 {
		return text
	}
	return strings.NewReplacer("(FIN)", "(END_STREAM)", "TCP closed by", t.Carrier()+" ended (END_STREAM) by", "TCP", t.Carrier()).Replace(text)
}

func (s snapshot) closeStory() string {
	var who string
	switch s.initiator {
	case byHarness:
		who = fmt.Sprintf("the %s sent Close first", s.peer.Peer())
	case byPeer:
		who = fmt.Sprintf("the %s sent Close first", s.peer)
	case byPeerDrop:
		who = fmt.Sprintf(s.say("the %s dropped TCP without a Close"), s.peer)
	case byHarnessFIN:
		who = fmt.Sprintf(s.say("the %s closed its side of TCP without a Close"), s.peer.Peer())
	default:
		who = "nobody sent Close"
	}
	code := fmt.Sprintf("no Close frame from the %s", s.peer)
	if s.peerClose != nil {
		code = fmt.Sprintf("%s Close with no code", s.peer)
		if s.peerClose.code != nil {
			code = fmt.Sprintf("%s Close code %d reason %q", s.peer, *s.peerClose.code, s.peerClose.reason)
		}
	}
	return fmt.Sprintf("%s; %s; %s", who, code, s.tcpStory)
}

// session is one running case connection: a reader goroutine that decodes
// the peer's frames into events, and the script side that writes.
type session struct {
	conn *wire.Conn
	// peer is the role of the implementation under test (the connection's
	// other end).
	peer   wire.Role
	log    *wire.Log
	opened time.Time
	// codec encodes what steps compose and decodes server messages: the
	// negotiated extension (permessage-deflate), or Identity.
	codec Codec
	// readDeadline bounds the reader whatever the server does.
	readDeadline time.Time
	// live hears every frame the peer sends (nil: nobody listens).
	live *Liveness
	// pongKeys masks the reader's Pongs: a stream of their own, so that
	// the script's frames get the same keys however the server's Pings
	// interleave with them.
	pongKeys *wire.KeyStream

	changed    chan struct{} // signalled on every state change
	ended      chan struct{} // closed when the reader ends
	peerClosed chan struct{} // closed on the server's Close frame
	closeOnce  sync.Once

	mu                sync.Mutex
	trace             []Event
	traceBytes        int
	violations        []string
	moreViolations    int
	peerClose         *closeFrame
	closeSent         bool
	initiator         int
	tcpClosed         bool
	tcpStory          string
	droppedByHarness  bool
	timedOut          bool
	droppedAfterClose bool
	peerDroppedTCP    bool
	peerKeptOpen      bool
	gaveUpWaiting     bool
	closeSentAt       time.Time // when the harness sent its Close
	tcpCloseDelay     time.Duration
}

func newSession(c *wire.Conn, log *wire.Log, ceiling time.Duration) *session {
	now := time.Now()
	return &session{
		conn: c, peer: c.Role().Peer(), log: log, opened: now, readDeadline: now.Add(ceiling), codec: Identity{}, pongKeys: c.Keys().Derive("pongs"),
		changed: make(chan struct{}, 1), ended: make(chan struct{}), peerClosed: make(chan struct{}),
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
		peerClose: s.peerClose, closeSent: s.closeSent,
		closeCausedByTimeout: s.timedOut && s.initiator == byHarness,
		droppedAfterClose:    s.droppedAfterClose,
		initiator:            s.initiator, tcpClosed: s.tcpClosed, tcpStory: s.tcpStory,
		peerDroppedTCP: s.peerDroppedTCP, tcpCloseDelay: s.tcpCloseDelay, peerKeptOpen: s.peerKeptOpen, gaveUpWaiting: s.gaveUpWaiting,
		peer: s.peer, transport: s.conn.Transport(),
	}
}

// open reports whether the connection is still OPEN: no Close from the
// server and TCP up.
func (s *session) open() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.peerClose == nil && !s.tcpClosed
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
	case <-s.peerClosed:
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
		s.log.Note(s.say("more than %d violations: the %s stops reading and drops TCP"), maxViolations, s.peer.Peer())
		s.drop()
	}
}

// violateAll records each violation found before the session began (in
// the client's opening handshake request).
func (s *session) violateAll(found []string) {
	for _, v := range found {
		s.violate("%s's opening handshake request: %s", s.peer, v)
	}
}

// harnessClosing records that a Close frame is about to be sent by a step.
func (s *session) harnessClosing() {
	s.mu.Lock()
	defer s.mu.Unlock()
	if !s.closeSent {
		s.closeSent = true
		s.closeSentAt = time.Now()
		if s.initiator == byNobody {
			s.initiator = byHarness
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
	s.harnessClosing()
	if err := s.conn.WriteFrames(ctx, []wire.Frame{wire.Close(code, "")}, wire.OneWrite); err != nil {
		s.writeFailed(err)
	}
	s.signal()
}

// replyClose answers the peer's Close: with its code when that is one a
// Close may carry, else with an empty body.
func (s *session) replyClose(ctx context.Context, cf *closeFrame) {
	f := wire.NewFrame(wire.OpClose, nil)
	if cf.code != nil && validSendableCode(*cf.code) {
		f = wire.Close(uint16(*cf.code), "")
	}
	s.harnessClosing()
	if err := s.conn.WriteFrames(ctx, []wire.Frame{f}, wire.OneWrite); err != nil {
		s.writeFailed(err)
	}
	s.signal()
}

func (s *session) writeFailed(err error) {
	s.log.Note("write failed: %v", err)
	s.signal()
}

// drop closes TCP from the harness's side.
func (s *session) drop() { s.dropTCP(false) }

// dropAfterClose drops TCP because the peer, a server, kept it open after
// the closing handshake, which the judge weighs.
func (s *session) dropAfterClose() { s.dropTCP(true) }

func (s *session) dropTCP(afterClose bool) {
	s.mu.Lock()
	s.droppedByHarness = true
	s.droppedAfterClose = s.droppedAfterClose || afterClose
	if !s.tcpClosed {
		s.tcpStory = fmt.Sprintf(s.say("TCP dropped by the %s"), s.peer.Peer())
	}
	s.mu.Unlock()
	_ = s.conn.Close()
}

// giveUpWaiting drops TCP because no Close answered the harness's.
func (s *session) giveUpWaiting() {
	s.mu.Lock()
	s.gaveUpWaiting = true
	s.mu.Unlock()
	s.drop()
}

// halfClose ends the harness's side of TCP with a FIN and no Close
// frame; it keeps reading what the peer does next.
func (s *session) halfClose() {
	s.mu.Lock()
	if s.initiator == byNobody {
		s.initiator = byHarnessFIN
	}
	s.mu.Unlock()
	s.log.Note(s.say("the %s closes its side of TCP (FIN) without a Close frame"), s.peer.Peer())
	if err := s.conn.CloseWrite(); err != nil {
		s.log.Note("half-close failed: %v", err)
	}
}

// linger keeps TCP open up to d once the harness, as the server, has
// ended the WebSocket connection: it writes frames (a server breaking
// §5.5.1 on purpose), waits for the peer to close TCP, and drops it
// itself when d runs out.
func (s *session) linger(ctx context.Context, d time.Duration, frames []wire.Frame, after string) {
	s.log.Note(s.say("the %s keeps TCP open up to %v %s, to see what the %s does"), s.peer.Peer(), d, after, s.peer)
	if len(frames) > 0 {
		if err := s.conn.WriteFrames(ctx, frames, wire.OneWrite); err != nil {
			s.writeFailed(err)
		}
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-s.ended:
		return
	case <-ctx.Done():
		s.log.Note("case cancelled: %v", ctx.Err())
	case <-t.C:
		s.mu.Lock()
		s.peerKeptOpen = true
		s.mu.Unlock()
		s.log.Note(s.say("the %s kept TCP open for %v %s: the %s drops it"), s.peer, d, after, s.peer.Peer())
	}
	s.drop()
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
				s.violate("%s %s message of %d bytes: %v", s.peer, wire.OpName(first.Opcode), len(raw), err)
				return
			}
			if first.Opcode == wire.OpText && !utf8.Valid(msg) {
				s.violate("%s sent a text message that is not valid UTF-8 (RFC 6455 §5.6, §8.1)", s.peer)
			}
			s.push(Event{Kind: Message, Opcode: first.Opcode, Payload: msg})
		},
		ping: func(p []byte) {
			s.mu.Lock()
			closing := s.closeSent
			s.mu.Unlock()
			if !closing {
				// Masked with this key when the harness is the client.
				key := s.pongKeys.MaskKey()
				pong := wire.Pong(p)
				pong.Key = &key
				_ = s.conn.WriteFrames(context.Background(), []wire.Frame{pong}, wire.OneWrite)
			}
		},
		pong: func(p []byte) { s.push(PongOf(p)) },
	})
}

// A case's trace holds at most maxTraceEvents events and maxTraceBytes
// payload bytes: far more than any case expects, small enough that a
// peer flooding messages or pongs cannot exhaust memory. Past either, the
// harness stops reading and drops TCP.
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
		s.log.Note("the %s sent more than %d messages and pongs or %d bytes in them: the %s stops reading", s.peer, maxTraceEvents, maxTraceBytes, s.peer.Peer())
		s.drop()
	}
	s.signal()
}

// maxCloseReason is the longest reason a Close frame can carry (125 bytes
// of body less the 2-byte code).
const maxCloseReason = 123

func (s *session) peerCloseFrame(p []byte) {
	cf := &closeFrame{}
	switch {
	case len(p) == 1:
		s.violate("%s Close frame has a 1-byte body; a body starts with a 2-byte status code (RFC 6455 §5.5.1)", s.peer)
	case len(p) >= 2:
		code := int(binary.BigEndian.Uint16(p))
		cf.code = &code
		body := p[2:]
		shown := body[:min(len(body), maxCloseReason)]
		cf.reason = string(shown)
		if code == 1005 || code == 1006 || code == 1015 {
			s.violate("%s Close frame carries status code %d, which MUST NOT be sent in a Close frame (RFC 6455 §7.4.1)", s.peer, code)
		}
		if !utf8.Valid(body) {
			s.violate("%s Close reason is not valid UTF-8 (RFC 6455 §5.5.1)", s.peer)
			cf.reason = wire.Printable(shown)
		}
		if len(body) > len(shown) {
			// Only a broken peer sends this (a control frame carries at
			// most 125 bytes, §5.5); the report keeps the legal length.
			cf.reason += fmt.Sprintf("… (%d bytes in all)", len(body))
		}
	}
	s.mu.Lock()
	if s.peerClose == nil {
		s.peerClose = cf
		if s.initiator == byNobody {
			s.initiator = byPeer
		}
	}
	s.mu.Unlock()
	s.closeOnce.Do(func() { close(s.peerClosed) })
	s.signal()
}

func (s *session) readEnded(err error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.tcpClosed = true
	if s.initiator == byNobody && !s.droppedByHarness {
		s.initiator = byPeerDrop
	}
	var tooLarge *wire.TooLargeError
	var reset *h2.ResetError
	var goneAway *h2.GoneAwayError
	defer func() {
		if s.peerDroppedTCP && s.closeSent {
			s.tcpCloseDelay = time.Since(s.closeSentAt)
		}
	}()
	switch {
	case s.droppedByHarness:
		if s.tcpStory == "" {
			s.tcpStory = fmt.Sprintf(s.say("TCP dropped by the %s"), s.peer.Peer())
		}
	case errors.As(err, &tooLarge):
		s.tcpStory = "stopped reading: " + err.Error()
		s.violations = append(s.violations, fmt.Sprintf("%s sent a frame declaring %d payload bytes; no case expects more than 16 MiB", s.peer, tooLarge.Declared))
		_ = s.conn.Close()
	case errors.Is(err, io.EOF):
		s.tcpStory = fmt.Sprintf(s.say("TCP closed by the %s"), s.peer)
		s.peerDroppedTCP = true
	case errors.Is(err, io.ErrUnexpectedEOF):
		s.tcpStory = fmt.Sprintf(s.say("TCP closed by the %s in the middle of a frame"), s.peer)
		s.peerDroppedTCP = true
	case errors.Is(err, syscall.ECONNRESET):
		s.tcpStory = fmt.Sprintf(s.say("TCP reset by the %s"), s.peer)
		s.peerDroppedTCP = true
	case errors.As(err, &reset):
		// RFC 8441 §5: RST_STREAM stands for a TCP reset.
		s.tcpStory = fmt.Sprintf("the HTTP/2 stream reset by the %s (RST_STREAM %v)", s.peer, reset.Code)
		s.peerDroppedTCP = true
	case errors.As(err, &goneAway):
		s.tcpStory = fmt.Sprintf("the HTTP/2 stream ended by the %s's GOAWAY (last stream %d, %v)", s.peer, goneAway.LastStreamID, goneAway.Code)
		s.peerDroppedTCP = true
	case isTimeout(err):
		s.tcpStory = fmt.Sprintf("%s stopped reading: case time limit reached", s.peer.Peer())
		_ = s.conn.Close()
	default:
		s.tcpStory = s.say("TCP ended: ") + err.Error()
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
