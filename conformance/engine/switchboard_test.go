package engine

import (
	"bufio"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/wsharness/wsharness/wire"
)

// A connection for a case nobody waits for gets 404; a case whose client
// never connects ends after the handshake timeout with an error saying so.
func TestSwitchboard(t *testing.T) {
	b, err := newSwitchboard("127.0.0.1:0", nil)
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	nc, err := net.Dial("tcp", b.ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	if _, err := nc.Write([]byte("GET /runCase?casetuple=1.1.1&agent=nobody HTTP/1.1\r\nHost: x\r\n\r\n")); err != nil {
		t.Fatal(err)
	}
	resp, err := http.ReadResponse(bufio.NewReader(nc), nil)
	if err != nil || resp.StatusCode != http.StatusNotFound {
		t.Fatalf("a case nobody waits for: %v, %v; want 404", resp, err)
	}

	wait := b.expect("late", "1.1.1", nil)
	start := time.Now()
	_, err = wait(t.Context(), wire.AcceptOptions{Timeout: 100 * time.Millisecond})
	if err == nil || !strings.Contains(err.Error(), "did not connect within 400ms") || time.Since(start) > 5*time.Second {
		t.Fatalf("a client that never connects: %v after %v", err, time.Since(start))
	}
	if !strings.Contains(b.URL("gws-client", "6.4.3"), "/runCase?agent=gws-client&casetuple=6.4.3") {
		t.Errorf("URL %s: want Autobahn's /runCase with casetuple and agent", b.URL("gws-client", "6.4.3"))
	}
}

// A client slower to connect than one handshake timeout (its connection
// queued behind its other cases', or its process slow to start) is still
// taken; a client that ended without connecting is reported soon after,
// with a connection already on its way still taken.
func TestSwitchboardWaitsForSlowClientsNotEndedOnes(t *testing.T) {
	b, err := newSwitchboard("127.0.0.1:0", nil)
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	connect := func(after time.Duration, caseID string) {
		time.AfterFunc(after, func() {
			nc, err := net.Dial("tcp", b.ln.Addr().String())
			if err != nil {
				t.Error(err)
				return
			}
			t.Cleanup(func() { nc.Close() })
			req := "GET /runCase?casetuple=" + caseID + "&agent=slow HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n" +
				"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n"
			if _, err := nc.Write([]byte(req)); err != nil {
				t.Error(err)
			}
		})
	}
	handshake := 300 * time.Millisecond

	// Connects after two handshake timeouts.
	wait := b.expect("slow", "1.1.1", nil)
	connect(2*handshake, "1.1.1")
	in, err := wait(t.Context(), wire.AcceptOptions{Timeout: handshake})
	if err != nil {
		t.Fatalf("a client connecting after %v: %v, want its connection", 2*handshake, err)
	}
	_ = in.Close()

	// Ends without connecting: reported one handshake timeout later, not
	// after the whole wait.
	ended := make(chan struct{})
	wait = b.expect("slow", "1.1.2", ended)
	close(ended)
	start := time.Now()
	_, err = wait(t.Context(), wire.AcceptOptions{Timeout: handshake})
	if err == nil || !strings.Contains(err.Error(), "ended without connecting") {
		t.Fatalf("a client that ended: %v, want it said", err)
	}
	if waited := time.Since(start); waited >= connectWait(handshake) {
		t.Errorf("a client that ended was reported after %v, the whole wait", waited)
	}

	// Ends, but its connection was on its way.
	ended = make(chan struct{})
	wait = b.expect("slow", "1.1.3", ended)
	connect(handshake/3, "1.1.3")
	close(ended)
	in, err = wait(t.Context(), wire.AcceptOptions{Timeout: handshake})
	if err != nil {
		t.Fatalf("a connection on its way when the client ended: %v, want it taken", err)
	}
	_ = in.Close()
}
