package targets

import (
	"errors"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// fakeSubscriber records what the hub writes; if gate is set, every write
// waits for it to close, like a client that does not read.
type fakeSubscriber struct {
	gate         chan struct{}
	mu           sync.Mutex
	got          []string
	disconnected chan struct{}
	once         sync.Once
}

func newFakeSubscriber(blocked bool) *fakeSubscriber {
	f := &fakeSubscriber{disconnected: make(chan struct{})}
	if blocked {
		f.gate = make(chan struct{})
	}
	return f
}

func (f *fakeSubscriber) writeBroadcast(m *broadcastMessage) error {
	if f.gate != nil {
		select {
		case <-f.gate:
		case <-f.disconnected: // a real connection's write fails once closed
			return errors.New("closed")
		}
	}
	f.mu.Lock()
	f.got = append(f.got, m.encoded.(string))
	f.mu.Unlock()
	return nil
}

func (f *fakeSubscriber) disconnect() { f.once.Do(func() { close(f.disconnected) }) }

func (f *fakeSubscriber) received() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]string(nil), f.got...)
}

// countingEncoder encodes a message as its payload string and counts how
// many messages were released.
type countingEncoder struct{ encoded, released atomic.Int64 }

func (c *countingEncoder) encode(_ opcode, payload []byte) (any, func(), error) {
	c.encoded.Add(1)
	return string(payload), func() { c.released.Add(1) }, nil
}

func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(time.Millisecond)
	}
}

func TestHubDeliversInOrderToAll(t *testing.T) {
	var enc countingEncoder
	h := newHub(enc.encode)
	subs := []*fakeSubscriber{newFakeSubscriber(false), newFakeSubscriber(false), newFakeSubscriber(false)}
	members := make([]*member, len(subs))
	for i, s := range subs {
		members[i] = h.join(s)
	}
	want := []string{"a", "b", "c"}
	for _, p := range want {
		if err := h.publish(opText, []byte(p)); err != nil {
			t.Fatal(err)
		}
	}
	for i, s := range subs {
		waitFor(t, "delivery", func() bool { return len(s.received()) == len(want) })
		if got := s.received(); !slices.Equal(got, want) {
			t.Errorf("subscriber %d got %v, want %v", i, got, want)
		}
	}
	for _, m := range members {
		h.leave(m)
	}
	if h.size() != 0 {
		t.Errorf("%d members left after leave", h.size())
	}
	if enc.encoded.Load() != 3 || enc.released.Load() != 3 {
		t.Errorf("encoded %d, released %d messages; want 3 and 3", enc.encoded.Load(), enc.released.Load())
	}
}

func TestHubEvictsSlowMember(t *testing.T) {
	var enc countingEncoder
	h := newHub(enc.encode)
	fast, slow := newFakeSubscriber(false), newFakeSubscriber(true)
	mFast, mSlow := h.join(fast), h.join(slow)

	// The slow member's writer holds one message and its queue the next
	// broadcastQueueLen; one more overflows it. Publishing in step with the
	// fast member keeps its queue short however loaded the machine is.
	total := broadcastQueueLen + 2
	for i := 0; i < total; i++ {
		if err := h.publish(opBinary, []byte{byte(i)}); err != nil {
			t.Fatal(err)
		}
		waitFor(t, "fast delivery", func() bool { return len(fast.received()) == i+1 })
	}
	select {
	case <-slow.disconnected:
	case <-time.After(10 * time.Second):
		t.Fatal("slow member was not disconnected")
	}
	if h.size() != 1 {
		t.Errorf("hub has %d members, want only the fast one", h.size())
	}

	h.leave(mSlow) // the evicted member's reader still leaves; must not block
	h.leave(mFast)
	if enc.released.Load() != int64(total) {
		t.Errorf("released %d of %d messages", enc.released.Load(), total)
	}
}

func TestHubPublishWithoutMembers(t *testing.T) {
	var enc countingEncoder
	h := newHub(enc.encode)
	if err := h.publish(opText, []byte("nobody")); err != nil {
		t.Fatal(err)
	}
	if enc.released.Load() != 1 {
		t.Errorf("released %d, want 1", enc.released.Load())
	}
}

func TestHubEncodeError(t *testing.T) {
	h := newHub(func(opcode, []byte) (any, func(), error) { return nil, nil, errors.New("boom") })
	if err := h.publish(opText, []byte("x")); err == nil {
		t.Fatal("publish hid the encode error")
	}
}
