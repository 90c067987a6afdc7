package deflate

import (
	"bytes"
	"errors"
	"fmt"
	"io"

	"github.com/klauspost/compress/flate"
)

// DefaultMaxInflated bounds one decompressed message: a deflate bomb from a
// hostile server (a few KiB that inflate to gigabytes) costs at most this
// much memory before the case fails.
const DefaultMaxInflated = 64 << 20

// syncTail ends every sync flush; RFC 7692 §7.2.1 strips it from a message
// and §7.2.2 appends it again before decompressing.
var syncTail = []byte{0x00, 0x00, 0xff, 0xff}

// inflateTail is syncTail plus an empty final stored block, so that the
// decompressor ends with io.EOF instead of waiting for another block.
var inflateTail = []byte{0x00, 0x00, 0xff, 0xff, 0x01, 0x00, 0x00, 0xff, 0xff}

// Errors of Decompress; both are wrapped with details.
var (
	// ErrInflateLimit: the message decompresses to more than the limit.
	ErrInflateLimit = errors.New("decompressed message over the limit")
	// ErrBadDeflate: the payload is not DEFLATE data ending on a block
	// boundary, or refers back past the data it may use.
	ErrBadDeflate = errors.New("compressed payload does not decompress")
)

// Compressor compresses the messages one endpoint sends (RFC 7692 §7.2.1):
// DEFLATE, a sync flush, and the flush's 4-byte tail stripped.
//
// The window bound matters: an endpoint that accepted client_max_window_bits
// (or server_max_window_bits) = w may keep only 2^w bytes of history, so a
// back-reference further than that is corrupt data to it. The standard
// library's compress/flate always uses a 32 KiB window; klauspost's
// NewWriterWindow caps every match distance at the window size, within a
// message and across messages alike, so that is what a window under 2^15
// uses. With the full window, BestSpeed keeps long series fast.
type Compressor struct {
	fw        *flate.Writer
	out       bytes.Buffer
	noContext bool
}

// NewCompressor returns a compressor whose back-references reach at most
// 2^windowBits bytes (8–15). With noContextTakeover every message starts
// with an empty window; otherwise the window carries over between messages.
func NewCompressor(windowBits int, noContextTakeover bool) *Compressor {
	c := &Compressor{noContext: noContextTakeover}
	var err error
	if windowBits >= 15 {
		c.fw, err = flate.NewWriter(&c.out, flate.BestSpeed)
	} else {
		c.fw, err = flate.NewWriterWindow(&c.out, 1<<max(windowBits, 8))
	}
	if err != nil {
		panic("wire: flate writer: " + err.Error()) // constant, valid arguments
	}
	return c
}

// Compress returns the compressed form of one message, without the tail.
// The result is the caller's.
func (c *Compressor) Compress(p []byte) []byte {
	c.out.Reset()
	if c.noContext {
		c.fw.Reset(&c.out)
	}
	// Writing to a bytes.Buffer cannot fail.
	_, _ = c.fw.Write(p)
	_ = c.fw.Flush()
	b := c.out.Bytes()
	if !bytes.HasSuffix(b, syncTail) {
		panic("wire: a flate sync flush did not end with 00 00 ff ff")
	}
	return bytes.Clone(b[:len(b)-len(syncTail)])
}

// Decompressor decompresses the messages one endpoint receives (RFC 7692
// §7.2.2), never producing more than its limit per message.
//
// With context takeover the sender may refer back into earlier messages,
// but only 2^windowBits bytes back: the decompressor keeps exactly that
// much history, so a sender that claims a small window and refers further
// back across messages fails to decompress. Within one message the
// inflater accepts any distance up to 32 KiB; a decompressor that checks
// distances (a server's, of what the client sends: NewCodec) reads
// every back-reference of a message under a small window as well.
type Decompressor struct {
	fr        io.ReadCloser
	in        []byte
	history   []byte
	window    int
	noContext bool
	limit     int
	// distances, when set, checks every back-reference against window.
	distances *referenceScanner
}

// NewDecompressor returns a decompressor for a sender whose window is
// 2^windowBits and which resets it per message when noContextTakeover.
// limit bounds each decompressed message (0 = DefaultMaxInflated).
func NewDecompressor(windowBits int, noContextTakeover bool, limit int) *Decompressor {
	if limit <= 0 {
		limit = DefaultMaxInflated
	}
	return &Decompressor{
		fr: flate.NewReader(bytes.NewReader(nil)), window: 1 << min(max(windowBits, 8), 15),
		noContext: noContextTakeover, limit: limit,
	}
}

// Decompress returns the message a compressed payload carries. Errors wrap
// ErrBadDeflate or ErrInflateLimit; after one the decompressor's history
// is unreliable, as the connection is for the peer.
func (d *Decompressor) Decompress(p []byte) ([]byte, error) {
	d.in = append(append(d.in[:0], p...), inflateTail...)
	var dict []byte
	if !d.noContext {
		dict = d.history
	}
	if err := d.fr.(flate.Resetter).Reset(bytes.NewReader(d.in), dict); err != nil {
		return nil, fmt.Errorf("%w: reset: %w", ErrBadDeflate, err)
	}
	out, err := readBounded(d.fr, d.limit)
	switch {
	case errors.Is(err, ErrInflateLimit):
		return nil, fmt.Errorf("%w: %d compressed bytes inflate to more than %d", ErrInflateLimit, len(p), d.limit)
	case err != nil:
		return nil, fmt.Errorf("%w (%d bytes): %w", ErrBadDeflate, len(p), err)
	}
	if d.distances != nil && d.window < 1<<15 {
		switch far, err := d.distances.longestReference(d.in); {
		case err != nil:
			return nil, fmt.Errorf("%w (%d bytes): %w", ErrBadDeflate, len(p), err)
		case far > d.window:
			return nil, fmt.Errorf("%w: a back-reference reaches %d bytes back, beyond the %d-byte window", ErrBadDeflate, far, d.window)
		}
	}
	if !d.noContext {
		d.remember(out)
	}
	return out, nil
}

// remember keeps the last window bytes of the message stream.
func (d *Decompressor) remember(out []byte) {
	d.history = append(d.history, out[max(0, len(out)-d.window):]...)
	if extra := len(d.history) - d.window; extra > 0 {
		d.history = append(d.history[:0], d.history[extra:]...)
	}
}

// readBounded reads r to EOF into a buffer that grows with the output,
// never past limit+1 bytes.
func readBounded(r io.Reader, limit int) ([]byte, error) {
	buf := make([]byte, 0, min(limit+1, 16<<10))
	for {
		if len(buf) == cap(buf) {
			grown := make([]byte, len(buf), min(2*cap(buf), limit+1))
			copy(grown, buf)
			buf = grown
		}
		n, err := r.Read(buf[len(buf):cap(buf)])
		buf = buf[:len(buf)+n]
		switch {
		case len(buf) > limit:
			return nil, ErrInflateLimit
		case err == io.EOF:
			return buf, nil
		case err != nil:
			return nil, err
		}
	}
}

// Codec is one end's permessage-deflate state: it compresses what
// that end sends and decompresses what its peer sends, each with the
// window and context rule the handshake agreed on. Compress and
// Decompress may run on different goroutines, each on its own.
type Codec struct {
	Params Params
	tx     *Compressor
	rx     *Decompressor
}

// NewServerCodec returns the server's codec in a negotiated configuration;
// limit bounds each decompressed message (0 = DefaultMaxInflated). The
// server holds the client only to the answer (ClientBound), since an
// offer's client_no_context_takeover is a hint, not a promise (RFC 7692
// §7.1.1.2), and checks the distances inside each message against the
// client's window too.
func NewServerCodec(d Params, limit int) *Codec {
	bits, noContext := d.ClientBound()
	rx := NewDecompressor(bits, noContext, limit)
	rx.distances = &referenceScanner{}
	return &Codec{
		Params: d,
		tx:     NewCompressor(d.ServerMaxWindowBits, d.ServerNoContextTakeover),
		rx:     rx,
	}
}

// NewClientCodec returns the client's codec: it compresses within what it
// offered and was answered (its own hints bind it). It does not check
// distances, so the server form's verdicts stay those of an inflater.
func NewClientCodec(d Params, limit int) *Codec {
	return &Codec{
		Params: d,
		tx:     NewCompressor(d.ClientMaxWindowBits, d.ClientNoContextTakeover),
		rx:     NewDecompressor(d.ServerMaxWindowBits, d.ServerNoContextTakeover, limit),
	}
}

// Compress compresses the next message this end sends.
func (c *Codec) Compress(p []byte) []byte { return c.tx.Compress(p) }

// Decompress decompresses the next compressed message the peer sent.
func (c *Codec) Decompress(p []byte) ([]byte, error) { return c.rx.Decompress(p) }
