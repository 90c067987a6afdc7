package loadgen

import (
	"errors"
	"io"
	"net"
	"os"
	"syscall"

	"github.com/gorilla/websocket"

	"github.com/wsharness/wsharness/wire/h2"
)

// MinReadLimit is the smallest read limit of a connection: no message the
// generator reads may be larger than max(2 × --size, MinReadLimit). A
// server declaring a larger frame (up to 2^63 bytes) fails the connection
// as a protocol error before anything is allocated for it.
const MinReadLimit = 64 << 10

// readLimit is the largest message a connection accepts: replies and
// broadcasts are --size bytes, so twice that leaves room for a server
// that adds to them.
func readLimit(cfg Config) int64 {
	return int64(max(2*cfg.Size, MinReadLimit))
}

// classifyDrop names why an established connection failed (the kinds
// are listed with FailRefused).
func classifyDrop(err error) string {
	var ce *websocket.CloseError
	var ne net.Error
	switch {
	// gorilla reports a Close frame, and TCP closed without one
	// (1006, also mid-frame), as a CloseError.
	case errors.As(err, &ce), errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF):
		return FailClosed
	case errors.Is(err, websocket.ErrReadLimit):
		return FailProtocol
	// Over HTTP/2, RST_STREAM is the stream's TCP reset and a GOAWAY
	// that leaves it out its close (RFC 8441 §5).
	case errors.Is(err, syscall.ECONNRESET), errors.Is(err, syscall.EPIPE), errors.As(err, new(*h2.ResetError)):
		return FailReset
	case errors.As(err, new(*h2.GoneAwayError)):
		return FailClosed
	case errors.Is(err, os.ErrDeadlineExceeded), errors.As(err, &ne) && ne.Timeout():
		return FailTimeout
	case errors.As(err, &ne):
		return FailOther
	}
	// The rest are gorilla's protocol errors, plain errors such as
	// "websocket: RSV1 set, RSV2 set, bad opcode 7".
	return FailProtocol
}
