// Package hostile holds servers that misbehave on purpose: they never
// answer, flood, stall, lie about lengths or reset. Tests point the
// conformance suites and the load generator at them to prove that every
// case still ends on time with a verdict, memory stays bounded and the
// load generator counts each failure by kind.
//
// They speak just enough HTTP to be hostile; none is a WebSocket server.
package hostile

import (
	"bufio"
	"context"
	"encoding/binary"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/wsharness/wsharness/internal/sockopt"
	"github.com/wsharness/wsharness/wire/handshake"
)

// Behaviour is one way of misbehaving.
type Behaviour struct {
	Name        string
	Description string
	serve       func(s *Server, c net.Conn)
	// smallReceiveBuffer makes the listener's sockets take little data
	// before the client's writes block.
	smallReceiveBuffer bool
}

// Behaviours lists every hostile server, in a fixed order: the robustness
// and load tests report in it, and docs/robustness.md's table follows it.
func Behaviours() []Behaviour {
	return []Behaviour{
		{Name: "silent", Description: "accepts TCP, reads everything and never answers", serve: silent},
		{Name: "garbage", Description: "answers the upgrade, then sends random bytes without end", serve: garbage},
		{Name: "huge-frame-63", Description: "answers the upgrade, declares a 2^63-1-byte frame and trickles its payload", serve: declare(1<<63 - 1)},
		{Name: "huge-frame-62", Description: "answers the upgrade, declares a 2^62-byte frame and trickles its payload", serve: declare(1 << 62)},
		{Name: "trickle-frame", Description: "answers the upgrade, declares a 1 MiB frame (under the client's limit) and trickles it", serve: declare(1 << 20)},
		{Name: "ping-flood", Description: "answers the upgrade, then sends Pings as fast as it can", serve: pingFlood},
		{Name: "never-reads", Description: "answers the upgrade and never reads again, so the client's writes block", serve: neverReads, smallReceiveBuffer: true},
		{Name: "mid-frame-close", Description: "answers the upgrade, then closes TCP in the middle of a frame", serve: midFrameClose},
		{Name: "random-reset", Description: "resets each connection (TCP RST) at a random point: before, during or after the handshake", serve: randomReset},
		{Name: "slow-handshake", Description: "sends its 101 response one byte every 300 ms", serve: slowHandshake},
		{Name: "malformed-101", Description: "answers 101 with malformed header lines", serve: malformed101},
		{Name: "huge-header", Description: "answers 101 followed by a 100 MB header", serve: hugeHeader},
	}
}

// StartForTest starts the server of the behaviour called name for a
// test, which stops at once when it cannot; the server closes when the
// test ends.
func StartForTest(t testing.TB, name string) *Server {
	t.Helper()
	b, err := Lookup(name)
	if err != nil {
		t.Fatal(err)
	}
	s, err := Start(b)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(s.Close)
	return s
}

// Lookup returns the behaviour called name.
func Lookup(name string) (Behaviour, error) {
	var names []string
	for _, b := range Behaviours() {
		if b.Name == name {
			return b, nil
		}
		names = append(names, b.Name)
	}
	return Behaviour{}, fmt.Errorf("no hostile behaviour %q (have %s)", name, strings.Join(names, ", "))
}

// Server is a running hostile server on 127.0.0.1.
type Server struct {
	b    Behaviour
	ln   net.Listener
	done chan struct{}
	wg   sync.WaitGroup

	mu    sync.Mutex
	conns map[net.Conn]struct{}
	rng   *rand.Rand
	// Accepted counts connections.
	accepted int
}

// Start listens on 127.0.0.1 (any free port) and serves b.
func Start(b Behaviour) (*Server, error) {
	lc := net.ListenConfig{}
	if b.smallReceiveBuffer {
		// Accepted sockets inherit the listener's buffer size; set before
		// listen so the advertised window is small from the first byte.
		lc.Control = sockopt.Int(syscall.SOL_SOCKET, syscall.SO_RCVBUF, 4096)
	}
	ln, err := lc.Listen(context.Background(), "tcp", "127.0.0.1:0")
	if err != nil {
		return nil, fmt.Errorf("hostile %s: listen: %w", b.Name, err)
	}
	s := &Server{b: b, ln: ln, done: make(chan struct{}), conns: map[net.Conn]struct{}{}, rng: rand.New(rand.NewPCG(6455, 7692))}
	s.wg.Add(1)
	go s.accept()
	return s, nil
}

// Addr is the listening host:port.
func (s *Server) Addr() string { return s.ln.Addr().String() }

// URL is the ws:// URL a client should use.
func (s *Server) URL() string { return "ws://" + s.Addr() + "/echo" }

// Accepted returns how many connections were accepted.
func (s *Server) Accepted() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.accepted
}

// Close stops accepting, drops every connection and waits for the
// handlers to return.
func (s *Server) Close() {
	select {
	case <-s.done:
		return
	default:
	}
	close(s.done)
	_ = s.ln.Close()
	s.mu.Lock()
	for c := range s.conns {
		_ = c.Close()
	}
	s.mu.Unlock()
	s.wg.Wait()
}

func (s *Server) accept() {
	defer s.wg.Done()
	for {
		c, err := s.ln.Accept()
		if err != nil {
			return
		}
		s.mu.Lock()
		s.conns[c] = struct{}{}
		s.accepted++
		s.mu.Unlock()
		s.wg.Add(1)
		go func() {
			defer s.wg.Done()
			defer s.forget(c)
			s.b.serve(s, c)
		}()
	}
}

func (s *Server) forget(c net.Conn) {
	_ = c.Close()
	s.mu.Lock()
	delete(s.conns, c)
	s.mu.Unlock()
}

// intn draws from the server's seeded generator.
func (s *Server) intn(n int) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.rng.IntN(n)
}

// sleep waits d, or less when the server closes; false means it closed.
func (s *Server) sleep(d time.Duration) bool {
	select {
	case <-s.done:
		return false
	case <-time.After(d):
		return true
	}
}

// readRequest reads the client's request head (at most 64 KiB) and
// returns its Sec-WebSocket-Key.
func readRequest(c net.Conn) (*bufio.Reader, string, error) {
	br := bufio.NewReader(c)
	req, err := http.ReadRequest(bufio.NewReader(io.LimitReader(br, 64<<10)))
	if err != nil {
		return br, "", err
	}
	return br, req.Header.Get("Sec-WebSocket-Key"), nil
}

// upgradeResponse is a valid 101 for key.
func upgradeResponse(key string) []byte {
	return []byte("HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: " +
		handshake.AcceptKey(key) + "\r\n\r\n")
}

// upgrade answers the request with a valid 101; false when the client
// went away first.
func upgrade(c net.Conn) bool {
	_, key, err := readRequest(c)
	if err != nil {
		return false
	}
	_, err = c.Write(upgradeResponse(key))
	return err == nil
}

// discard reads and drops what the client sends, in the background.
func discard(c net.Conn) { go func() { _, _ = io.Copy(io.Discard, c) }() }

func silent(_ *Server, c net.Conn) { _, _ = io.Copy(io.Discard, c) }

func garbage(s *Server, c net.Conn) {
	if !upgrade(c) {
		return
	}
	discard(c)
	sendRandom(c, rand.New(rand.NewPCG(uint64(s.intn(1<<30)), 1)))
}

// sendRandom writes random bytes to c until a write fails.
func sendRandom(c net.Conn, r *rand.Rand) {
	buf := make([]byte, 4096)
	for {
		for i := range buf {
			buf[i] = byte(r.Uint32())
		}
		if _, err := c.Write(buf); err != nil {
			return
		}
	}
}

// sendForever writes frame to c, a thousand at a time, until a write
// fails.
func sendForever(c net.Conn, frame []byte) {
	batch := make([]byte, 0, len(frame)*1000)
	for range 1000 {
		batch = append(batch, frame...)
	}
	for {
		if _, err := c.Write(batch); err != nil {
			return
		}
	}
}

// declare sends an unmasked binary frame header declaring n payload bytes
// and then one byte every 50 ms.
func declare(n uint64) func(*Server, net.Conn) {
	return func(s *Server, c net.Conn) {
		if !upgrade(c) {
			return
		}
		discard(c)
		hdr := []byte{0x82, 127, 0, 0, 0, 0, 0, 0, 0, 0}
		binary.BigEndian.PutUint64(hdr[2:], n)
		if _, err := c.Write(hdr); err != nil {
			return
		}
		for s.sleep(50 * time.Millisecond) {
			if _, err := c.Write([]byte{'x'}); err != nil {
				return
			}
		}
	}
}

func pingFlood(_ *Server, c net.Conn) {
	if !upgrade(c) {
		return
	}
	discard(c)
	sendForever(c, []byte{0x89, 4, 'f', 'l', 'o', 'o'})
}

func neverReads(s *Server, c net.Conn) {
	if !upgrade(c) {
		return
	}
	<-s.done
}

func midFrameClose(_ *Server, c net.Conn) {
	br, key, err := readRequest(c)
	if err != nil {
		return
	}
	if _, err := c.Write(upgradeResponse(key)); err != nil {
		return
	}
	// Wait for the client's first frame header, then start a 256-byte
	// text frame and stop after 10 bytes of it.
	if _, err := br.Peek(2); err != nil {
		return
	}
	_, _ = c.Write(append([]byte{0x81, 126, 1, 0}, "0123456789"...))
}

func randomReset(s *Server, c net.Conn) {
	reset := func() {
		if tc, ok := c.(*net.TCPConn); ok {
			_ = tc.SetLinger(0) // Close sends RST
		}
		_ = c.Close()
	}
	switch s.intn(4) {
	case 0: // at once
		reset()
		return
	case 1: // after reading the request
		if _, _, err := readRequest(c); err == nil {
			reset()
		}
		return
	}
	_, key, err := readRequest(c)
	if err != nil {
		return
	}
	resp := upgradeResponse(key)
	if s.intn(2) == 0 { // in the middle of the response
		_, _ = c.Write(resp[:len(resp)/2])
		reset()
		return
	}
	if _, err := c.Write(resp); err != nil {
		return
	}
	discard(c)
	if s.sleep(time.Duration(s.intn(300)) * time.Millisecond) {
		reset()
	}
}

func slowHandshake(s *Server, c net.Conn) {
	_, key, err := readRequest(c)
	if err != nil {
		return
	}
	discard(c)
	for _, b := range upgradeResponse(key) {
		if _, err := c.Write([]byte{b}); err != nil || !s.sleep(300*time.Millisecond) {
			return
		}
	}
	<-s.done
}

func malformed101(_ *Server, c net.Conn) {
	_, key, err := readRequest(c)
	if err != nil {
		return
	}
	_, _ = c.Write([]byte("HTTP/1.1 101 Switching Protocols\r\nUpgrade websocket\r\nConnection: Upgrade\r\n" +
		"Sec-WebSocket-Accept: " + handshake.AcceptKey(key) + "\r\n\x00Bad\x01: \xff\r\n: empty name\r\n\r\n"))
	_, _ = io.Copy(io.Discard, c)
}

func hugeHeader(_ *Server, c net.Conn) {
	if _, _, err := readRequest(c); err != nil {
		return
	}
	discard(c)
	sendHugeHead(c, "HTTP/1.1 101 Switching Protocols")
}

// sendHugeHead writes an HTTP head of first line and a 100 MB header.
func sendHugeHead(c net.Conn, first string) {
	if _, err := c.Write([]byte(first + "\r\nX-Huge: ")); err != nil {
		return
	}
	chunk := []byte(strings.Repeat("a", 64<<10))
	for sent := 0; sent < 100<<20; sent += len(chunk) {
		if _, err := c.Write(chunk); err != nil {
			return
		}
	}
	_, _ = c.Write([]byte("\r\n\r\n"))
}
