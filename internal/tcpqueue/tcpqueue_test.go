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
