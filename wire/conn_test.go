package wire

import (
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/gorilla/websocket"
)

// closeFrames lists the opcodes of the Close frames in a wire log, by
// direction.
func closeFrames(l *Log) (sent, received int) {
	for _, e := range l.Entries() {
		if e.Frame == nil || e.Frame.Opcode != int(OpClose) {
			continue
		}
		if e.Dir == Outbound {
			sent++
		} else {
			received++
		}
	}
	return sent, received
}

// ClosePolitely sends Close 1000 and returns as soon as the server's Close
// arrives; a server that never answers costs the wait, not more.
func TestClosePolitely(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c, err := (&websocket.Upgrader{}).Upgrade(w, r, nil)
		if err != nil {
			return
		}
		defer c.Close()
		for {
			if _, _, err := c.ReadMessage(); err != nil { // answers the Close
				return
			}
		}
	}))
	defer srv.Close()
	for _, tc := range []struct {
		name     string
		url      string
		answered bool
	}{
		{"answering", "ws" + strings.TrimPrefix(srv.URL, "http") + "/", true},
		{"silent", fakeUpgrade(t, ""), false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			log := NewLog()
			c, _, err := Dial(t.Context(), tc.url, Options{Log: log})
			if err != nil {
				t.Fatal(err)
			}
			wait := 300 * time.Millisecond
			if tc.answered {
				wait = 10 * time.Second
			}
			start := time.Now()
			if err := c.ClosePolitely(t.Context(), wait); err != nil {
				t.Errorf("ClosePolitely: %v", err)
			}
			took := time.Since(start)
			sent, received := closeFrames(log)
			if sent != 1 || received != map[bool]int{true: 1}[tc.answered] {
				t.Errorf("Close frames sent %d, received %d: %v", sent, received, log.Entries())
			}
			if tc.answered && took > 5*time.Second || !tc.answered && (took < wait || took > wait+2*time.Second) {
				t.Errorf("took %v with a wait of %v", took, wait)
			}
			if _, err := c.ReadFrame(time.Now().Add(time.Second)); err == nil {
				t.Error("the connection is still open")
			}
		})
	}
}

func TestHostPort(t *testing.T) {
	for _, tc := range []struct {
		scheme, host, want string
	}{
		{"ws", "example.com", "example.com:80"},
		{"wss", "example.com", "example.com:443"},
		{"ws", "127.0.0.1:9001", "127.0.0.1:9001"},
		{"wss", "localhost:9443", "localhost:9443"},
		{"ws", "[::1]", "[::1]:80"},
		{"wss", "[::1]:9443", "[::1]:9443"},
	} {
		u := &url.URL{Scheme: tc.scheme, Host: tc.host, Path: "/x"}
		if got := HostPort(u); got != tc.want {
			t.Errorf("HostPort(%s) = %q, want %q", u, got, tc.want)
		}
	}
}
