package casekit

import (
	"github.com/wsharness/wsharness/wire"
)

// frameSink receives what readFrames makes of the peer's frames.
type frameSink struct {
	// message gets a complete message as received: its first frame's
	// header and the reassembled, still encoded payload.
	message func(first wire.Header, raw []byte)
	ping    func(payload []byte)
	pong    func(payload []byte)
	// header, when set, sees the header of every frame the peer sends.
	header func(wire.Header)
}

// readFrames reads the peer's frames until TCP ends. It checks each frame
// against what the peer's role may send (masking, RSV bits under the
// session's codec, frames after Close, fragmentation order), reassembles
// fragmented messages up to MaxMessage bytes and hands messages and
// control frames to sink. A message growing past MaxMessage ends the read:
// memory follows what the peer sent, never more than the limit.
func (s *session) readFrames(sink frameSink) {
	defer close(s.ended)
	defer s.signal()
	var (
		first  wire.Header // of the message in progress
		msg    []byte
		inMsg  bool
		closed bool // the peer's Close seen
	)
	for {
		f, err := s.conn.ReadFrame(s.readDeadline)
		if err != nil {
			s.readEnded(err)
			return
		}
		s.live.heard()
		if sink.header != nil {
			sink.header(f.Header)
		}
		data := f.Opcode == wire.OpText || f.Opcode == wire.OpBinary
		// §5.5.1 forbids data frames after a Close, not control frames: a
		// Pong or a second Close then breaks no MUST.
		if closed && (data || f.Opcode == wire.OpContinuation) {
			s.violate("%s sent a %s frame after its Close frame (RFC 6455 §5.5.1: no data frames after a Close)", s.peer, wire.OpName(f.Opcode))
		}
		for _, v := range f.Violations(s.peer, s.codec.AllowedRSV(f.Header, data)) {
			s.violate("%s", v)
		}
		switch op := f.Opcode; {
		case data:
			if inMsg {
				s.violate("%s started a new %s message inside a fragmented message (RFC 6455 §5.4)", s.peer, wire.OpName(op))
			}
			first, msg, inMsg = f.Header, f.Payload, true
		case op == wire.OpContinuation:
			if !inMsg {
				s.violate("%s sent a continuation frame with no message to continue (RFC 6455 §5.4)", s.peer)
				continue
			}
			if len(msg)+len(f.Payload) > MaxMessage {
				s.violate("%s message grows past %d bytes; no case sends more than 16 MiB", s.peer, MaxMessage)
				s.drop()
				continue
			}
			msg = append(msg, f.Payload...)
		case op == wire.OpPing:
			sink.ping(f.Payload)
			continue
		case op == wire.OpPong:
			sink.pong(f.Payload)
			continue
		case op == wire.OpClose:
			closed = true
			s.peerCloseFrame(f.Payload)
			continue
		default:
			continue // reserved opcode: already a violation
		}
		if f.Fin && inMsg {
			inMsg = false
			sink.message(first, msg)
			msg = nil
		}
	}
}
