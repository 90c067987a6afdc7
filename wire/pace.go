package wire

import (
	"context"
	"fmt"
	"net"
	"runtime"
	"slices"
	"sync"
	"time"

	"github.com/wsharness/wsharness/internal/tcpqueue"
)

// Pacing says how a connection keeps the chunks of a Separate split apart.
//
// Writing chunks back to back does not make the server read them one by
// one: on loopback, 44 one-octet writes take about 50 µs and a server's
// next read collects most of them at once. So after each chunk the writer
// waits until the server's socket has received every byte written so far
// and its application has read them all, as the kernel's socket
// diagnostics show for a server on this host (internal/tcpqueue): the
// server's next read then returns the next chunk alone. Both conditions
// are needed: right after a write the chunk may not have reached the
// server's queue yet, which an empty queue alone would take for read. A
// server whose socket is not visible (another host, another network
// namespace) gets a fixed pause after each chunk instead, which makes
// separate reads likely but cannot promise them.
type Pacing struct {
	// Pause is the wait after each chunk when the server's socket cannot be
	// seen.
	Pause time.Duration
	// Budget bounds the connection's total wait. Past it, the remaining
	// chunks go out without waiting (and the wire log says so), so a server
	// that reads slowly or not at all cannot stretch a case.
	Budget time.Duration
}

// DefaultPacing is the pacing of a connection whose Options set none.
// Autobahn|Testsuite leaves about 45 µs between chopped writes; Go's
// timers here sleep at least 0.2 ms, so any pause is about that long.
var DefaultPacing = Pacing{Pause: 200 * time.Microsecond, Budget: time.Second}

// How a watcher learns that the server has read a chunk. A server usually
// reads within tens of microseconds, and a Go timer here fires 0.2-1 ms
// late, which over 9.5.1's 16,384 chunks is 15 s. So one poller goroutine
// in the process looks at every waiting watcher's server socket, yielding
// between rounds, while any waits, and wakes each watcher whose server has
// read. Only one polls, asking the kernel about every waiting watcher's
// server in one batch (tcpqueue.Batch): a look is a netlink round trip,
// and a dozen watchers spinning on their own took most of the CPU and
// slowed the servers further (yielding spinners can also keep the
// scheduler from polling the network, which an in-process server's
// goroutine waits on).
// After idleAfter without any server reading, the poller sleeps pollNap
// between rounds; after stuckAfter, the sleeps double up to pollMost, so
// a server that has stopped reading costs no CPU.
const (
	idleAfter  = 300 * time.Microsecond
	stuckAfter = 20 * time.Millisecond
	pollNap    = 50 * time.Microsecond
	pollMost   = time.Millisecond
)

// waiter is one watcher's wait: the bytes its server must have read.
type waiter struct {
	peer *tcpqueue.Peer
	sent uint64
	// seen receives once: true when the server has read them all, false
	// when its socket is not visible.
	seen chan bool
}

// poller is the process's one poller (see idleAfter).
var poller struct {
	mu      sync.Mutex
	waiting map[*waiter]struct{}
	running bool
}

// await registers w with the poller, starting it when it is not running.
func await(w *waiter) {
	poller.mu.Lock()
	defer poller.mu.Unlock()
	if poller.waiting == nil {
		poller.waiting = map[*waiter]struct{}{}
	}
	poller.waiting[w] = struct{}{}
	if !poller.running {
		poller.running = true
		go poll()
	}
}

// forget takes w off the poller's list.
func forget(w *waiter) {
	poller.mu.Lock()
	delete(poller.waiting, w)
	poller.mu.Unlock()
}

// poll looks at every waiting watcher's server until none waits, all of
// them in one batch per round when the process may open a netlink socket.
func poll() {
	batch, err := tcpqueue.NewBatch()
	if err == nil {
		defer batch.Close()
	}
	lastRead := time.Now()
	nap := time.Duration(0)
	var round []*waiter
	var peers []*tcpqueue.Peer
	var states []tcpqueue.Result
	for {
		poller.mu.Lock()
		if len(poller.waiting) == 0 {
			poller.running = false
			poller.mu.Unlock()
			return
		}
		round, peers = round[:0], peers[:0]
		for w := range poller.waiting {
			round = append(round, w)
			peers = append(peers, w.peer)
		}
		poller.mu.Unlock()
		states = slices.Grow(states[:0], len(peers))[:len(peers)]
		if batch != nil {
			batch.States(peers, states)
		} else {
			for i, p := range peers {
				states[i].Queue, states[i].Seen = p.State()
			}
		}
		for i, w := range round {
			q := states[i]
			if q.Seen && (q.Received < w.sent || q.Unread > 0) {
				continue
			}
			forget(w)
			w.seen <- q.Seen
			lastRead, nap = time.Now(), 0
		}
		if time.Since(lastRead) < idleAfter {
			runtime.Gosched()
			continue
		}
		if time.Since(lastRead) > stuckAfter {
			nap = min(max(2*nap, pollNap), pollMost)
		} else {
			nap = pollNap
		}
		time.Sleep(nap)
	}
}

// pacer keeps one connection's chunks apart.
type pacer struct {
	cfg    Pacing
	reader Role // the peer, whose reads the pacer waits for
	log    *Log
	closed chan struct{}
	once   sync.Once

	// peer watches the server's socket; nil when the connection is not
	// TCP. sent counts the bytes written to the connection.
	peer *tcpqueue.Peer
	sent *countingConn

	mu sync.Mutex
	// unseen is set once the server's socket proved invisible.
	unseen         bool
	spent          time.Duration
	exhausted      bool
	watched, timed int // chunks paced by watching and by pausing
}

func newPacer(sent *countingConn, cfg Pacing, log *Log, reader Role) *pacer {
	if cfg.Pause <= 0 {
		cfg.Pause = DefaultPacing.Pause
	}
	if cfg.Budget <= 0 {
		cfg.Budget = DefaultPacing.Budget
	}
	p := &pacer{cfg: cfg, reader: reader, log: log, closed: make(chan struct{}), sent: sent}
	if sent != nil {
		p.peer, _ = tcpqueue.PeerOf(sent)
	}
	// Without a socket to watch, pauses stand in for seeing it read.
	p.unseen = p.peer == nil
	return p
}

// stop ends any wait: the connection is closing.
func (p *pacer) stop() {
	p.once.Do(func() {
		close(p.closed)
		if p.peer != nil {
			p.peer.Close()
		}
	})
}

// awaitRead waits after a chunk until the server has read it, or for the
// pause when its socket cannot be seen, within the budget.
func (p *pacer) awaitRead(ctx context.Context) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.exhausted {
		return nil
	}
	start := time.Now()
	left := p.cfg.Budget - p.spent
	var err error
	if !p.unseen {
		err = p.watch(ctx, start.Add(left))
	}
	if p.unseen && err == nil {
		p.timed++
		err = p.sleep(ctx, min(p.cfg.Pause, left))
	}
	p.spent += time.Since(start)
	if err == nil && p.spent >= p.cfg.Budget {
		p.exhausted = true
		p.log.Note("the pacing budget of %v is spent (the %s reads slowly or not at all): the remaining chunks go out without waiting, and may reach the %[2]s together", p.cfg.Budget, p.reader)
	}
	return err
}

// watch polls the server's socket until it has received and read every
// byte written, or deadline passes. It gives up watching when the server's
// socket is not listed.
func (p *pacer) watch(ctx context.Context, deadline time.Time) error {
	w := &waiter{peer: p.peer, sent: p.sent.written.Load(), seen: make(chan bool, 1)}
	await(w)
	defer forget(w)
	t := time.NewTimer(time.Until(deadline))
	defer t.Stop()
	select {
	case seen := <-w.seen:
		if !seen {
			p.unseen = true
			p.log.Note("the %s's socket is not visible from here: a pause of %v after each chunk stands in for seeing it read", p.reader, p.cfg.Pause)
			return nil
		}
		p.watched++
		return nil
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	case <-p.closed:
		return net.ErrClosed
	}
}

func (p *pacer) sleep(ctx context.Context, d time.Duration) error {
	if d <= 0 {
		return nil
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-p.closed:
		return net.ErrClosed
	case <-t.C:
		return nil
	}
}

// describe says how the chunks written since the last call were kept
// apart, for the wire log.
func (p *pacer) describe() string {
	p.mu.Lock()
	defer p.mu.Unlock()
	var how string
	switch {
	case p.watched > 0 && p.timed == 0:
		how = fmt.Sprintf(", each read by the %s before the next was written (seen in its socket's receive queue)", p.reader)
	case p.timed > 0 && p.watched == 0:
		how = fmt.Sprintf(", %v apart (the %s's socket is not visible)", p.cfg.Pause, p.reader)
	case p.timed > 0:
		how = fmt.Sprintf(", %d seen read by the %s before the next, %d followed by a %v pause", p.watched, p.reader, p.timed, p.cfg.Pause)
	}
	if p.exhausted {
		how += "; the pacing budget ran out"
	}
	p.watched, p.timed = 0, 0
	return how
}
