package targets

import (
	"errors"
	"io"
	"slices"

	"github.com/wsharness/wsharness/internal/utf8stream"
)

// maxMessageSize is the read limit of the configured targets: twice the
// largest message Autobahn sends (16 MiB, cases 9.x).
const maxMessageSize = 32 << 20

// errInvalidUTF8 ends a configured connection with Close 1007.
var errInvalidUTF8 = errors.New("invalid UTF-8 in text message")

const (
	// readChunk is the smallest read into a message buffer.
	readChunk = 4096
	// keepBufferMax is the largest message buffer a connection keeps for
	// its next message: an idle connection should not pin the memory of
	// its largest message.
	keepBufferMax = 64 << 10
)

// readMessageBody reads a message from r to io.EOF, appending to buf[:0].
// If text is not nil, the message is text: it is validated as it streams
// in, so that invalid UTF-8 fails with errInvalidUTF8 before the rest of
// the message has arrived. The buffer grows with the bytes received, never
// with a length the peer declares; the library's read limit bounds it.
func readMessageBody(r io.Reader, buf []byte, text *utf8stream.Validator) ([]byte, error) {
	if text != nil {
		text.Reset()
	}
	msg := buf[:0]
	for {
		if cap(msg)-len(msg) < readChunk {
			msg = slices.Grow(msg, max(readChunk, len(msg)))
		}
		n, err := r.Read(msg[len(msg):cap(msg)])
		if text != nil && !text.Feed(msg[len(msg):len(msg)+n]) {
			return nil, errInvalidUTF8
		}
		msg = msg[:len(msg)+n]
		switch {
		case err == io.EOF:
			if text != nil && !text.Complete() {
				return nil, errInvalidUTF8
			}
			return msg, nil
		case err != nil:
			return nil, err
		}
	}
}

// reusable returns buf emptied for the next message, or nil if it is too
// large to keep.
func reusable(buf []byte) []byte {
	if cap(buf) > keepBufferMax {
		return nil
	}
	return buf[:0]
}
