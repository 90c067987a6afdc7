package deflate

import (
	"errors"
	"fmt"
)

// A window-limited decompressor must refuse a back-reference further than
// its window, inside one message too; klauspost's reader, like any
// inflater built for 32 KiB, resolves it. longestReference reads the
// DEFLATE block structure (RFC 1951 §3.2) of a compressed message and
// returns its longest back-reference distance, so that a receiver can
// check what the sender promised. It decodes symbols only; the output is
// never built.

// errTruncated: the data ends inside a block.
var errTruncated = errors.New("DEFLATE data ends inside a block")

// bitReader reads DEFLATE's LSB-first bit stream.
type bitReader struct {
	p    []byte
	pos  int
	bits uint64
	n    uint
}

// fill loads bytes until n bits are buffered or the data ends.
func (b *bitReader) fill(n uint) {
	for b.n < n && b.pos < len(b.p) {
		b.bits |= uint64(b.p[b.pos]) << b.n
		b.pos++
		b.n += 8
	}
}

// take returns the next n bits (n ≤ 32).
func (b *bitReader) take(n uint) (uint32, error) {
	b.fill(n)
	if b.n < n {
		return 0, errTruncated
	}
	v := uint32(b.bits & (1<<n - 1))
	b.bits >>= n
	b.n -= n
	return v, nil
}

// huffman is a decoding table indexed by the next 15 bits of the stream:
// symbol<<4 | code length, 0 for a bit pattern no code starts.
type huffman []uint32

const maxCodeBits = 15

// newHuffman builds the canonical code of lengths (RFC 1951 §3.2.2) in
// t's storage when it has room.
func newHuffman(t huffman, lengths []uint8) (huffman, error) {
	var count [maxCodeBits + 1]int
	for _, l := range lengths {
		count[l]++
	}
	count[0] = 0
	var next [maxCodeBits + 1]int
	code := 0
	for bits := 1; bits <= maxCodeBits; bits++ {
		code = (code + count[bits-1]) << 1
		next[bits] = code
		if code+count[bits] > 1<<bits {
			return nil, errors.New("over-subscribed Huffman code")
		}
	}
	if cap(t) < 1<<maxCodeBits {
		t = make(huffman, 1<<maxCodeBits)
	}
	t = t[:1<<maxCodeBits]
	clear(t)
	for sym, l := range lengths {
		if l == 0 {
			continue
		}
		c := next[l]
		next[l]++
		rev := 0 // the code's bits as they arrive, first bit lowest
		for i := range int(l) {
			rev |= (c >> (int(l) - 1 - i) & 1) << i
		}
		for i := rev; i < len(t); i += 1 << l {
			t[i] = uint32(sym)<<4 | uint32(l)
		}
	}
	return t, nil
}

// decode reads one symbol.
func (b *bitReader) decode(t huffman) (int, error) {
	b.fill(maxCodeBits)
	e := t[b.bits&(1<<maxCodeBits-1)]
	l := uint(e & 0xf)
	if l == 0 || l > b.n {
		if b.n < maxCodeBits && b.pos >= len(b.p) && l > b.n {
			return 0, errTruncated
		}
		return 0, errors.New("invalid Huffman code")
	}
	b.bits >>= l
	b.n -= l
	return int(e >> 4), nil
}

// Base values and extra bits of length codes 257–285 and distance codes
// 0–29 (RFC 1951 §3.2.5).
var (
	lengthBase  = [29]uint16{3, 4, 5, 6, 7, 8, 9, 10, 11, 13, 15, 17, 19, 23, 27, 31, 35, 43, 51, 59, 67, 83, 99, 115, 131, 163, 195, 227, 258}
	lengthExtra = [29]uint8{0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 2, 2, 2, 2, 3, 3, 3, 3, 4, 4, 4, 4, 5, 5, 5, 5, 0}
	distBase    = [30]uint32{1, 2, 3, 4, 5, 7, 9, 13, 17, 25, 33, 49, 65, 97, 129, 193, 257, 385, 513, 769, 1025, 1537, 2049, 3073, 4097, 6145, 8193, 12289, 16385, 24577}
	distExtra   = [30]uint8{0, 0, 0, 0, 1, 1, 2, 2, 3, 3, 4, 4, 5, 5, 6, 6, 7, 7, 8, 8, 9, 9, 10, 10, 11, 11, 12, 12, 13, 13}
)

// The fixed codes of block type 1 (RFC 1951 §3.2.6), built once.
var fixedLiterals, fixedDistances = func() (huffman, huffman) {
	var lit [288]uint8
	for i := range lit {
		switch {
		case i < 144:
			lit[i] = 8
		case i < 256:
			lit[i] = 9
		case i < 280:
			lit[i] = 7
		default:
			lit[i] = 8
		}
	}
	var dist [30]uint8
	for i := range dist {
		dist[i] = 5
	}
	l, _ := newHuffman(nil, lit[:])
	d, _ := newHuffman(nil, dist[:])
	return l, d
}()

// codeLengthOrder is the order of the code length code lengths.
var codeLengthOrder = [19]int{16, 17, 18, 0, 8, 7, 9, 6, 10, 5, 11, 4, 12, 3, 13, 2, 14, 1, 15}

// referenceScanner reads DEFLATE block structure, reusing its tables from
// one message to the next.
type referenceScanner struct {
	bitReader
	clen, lit, dist huffman
}

// longestReference returns the longest back-reference distance in p, raw
// DEFLATE data that ends with a final block (a message with the tail
// Decompress appends, RFC 7692 §7.2.2), and 0 when p has none.
func (s *referenceScanner) longestReference(p []byte) (int, error) {
	s.bitReader = bitReader{p: p}
	b := &s.bitReader
	longest := 0
	for {
		b.fill(8)
		if b.n < 3 && b.pos >= len(p) {
			return longest, nil // only the padding of the last byte is left
		}
		hdr, err := b.take(3)
		if err != nil {
			return 0, err
		}
		switch hdr >> 1 {
		case 0: // stored: skip to the byte boundary, then LEN bytes
			b.bits >>= b.n % 8
			b.n -= b.n % 8
			n, err := b.take(16)
			if err != nil {
				return 0, err
			}
			if _, err := b.take(16); err != nil {
				return 0, err
			}
			for ; n > 0 && b.n > 0; n-- {
				b.bits >>= 8
				b.n -= 8
			}
			if b.pos += int(n); b.pos > len(p) {
				return 0, errTruncated
			}
		case 1:
			if longest, err = b.block(fixedLiterals, fixedDistances, longest); err != nil {
				return 0, err
			}
		case 2:
			if err := s.dynamicCodes(); err != nil {
				return 0, err
			}
			if longest, err = b.block(s.lit, s.dist, longest); err != nil {
				return 0, err
			}
		default:
			return 0, errors.New("reserved block type 3")
		}
		if hdr&1 == 1 {
			return longest, nil // BFINAL
		}
	}
}

// dynamicCodes reads the code definitions of a block of type 2 into
// s.lit and s.dist.
func (s *referenceScanner) dynamicCodes() error {
	b := &s.bitReader
	var counts [3]uint32
	for i, n := range []uint{5, 5, 4} {
		v, err := b.take(n)
		if err != nil {
			return err
		}
		counts[i] = v
	}
	nlit, ndist, nclen := int(counts[0])+257, int(counts[1])+1, int(counts[2])+4
	var clen [19]uint8
	for i := range nclen {
		v, err := b.take(3)
		if err != nil {
			return err
		}
		clen[codeLengthOrder[i]] = uint8(v)
	}
	var err error
	if s.clen, err = newHuffman(s.clen, clen[:]); err != nil {
		return err
	}
	lengths := make([]uint8, nlit+ndist)
	for i := 0; i < len(lengths); {
		sym, err := b.decode(s.clen)
		if err != nil {
			return err
		}
		if sym < 16 {
			lengths[i] = uint8(sym)
			i++
			continue
		}
		var repeat uint32
		var value uint8
		switch sym {
		case 16:
			if i == 0 {
				return errors.New("length repeat with no previous length")
			}
			value = lengths[i-1]
			repeat, err = b.take(2)
			repeat += 3
		case 17:
			repeat, err = b.take(3)
			repeat += 3
		default:
			repeat, err = b.take(7)
			repeat += 11
		}
		if err != nil {
			return err
		}
		if i+int(repeat) > len(lengths) {
			return errors.New("code lengths overrun")
		}
		for range repeat {
			lengths[i] = value
			i++
		}
	}
	if s.lit, err = newHuffman(s.lit, lengths[:nlit]); err != nil {
		return err
	}
	s.dist, err = newHuffman(s.dist, lengths[nlit:])
	return err
}

// block reads the symbols of a compressed block up to its end code and
// returns the longest distance seen so far.
func (b *bitReader) block(lit, dist huffman, longest int) (int, error) {
	for {
		sym, err := b.decode(lit)
		switch {
		case err != nil:
			return 0, err
		case sym < 256:
			continue
		case sym == 256:
			return longest, nil
		case sym > 285:
			return 0, fmt.Errorf("invalid length code %d", sym)
		}
		if _, err := b.take(uint(lengthExtra[sym-257])); err != nil {
			return 0, err
		}
		dsym, err := b.decode(dist)
		if err != nil {
			return 0, err
		}
		if dsym >= 30 {
			return 0, fmt.Errorf("invalid distance code %d", dsym)
		}
		extra, err := b.take(uint(distExtra[dsym]))
		if err != nil {
			return 0, err
		}
		longest = max(longest, int(distBase[dsym]+extra))
	}
}
