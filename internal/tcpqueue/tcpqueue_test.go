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
			if n, seen := p.Unread(); !seen || n != 0 {
				t.Fatalf("before any write: Unread = %d, %v; want 0, true", n, seen)
			}
			if _, err := c.Write([]byte("hello")); err != nil {
				t.Fatal(err)
			}
			waitFor(t, p, 5)
			buf := make([]byte, 2)
			if _, err := srv.Read(buf); err != nil {
				t.Fatal(err)
			}
			waitFor(t, p, 3)
			buf = make([]byte, 16)
			if _, err := srv.Read(buf); err != nil {
				t.Fatal(err)
			}
			waitFor(t, p, 0)
		})
	}
}

func waitFor(t *testing.T, p *Peer, want int) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for {
		n, seen := p.Unread()
		if seen && n == want {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("Unread = %d, %v; want %d, true", n, seen, want)
		}
		time.Sleep(time.Millisecond)
	}
}

// A peer the table does not list (another namespace, another host) is
// reported unseen, not as having read everything.
func TestUnreadOfAnUnlistedPeer(t *testing.T) {
	p := &Peer{lines: []lookup{{tcp4Table, needle(addr4(net.IPv4(10, 9, 8, 7), 9), addr4(net.IPv4(10, 9, 8, 6), 1))}}}
	if n, seen := p.Unread(); seen {
		t.Fatalf("Unread of a connection that does not exist = %d, seen", n)
	}
}

func TestRxQueueColumn(t *testing.T) {
	table := []byte(`  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode
   0: 0100007F:1F90 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 1 1 0 100 0 0 10 0
   1: 0100007F:1F90 0100007F:D431 01 00000000:0000002C 00:00000000 00000000     0        0 2 1 0 20 4 30 10 -1
`)
	n, ok := rxQueue(table, needle("0100007F:1F90", "0100007F:D431"))
	if !ok || n != 44 {
		t.Fatalf("rxQueue = %d, %v; want 44, true", n, ok)
	}
	if _, ok := rxQueue(table, needle("0100007F:1F90", "0100007F:D432")); ok {
		t.Fatal("found a connection the table does not hold")
	}
}
