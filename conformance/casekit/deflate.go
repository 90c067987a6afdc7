package casekit

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/wsharness/wsharness/results"
	"github.com/wsharness/wsharness/wire"
	"github.com/wsharness/wsharness/wire/deflate"
	"github.com/wsharness/wsharness/wire/handshake"
)

// deflateCodec is the Codec of a connection with permessage-deflate: every
// message the harness sends is compressed, RSV1 on its first frame only;
// the peer's messages with RSV1 on their first frame are decompressed,
// within MaxMessage bytes. RSV1 anywhere else is a violation (RFC 7692 §6).
type deflateCodec struct{ c *deflate.Codec }

// NewDeflateCodec returns the Codec of the harness, playing role, in a
// negotiated configuration.
func NewDeflateCodec(d deflate.Params, role wire.Role) Codec {
	if role == wire.Server {
		return deflateCodec{deflate.NewServerCodec(d, MaxMessage)}
	}
	return deflateCodec{deflate.NewClientCodec(d, MaxMessage)}
}

// Encode compresses the message and cuts the compressed bytes into frames.
func (d deflateCodec) Encode(op byte, payload []byte, frameSize int) []wire.Frame {
	return Fragments(op, d.c.Compress(payload), frameSize, wire.RSV1)
}

// Decode decompresses a message sent with RSV1; others are as sent
// (RFC 7692 §6: a message without RSV1 is not compressed).
func (d deflateCodec) Decode(first wire.Header, payload []byte) ([]byte, error) {
	if first.RSV&wire.RSV1 == 0 {
		return payload, nil
	}
	out, err := d.c.Decompress(payload)
	if err != nil {
		return nil, fmt.Errorf("RFC 7692 §7.2.2, with %s: %w", d.c.Params, err)
	}
	return out, nil
}

// AllowedRSV allows RSV1 on the first frame of a data message only.
func (deflateCodec) AllowedRSV(_ wire.Header, first bool) byte {
	if first {
		return wire.RSV1
	}
	return 0
}

// NegotiateDeflate returns an Exchange.Negotiate for a request that
// offered offers: the Codec of the configuration the server accepted, or
// ErrNotNegotiated when it declined (the case is then UNIMPLEMENTED).
// wire.Dial has already failed the handshake for an invalid acceptance.
func NegotiateDeflate(offers ...handshake.Extension) func(*handshake.Response) (Codec, error) {
	return func(resp *handshake.Response) (Codec, error) {
		answer, err := handshake.ParseExtensions(resp.Header.Values("Sec-WebSocket-Extensions"))
		if err != nil {
			return nil, fmt.Errorf("extension header: %w", err)
		}
		d, problems := deflate.Negotiate(offers, answer)
		switch {
		case len(problems) > 0:
			return nil, fmt.Errorf("%s", strings.Join(problems, "; "))
		case d == nil:
			return nil, fmt.Errorf("%w: the server declined %q", ErrNotNegotiated, handshake.FormatExtensions(offers...))
		}
		return NewDeflateCodec(*d, wire.Client), nil
	}
}

// OfferDeflate returns an Edit that offers the given elements, in order of
// preference, in one Sec-WebSocket-Extensions header.
func OfferDeflate(offers ...handshake.Extension) func(*handshake.Request) {
	return func(r *handshake.Request) {
		r.Headers.Set("Sec-WebSocket-Extensions", handshake.FormatExtensions(offers...))
	}
}

// declined ends a RequireDeflate script whose server did not accept the
// offer, or whose client made no offer the case can answer: UNIMPLEMENTED,
// after a polite close.
func declined(ctx context.Context, env Env, c opened, log *wire.Log, started time.Time) results.Case {
	_ = c.conn.ClosePolitely(ctx, env.Scaled(CloseTimeout))
	why := c.declined
	if why == "" {
		var answer string
		if c.response != nil {
			answer = strings.Join(c.response.Header.Values("Sec-WebSocket-Extensions"), ", ")
		}
		if answer == "" {
			answer = "no Sec-WebSocket-Extensions header"
		} else {
			answer = fmt.Sprintf("Sec-WebSocket-Extensions: %s", answer)
		}
		why = "the server declined permessage-deflate (" + answer + ")"
	}
	return results.Case{
		Verdict: results.Unimplemented, CloseVerdict: results.CloseOK,
		Observed:  "not run: " + why + "; the case needs it",
		Handshake: c.handshake, Wirelog: log.Entries(), DurationMS: ms(time.Since(started)),
	}
}

// DeflateAnswer is the harness's answer, as the server, to a client's
// permessage-deflate offers (the request's elements, in order): the
// elements of its Sec-WebSocket-Extensions, or nil to decline and why
// (the case needs an offer the client did not make: UNIMPLEMENTED).
type DeflateAnswer func(offers []handshake.Extension) (answer []handshake.Extension, declined string)

// AcceptDeflate answers the first valid offer that carries every parameter
// of needs (Autobahn's 13.x ask only what the offer allows), as
// deflate.Answer does with add.
func AcceptDeflate(needs []string, add ...handshake.ExtParam) DeflateAnswer {
	return func(offers []handshake.Extension) ([]handshake.Extension, string) {
		for _, offer := range offers {
			if len(deflate.OfferProblems(offer)) > 0 || !hasParams(offer, needs) {
				continue
			}
			return []handshake.Extension{deflate.Answer(offer, add...)}, ""
		}
		return nil, noOffer(offers, needs)
	}
}

// noOffer says why no offer could be answered.
func noOffer(offers []handshake.Extension, needs []string) string {
	if len(offers) == 0 {
		return "the client offered no permessage-deflate"
	}
	want := "a valid permessage-deflate offer"
	if len(needs) > 0 {
		want += " with " + strings.Join(needs, " and ")
	}
	return fmt.Sprintf("the client offered %q, and the case needs %s", handshake.FormatExtensions(offers...), want)
}

// hasParams reports whether the offer carries every named parameter.
func hasParams(offer handshake.Extension, names []string) bool {
	for _, n := range names {
		if _, ok := offer.Param(n); !ok {
			return false
		}
	}
	return true
}

// answerDeflate applies answer to the request's offers: it sets the
// response's Sec-WebSocket-Extensions and returns the configuration in
// use, nil when the answer is invalid on purpose (the harness then
// compresses nothing), or why it declined.
func answerDeflate(answer DeflateAnswer, req *handshake.ClientRequest, resp *handshake.ResponseHead, log *wire.Log) (*deflate.Params, string) {
	var offers []handshake.Extension
	if req != nil {
		exts, err := handshake.ParseExtensions(req.Header.Values("Sec-WebSocket-Extensions"))
		if err != nil {
			return nil, fmt.Sprintf("the client's Sec-WebSocket-Extensions does not parse: %v", err)
		}
		offers = deflate.Elements(exts)
	}
	elems, why := answer(offers)
	if len(elems) == 0 {
		return nil, why
	}
	resp.Headers.Set("Sec-WebSocket-Extensions", handshake.FormatExtensions(elems...))
	d, problems := deflate.Negotiate(offers, elems)
	if len(problems) > 0 {
		log.Note("the harness's answer is invalid on purpose: %s", strings.Join(problems, "; "))
		return nil, ""
	}
	log.Note("negotiated %s", d)
	return d, ""
}
