package loadgen

import (
	"context"
	"errors"
	"fmt"
	"net"
	"sync/atomic"

	"github.com/gorilla/websocket"
)

// MaxHandshakeBytes bounds what a server may send on a connection before
// its handshake response is complete (TLS records included). gorilla reads
// the response with net/http, which has no limit of its own: a server
// answering with an endless header would make every dial allocate without
// bound.
const MaxHandshakeBytes = 128 << 10

// errHandshakeTooLarge ends a dial whose server sent more than
// MaxHandshakeBytes before its response was complete.
var errHandshakeTooLarge = fmt.Errorf("handshake response larger than %d KiB", MaxHandshakeBytes>>10)

// handshake watches one dial: it bounds the bytes read until lift and
// keeps what the transport said, which net/http may hide: bufio drops a
// read error that ends a partial line, so a timeout or a reset in the
// middle of the status line reads as a malformed response.
type handshake struct {
	conn *handshakeConn
}

// wrap returns dial with its connection bounded.
func (h *handshake) wrap(dial func(ctx context.Context, network, addr string) (net.Conn, error)) func(ctx context.Context, network, addr string) (net.Conn, error) {
	return func(ctx context.Context, network, addr string) (net.Conn, error) {
		c, err := dial(ctx, network, addr)
		if err != nil {
			return nil, err
		}
		h.conn = &handshakeConn{Conn: c, left: MaxHandshakeBytes}
		return h.conn, nil
	}
}

// lift removes the bound once the handshake has succeeded.
func (h *handshake) lift() {
	if h.conn != nil {
		h.conn.lifted.Store(true)
	}
}

// explain names the cause of a failed dial for classify: an oversized
// response is a bad handshake; a response cut short by a timeout, a reset
// or a close is that, whatever the parser made of the part it got; any
// other response that does not parse is a bad handshake. Errors classify
// already names otherwise (TLS, refused, a status that is not 101) stay.
func (h *handshake) explain(err error) error {
	c := h.conn
	if c == nil { // no TCP connection
		return err
	}
	if c.tooLarge {
		return fmt.Errorf("%w: %w", websocket.ErrBadHandshake, errHandshakeTooLarge)
	}
	switch classify(err) {
	case FailOther, FailClosed:
	default:
		return err
	}
	if c.err != nil {
		switch classify(c.err) {
		case FailTimeout, FailReset, FailClosed:
			if errors.Is(err, c.err) {
				return err
			}
			return fmt.Errorf("%w (the response was cut short: %v)", c.err, err)
		}
	}
	if c.read > 0 && classify(err) == FailOther {
		return fmt.Errorf("%w: invalid response: %w", websocket.ErrBadHandshake, err)
	}
	return err
}

// handshakeConn is a net.Conn whose reads are bounded until lifted. Only
// the dialing goroutine reads it before the lift (and the fields below),
// the connection's reader after it.
type handshakeConn struct {
	net.Conn
	lifted atomic.Bool

	left     int   // bytes the server may still send
	read     int   // bytes it sent
	err      error // the first read error
	tooLarge bool  // reads stopped at MaxHandshakeBytes
}

func (c *handshakeConn) Read(p []byte) (int, error) {
	if c.lifted.Load() {
		return c.Conn.Read(p)
	}
	if c.left <= 0 {
		c.tooLarge = true
		return 0, errHandshakeTooLarge
	}
	if len(p) > c.left {
		p = p[:c.left]
	}
	n, err := c.Conn.Read(p)
	c.left -= n
	c.read += n
	if err != nil && c.err == nil {
		c.err = err
	}
	return n, err
}
