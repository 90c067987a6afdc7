package xconnect_test

import (
	"bufio"
	"encoding/binary"
	"errors"
	"io"
	"net"
	"net/http"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/wsharness/wsharness/internal/xconnect"
)

// The import above ran before net/http's init: an h2c server of this
// process advertises SETTINGS_ENABLE_CONNECT_PROTOCOL = 1 (RFC 8441 §3).
func TestSettingIsOn(t *testing.T) {
	if !xconnect.On || !strings.Contains(os.Getenv("GODEBUG"), "http2xconnect=1") {
		t.Fatalf("GODEBUG = %q, want it to hold http2xconnect=1", os.Getenv("GODEBUG"))
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: http.NotFoundHandler(), ReadHeaderTimeout: 5 * time.Second, Protocols: new(http.Protocols)}
	srv.Protocols.SetUnencryptedHTTP2(true)
	go func() { _ = srv.Serve(ln) }()
	t.Cleanup(func() { _ = srv.Close() })

	c, err := net.DialTimeout("tcp", ln.Addr().String(), 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(5 * time.Second))
	// The client preface and an empty SETTINGS frame (RFC 9113 §3.4).
	preface := "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n" + "\x00\x00\x00\x04\x00\x00\x00\x00\x00"
	if _, err := io.WriteString(c, preface); err != nil {
		t.Fatal(err)
	}
	settings, err := readSettings(bufio.NewReader(c))
	if err != nil {
		t.Fatal(err)
	}
	const enableConnectProtocol = 0x8
	if v, ok := settings[enableConnectProtocol]; !ok || v != 1 {
		t.Errorf("server SETTINGS %v: want ENABLE_CONNECT_PROTOCOL (0x8) = 1", settings)
	}
}

// readSettings reads the server's first frame, which RFC 9113 §3.4 makes a
// SETTINGS frame, and returns its parameters.
func readSettings(r io.Reader) (map[uint16]uint32, error) {
	var head [9]byte
	if _, err := io.ReadFull(r, head[:]); err != nil {
		return nil, err
	}
	length := int(head[0])<<16 | int(head[1])<<8 | int(head[2])
	if head[3] != 0x4 || length%6 != 0 || length > 1<<14 {
		return nil, errors.New("the server's first frame is not a SETTINGS frame")
	}
	payload := make([]byte, length)
	if _, err := io.ReadFull(r, payload); err != nil {
		return nil, err
	}
	out := map[uint16]uint32{}
	for i := 0; i < length; i += 6 {
		out[binary.BigEndian.Uint16(payload[i:])] = binary.BigEndian.Uint32(payload[i+2:])
	}
	return out, nil
}
