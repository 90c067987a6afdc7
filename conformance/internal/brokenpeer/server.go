// Package brokenpeer is a raw-TCP WebSocket echo peer built on the wire
// package, used to prove that the conformance cases catch what they
// target: a server (Start) or a client (Echo), sharing one frame loop.
// With the zero Defects it follows every MUST of RFC 6455 for its role;
// each Defects knob breaks exactly one rule.
package brokenpeer

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"net"
	"sync"
	"testing"
	"time"

	"github.com/wsharness/wsharness/wire"
)

// Defects lists the rule violations a peer commits. The zero value is a
// correct peer. The knobs of the frame loop apply to either role; the
// handshake knobs to the role they name; the permessage-deflate knobs to
// the server, unless ServerOnly and ClientOnly say otherwise.
type Defects struct {
	// AcceptWrongMask processes frames whose MASK bit is wrong for their
	// sender: unmasked client frames, or masked server frames.
	AcceptWrongMask bool
	// IgnoreRSV processes frames with nonzero RSV bits.
	IgnoreRSV bool
	// EchoInvalidUTF8 does no UTF-8 check at all: text messages and close
	// reasons are taken as they come.
	EchoInvalidUTF8 bool
	// NoFailFastUTF8 validates a text message only once it is complete.
	NoFailFastUTF8 bool
	// IgnoreReservedOpcodes skips frames with reserved opcodes silently.
	IgnoreReservedOpcodes bool
	// WrongPongPayload answers every Ping with an empty Pong.
	WrongPongPayload bool
	// NoPong never answers a Ping.
	NoPong bool
	// AcceptOrphanContinuation ignores continuation frames that have no
	// message to continue.
	AcceptOrphanContinuation bool
	// AcceptFragmentedControl reassembles control frames sent with FIN
	// clear and continuations, then handles them.
	AcceptFragmentedControl bool
	// AcceptLargeControl handles control frames over 125 bytes.
	AcceptLargeControl bool
	// AcceptInvalidCloseCodes answers any Close with the same code.
	AcceptInvalidCloseCodes bool
	// NoCloseReply drops TCP on a Close instead of answering it.
	NoCloseReply bool
	// SendWrongMask breaks §5.1 in every frame sent: a server masks them,
	// a client masks none.
	SendWrongMask bool
	// SelectUnofferedSubprotocol always answers Sec-WebSocket-Protocol: chat.
	SelectUnofferedSubprotocol bool
	// WrongAcceptKey sends a Sec-WebSocket-Accept computed from the wrong
	// input.
	WrongAcceptKey bool
	// UpgradeWithoutKey upgrades when Sec-WebSocket-Key is missing, short
	// or not base64.
	UpgradeWithoutKey bool
	// UpgradeAnyVersion upgrades whatever Sec-WebSocket-Version says,
	// including none.
	UpgradeAnyVersion bool
	// RejectVersionWithoutHeader answers an unsupported version with 400
	// and no Sec-WebSocket-Version header.
	RejectVersionWithoutHeader bool
	// RequireExactConnectionUpgrade rejects any Connection value other
	// than the single token "Upgrade" (such as "keep-alive, Upgrade").
	RequireExactConnectionUpgrade bool
	// CaseSensitiveUpgrade compares the Upgrade and Connection tokens
	// case-sensitively ("websocket", "Upgrade").
	CaseSensitiveUpgrade bool
	// EchoFragmentsSeparately echoes each data frame as a message of its
	// own instead of reassembling.
	EchoFragmentsSeparately bool
	// DropInterleavedControl ignores control frames that arrive inside a
	// fragmented message.
	DropInterleavedControl bool
	// ServerClosesFirstOnEcho sends Close 1000 right after each echo.
	ServerClosesFirstOnEcho bool
	// NoTCPClose never closes TCP after the closing handshake; it waits
	// for the client to.
	NoTCPClose bool
	// SendsExtension answers every upgrade with
	// Sec-WebSocket-Extensions: permessage-deflate.
	SendsExtension bool
	// SixteenBitLengths writes every frame with a 16-bit length field,
	// truncating lengths of 65536 and more (the hand-written server that
	// never learnt the 64-bit form).
	SixteenBitLengths bool
	// CorruptLargeMessages flips one bit in the middle of every echoed
	// message of 64 KiB or more, keeping its type and length: what
	// Autobahn's length-only 9.x check cannot see.
	CorruptLargeMessages bool
	// SwallowLargeMessages reads messages over 128 KiB whole and never
	// echoes them.
	SwallowLargeMessages bool
	// RefuseLargeMessages is a limit, not a defect: messages over 256 KiB
	// are refused with Close 1009 (message too big), which RFC 6455
	// §7.4.1 allows.
	RefuseLargeMessages bool

	// The correct server negotiates permessage-deflate (deflate.go); these
	// knobs break it.

	// NoDeflate is a limit, not a defect: every permessage-deflate offer
	// is declined, as by a server without compression.
	NoDeflate bool
	// DeflateAcceptInvalidOffers accepts a permessage-deflate offer with
	// unknown, duplicate or invalid parameters, as if it had none.
	DeflateAcceptInvalidOffers bool
	// DeflateUnofferedClientWindowBits answers client_max_window_bits=15
	// to offers without client_max_window_bits.
	DeflateUnofferedClientWindowBits bool
	// DeflateAcceptRSV1Control ignores RSV1 on control frames (either
	// role, once deflate is in use).
	DeflateAcceptRSV1Control bool
	// DeflateAcceptRSV1Continuation ignores RSV1 on continuation frames
	// (either role).
	DeflateAcceptRSV1Continuation bool
	// DeflateRSV1OnContinuation sends each compressed echo in two frames,
	// both with RSV1 (either role).
	DeflateRSV1OnContinuation bool
	// DeflateUncompressedFirstKeepsContext sends the first echo
	// uncompressed although its compressor took it in: under context
	// takeover, later echoes refer to bytes the peer never had (either
	// role).
	DeflateUncompressedFirstKeepsContext bool
	// DeflateKeepsContextAfterNoContext agrees to no context takeover for
	// what it sends (a server answering server_no_context_takeover, a
	// client taking client_no_context_takeover or offering it as a hint)
	// but keeps its compressor's window between messages.
	DeflateKeepsContextAfterNoContext bool
	// DeflateIgnoresServerWindow answers server_max_window_bits but
	// compresses with a 32 KiB window.
	DeflateIgnoresServerWindow bool
	// DeflateForgetsClientContext decompresses every client message with
	// an empty window although its answer lacks client_no_context_takeover.
	DeflateForgetsClientContext bool

	// The correct client checks the server's answer to its opening
	// handshake (§4.1); these knobs break that check.

	// ClientAcceptsWrongAccept takes a wrong or missing
	// Sec-WebSocket-Accept.
	ClientAcceptsWrongAccept bool
	// ClientAcceptsNon101 takes any status for a WebSocket.
	ClientAcceptsNon101 bool
	// ClientAcceptsNoUpgrade takes an answer without the Upgrade and
	// Connection tokens.
	ClientAcceptsNoUpgrade bool
	// ClientAcceptsUnoffered takes a subprotocol or an extension it did
	// not offer.
	ClientAcceptsUnoffered bool
	// ClientRequiresExactHeaders compares the Upgrade and Connection
	// values case-sensitively, as single tokens ("websocket", "Upgrade").
	ClientRequiresExactHeaders bool

	// The correct client picks a random masking key for every frame and
	// waits for the server to close TCP after the closing handshake
	// (clientclose.go); these knobs break that (cases 100.12 and 111.x).

	// ClientConstantMaskKey masks every frame with the same key.
	ClientConstantMaskKey bool
	// ClientZeroMaskKey masks every frame with 00 00 00 00.
	ClientZeroMaskKey bool
	// ClientCountingMaskKey masks frame n with the key n (big-endian).
	ClientCountingMaskKey bool
	// ClientMaskKeyFixedByte draws random keys whose first byte is always
	// zero: 24 bits of entropy, not 32.
	ClientMaskKeyFixedByte bool
	// ClientClosesTCPFirst closes TCP as soon as it has answered the
	// server's Close, instead of waiting for the server to.
	ClientClosesTCPFirst bool
	// ClientEchoesAfterClose keeps echoing messages after it has answered
	// the server's Close.
	ClientEchoesAfterClose bool
	// ClientSendsClose1006 answers a server that closed TCP without a
	// Close with Close 1006, a code no endpoint may send.
	ClientSendsClose1006 bool
	// ClientKeepsTCPOpen keeps TCP open for a while after the server
	// closed its side without a Close.
	ClientKeepsTCPOpen bool
	// ClientAcceptsOneByteClose answers a Close with a 1-byte body with an
	// empty Close, as if it were valid.
	ClientAcceptsOneByteClose bool
	// IgnoreClose (either role) neither answers a Close nor closes TCP:
	// the Close is dropped like an unknown frame.
	IgnoreClose bool

	// The correct client offers permessage-deflate twice (clientOffer) and
	// takes only an answer RFC 7692 §7 allows; these knobs break it
	// (client_deflate.go). DeflateAcceptRSV1Control,
	// DeflateAcceptRSV1Continuation, DeflateRSV1OnContinuation,
	// DeflateUncompressedFirstKeepsContext and
	// DeflateKeepsContextAfterNoContext break a client too.

	// ClientNoDeflate is a limit, not a defect: the client offers no
	// permessage-deflate.
	ClientNoDeflate bool
	// ClientPlainDeflateOffer is a limit, not a defect: the client offers
	// permessage-deflate without parameters.
	ClientPlainDeflateOffer bool
	// ClientDeflateAcceptsInvalidAnswer takes an answer with an unknown,
	// duplicate or invalid parameter, or two permessage-deflate elements,
	// as a plain permessage-deflate.
	ClientDeflateAcceptsInvalidAnswer bool
	// ClientDeflateAcceptsUnofferedWindow takes client_max_window_bits in
	// an answer to offers without it, as a plain permessage-deflate.
	ClientDeflateAcceptsUnofferedWindow bool
	// ClientDeflateIgnoresWindow compresses with a 32 KiB window whatever
	// client_max_window_bits the answer set.
	ClientDeflateIgnoresWindow bool
	// ClientDeflateForgetsServerContext decompresses every server message
	// with an empty window although the answer lacks
	// server_no_context_takeover.
	ClientDeflateForgetsServerContext bool
}

// ServerOnly reports whether d breaks a rule that only a server has: how
// it answers the opening handshake, permessage-deflate (negotiated by the
// server here), or closing TCP first. Echo plays none of them.
func (d Defects) ServerOnly() bool {
	handshake := d.SelectUnofferedSubprotocol || d.WrongAcceptKey || d.UpgradeWithoutKey || d.UpgradeAnyVersion ||
		d.RejectVersionWithoutHeader || d.RequireExactConnectionUpgrade || d.CaseSensitiveUpgrade || d.SendsExtension
	deflate := d.NoDeflate || d.DeflateAcceptInvalidOffers || d.DeflateUnofferedClientWindowBits ||
		d.DeflateIgnoresServerWindow || d.DeflateForgetsClientContext
	return handshake || deflate || d.NoTCPClose
}

// ClientOnly reports whether d breaks a rule that only a client has: how it
// checks the server's answer, and what it offers and takes of
// permessage-deflate. Start plays none of them.
func (d Defects) ClientOnly() bool {
	deflate := d.ClientNoDeflate || d.ClientPlainDeflateOffer || d.ClientDeflateAcceptsInvalidAnswer ||
		d.ClientDeflateAcceptsUnofferedWindow || d.ClientDeflateIgnoresWindow || d.ClientDeflateForgetsServerContext
	return d.ClientAcceptsWrongAccept || d.ClientAcceptsNon101 || d.ClientAcceptsNoUpgrade ||
		d.ClientAcceptsUnoffered || d.ClientRequiresExactHeaders || d.clientCloseOrKeyDefect() || deflate
}

// Sizes of the large-message knobs.
const (
	corruptFrom = 64 << 10
	swallowOver = 128 << 10
	refuseOver  = 256 << 10
)

// Timers of a connection.
const (
	// handshakeTimeout bounds reading the opening handshake request.
	handshakeTimeout = 10 * time.Second
	// idleTimeout bounds the wait for the next client bytes.
	idleTimeout = 30 * time.Second
	// writeTimeout bounds each write.
	writeTimeout = 10 * time.Second
	// lingerTimeout bounds the drain after the server sent its Close and
	// half-closed TCP.
	lingerTimeout = 5 * time.Second
	// noTCPCloseTimeout is how long a NoTCPClose server keeps a closed
	// WebSocket's TCP connection open waiting for the client to drop it.
	noTCPCloseTimeout = 30 * time.Second
)

// maxMessage bounds a reassembled message; larger ones fail with 1009.
const maxMessage = 64 << 20

// Server is a running echo server.
type Server struct {
	d  Defects
	ln net.Listener

	mu     sync.Mutex
	conns  map[net.Conn]struct{}
	closed bool

	closeOnce sync.Once
	wg        sync.WaitGroup
}

// Start listens on a free loopback port and serves until Close.
func Start(d Defects) (*Server, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, fmt.Errorf("brokenpeer: listen: %w", err)
	}
	s := &Server{d: d, ln: ln, conns: map[net.Conn]struct{}{}}
	s.wg.Add(1)
	go s.acceptLoop()
	return s, nil
}

// StartForTest starts a server for the test t, which fails at once if it
// cannot listen, and closes it when t ends.
func StartForTest(t testing.TB, d Defects) *Server {
	t.Helper()
	s, err := Start(d)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(s.Close)
	return s
}

// URL returns the echo endpoint, ws://127.0.0.1:port/echo.
func (s *Server) URL() string { return "ws://" + s.ln.Addr().String() + "/echo" }

// Close stops listening, drops every connection and waits for their
// goroutines to end.
func (s *Server) Close() {
	s.closeOnce.Do(func() {
		s.mu.Lock()
		s.closed = true
		_ = s.ln.Close()
		for c := range s.conns {
			_ = c.Close()
		}
		s.mu.Unlock()
	})
	s.wg.Wait()
}

func (s *Server) acceptLoop() {
	defer s.wg.Done()
	acceptEach(s.ln, func(nc net.Conn) func() {
		s.mu.Lock()
		defer s.mu.Unlock()
		if s.closed {
			return nil
		}
		s.conns[nc] = struct{}{}
		s.wg.Add(1)
		return func() { s.serve(nc) }
	})
}

// acceptEach accepts connections on ln until it is closed, and serves each
// in a goroutine with what admit returns; admit returns nil once the
// server is closing, which drops the connection and ends the loop.
func acceptEach(ln net.Listener, admit func(net.Conn) func()) {
	for {
		nc, err := ln.Accept()
		if err != nil {
			if errors.Is(err, net.ErrClosed) {
				return
			}
			time.Sleep(5 * time.Millisecond) // e.g. out of file descriptors: retry
			continue
		}
		serve := admit(nc)
		if serve == nil {
			_ = nc.Close()
			return
		}
		go serve()
	}
}

func (s *Server) forget(nc net.Conn) {
	s.mu.Lock()
	delete(s.conns, nc)
	s.mu.Unlock()
}

// serve runs one connection: the opening handshake, then the frame loop,
// then the end of the connection the loop chose.
func (s *Server) serve(nc net.Conn) {
	defer s.wg.Done()
	defer s.forget(nc)
	defer nc.Close()
	br := bufio.NewReaderSize(nc, 16<<10)
	_ = nc.SetReadDeadline(time.Now().Add(handshakeTimeout))
	dfl, ok := s.handshake(nc, br)
	if !ok {
		linger(nc, br)
		return
	}
	c := &conn{d: s.d, role: wire.Server, nc: nc, br: br, deflate: dfl}
	switch c.run() {
	case endLinger:
		linger(nc, br)
	case endWaitForClient:
		_ = nc.SetReadDeadline(time.Now().Add(noTCPCloseTimeout))
		_, _ = io.Copy(io.Discard, br)
	case endDrop:
	}
}

// linger half-closes TCP and reads until the client closes or the linger
// timer runs out, so unread client bytes never turn the close into a reset
// that could destroy what the server sent last.
func linger(nc net.Conn, br *bufio.Reader) {
	if tc, ok := nc.(*net.TCPConn); ok {
		_ = tc.CloseWrite()
	}
	_ = nc.SetReadDeadline(time.Now().Add(lingerTimeout))
	_, _ = io.Copy(io.Discard, br)
}
