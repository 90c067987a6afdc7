package brokenpeer

import (
	"errors"
	"fmt"
	"slices"

	"github.com/wsharness/wsharness/wire"
	"github.com/wsharness/wsharness/wire/deflate"
	"github.com/wsharness/wsharness/wire/handshake"
)

// permessage-deflate (RFC 7692) on the client side. The correct client
// offers it twice, in order of preference: with client_max_window_bits
// (any window the server asks for), then also with the
// client_no_context_takeover hint, so that a server can ask for either
// (Autobahn's 13.x ask for one, the other or both). It takes only an
// answer §7 allows, and keeps each direction's window as the answer says.

// clientOffer is the client's Sec-WebSocket-Extensions, "" for none.
func (d Defects) clientOffer() string {
	switch {
	case d.ClientNoDeflate:
		return ""
	case d.ClientPlainDeflateOffer:
		return deflate.ExtensionName
	}
	return "permessage-deflate; client_max_window_bits, permessage-deflate; client_no_context_takeover; client_max_window_bits"
}

// takeExtensions checks the extensions the server's answer accepts
// against the client's offer and returns the compression in use (nil:
// none), or why the client fails the connection.
func (d Defects) takeExtensions(values []string) (*deflateState, error) {
	answer, err := handshake.ParseExtensions(values)
	if err != nil {
		return nil, fmt.Errorf("Sec-WebSocket-Extensions: %w", err)
	}
	accepted := deflate.Elements(answer)
	offered, _ := handshake.ParseExtensions([]string{d.clientOffer()})
	switch {
	case len(accepted) < len(answer) || (len(accepted) > 0 && len(offered) == 0):
		if !d.ClientAcceptsUnoffered {
			return nil, errors.New("an extension that was not offered")
		}
		return nil, nil // taken, and ignored
	case len(accepted) == 0:
		return nil, nil
	}
	cfg, problems := deflate.Negotiate(offered, accepted)
	if len(problems) > 0 {
		// Each knob takes one kind of wrong answer: a client window nobody
		// offered, or anything else that is wrong.
		lenient := d.ClientDeflateAcceptsInvalidAnswer
		if _, ok := accepted[0].Param(deflate.ClientMaxWindowBits); ok && !slices.ContainsFunc(offered, func(o handshake.Extension) bool {
			_, has := o.Param(deflate.ClientMaxWindowBits)
			return has
		}) {
			lenient = d.ClientDeflateAcceptsUnofferedWindow
		}
		if !lenient {
			return nil, fmt.Errorf("permessage-deflate answer: %v", problems)
		}
		cfg = &deflate.Params{ServerMaxWindowBits: 15, ClientMaxWindowBits: 15} // as if plain
	}
	return d.newDeflateState(wire.Client, cfg.ClientMaxWindowBits, cfg.ClientNoContextTakeover, cfg.ServerMaxWindowBits, cfg.ServerNoContextTakeover), nil
}
