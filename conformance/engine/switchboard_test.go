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

	wait := b.expect("late", "1.1.1")
	start := time.Now()
	_, err = wait(t.Context(), wire.AcceptOptions{Timeout: 100 * time.Millisecond})
	if err == nil || !strings.Contains(err.Error(), "did not connect within 100ms") || time.Since(start) > 5*time.Second {
		t.Fatalf("a client that never connects: %v after %v", err, time.Since(start))
	}
	if !strings.Contains(b.URL("gws-client", "6.4.3"), "/runCase?agent=gws-client&casetuple=6.4.3") {
		t.Errorf("URL %s: want Autobahn's /runCase with casetuple and agent", b.URL("gws-client", "6.4.3"))
	}
}
