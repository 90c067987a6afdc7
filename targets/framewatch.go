package targets

import (
	"encoding/binary"
	"net"
)

// frameWatch follows the frame headers of a client's byte stream as a
// library reads it, to recover two facts gorilla does not report: whether
// the first Close frame had a 1-byte payload (gorilla reports it as an empty
// Close) and whether a 64-bit length had its top bit set (gorilla reports
// ErrReadLimit). It only parses headers and skips payloads by count, so it
// costs nothing per payload byte and allocates nothing.
//
// It is not safe for concurrent use; the connection's single reader feeds
// it, and the same goroutine reads its fields.
type frameWatch struct {
	header [14]byte // 2 fixed + up to 8 length + 4 mask bytes
	have   int      // header bytes collected so far
	want   int      // header size, known once the first 2 bytes are in
	skip   uint64   // payload bytes of the current frame not yet seen

	firstCloseLen int  // payload length of the first Close frame; -1 before it
	lengthMSB     bool // a 64-bit length had its most significant bit set
}

func newFrameWatch() *frameWatch { return &frameWatch{firstCloseLen: -1} }

// observe consumes bytes read from the client, in order.
func (w *frameWatch) observe(p []byte) {
	for len(p) > 0 && !w.lengthMSB { // after a bogus length the stream is lost
		if w.skip > 0 {
			n := min(uint64(len(p)), w.skip)
			p = p[n:]
			w.skip -= n
			continue
		}
		w.header[w.have] = p[0]
		w.have++
		p = p[1:]
		if w.have == 2 {
			w.want = 2
			switch w.header[1] & 0x7f {
			case 126:
				w.want += 2
			case 127:
				w.want += 8
			}
			if w.header[1]&0x80 != 0 {
				w.want += 4
			}
		}
		if w.have == w.want {
			w.endHeader()
		}
	}
}

// endHeader records a complete header and starts skipping its payload.
func (w *frameWatch) endHeader() {
	length := uint64(w.header[1] & 0x7f)
	switch length {
	case 126:
		length = uint64(binary.BigEndian.Uint16(w.header[2:4]))
	case 127:
		length = binary.BigEndian.Uint64(w.header[2:10])
		w.lengthMSB = length>>63 != 0
	}
	const opClose = 0x8
	if w.header[0]&0x0f == opClose && w.firstCloseLen < 0 {
		w.firstCloseLen = int(min(length, 1<<16))
	}
	w.skip = length
	w.have, w.want = 0, 0
}

// watchedConn feeds everything read from a connection to a frameWatch.
type watchedConn struct {
	net.Conn
	watch *frameWatch
}

func (c *watchedConn) Read(p []byte) (int, error) {
	n, err := c.Conn.Read(p)
	c.watch.observe(p[:n])
	return n, err
}
