package loadgen

// lagTracker separates, for one sending connection, the lateness that is
// the generator's own from the delay the server causes.
//
// A send can start late for two reasons. The generator may wake up late
// (Go's timers fire 0.2–0.5 ms late on a busy machine, more when the
// process is descheduled), or the previous send may still be busy because
// the server made it wait: the in-flight limit was reached, or a write
// blocked. The first is the generator's error and stays out of the
// latency; the second is the server's and stays in, from the scheduled
// time, so that a stall still counts for every message it held back.
//
// The tracker replays the connection's schedule as a generator with no
// lateness of its own would have run it: message j could start at
// max(due_j, the virtual start of j-1 plus the time the server held j-1).
// Whatever the real start lies beyond that is the generator's lag.
type lagTracker struct {
	free int64 // when the lateness-free sender would be ready for the next message
}

// start returns the virtual start of a message due at due whose sender
// woke at woke, and the generator's own lag for it.
func (t *lagTracker) start(due, woke int64) (virtual, lag int64) {
	virtual = max(due, t.free)
	return virtual, max(woke-virtual, 0)
}

// sent records that the message the sender woke for at woke, with the
// given virtual start, was handed to the server at done: the time in
// between (waiting for an in-flight slot, writing) is the server's.
func (t *lagTracker) sent(virtual, woke, done int64) {
	t.free = virtual + max(done-woke, 0)
}
