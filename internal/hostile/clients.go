package hostile

import (
	"context"
	"encoding/binary"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/url"
	"time"

	"github.com/wsharness/wsharness/wire"
)

// ClientBehaviour is one way a client under test can misbehave when the
// harness plays the server. Run plays it against one case's URL until the
// connection ends or ctx does, as a client agent's Echo does.
type ClientBehaviour struct {
	Name        string
	Description string
	Run         func(ctx context.Context, caseURL string) error
}

// ClientBehaviours lists every hostile client.
func ClientBehaviours() []ClientBehaviour {
	return []ClientBehaviour{
		{Name: "never-connects", Description: "never opens a connection", Run: neverConnects},
		{Name: "silent", Description: "opens TCP and never sends its request", Run: dialThen(func(context.Context, net.Conn, *rand.Rand, string) {})},
		{Name: "deaf", Description: "completes the handshake, then reads everything and never answers or closes", Run: upgraded(deaf)},
		{Name: "never-reads", Description: "completes the handshake and never reads again, so the server's writes block", Run: upgraded(func(context.Context, net.Conn, *rand.Rand, string) {})},
		{Name: "garbage", Description: "completes the handshake, then sends random bytes without end", Run: upgraded(clientGarbage)},
		{Name: "huge-frame-63", Description: "completes the handshake, declares a masked 2^63-1-byte frame and trickles its payload", Run: upgraded(clientDeclare(1<<63 - 1))},
		{Name: "ping-flood", Description: "completes the handshake, then sends masked Pings as fast as it can", Run: upgraded(clientPingFlood)},
		{Name: "slow-handshake", Description: "sends its opening handshake request one byte every 300 ms", Run: dialThen(slowRequest)},
		{Name: "huge-header", Description: "sends a request with a 100 MB header", Run: dialThen(hugeRequest)},
		{Name: "random-reset", Description: "resets its connection (TCP RST) at a random point: before, during or after the handshake", Run: dialThen(clientRandomReset)},
	}
}

func neverConnects(ctx context.Context, _ string) error {
	<-ctx.Done()
	return nil
}

// misbehaviour plays a hostile client on its connection; target is the
// request target of the case's URL.
type misbehaviour func(ctx context.Context, c net.Conn, r *rand.Rand, target string)

// dialThen connects to the case's host and plays misbehave until it
// returns; the connection is closed when ctx ends. Each connection draws
// from a generator seeded by its URL, so a run replays.
func dialThen(misbehave misbehaviour) func(context.Context, string) error {
	return func(ctx context.Context, caseURL string) error {
		u, err := url.Parse(caseURL)
		if err != nil {
			return fmt.Errorf("hostile client: %w", err)
		}
		var d net.Dialer
		c, err := d.DialContext(ctx, "tcp", wire.HostPort(u))
		if err != nil {
			return fmt.Errorf("hostile client: %w", err)
		}
		defer c.Close()
		defer context.AfterFunc(ctx, func() { _ = c.Close() })()
		seed := uint64(0)
		for _, b := range []byte(caseURL) {
			seed = seed*131 + uint64(b)
		}
		misbehave(ctx, c, rand.New(rand.NewPCG(seed, 6455)), u.RequestURI())
		<-ctx.Done()
		return nil
	}
}

// request is a valid opening handshake request for target.
func request(c net.Conn, target string) []byte {
	return []byte("GET " + target + " HTTP/1.1\r\nHost: " + c.RemoteAddr().String() +
		"\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n")
}

// upgraded sends a valid request and reads the answer's head (what it
// says does not matter to a hostile client), then misbehaves.
func upgraded(misbehave misbehaviour) func(context.Context, string) error {
	return dialThen(func(ctx context.Context, c net.Conn, r *rand.Rand, target string) {
		if _, err := c.Write(request(c, target)); err != nil || !readHead(c) {
			return
		}
		misbehave(ctx, c, r, target)
	})
}

// readHead reads up to the blank line ending an HTTP head, a byte at a
// time so no frame after it is consumed; false when the connection ended
// first or the head passed 64 KiB.
func readHead(c net.Conn) bool {
	var tail [4]byte
	one := make([]byte, 1)
	for range 64 << 10 {
		if _, err := io.ReadFull(c, one); err != nil {
			return false
		}
		copy(tail[:], tail[1:])
		tail[3] = one[0]
		if string(tail[:]) == "\r\n\r\n" {
			return true
		}
	}
	return false
}

func deaf(_ context.Context, c net.Conn, _ *rand.Rand, _ string) { _, _ = io.Copy(io.Discard, c) }

// discardInBackground reads and drops what the server sends.
func discardInBackground(c net.Conn) { go func() { _, _ = io.Copy(io.Discard, c) }() }

func clientGarbage(_ context.Context, c net.Conn, r *rand.Rand, _ string) {
	discardInBackground(c)
	sendRandom(c, r)
}

// clientDeclare sends a masked binary frame header declaring n payload
// bytes, then one byte every 50 ms.
func clientDeclare(n uint64) misbehaviour {
	return func(ctx context.Context, c net.Conn, _ *rand.Rand, _ string) {
		discardInBackground(c)
		hdr := []byte{0x82, 0x80 | 127, 0, 0, 0, 0, 0, 0, 0, 0, 1, 2, 3, 4}
		binary.BigEndian.PutUint64(hdr[2:10], n)
		if _, err := c.Write(hdr); err != nil {
			return
		}
		t := time.NewTicker(50 * time.Millisecond)
		defer t.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-t.C:
			}
			if _, err := c.Write([]byte{'x'}); err != nil {
				return
			}
		}
	}
}

func clientPingFlood(_ context.Context, c net.Conn, _ *rand.Rand, _ string) {
	discardInBackground(c)
	// A masked Ping whose key is zero carries its payload as is.
	sendForever(c, []byte{0x89, 0x80 | 4, 0, 0, 0, 0, 'f', 'l', 'o', 'o'})
}

func slowRequest(ctx context.Context, c net.Conn, _ *rand.Rand, target string) {
	discardInBackground(c)
	for _, b := range request(c, target) {
		if _, err := c.Write([]byte{b}); err != nil {
			return
		}
		select {
		case <-ctx.Done():
			return
		case <-time.After(300 * time.Millisecond):
		}
	}
}

func hugeRequest(_ context.Context, c net.Conn, _ *rand.Rand, target string) {
	discardInBackground(c)
	sendHugeHead(c, "GET "+target+" HTTP/1.1")
}

func clientRandomReset(ctx context.Context, c net.Conn, r *rand.Rand, target string) {
	reset := func() {
		if tc, ok := c.(*net.TCPConn); ok {
			_ = tc.SetLinger(0) // Close sends RST
		}
		_ = c.Close()
	}
	req := request(c, target)
	switch r.IntN(3) {
	case 0: // before the request
		reset()
	case 1: // in the middle of it
		_, _ = c.Write(req[:len(req)/2])
		reset()
	default: // after the answer, a moment later
		if _, err := c.Write(req); err != nil || !readHead(c) {
			return
		}
		discardInBackground(c)
		select {
		case <-ctx.Done():
		case <-time.After(time.Duration(r.IntN(300)) * time.Millisecond):
			reset()
		}
	}
}
