package targets

import (
	"fmt"
	"net/http"
	"sync"
	"sync/atomic"
)

// opcode is a data frame opcode as RFC 6455 numbers it; each library adapter
// converts it to its own type.
type opcode byte

const (
	opText   opcode = 1
	opBinary opcode = 2
)

// broadcastQueueLen is how many messages may wait for one /broadcast
// connection. A connection that falls this far behind is disconnected rather
// than waited for: one slow reader must not stall the others, and buffering
// without bound would let it exhaust the server's memory. The server sends
// Close 1008 "too slow" first, best effort: when a write to the connection
// has been stuck for closeWriteTimeout, the Close frame cannot be delivered
// either (nor appended to a half-written frame), and the server just closes
// TCP.
const broadcastQueueLen = 1024

// session is an upgraded connection of a configured target whose reads the
// harness drives (gorilla's, gobwas').
type session interface {
	// serve reads messages and hands each to deliver until the
	// connection ends, then closes it.
	serve(deliver func(op opcode, payload []byte) error)
	// echo writes a message back to the connection.
	echo(op opcode, payload []byte) error
	// subscriber is the connection as the hub writes broadcasts to it.
	subscriber() subscriber
}

// serveSessions serves EchoPath and BroadcastPath, behind the handshake
// guard, with the sessions upgrade makes (nil when the library refused the
// handshake and answered it): an echo session writes every message back,
// a broadcast session publishes it to every member of h.
func serveSessions(h *hub, upgrade func(http.ResponseWriter, *http.Request) session) http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc(EchoPath, handshakeGuard(func(w http.ResponseWriter, r *http.Request) {
		if s := upgrade(w, r); s != nil {
			s.serve(s.echo)
		}
	}))
	mux.HandleFunc(BroadcastPath, handshakeGuard(func(w http.ResponseWriter, r *http.Request) {
		if s := upgrade(w, r); s != nil {
			m := h.join(s.subscriber())
			defer h.leave(m) // runs after serve has closed the connection
			s.serve(h.publish)
		}
	}))
	return mux
}

// subscriber is one library's connection as the hub writes to it.
type subscriber interface {
	// writeBroadcast writes one message and returns once it is written.
	// The hub calls it from one goroutine per connection.
	writeBroadcast(m *broadcastMessage) error
	// disconnect sends Close 1008 "too slow" (best effort, bounded in time)
	// and closes the connection, which also unblocks a pending write.
	disconnect()
}

// broadcastMessage is one message on its way to every member of a hub. It is
// encoded once, in the form its library can write to many connections.
type broadcastMessage struct {
	encoded any    // library specific, see hub.encode
	release func() // called once every member is done with the message
	pending atomic.Int32
}

// done records that one holder is finished with m.
func (m *broadcastMessage) done() {
	if m.pending.Add(-1) == 0 && m.release != nil {
		m.release()
	}
}

// hub is the /broadcast fan-out of one target: every data message a member
// sends is written to all members, the sender included, in the same order
// for everyone. Each member has a bounded queue drained by its own writer
// goroutine.
type hub struct {
	// encode prepares a message once for all members. It must not keep
	// payload, which is only valid during the call. release, if not nil,
	// is called after the last member wrote or dropped the message.
	encode encodeFunc

	mu      sync.Mutex
	members map[*member]struct{}
}

type encodeFunc func(op opcode, payload []byte) (encoded any, release func(), err error)

func newHub(encode encodeFunc) *hub {
	return &hub{encode: encode, members: make(map[*member]struct{})}
}

// member is one connection in a hub.
type member struct {
	sub      subscriber
	queue    chan *broadcastMessage
	stop     chan struct{}
	stopOnce sync.Once
	wg       sync.WaitGroup // the writer and, after an eviction, the disconnect
}

// join adds sub to the hub and starts its writer. The caller must call leave
// once the connection has ended.
func (h *hub) join(sub subscriber) *member {
	m := &member{
		sub:   sub,
		queue: make(chan *broadcastMessage, broadcastQueueLen),
		stop:  make(chan struct{}),
	}
	h.mu.Lock()
	h.members[m] = struct{}{}
	h.mu.Unlock()
	m.wg.Add(1)
	go m.writeLoop()
	return m
}

// leave removes m and waits for its goroutines. Close the connection first,
// so that a write blocked on it returns.
func (h *hub) leave(m *member) {
	h.mu.Lock()
	delete(h.members, m)
	h.mu.Unlock()
	m.halt()
	m.wg.Wait()
}

// size returns the number of members.
func (h *hub) size() int {
	h.mu.Lock()
	defer h.mu.Unlock()
	return len(h.members)
}

// publish sends payload to every member. It never blocks on a member: one
// whose queue is full is evicted and disconnected.
func (h *hub) publish(op opcode, payload []byte) error {
	encoded, release, err := h.encode(op, payload)
	if err != nil {
		return fmt.Errorf("broadcast: encode %d-byte message: %w", len(payload), err)
	}
	msg := &broadcastMessage{encoded: encoded, release: release}
	msg.pending.Store(1) // publish's own hold, dropped below
	h.mu.Lock()
	for m := range h.members {
		msg.pending.Add(1)
		select {
		case m.queue <- msg:
		default:
			msg.pending.Add(-1) // cannot reach zero: publish still holds msg
			delete(h.members, m)
			m.evict()
		}
	}
	h.mu.Unlock()
	msg.done()
	return nil
}

// evict stops m's writer and disconnects it in the background, so that
// publish is not held up by a connection that is, by definition, slow.
func (m *member) evict() {
	m.halt()
	m.wg.Add(1)
	go func() {
		defer m.wg.Done()
		m.sub.disconnect()
	}()
}

func (m *member) halt() { m.stopOnce.Do(func() { close(m.stop) }) }

// writeLoop writes queued messages until the member leaves or is evicted.
func (m *member) writeLoop() {
	defer m.wg.Done()
	defer m.dropQueued()
	failed := false
	for {
		select {
		case <-m.stop:
			return
		case msg := <-m.queue:
			if !failed && m.sub.writeBroadcast(msg) != nil {
				// The connection is broken. Disconnect it so that its
				// reader ends and the member leaves; until then keep
				// consuming so that the queue does not fill up.
				failed = true
				m.sub.disconnect()
			}
			msg.done()
		}
	}
}

// dropQueued releases messages that will never be written. Once the member
// is out of the hub's map nothing adds to the queue any more.
func (m *member) dropQueued() {
	for {
		select {
		case msg := <-m.queue:
			msg.done()
		default:
			return
		}
	}
}
