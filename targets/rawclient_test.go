package targets_test

import (
	"bufio"
	"crypto/rand"
	"crypto/sha1"
	"encoding/base64"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"
)

// ioTimeout bounds every read and write of the tests. It is generous so that
// a loaded machine (and the race detector) does not make tests flaky; a
// correct server answers in milliseconds.
const ioTimeout = 10 * time.Second

// RFC 6455 opcodes.
const (
	opContinuation = 0x0
	opText         = 0x1
	opBinary       = 0x2
	opClose        = 0x8
	opPing         = 0x9
	opPong         = 0xA
)

// frame is one WebSocket frame as the tests write and read them.
type frame struct {
	fin     bool
	rsv     byte // the three RSV bits, RSV1 = 4
	op      byte
	payload []byte
	// For writing only: send unmasked, or declare this length instead of
	// len(payload).
	unmasked      bool
	declaredLen64 uint64
}

// rawClient is a WebSocket client that writes frames byte for byte as the
// test says, including invalid ones.
type rawClient struct {
	t    testing.TB
	conn net.Conn
	br   *bufio.Reader
}

// handshakeRequest returns a valid opening handshake for u; edit may change
// it before it is sent.
func handshakeRequest(t testing.TB, u string) *http.Request {
	t.Helper()
	parsed, err := url.Parse(u)
	if err != nil {
		t.Fatalf("parse %s: %v", u, err)
	}
	key := make([]byte, 16)
	_, _ = rand.Read(key)
	r := &http.Request{
		Method:     http.MethodGet,
		URL:        &url.URL{Path: parsed.Path},
		Proto:      "HTTP/1.1",
		ProtoMajor: 1,
		ProtoMinor: 1,
		Host:       parsed.Host,
		Header: http.Header{
			"Upgrade":               {"websocket"},
			"Connection":            {"Upgrade"},
			"Sec-Websocket-Key":     {base64.StdEncoding.EncodeToString(key)},
			"Sec-Websocket-Version": {"13"},
		},
	}
	return r
}

// sendHandshake writes req on a new connection and returns the connection,
// its reader (positioned after the response) and the response.
func sendHandshake(t testing.TB, u string, req *http.Request) (net.Conn, *bufio.Reader, *http.Response) {
	t.Helper()
	parsed, err := url.Parse(u)
	if err != nil {
		t.Fatalf("parse %s: %v", u, err)
	}
	conn, err := net.DialTimeout("tcp", parsed.Host, ioTimeout)
	if err != nil {
		t.Fatalf("dial %s: %v", parsed.Host, err)
	}
	t.Cleanup(func() { conn.Close() })
	_ = conn.SetDeadline(time.Now().Add(ioTimeout))
	// Write the request line ourselves: Request.Write would rewrite the
	// protocol version and some headers.
	var b strings.Builder
	fmt.Fprintf(&b, "%s %s %s\r\nHost: %s\r\n", req.Method, req.URL.RequestURI(), req.Proto, req.Host)
	if err := req.Header.Write(&b); err != nil {
		t.Fatalf("encode headers: %v", err)
	}
	b.WriteString("\r\n")
	if _, err := io.WriteString(conn, b.String()); err != nil {
		t.Fatalf("write handshake: %v", err)
	}
	br := bufio.NewReader(conn)
	resp, err := http.ReadResponse(br, req)
	if err != nil {
		t.Fatalf("read handshake response: %v", err)
	}
	_ = conn.SetDeadline(time.Time{})
	return conn, br, resp
}

// dialRaw opens a WebSocket connection to u and checks the server's answer.
func dialRaw(t testing.TB, u string) *rawClient {
	t.Helper()
	req := handshakeRequest(t, u)
	conn, br, resp := sendHandshake(t, u, req)
	if resp.StatusCode != http.StatusSwitchingProtocols {
		t.Fatalf("handshake to %s: status %s, want 101", u, resp.Status)
	}
	if got, want := resp.Header.Get("Sec-WebSocket-Accept"), acceptKey(req.Header.Get("Sec-WebSocket-Key")); got != want {
		t.Fatalf("Sec-WebSocket-Accept = %q, want %q", got, want)
	}
	return &rawClient{t: t, conn: conn, br: br}
}

func acceptKey(key string) string {
	h := sha1.Sum([]byte(key + "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"))
	return base64.StdEncoding.EncodeToString(h[:])
}

// write sends f, masked unless f.unmasked.
func (c *rawClient) write(f frame) {
	c.t.Helper()
	b0 := f.op | f.rsv<<4
	if f.fin {
		b0 |= 0x80
	}
	var maskBit byte = 0x80
	if f.unmasked {
		maskBit = 0
	}
	buf := []byte{b0}
	n := uint64(len(f.payload))
	if f.declaredLen64 != 0 {
		n = f.declaredLen64
	}
	switch {
	case f.declaredLen64 == 0 && n <= 125:
		buf = append(buf, maskBit|byte(n))
	case f.declaredLen64 == 0 && n <= 0xFFFF:
		buf = append(buf, maskBit|126)
		buf = binary.BigEndian.AppendUint16(buf, uint16(n))
	default:
		buf = append(buf, maskBit|127)
		buf = binary.BigEndian.AppendUint64(buf, n)
	}
	payload := append([]byte(nil), f.payload...)
	if !f.unmasked {
		var key [4]byte
		_, _ = rand.Read(key[:])
		buf = append(buf, key[:]...)
		for i := range payload {
			payload[i] ^= key[i%4]
		}
	}
	c.writeBytes(append(buf, payload...))
}

func (c *rawClient) writeBytes(b []byte) {
	c.t.Helper()
	_ = c.conn.SetWriteDeadline(time.Now().Add(ioTimeout))
	if _, err := c.conn.Write(b); err != nil {
		c.t.Fatalf("write: %v", err)
	}
}

// send writes a whole unfragmented message or control frame.
func (c *rawClient) send(op byte, payload []byte) {
	c.t.Helper()
	c.write(frame{fin: true, op: op, payload: payload})
}

// readFrame reads one frame from the server.
func (c *rawClient) readFrame() (frame, error) {
	_ = c.conn.SetReadDeadline(time.Now().Add(ioTimeout))
	var h [2]byte
	if _, err := io.ReadFull(c.br, h[:]); err != nil {
		return frame{}, err
	}
	f := frame{fin: h[0]&0x80 != 0, rsv: h[0] >> 4 & 7, op: h[0] & 0x0f}
	if h[1]&0x80 != 0 {
		return frame{}, errors.New("server sent a masked frame")
	}
	n := uint64(h[1] & 0x7f)
	switch n {
	case 126:
		var ext [2]byte
		if _, err := io.ReadFull(c.br, ext[:]); err != nil {
			return frame{}, err
		}
		n = uint64(binary.BigEndian.Uint16(ext[:]))
	case 127:
		var ext [8]byte
		if _, err := io.ReadFull(c.br, ext[:]); err != nil {
			return frame{}, err
		}
		n = binary.BigEndian.Uint64(ext[:])
	}
	if n > 64<<20 {
		return frame{}, fmt.Errorf("server declared a %d-byte frame", n)
	}
	f.payload = make([]byte, n)
	if _, err := io.ReadFull(c.br, f.payload); err != nil {
		return frame{}, err
	}
	return f, nil
}

// message is a reassembled data message, or a control frame.
type message struct {
	op      byte
	payload []byte
}

// readMessage reads the next message, reassembling fragments; control
// frames are returned as they come.
func (c *rawClient) readMessage() (message, error) {
	var m message
	for {
		f, err := c.readFrame()
		if err != nil {
			return message{}, err
		}
		if f.op >= opClose {
			return message{op: f.op, payload: f.payload}, nil
		}
		if f.op != opContinuation {
			m.op = f.op
		}
		m.payload = append(m.payload, f.payload...)
		if f.fin {
			return m, nil
		}
	}
}

// expectMessage reads the next message and checks it.
func (c *rawClient) expectMessage(op byte, payload []byte) {
	c.t.Helper()
	m, err := c.readMessage()
	if err != nil {
		c.t.Fatalf("read message: %v", err)
	}
	if m.op != op || string(m.payload) != string(payload) {
		c.t.Fatalf("got opcode %d with %d bytes %.40q, want opcode %d with %d bytes %.40q",
			m.op, len(m.payload), m.payload, op, len(payload), payload)
	}
}

// outcome is how a server reacted to what a test sent: the Close frame it
// sent, or "echo", or a TCP close without a Close frame.
type outcome struct {
	closeCode int // -1: no Close frame; 0: Close without a code
	reason    string
	echoed    bool
	err       error // how the connection ended when there was no Close frame
}

func (o outcome) String() string {
	switch {
	case o.echoed:
		return "echoed"
	case o.closeCode >= 0:
		return fmt.Sprintf("close %d %q", o.closeCode, o.reason)
	default:
		return fmt.Sprintf("no close frame (%v)", o.err)
	}
}

// observe reads until the server sends a Close frame or data, or the
// connection ends, skipping pongs.
func (c *rawClient) observe() outcome {
	for {
		m, err := c.readMessage()
		switch {
		case err != nil:
			return outcome{closeCode: -1, err: err}
		case m.op == opPong:
			continue
		case m.op == opClose:
			o := outcome{}
			if len(m.payload) >= 2 {
				o.closeCode = int(binary.BigEndian.Uint16(m.payload))
				o.reason = string(m.payload[2:])
			}
			return o
		default:
			return outcome{closeCode: -1, echoed: true}
		}
	}
}

// expectClose reads until a Close frame and checks its code is one of codes.
func (c *rawClient) expectClose(codes ...int) outcome {
	c.t.Helper()
	o := c.observe()
	for _, code := range codes {
		if o.closeCode == code {
			return o
		}
	}
	c.t.Fatalf("server reaction: %v, want close %v", o, codes)
	return o
}

// expectServerCloses checks that the server closes TCP: the next read ends
// with EOF (or a reset), not with a timeout or more data.
func (c *rawClient) expectServerCloses() {
	c.t.Helper()
	_ = c.conn.SetReadDeadline(time.Now().Add(ioTimeout))
	n, err := c.br.Read(make([]byte, 1))
	var ne net.Error
	switch {
	case n > 0:
		c.t.Fatalf("server sent more bytes after its Close frame")
	case errors.As(err, &ne) && ne.Timeout():
		c.t.Fatalf("server did not close TCP within %v", ioTimeout)
	case err == nil:
		c.t.Fatalf("read returned no bytes and no error")
	}
}

func closePayload(code int, reason string) []byte {
	return append(binary.BigEndian.AppendUint16(nil, uint16(code)), reason...)
}
