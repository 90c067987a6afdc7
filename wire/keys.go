package wire

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"fmt"
	mrand "math/rand/v2"
	"strconv"
	"strings"
	"sync"
)

// Seed is a run's source of randomness: every masking key and
// Sec-WebSocket-Key the client sends derives from it, so a run given the
// same seed sends the same bytes again. Written as 16 hex digits, so that
// results.json carries it exactly (a JSON number loses bits past 2^53).
type Seed uint64

// NewSeed returns a seed from the operating system's randomness.
func NewSeed() Seed {
	var b [8]byte
	_, _ = rand.Read(b[:]) // crypto/rand.Read never fails on Linux
	return Seed(binary.BigEndian.Uint64(b[:]))
}

// ParseSeed reads a seed as String writes it: hex digits, with or without
// a 0x prefix.
func ParseSeed(s string) (Seed, error) {
	v, err := strconv.ParseUint(strings.TrimPrefix(strings.ToLower(strings.TrimSpace(s)), "0x"), 16, 64)
	if err != nil {
		return 0, fmt.Errorf("seed %q: want up to 16 hex digits", s)
	}
	return Seed(v), nil
}

func (s Seed) String() string { return fmt.Sprintf("%016x", uint64(s)) }

// MarshalText writes the seed as 16 hex digits.
func (s Seed) MarshalText() ([]byte, error) { return []byte(s.String()), nil }

// UnmarshalText reads what MarshalText wrote.
func (s *Seed) UnmarshalText(b []byte) error {
	v, err := ParseSeed(string(b))
	if err != nil {
		return err
	}
	*s = v
	return nil
}

// KeyStream hands out the random values a client sends: a fresh masking
// key for every frame (RFC 6455 §5.3: a client MUST pick a fresh,
// unpredictable key per frame, §10.3 says why) and Sec-WebSocket-Key
// values (§4.1). It is a ChaCha8 stream, a cryptographically strong
// generator, so without the seed its keys are unpredictable; with it, a
// stream replays. Safe for concurrent use.
type KeyStream struct {
	material [32]byte
	mu       sync.Mutex
	gen      *mrand.ChaCha8
}

// NewKeyStream returns the stream named label under seed: the same seed
// and label give the same keys, any other label unrelated ones. A case's
// label names its target and case, so its keys do not depend on which
// cases ran before it, or in which process.
func NewKeyStream(seed Seed, label string) *KeyStream {
	h := sha256.New()
	_ = binary.Write(h, binary.BigEndian, uint64(seed))
	h.Write([]byte(label))
	var m [32]byte
	copy(m[:], h.Sum(nil))
	return streamOf(m)
}

// RandomKeyStream returns a stream seeded from the operating system, for
// connections no run seed governs.
func RandomKeyStream() *KeyStream {
	var m [32]byte
	_, _ = rand.Read(m[:])
	return streamOf(m)
}

func streamOf(m [32]byte) *KeyStream { return &KeyStream{material: m, gen: mrand.NewChaCha8(m)} }

// Derive returns an independent stream named label under this one. Two
// writers on one connection (the script, and the reader answering Pings and
// Close) each take their own, so that their keys do not depend on how
// their writes interleave.
func (k *KeyStream) Derive(label string) *KeyStream {
	h := sha256.New()
	h.Write(k.material[:])
	h.Write([]byte(label))
	var m [32]byte
	copy(m[:], h.Sum(nil))
	return streamOf(m)
}

// MaskKey returns the next masking key.
func (k *KeyStream) MaskKey() [4]byte {
	var key [4]byte
	k.read(key[:])
	return key
}

// HandshakeKey returns a Sec-WebSocket-Key: 16 random bytes, base64.
func (k *KeyStream) HandshakeKey() string {
	var b [16]byte
	k.read(b[:])
	return base64.StdEncoding.EncodeToString(b[:])
}

func (k *KeyStream) read(p []byte) {
	k.mu.Lock()
	defer k.mu.Unlock()
	_, _ = k.gen.Read(p) // ChaCha8.Read never fails
}
