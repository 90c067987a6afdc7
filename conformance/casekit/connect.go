package casekit

import (
	"context"
	"time"

	"github.com/wsharness/wsharness/results"
	"github.com/wsharness/wsharness/wire"
	"github.com/wsharness/wsharness/wire/deflate"
	"github.com/wsharness/wsharness/wire/handshake"
)

// opening is what a case asks of its connection's opening handshake.
type opening struct {
	// edit changes the harness's request when it is the client.
	edit func(*handshake.Request)
	// trailing frames go out in the same TCP write as the harness's
	// request (as the client) or its response (as the server).
	trailing []wire.Frame
	// pacingBudget, when set, replaces the default pacing budget.
	pacingBudget time.Duration
	// respond edits the harness's answer when it is the server (a valid
	// 101 selecting nothing, unless respond changes it), and split says
	// how the answer and trailing go out.
	respond func(*handshake.ClientRequest, *handshake.ResponseHead)
	split   wire.Split
	// answer, when set, answers the client's permessage-deflate offers
	// when the harness is the server.
	answer DeflateAnswer
}

// opened is a case's connection and what its opening handshake said.
type opened struct {
	conn      *wire.Conn
	handshake results.Handshake
	// response is the server's answer when the harness is the client.
	response *handshake.Response
	// deflate is the permessage-deflate configuration negotiated; nil when
	// none.
	deflate *deflate.Params
	// declined says why the harness, as the server, answered no offer of
	// the client's although the case asked it to ("" otherwise).
	declined string
	// problems lists what in the client's request breaks RFC 6455 when the
	// harness is the server; the case reports them as violations.
	problems []string
}

// connect opens the case's connection in the harness's role: as the
// client it dials env.URL, as the server it answers the connection the
// client under test opened for the case. A connection that could not be
// made is returned as the outcome to report instead.
func (e Env) connect(ctx context.Context, log *wire.Log, op opening) (opened, *results.Case) {
	if e.Peer == wire.Client {
		return e.answer(ctx, log, op)
	}
	o := e.options(log, op.edit)
	if op.pacingBudget > 0 {
		o.Pacing.Budget = e.Scaled(op.pacingBudget)
	}
	trailing := encodeAll(op.trailing, wire.Client, e.Keys)
	for _, b := range trailing {
		o.Trailing = append(o.Trailing, b...)
	}
	conn, hs, err := wire.Dial(ctx, e.URL, o)
	e.Liveness.record(hs, err)
	text := handshakeText(hs)
	if err != nil {
		return opened{}, noConnection(text, log, err)
	}
	logTrailing(log, op.trailing, trailing, map[wire.Transport]string{
		wire.HTTP1: "sent in the same TCP write as the handshake request",
		wire.HTTP2: "sent in DATA right behind the extended CONNECT, before its answer",
	}[conn.Transport()])
	return opened{conn: conn, handshake: text, response: hs.Response, deflate: hs.Deflate}, nil
}

// answer takes the connection the client under test opened for the case
// and sends a valid 101, selecting no subprotocol and no extension, or
// what op.respond makes of it.
func (e Env) answer(ctx context.Context, log *wire.Log, op opening) (opened, *results.Case) {
	in, err := e.Incoming(ctx, wire.AcceptOptions{
		Log: log, Timeout: e.Scaled(HandshakeTimeout), Keys: e.Keys, Pacing: e.pacing(op.pacingBudget),
	})
	if err != nil {
		var text results.Handshake
		if in != nil {
			text.Request = string(in.Handshake.RawRequest)
		}
		return opened{}, noConnection(text, log, err)
	}
	trailing := encodeAll(op.trailing, wire.Server, e.Keys)
	var after []byte
	for _, b := range trailing {
		after = append(after, b...)
	}
	resp := handshake.UpgradeResponse(in.Handshake.Key())
	var dfl *deflate.Params
	var declined string
	if op.answer != nil {
		dfl, declined = answerDeflate(op.answer, in.Handshake.Request, resp, log)
	}
	if op.respond != nil {
		op.respond(in.Handshake.Request, resp)
	}
	conn, err := in.Respond(ctx, resp, after, op.split)
	text := results.Handshake{Request: string(in.Handshake.RawRequest), Response: string(in.Handshake.Response)}
	if err != nil {
		return opened{}, noConnection(text, log, err)
	}
	logTrailing(log, op.trailing, trailing, "sent in the same TCP write as the handshake response")
	return opened{conn: conn, handshake: text, problems: in.Handshake.Problems, deflate: dfl, declined: declined}, nil
}

// handshakeText is the opening handshake of the harness as the client, as
// results.json shows it.
func handshakeText(hs *wire.Handshake) results.Handshake {
	if hs == nil {
		return results.Handshake{}
	}
	return results.Handshake{Request: string(hs.Request), Response: string(hs.RawResponse)}
}

// pacing is the pacing of a case connection: the default, or budget, scaled.
func (e Env) pacing(budget time.Duration) wire.Pacing {
	if budget <= 0 {
		budget = wire.DefaultPacing.Budget
	}
	return wire.Pacing{Pause: e.Scaled(wire.DefaultPacing.Pause), Budget: e.Scaled(budget)}
}

// noConnection is the outcome of a case whose connection was never made.
func noConnection(text results.Handshake, log *wire.Log, err error) *results.Case {
	return &results.Case{
		Verdict: results.Failed, CloseVerdict: results.CloseFailed,
		Observed: "no WebSocket connection: " + err.Error(), Handshake: text, Wirelog: log.Entries(),
	}
}

// logTrailing logs the frames written with the handshake, now that the
// log shows the handshake before them.
func logTrailing(log *wire.Log, frames []wire.Frame, encoded [][]byte, note string) {
	for i, b := range encoded {
		h, _ := wire.ParseHeader(b)
		log.Frame(wire.Outbound, h, frames[i].Payload, note)
	}
}

// encodeAll encodes frames as role sends them, with keys from keys, one
// slice each.
func encodeAll(frames []wire.Frame, role wire.Role, keys *wire.KeyStream) [][]byte {
	out := make([][]byte, len(frames))
	for i, f := range frames {
		out[i] = f.Encode(role, keys)
	}
	return out
}
