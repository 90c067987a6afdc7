package cases

import (
	"bytes"

	"github.com/wsharness/wsharness/conformance/casekit"
	"github.com/wsharness/wsharness/wire"
)

// Misc returns Autobahn 10.1.1.
func Misc() []Case {
	payload := bytes.Repeat([]byte("*"), 65536)
	var frames []wire.Frame
	for off := 0; off < len(payload); off += 1300 {
		end := min(off+1300, len(payload))
		f := wire.Continuation(payload[off:end], end == len(payload))
		if off == 0 {
			f.Opcode = wire.OpText
		}
		frames = append(frames, f)
	}
	return []Case{
		scripted(Case{
			ID: "10.1.1", Family: FamilyMisc, Title: "64 KiB text in 1300-byte fragments", RFC: "RFC 6455 §5.4",
			Description: "Send a 65536-byte text message as 51 frames of at most 1300 bytes (one text frame, 50 continuations).",
			Expectation: "The server MUST reassemble the message and echo it (§5.4); then a clean close with 1000.",
		}, casekit.Script{
			Steps:   []casekit.Step{casekit.Send(wire.OneWrite, frames...)},
			OK:      onlyTrace(casekit.TextBytes(payload)),
			Close:   closeNormal,
			Timeout: largeEchoTimeout,
		}),
	}
}
