package casekit

import (
	"context"
	"crypto/tls"
	"fmt"
	"strings"
	"time"

	"github.com/wsharness/wsharness/conformance/browser"
	"github.com/wsharness/wsharness/results"
	"github.com/wsharness/wsharness/wire"
	"github.com/wsharness/wsharness/wire/handshake"
)

// Env is where and how a case runs.
type Env struct {
	// Peer is the role of the implementation under test: a wire.Server
	// (the zero value), which the harness dials at URL as a client, or a
	// wire.Client, whose connection for the case Incoming hands the
	// harness as the server.
	Peer wire.Role
	// URL is the server's echo endpoint (ws://... or wss://...).
	URL string
	// Incoming waits for the connection the client under test opens for
	// the case and reads its opening handshake request with o; the
	// harness then answers it. The error is returned when no request
	// arrived, with the Incoming when a connection did.
	Incoming func(ctx context.Context, o wire.AcceptOptions) (*wire.Incoming, error)
	// TLS configures the client of a wss:// URL (the CA to trust, or no
	// verification); nil verifies against the system roots.
	TLS *tls.Config
	// TimeScale multiplies every case timer (1 when zero), for slow
	// servers or a debugger; Autobahn's fixed timers are a known complaint.
	TimeScale float64
	// BroadcastURL is the server's broadcast endpoint, "" when it has none
	// (the browser family uses it).
	BroadcastURL string
	// Browser plays the browser family's scenarios in a real browser; the
	// family needs one.
	Browser browser.Runner
	// Keys is where the case's Sec-WebSocket-Key and masking keys come
	// from: the run's seed and the case's name, so a run replays byte for
	// byte. nil draws fresh random keys.
	Keys *wire.KeyStream
	// Liveness, when set, is shared by every case against the server: it
	// ends the run's remaining cases at once when the server stops
	// answering opening handshakes.
	Liveness *Liveness
}

// options returns the wire options of a case connection in env.
func (e Env) options(log *wire.Log, edit func(*handshake.Request)) wire.Options {
	return wire.Options{
		Log: log, Timeout: e.Scaled(HandshakeTimeout), Edit: edit, TLS: e.TLS, Keys: e.Keys, Pacing: e.pacing(0),
	}
}

// Scaled returns d multiplied by the environment's time scale.
func (e Env) Scaled(d time.Duration) time.Duration {
	if e.TimeScale <= 0 {
		return d
	}
	return time.Duration(float64(d) * e.TimeScale)
}

// Timers every script uses unless it sets its own.
const (
	// DefaultTimeout is how long after its last step a case waits for the
	// server to finish (echo, fail or close) before the client closes.
	DefaultTimeout = 2 * time.Second
	// CloseTimeout is how long the client waits for the server's Close
	// reply, and then for the server to drop TCP.
	CloseTimeout = 2 * time.Second
	// HandshakeTimeout bounds connect plus opening handshake.
	HandshakeTimeout = 5 * time.Second
)

// Bound is the longest a case whose own timer runs for timer (unscaled)
// can take, whatever the server does: the liveness probe before it, connect
// and handshake (each bounded by HandshakeTimeout), one write stalled by a server that stopped reading
// (wire.DefaultIOTimeout; later writes fail at once), the waits that keep
// chopped writes apart (the pacing budget), the case's timer, the default
// timer of the closing phase, the wait for the server's Close and for its
// TCP drop, the reader's drain (CloseTimeout, unscaled), and a second of
// scheduling margin.
func Bound(env Env, timer time.Duration) time.Duration {
	return env.Scaled(3*HandshakeTimeout+wire.DefaultPacing.Budget+timer+DefaultTimeout+2*CloseTimeout) + wire.DefaultIOTimeout + CloseTimeout + time.Second
}

// Step is one action of a script: send frames, or pause.
type Step struct {
	Frames []wire.Frame
	// Cuts, when set, write Frames as one byte stream in parts: up to each
	// cut's offset, then its pause and marker (as Wait), then the rest.
	Cuts  []Cut
	Split wire.Split
	// Pause waits this long; then, if the connection is still open,
	// Marker (when set) is appended to the trace.
	Pause  time.Duration
	Marker string
	// Compose, when set, builds the step's frames as it runs, with the
	// connection's Codec: a compressed message depends on what the
	// handshake negotiated and, with context takeover, on what was sent
	// before it.
	Compose func(Codec) []wire.Frame
}

// SendMessage is a step that sends one message through the connection's
// Codec (compressed when permessage-deflate was negotiated), in frames of
// at most frameSize payload bytes (0: one frame).
func SendMessage(split wire.Split, op byte, payload []byte, frameSize int) Step {
	return Step{Split: split, Compose: func(c Codec) []wire.Frame { return c.Encode(op, payload, frameSize) }}
}

// Send is a step that writes frames as split says.
func Send(split wire.Split, frames ...wire.Frame) Step { return Step{Frames: frames, Split: split} }

// Cut is where a SendCut step stops writing, and what it does there.
type Cut struct {
	// At is an offset in the payload of the step's first frame: the part
	// before it goes out with the frame's header, whose size depends on
	// the sender's role (a client's frames carry a masking key).
	At     int
	Pause  time.Duration
	Marker string
}

// SendCut is a step that encodes frames once and writes their bytes in
// parts, pausing at each cut: a frame whose header and payload arrive
// seconds apart.
func SendCut(frames []wire.Frame, cuts ...Cut) Step { return Step{Frames: frames, Cuts: cuts} }

// Wait is a step that pauses, then records marker if still open.
func Wait(d time.Duration, marker string) Step { return Step{Pause: d, Marker: marker} }

// CloseExpect is the close a case requires.
type CloseExpect struct {
	// ByPeer: the server must fail or close the connection; otherwise
	// the client closes once the expected events arrived.
	ByPeer bool
	// Codes the server may close with; an absent code is always accepted,
	// nil accepts any code.
	Codes []int
	// RequireClean: both Close frames must be exchanged.
	RequireClean bool
	// WrongCodeFatal turns WRONG CODE into a FAILED behaviour (7.x, where
	// the code is what is tested).
	WrongCodeFatal bool
	// WrongEndpointFatal turns a close by the wrong endpoint into a FAILED
	// behaviour (6.x invalid UTF-8).
	WrongEndpointFatal bool
	// AnyEndpoint accepts a close started by either side (cases where the
	// RFC lets the server choose between processing and failing).
	AnyEndpoint bool

	// The fields below judge a client, with the harness as the server
	// (the client-only server-close family).

	// Linger keeps TCP open up to this long (scaled) once the harness has
	// ended the WebSocket connection, instead of dropping it at once: after
	// the closing handshake, to see whether the client waits for the
	// server to close TCP (RFC 6455 §5.5.1, §7.1.1: it SHOULD; closing
	// within reasonableWait of its Close is NON-STRICT), and after
	// WithoutClose, to see whether it closes its side (INFORMATIONAL when
	// it does not).
	Linger time.Duration
	// WithoutClose ends the connection, once the trace is settled, with a
	// TCP FIN from the harness and no Close frame.
	WithoutClose bool
	// MustAnswer: a peer that neither answers the harness's Close nor
	// closes TCP before the harness gives up is FAILED (§5.5.1: it MUST
	// answer a Close, or fail the connection).
	MustAnswer bool
	// CodeRequired: a Close answer without a status code is WRONG CODE
	// (an answer that treats an invalid Close as a normal one).
	CodeRequired bool
}

// Judge decides a behaviour verdict from a trace. final reports that no
// further event can change the outcome, so the client may stop waiting.
type Judge func(trace []Event) (verdict results.Verdict, final bool)

// Script is a frame-level case.
type Script struct {
	// Edit changes the opening handshake request; Trailing frames are sent
	// in the same TCP write as the request (as the client) or the
	// response (as the server).
	Edit     func(*handshake.Request)
	Trailing []wire.Frame
	// Respond changes the harness's answer to a client's opening
	// handshake, and ResponseSplit cuts it (and Trailing) into writes.
	Respond       func(*handshake.ClientRequest, *handshake.ResponseHead)
	ResponseSplit wire.Split
	Steps         []Step
	// AfterClose frames are sent, on purpose against §5.5.1, once the
	// closing handshake is complete, while Close.Linger keeps TCP open.
	AfterClose []wire.Frame
	// OK and NonStrict list the traces that earn those verdicts; anything
	// else is FAILED. Judge, when set, replaces them.
	OK, NonStrict [][]Event
	Judge         Judge
	// Informational cases record behaviour the RFC leaves open.
	Informational bool
	// RequireDeflate: the case tests permessage-deflate, which its Edit
	// offers; a server that declines gets UNIMPLEMENTED, not a verdict.
	RequireDeflate bool
	// Answer answers the client's permessage-deflate offers when the
	// harness is the server; a client without an offer it can answer gets
	// UNIMPLEMENTED.
	Answer DeflateAnswer
	// Refusable, when set, says why the peer may fail the connection
	// instead of going on (a configuration RFC 7692 §7 lets it refuse): a
	// peer that does so before any event, with no violation, is
	// UNIMPLEMENTED rather than FAILED.
	Refusable string
	Close     CloseExpect
	// Timeout runs from the last step; 0 = DefaultTimeout.
	Timeout time.Duration
}

// Run executes the script on a connection to the peer under test.
func (s Script) Run(ctx context.Context, env Env) results.Case {
	started := time.Now()
	log := wire.NewLog()
	if env.Keys == nil {
		env.Keys = wire.RandomKeyStream()
	}
	c, failed := env.connect(ctx, log, opening{edit: s.Edit, trailing: s.Trailing, respond: s.Respond, split: s.ResponseSplit, answer: s.Answer})
	if failed != nil {
		failed.DurationMS = ms(time.Since(started))
		return *failed
	}
	conn := c.conn
	out := results.Case{Handshake: c.handshake}
	if (s.RequireDeflate && c.deflate == nil) || c.declined != "" {
		return declined(ctx, env, c, log, started)
	}
	sess := newSession(conn, log, env.Scaled(caseCeiling))
	sess.live = env.Liveness
	if c.deflate != nil {
		sess.codec = NewDeflateCodec(*c.deflate, conn.Role())
	}
	sess.violateAll(c.problems)
	go sess.readLoop()
	s.play(ctx, env, sess)
	s.finish(ctx, env, sess)
	sess.wait()
	// The reader has ended; when the server closed TCP first nothing else
	// closes the client's socket.
	_ = conn.Close()

	st := sess.snapshot()
	out.Events = eventStrings(st.trace)
	out.Wirelog = log.Entries()
	out.DurationMS = ms(time.Since(sess.opened))
	if st.peerClose != nil {
		out.RemoteCloseCode = st.peerClose.code
		out.RemoteCloseReason = st.peerClose.reason
	}
	s.judge(env, st, &out)
	return out
}

// caseCeiling bounds a whole case whatever the server does.
const caseCeiling = 5 * time.Minute

func (s Script) play(ctx context.Context, env Env, sess *session) {
	for _, st := range s.Steps {
		if !sess.open() {
			return
		}
		switch {
		case st.Pause > 0:
			if !sess.pause(ctx, env, st.Pause, st.Marker) {
				return
			}
		case st.Compose != nil:
			if err := sess.conn.WriteFrames(ctx, st.Compose(sess.codec), st.Split); err != nil {
				sess.writeFailed(err)
				return
			}
		case st.Cuts != nil:
			if !sess.writeCut(ctx, env, st) {
				return
			}
		default:
			for _, f := range st.Frames {
				// A Close with RSV bits set is a protocol error to be
				// failed, not the start of the closing handshake.
				if f.Opcode == wire.OpClose && f.RSV == 0 {
					sess.harnessClosing()
				}
			}
			if err := sess.conn.WriteFrames(ctx, st.Frames, st.Split); err != nil {
				sess.writeFailed(err)
				return
			}
		}
	}
}

// finish waits for the outcome: the harness closes when the expected
// events arrived, the trace went wrong, or the timer ran out; the peer
// must answer Close. Then the server drops TCP: the peer when it is the
// server, which the harness waits for, or the harness itself.
func (s Script) finish(ctx context.Context, env Env, sess *session) {
	timeout := s.Timeout
	if timeout == 0 {
		timeout = DefaultTimeout
	}
	timer := time.NewTimer(env.Scaled(timeout))
	defer timer.Stop()
	phase := phaseWaiting
	// A case that sends its Close among its steps (7.1.x) gives the server
	// its own timer, not just CloseTimeout, to work through what came
	// before the Close: 7.1.6 has 256 KiB to echo first, which a loaded
	// machine took more than 2 s over. Its waiting phase is then empty, so
	// the case stays within its bound.
	closeWait := env.Scaled(CloseTimeout)
	if sess.snapshot().closeSent {
		closeWait = env.Scaled(max(CloseTimeout, s.Timeout))
	}
	for {
		st := sess.snapshot()
		if st.tcpClosed {
			return
		}
		switch {
		case st.closeSent && st.peerClose != nil && sess.peer == wire.Client:
			// The server closes TCP first (RFC 6455 §7.1.1), and here the
			// harness is the server.
			if s.Close.Linger > 0 {
				sess.linger(ctx, env.Scaled(s.Close.Linger), s.AfterClose, "after the closing handshake")
				return
			}
			sess.log.Note("%s", sess.say("closing handshake complete: the server drops TCP first (RFC 6455 §7.1.1)"))
			sess.drop()
			return
		case st.closeSent && st.peerClose != nil:
			if phase != phaseDraining {
				phase = phaseDraining
				resetTimer(timer, env.Scaled(CloseTimeout))
			}
		case st.closeSent:
			if phase == phaseWaiting {
				phase = phaseClosing
				resetTimer(timer, closeWait)
			}
		case st.peerClose != nil:
			sess.replyClose(ctx, st.peerClose)
			continue
		default:
			if _, final := s.judgeTrace(st.trace); final && (!s.Close.ByPeer || !s.passes(st.trace)) {
				if s.Close.WithoutClose {
					sess.halfClose()
					sess.linger(ctx, env.Scaled(s.Close.Linger), nil, "after the server's FIN")
					return
				}
				sess.log.Note("%s starts the closing handshake: the trace is settled", sess.peer.Peer())
				sess.sendClose(ctx, 1000)
				continue
			}
		}
		select {
		case <-ctx.Done():
			sess.log.Note("case cancelled: %v", ctx.Err())
			sess.drop()
			return
		case <-sess.changed:
		case <-timer.C:
			switch phase {
			case phaseWaiting:
				sess.log.Note("timer expired after %v: %s starts the closing handshake", env.Scaled(timeout), sess.peer.Peer())
				sess.timedOutClosing(ctx)
			case phaseClosing:
				sess.log.Note(sess.say("no Close from the %s within %v: %s drops TCP"), sess.peer, closeWait, sess.peer.Peer())
				sess.giveUpWaiting()
				return
			default: // phaseDraining
				sess.log.Note(sess.say("server did not close TCP within %v after the closing handshake: client drops TCP"), env.Scaled(CloseTimeout))
				sess.dropAfterClose()
				return
			}
		}
	}
}

// finishPhase is how far finish has got in ending the connection; each
// phase has its own timer.
type finishPhase int

const (
	// phaseWaiting: the case's timer runs while the expected events arrive.
	phaseWaiting finishPhase = iota
	// phaseClosing: the harness's Close is sent; the peer's is awaited.
	phaseClosing
	// phaseDraining: both Close frames are sent; the server drops TCP.
	phaseDraining
)

func resetTimer(t *time.Timer, d time.Duration) {
	t.Stop()
	t.Reset(d)
}

// judgeTrace applies Judge or the OK/NonStrict lists.
func (s Script) judgeTrace(trace []Event) (results.Verdict, bool) {
	if s.Judge != nil {
		return s.Judge(trace)
	}
	return ListJudge(s.OK, s.NonStrict)(trace)
}

func (s Script) passes(trace []Event) bool {
	v, _ := s.judgeTrace(trace)
	return v != results.Failed
}

// ListJudge judges a trace against lists of passing traces: equal to an OK
// trace is OK, to a NonStrict one NON-STRICT, anything else FAILED. The
// outcome is final once no longer trace could earn a better verdict.
func ListJudge(ok, nonStrict [][]Event) Judge {
	return func(trace []Event) (results.Verdict, bool) {
		extendsTo := func(lists [][]Event) (equal, prefix bool) {
			for _, l := range lists {
				if equalTrace(trace, l) {
					equal = true
				} else if isPrefix(trace, l) {
					prefix = true
				}
			}
			return
		}
		okEq, okPre := extendsTo(ok)
		nsEq, nsPre := extendsTo(nonStrict)
		switch {
		case okEq:
			return results.OK, !okPre
		case nsEq:
			return results.NonStrict, !okPre
		}
		return results.Failed, !okPre && !nsPre
	}
}

// judge fills the verdicts and the observed text.
func (s Script) judge(env Env, st snapshot, out *results.Case) {
	var notes []string
	verdict, _ := s.judgeTrace(st.trace)
	if verdict == results.Failed {
		notes = append(notes, "unexpected events: expected "+s.expectedText()+", observed "+Trace(st.trace))
	}
	if s.Informational {
		verdict = results.Informational
	}
	if len(st.violations) > 0 {
		verdict = results.Failed
		notes = append(notes, st.violations...)
	}

	closeVerdict, closeNote := s.judgeClose(env, st)
	if s.refused(st) {
		out.Verdict, out.CloseVerdict = results.Unimplemented, results.CloseOK
		out.Observed = fmt.Sprintf("the %s failed the connection before any event: %s\nevents %s; %s", st.peer, s.Refusable, Trace(st.trace), st.closeStory())
		return
	}
	if closeNote != "" {
		notes = append(notes, closeNote)
	}
	switch {
	case closeVerdict == results.CloseWrongCode && s.Close.WrongCodeFatal && !s.Informational:
		verdict = results.Failed
	case closeVerdict == results.CloseFailed && s.Close.WrongEndpointFatal && !s.Informational:
		verdict = results.Failed
	}
	if st.droppedAfterClose && verdict == results.OK {
		verdict = results.NonStrict
		notes = append(notes, st.say("the server did not close TCP after the closing handshake; the client had to (RFC 6455 §7.1.1: the server SHOULD close first)"))
	}
	verdict, notes = s.judgeLinger(env, st, verdict, notes)
	out.Verdict, out.CloseVerdict = verdict, closeVerdict
	summary := fmt.Sprintf("events %s; %s", Trace(st.trace), st.closeStory())
	if len(notes) > 0 {
		summary = strings.Join(notes, "\n") + "\n" + summary
	}
	out.Observed = summary
}

// refused reports that a Refusable case's peer failed the connection
// before any event and broke nothing.
func (s Script) refused(st snapshot) bool {
	return s.Refusable != "" && len(st.trace) == 0 && len(st.violations) == 0 &&
		(st.initiator == byPeer || st.initiator == byPeerDrop)
}

func (s Script) expectedText() string {
	if s.Judge != nil {
		return "(see expectation)"
	}
	var parts []string
	for _, t := range s.OK {
		parts = append(parts, "OK "+Trace(t))
	}
	for _, t := range s.NonStrict {
		parts = append(parts, "NON-STRICT "+Trace(t))
	}
	return strings.Join(parts, " or ")
}

// judgeClose applies Autobahn's close rules in order: wrong endpoint,
// unclean, wrong code.
func (s Script) judgeClose(env Env, st snapshot) (results.CloseVerdict, string) {
	e := s.Close
	switch {
	case e.AnyEndpoint:
	case e.ByPeer && st.initiator == byHarness:
		if st.closeCausedByTimeout {
			return results.CloseFailed, fmt.Sprintf("the %s did not fail the connection within %v; it MUST", st.peer, env.Scaled(s.timeoutOrDefault()))
		}
		return results.CloseFailed, fmt.Sprintf("the %s did not fail the connection; the %s had to close it", st.peer, st.peer.Peer())
	case !e.ByPeer && (st.initiator == byPeer || st.initiator == byPeerDrop):
		return results.CloseFailed, fmt.Sprintf("the %s closed the connection before the %s's Close; it had to keep it open", st.peer, st.peer.Peer())
	}
	switch {
	case e.MustAnswer && st.gaveUpWaiting:
		return results.CloseFailed, fmt.Sprintf(st.say("the %s neither answered the %s's Close nor closed TCP within %v: it MUST answer a Close with a Close, or fail the connection (RFC 6455 §5.5.1, §7.1.7)"), st.peer, st.peer.Peer(), env.Scaled(CloseTimeout))
	case e.RequireClean && !(st.closeSent && st.peerClose != nil):
		return results.CloseUnclean, fmt.Sprintf("the closing handshake did not complete: the %s MUST answer a Close frame with a Close frame (RFC 6455 §5.5.1)", st.peer)
	case e.CodeRequired && st.peerClose != nil && st.peerClose.code == nil:
		return results.CloseWrongCode, fmt.Sprintf("the %s answered with a Close without a status code, expected one of %v", st.peer, e.Codes)
	}
	// A server echoing the 1001 the client sent when its timer ran out has
	// already failed the case some other way; its code is not the news.
	echoedTimeout := st.closeCausedByTimeout && st.peerClose != nil && st.peerClose.code != nil && *st.peerClose.code == 1001
	if st.peerClose != nil && st.peerClose.code != nil && e.Codes != nil && !containsInt(e.Codes, *st.peerClose.code) && !echoedTimeout {
		return results.CloseWrongCode, fmt.Sprintf("the %s closed with code %d, expected one of %v", st.peer, *st.peerClose.code, e.Codes)
	}
	return results.CloseOK, ""
}

// judgeLinger weighs what the client did while Close.Linger kept TCP
// open: closing TCP before the server did, with no AfterClose frame to
// provoke it, is NON-STRICT (§5.5.1, §7.1.1: the client SHOULD wait for
// the server); keeping it open after the server's FIN is INFORMATIONAL
// (the RFC sets no time).
func (s Script) judgeLinger(env Env, st snapshot, verdict results.Verdict, notes []string) (results.Verdict, []string) {
	if s.Close.Linger <= 0 || verdict != results.OK {
		return verdict, notes
	}
	switch {
	case s.Close.WithoutClose && st.peerKeptOpen:
		return results.Informational, append(notes, fmt.Sprintf(st.say("the %s kept TCP open for %v after the %s closed its side without a Close; RFC 6455 sets no time for closing it (INFORMATIONAL)"), st.peer, env.Scaled(s.Close.Linger), st.peer.Peer()))
	case !s.Close.WithoutClose && len(s.AfterClose) == 0 && st.peerDroppedTCP && st.closeSent && st.peerClose != nil:
		// (After AfterClose frames, which break §5.5.1, closing TCP is the
		// client's right: it is failing the connection.)
		after := st.tcpCloseDelay.Round(time.Millisecond)
		if st.tcpCloseDelay >= env.Scaled(reasonableWait) {
			return verdict, append(notes, fmt.Sprintf(st.say("the %s closed TCP %v after the %s's Close, before the %s did: after a wait, which RFC 6455 §5.5.1 allows"), st.peer, after, st.peer.Peer(), st.peer.Peer()))
		}
		return results.NonStrict, append(notes, fmt.Sprintf(st.say("the %s closed TCP %v after the %s's Close, without waiting for the %s, which kept it open %v after the closing handshake (RFC 6455 §5.5.1, §7.1.1: the client SHOULD wait for the server to close TCP)"), st.peer, after, st.peer.Peer(), st.peer.Peer(), env.Scaled(s.Close.Linger)))
	}
	return verdict, notes
}

// reasonableWait is the least time between the harness's Close and the
// client's TCP close for the client to count as having waited (RFC 6455
// §5.5.1: it MAY close "after a reasonable time") rather than closed at
// once. It is measured from the harness's Close, not from the client's,
// so a load can only make a wait look longer: a client that waited this
// long is never taken for one that did not; one that closed at once may
// pass on a badly loaded machine.
const reasonableWait = 250 * time.Millisecond

func (s Script) timeoutOrDefault() time.Duration {
	if s.Timeout == 0 {
		return DefaultTimeout
	}
	return s.Timeout
}

func containsInt(list []int, v int) bool {
	for _, x := range list {
		if x == v {
			return true
		}
	}
	return false
}

// writeCut plays a SendCut step; false means the script stops.
func (sess *session) writeCut(ctx context.Context, env Env, st Step) bool {
	stream := sess.conn.Encode(st.Frames)
	header := wire.HeaderSize(stream[1])
	from := 0
	for i := 0; i <= len(st.Cuts); i++ {
		to := len(stream)
		if i < len(st.Cuts) {
			to = min(header+st.Cuts[i].At, len(stream))
		}
		if i > 0 && !sess.open() {
			return false
		}
		if err := sess.conn.WriteRaw(ctx, stream[from:to], wire.OneWrite); err != nil {
			sess.writeFailed(err)
			return false
		}
		from = to
		if i < len(st.Cuts) && !sess.pause(ctx, env, st.Cuts[i].Pause, st.Cuts[i].Marker) {
			return false
		}
	}
	return true
}

// A result lists at most listedEvents events: the first ones and the last
// few, with a count of those between. A flooding server would otherwise
// fill results.json with thousands of lines nobody reads.
const (
	listedEvents     = 60
	listedLastEvents = 10
)

func eventStrings(trace []Event) []string {
	if len(trace) <= listedEvents {
		out := make([]string, len(trace))
		for i, e := range trace {
			out[i] = e.String()
		}
		return out
	}
	head := listedEvents - listedLastEvents - 1
	out := make([]string, 0, listedEvents)
	for _, e := range trace[:head] {
		out = append(out, e.String())
	}
	out = append(out, fmt.Sprintf("… %d more events not listed", len(trace)-head-listedLastEvents))
	for _, e := range trace[len(trace)-listedLastEvents:] {
		out = append(out, e.String())
	}
	return out
}

func ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }
