package cases

import (
	"fmt"
	"time"

	"github.com/wsharness/wsharness/suites/casekit"
	"github.com/wsharness/wsharness/wire"
)

// Families of the compression data cases (Autobahn 12.x and 13.x).
const (
	FamilyDeflatePayloads = "deflate-payloads"
	FamilyDeflateParams   = "deflate-params"
)

// deflateSize is one of Autobahn's 18 message series of 12.y and 13.y:
// message size, fragment size of the compressed payload (0: one frame)
// and the exchange timer (case12_x_x.py).
type deflateSize struct {
	size, frame int
	timeout     time.Duration
}

var deflateSizes = []deflateSize{
	{16, 0, 60 * time.Second}, {64, 0, 60 * time.Second}, {256, 0, 120 * time.Second},
	{1 << 10, 0, 240 * time.Second}, {4 << 10, 0, 480 * time.Second}, {8 << 10, 0, 480 * time.Second},
	{16 << 10, 0, 480 * time.Second}, {32 << 10, 0, 480 * time.Second}, {64 << 10, 0, 480 * time.Second},
	{128 << 10, 0, 480 * time.Second},
	{8 << 10, 256, 480 * time.Second}, {16 << 10, 256, 480 * time.Second}, {32 << 10, 256, 480 * time.Second},
	{64 << 10, 256, 480 * time.Second}, {128 << 10, 256, 480 * time.Second},
	{128 << 10, 1 << 10, 480 * time.Second}, {128 << 10, 4 << 10, 480 * time.Second}, {128 << 10, 32 << 10, 480 * time.Second},
}

// deflateMessages is how many round trips every series makes: 1000, as
// in Autobahn. Measured on the 2-core machine, a 128 KiB series takes 2–3 s
// against the in-process targets, and a whole family well under the
// profile's budget (see the README's run times), so nothing is cut.
const deflateMessages = 1000

// The offer of Autobahn's 12.x and 13.1: the client accepts to forgo
// context takeover and a window limit; the server keeps its defaults.
var defaultDeflateOffer = wire.MustParseExtension("permessage-deflate; client_no_context_takeover; client_max_window_bits")

// withServerParams adds 13.x's server parameters to the default offer.
func withServerParams(noContext bool, bits int) wire.Extension {
	e := defaultDeflateOffer
	e.Params = append([]wire.ExtParam(nil), e.Params...)
	if noContext {
		e.Params = append(e.Params, wire.ExtParam{Name: wire.ServerNoContextTakeover})
	}
	if bits > 0 {
		e.Params = append(e.Params, wire.ExtParam{Name: wire.ServerMaxWindowBits, Value: fmt.Sprint(bits), HasValue: true})
	}
	return e
}

const deflateDataRule = "Each message MUST be echoed with its type and content (checked byte for byte; SHA-256 shown for large ones), compressed or not, within the timer; " +
	"every compressed server message MUST decompress under the negotiated parameters (RFC 7692 §7.2.2: the window and context takeover it accepted), with RSV1 on its first frame only (§6). " +
	"A server that declines the offer is UNIMPLEMENTED."

// DeflatePayloads returns Autobahn 12.1.1–12.5.18: five payload kinds,
// each in the 18 series, with Autobahn's default offer.
func DeflatePayloads() []Case {
	var out []Case
	for g, corpus := range []Corpus{CorpusJSON, CorpusImage, CorpusVerse, CorpusHTML, CorpusPDF} {
		for i, s := range deflateSizes {
			id := fmt.Sprintf("12.%d.%d", g+1, i+1)
			out = append(out, deflateSeries(id, FamilyDeflatePayloads, corpus, s, []wire.Extension{defaultDeflateOffer}))
		}
	}
	return out
}

// DeflateParams returns Autobahn 13.1.1–13.7.18: the JSON corpus in the 18
// series under seven offers.
func DeflateParams() []Case {
	offers := [][]wire.Extension{
		{defaultDeflateOffer},
		{withServerParams(true, 0)},
		{withServerParams(false, 9)},
		{withServerParams(false, 15)},
		{withServerParams(true, 9)},
		{withServerParams(true, 15)},
		{withServerParams(true, 9), withServerParams(true, 0), defaultDeflateOffer},
	}
	var out []Case
	for g, offer := range offers {
		for i, s := range deflateSizes {
			id := fmt.Sprintf("13.%d.%d", g+1, i+1)
			out = append(out, deflateSeries(id, FamilyDeflateParams, CorpusJSON, s, offer))
		}
	}
	return out
}

// deflateSeries is one compressed round-trip series: message i is a slice
// of the corpus at an offset that varies with i, so no echo can be a
// cached copy of the previous one, yet context takeover finds matches.
func deflateSeries(id, family string, corpus Corpus, s deflateSize, offers []wire.Extension) Case {
	n := deflateMessages
	op := wire.OpText
	kind := "text"
	if corpus.Binary {
		op, kind = wire.OpBinary, "binary"
	}
	frames := "unfragmented"
	if s.frame > 0 {
		frames = fmt.Sprintf("compressed payload in frames of %d bytes", s.frame)
	}
	offer := wire.FormatExtensions(offers...)
	title := fmt.Sprintf("%d %s messages of %s, %s", n, kind, byteSize(s.size), frames)
	if family == FamilyDeflateParams {
		title = fmt.Sprintf("%s; offer %s", title, offer)
	}
	desc := fmt.Sprintf("Offer Sec-WebSocket-Extensions: %s. Then send %d %s messages of %d bytes of the %s corpus, one at a time, each compressed (%s) after the echo of the previous one was checked.",
		offer, n, kind, s.size, corpus.Name, frames)
	return exchanged(id, family, title, "RFC 7692 §6, §7.2", desc, deflateDataRule, casekit.Exchange{
		Edit:      casekit.OfferDeflate(offers...),
		Negotiate: casekit.NegotiateDeflate(offers...),
		N:         n,
		Message: func(i int) (byte, []byte) {
			data := corpus.Bytes()
			span := len(data) - s.size + 1
			off := (i * 7919) % span
			return op, data[off : off+s.size]
		},
		FrameSize: s.frame,
		Timeout:   s.timeout,
	})
}

func byteSize(n int) string {
	switch {
	case n >= 1<<10 && n%(1<<10) == 0:
		return fmt.Sprintf("%d KiB", n>>10)
	}
	return fmt.Sprintf("%d bytes", n)
}
