// Package deflate is permessage-deflate (RFC 7692): which offers and
// answers are valid, what a negotiation agreed on, and a codec for either
// end that respects the agreed windows, bounds what it inflates and checks
// the peer's back-references against its window.
package deflate

import (
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/wsharness/wsharness/wire/handshake"
)

// ExtensionName is the extension token of RFC 7692.
const ExtensionName = "permessage-deflate"

// The four parameters of RFC 7692 §7.1.
const (
	ServerNoContextTakeover = "server_no_context_takeover"
	ClientNoContextTakeover = "client_no_context_takeover"
	ServerMaxWindowBits     = "server_max_window_bits"
	ClientMaxWindowBits     = "client_max_window_bits"
)

// Params is a negotiated permessage-deflate configuration.
type Params struct {
	// ServerNoContextTakeover: the server starts each message with an
	// empty LZ77 window (§7.1.1.1), so the client may forget it too.
	ServerNoContextTakeover bool
	// ClientNoContextTakeover: the client compresses each message on its
	// own, because the response said so or because the accepted offer
	// carried the parameter as a hint (§7.1.1.2: "the client is not going
	// to use context takeover").
	ClientNoContextTakeover bool
	// ServerMaxWindowBits and ClientMaxWindowBits are 8–15; 15 when
	// nothing limits that side's window.
	ServerMaxWindowBits int
	ClientMaxWindowBits int
	// Offer is the index, among the request's permessage-deflate offers,
	// of the one the response accepts.
	Offer int
	// Response is the accepted element as the server sent it.
	Response handshake.Extension
}

// String summarises the configuration for logs and reports.
func (d Params) String() string {
	side := func(name string, noContext bool, bits int) string {
		ct := "context takeover"
		if noContext {
			ct = "no context takeover"
		}
		return fmt.Sprintf("%s %s, window 2^%d", name, ct, bits)
	}
	return fmt.Sprintf("permessage-deflate (offer %d): %s; %s", d.Offer+1,
		side("server", d.ServerNoContextTakeover, d.ServerMaxWindowBits),
		side("client", d.ClientNoContextTakeover, d.ClientMaxWindowBits))
}

// Elements returns the permessage-deflate elements of exts, in order.
func Elements(exts []handshake.Extension) []handshake.Extension {
	var out []handshake.Extension
	for _, e := range exts {
		if strings.EqualFold(e.Name, ExtensionName) {
			out = append(out, e)
		}
	}
	return out
}

// windowBits parses a window-bits value: a decimal integer without leading
// zeroes from 8 to 15 (§7.1.2.1, §7.1.2.2).
func windowBits(v string) (int, bool) {
	n, err := strconv.Atoi(v)
	if err != nil || n < 8 || n > 15 || strconv.Itoa(n) != v {
		return 0, false
	}
	return n, true
}

// OfferProblems lists why an offer is one a server MUST decline (RFC 7692
// §7): a parameter not defined for an offer, an invalid value, or a
// parameter given twice. An empty list is a valid offer.
func OfferProblems(e handshake.Extension) []string { return paramProblems(e, false) }

// responseProblems lists why an accepting element is one the client MUST
// fail the connection for (RFC 7692 §7), whatever was offered.
func responseProblems(e handshake.Extension) []string { return paramProblems(e, true) }

func paramProblems(e handshake.Extension, response bool) []string {
	var v []string
	seen := map[string]bool{}
	for _, p := range e.Params {
		if seen[p.Name] {
			v = append(v, fmt.Sprintf("parameter %s appears more than once", p.Name))
			continue
		}
		seen[p.Name] = true
		switch p.Name {
		case ServerNoContextTakeover, ClientNoContextTakeover:
			if p.HasValue {
				v = append(v, fmt.Sprintf("%s has the value %q; it takes none (§7.1.1)", p.Name, p.Value))
			}
		case ServerMaxWindowBits:
			if _, ok := windowBits(p.Value); !ok || !p.HasValue {
				v = append(v, fmt.Sprintf("%s needs a value from 8 to 15 without leading zeroes, got %s (§7.1.2.1)", p.Name, describeValue(p)))
			}
		case ClientMaxWindowBits:
			switch _, ok := windowBits(p.Value); {
			case !p.HasValue && response:
				v = append(v, fmt.Sprintf("%s in a response needs a value from 8 to 15 (§7.1.2.2)", p.Name))
			case p.HasValue && !ok:
				v = append(v, fmt.Sprintf("%s needs no value or one from 8 to 15 without leading zeroes, got %s (§7.1.2.2)", p.Name, describeValue(p)))
			}
		default:
			v = append(v, fmt.Sprintf("parameter %q is not defined for permessage-deflate (§7.1)", p.Name))
		}
	}
	return v
}

func describeValue(p handshake.ExtParam) string {
	if !p.HasValue {
		return "none"
	}
	return strconv.Quote(p.Value)
}

// Negotiate checks a server's acceptance against the client's
// offers. offers are the request's permessage-deflate elements in order
// of preference; response is every element of the server's
// Sec-WebSocket-Extensions. It returns nil and no problem when the server
// declined, the configuration when it accepted an offer the way RFC 7692
// allows, and otherwise the problems, each naming its clause, for which
// the client MUST fail the connection.
func Negotiate(offers, response []handshake.Extension) (*Params, []string) {
	accepted := Elements(response)
	switch {
	case len(accepted) == 0:
		return nil, nil
	case len(accepted) > 1:
		return nil, []string{fmt.Sprintf("the response accepts permessage-deflate %d times (%q); two extensions cannot both own RSV1 (RFC 7692 §5)", len(accepted), handshake.FormatExtensions(accepted...))}
	}
	resp := accepted[0]
	if p := responseProblems(resp); len(p) > 0 {
		return nil, prefix(fmt.Sprintf("the response %q is invalid (RFC 7692 §7: the client MUST fail the connection): ", resp.String()), p)
	}
	var why []string
	for i, offer := range offers {
		if p := OfferProblems(offer); len(p) > 0 {
			why = append(why, fmt.Sprintf("offer %d %q is invalid and MUST be declined (RFC 7692 §7: %s)", i+1, offer.String(), strings.Join(p, "; ")))
			continue
		}
		d, p := accepts(offer, resp)
		if len(p) == 0 {
			d.Offer, d.Response = i, resp
			return d, nil
		}
		why = append(why, fmt.Sprintf("it does not accept offer %d %q: %s", i+1, offer.String(), strings.Join(p, "; ")))
	}
	if len(offers) == 0 {
		why = append(why, "nothing was offered")
	}
	return nil, prefix(fmt.Sprintf("the response %q accepts none of the offers: ", resp.String()), why)
}

// accepts checks one valid offer against a valid response.
func accepts(offer, resp handshake.Extension) (*Params, []string) {
	var v []string
	d := &Params{ServerMaxWindowBits: 15, ClientMaxWindowBits: 15}
	_, d.ServerNoContextTakeover = resp.Param(ServerNoContextTakeover)
	_, respClientNCT := resp.Param(ClientNoContextTakeover)
	_, hint := offer.Param(ClientNoContextTakeover)
	d.ClientNoContextTakeover = respClientNCT || hint
	if _, asked := offer.Param(ServerNoContextTakeover); asked && !d.ServerNoContextTakeover {
		v = append(v, "the offer asks for server_no_context_takeover and the response omits it (§7.1.1.1: the server accepts such an offer by including it)")
	}
	if p, ok := resp.Param(ServerMaxWindowBits); ok {
		d.ServerMaxWindowBits, _ = windowBits(p.Value)
	}
	if p, ok := offer.Param(ServerMaxWindowBits); ok {
		if limit, _ := windowBits(p.Value); d.ServerMaxWindowBits > limit {
			v = append(v, fmt.Sprintf("the offer limits server_max_window_bits to %d and the response allows %d (§7.1.2.1: the same or a smaller value)", limit, d.ServerMaxWindowBits))
		}
	}
	offered, clientBitsOffered := offer.Param(ClientMaxWindowBits)
	if p, ok := resp.Param(ClientMaxWindowBits); ok {
		if !clientBitsOffered {
			v = append(v, "the response has client_max_window_bits, which the offer did not have (§7.1.2.2: the response MUST NOT include it)")
		}
		d.ClientMaxWindowBits, _ = windowBits(p.Value)
	}
	// Offered with a value, the client keeps to it whatever the answer.
	if bits, ok := windowBits(offered.Value); ok && bits < d.ClientMaxWindowBits {
		d.ClientMaxWindowBits = bits
	}
	return d, v
}

func prefix(p string, list []string) []string {
	out := make([]string, len(list))
	for i, s := range list {
		out[i] = p + s
	}
	return out
}

// ClientBound is what the answer holds the client's compressor to: its
// client_max_window_bits (15 without one) and whether it has
// client_no_context_takeover. A server decompresses the client's messages
// with these, so a client that breaks them fails to decompress.
func (d Params) ClientBound() (bits int, noContextTakeover bool) {
	bits = 15
	if p, ok := d.Response.Param(ClientMaxWindowBits); ok {
		bits, _ = windowBits(p.Value)
	}
	_, noContextTakeover = d.Response.Param(ClientNoContextTakeover)
	return bits, noContextTakeover
}

// Answer is a server's acceptance of a valid offer (RFC 7692 §7):
// the offer's server_no_context_takeover and server_max_window_bits are
// answered as asked (§7.1.1.1, §7.1.2.1), then each of add is set, except
// a server_max_window_bits above the one the offer allows, which stays at
// the offer's. add may hold what a response must not (a case answering
// wrongly on purpose); Negotiate tells.
func Answer(offer handshake.Extension, add ...handshake.ExtParam) handshake.Extension {
	resp := handshake.Extension{Name: ExtensionName}
	for _, name := range []string{ServerNoContextTakeover, ServerMaxWindowBits} {
		if p, ok := offer.Param(name); ok {
			resp.Params = append(resp.Params, handshake.ExtParam{Name: p.Name, Value: p.Value, HasValue: p.HasValue})
		}
	}
	for _, p := range add {
		i := slices.IndexFunc(resp.Params, func(q handshake.ExtParam) bool { return q.Name == p.Name })
		switch {
		case i < 0:
			resp.Params = append(resp.Params, p)
		case p.Name == ServerMaxWindowBits:
			limit, _ := windowBits(resp.Params[i].Value)
			if asked, ok := windowBits(p.Value); ok && asked < limit {
				resp.Params[i] = p
			}
		default:
			resp.Params[i] = p
		}
	}
	return resp
}

// WindowBitsParam is a window-bits parameter with a value.
func WindowBitsParam(name string, bits int) handshake.ExtParam {
	return handshake.ExtParam{Name: name, Value: strconv.Itoa(bits), HasValue: true}
}
