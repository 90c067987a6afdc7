package wire

import (
	"bufio"
	"cmp"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"net/url"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/wsharness/wsharness/wire/deflate"
	"github.com/wsharness/wsharness/wire/h2"
	"github.com/wsharness/wsharness/wire/handshake"
)

// DefaultIOTimeout bounds every write and the opening handshake, so a server
// that never reads or never answers cannot hang a case.
const DefaultIOTimeout = 10 * time.Second

// Conn is a raw connection at either end: Open and Dial make the client
// end.
type Conn struct {
	role Role
	nc   net.Conn
	br   *bufio.Reader
	dec  *Decoder
	log  *Log
	keys *KeyStream
	wmu  sync.Mutex
	// werr is the first write error. It sticks: after a failed or timed-out
	// write the stream may end mid-frame, and a peer that stopped reading
	// costs one write timeout, not one per write.
	werr error
	// pace keeps the chunks of Separate splits apart.
	pace *pacer
}

// Options tune Open and Dial.
type Options struct {
	// Timeout bounds the TCP connect and the handshake; 0 = DefaultIOTimeout.
	Timeout time.Duration
	// Edit changes the upgrade request before it is sent.
	Edit func(*handshake.Request)
	// Trailing bytes go out in the same TCP write as the request.
	Trailing []byte
	// MaxPayload bounds received frames; 0 = DefaultMaxPayload.
	MaxPayload uint64
	// Log receives the wire log; nil = a new one.
	Log *Log
	// TLS configures the client side of a wss:// connection: nil verifies
	// the server's certificate against the system roots. ServerName
	// defaults to the URL's host.
	TLS *tls.Config
	// Keys gives the Sec-WebSocket-Key and the masking key of every frame
	// without a Key of its own; nil = a fresh random stream.
	Keys *KeyStream
	// Pacing keeps the chunks of Separate splits apart; zero fields take
	// DefaultPacing's.
	Pacing Pacing
	// H2 tunes a ws+h2:// or wss+h2:// connection.
	H2 H2Options
}

func (o Options) timeout() time.Duration { return cmp.Or(o.Timeout, DefaultIOTimeout) }

// Handshake is what Open sent and received.
type Handshake struct {
	Key      string
	Request  []byte
	Response *handshake.Response
	// RawResponse is what was read, even when it did not parse.
	RawResponse []byte
	// Deflate is the permessage-deflate configuration Dial found the
	// server to accept; nil when none was offered or the server declined.
	Deflate *deflate.Params
	// Stream is the HTTP/2 stream of a ws+h2:// or wss+h2:// connection,
	// nil over HTTP/1.1. Request and RawResponse then hold its header
	// fields, one "name: value" per line.
	Stream *h2.Stream
}

// HandshakeError is an opening handshake the server got wrong.
type HandshakeError struct{ Problems []string }

func (e *HandshakeError) Error() string {
	return "opening handshake failed: " + strings.Join(e.Problems, "; ")
}

// Open connects, sends the (possibly edited) upgrade request and reads the
// response head, whatever its status. It returns the connection whenever
// the TCP connection (and for wss://, the TLS session) was made, so
// callers can inspect and close it. A wss:// URL runs the TLS handshake
// within the same timeout as the TCP connect; a certificate the client
// refuses is an error saying how to trust it.
func Open(ctx context.Context, rawURL string, o Options) (*Conn, *Handshake, error) {
	u, host, err := parseURL(rawURL)
	if err != nil {
		return nil, nil, err
	}
	timeout := o.timeout()
	log := cmp.Or(o.Log, NewLog())
	if TransportOf(u.Scheme) == HTTP2 {
		var nc net.Conn
		var sent *countingConn
		if o.H2.Conn == nil {
			if nc, sent, err = connect(ctx, u, host, timeout, o.TLS, log); err != nil {
				return nil, nil, err
			}
		}
		return openH2(ctx, u, nc, sent, log, o)
	}
	nc, sent, err := connect(ctx, u, host, timeout, o.TLS, log)
	if err != nil {
		return nil, nil, err
	}
	c := newConn(Client, nc, sent, log, o.Keys, o.MaxPayload, o.Pacing)
	hs := &Handshake{Key: c.keys.HandshakeKey()}
	req := handshake.UpgradeRequest(u, hs.Key)
	if o.Edit != nil {
		o.Edit(req)
	}
	hs.Request = req.Bytes()
	deadline := time.Now().Add(timeout)
	_ = nc.SetDeadline(deadline)
	if _, err := nc.Write(append(append([]byte(nil), hs.Request...), o.Trailing...)); err != nil {
		return c, hs, fmt.Errorf("send handshake: %w", err)
	}
	log.Octets(Outbound, "opening handshake request (%d octets, %d more octets in the same write)", len(hs.Request), len(o.Trailing))
	raw, err := handshake.ReadHead(c.br)
	hs.RawResponse = raw
	if err != nil {
		return c, hs, fmt.Errorf("read handshake response: %w", describeIOError(err))
	}
	resp, err := handshake.ParseResponse(raw)
	if err != nil {
		return c, hs, err
	}
	hs.Response = resp
	log.Octets(Inbound, "opening handshake response: %d (%d octets)", resp.Status, len(raw))
	_ = nc.SetDeadline(time.Time{})
	return c, hs, nil
}

// newConn makes role's end of a connection; sent is the TCP connection
// under nc (the same one without TLS), which counts the bytes written for
// the pacer. nil keys = a fresh random stream.
func newConn(role Role, nc net.Conn, sent *countingConn, log *Log, keys *KeyStream, maxPayload uint64, pacing Pacing) *Conn {
	if keys == nil {
		keys = RandomKeyStream()
	}
	c := &Conn{role: role, nc: nc, br: bufio.NewReaderSize(nc, 64<<10), log: log, keys: keys, pace: newPacer(sent, pacing, log, role.Peer())}
	c.dec = NewDecoder(c.br, maxPayload)
	return c
}

// Reach connects to the URL's host and, for wss://, completes the TLS
// handshake (and for an HTTP/2 URL, the exchange of prefaces), then hangs
// up. It tells a server that cannot be tested at all
// (nothing listening, a name that does not resolve, a certificate the
// client does not trust) from one that answers and gets the protocol wrong.
func Reach(ctx context.Context, rawURL string, cfg *tls.Config, timeout time.Duration) error {
	u, host, err := parseURL(rawURL)
	if err != nil {
		return err
	}
	log := NewLog()
	nc, _, err := connect(ctx, u, host, timeout, cfg, log)
	if err != nil {
		return err
	}
	if TransportOf(u.Scheme) == HTTP2 {
		// A server that does not speak HTTP/2 cannot be tested over it.
		hc, err := dialH2(ctx, nc, log, Options{Timeout: timeout})
		if err != nil {
			return fmt.Errorf("%s: %w", host, err)
		}
		return hc.Close()
	}
	return nc.Close()
}

// parseURL parses a ws:// or wss:// URL and returns its host:port, with
// the scheme's default port when it names none.
func parseURL(rawURL string) (*url.URL, string, error) {
	u, err := url.Parse(rawURL)
	if err != nil {
		return nil, "", fmt.Errorf("parse URL %q: %w", rawURL, err)
	}
	if !KnownScheme(u.Scheme) {
		return nil, "", fmt.Errorf("URL %q: scheme %q not supported (use %s)", rawURL, u.Scheme, SchemesText)
	}
	return u, HostPort(u), nil
}

// HostPort is the host:port a ws:// or wss:// URL addresses: its port, or
// the scheme's default when it names none.
func HostPort(u *url.URL) string {
	if u.Port() == "" {
		return net.JoinHostPort(u.Hostname(), handshake.DefaultPort(u.Scheme))
	}
	return u.Host
}

// connect makes the TCP connection, and the TLS session for wss://, within
// timeout. It also returns the TCP connection itself, which counts the
// bytes written to it (TLS records included).
func connect(ctx context.Context, u *url.URL, host string, timeout time.Duration, cfg *tls.Config, log *Log) (net.Conn, *countingConn, error) {
	dctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	var d net.Dialer
	tcp, err := d.DialContext(dctx, "tcp", host)
	if err != nil {
		return nil, nil, fmt.Errorf("connect to %s: %w", host, err)
	}
	log.Note("TCP connected to %s", host)
	counted := &countingConn{Conn: tcp}
	if secure(u.Scheme) {
		nc, err := clientTLS(dctx, counted, u.Hostname(), host, cfg, TransportOf(u.Scheme), log)
		return nc, counted, err
	}
	return counted, counted, nil
}

// countingConn counts the bytes written to a TCP connection, so the pacer
// can tell when the server has received all of them.
type countingConn struct {
	net.Conn
	written atomic.Uint64
}

func (c *countingConn) Write(b []byte) (int, error) {
	n, err := c.Conn.Write(b)
	c.written.Add(uint64(n))
	return n, err
}

// CloseWrite half-closes the TCP connection.
func (c *countingConn) CloseWrite() error { return CloseWrite(c.Conn) }

// Dial opens a connection and requires a valid 101 response. When the
// request offers permessage-deflate, the answer must accept one offer the
// way RFC 7692 allows, or decline; Handshake.Deflate has the result.
func Dial(ctx context.Context, rawURL string, o Options) (*Conn, *Handshake, error) {
	var protocols, extensions, offerValues []string
	edit := o.Edit
	o.Edit = func(r *handshake.Request) {
		if edit != nil {
			edit(r)
		}
		for _, h := range r.Headers {
			switch {
			case strings.EqualFold(h.Name, "Sec-WebSocket-Protocol"):
				for _, t := range strings.Split(h.Value, ",") {
					protocols = append(protocols, strings.TrimSpace(t))
				}
			case strings.EqualFold(h.Name, "Sec-WebSocket-Extensions"):
				extensions = append(extensions, handshake.ExtensionNames(h.Value)...)
				offerValues = append(offerValues, h.Value)
			}
		}
	}
	c, hs, err := Open(ctx, rawURL, o)
	if err != nil {
		if c != nil {
			c.Close()
		}
		return nil, hs, err
	}
	var problems []string
	if hs.Stream != nil {
		problems = checkH2Answer(hs, protocols, extensions)
	} else {
		problems = handshake.CheckUpgrade(hs.Response, hs.Key, protocols, extensions)
	}
	if len(problems) == 0 && handshake.ContainsToken(extensions, deflate.ExtensionName) {
		hs.Deflate, problems = checkDeflate(offerValues, hs.Response)
	}
	if len(problems) > 0 {
		c.Close()
		return nil, hs, &HandshakeError{Problems: problems}
	}
	if hs.Deflate != nil {
		c.log.Note("negotiated %s", hs.Deflate)
	}
	return c, hs, nil
}

// checkDeflate negotiates permessage-deflate from the offers as sent and
// the response. An offer header that does not parse offers nothing valid,
// so any acceptance of it is reported.
func checkDeflate(offerValues []string, resp *handshake.Response) (*deflate.Params, []string) {
	offers, err := handshake.ParseExtensions(offerValues)
	if err != nil {
		offers = []handshake.Extension{{Name: deflate.ExtensionName, Params: []handshake.ExtParam{{Name: "unparsable-offer"}}}}
	}
	answer, err := handshake.ParseExtensions(resp.Header.Values("Sec-WebSocket-Extensions"))
	if err != nil {
		return nil, []string{fmt.Sprintf("the response's extension header does not parse (RFC 6455 §9.1): %v", err)}
	}
	return deflate.Negotiate(deflate.Elements(offers), answer)
}

// Role returns the end of the connection the harness plays.
func (c *Conn) Role() Role { return c.role }

// Log returns the connection's wire log.
func (c *Conn) Log() *Log { return c.log }

// Split says how frames are cut into TCP writes.
type Split struct {
	// PerFrame writes each frame separately; otherwise all frames go out
	// as one byte stream.
	PerFrame bool
	// Chop cuts each write into chunks of this many bytes (0 = no cut).
	Chop int
	// Separate makes each chunk reach the server as a read of its own: the
	// writer waits until the server has read a chunk before it writes the
	// next (see Pacing). Without it, chunks written back to back mostly
	// arrive together, and a parser meant to see one octet at a time sees
	// them all at once.
	Separate bool
}

// OneWrite sends everything in a single write.
var OneWrite = Split{}

// FrameWise sends one write per frame.
var FrameWise = Split{PerFrame: true}

// OctetWise sends one byte per write, each read by the server on its own.
var OctetWise = Split{Chop: 1, Separate: true}

// Chops sends n-byte writes, each read by the server on its own.
func Chops(n int) Split { return Split{Chop: n, Separate: true} }

// Keys returns the stream the connection draws its masking keys from.
func (c *Conn) Keys() *KeyStream { return c.keys }

// Encode encodes frames as one byte stream, masked as the connection's role
// requires unless a frame says otherwise, with the connection's next keys
// for those without a Key, and logs each as sent: for a case that
// writes the bytes in pieces of its own with WriteRaw.
func (c *Conn) Encode(frames []Frame) []byte {
	if len(frames) == 1 {
		return c.encode(frames[0]) // a 16 MiB frame is not copied twice
	}
	var stream []byte
	for _, f := range frames {
		stream = append(stream, c.encode(f)...)
	}
	return stream
}

// encode encodes one frame with the connection's role and keys and logs it
// as sent.
func (c *Conn) encode(f Frame) []byte {
	b := f.Encode(c.role, c.keys)
	h, _ := ParseHeader(b)
	c.log.Frame(Outbound, h, f.Payload, "")
	return b
}

// WriteFrames encodes and sends frames as split says, logging each frame.
// A masked frame without a Key gets the next key of the connection's
// stream.
func (c *Conn) WriteFrames(ctx context.Context, frames []Frame, split Split) error {
	if !split.PerFrame {
		return c.write(ctx, c.Encode(frames), split)
	}
	for _, f := range frames {
		if err := c.write(ctx, c.encode(f), split); err != nil {
			return err
		}
	}
	return nil
}

// WriteRaw sends bytes as they are: pieces of frames, or garbage.
func (c *Conn) WriteRaw(ctx context.Context, b []byte, split Split) error {
	prefix := b[:min(len(b), payloadPrefix)]
	c.log.Octets(Outbound, "%d raw octets: %x", len(b), prefix)
	return c.write(ctx, b, split)
}

func (c *Conn) write(ctx context.Context, b []byte, split Split) error {
	chop := split.Chop
	if chop <= 0 || chop > len(b) {
		chop = len(b)
	}
	writes := 0
	for off := 0; off < len(b) || (len(b) == 0 && writes == 0); off += chop {
		end := min(off+chop, len(b))
		if err := c.writeLocked(b[off:end]); err != nil {
			c.log.Octets(Outbound, "write failed after %d of %d octets: %v", off, len(b), err)
			return fmt.Errorf("write: %w", describeIOError(err))
		}
		writes++
		if split.Separate {
			if err := c.pace.awaitRead(ctx); err != nil {
				return err
			}
		}
		if len(b) == 0 {
			break
		}
	}
	if writes > 1 {
		how := ""
		if split.Separate {
			how = c.pace.describe()
		}
		c.log.Octets(Outbound, "%d octets in %d writes of up to %d%s", len(b), writes, chop, how)
	}
	return nil
}

func (c *Conn) writeLocked(b []byte) error {
	c.wmu.Lock()
	defer c.wmu.Unlock()
	if c.werr != nil {
		return fmt.Errorf("connection unusable after an earlier write failed: %w", c.werr)
	}
	_ = c.nc.SetWriteDeadline(time.Now().Add(DefaultIOTimeout))
	_, err := c.nc.Write(b)
	if err != nil {
		c.werr = err
	}
	return err
}

// ReadFrame reads one frame, waiting at most until deadline.
// Frames already buffered would otherwise be returned past the deadline,
// so a peer that keeps sending could hold a reader forever.
func (c *Conn) ReadFrame(deadline time.Time) (Received, error) {
	if !deadline.IsZero() && !time.Now().Before(deadline) {
		return Received{}, describeIOError(os.ErrDeadlineExceeded)
	}
	_ = c.nc.SetReadDeadline(deadline)
	f, err := c.dec.Next()
	if err != nil {
		return f, describeIOError(err)
	}
	c.log.Frame(Inbound, f.Header, f.Payload, "")
	return f, nil
}

// CloseWrite half-closes the connection: a TCP FIN, or over TLS a
// close_notify alert, which ends the server's reads the same way.
func (c *Conn) CloseWrite() error { return CloseWrite(c.nc) }

// CloseWrite half-closes nc when it can: a TCP FIN, or over TLS a
// close_notify alert; errors.ErrUnsupported when it cannot. A wrapper of a
// net.Conn forwards its own CloseWrite here, so that half-closing works
// through it.
func CloseWrite(nc net.Conn) error {
	if hc, ok := nc.(interface{ CloseWrite() error }); ok {
		return hc.CloseWrite()
	}
	return errors.ErrUnsupported
}

// Close drops the TCP connection.
func (c *Conn) Close() error {
	c.pace.stop()
	return c.nc.Close()
}

// ClosePolitely leaves the way a peer that has nothing more to say does:
// Close 1000, then frames read and dropped until the other end's Close, an
// error or wait, then the TCP connection dropped. A server that logs
// abrupt disconnects stays quiet.
func (c *Conn) ClosePolitely(ctx context.Context, wait time.Duration) error {
	if err := c.WriteFrames(ctx, []Frame{Close(1000, "")}, OneWrite); err == nil {
		deadline := time.Now().Add(wait)
		for {
			f, err := c.ReadFrame(deadline)
			if err != nil || f.Opcode == OpClose {
				break
			}
		}
	}
	return c.Close()
}

// describeIOError turns low-level errors into the words a report needs.
func describeIOError(err error) error {
	var ne net.Error
	switch {
	case err == nil:
		return nil
	case errors.As(err, &ne) && ne.Timeout():
		return fmt.Errorf("timed out: %w", err)
	}
	return err
}
