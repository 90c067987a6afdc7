package targets_test

// A minimal HTTP/2 client for the h2 target tests, until wire speaks
// ws+h2:// (then these tests use wire.Dial and this file goes).

import (
	"bytes"
	"crypto/tls"
	"fmt"
	"io"
	"net"
	"net/url"
	"strings"
	"testing"
	"time"

	"golang.org/x/net/http2"
	"golang.org/x/net/http2/hpack"

	"github.com/wsharness/wsharness/wire"
)

type h2Client struct {
	t         testing.TB
	conn      net.Conn
	fr        *http2.Framer
	enc       *hpack.Encoder
	encBuf    bytes.Buffer
	host      string
	scheme    string
	settings  map[http2.SettingID]uint32
	next      uint32
	streams   map[uint32]*h2ClientStream
	alpn      string
	pingAcked bool
}

type h2ClientStream struct {
	headers   map[string][]string
	data      bytes.Buffer
	endStream bool
	rst       *http2.ErrCode
	dec       *wire.Decoder
}

func dialH2(t testing.TB, rawURL string, cfg *tls.Config) *h2Client {
	t.Helper()
	u, err := url.Parse(rawURL)
	if err != nil {
		t.Fatal(err)
	}
	c := &h2Client{t: t, host: u.Host, scheme: "http", next: 1, streams: map[uint32]*h2ClientStream{}}
	nc, err := net.DialTimeout("tcp", u.Host, ioTimeout)
	if err != nil {
		t.Fatal(err)
	}
	if u.Scheme == "wss+h2" {
		cfg = cfg.Clone()
		cfg.NextProtos = []string{"h2"}
		cfg.ServerName = u.Hostname()
		tc := tls.Client(nc, cfg)
		_ = tc.SetDeadline(time.Now().Add(ioTimeout))
		if err := tc.Handshake(); err != nil {
			t.Fatal(err)
		}
		c.alpn = tc.ConnectionState().NegotiatedProtocol
		nc, c.scheme = tc, "https"
	}
	t.Cleanup(func() { nc.Close() })
	c.conn = nc
	_ = nc.SetDeadline(time.Now().Add(ioTimeout))
	if _, err := io.WriteString(nc, http2.ClientPreface); err != nil {
		t.Fatal(err)
	}
	c.fr = http2.NewFramer(nc, nc)
	c.fr.ReadMetaHeaders = hpack.NewDecoder(4096, nil)
	c.enc = hpack.NewEncoder(&c.encBuf)
	if err := c.fr.WriteSettings(); err != nil {
		t.Fatal(err)
	}
	// Plenty of connection window, so that only stream windows matter.
	if err := c.fr.WriteWindowUpdate(0, 1<<30); err != nil {
		t.Fatal(err)
	}
	for c.settings == nil {
		c.step()
	}
	return c
}

// step reads and handles one frame.
func (c *h2Client) step() {
	c.t.Helper()
	_ = c.conn.SetDeadline(time.Now().Add(ioTimeout))
	f, err := c.fr.ReadFrame()
	if err != nil {
		c.t.Fatalf("read HTTP/2 frame: %v", err)
	}
	switch f := f.(type) {
	case *http2.SettingsFrame:
		if f.IsAck() {
			return
		}
		if c.settings == nil {
			c.settings = map[http2.SettingID]uint32{}
		}
		_ = f.ForeachSetting(func(s http2.Setting) error { c.settings[s.ID] = s.Val; return nil })
		_ = c.fr.WriteSettingsAck()
	case *http2.PingFrame:
		if !f.IsAck() {
			_ = c.fr.WritePing(true, f.Data)
		} else {
			c.pingAcked = true
		}
	case *http2.MetaHeadersFrame:
		s := c.stream(f.StreamID)
		s.headers = map[string][]string{}
		for _, hf := range f.Fields {
			s.headers[hf.Name] = append(s.headers[hf.Name], hf.Value)
		}
		s.endStream = s.endStream || f.StreamEnded()
	case *http2.DataFrame:
		s := c.stream(f.StreamID)
		s.data.Write(f.Data())
		if n := len(f.Data()); n > 0 {
			_ = c.fr.WriteWindowUpdate(f.StreamID, uint32(n))
		}
		s.endStream = s.endStream || f.StreamEnded()
	case *http2.RSTStreamFrame:
		code := f.ErrCode
		c.stream(f.StreamID).rst = &code
	case *http2.GoAwayFrame:
		c.t.Logf("GOAWAY %v", f.ErrCode)
	}
}

func (c *h2Client) stream(id uint32) *h2ClientStream {
	s := c.streams[id]
	if s == nil {
		s = &h2ClientStream{}
		s.dec = wire.NewDecoder(&s.data, 0)
		c.streams[id] = s
	}
	return s
}

// request opens a stream with the given pseudo-headers and headers, in
// order, and returns its ID.
func (c *h2Client) request(fields ...string) uint32 {
	c.t.Helper()
	c.encBuf.Reset()
	for i := 0; i+1 < len(fields); i += 2 {
		_ = c.enc.WriteField(hpack.HeaderField{Name: fields[i], Value: fields[i+1]})
	}
	id := c.next
	c.next += 2
	if err := c.fr.WriteHeaders(http2.HeadersFrameParam{StreamID: id, BlockFragment: c.encBuf.Bytes(), EndHeaders: true}); err != nil {
		c.t.Fatal(err)
	}
	c.stream(id)
	return id
}

// connect sends a WebSocket extended CONNECT for path, plus extra headers
// (name, value, ...), and returns the stream ID.
func (c *h2Client) connect(path string, extra ...string) uint32 {
	fields := []string{":method", "CONNECT", ":protocol", "websocket", ":scheme", c.scheme, ":path", path, ":authority", c.host}
	if len(extra) == 0 {
		extra = []string{"sec-websocket-version", "13"}
	}
	return c.request(append(fields, extra...)...)
}

// response waits for the response headers of stream id.
func (c *h2Client) response(id uint32) map[string][]string {
	c.t.Helper()
	s := c.stream(id)
	for s.headers == nil {
		if s.rst != nil {
			c.t.Fatalf("stream %d reset (%v) before its response", id, *s.rst)
		}
		c.step()
	}
	return s.headers
}

// send writes WebSocket frames (masked, as a client) in one DATA frame.
func (c *h2Client) send(id uint32, end bool, frames ...wire.Frame) {
	c.t.Helper()
	var b []byte
	for _, f := range frames {
		b = append(b, f.Encode(wire.Client, nil)...)
	}
	if err := c.fr.WriteData(id, end, b); err != nil {
		c.t.Fatal(err)
	}
}

// read returns the next WebSocket frame on stream id.
func (c *h2Client) read(id uint32) wire.Received {
	c.t.Helper()
	s := c.stream(id)
	for {
		if s.data.Len() >= 2 {
			b := s.data.Bytes()
			if n := wire.HeaderSize(b[1]); len(b) >= n {
				if h, err := wire.ParseHeader(b[:n]); err == nil && uint64(len(b)-n) >= h.Length {
					r, err := s.dec.Next()
					if err != nil {
						c.t.Fatal(err)
					}
					return r
				}
			}
		}
		if s.endStream || s.rst != nil {
			c.t.Fatalf("stream %d ended (END_STREAM %v, RST %v) with %d bytes unread", id, s.endStream, s.rst, s.data.Len())
		}
		c.step()
	}
}

// ended waits for stream id to end and says how.
func (c *h2Client) ended(id uint32) string {
	c.t.Helper()
	s := c.stream(id)
	for !s.endStream && s.rst == nil {
		c.step()
	}
	// A PING's answer comes after any RST_STREAM the server sent with
	// the stream's end.
	c.pingAcked = false
	if err := c.fr.WritePing(false, [8]byte{'s', 'y', 'n', 'c'}); err != nil {
		c.t.Fatal(err)
	}
	for !c.pingAcked {
		c.step()
	}
	var how []string
	if s.endStream {
		how = append(how, "END_STREAM")
	}
	if s.rst != nil {
		how = append(how, fmt.Sprintf("RST_STREAM %v", *s.rst))
	}
	return strings.Join(how, "+")
}
