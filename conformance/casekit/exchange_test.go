package casekit_test

import (
	"bytes"
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/wsharness/wsharness/conformance/casekit"
	"github.com/wsharness/wsharness/conformance/internal/brokenpeer"
	"github.com/wsharness/wsharness/results"
	"github.com/wsharness/wsharness/wire"
	"github.com/wsharness/wsharness/wire/handshake"
)

// xorCodec stands in for an extension: it changes every byte on the way
// out and, when undo is set, restores them on the way back.
type xorCodec struct{ undo bool }

func (xorCodec) Encode(op byte, p []byte, frameSize int) []wire.Frame {
	return casekit.Fragments(op, xor(p), frameSize, 0)
}

func (c xorCodec) Decode(_ wire.Header, p []byte) ([]byte, error) {
	if !c.undo {
		return p, nil
	}
	return xor(p), nil
}

func (xorCodec) AllowedRSV(wire.Header, bool) byte { return 0 }

func xor(p []byte) []byte {
	out := make([]byte, len(p))
	for i, b := range p {
		out[i] = b ^ 0x01 // ASCII stays ASCII
	}
	return out
}

// TestExchangeUsesTheNegotiatedCodec proves the hook is on the path both
// ways: the server echoes the encoded bytes, so only a Decode that undoes
// Encode gives back what was sent.
func TestExchangeUsesTheNegotiatedCodec(t *testing.T) {
	srv := brokenpeer.StartForTest(t, brokenpeer.Defects{})
	env := casekit.Env{URL: srv.URL()}
	msg := func(i int) (byte, []byte) { return wire.OpText, []byte(fmt.Sprintf("message %d", i)) }
	run := func(negotiate func(*handshake.Response) (casekit.Codec, error)) results.Case {
		return casekit.Exchange{N: 5, Message: msg, FrameSize: 4, Negotiate: negotiate}.Run(context.Background(), env)
	}

	ok := run(func(*handshake.Response) (casekit.Codec, error) { return xorCodec{undo: true}, nil })
	if ok.Verdict != results.OK || ok.CloseVerdict != results.CloseOK || !strings.HasPrefix(ok.Observed, "5 round trips in ") {
		t.Errorf("codec that round-trips: verdict %s, close %s\n%s", ok.Verdict, ok.CloseVerdict, ok.Observed)
	}
	t.Logf("round-tripping codec: %s", ok.Observed)
	bad := run(func(*handshake.Response) (casekit.Codec, error) { return xorCodec{}, nil })
	if bad.Verdict != results.Failed || !strings.Contains(bad.Observed, "echo 1 has the type and length sent (text, 9 bytes) but different content: first difference at byte 0") {
		t.Errorf("codec whose Decode is not applied: verdict %s\n%s", bad.Verdict, bad.Observed)
	}
	declined := run(func(*handshake.Response) (casekit.Codec, error) {
		return nil, fmt.Errorf("%w: no Sec-WebSocket-Extensions in the response", casekit.ErrNotNegotiated)
	})
	if declined.Verdict != results.Unimplemented || declined.CloseVerdict != results.CloseOK {
		t.Errorf("declined extension: verdict %s, close %s, want UNIMPLEMENTED and a clean close\n%s", declined.Verdict, declined.CloseVerdict, declined.Observed)
	}
}

func TestFragments(t *testing.T) {
	p := []byte("0123456789")
	frames := casekit.Fragments(wire.OpBinary, p, 4, wire.RSV1)
	if len(frames) != 3 {
		t.Fatalf("%d frames, want 3", len(frames))
	}
	var joined []byte
	for i, f := range frames {
		joined = append(joined, f.Payload...)
		first, last := i == 0, i == len(frames)-1
		if f.Fin != last || (f.Opcode == wire.OpBinary) != first || (f.RSV == wire.RSV1) != first || f.Mask != wire.MaskForRole {
			t.Errorf("frame %d: fin %v opcode %d rsv %d masking %v", i, f.Fin, f.Opcode, f.RSV, f.Mask)
		}
	}
	if !bytes.Equal(joined, p) {
		t.Errorf("payloads join to %q", joined)
	}
	if one := casekit.Fragments(wire.OpText, p, 0, 0); len(one) != 1 || !one[0].Fin {
		t.Errorf("frame size 0: %d frames", len(one))
	}
}
