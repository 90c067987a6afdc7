package wire

import (
	"cmp"
	"context"
	"fmt"
	"net"
	"time"

	"github.com/wsharness/wsharness/wire/handshake"
)

// AcceptOptions tune Accept and ReadRequest.
type AcceptOptions struct {
	// Timeout bounds reading the request and writing the response;
	// 0 = DefaultIOTimeout.
	Timeout time.Duration
	// Respond edits Accept's answer before it is sent: a valid 101 for
	// the request's key, selecting nothing, unless Respond changes it. The
	// request is nil when it did not parse.
	Respond func(req *handshake.ClientRequest, resp *handshake.ResponseHead)
	// Split says how Accept sends the response and Trailing: one write, or
	// chopped into writes the client reads one by one.
	Split Split
	// Trailing bytes (frames) go out right after Accept's response, in the
	// same write unless Split cuts it.
	Trailing []byte
	// MaxPayload bounds received frames; 0 = DefaultMaxPayload.
	MaxPayload uint64
	// Log receives the wire log; nil = a new one.
	Log *Log
	// Keys gives the masking key of a frame masked on purpose without a
	// Key of its own; nil = a fresh random stream.
	Keys *KeyStream
	// Pacing keeps the chunks of Separate splits apart.
	Pacing Pacing
}

// ServerHandshake is what the server's end received and sent.
type ServerHandshake struct {
	// RawRequest is what was read, even when it did not parse.
	RawRequest []byte
	// Request is the parsed request; nil when it did not parse.
	Request *handshake.ClientRequest
	// Problems lists what in the request breaks RFC 6455 (CheckRequest).
	Problems []string
	// Response is what was sent; nil until Respond.
	Response []byte
}

// Key returns the request's Sec-WebSocket-Key; "" when it did not parse.
func (hs *ServerHandshake) Key() string {
	if hs.Request == nil {
		return ""
	}
	return hs.Request.Header.Get("Sec-WebSocket-Key")
}

// Incoming is the server's end of a connection whose opening handshake
// request has been read and not yet answered: a server that tests clients
// picks its answer from the request (its path names the case).
type Incoming struct {
	conn    *Conn
	timeout time.Duration
	// Handshake holds the request, and the response once sent.
	Handshake *ServerHandshake
}

// ReadRequest reads and checks a client's opening handshake request on a
// connection a listener accepted. An error means no request head arrived
// within the timeout (or it was too large); the caller then closes nc.
func ReadRequest(nc net.Conn, o AcceptOptions) (*Incoming, error) {
	timeout := cmp.Or(o.Timeout, DefaultIOTimeout)
	log := cmp.Or(o.Log, NewLog())
	log.Note("TCP connection accepted from %s", nc.RemoteAddr())
	sent := &countingConn{Conn: nc}
	in := &Incoming{conn: newConn(Server, sent, sent, log, o.Keys, o.MaxPayload, o.Pacing), timeout: timeout, Handshake: &ServerHandshake{}}
	hs := in.Handshake
	_ = nc.SetReadDeadline(time.Now().Add(timeout))
	raw, err := handshake.ReadHead(in.conn.br)
	hs.RawRequest = raw
	if err != nil {
		return in, fmt.Errorf("read handshake request: %w", describeIOError(err))
	}
	_ = nc.SetReadDeadline(time.Time{})
	hs.Request, err = handshake.ParseRequest(raw)
	if err != nil {
		hs.Problems = []string{err.Error()}
		log.Octets(Inbound, "opening handshake request that does not parse (%d octets): %v", len(raw), err)
		return in, nil
	}
	hs.Problems = handshake.CheckRequest(hs.Request)
	log.Octets(Inbound, "opening handshake request: %s %s (%d octets)", hs.Request.Method, hs.Request.Target, len(raw))
	return in, nil
}

// Respond sends resp, then trailing (frames), as split says, and returns
// the server's end of the connection. On an error the connection is
// closed.
func (in *Incoming) Respond(ctx context.Context, resp *handshake.ResponseHead, trailing []byte, split Split) (*Conn, error) {
	in.Handshake.Response = resp.Bytes()
	out := append(append([]byte(nil), in.Handshake.Response...), trailing...)
	in.conn.log.Octets(Outbound, "opening handshake response: %d (%d octets, %d more octets after it)", resp.Status, len(in.Handshake.Response), len(trailing))
	ctx, cancel := context.WithTimeout(ctx, in.timeout)
	defer cancel()
	if err := in.conn.write(ctx, out, split); err != nil {
		in.conn.Close()
		return nil, fmt.Errorf("send handshake response: %w", err)
	}
	return in.conn, nil
}

// Close drops a connection that will not be answered.
func (in *Incoming) Close() error { return in.conn.Close() }

// Accept plays the server's side of the opening handshake on a connection
// a listener accepted: it reads the client's request, checks it, and sends
// the (possibly edited) response. It returns the server's end even when
// the request broke the RFC, so a case can go on with the client it
// judged; an error means no request arrived or the response could not be
// written, and nc is then closed.
func Accept(ctx context.Context, nc net.Conn, o AcceptOptions) (*Conn, *ServerHandshake, error) {
	in, err := ReadRequest(nc, o)
	if err != nil {
		in.Close()
		return nil, in.Handshake, err
	}
	resp := handshake.UpgradeResponse(in.Handshake.Key())
	if o.Respond != nil {
		o.Respond(in.Handshake.Request, resp)
	}
	c, err := in.Respond(ctx, resp, o.Trailing, o.Split)
	return c, in.Handshake, err
}
