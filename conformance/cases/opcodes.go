package cases

import (
	"fmt"

	"github.com/wsharness/wsharness/conformance/casekit"
	"github.com/wsharness/wsharness/wire"
)

const opcodeRule = "If an unknown opcode is received, the server MUST fail the connection (§5.2), with 1002 or a TCP drop."

// Opcodes returns Autobahn 4.1.1–4.1.5 (reserved data opcodes 3–7) and
// 4.2.1–4.2.5 (reserved control opcodes 11–15).
func Opcodes() []Case {
	hello := "Hello, world!"
	var out []Case
	for _, group := range []struct {
		sub  int
		base byte // first reserved opcode of the group
		kind string
	}{{1, 3, "non-control"}, {2, 11, "control"}} {
		sub, base, kind := group.sub, group.base, group.kind
		for i := range 5 {
			op := base + byte(i)
			id := fmt.Sprintf("4.%d.%d", sub, i+1)
			f := wire.NewFrame(op, nil)
			what := "no payload"
			switch i { // Autobahn's payload choice per case
			case 1:
				f.Payload, what = []byte("reserved opcode payload"), "a payload"
			case 3, 4:
				f.Payload, what = []byte(hello), "a payload"
			}
			if i < 2 {
				out = append(out, scripted(Case{
					ID: id, Family: FamilyOpcodes, RFC: "RFC 6455 §5.2",
					Title:       fmt.Sprintf("reserved %s opcode %d, %s", kind, op, what),
					Description: fmt.Sprintf("Send a frame with reserved %s opcode %d and %s.", kind, op, what),
					Expectation: opcodeRule,
				}, casekit.Script{Steps: []casekit.Step{casekit.Send(wire.OneWrite, f)}, OK: onlyTrace(), Close: failProtocol}))
				continue
			}
			split, how := wire.OneWrite, ""
			if i == 4 {
				split, how = wire.OctetWise, ", octet-wise writes"
			}
			out = append(out, scripted(Case{
				ID: id, Family: FamilyOpcodes, RFC: "RFC 6455 §5.2",
				Title:       fmt.Sprintf("text, then reserved %s opcode %d, then ping%s", kind, op, how),
				Description: fmt.Sprintf("Send a text message, a frame with reserved opcode %d and %s, then a Ping%s.", op, what, how),
				Expectation: opcodeRule + " The text MUST be echoed first (missing echo is NON-STRICT) and no Pong may follow.",
			}, casekit.Script{
				Steps:     []casekit.Step{casekit.Send(split, wire.Text(hello), f, wire.Ping(nil))},
				OK:        onlyTrace(casekit.Text(hello)),
				NonStrict: onlyTrace(),
				Close:     failProtocol,
			}))
		}
	}
	return out
}
