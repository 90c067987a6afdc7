package tcpqueue

import (
	"net"
	"testing"
	"time"
)

// The peer's unread bytes follow what the test's server reads, over IPv4
// and IPv6 loopback.
func TestUnreadFollowsThePeersReads(t *testing.T) {
	for _, network := range []struct{ name, addr string }{{"tcp4", "127.0.0.1:0"}, {"tcp6", "[::1]:0"}} {
		t.Run(network.name, func(t *testing.T) {
			ln, err := net.Listen(network.name, network.addr)
			if err != nil {
				t.Skipf("no %s loopback here: %v", network.name, err)
			}
			defer ln.Close()
			accepted := make(chan net.Conn, 1)
			go func() {
				c, err := ln.Accept()
				if err == nil {
					accepted <- c
				}
			}()
			c, err := net.Dial(network.name, ln.Addr().String())
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			srv := <-accepted
			defer srv.Close()

			p, ok := PeerOf(c)
			if !ok {
				t.Fatal("PeerOf refused a TCP connection")
			}
			defer p.Close()
			if q, seen := p.State(); !seen || q != (Queue{}) {
				t.Fatalf("before any write: State = %+v, %v; want nothing received, true", q, seen)
			}
			if _, err := c.Write([]byte("hello")); err != nil {
				t.Fatal(err)
			}
			waitFor(t, p, Queue{Received: 5, Unread: 5})
			buf := make([]byte, 2)
			if _, err := srv.Read(buf); err != nil {
				t.Fatal(err)
			}
			waitFor(t, p, Queue{Received: 5, Unread: 3})
			if _, err := c.Write([]byte("!")); err != nil {
				t.Fatal(err)
			}
			buf = make([]byte, 16)
			for got := 0; got < 4; {
				n, err := srv.Read(buf)
				if err != nil {
					t.Fatal(err)
				}
				got += n
			}
			waitFor(t, p, Queue{Received: 6, Unread: 0})
		})
	}
}

func waitFor(t *testing.T, p *Peer, want Queue) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for {
		q, seen := p.State()
		if seen && q == want {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("State = %+v, %v; want %+v, true", q, seen, want)
		}
		time.Sleep(time.Millisecond)
	}
}

// fakeConn has the addresses of a connection that does not exist.
type fakeConn struct {
	net.Conn
	local, remote net.Addr
}

func (f fakeConn) LocalAddr() net.Addr  { return f.local }
func (f fakeConn) RemoteAddr() net.Addr { return f.remote }

// A peer the kernel does not list (another namespace, another host) is
// reported unseen, not as having read everything.
func TestUnreadOfAnUnlistedPeer(t *testing.T) {
	p, ok := PeerOf(fakeConn{
		local:  &net.TCPAddr{IP: net.IPv4(127, 0, 0, 1), Port: 1},
		remote: &net.TCPAddr{IP: net.IPv4(127, 0, 0, 1), Port: 9},
	})
	if !ok {
		t.Fatal("PeerOf refused TCP addresses")
	}
	defer p.Close()
	if q, seen := p.State(); seen {
		t.Fatalf("State of a connection that does not exist = %+v, seen", q)
	}
	if _, ok := PeerOf(fakeConn{local: &net.UnixAddr{Name: "a"}, remote: &net.UnixAddr{Name: "b"}}); ok {
		t.Fatal("PeerOf accepted a connection that is not TCP")
	}
}

// A batch answers for each peer what State would: each connection's own
// queue, unseen for a peer the kernel does not list and for a closed
// watcher.
func TestBatchMatchesEachPeer(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	var peers []*Peer
	var first net.Conn
	for i := range 5 {
		c, err := net.Dial("tcp", ln.Addr().String())
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		if first == nil {
			first = c
		}
		srv, err := ln.Accept()
		if err != nil {
			t.Fatal(err)
		}
		defer srv.Close()
		// Connection i has i+1 bytes received, and reads one of them.
		if _, err := c.Write(make([]byte, i+1)); err != nil {
			t.Fatal(err)
		}
		p, _ := PeerOf(c)
		defer p.Close()
		waitFor(t, p, Queue{Received: uint64(i + 1), Unread: i + 1})
		if _, err := srv.Read(make([]byte, 1)); err != nil {
			t.Fatal(err)
		}
		peers = append(peers, p)
	}
	unlisted, _ := PeerOf(fakeConn{
		local:  &net.TCPAddr{IP: net.IPv4(127, 0, 0, 1), Port: 1},
		remote: &net.TCPAddr{IP: net.IPv4(127, 0, 0, 1), Port: 9},
	})
	defer unlisted.Close()
	closed, _ := PeerOf(first) // listed, but its watcher is closed
	closed.Close()
	peers = append(peers, unlisted, closed)

	b, err := NewBatch()
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	out := make([]Result, len(peers))
	for round := range 3 { // later batches reuse the buffers
		b.States(peers, out)
		// Only the unlisted peer needs a lookup of its own, in each form.
		if b.alone != round+1 {
			t.Fatalf("after %d batches, %d peers were asked alone; want %d", round+1, b.alone, round+1)
		}
		for i := range 5 {
			if want := (Result{Queue{Received: uint64(i + 1), Unread: i}, true}); out[i] != want {
				t.Errorf("peer %d: %+v, want %+v", i, out[i], want)
			}
		}
		if out[5].Seen || out[6].Seen {
			t.Errorf("an unlisted peer and a closed watcher: %+v, %+v; want both unseen", out[5], out[6])
		}
	}
}
