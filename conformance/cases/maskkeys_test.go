package cases

import (
	"crypto/rand"
	"encoding/binary"
	"strings"
	"testing"

	"github.com/wsharness/wsharness/results"
)

// keysOf returns n keys made by key(i).
func keysOf(n int, key func(i int) [4]byte) [][4]byte {
	out := make([][4]byte, n)
	for i := range out {
		out[i] = key(i)
	}
	return out
}

func randomKey(int) [4]byte {
	var k [4]byte
	_, _ = rand.Read(k[:])
	return k
}

// Random keys, as a correct client draws them, pass; each bad source
// earns the verdict its threshold promises, for the right reason.
func TestJudgeMaskKeys(t *testing.T) {
	be := func(v uint32) [4]byte { var k [4]byte; binary.BigEndian.PutUint32(k[:], v); return k }
	le := func(v uint32) [4]byte { var k [4]byte; binary.LittleEndian.PutUint32(k[:], v); return k }
	oneRepeat := keysOf(1001, randomKey)
	oneRepeat[500] = oneRepeat[499]
	earlierRepeats := keysOf(1001, randomKey)
	for _, i := range []int{100, 300, 700} {
		earlierRepeats[i] = earlierRepeats[i-50]
	}
	someSteps := keysOf(1001, randomKey)
	for _, i := range []int{10, 400, 800} {
		someSteps[i] = be(binary.BigEndian.Uint32(someSteps[i-1][:]) + 0x01020304)
	}
	for _, tc := range []struct {
		name    string
		keys    [][4]byte
		verdict results.Verdict
		reason  string
	}{
		{"one repeat by chance", oneRepeat, results.OK, "1 equal to the previous frame's"},
		{"constant", keysOf(1001, func(int) [4]byte { return [4]byte{0x37, 0xfa, 0x21, 0x3d} }), results.Failed, "not fresh"},
		{"zero", keysOf(1001, func(int) [4]byte { return [4]byte{} }), results.Failed, "frames 1 and 2: 00000000"},
		{"counter, big-endian", keysOf(1001, func(i int) [4]byte { return be(uint32(i) + 7) }), results.Failed, "+ (big-endian) 0x00000001 for 1000 of 1000"},
		{"counter, little-endian", keysOf(1001, func(i int) [4]byte { return le(uint32(i) * 3) }), results.Failed, "+ (little-endian) 0x00000003"},
		{"xor toggle", keysOf(1001, func(i int) [4]byte { return be(0xdeadbeef ^ uint32(i%2)*0xffff) }), results.Failed, "XOR 0x0000ffff"},
		{"three steps alike", someSteps, results.NonStrict, "predicts 3 keys"},
		{"three earlier keys again", earlierRepeats, results.NonStrict, "3 keys repeat an earlier one"},
		{"24-bit keys", keysOf(1001, func(i int) [4]byte { k := randomKey(i); k[0] = 0; return k }), results.NonStrict, "a key byte takes fewer than 200"},
		{"too few", keysOf(1, randomKey), results.OK, "too few to judge"},
	} {
		verdict, note := judgeMaskKeys(tc.keys)
		if verdict != tc.verdict || !strings.Contains(note, tc.reason) {
			t.Errorf("%s: %s, want %s with %q\n%s", tc.name, verdict, tc.verdict, tc.reason, note)
		}
	}
	// A correct source never trips a threshold (false-alarm bounds in
	// judgeMaskKeys's comment): 300 runs of 1001 keys.
	for run := range 300 {
		if verdict, note := judgeMaskKeys(keysOf(1001, randomKey)); verdict != results.OK {
			t.Fatalf("run %d: random keys judged %s\n%s", run, verdict, note)
		}
	}
}
