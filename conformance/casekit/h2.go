package casekit

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"golang.org/x/net/http2"
	"golang.org/x/net/http2/hpack"

	"github.com/wsharness/wsharness/results"
	"github.com/wsharness/wsharness/wire"
	"github.com/wsharness/wsharness/wire/h2"
	"github.com/wsharness/wsharness/wire/handshake"
)

// H2Answer is what a server did with one request on an HTTP/2
// connection: its SETTINGS, then an answer, a reset, the connection's end,
// or nothing.
type H2Answer struct {
	Settings h2.Settings
	// Response is the server's final HEADERS on the stream; nil when none
	// came.
	Response *h2.Response
	// Reset is the server's RST_STREAM of the stream.
	Reset *h2.ResetError
	// GoAway is the server's GOAWAY, if it sent one.
	GoAway *http2.GoAwayFrame
	// Err is why no answer was read (a reset, the connection's end, a
	// timeout).
	Err error
	// Echoed says a message sent after a 2xx came back, Echo why not.
	Echoed bool
	Echo   string
	// Violations are what the server got wrong at the HTTP/2 level.
	Violations []string
}

// Refused reports whether the server refused the request: an answer
// other than 2xx, or a reset of the stream or of the connection.
func (a H2Answer) Refused() bool {
	if a.Response != nil {
		return a.Response.Status < 200 || a.Response.Status > 299
	}
	return a.Reset != nil || a.GoAway != nil
}

// String is the answer as a case's observation.
func (a H2Answer) String() string {
	var parts []string
	if a.Response != nil {
		end := ""
		if a.Response.EndStream {
			end = " with END_STREAM"
		}
		parts = append(parts, fmt.Sprintf(":status %d%s", a.Response.Status, end))
	}
	if a.Reset != nil {
		parts = append(parts, fmt.Sprintf("RST_STREAM %v", a.Reset.Code))
	}
	if a.GoAway != nil {
		parts = append(parts, fmt.Sprintf("GOAWAY %v", a.GoAway.ErrCode))
	}
	if len(parts) == 0 && a.Err != nil {
		parts = append(parts, "no answer: "+a.Err.Error())
	}
	if a.Echo != "" {
		parts = append(parts, a.Echo)
	}
	parts = append(parts, a.Violations...)
	return strings.Join(parts, "; ")
}

// H2Probe is an HTTP/2 bootstrap case: on a fresh connection, one
// request, the extended CONNECT of RFC 8441 §5 as Edit and Fields leave
// it; after a 2xx, one text message is sent and its echo awaited. Judge
// decides the verdict from the answer.
type H2Probe struct {
	// Edit changes the upgrade request before it becomes the HEADERS.
	Edit func(*handshake.Request)
	// Fields changes the HEADERS' fields.
	Fields func([]hpack.HeaderField) []hpack.HeaderField
	// Trailing frames go out in DATA right behind the HEADERS.
	Trailing []wire.Frame
	// Connection tunes the connection (windows).
	Connection h2.Options
	Judge      func(H2Answer) (results.Verdict, string)
}

// probeMessage is what a probe sends once the server agreed.
const probeMessage = "Hello, HTTP/2!"

// Run makes the connection, sends the request and judges the answer.
func (p H2Probe) Run(ctx context.Context, env Env) results.Case {
	started := time.Now()
	log := wire.NewLog()
	o := env.options(log, p.Edit)
	o.H2.Connection = p.Connection
	hc, err := wire.DialH2(ctx, env.URL, o)
	if err != nil {
		return *noConnection(results.Handshake{}, log, err)
	}
	defer closeH2(hc)
	a := H2Answer{Settings: hc.Settings()}
	o.H2 = wire.H2Options{Conn: hc, Edit: p.Fields, WithoutSetting: true}
	for _, b := range encodeAll(p.Trailing, wire.Client, env.Keys) {
		o.Trailing = append(o.Trailing, b...)
	}
	conn, hs, err := wire.Open(ctx, env.URL, o)
	env.Liveness.record(hs, err)
	a.Err = err
	errors.As(err, &a.Reset)
	if hs != nil && hs.Stream != nil {
		// What came within Open's timeout; a later answer is no answer.
		a.Response = hs.Stream.Answer()
	}
	if conn != nil {
		if a.Response != nil && !a.Refused() && !a.Response.EndStream {
			a.Echoed, a.Echo = echoOnce(ctx, env, conn, probeMessage, len(p.Trailing))
		}
		_ = conn.Close()
	}
	// A moment for a reset or a GOAWAY that follows an answer.
	select {
	case <-hc.Done():
	case <-time.After(env.Scaled(100 * time.Millisecond)):
	}
	a.GoAway = hc.GoAway()
	a.Violations = hc.Violations()
	verdict, observed := p.Judge(a)
	return results.Case{
		Verdict: verdict, CloseVerdict: results.CloseOK, Observed: observed,
		Handshake: handshakeText(hs), Wirelog: log.Entries(), DurationMS: ms(time.Since(started)),
	}
}

// echoOnce sends a text message and waits for its echo (after the echoes
// of the trailing frames sent with the request), answering nothing else.
func echoOnce(ctx context.Context, env Env, conn *wire.Conn, msg string, before int) (bool, string) {
	if err := conn.WriteFrames(ctx, []wire.Frame{wire.Text(msg)}, wire.OneWrite); err != nil {
		return false, "the message could not be sent: " + err.Error()
	}
	deadline := time.Now().Add(env.Scaled(DefaultTimeout))
	texts := 0
	for {
		f, err := conn.ReadFrame(deadline)
		if err != nil {
			return false, "no echo: " + err.Error()
		}
		if f.Opcode == wire.OpClose {
			return false, "a Close instead of the echo"
		}
		if f.Opcode != wire.OpText {
			continue
		}
		if texts++; texts <= before {
			continue
		}
		if string(f.Payload) != msg {
			return false, fmt.Sprintf("echo %q, want %q", f.Payload, msg)
		}
		_ = conn.ClosePolitely(ctx, env.Scaled(CloseTimeout))
		return true, "the message was echoed"
	}
}

// closeH2 ends a case's HTTP/2 connection politely: GOAWAY, then TCP.
func closeH2(hc *h2.Conn) {
	_ = hc.SendGoAway(0, http2.ErrCodeNo)
	_ = hc.Close()
}

// H2Kit is what an HTTP/2 stream case works with: its log, environment
// and the connections it opens, closed when the case ends.
type H2Kit struct {
	Env   Env
	Log   *wire.Log
	conns []*h2.Conn
}

// Connect opens an HTTP/2 connection to the server with o.
func (k *H2Kit) Connect(ctx context.Context, o h2.Options) (*h2.Conn, error) {
	wo := k.Env.options(k.Log, nil)
	wo.H2.Connection = o
	hc, err := wire.DialH2(ctx, k.Env.URL, wo)
	if err == nil {
		k.conns = append(k.conns, hc)
	}
	return hc, err
}

// Open opens a WebSocket on hc: an extended CONNECT that must be answered
// 200 (wire.Dial's checks).
func (k *H2Kit) Open(ctx context.Context, hc *h2.Conn) (*wire.Conn, *h2.Stream, error) {
	wo := k.Env.options(k.Log, nil)
	wo.H2.Conn = hc
	conn, hs, err := wire.Dial(ctx, k.Env.URL, wo)
	if err != nil {
		return nil, nil, err
	}
	return conn, hs.Stream, nil
}

// Echo sends one message (text, or binary when binary) and waits up to
// the default timer for its echo, answering Pings; it says what went
// wrong, or "" when the echo came back whole.
func (k *H2Kit) Echo(ctx context.Context, conn *wire.Conn, payload []byte, binary bool, split wire.Split) string {
	op := wire.OpText
	if binary {
		op = wire.OpBinary
	}
	if err := conn.WriteFrames(ctx, []wire.Frame{{Fin: true, Opcode: op, Payload: payload}}, split); err != nil {
		return "the message could not be sent: " + err.Error()
	}
	return k.Await(conn, payload, k.Env.Scaled(DefaultTimeout))
}

// Await reads frames until a data frame, which must be want, within wait.
func (k *H2Kit) Await(conn *wire.Conn, want []byte, wait time.Duration) string {
	deadline := time.Now().Add(wait)
	for {
		f, err := conn.ReadFrame(deadline)
		switch {
		case err != nil:
			return "no echo: " + err.Error()
		case f.Opcode == wire.OpPing:
			_ = conn.WriteFrames(context.Background(), []wire.Frame{wire.Pong(f.Payload)}, wire.OneWrite)
			continue
		case f.Opcode == wire.OpClose:
			return "a Close instead of the echo"
		case f.Opcode != wire.OpText && f.Opcode != wire.OpBinary:
			continue
		case !f.Fin:
			return "the echo came fragmented, which this case does not expect"
		case string(f.Payload) != string(want):
			return fmt.Sprintf("the echo differs: %d octets, want %d", len(f.Payload), len(want))
		}
		return ""
	}
}

// H2Scenario is an HTTP/2 stream case: Play drives connections and
// streams through the kit and returns the verdict and what it saw; every
// connection it opened is closed after, and the violations they recorded
// fail the case.
type H2Scenario struct {
	Play func(ctx context.Context, k *H2Kit) (results.Verdict, string)
}

// Run plays the scenario.
func (s H2Scenario) Run(ctx context.Context, env Env) results.Case {
	started := time.Now()
	k := &H2Kit{Env: env, Log: wire.NewLog()}
	verdict, observed := s.Play(ctx, k)
	var violations []string
	for _, hc := range k.conns {
		violations = append(violations, hc.Violations()...)
		closeH2(hc)
	}
	if len(violations) > 0 {
		verdict = results.Failed
		observed = strings.Join(append([]string{observed}, violations...), "; ")
	}
	return results.Case{
		Verdict: verdict, CloseVerdict: results.CloseOK, Observed: observed,
		Wirelog: k.Log.Entries(), DurationMS: ms(time.Since(started)),
	}
}
