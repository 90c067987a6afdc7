package wire

import (
	"bufio"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"

	"github.com/wsharness/wsharness/wire/handshake"
)

// Dial negotiates permessage-deflate from the offer it sent and the
// answer: a valid acceptance gives Handshake.Deflate, an invalid one fails
// the handshake, a decline gives nil.
func TestDialChecksDeflateAnswer(t *testing.T) {
	for _, tc := range []struct {
		offer, answer string
		accepted      bool
		problem       string
	}{
		{"permessage-deflate; client_max_window_bits", "permessage-deflate; client_max_window_bits=10", true, ""},
		{"permessage-deflate", "", false, ""},
		{"permessage-deflate", "permessage-deflate; client_max_window_bits=10", false, "which the offer did not have"},
		{"permessage-deflate; x", "permessage-deflate", false, "MUST be declined"},
	} {
		url := fakeUpgrade(t, tc.answer)
		conn, hs, err := Dial(t.Context(), url, Options{Edit: func(r *handshake.Request) { r.Headers.Set("Sec-WebSocket-Extensions", tc.offer) }})
		switch {
		case tc.problem != "":
			if err == nil || !strings.Contains(err.Error(), tc.problem) {
				t.Errorf("offer %q, answer %q: err %v, want one containing %q", tc.offer, tc.answer, err, tc.problem)
			}
		case err != nil:
			t.Errorf("offer %q, answer %q: %v", tc.offer, tc.answer, err)
		case (hs.Deflate != nil) != tc.accepted:
			t.Errorf("offer %q, answer %q: Deflate = %v", tc.offer, tc.answer, hs.Deflate)
		case tc.accepted && hs.Deflate.ClientMaxWindowBits != 10:
			t.Errorf("client window %d, want 10", hs.Deflate.ClientMaxWindowBits)
		}
		if conn != nil {
			conn.Close()
		}
	}
}

// fakeUpgrade serves one connection: it reads the request and answers 101
// with the right accept key and the given Sec-WebSocket-Extensions.
func fakeUpgrade(t *testing.T, extensions string) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	go func() {
		nc, err := ln.Accept()
		if err != nil {
			return
		}
		defer nc.Close()
		req, err := http.ReadRequest(bufio.NewReader(nc))
		if err != nil {
			return
		}
		head := "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: " + handshake.AcceptKey(req.Header.Get("Sec-WebSocket-Key")) + "\r\n"
		if extensions != "" {
			head += "Sec-WebSocket-Extensions: " + extensions + "\r\n"
		}
		_, _ = nc.Write([]byte(head + "\r\n"))
		_, _ = io.Copy(io.Discard, nc)
	}()
	return "ws://" + ln.Addr().String() + "/"
}
