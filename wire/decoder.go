package wire

import (
	"fmt"
	"io"
)

// DefaultMaxPayload bounds what the decoder accepts in one frame. Cases send
// at most 16 MiB messages; a server echoing more is broken.
const DefaultMaxPayload = 32 << 20

// TooLargeError reports a frame whose declared length is over the limit.
type TooLargeError struct {
	Declared uint64
	Limit    uint64
}

func (e *TooLargeError) Error() string {
	return fmt.Sprintf("frame declares a %d-byte payload, over the %d-byte limit", e.Declared, e.Limit)
}

// Received is a decoded frame: its header and unmasked payload.
type Received struct {
	Header
	Payload []byte
}

// Decoder reads frames from a byte stream. It never allocates on a
// peer-declared length: payload buffers grow only as bytes arrive.
type Decoder struct {
	r          io.Reader
	maxPayload uint64
	hdr        [14]byte
}

// NewDecoder returns a decoder reading from r that rejects frames longer
// than maxPayload bytes (0 means DefaultMaxPayload).
func NewDecoder(r io.Reader, maxPayload uint64) *Decoder {
	if maxPayload == 0 {
		maxPayload = DefaultMaxPayload
	}
	return &Decoder{r: r, maxPayload: maxPayload}
}

// Next reads one frame. A header cut short by EOF returns
// io.ErrUnexpectedEOF; a clean EOF between frames returns io.EOF.
func (d *Decoder) Next() (Received, error) {
	if _, err := io.ReadFull(d.r, d.hdr[:2]); err != nil {
		return Received{}, err
	}
	n := HeaderSize(d.hdr[1])
	if _, err := io.ReadFull(d.r, d.hdr[2:n]); err != nil {
		return Received{}, noEOF(err)
	}
	h, err := ParseHeader(d.hdr[:n])
	if err != nil {
		return Received{}, err
	}
	if h.Length > d.maxPayload {
		return Received{Header: h}, &TooLargeError{Declared: h.Length, Limit: d.maxPayload}
	}
	p, err := readGrowing(d.r, int(h.Length))
	if err != nil {
		return Received{Header: h, Payload: p}, noEOF(err)
	}
	if h.Masked {
		Mask(p, h.Key, 0)
	}
	return Received{Header: h, Payload: p}, nil
}

// growStep is how much payload is allocated before bytes prove it is needed.
const growStep = 64 << 10

// readGrowing reads exactly n bytes, growing the buffer as data arrives so
// a peer that declares a large frame and trickles costs only what it sent.
func readGrowing(r io.Reader, n int) ([]byte, error) {
	if n <= growStep {
		b := make([]byte, n)
		m, err := io.ReadFull(r, b)
		return b[:m], err
	}
	b := make([]byte, 0, growStep)
	for len(b) < n {
		if len(b) == cap(b) {
			b = append(b, 0)[:len(b)] // let append pick the next capacity
		}
		want := min(cap(b), n)
		m, err := r.Read(b[len(b):want])
		b = b[:len(b)+m]
		if err != nil {
			if err == io.EOF && len(b) < n {
				err = io.ErrUnexpectedEOF
			}
			if len(b) == n {
				return b, nil
			}
			return b, err
		}
	}
	return b, nil
}

func noEOF(err error) error {
	if err == io.EOF {
		return io.ErrUnexpectedEOF
	}
	return err
}
