package metrics

// Order is how a reply's sequence number relates to those seen before.
type Order int

// Outcomes of Sequence.Observe.
const (
	InOrder Order = iota
	OutOfOrder
	Duplicate
)

// maxGaps bounds the sequence numbers a Sequence remembers as missing, so
// a peer that skips millions costs a fixed amount of memory; replies that
// fill a forgotten gap count as duplicates.
const maxGaps = 4096

// Sequence classifies the sequence numbers of replies on one stream, whose
// messages were sent numbered 0, 1, 2, ...: each is in order, late (it fills
// a gap left earlier) or a duplicate. The zero value is ready.
type Sequence struct {
	next uint64              // one past the highest number seen
	gaps map[uint64]struct{} // numbers skipped and not yet seen
}

// Observe classifies seq.
func (s *Sequence) Observe(seq uint64) Order {
	switch {
	case seq == s.next:
		s.next++
		return InOrder
	case seq > s.next:
		for missing := s.next; missing < seq && len(s.gaps) < maxGaps; missing++ {
			if s.gaps == nil {
				s.gaps = map[uint64]struct{}{}
			}
			s.gaps[missing] = struct{}{}
		}
		s.next = seq + 1
		return InOrder
	}
	if _, ok := s.gaps[seq]; ok {
		delete(s.gaps, seq)
		return OutOfOrder
	}
	return Duplicate
}
