package engine

import (
	"bufio"
	"bytes"
	"cmp"
	"context"
	"fmt"
	"io"
	"net"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/wsharness/wsharness/wire"
	"github.com/wsharness/wsharness/wire/handshake"
)

// switchboard is the harness's listener when it plays the server: every
// client under test connects to it for each case, at Autobahn's
// /runCase?casetuple=ID&agent=NAME, and the switchboard hands the
// connection to the case waiting for that agent and ID. A connection no
// case waits for goes to unclaimed (Autobahn's fuzzing-server protocol,
// where the client starts its cases), or gets 404 without one. It listens
// on loopback only.
type switchboard struct {
	ln net.Listener
	// unclaimed takes a connection no case waits for, with its request
	// head still to be read, and the request parsed; nil means 404.
	unclaimed func(nc net.Conn, req *handshake.ClientRequest)

	mu      sync.Mutex
	waiting map[caseKey]chan net.Conn
	closed  bool
}

type caseKey struct{ agent, caseID string }

// headTimeout bounds reading the request line that routes a connection.
const headTimeout = 10 * time.Second

// newSwitchboard listens on addr, which must be a loopback address
// ("127.0.0.1:0" for any port).
func newSwitchboard(addr string, unclaimed func(net.Conn, *handshake.ClientRequest)) (*switchboard, error) {
	if err := CheckLoopback(addr); err != nil {
		return nil, err
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("listen for clients under test: %w", err)
	}
	s := &switchboard{ln: ln, unclaimed: unclaimed, waiting: map[caseKey]chan net.Conn{}}
	go s.serve()
	return s, nil
}

// URL is where agent connects to run case caseID.
func (s *switchboard) URL(agent, caseID string) string {
	q := url.Values{"casetuple": {caseID}, "agent": {agent}}
	return "ws://" + s.ln.Addr().String() + "/runCase?" + q.Encode()
}

// Close stops listening; connections handed out are the cases'.
func (s *switchboard) Close() {
	s.mu.Lock()
	s.closed = true
	s.mu.Unlock()
	_ = s.ln.Close()
}

func (s *switchboard) serve() {
	for {
		nc, err := s.ln.Accept()
		if err != nil {
			return
		}
		go s.route(nc)
	}
}

// route reads the request head far enough to name the case, and hands the
// connection, with the head still to be read, to the case that waits for
// it, else to unclaimed. Without unclaimed, or when the head does not
// parse, it gets 404 and is closed.
func (s *switchboard) route(nc net.Conn) {
	br := bufio.NewReader(nc)
	_ = nc.SetReadDeadline(time.Now().Add(headTimeout))
	head, err := handshake.ReadHead(br)
	_ = nc.SetReadDeadline(time.Time{})
	var req *handshake.ClientRequest
	if err == nil {
		req, err = handshake.ParseRequest(head)
	}
	var wait chan net.Conn
	if key, ok := waitingKey(req); err == nil && ok {
		s.mu.Lock()
		wait = s.waiting[key]
		delete(s.waiting, key)
		s.mu.Unlock()
	}
	replay := &replayConn{Conn: nc, r: io.MultiReader(bytes.NewReader(head), br)}
	switch {
	case wait != nil:
		wait <- replay
	case err == nil && s.unclaimed != nil:
		s.unclaimed(replay, req)
	default:
		refuse(nc, "404 Not Found")
	}
}

// refuse answers a request with an HTTP error status and closes the
// connection.
func refuse(nc net.Conn, status string) {
	_, _ = nc.Write([]byte("HTTP/1.1 " + status + "\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"))
	_ = nc.Close()
}

// waitingKey reads the agent and case a harness-driven /runCase request
// names (casetuple=ID); ok is false for any other request.
func waitingKey(req *handshake.ClientRequest) (key caseKey, ok bool) {
	if req == nil {
		return caseKey{}, false
	}
	u, err := url.ParseRequestURI(req.Target)
	if err != nil || u.Path != "/runCase" {
		return caseKey{}, false
	}
	q := u.Query()
	return caseKey{agent: q.Get("agent"), caseID: q.Get("casetuple")}, q.Has("casetuple")
}

// expect registers the case caseID of agent as waiting, and returns how
// the case takes its connection: it waits for the agent to connect, at
// most the opening handshake's timeout, and reads its request.
func (s *switchboard) expect(agent, caseID string) func(context.Context, wire.AcceptOptions) (*wire.Incoming, error) {
	key := caseKey{agent, caseID}
	ch := make(chan net.Conn, 1)
	s.mu.Lock()
	s.waiting[key] = ch
	s.mu.Unlock()
	return func(ctx context.Context, o wire.AcceptOptions) (*wire.Incoming, error) {
		timeout := cmp.Or(o.Timeout, wire.DefaultIOTimeout)
		t := time.NewTimer(timeout)
		defer t.Stop()
		select {
		case nc := <-ch:
			return readIncoming(nc, o)
		case <-t.C:
			s.forget(key, ch)
			return nil, fmt.Errorf("the client did not connect within %v", timeout)
		case <-ctx.Done():
			s.forget(key, ch)
			return nil, ctx.Err()
		}
	}
}

// readIncoming reads the opening handshake request of a client under test
// on its case's connection; on an error the connection is closed.
func readIncoming(nc net.Conn, o wire.AcceptOptions) (*wire.Incoming, error) {
	in, err := wire.ReadRequest(nc, o)
	if err != nil {
		_ = in.Close()
		return nil, err
	}
	return in, nil
}

// arrived is how a case takes the connection its client opened by itself
// (Autobahn's fuzzing-server protocol): it reads the request on it.
func arrived(nc net.Conn) func(context.Context, wire.AcceptOptions) (*wire.Incoming, error) {
	return func(_ context.Context, o wire.AcceptOptions) (*wire.Incoming, error) { return readIncoming(nc, o) }
}

// CheckLoopback accepts a host:port whose host is a loopback IP address
// or localhost: nothing the harness serves listens elsewhere.
func CheckLoopback(addr string) error {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return fmt.Errorf("address %q: %w", addr, err)
	}
	if ip := net.ParseIP(host); strings.EqualFold(host, "localhost") || ip != nil && ip.IsLoopback() {
		return nil
	}
	return fmt.Errorf("address %q: not a loopback address (127.0.0.1); wsharness listens on loopback only", addr)
}

// forget takes a case off the waiting list; a connection that arrived
// meanwhile is closed.
func (s *switchboard) forget(key caseKey, ch chan net.Conn) {
	s.mu.Lock()
	if s.waiting[key] == ch {
		delete(s.waiting, key)
	}
	s.mu.Unlock()
	select {
	case nc := <-ch:
		_ = nc.Close()
	default:
	}
}

// replayConn is a connection whose first bytes, already read to route it,
// are read again.
type replayConn struct {
	net.Conn
	r io.Reader
}

func (c *replayConn) Read(p []byte) (int, error) { return c.r.Read(p) }

// CloseWrite half-closes the TCP connection underneath.
func (c *replayConn) CloseWrite() error { return wire.CloseWrite(c.Conn) }
