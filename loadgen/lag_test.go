package loadgen

import "testing"

// The tracker charges wake-up lateness to the generator and waiting on the
// server to the server, also when the lateness carries over to messages
// that were already due when the sender got to them.
func TestLagTrackerSeparatesOwnLatenessFromServerDelay(t *testing.T) {
	type send struct {
		due, woke, done int64 // µs
		wantLag         int64
	}
	cases := map[string][]send{
		"late timer": {
			{due: 0, woke: 500, done: 505, wantLag: 500},
			{due: 1000, woke: 1400, done: 1405, wantLag: 400},
		},
		// One sender at 10,000/s whose timer wakes 500 µs late: the four
		// messages that fell due meanwhile are late by the generator's
		// fault too, not the server's.
		"backlog from a late timer": {
			{due: 0, woke: 500, done: 505, wantLag: 500},
			{due: 100, woke: 505, done: 510, wantLag: 405},
			{due: 200, woke: 510, done: 515, wantLag: 310},
			{due: 300, woke: 515, done: 520, wantLag: 215},
			{due: 400, woke: 520, done: 525, wantLag: 120},
			{due: 500, woke: 525, done: 530, wantLag: 25},
			{due: 600, woke: 630, done: 635, wantLag: 30},
		},
		// The server holds the first send for 1 s (the in-flight limit
		// reached): the messages behind it are late by the server's
		// fault, so none of that is the generator's lag.
		"server stall": {
			{due: 0, woke: 10, done: 1_000_010, wantLag: 10},
			{due: 100, woke: 1_000_010, done: 1_000_015, wantLag: 10},
			{due: 200, woke: 1_000_015, done: 1_000_020, wantLag: 10},
			{due: 2_000_000, woke: 2_000_300, done: 2_000_305, wantLag: 300},
		},
		"on time": {
			{due: 0, woke: 0, done: 5, wantLag: 0},
			{due: 100, woke: 100, done: 105, wantLag: 0},
		},
	}
	for name, sends := range cases {
		t.Run(name, func(t *testing.T) {
			var tr lagTracker
			for i, s := range sends {
				virtual, lag := tr.start(s.due, s.woke)
				if lag != s.wantLag {
					t.Errorf("send %d (due %d, woke %d): lag %d µs, want %d", i, s.due, s.woke, lag, s.wantLag)
				}
				tr.sent(virtual, s.woke, s.done)
			}
		})
	}
}
