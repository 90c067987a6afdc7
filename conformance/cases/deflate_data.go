package cases

import (
	"fmt"
	"strings"
	"time"

	"github.com/wsharness/wsharness/conformance/casekit"
	"github.com/wsharness/wsharness/wire"
	"github.com/wsharness/wsharness/wire/deflate"
	"github.com/wsharness/wsharness/wire/handshake"
)

// Families of the compression data cases (Autobahn 12.x and 13.x).
const (
	FamilyDeflatePayloads Family = "deflate-payloads"
	FamilyDeflateParams   Family = "deflate-params"
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
// profile's budget (docs/run-time.md), so nothing is cut.
const deflateMessages = 1000

// The offer of Autobahn's 12.x and 13.1: the client accepts to forgo
// context takeover and a window limit; the server keeps its defaults.
var defaultDeflateOffer = handshake.MustParseExtension("permessage-deflate; client_no_context_takeover; client_max_window_bits")

// withServerParams adds 13.x's server parameters to the default offer.
func withServerParams(noContext bool, bits int) handshake.Extension {
	e := defaultDeflateOffer
	e.Params = append([]handshake.ExtParam(nil), e.Params...)
	if noContext {
		e.Params = append(e.Params, handshake.ExtParam{Name: deflate.ServerNoContextTakeover})
	}
	if bits > 0 {
		e.Params = append(e.Params, handshake.ExtParam{Name: deflate.ServerMaxWindowBits, Value: fmt.Sprint(bits), HasValue: true})
	}
	return e
}

// clientAnswer is how a 12.x or 13.x case answers, in its client form, the
// client's offers (Autobahn's accept functions of case12_x_x.py), and the
// words for it.
type clientAnswer struct {
	answer casekit.DeflateAnswer
	// text describes the answer; short names it in a title.
	text, short string
}

// plainAnswer accepts the first valid offer as it is (Autobahn's
// accept_deflate and accept1).
var plainAnswer = clientAnswer{casekit.AcceptDeflate(nil), "accept the first valid offer as it is", "answer as offered"}

// askClient is Autobahn's accept2–accept6: the first valid offer that
// allows what is asked of the client (client_no_context_takeover and
// client_max_window_bits in the offer), answered with the request.
func askClient(noContext bool, bits int) clientAnswer {
	var needs []string
	asked := handshake.Extension{Name: deflate.ExtensionName}
	if noContext {
		needs = append(needs, deflate.ClientNoContextTakeover)
		asked.Params = append(asked.Params, handshake.ExtParam{Name: deflate.ClientNoContextTakeover})
	}
	if bits > 0 {
		needs = append(needs, deflate.ClientMaxWindowBits)
		asked.Params = append(asked.Params, deflate.WindowBitsParam(deflate.ClientMaxWindowBits, bits))
	}
	return clientAnswer{casekit.AcceptDeflate(needs, asked.Params...),
		fmt.Sprintf("accept the first valid offer that has %s, answering %s and the server parameters the offer asks for", strings.Join(needs, " and "), asked),
		"answer " + strings.TrimPrefix(asked.String(), deflate.ExtensionName+"; ")}
}

// firstAnswer is Autobahn's accept7: the first of answers that accepts.
func firstAnswer(answers ...clientAnswer) clientAnswer {
	texts, shorts := make([]string, len(answers)), make([]string, len(answers))
	for i, a := range answers {
		texts[i], shorts[i] = a.text, a.short
	}
	return clientAnswer{
		answer: func(offers []handshake.Extension) ([]handshake.Extension, string) {
			var why string
			for _, a := range answers {
				var ans []handshake.Extension
				if ans, why = a.answer(offers); ans != nil {
					return ans, ""
				}
			}
			return nil, why
		},
		text:  strings.Join(texts, "; failing that, "),
		short: strings.Join(shorts, ", else "),
	}
}

const deflateDataClientRule = "Each message MUST be echoed with its type and content (checked byte for byte; SHA-256 shown for large ones), compressed or not, within the timer; " +
	"every compressed client message MUST decompress under what the server's answer set (RFC 7692 §7.2.2: client_max_window_bits and client_no_context_takeover, §7.1.1.2, §7.1.2.2), with RSV1 on its first frame only (§6). " +
	"A client that offers no permessage-deflate, or no offer the case's answer needs, is UNIMPLEMENTED, as in Autobahn."

const deflateDataRule = "Each message MUST be echoed with its type and content (checked byte for byte; SHA-256 shown for large ones), compressed or not, within the timer; " +
	"every compressed server message MUST decompress under the negotiated parameters (RFC 7692 §7.2.2: the window and context takeover it accepted), with RSV1 on its first frame only (§6). " +
	"A server that declines the offer is UNIMPLEMENTED."

// DeflatePayloads returns Autobahn 12.1.1–12.5.18: five payload kinds,
// each in the 18 series, with Autobahn's default offer.
func DeflatePayloads() []Case {
	var out []Case
	for g, corpus := range Corpora {
		for i, s := range deflateSizes {
			id := fmt.Sprintf("12.%d.%d", g+1, i+1)
			out = append(out, deflateSeries(id, FamilyDeflatePayloads, corpus, s, []handshake.Extension{defaultDeflateOffer}, plainAnswer))
		}
	}
	return out
}

// DeflateParams returns Autobahn 13.1.1–13.7.18: the JSON corpus in the 18
// series under seven offers, or, in client form, seven answers (Autobahn
// asks a client for 9 where it offers the server 9).
func DeflateParams() []Case {
	groups := []struct {
		offer  []handshake.Extension
		answer clientAnswer
	}{
		{[]handshake.Extension{defaultDeflateOffer}, plainAnswer},
		{[]handshake.Extension{withServerParams(true, 0)}, askClient(true, 0)},
		{[]handshake.Extension{withServerParams(false, 9)}, askClient(false, 9)},
		{[]handshake.Extension{withServerParams(false, 15)}, askClient(false, 15)},
		{[]handshake.Extension{withServerParams(true, 9)}, askClient(true, 9)},
		{[]handshake.Extension{withServerParams(true, 15)}, askClient(true, 15)},
		{[]handshake.Extension{withServerParams(true, 9), withServerParams(true, 0), defaultDeflateOffer},
			firstAnswer(askClient(true, 9), askClient(true, 0), plainAnswer)},
	}
	var out []Case
	for g, grp := range groups {
		for i, s := range deflateSizes {
			id := fmt.Sprintf("13.%d.%d", g+1, i+1)
			out = append(out, deflateSeries(id, FamilyDeflateParams, CorpusJSON, s, grp.offer, grp.answer))
		}
	}
	return out
}

// deflateSeries is one compressed round-trip series: message i is a slice
// of the corpus at an offset that varies with i, so no echo can be a
// cached copy of the previous one, yet context takeover finds matches.
func deflateSeries(id string, family Family, corpus Corpus, s deflateSize, offers []handshake.Extension, answer clientAnswer) Case {
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
	offer := handshake.FormatExtensions(offers...)
	title := fmt.Sprintf("%d %s messages of %s, %s", n, kind, byteSize(s.size), frames)
	if family == FamilyDeflateParams {
		title = fmt.Sprintf("%s; offer %s", title, offer)
	}
	sending := fmt.Sprintf("send %d %s messages of %d bytes of the %s corpus, one at a time, each compressed (%s) after the echo of the previous one was checked.",
		n, kind, s.size, corpus.Name, frames)
	desc := fmt.Sprintf("Offer Sec-WebSocket-Extensions: %s. Then %s", offer, sending)
	c := exchanged(Case{
		ID: id, Family: family, Title: title, RFC: "RFC 7692 §6, §7.2",
		Description: desc,
		Expectation: deflateDataRule,
	}, casekit.Exchange{
		Edit:      casekit.OfferDeflate(offers...),
		Negotiate: casekit.NegotiateDeflate(offers...),
		Answer:    answer.answer,
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
	clientTitle := fmt.Sprintf("%d %s messages of %s, %s", n, kind, byteSize(s.size), frames)
	if family == FamilyDeflateParams {
		clientTitle = fmt.Sprintf("%s; %s", clientTitle, answer.short)
	}
	c.client = &clientText{
		title:       clientTitle,
		description: fmt.Sprintf("Answer the client's permessage-deflate offers: %s. Then %s", answer.text, sending),
		expectation: deflateDataClientRule,
	}
	return c
}

func byteSize(n int) string {
	switch {
	case n >= 1<<10 && n%(1<<10) == 0:
		return fmt.Sprintf("%d KiB", n>>10)
	}
	return fmt.Sprintf("%d bytes", n)
}
