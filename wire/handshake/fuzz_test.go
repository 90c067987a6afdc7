package handshake

import (
	"bufio"
	"bytes"
	"strings"
	"testing"
)

func bufioReader(s string) *bufio.Reader { return bufio.NewReader(strings.NewReader(s)) }

// FuzzResponseHead feeds arbitrary bytes to the handshake response reader.
func FuzzResponseHead(f *testing.F) {
	f.Add([]byte("HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: x\r\n\r\n"))
	f.Add([]byte("HTTP/1.1 426 Upgrade Required\r\nSec-WebSocket-Version: 13\r\n\r\n"))
	f.Add([]byte("garbage\r\n\r\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		head, err := ReadHead(bufio.NewReader(bytes.NewReader(data)))
		if len(head) > MaxHeadBytes {
			t.Fatalf("head of %d bytes", len(head))
		}
		if err != nil {
			return
		}
		if resp, err := ParseResponse(head); err == nil {
			_ = CheckUpgrade(resp, "dGhlIHNhbXBsZSBub25jZQ==", nil, nil)
		}
	})
}
