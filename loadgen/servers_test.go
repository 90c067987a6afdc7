package loadgen_test

// Test servers for the measurement proofs. They know nothing of the load
// generator's payload format: an echo server returns the bytes it got (at
// a chosen time, possibly twice or swapped), a relay forwards each message
// to the other connections (possibly dropping some deliveries).

import (
	"net"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/gorilla/websocket"
	"github.com/wsharness/wsharness/internal/testnet"
)

var upgrader = websocket.Upgrader{
	CheckOrigin: func(*http.Request) bool { return true },
}

// wsServer is an httptest server on 127.0.0.1 whose WebSocket handlers it
// can end: Close closes the listener, every upgraded connection, and waits
// for the handlers and their writers to return.
type wsServer struct {
	http *httptest.Server
	URL  string // ws://127.0.0.1:port/

	mu     sync.Mutex
	conns  map[*websocket.Conn]struct{}
	wg     sync.WaitGroup
	closed bool
	once   sync.Once
}

func startServer(t testing.TB, handle func(s *wsServer, ws *websocket.Conn)) *wsServer {
	t.Helper()
	ln, err := net.Listen("tcp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s := &wsServer{conns: map[*websocket.Conn]struct{}{}}
	s.http = httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ws, err := upgrader.Upgrade(w, r, nil)
		if err != nil {
			return
		}
		s.mu.Lock()
		if s.closed {
			s.mu.Unlock()
			_ = ws.Close()
			return
		}
		s.conns[ws] = struct{}{}
		s.wg.Add(1)
		s.mu.Unlock()
		defer s.wg.Done()
		defer func() {
			s.mu.Lock()
			delete(s.conns, ws)
			s.mu.Unlock()
			_ = ws.Close()
		}()
		handle(s, ws)
	}))
	s.http.Listener.Close()
	s.http.Listener = ln
	s.http.Start()
	s.URL = "ws://" + ln.Addr().String() + "/"
	t.Cleanup(s.Close)
	return s
}

// Close stops the server and waits for every connection handler to end.
func (s *wsServer) Close() {
	s.once.Do(func() {
		s.http.Close()
		s.mu.Lock()
		s.closed = true
		for ws := range s.conns {
			_ = ws.Close()
		}
		s.mu.Unlock()
		s.wg.Wait()
	})
}

// reply is one message a connection's writer sends at due.
type reply struct {
	due  time.Time
	typ  int
	data []byte
}

// queuedWriter starts a goroutine writing replies in order, each no
// earlier than its due time. Replies are not serialized behind one
// another's delay: each waits only for its own due time (due times are
// non-decreasing in queue order). Close the channel, then wait on done.
func queuedWriter(ws *websocket.Conn) (q chan reply, done chan struct{}) {
	q = make(chan reply, 1<<14)
	done = make(chan struct{})
	go func() {
		defer close(done)
		broken := false
		for r := range q {
			if broken {
				continue
			}
			if d := time.Until(r.due); d > 0 {
				time.Sleep(d)
			}
			_ = ws.SetWriteDeadline(time.Now().Add(5 * time.Second))
			if err := ws.WriteMessage(r.typ, r.data); err != nil {
				broken = true
			}
		}
	}()
	return q, done
}

// echoBehavior says how an echo server answers.
type echoBehavior struct {
	// due returns when the reply to a message arriving at t goes; nil
	// answers at once. It must be non-decreasing in t.
	due func(t time.Time) time.Time
	// dupEvery > 0 sends every dupEvery-th reply of a connection twice.
	dupEvery int
	// swapPairs sends replies 2 and 1, 4 and 3, ... of a connection: the
	// first of each pair is held until the second arrives.
	swapPairs bool
}

// startEcho starts an echo server that behaves as b.
func startEcho(t testing.TB, b echoBehavior) *wsServer {
	return startServer(t, func(_ *wsServer, ws *websocket.Conn) {
		q, done := queuedWriter(ws)
		defer func() { close(q); <-done }()
		var n int
		var held *reply
		for {
			typ, data, err := ws.ReadMessage()
			if err != nil {
				return
			}
			at := time.Now()
			due := at
			if b.due != nil {
				due = b.due(at)
			}
			n++
			r := reply{due: due, typ: typ, data: data}
			if b.swapPairs {
				if n%2 == 1 {
					held = &r
					continue
				}
				q <- r
				h := *held
				h.due = r.due
				q <- h
				held = nil
				continue
			}
			q <- r
			if b.dupEvery > 0 && n%b.dupEvery == 0 {
				q <- r
			}
		}
	})
}

// delayBy answers every message exactly d after it arrived.
func delayBy(d time.Duration) func(time.Time) time.Time {
	return func(t time.Time) time.Time { return t.Add(d) }
}

// stallEvery holds every reply for the first s of each period p (counted
// from now), releasing them all at the end of the stall; outside stalls it
// answers at once.
func stallEvery(s, p time.Duration) func(time.Time) time.Time {
	origin := time.Now()
	return func(t time.Time) time.Time {
		phase := t.Sub(origin) % p
		if phase < s {
			return t.Add(s - phase)
		}
		return t
	}
}

// relayBehavior says how a broadcast relay forwards.
type relayBehavior struct {
	// excludeSender does not send a message back to its sender.
	excludeSender bool
	// drop reports whether the relay drops the delivery of message m (the
	// m-th message it relays, from 0) to the connection that registered
	// idx-th (from 0); nil drops nothing.
	drop func(m int64, idx int) bool
}

type relayConn struct {
	ws  *websocket.Conn
	idx int
	q   chan reply
}

// startRelay starts a broadcast relay that behaves as b. It counts what
// it forwarded and what it dropped.
func startRelay(t testing.TB, b relayBehavior) *relayServer {
	rs := &relayServer{members: map[*relayConn]struct{}{}}
	rs.wsServer = startServer(t, func(_ *wsServer, ws *websocket.Conn) {
		q, done := queuedWriter(ws)
		rs.mu.Lock()
		me := &relayConn{ws: ws, idx: rs.registered, q: q}
		rs.registered++
		rs.members[me] = struct{}{}
		rs.mu.Unlock()
		defer func() {
			rs.mu.Lock()
			delete(rs.members, me)
			rs.mu.Unlock()
			close(q)
			<-done
		}()
		for {
			typ, data, err := ws.ReadMessage()
			if err != nil {
				return
			}
			now := time.Now()
			rs.mu.Lock()
			m := rs.messages
			rs.messages++
			for c := range rs.members {
				if b.excludeSender && c == me {
					continue
				}
				if b.drop != nil && b.drop(m, c.idx) {
					rs.dropped++
					continue
				}
				rs.forwarded++
				c.q <- reply{due: now, typ: typ, data: data}
			}
			rs.mu.Unlock()
		}
	})
	return rs
}

type relayServer struct {
	*wsServer
	mu                 sync.Mutex
	members            map[*relayConn]struct{}
	registered         int
	messages           int64
	forwarded, dropped int64
}

// startStatus starts a plain HTTP server answering every request with
// code: a WebSocket handshake against it fails.
func startStatus(t testing.TB, code int) string {
	t.Helper()
	ln, err := net.Listen("tcp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		http.Error(w, "no websocket here", code)
	}))
	s.Listener.Close()
	s.Listener = ln
	s.Start()
	t.Cleanup(s.Close)
	return "ws://" + ln.Addr().String() + "/"
}

// closedPort returns a ws:// URL on 127.0.0.1 where nothing listens.
func closedPort(t testing.TB) string {
	t.Helper()
	return "ws://" + testnet.FreeAddr(t) + "/"
}

// silentListener accepts TCP connections (the kernel completes them) and
// never answers: a WebSocket handshake against it times out.
func silentListener(t testing.TB) string {
	t.Helper()
	return "ws://" + testnet.Serve(t, func(net.Conn) {}) + "/"
}

// resettingListener accepts TCP connections, reads the handshake request
// and resets the connection (SO_LINGER 0) instead of answering.
func resettingListener(t testing.TB) string {
	t.Helper()
	return "ws://" + testnet.Serve(t, func(c net.Conn) {
		buf := make([]byte, 4096)
		_ = c.SetReadDeadline(time.Now().Add(2 * time.Second))
		_, _ = c.Read(buf)
		_ = c.(*net.TCPConn).SetLinger(0)
		_ = c.Close()
	}) + "/"
}
