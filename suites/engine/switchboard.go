package engine

import (
	"bufio"
	"bytes"
	"cmp"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/url"
	"sync"
	"time"

	"github.com/wsharness/wsharness/wire"
)

// switchboard is the harness's listener when it plays the server: every
// client under test connects to it for each case, at Autobahn's
// /runCase?casetuple=ID&agent=NAME, and the switchboard hands the
// connection to the case waiting for that agent and ID. It listens on
// loopback only.
type switchboard struct {
	ln net.Listener

	mu      sync.Mutex
	waiting map[caseKey]chan net.Conn
	closed  bool
}

type caseKey struct{ agent, caseID string }

// headTimeout bounds reading the request line that routes a connection.
const headTimeout = 10 * time.Second

func newSwitchboard() (*switchboard, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, fmt.Errorf("listen for clients under test: %w", err)
	}
	s := &switchboard{ln: ln, waiting: map[caseKey]chan net.Conn{}}
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
// it. A connection no case waits for gets 404 and is closed.
func (s *switchboard) route(nc net.Conn) {
	br := bufio.NewReader(nc)
	_ = nc.SetReadDeadline(time.Now().Add(headTimeout))
	head, err := wire.ReadHead(br)
	_ = nc.SetReadDeadline(time.Time{})
	var key caseKey
	if err == nil {
		key, err = routeOf(head)
	}
	var wait chan net.Conn
	if err == nil {
		s.mu.Lock()
		wait = s.waiting[key]
		delete(s.waiting, key)
		s.mu.Unlock()
	}
	if wait == nil {
		_, _ = nc.Write([]byte("HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"))
		_ = nc.Close()
		return
	}
	wait <- &replayConn{Conn: nc, r: io.MultiReader(bytes.NewReader(head), br)}
}

// routeOf reads the agent and case a /runCase request names.
func routeOf(head []byte) (caseKey, error) {
	req, err := wire.ParseRequest(head)
	if err != nil {
		return caseKey{}, err
	}
	u, err := url.ParseRequestURI(req.Target)
	if err != nil || u.Path != "/runCase" {
		return caseKey{}, fmt.Errorf("not a /runCase request: %q", req.Target)
	}
	q := u.Query()
	return caseKey{agent: q.Get("agent"), caseID: q.Get("casetuple")}, nil
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
			in, err := wire.ReadRequest(nc, o)
			if err != nil {
				_ = in.Close()
				return nil, err
			}
			return in, nil
		case <-t.C:
			s.forget(key, ch)
			return nil, fmt.Errorf("the client did not connect within %v", timeout)
		case <-ctx.Done():
			s.forget(key, ch)
			return nil, ctx.Err()
		}
	}
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
func (c *replayConn) CloseWrite() error {
	if hc, ok := c.Conn.(interface{ CloseWrite() error }); ok {
		return hc.CloseWrite()
	}
	return errors.ErrUnsupported
}
