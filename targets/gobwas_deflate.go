package targets

import (
	"bytes"
	"compress/flate"
	"fmt"
	"io"
	"net/http"

	"github.com/gobwas/ws"
	"github.com/gobwas/ws/wsflate"
	"github.com/gobwas/ws/wsutil"
)

// newGobwasDeflateHandler serves gobwas configured as newGobwasHandler,
// plus permessage-deflate from wsflate with its DefaultParameters: no
// context takeover on either side, as gobwas' own Autobahn "wsflate" agent
// runs it. wsflate declines offers that limit the server's window.
// wsflate.MessageState fails RSV1 on control frames and continuations
// (ErrUnexpectedCompressionBit, a protocol error: 1002); gobwas leaves
// the decompressing and compressing to the application, done here.
func newGobwasDeflateHandler() http.Handler { return gobwasHandler(true) }

// gobwasDeflate is one connection's compression state.
type gobwasDeflate struct {
	state wsflate.MessageState
	rd    *wsflate.Reader
	wr    *wsflate.Writer
	out   bytes.Buffer
}

func newGobwasDeflate() *gobwasDeflate {
	d := &gobwasDeflate{}
	d.rd = wsflate.NewReader(nil, func(r io.Reader) wsflate.Decompressor {
		return resettableInflater{flate.NewReader(r)}
	})
	d.wr = wsflate.NewWriter(&d.out, func(w io.Writer) wsflate.Compressor {
		fw, _ := flate.NewWriter(w, flate.BestSpeed) // a valid level: no error
		return fw
	})
	return d
}

// recvExtensions are the wsutil.Reader extensions of a compressing
// connection: MessageState takes RSV1 off the first frame of a message and
// rejects it anywhere else; rejectRSV then rejects whatever RSV bit is
// left (wsutil stops checking RSV bits once an extension is negotiated).
func (d *gobwasDeflate) recvExtensions() []wsutil.RecvExtension {
	return []wsutil.RecvExtension{&d.state, wsutil.RecvExtensionFunc(rejectRSV)}
}

func rejectRSV(h ws.Header) (ws.Header, error) {
	if h.Rsv != 0 {
		return h, ws.ProtocolError(fmt.Sprintf("RSV bits %03b that permessage-deflate does not define", h.Rsv))
	}
	return h, nil
}

// resettableInflater lets wsflate.Reader reuse compress/flate's reader.
type resettableInflater struct{ io.ReadCloser }

func (f resettableInflater) Reset(r io.Reader) { _ = f.ReadCloser.(flate.Resetter).Reset(r, nil) }

// body returns the reader of the message whose first frame was just read:
// decompressed, within maxMessageSize, when it had RSV1.
func (s *gobwasSession) body() io.Reader {
	if s.deflate == nil || !s.deflate.state.IsCompressed() {
		return s.rd
	}
	s.deflate.rd.Reset(s.rd)
	return inflateLimit(s.deflate.rd)
}

// echo writes a message back, compressed when permessage-deflate is in use.
func (s *gobwasSession) echo(op opcode, payload []byte) error {
	d := s.deflate
	if d == nil {
		return s.out.writeMessage(op, payload)
	}
	d.out.Reset()
	d.wr.Reset(&d.out)
	if _, err := d.wr.Write(payload); err != nil {
		return fmt.Errorf("compress: %w", err)
	}
	if err := d.wr.Flush(); err != nil {
		return fmt.Errorf("compress: %w", err)
	}
	return s.out.writeFrameRsv(ws.OpCode(op), ws.Rsv(true, false, false), d.out.Bytes())
}
