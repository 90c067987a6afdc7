package targets

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net"
	"time"

	"github.com/gobwas/ws"
	"github.com/gobwas/ws/wsutil"
	"github.com/gorilla/websocket"
	"github.com/lxzan/gws"

	"github.com/wsharness/wsharness/wire"
)

// ClientAgent is a reference WebSocket client the harness judges by
// playing the server. Each is driven the way Autobahn's fuzzing server
// expects of a client under test: connect to the case's URL, echo every
// text and binary message with its type, answer Pings, fail the
// connection on protocol errors, and stop when the connection ends.
type ClientAgent struct {
	Info
	// Echo plays one case: it connects to url and echoes until the
	// connection ends or ctx does. An error means the client could not
	// connect or could not finish cleanly; the case's verdict says what
	// it did on the wire.
	Echo func(ctx context.Context, url string) error
	// Drive, set instead of Echo, runs a client test driver that starts
	// its cases itself over Autobahn's fuzzing-server protocol at url,
	// reporting as agent, until it ends or ctx does (ExternalClient.Drive).
	Drive func(ctx context.Context, url, agent string) error
}

// clientHandshakeTimeout bounds a reference client's opening handshake.
const clientHandshakeTimeout = 5 * time.Second

// Clients returns the reference client agents, each configured as its
// library's authors run it against Autobahn's fuzzing server (or, for the
// libraries that test only their server, as their documentation writes a
// client).
func Clients() []ClientAgent {
	return []ClientAgent{
		{
			Info: Info{Name: "gorilla-client", Library: gorillaLibrary, Role: wire.Client,
				Description: "gorilla/websocket Dialer defaults, ReadMessage/WriteMessage echo (no UTF-8 check, no compression offered)"},
			Echo: gorillaClientEcho,
		},
		{
			Info: Info{Name: "gobwas-client", Library: gobwasLibrary, Role: wire.Client,
				Description: "gobwas/ws Dial, wsutil.ReadServerData/WriteClientMessage echo (UTF-8 checked, control frames answered by wsutil)"},
			Echo: gobwasClientEcho,
		},
		{
			Info: Info{Name: "gws-client", Library: gwsLibrary, Role: wire.Client,
				Description: "lxzan/gws client as its examples/autobahn runs it (UTF-8 checks, synchronous echo), without permessage-deflate, as the gws server target"},
			Echo: gwsClientEcho(false),
		},
		{
			Info: Info{Name: "gws-client-deflate", Library: gwsLibrary, Role: wire.Client,
				Description: "gws-client plus permessage-deflate with context takeover both ways, as examples/autobahn offers it (the 216 12.x/13.x cases run against it)"},
			Echo: gwsClientEcho(true),
		},
	}
}

// LookupClient returns the reference client agent called name.
func LookupClient(name string) (ClientAgent, bool) {
	for _, a := range Clients() {
		if a.Name == name {
			return a, true
		}
	}
	return ClientAgent{}, false
}

// closeOnDone closes c when ctx ends before stop is called.
func closeOnDone(ctx context.Context, c io.Closer) (stop func() bool) {
	return context.AfterFunc(ctx, func() { _ = c.Close() })
}

func gorillaClientEcho(ctx context.Context, url string) error {
	d := websocket.Dialer{HandshakeTimeout: clientHandshakeTimeout}
	conn, _, err := d.DialContext(ctx, url, nil)
	if err != nil {
		return fmt.Errorf("gorilla client: %w", err)
	}
	defer conn.Close()
	defer closeOnDone(ctx, conn.NetConn())()
	for {
		op, msg, err := conn.ReadMessage()
		if err != nil {
			return nil // the connection ended; the harness judges how
		}
		if err := conn.WriteMessage(op, msg); err != nil {
			return nil
		}
	}
}

func gobwasClientEcho(ctx context.Context, url string) error {
	d := ws.Dialer{Timeout: clientHandshakeTimeout}
	conn, br, _, err := d.Dial(ctx, url)
	if err != nil {
		return fmt.Errorf("gobwas client: %w", err)
	}
	defer conn.Close()
	defer closeOnDone(ctx, conn)()
	// Frames the server sent with its response wait in br.
	var r io.Reader = conn
	if br != nil {
		r = io.MultiReader(br, conn)
		defer ws.PutReader(br)
	}
	rw := struct {
		io.Reader
		io.Writer
	}{bufio.NewReader(r), conn}
	for {
		msg, op, err := wsutil.ReadServerData(rw)
		if err != nil {
			return nil
		}
		if err := wsutil.WriteClientMessage(conn, op, msg); err != nil {
			return nil
		}
	}
}

// gwsClientEcho plays a gws client, offering permessage-deflate with
// context takeover both ways when deflate is set. The compressing variant
// is an agent of its own, as gws-deflate is beside gws among the servers:
// its 216 12.x/13.x cases are CPU-bound and take longer than the rest of
// the Go clients' full profile together.
func gwsClientEcho(deflate bool) func(ctx context.Context, url string) error {
	return func(ctx context.Context, url string) error {
		conn, _, err := gws.NewClient(&gwsEvents{pongEchoesPing: true, deliver: gwsEcho}, &gws.ClientOption{
			Addr:             url,
			HandshakeTimeout: clientHandshakeTimeout,
			CheckUtf8Enabled: true,
			PermessageDeflate: gws.PermessageDeflate{
				Enabled:               deflate,
				ServerContextTakeover: true,
				ClientContextTakeover: true,
			},
			NewDialer: func() (gws.Dialer, error) { return &net.Dialer{Timeout: clientHandshakeTimeout}, nil },
		})
		if err != nil {
			return fmt.Errorf("gws client: %w", err)
		}
		defer closeOnDone(ctx, conn.NetConn())()
		// runGWS recovers the panic gws' read loop has on a 64-bit length
		// with its top bit set, which would otherwise end the harness.
		runGWS(conn, nil, false)
		return nil
	}
}
