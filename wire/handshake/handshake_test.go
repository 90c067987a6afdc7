package handshake

import (
	"io"
	"strings"
	"testing"
)

func TestAcceptKey(t *testing.T) {
	// The example of RFC 6455 §1.3.
	if got := AcceptKey("dGhlIHNhbXBsZSBub25jZQ=="); got != "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=" {
		t.Fatalf("AcceptKey = %q", got)
	}
}

func TestReadHeadLimits(t *testing.T) {
	huge := "HTTP/1.1 101 Switching Protocols\r\nX-Big: " + strings.Repeat("a", MaxHeadBytes) + "\r\n\r\n"
	if _, err := ReadHead(bufioReader(huge)); err != ErrHeadTooLarge {
		t.Fatalf("err = %v, want ErrHeadTooLarge", err)
	}
	head, err := ReadHead(bufioReader("HTTP/1.1 101 OK\r\nUpgrade: websocket\r\n\r\n\x81\x00"))
	if err != nil || !strings.HasSuffix(string(head), "\r\n\r\n") {
		t.Fatalf("head %q err %v", head, err)
	}
	if _, err := ReadHead(bufioReader("HTTP/1.1 101 OK\r\nUpgr")); err != io.ErrUnexpectedEOF {
		t.Fatalf("truncated head: err %v", err)
	}
}

func TestCheckUpgrade(t *testing.T) {
	key := "dGhlIHNhbXBsZSBub25jZQ=="
	resp := func(extra string) *Response {
		r, err := ParseResponse([]byte("HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n" + extra + "\r\n"))
		if err != nil {
			t.Fatal(err)
		}
		return r
	}
	if v := CheckUpgrade(resp(""), key, nil, nil); len(v) != 0 {
		t.Fatalf("valid response: %v", v)
	}
	if v := CheckUpgrade(resp("Sec-WebSocket-Protocol: chat\r\n"), key, nil, nil); len(v) != 1 {
		t.Fatalf("unoffered subprotocol: %v", v)
	}
	if v := CheckUpgrade(resp("Sec-WebSocket-Protocol: chat\r\n"), key, []string{"chat"}, nil); len(v) != 0 {
		t.Fatalf("offered subprotocol: %v", v)
	}
	if v := CheckUpgrade(resp("Sec-WebSocket-Extensions: permessage-deflate\r\n"), key, nil, nil); len(v) != 1 {
		t.Fatalf("unoffered extension: %v", v)
	}
	if v := CheckUpgrade(resp(""), "AAAAAAAAAAAAAAAAAAAAAA==", nil, nil); len(v) != 1 {
		t.Fatalf("wrong accept: %v", v)
	}
}

// An answer opens the WebSocket with 101 over HTTP/1.1 and with 200 over
// HTTP/2 (RFC 8441 §5), and with nothing else.
func TestStatusAgrees(t *testing.T) {
	for _, c := range []struct {
		proto  string
		status int
		want   bool
	}{
		{"HTTP/1.1", 101, true}, {"HTTP/1.1", 200, false}, {"HTTP/1.0", 101, true},
		{ProtoHTTP2, 200, true}, {ProtoHTTP2, 101, false}, {ProtoHTTP2, 400, false},
	} {
		if got := StatusAgrees(c.proto, c.status); got != c.want {
			t.Errorf("StatusAgrees(%q, %d) = %v, want %v", c.proto, c.status, got, c.want)
		}
		if got := (&Response{Proto: c.proto, Status: c.status}).Agreed(); got != c.want {
			t.Errorf("Response{%q, %d}.Agreed() = %v, want %v", c.proto, c.status, got, c.want)
		}
	}
}
