package brokenpeer

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net"
	"net/url"
	"time"

	"github.com/wsharness/wsharness/wire"
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
	nc, err := dialer.DialContext(ctx, "tcp", u.Host)
	if err != nil {
		return fmt.Errorf("brokenpeer: connect: %w", err)
	}
	defer nc.Close()
	defer context.AfterFunc(ctx, func() { _ = nc.Close() })()

	key := wire.RandomKeyStream().HandshakeKey()
	_ = nc.SetDeadline(time.Now().Add(handshakeTimeout))
	if _, err := nc.Write(wire.UpgradeRequest(u, key).Bytes()); err != nil {
		return fmt.Errorf("brokenpeer: send the handshake: %w", err)
	}
	br := bufio.NewReaderSize(nc, 16<<10)
	head, err := wire.ReadHead(br)
	if err != nil {
		return fmt.Errorf("brokenpeer: read the handshake response: %w", err)
	}
	resp, err := wire.ParseResponse(head)
	if err != nil {
		return fmt.Errorf("brokenpeer: %w", err)
	}
	if problems := wire.CheckUpgrade(resp, key, nil, nil); len(problems) > 0 {
		return fmt.Errorf("brokenpeer: the server's answer fails the handshake: %v", problems)
	}
	_ = nc.SetDeadline(time.Time{})

	c := &conn{d: d, role: wire.Client, nc: nc, br: br}
	switch c.run() {
	case endLinger, endWaitForClient:
		// The server closes TCP first; wait for it, within the linger.
		_ = nc.SetReadDeadline(time.Now().Add(lingerTimeout))
		_, _ = io.Copy(io.Discard, br)
	case endDrop:
	}
	return nil
}
