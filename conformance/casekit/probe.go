package casekit

import (
	"context"
	"time"

	"github.com/wsharness/wsharness/results"
	"github.com/wsharness/wsharness/wire"
	"github.com/wsharness/wsharness/wire/handshake"
)

// ProbeJudge decides a verdict from the server's answer to a handshake
// request: resp is nil when no HTTP response arrived (err says why).
type ProbeJudge func(resp *handshake.Response, err error) (verdict results.Verdict, observed string)

// Probe is a handshake-level case: one opening handshake request, judged
// on the HTTP response alone.
type Probe struct {
	Edit  func(*handshake.Request)
	Judge ProbeJudge
}

// Run sends the request and judges the response. When the server upgraded
// anyway, the client closes the WebSocket politely.
func (p Probe) Run(ctx context.Context, env Env) results.Case {
	started := time.Now()
	log := wire.NewLog()
	conn, hs, err := wire.Open(ctx, env.URL, env.options(log, p.Edit))
	env.Liveness.record(hs, err)
	var resp *handshake.Response
	if hs != nil {
		resp = hs.Response
	}
	verdict, observed := p.Judge(resp, err)
	switch {
	case conn != nil && resp != nil && resp.Agreed():
		_ = conn.ClosePolitely(ctx, env.Scaled(CloseTimeout))
	case conn != nil:
		_ = conn.Close()
	}
	return results.Case{
		Verdict: verdict, CloseVerdict: results.CloseOK, Observed: observed,
		Handshake: handshakeText(hs), Wirelog: log.Entries(), DurationMS: ms(time.Since(started)),
	}
}
