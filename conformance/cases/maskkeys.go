package cases

import (
	"encoding/binary"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/wsharness/wsharness/conformance/casekit"
	"github.com/wsharness/wsharness/results"
	"github.com/wsharness/wsharness/wire"
)

// Mask keys over many frames (case 100.12, client only).
const (
	// maskKeyMessages is how many messages 100.12 has the client echo:
	// with its Close, about a thousand keys, enough for every bound below.
	maskKeyMessages = 1000
	// maskKeySample is how many keys, from the first, the judge reads: the
	// false-alarm bounds are computed for it, whatever the client sends.
	maskKeySample = 1024
	// byteCoverageFrom is the fewest keys for which the per-byte check
	// runs, and minByteValues the distinct values each key byte must show.
	byteCoverageFrom = 1000
	minByteValues    = 200
)

// MaskKeys returns case 100.12: the client echoes a thousand small
// messages and every masking key it uses is judged. Autobahn's client
// mode never looks at the keys.
func MaskKeys() []Case {
	c := exchanged(Case{
		ID: "100.12", Family: FamilyMasking, Title: "masking keys over a thousand frames", RFC: "RFC 6455 §5.3, §10.3",
		Description: fmt.Sprintf("Have the client echo %d small text messages, one after another, and record the masking key of every frame it sends, its Close included.", maskKeyMessages),
		Expectation: "The client MUST pick a fresh masking key for every frame, derived from a strong source of entropy, and the key of one frame MUST NOT make it simple to predict the next (§5.3): " +
			"the same key on consecutive frames, or a step (sum or XOR) that predicts at least half of the keys, is FAILED; a step that repeats, repeated keys, zero keys or a key byte that takes few values is NON-STRICT (low entropy the RFC forbids only in words a finite sample cannot prove).",
	}, casekit.Exchange{
		N:        maskKeyMessages,
		Message:  func(i int) (byte, []byte) { return wire.OpText, fmt.Appendf(nil, "key %d", i) },
		Timeout:  20 * time.Second,
		MaskKeys: judgeMaskKeys,
	})
	return []Case{c}
}

// keyStep is a rule that predicts a key from the one before: key[i+1] =
// key[i] + value (read big- or little-endian) or key[i] XOR value.
type keyStep struct {
	rule  string
	value uint32
	count int // consecutive pairs it predicts
}

// maskKeyStats is what judgeMaskKeys measures.
type maskKeyStats struct {
	n        int
	repeats  []int // indices i whose key equals key i-1
	distinct int
	zeros    int
	step     keyStep // the step that predicts the most pairs (never 0)
	// byteValues[j] counts the distinct values of key byte j.
	byteValues [4]int
}

func measureMaskKeys(keys [][4]byte) maskKeyStats {
	st := maskKeyStats{n: len(keys)}
	seen := map[[4]byte]bool{}
	var bytesSeen [4][256]bool
	steps := map[keyStep]int{}
	for i, k := range keys {
		seen[k] = true
		if k == [4]byte{} {
			st.zeros++
		}
		for j, b := range k {
			if !bytesSeen[j][b] {
				bytesSeen[j][b] = true
				st.byteValues[j]++
			}
		}
		if i == 0 {
			continue
		}
		prev := keys[i-1]
		if k == prev {
			st.repeats = append(st.repeats, i)
			continue
		}
		be, le := binary.BigEndian, binary.LittleEndian
		steps[keyStep{rule: "+ (big-endian)", value: be.Uint32(k[:]) - be.Uint32(prev[:])}]++
		steps[keyStep{rule: "+ (little-endian)", value: le.Uint32(k[:]) - le.Uint32(prev[:])}]++
		steps[keyStep{rule: "XOR", value: be.Uint32(k[:]) ^ be.Uint32(prev[:])}]++
	}
	st.distinct = len(seen)
	for s, n := range steps {
		if n > st.step.count || n == st.step.count && (s.rule < st.step.rule || s.rule == st.step.rule && s.value < st.step.value) {
			st.step, st.step.count = s, n
		}
	}
	return st
}

// judgeMaskKeys judges the first maskKeySample keys a client sent. The
// thresholds are set so that a client drawing each key uniformly at random
// (crypto/rand) trips one with a probability computed for n = 1024 keys,
// by union bounds over independent uniform 32-bit values:
//
//   - FAILED, two or more keys equal to the previous frame's:
//     P ≤ C(1023,2)·2⁻⁶⁴ ≈ 2.8e-14. (One is reported but passes: P ≈ 2.4e-7.)
//   - FAILED, one step predicting at least half the pairs: far below the next.
//   - NON-STRICT, one nonzero step predicting 3 or more pairs: consecutive
//     differences (sum mod 2³² either byte order, or XOR) of independent
//     uniform keys are themselves independent and uniform, so
//     P ≤ 3·C(1023,3)·2⁻⁶⁴ ≈ 2.9e-11.
//   - NON-STRICT, 3 or more keys repeating an earlier one: each needs an
//     independent 2⁻³² coincidence, P ≤ (C(1024,2)·2⁻³²)³/3! ≈ 2.8e-13.
//   - NON-STRICT, 2 or more all-zero keys: P ≤ C(1024,2)·2⁻⁶⁴ ≈ 2.8e-14.
//   - NON-STRICT, a key byte taking fewer than 200 of its 256 values over
//     1000 keys or more (about 251 expected): some 56 values never drawn,
//     P ≤ 4·C(256,56)·(200/256)¹⁰⁰⁰ ≈ 10⁻⁴⁹.
//
// So a correct client is flagged NON-STRICT about once in 3·10¹⁰ runs and
// FAILED about once in 3·10¹³.
func judgeMaskKeys(keys [][4]byte) (results.Verdict, string) {
	keys = keys[:min(len(keys), maskKeySample)]
	st := measureMaskKeys(keys)
	if st.n < 2 {
		return results.OK, fmt.Sprintf("masking keys: %d recorded, too few to judge", st.n)
	}
	measured := st.String()
	switch {
	case len(st.repeats) >= 2:
		return results.Failed, fmt.Sprintf("masking keys are not fresh (RFC 6455 §5.3: a fresh key for every frame): %d frames carry the key of the frame before, e.g. %s\n%s",
			len(st.repeats), st.quoteRepeats(keys), measured)
	case st.n >= 8 && st.step.count >= (st.n-1)/2:
		return results.Failed, fmt.Sprintf("masking keys are predictable (RFC 6455 §5.3: a key MUST NOT make it simple to predict the next): key[i+1] = key[i] %s 0x%08x for %d of %d consecutive pairs, e.g. %s\n%s",
			st.step.rule, st.step.value, st.step.count, st.n-1, quoteKeys(keys[:min(4, len(keys))]), measured)
	}
	var weak []string
	if st.step.count >= 3 {
		weak = append(weak, fmt.Sprintf("the step %s 0x%08x predicts %d keys", st.step.rule, st.step.value, st.step.count))
	}
	if st.n-st.distinct >= 3 {
		weak = append(weak, fmt.Sprintf("%d keys repeat an earlier one", st.n-st.distinct))
	}
	if st.zeros >= 2 {
		weak = append(weak, fmt.Sprintf("%d keys are 00000000", st.zeros))
	}
	if st.n >= byteCoverageFrom && slices.Min(st.byteValues[:]) < minByteValues {
		weak = append(weak, fmt.Sprintf("a key byte takes fewer than %d of its 256 values", minByteValues))
	}
	if len(weak) > 0 {
		return results.NonStrict, fmt.Sprintf("NON-STRICT: the masking keys show low entropy (RFC 6455 §5.3: derived from a strong source of entropy, unpredictable): %s; a uniform random source does this less than once in 10¹⁰ runs\n%s",
			strings.Join(weak, ", "), measured)
	}
	return results.OK, measured
}

// String is the measurement as the observed text reports it.
func (st maskKeyStats) String() string {
	return fmt.Sprintf("masking keys: %d judged, %d distinct, %d equal to the previous frame's, %d all-zero; the most common step, %s 0x%08x, predicts %d of %d pairs; distinct values of key bytes 1-4: %d, %d, %d, %d",
		st.n, st.distinct, len(st.repeats), st.zeros, st.step.rule, st.step.value, st.step.count, st.n-1,
		st.byteValues[0], st.byteValues[1], st.byteValues[2], st.byteValues[3])
}

// quoteRepeats shows up to three repeated keys with their frame numbers.
func (st maskKeyStats) quoteRepeats(keys [][4]byte) string {
	var out []string
	for _, i := range st.repeats[:min(3, len(st.repeats))] {
		out = append(out, fmt.Sprintf("frames %d and %d: %x", i, i+1, keys[i]))
	}
	return strings.Join(out, "; ")
}

// quoteKeys shows keys in hex, in order.
func quoteKeys(keys [][4]byte) string {
	out := make([]string, len(keys))
	for i, k := range keys {
		out[i] = fmt.Sprintf("%x", k)
	}
	return strings.Join(out, ", ")
}
