package hostile

import (
	"net"
	"testing"
	"time"
)

// Every behaviour starts, takes a connection and stops promptly even while
// its handler is busy (flooding, trickling or waiting), so tests using
// these servers do not leak or hang.
func TestEveryBehaviourStartsAndStops(t *testing.T) {
	for _, b := range Behaviours() {
		t.Run(b.Name, func(t *testing.T) {
			s, err := Start(b)
			if err != nil {
				t.Fatal(err)
			}
			c, err := net.DialTimeout("tcp", s.Addr(), time.Second)
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			_, _ = c.Write([]byte("GET /echo HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n" +
				"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n"))
			deadline := time.Now().Add(2 * time.Second)
			for s.Accepted() == 0 && time.Now().Before(deadline) {
				time.Sleep(5 * time.Millisecond)
			}
			if s.Accepted() != 1 {
				t.Fatalf("accepted %d connections, want 1", s.Accepted())
			}
			done := make(chan struct{})
			go func() { s.Close(); close(done) }()
			select {
			case <-done:
			case <-time.After(5 * time.Second):
				t.Fatal("Close did not return within 5 s")
			}
		})
	}
}

func TestLookup(t *testing.T) {
	if _, err := Lookup("garbage"); err != nil {
		t.Fatal(err)
	}
	if _, err := Lookup("nice"); err == nil {
		t.Fatal("Lookup of an unknown behaviour succeeded")
	}
}
