package casekit

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/wsharness/wsharness/suites/results"
	"github.com/wsharness/wsharness/wire"
)

// deflateCodec is the Codec of a connection with permessage-deflate: every
// message the client sends is compressed, RSV1 on its first frame only;
// server messages with RSV1 on their first frame are decompressed, within
// MaxMessage bytes. RSV1 anywhere else is a violation (RFC 7692 §6).
type deflateCodec struct{ c *wire.DeflateCodec }

// NewDeflateCodec returns the client Codec of a negotiated configuration.
func NewDeflateCodec(d wire.Deflate) Codec {
	return deflateCodec{wire.NewDeflateCodec(d, MaxMessage)}
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
func NegotiateDeflate(offers ...wire.Extension) func(*wire.Response) (Codec, error) {
	return func(resp *wire.Response) (Codec, error) {
		answer, err := wire.ParseExtensions(resp.Header.Values("Sec-WebSocket-Extensions"))
		if err != nil {
			return nil, fmt.Errorf("extension header: %w", err)
		}
		d, problems := wire.NegotiateDeflate(offers, answer)
		switch {
		case len(problems) > 0:
			return nil, fmt.Errorf("%s", strings.Join(problems, "; "))
		case d == nil:
			return nil, fmt.Errorf("%w: the server declined %q", ErrNotNegotiated, wire.FormatExtensions(offers...))
		}
		return NewDeflateCodec(*d), nil
	}
}

// OfferDeflate returns an Edit that offers the given elements, in order of
// preference, in one Sec-WebSocket-Extensions header.
func OfferDeflate(offers ...wire.Extension) func(*wire.Request) {
	return func(r *wire.Request) { r.Headers.Set("Sec-WebSocket-Extensions", wire.FormatExtensions(offers...)) }
}

// declined ends a RequireDeflate script whose server did not accept the
// offer: UNIMPLEMENTED, after a polite close.
func declined(ctx context.Context, env Env, c opened, log *wire.Log, started time.Time) Outcome {
	closePolitely(ctx, env, c.conn)
	_ = c.conn.Close()
	var answer string
	if c.response != nil {
		answer = strings.Join(c.response.Header.Values("Sec-WebSocket-Extensions"), ", ")
	}
	if answer == "" {
		answer = "no Sec-WebSocket-Extensions header"
	} else {
		answer = fmt.Sprintf("Sec-WebSocket-Extensions: %s", answer)
	}
	return Outcome{
		Verdict: results.Unimplemented, CloseVerdict: results.CloseOK,
		Observed:  "not run: the server declined permessage-deflate (" + answer + "); the case needs it",
		Handshake: c.handshake, Wirelog: log.Entries(), DurationMS: ms(time.Since(started)),
	}
}
