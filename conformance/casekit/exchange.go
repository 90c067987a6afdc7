package casekit

// Exchange runs round-trip cases (Autobahn 9.x, 12.x, 13.x): N messages,
// each sent only after the previous echo arrived and was checked for type,
// length and content, then a polite close judged like a Script's.
//
// The message-transformation hook is Codec. Exchange.Negotiate reads the
// server's 101 response and returns the Codec of the connection (nil
// Negotiate: Identity). The loop calls Codec.Encode for every message it
// sends, in send order, Codec.Decode for every message the server sends, in
// receive order, and Codec.AllowedRSV for every server frame, so a stateful
// codec (permessage-deflate with context takeover) sees both streams in
// wire order. Verifying, timing, logging and closing do not depend on it.

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/wsharness/wsharness/internal/numtext"
	"github.com/wsharness/wsharness/results"
	"github.com/wsharness/wsharness/wire"
	"github.com/wsharness/wsharness/wire/handshake"
)

// Codec turns messages into frames and server messages back into data.
type Codec interface {
	// Encode returns the masked frames that carry one message, each with
	// at most frameSize payload bytes (0: a single frame).
	Encode(op byte, payload []byte, frameSize int) []wire.Frame
	// Decode returns the data of a message the server sent: first is the
	// header of its first frame, payload its frames' payloads joined. An
	// error fails the case; the result must stay within MaxMessage bytes.
	Decode(first wire.Header, payload []byte) ([]byte, error)
	// AllowedRSV returns the RSV bits a server frame may carry (for
	// Header.Violations); first reports that it starts a data message.
	AllowedRSV(h wire.Header, first bool) byte
}

// ErrNotNegotiated, wrapped in Negotiate's error, means the server did not
// accept the offered extension: the case is UNIMPLEMENTED, not FAILED. Any
// other Negotiate error (an invalid answer) is FAILED.
var ErrNotNegotiated = errors.New("extension not negotiated")

// Identity is the Codec of a connection without extensions.
type Identity struct{}

// Encode fragments the message as it is.
func (Identity) Encode(op byte, payload []byte, frameSize int) []wire.Frame {
	return Fragments(op, payload, frameSize, 0)
}

// Decode returns the payload as it is.
func (Identity) Decode(_ wire.Header, payload []byte) ([]byte, error) { return payload, nil }

// AllowedRSV allows no RSV bit.
func (Identity) AllowedRSV(wire.Header, bool) byte { return 0 }

// Fragments cuts payload into masked frames of at most frameSize bytes (0:
// one frame), with rsv on the first frame only (RFC 7692 §6.1).
func Fragments(op byte, payload []byte, frameSize int, rsv byte) []wire.Frame {
	if frameSize <= 0 || len(payload) <= frameSize {
		f := wire.NewFrame(op, payload)
		f.RSV = rsv
		return []wire.Frame{f}
	}
	frames := make([]wire.Frame, 0, (len(payload)+frameSize-1)/frameSize)
	for off := 0; off < len(payload); off += frameSize {
		end := min(off+frameSize, len(payload))
		f := wire.Continuation(payload[off:end], end == len(payload))
		if off == 0 {
			f.Opcode, f.RSV = op, rsv
		}
		frames = append(frames, f)
	}
	return frames
}

// MaxMessage bounds a message the server sends, reassembled or decoded: no
// case sends more than 16 MiB.
const MaxMessage = wire.DefaultMaxPayload

// ExchangePacingBudget bounds how long an exchange's chopped writes wait
// for the server to read each chunk (wire.Pacing): 9.5 and 9.6 write 1 MiB
// in up to 16,384 chunks, which the standard targets read one by one in 2
// to 10 s. The exchange's deadline bounds the wait too.
const ExchangePacingBudget = 30 * time.Second

// ExchangeTimeout is the exchange timer when Exchange.Timeout is 0.
const ExchangeTimeout = 60 * time.Second

// Exchange is a round-trip case.
type Exchange struct {
	// Edit changes the opening handshake request (an extension offer).
	Edit func(*handshake.Request)
	// Negotiate returns the Codec for the server's 101 response; nil means
	// Identity.
	Negotiate func(resp *handshake.Response) (Codec, error)
	// Answer answers the client's permessage-deflate offers when the
	// harness is the server; nil answers none. A client without an offer
	// it can answer gets UNIMPLEMENTED.
	Answer DeflateAnswer
	// N messages are sent; Message builds message i (from 0) when it is
	// due, so a long series is never held at once. The payload is kept
	// until its echo is checked and Message is called again only then, so
	// it may reuse one buffer.
	N       int
	Message func(i int) (op byte, payload []byte)
	// FrameSize fragments each message into frames of this many payload
	// bytes (0: one frame); Chop writes in TCP writes of this many bytes.
	FrameSize int
	Chop      int
	// Timeout covers all round trips (scaled by Env.TimeScale); 0 means
	// ExchangeTimeout.
	Timeout time.Duration
	// Refused is the verdict when the server closes with 1009 (message too
	// big) instead of echoing: RFC 6455 §7.4.1 lets it limit message size.
	// "" means INFORMATIONAL.
	Refused results.Verdict
	// MaskKeys, when set, judges the masking keys of every frame the
	// client sent (up to maxMaskKeys), in order: a verdict that can only
	// make the exchange's worse, and the measurement for the observed
	// text.
	MaskKeys func(keys [][4]byte) (verdict results.Verdict, note string)
}

// maxMaskKeys bounds the masking keys an exchange keeps (256 KiB).
const maxMaskKeys = 1 << 16

// Limits of what an exchange records, so neither the wire log nor the
// trace grows with N or the message size.
const (
	// loggedEntries frame or write entries per direction are logged at
	// the start and again for the last message; the rest are counted.
	loggedEntries = 8
	// firstEchoes and lastEchoes are listed in the events.
	firstEchoes = 3
	lastEchoes  = 2
	// bulkChop cuts unchopped writes so each chunk gets its own write
	// deadline: a slow reader is bounded by the case timer, not by the
	// deadline of one 16 MiB write.
	bulkChop = 256 << 10
)

// Why the round trips stopped before the last echo.
const (
	stopNone = iota
	stopWrong
	stopClosed
	stopTimeout
	stopWriteTimeout
	stopCancelled
)

// Run dials, negotiates, runs the round trips and closes.
func (x Exchange) Run(ctx context.Context, env Env) results.Case {
	log := wire.NewLog()
	c, failed := env.connect(ctx, log, opening{edit: x.Edit, pacingBudget: ExchangePacingBudget, answer: x.Answer})
	if failed != nil {
		return *failed
	}
	conn := c.conn
	out := results.Case{Handshake: c.handshake}
	timeout := env.Scaled(x.timeout())
	// The reader outlives the round trips by the closing handshake.
	sess := newSession(conn, log, timeout+3*env.Scaled(CloseTimeout))
	sess.live = env.Liveness
	var codec Codec = Identity{}
	var negotiation error
	switch {
	case c.declined != "":
		negotiation = fmt.Errorf("%w: %s", ErrNotNegotiated, c.declined)
		log.Note("extension negotiation: %v", negotiation)
	case c.deflate != nil && env.Peer == wire.Client:
		codec = NewDeflateCodec(*c.deflate, wire.Server)
	case x.Negotiate != nil && env.Peer == wire.Server:
		if nc, err := x.Negotiate(c.response); err != nil {
			negotiation = err
			log.Note("extension negotiation: %v", err)
		} else if nc != nil {
			codec = nc
		}
	}
	sess.codec = codec
	sess.violateAll(c.problems)
	e := &echoes{sess: sess, codec: codec, pongs: make(chan []byte, 8), keepKeys: x.MaskKeys != nil}
	go e.loop()

	r := roundTrips{Exchange: x, e: e, timeout: timeout}
	if negotiation == nil {
		r.run(ctx)
	}
	closer := Script{Judge: nothingMoreExpected, Close: CloseExpect{Codes: []int{1000}, RequireClean: true}}
	switch r.stop {
	case stopTimeout:
		log.Note("timer expired after %s with %d of %d echoes: %s starts the closing handshake", numtext.Duration(timeout), r.matched(), x.N, sess.peer.Peer())
		sess.timedOutClosing(ctx)
	case stopCancelled:
		log.Note("case cancelled: %v", ctx.Err())
		sess.drop()
	}
	if r.stop != stopWriteTimeout && r.stop != stopCancelled {
		closer.finish(ctx, env, sess)
	}
	sess.wait()
	_ = conn.Close()

	st := sess.snapshot()
	out.Events = e.events()
	out.Wirelog = log.Entries()
	out.DurationMS = ms(r.took)
	if st.peerClose != nil {
		out.RemoteCloseCode = st.peerClose.code
		out.RemoteCloseReason = st.peerClose.reason
	}
	r.judge(env, st, closer, negotiation, &out)
	return out
}

func (x Exchange) timeout() time.Duration {
	if x.Timeout == 0 {
		return ExchangeTimeout
	}
	return x.Timeout
}

// nothingMoreExpected judges the closing phase of an exchange: the round
// trips are over and judged, so the trace is final at once and the
// harness closes.
func nothingMoreExpected([]Event) (results.Verdict, bool) { return results.OK, true }

// roundTrips is the sending side of an exchange.
type roundTrips struct {
	Exchange
	e       *echoes
	timeout time.Duration

	stop    int
	sent    int   // messages completely written
	bytes   int64 // payload bytes sent
	current int   // size of the message being sent or awaited
	// took sums the round trips, from the first write of each message to
	// its echo checked; elapsed also counts building the messages.
	took, elapsed time.Duration
}

func (r *roundTrips) matched() int {
	r.e.mu.Lock()
	defer r.e.mu.Unlock()
	return r.e.matched
}

func (r *roundTrips) run(ctx context.Context) {
	log := r.e.sess.log
	split := wire.Chops(r.Chop)
	if r.Chop <= 0 {
		split = wire.Split{Chop: bulkChop}
	}
	log.Limit(wire.Outbound, loggedEntries)
	log.Limit(wire.Inbound, loggedEntries)
	started := time.Now()
	deadline := started.Add(r.timeout)
	timer := time.NewTimer(r.timeout)
	defer timer.Stop()
	for i := 0; i < r.N; i++ {
		if i == r.N-1 && i > 0 {
			r.noteUnlogged("messages 1–" + fmt.Sprint(i))
			log.Limit(wire.Outbound, loggedEntries)
			log.Limit(wire.Inbound, loggedEntries)
		}
		op, payload := r.Message(i)
		frames := r.e.codec.Encode(op, payload, r.FrameSize)
		r.e.expect(i, op, payload)
		r.current = len(payload)
		r.answerPings(ctx)
		t0 := time.Now()
		r.stop = r.write(ctx, frames, split, deadline)
		if r.stop == stopNone {
			r.sent++
			r.bytes += int64(len(payload))
			r.stop = r.await(ctx, i+1, timer)
		}
		r.took += time.Since(t0)
		if r.stop != stopNone {
			break
		}
	}
	r.elapsed = time.Since(started)
	r.noteUnlogged("the round trips")
	log.Limit(wire.Outbound, -1)
	log.Limit(wire.Inbound, -1)
}

// noteUnlogged records how many wire-log entries Limit left out.
func (r *roundTrips) noteUnlogged(what string) {
	log := r.e.sess.log
	tx, rx := log.Unlogged(wire.Outbound), log.Unlogged(wire.Inbound)
	if tx+rx > 0 {
		log.Note("wire log of %s shortened: %d tx and %d rx entries not logged", what, tx, rx)
	}
}

// write sends one message's frames. A server that stops reading cannot
// hold the case past its deadline: stalledWriteDrop drops TCP then, since
// no Close can be sent in the middle of a frame.
func (r *roundTrips) write(ctx context.Context, frames []wire.Frame, split wire.Split, deadline time.Time) int {
	sess, n := r.e.sess, r.sent+1
	stalledWriteDrop := time.AfterFunc(time.Until(deadline), func() {
		sess.log.Note(sess.say("timer expired in the middle of message %d: %s drops TCP"), n, sess.peer.Peer())
		sess.drop()
	})
	err := sess.conn.WriteFrames(ctx, frames, split)
	if !stalledWriteDrop.Stop() { // it fired: the write stalled
		return stopWriteTimeout
	}
	if err == nil {
		return stopNone
	}
	sess.writeFailed(err)
	if ctx.Err() != nil {
		return stopCancelled
	}
	// The reason is usually the server's Close or TCP drop, which the
	// reader has yet to see.
	select {
	case <-sess.peerClosed:
	case <-sess.ended:
	case <-time.After(CloseTimeout):
	}
	return stopClosed
}

// await waits until `want` echoes matched, or the exchange must stop.
func (r *roundTrips) await(ctx context.Context, want int, timer *time.Timer) int {
	sess := r.e.sess
	for {
		r.e.mu.Lock()
		matched, wrong := r.e.matched, r.e.wrong
		r.e.mu.Unlock()
		switch {
		case wrong != "":
			return stopWrong
		case matched >= want:
			return stopNone
		case !sess.open():
			return stopClosed
		}
		select {
		case <-ctx.Done():
			return stopCancelled
		case <-sess.changed:
		case p := <-r.e.pongs:
			r.pong(ctx, p)
		case <-timer.C:
			return stopTimeout
		}
	}
}

// answerPings answers the pings that arrived while a message was written.
func (r *roundTrips) answerPings(ctx context.Context) {
	for {
		select {
		case p := <-r.e.pongs:
			r.pong(ctx, p)
		default:
			return
		}
	}
}

// pong is written by the sending goroutine only, so it never lands inside
// a message being written in chops.
func (r *roundTrips) pong(ctx context.Context, p []byte) {
	if err := r.e.sess.conn.WriteFrames(ctx, []wire.Frame{wire.Pong(p)}, wire.OneWrite); err != nil {
		r.e.sess.writeFailed(err)
	}
}

// judge fills the verdicts and the observed text.
func (r *roundTrips) judge(env Env, st snapshot, closer Script, negotiation error, out *results.Case) {
	r.e.mu.Lock()
	matched, wrong := r.e.matched, r.e.wrong
	r.e.mu.Unlock()
	closeVerdict, closeNote := closer.judgeClose(env, st)
	verdict := results.OK
	var notes []string
	refused := st.peerClose != nil && st.peerClose.code != nil && *st.peerClose.code == 1009 && st.initiator == byPeer
	switch {
	case negotiation != nil && errors.Is(negotiation, ErrNotNegotiated):
		verdict = results.Unimplemented
		notes = append(notes, "not run: "+negotiation.Error())
	case negotiation != nil:
		verdict = results.Failed
		notes = append(notes, "extension negotiation failed: "+negotiation.Error())
	case wrong != "":
		verdict = results.Failed
		notes = append(notes, wrong)
	case matched == r.N:
	case refused:
		verdict = r.Refused
		if verdict == "" {
			verdict = results.Informational
		}
		notes = append(notes, fmt.Sprintf("the %s refused message %d (%d bytes) with Close 1009, message too big: RFC 6455 §7.4.1 lets an endpoint limit the size of the messages it accepts", st.peer, matched+1, r.current))
		closeVerdict, closeNote = results.CloseOK, ""
	case r.stop == stopTimeout || r.stop == stopWriteTimeout:
		verdict = results.Failed
		notes = append(notes, fmt.Sprintf("timed out: %d of %d echoes in %s (the case allows %s)", matched, r.N, numtext.Duration(r.elapsed), numtext.Duration(r.timeout)))
		if r.stop == stopWriteTimeout {
			notes = append(notes, fmt.Sprintf("the %s stopped reading: message %d was still being written", st.peer, r.sent+1))
			closeVerdict, closeNote = results.CloseOK, fmt.Sprintf(st.say("the %s dropped TCP in the middle of a message, where no Close can be sent; the close is not graded"), st.peer.Peer())
		}
	case r.stop == stopCancelled:
		verdict = results.Failed
		notes = append(notes, fmt.Sprintf("case cancelled after %d of %d echoes", matched, r.N))
	default:
		verdict = results.Failed
		notes = append(notes, fmt.Sprintf("the %s ended the exchange after %d of %d echoes, with no Close 1009 to explain it (an echo endpoint echoes every message): %s", st.peer, matched, r.N, st.closeStory()))
	}
	if len(st.violations) > 0 {
		verdict = results.Failed
		notes = append(notes, st.violations...)
	}
	if r.MaskKeys != nil {
		keyVerdict, note := r.MaskKeys(r.e.maskKeys())
		switch {
		case keyVerdict == results.Failed, verdict == results.OK:
			verdict = keyVerdict
		}
		notes = append(notes, note)
	}
	if closeNote != "" {
		notes = append(notes, closeNote)
	}
	if st.droppedAfterClose && verdict == results.OK {
		verdict = results.NonStrict
		notes = append(notes, st.say("the server did not close TCP after the closing handshake; the client had to (RFC 6455 §7.1.1: the server SHOULD close first)"))
	}
	out.Verdict, out.CloseVerdict = verdict, closeVerdict
	summary := "no message sent"
	if negotiation == nil {
		summary = r.summary(matched)
	}
	summary += "; " + st.closeStory()
	if len(notes) > 0 {
		summary = strings.Join(notes, "\n") + "\n" + summary
	}
	out.Observed = summary
}

// summary states what was measured: round trips, bytes and time.
func (r *roundTrips) summary(matched int) string {
	switch {
	case r.N == 0:
		return "no message to send"
	case matched < r.N:
		return fmt.Sprintf("%d of %d round trips completed in %s", matched, r.N, numtext.Duration(r.took))
	case r.N == 1:
		return fmt.Sprintf("1 round trip of %d bytes in %s", r.bytes, numtext.Duration(r.took))
	}
	each := r.took / time.Duration(r.N)
	return fmt.Sprintf("%d round trips in %s, %s each (%d payload bytes each way)", r.N, numtext.Duration(r.took), numtext.Duration(each), r.bytes)
}

// echoes is the receiving side: it reassembles and decodes server
// messages, checks each against the message whose echo is due, answers
// nothing itself (pings are queued for the sending side) and keeps only a
// summary of what it saw.
type echoes struct {
	sess  *session
	codec Codec
	pongs chan []byte

	mu       sync.Mutex
	want     *wanted
	matched  int
	received int
	wrong    string // the first echo that was not what was sent
	head     []string
	tail     []string
	unlisted int
	// keepKeys: keys collects the masking key of every masked frame.
	keepKeys bool
	keys     [][4]byte
}

// wanted is the message whose echo is due.
type wanted struct {
	i       int
	op      byte
	payload []byte
}

func (e *echoes) expect(i int, op byte, payload []byte) {
	e.mu.Lock()
	e.want = &wanted{i: i, op: op, payload: payload}
	e.mu.Unlock()
}

// loop reads frames until TCP ends. It never writes: a pong written here
// could land inside a message the sending side is writing in chops.
func (e *echoes) loop() {
	s := e.sess
	s.readFrames(frameSink{
		message: e.check,
		ping: func(p []byte) {
			select {
			case e.pongs <- p:
			default: // a ping flood: §5.5.3 allows answering only the latest
			}
			s.signal()
		},
		pong:   func([]byte) {}, // pongs need no answer
		header: e.header,
	})
}

// header keeps the frame's masking key when the exchange judges them.
func (e *echoes) header(h wire.Header) {
	if !e.keepKeys || !h.Masked {
		return
	}
	e.mu.Lock()
	if len(e.keys) < maxMaskKeys {
		e.keys = append(e.keys, h.Key)
	}
	e.mu.Unlock()
}

// maskKeys returns the masking keys kept so far.
func (e *echoes) maskKeys() [][4]byte {
	e.mu.Lock()
	defer e.mu.Unlock()
	return slices.Clone(e.keys)
}

// check compares a complete message from the peer with the echo that is due.
func (e *echoes) check(first wire.Header, raw []byte) {
	payload, derr := e.codec.Decode(first, raw)
	if derr != nil {
		payload = raw
	}
	ev := Event{Kind: Message, Opcode: first.Opcode, Payload: payload}
	e.mu.Lock()
	w := e.want
	e.want = nil
	e.received++
	var problem string
	switch {
	case derr != nil:
		problem = fmt.Sprintf("message %d from the %s cannot be decoded: %v", e.received, e.sess.peer, derr)
	case w == nil:
		problem = fmt.Sprintf("the %s sent message %d, %s, when no echo was due (an echo endpoint sends each message back once)", e.sess.peer, e.received, ev)
	default:
		problem = compareEcho(w, first.Opcode, payload)
	}
	if problem == "" {
		e.matched++
	} else if e.wrong == "" {
		e.wrong = problem
	}
	e.list(ev.String())
	e.mu.Unlock()
	e.sess.signal()
}

// list keeps the first and last echoes for the trace; e.mu is held.
func (e *echoes) list(s string) {
	s = fmt.Sprintf("#%d %s", e.received, s)
	if len(e.head) < firstEchoes {
		e.head = append(e.head, s)
		return
	}
	e.tail = append(e.tail, s)
	if len(e.tail) > lastEchoes {
		e.tail = e.tail[1:]
		e.unlisted++
	}
}

// events is the short trace: the first echoes, a count, the last ones.
func (e *echoes) events() []string {
	e.mu.Lock()
	defer e.mu.Unlock()
	out := append([]string{}, e.head...)
	if e.unlisted > 0 {
		out = append(out, fmt.Sprintf("… %d more messages not listed", e.unlisted))
	}
	return append(out, e.tail...)
}

// compareEcho says how an echo differs from the message sent, "" when it
// does not. Large payloads also get SHA-256 prefixes, to tell them apart.
func compareEcho(w *wanted, op byte, got []byte) string {
	n := w.i + 1
	if op != w.op {
		return fmt.Sprintf("echo %d is a %s message of %d bytes; a %s message of %d bytes was sent (an echo has the type of the message sent)",
			n, wire.OpName(op), len(got), wire.OpName(w.op), len(w.payload))
	}
	at := firstDiff(w.payload, got)
	if len(got) != len(w.payload) {
		same := "identical up to the shorter length"
		if at >= 0 {
			same = fmt.Sprintf("first difference at byte %d", at)
		}
		return fmt.Sprintf("echo %d has %d bytes; %d were sent (%s)%s", n, len(got), len(w.payload), same, digests(w.payload, got))
	}
	if at < 0 {
		return ""
	}
	return fmt.Sprintf("echo %d has the type and length sent (%s, %d bytes) but different content: first difference at byte %d (sent 0x%02x, received 0x%02x)%s",
		n, wire.OpName(op), len(got), at, w.payload[at], got[at], digests(w.payload, got))
}

// firstDiff returns the first offset where a and b differ within their
// common length, or -1.
func firstDiff(a, b []byte) int {
	n := min(len(a), len(b))
	const block = 4096
	for off := 0; off < n; off += block {
		end := min(off+block, n)
		if bytes.Equal(a[off:end], b[off:end]) {
			continue
		}
		for i := off; i < end; i++ {
			if a[i] != b[i] {
				return i
			}
		}
	}
	return -1
}

func digests(sent, got []byte) string {
	if len(sent) <= 4096 && len(got) <= 4096 {
		return ""
	}
	s, g := sha256.Sum256(sent), sha256.Sum256(got)
	return fmt.Sprintf("; SHA-256 sent %s…, received %s…", hex.EncodeToString(s[:6]), hex.EncodeToString(g[:6]))
}
