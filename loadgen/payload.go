package loadgen

import (
	"bytes"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
)

// A load message carries who sent it, its sequence number, whether it
// counts in the measured window (the top bit of the sequence field), and
// two timestamps (nanoseconds since the run's clock base): when its
// latency counts from and when it went. Binary messages hold them raw;
// text messages hex-encode them so the payload stays valid UTF-8. The
// rest is padding up to the requested size.
const (
	headerBytes    = 28
	MinBinarySize  = headerBytes
	MinTextSize    = 2 * headerBytes
	paddingByte    = 'x'
	maxMessageSize = 16 << 20
)

type stamp struct {
	id  uint32
	seq uint64 // below 2^63: the top bit of its field carries measured
	// measured is decided by the sender, from the scheduled time: a reply
	// is counted in the window its message was due in.
	measured bool
	// latencyFrom is the scheduled send time plus the generator's own
	// lateness (see lagTracker); the closed loop's is the send itself.
	latencyFrom int64 // ns since base
	sentAtNS    int64 // ns since base
}

const measuredBit = 1 << 63

var errShortPayload = errors.New("message too short to carry a wsharness header")

// encodeStamp writes s into buf (already sized and padded).
func encodeStamp(buf []byte, binaryMode bool, s stamp) {
	var raw [headerBytes]byte
	binary.BigEndian.PutUint32(raw[0:], s.id)
	seq := s.seq &^ measuredBit
	if s.measured {
		seq |= measuredBit
	}
	binary.BigEndian.PutUint64(raw[4:], seq)
	binary.BigEndian.PutUint64(raw[12:], uint64(s.latencyFrom))
	binary.BigEndian.PutUint64(raw[20:], uint64(s.sentAtNS))
	if binaryMode {
		copy(buf, raw[:])
		return
	}
	hex.Encode(buf, raw[:])
}

// decodeStamp reads the header of a received message.
func decodeStamp(p []byte, binaryMode bool) (stamp, error) {
	var raw [headerBytes]byte
	if binaryMode {
		if len(p) < headerBytes {
			return stamp{}, errShortPayload
		}
		copy(raw[:], p)
	} else {
		if len(p) < MinTextSize {
			return stamp{}, errShortPayload
		}
		if _, err := hex.Decode(raw[:], p[:MinTextSize]); err != nil {
			return stamp{}, fmt.Errorf("malformed header: %w", err)
		}
	}
	seq := binary.BigEndian.Uint64(raw[4:])
	return stamp{
		id:          binary.BigEndian.Uint32(raw[0:]),
		seq:         seq &^ measuredBit,
		measured:    seq&measuredBit != 0,
		latencyFrom: int64(binary.BigEndian.Uint64(raw[12:])),
		sentAtNS:    int64(binary.BigEndian.Uint64(raw[20:])),
	}, nil
}

// newPayload returns a padded buffer for messages of size bytes. It
// copies rather than loops: a 16 MiB payload byte by byte takes seconds
// under the race detector, and a sender late by that misses its window.
func newPayload(size int) []byte {
	return bytes.Repeat([]byte{paddingByte}, size)
}

// checkSize validates a payload size for the message type.
func checkSize(size int, binaryMode bool) error {
	min := MinTextSize
	if binaryMode {
		min = MinBinarySize
	}
	if size < min || size > maxMessageSize {
		kind := "text"
		if binaryMode {
			kind = "binary"
		}
		return fmt.Errorf("--size %d: %s messages carry a %d-byte header, so the size must be between %d and %d", size, kind, min, min, maxMessageSize)
	}
	return nil
}
