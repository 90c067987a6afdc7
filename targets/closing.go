package targets

import (
	"bufio"
	"fmt"
	"io"
	"net"
	"net/http"
	"sync"
	"time"

	"github.com/wsharness/wsharness/wire"
)

// Timeouts of the closing handshake. They bound how long a server spends on
// a peer that has stopped cooperating; a cooperating peer is much faster.
const (
	// closeWriteTimeout bounds writing a Close frame (best effort).
	closeWriteTimeout = time.Second
	// lingerTimeout bounds waiting for the peer to close its side after the
	// server has sent its Close frame and shut down its writing side.
	lingerTimeout = 2 * time.Second
	// lingerMaxBytes bounds what is read and discarded meanwhile.
	lingerMaxBytes = 1 << 20
)

// closeGracefully ends a TCP connection after the server has sent a Close
// frame. A plain Close while the peer's bytes sit unread in the receive
// buffer makes the kernel answer with RST, and the peer may then lose the
// Close frame (and anything before it) that it had not read yet. So the
// server half-closes (FIN), discards what the peer still sends until it
// closes too or lingerTimeout passes, and only then closes.
func closeGracefully(c net.Conn) {
	if wire.CloseWrite(c) == nil {
		if c.SetReadDeadline(time.Now().Add(lingerTimeout)) == nil {
			_, _ = io.Copy(io.Discard, io.LimitReader(c, lingerMaxBytes))
		}
	}
	_ = c.Close()
}

// hijackInterceptor lets a library hijack the HTTP connection as usual but
// hands it a wrapped net.Conn. The wrapped connection is how the targets
// observe or adjust what a library does on the wire without changing it.
type hijackInterceptor struct {
	http.ResponseWriter
	wrap func(net.Conn) net.Conn
}

func (h hijackInterceptor) Hijack() (net.Conn, *bufio.ReadWriter, error) {
	c, rw, err := http.NewResponseController(h.ResponseWriter).Hijack()
	if err != nil {
		return nil, nil, fmt.Errorf("hijack: %w", err)
	}
	return h.wrap(c), rw, nil
}

// gracefulConn makes Close run closeGracefully, for a library (gws) that
// closes the connection itself right after writing its Close frame.
type gracefulConn struct {
	net.Conn
	once sync.Once
}

func (g *gracefulConn) Close() error {
	g.once.Do(func() { closeGracefully(g.Conn) })
	return nil
}
