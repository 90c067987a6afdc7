package brokenpeer

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"time"

	"github.com/wsharness/wsharness/wire"
	"github.com/wsharness/wsharness/wire/handshake"
)

// Echo plays a client under test for one case, the way Autobahn's fuzzing
// server expects of one: it connects to url, sends a valid opening
// handshake, fails the connection when the answer is not a valid 101
// (§4.1), then echoes every message with its type, through the same frame
// loop as the server and with the same Defects, until the connection
// ends. A correct client waits for the server to close TCP after the
// closing handshake (§7.1.1). ctx ending drops the connection.
func Echo(ctx context.Context, rawURL string, d Defects) error {
	u, err := url.Parse(rawURL)
	if err != nil {
		return fmt.Errorf("brokenpeer: %w", err)
	}
	dialer := net.Dialer{Timeout: handshakeTimeout}
	nc, err := dialer.DialContext(ctx, "tcp", wire.HostPort(u))
	if err != nil {
		return fmt.Errorf("brokenpeer: connect: %w", err)
	}
	defer nc.Close()
	defer context.AfterFunc(ctx, func() { _ = nc.Close() })()

	key := wire.RandomKeyStream().HandshakeKey()
	_ = nc.SetDeadline(time.Now().Add(handshakeTimeout))
	req := handshake.UpgradeRequest(u, key)
	if offer := d.clientOffer(); offer != "" {
		req.Headers.Set("Sec-WebSocket-Extensions", offer)
	}
	if _, err := nc.Write(req.Bytes()); err != nil {
		return fmt.Errorf("brokenpeer: send the handshake: %w", err)
	}
	br := bufio.NewReaderSize(nc, 16<<10)
	head, err := handshake.ReadHead(br)
	if err != nil {
		return fmt.Errorf("brokenpeer: read the handshake response: %w", err)
	}
	resp, err := handshake.ParseResponse(head)
	if err != nil {
		return fmt.Errorf("brokenpeer: %w", err)
	}
	if err := d.checkAnswer(resp, key); err != nil {
		return fmt.Errorf("brokenpeer: the server's answer fails the handshake: %w", err)
	}
	dfl, err := d.takeExtensions(resp.Header.Values("Sec-WebSocket-Extensions"))
	if err != nil {
		return fmt.Errorf("brokenpeer: the server's answer fails the handshake: %w", err)
	}
	_ = nc.SetDeadline(time.Time{})

	c := &conn{d: d, role: wire.Client, nc: nc, br: br, deflate: dfl}
	c.endOfClient(ctx, c.run())
	return nil
}

// checkAnswer is the client's check of the server's answer (§4.1), with
// the knobs that break it. The client offers no subprotocol; its
// extensions are takeExtensions' to check.
func (d Defects) checkAnswer(resp *handshake.Response, key string) error {
	h := resp.Header
	exact := func(name, want string) bool { return len(h.Values(name)) == 1 && h.Get(name) == want }
	switch {
	case resp.Status != http.StatusSwitchingProtocols && !d.ClientAcceptsNon101:
		return fmt.Errorf("status %d", resp.Status)
	case h.Get("Sec-WebSocket-Accept") != handshake.AcceptKey(key) && !d.ClientAcceptsWrongAccept:
		return errors.New("wrong Sec-WebSocket-Accept")
	case d.ClientRequiresExactHeaders && (!exact("Upgrade", "websocket") || !exact("Connection", "Upgrade")):
		return errors.New("Upgrade or Connection not exactly as expected")
	case (!handshake.HeaderHasToken(h, "Upgrade", "websocket") || !handshake.HeaderHasToken(h, "Connection", "upgrade")) && !d.ClientAcceptsNoUpgrade:
		return errors.New("no Upgrade: websocket or Connection: Upgrade")
	case h.Get("Sec-WebSocket-Protocol") != "" && !d.ClientAcceptsUnoffered:
		return errors.New("a subprotocol that was not offered")
	}
	return nil
}
