package targets

import (
	"net/http"
	"sync"

	"github.com/lxzan/gws"
)

// newGWSDeflateHandler serves gws configured as newGWSHandler, plus
// permessage-deflate with context takeover on both sides and full windows,
// as gws' Autobahn "context_take_over" agents run it.
//
// gws reads its parameters from the whole Sec-WebSocket-Extensions value
// with a substring match, merging every offer, and answers the window
// sizes of its configuration whatever was offered. So the handler hands
// gws only the first valid offer (filterDeflateOffers) and picks an
// upgrader whose server_max_window_bits is what that offer asks for: gws
// then compresses within that window and says so in its answer.
func newGWSDeflateHandler() http.Handler {
	h := newHub(encodeGWS)
	echo := &gwsDeflateUpgraders{events: &gwsEvents{pongEchoesPing: true, deliver: gwsEcho}}
	broadcast := &gwsDeflateUpgraders{events: &gwsEvents{pongEchoesPing: true, deliver: gwsPublish(h)}}
	mux := http.NewServeMux()
	mux.HandleFunc(EchoPath, handshakeGuard(func(w http.ResponseWriter, r *http.Request) {
		up, deflate := echo.pick(r)
		if socket := upgradeGWS(up, w, r, deflate); socket != nil {
			go runGWS(socket, nil, true)
		}
	}))
	mux.HandleFunc(BroadcastPath, handshakeGuard(func(w http.ResponseWriter, r *http.Request) {
		up, deflate := broadcast.pick(r)
		if socket := upgradeGWS(up, w, r, deflate); socket != nil {
			go runGWS(socket, h, true)
		}
	}))
	return mux
}

// gwsDeflateUpgraders holds one upgrader per server window size (8–15),
// made on first use: gws fixes the window per upgrader.
type gwsDeflateUpgraders struct {
	events gws.Event
	mu     sync.Mutex
	byBits map[int]*gws.Upgrader
}

// pick filters the request's offers and returns the upgrader for the one
// left, and whether there is one (gws then accepts it).
func (u *gwsDeflateUpgraders) pick(r *http.Request) (*gws.Upgrader, bool) {
	offers := filterDeflateOffers(r.Header, nil, 1)
	bits := 15
	if len(offers) > 0 {
		bits = serverWindowBits(offers[0])
	}
	u.mu.Lock()
	defer u.mu.Unlock()
	if u.byBits == nil {
		u.byBits = map[int]*gws.Upgrader{}
	}
	up := u.byBits[bits]
	if up == nil {
		opts := gwsOptions()
		opts.PermessageDeflate = gws.PermessageDeflate{
			Enabled:               true,
			ServerContextTakeover: true,
			ClientContextTakeover: true,
			ServerMaxWindowBits:   bits,
			// 15 is never announced, so client_max_window_bits is only
			// ever in the answer when offered (gws would send another
			// value unasked, against RFC 7692 §7.1.2.2).
			ClientMaxWindowBits: 15,
			// Compressors shared by the upgrader's connections.
			PoolSize: 8,
		}
		up = gws.NewUpgrader(u.events, opts)
		u.byBits[bits] = up
	}
	return up, len(offers) > 0
}
