package cases_test

import (
	"github.com/wsharness/wsharness/conformance/cases"
	"github.com/wsharness/wsharness/conformance/internal/brokenpeer"
)

// The rows of the client's masking keys (100.12) and of the close the
// server starts (111.x), all in client form: clientdefects_test.go runs
// them with the rest of the table.
func init() {
	defectRows = append(defectRows,
		defectRow{
			name: "ClientConstantMaskKey", defects: brokenpeer.Defects{ClientConstantMaskKey: true},
			run: ids("100.12"), mustFail: ids("100.12"), observed: "not fresh",
		},
		defectRow{
			name: "ClientZeroMaskKey", defects: brokenpeer.Defects{ClientZeroMaskKey: true},
			run: ids("100.11", "100.12"), mustFail: ids("100.12"), observed: "frames 1 and 2: 00000000",
		},
		defectRow{
			name: "ClientCountingMaskKey", defects: brokenpeer.Defects{ClientCountingMaskKey: true},
			run: ids("100.12"), mustFail: ids("100.12"), observed: "predictable",
		},
		defectRow{
			// 24 bits of entropy: no key repeats the one before it, no step
			// predicts, but one key byte is always zero.
			name: "ClientMaskKeyFixedByte", defects: brokenpeer.Defects{ClientMaskKeyFixedByte: true},
			run: ids("100.12"), nonStrict: ids("100.12"), noneFailing: true,
		},
		defectRow{
			// §7.1.1: the client SHOULD wait for the server to close TCP.
			// In 111.18 the server's data after its Close would justify
			// the drop, so only 111.1 judges it.
			name: "ClientClosesTCPFirst", defects: brokenpeer.Defects{ClientClosesTCPFirst: true},
			run: ids("111.1", "111.18"), nonStrict: ids("111.1"), noneFailing: true,
		},
		defectRow{
			name: "ClientEchoesAfterClose", defects: brokenpeer.Defects{ClientEchoesAfterClose: true},
			run: ids("111.18"), mustFail: ids("111.18"), observed: "text frame after its Close frame",
		},
		defectRow{
			name: "ClientSendsClose1006", defects: brokenpeer.Defects{ClientSendsClose1006: true},
			run: ids("111.19"), mustFail: ids("111.19"), observed: "status code 1006, which MUST NOT be sent",
		},
		defectRow{
			name: "ClientKeepsTCPOpen", defects: brokenpeer.Defects{ClientKeepsTCPOpen: true},
			run: ids("111.19"), informational: ids("111.19"), noneFailing: true,
		},
		defectRow{
			// Failing the connection is what RFC 6455 implies, not a MUST.
			name: "ClientAcceptsOneByteClose", defects: brokenpeer.Defects{ClientAcceptsOneByteClose: true},
			run: ids("111.16"), nonStrict: ids("111.16"), noneFailing: true,
		},
		// Knobs of the frame loop, on the server-close family.
		defectRow{
			// Dropping TCP is a way to fail the connection: the invalid
			// Closes (111.8-111.17) pass.
			name: "NoCloseReply/server-close", defects: brokenpeer.Defects{NoCloseReply: true}, clientFormOnly: true,
			run:      []string{string(cases.FamilyServerClose)},
			mustFail: concat(seq("111", 1, 6), ids("111.18")),
		},
		defectRow{
			// Echoing a code no endpoint may send is FAILED; answering any
			// other invalid one NON-STRICT.
			name: "AcceptInvalidCloseCodes/server-close", defects: brokenpeer.Defects{AcceptInvalidCloseCodes: true}, clientFormOnly: true,
			run:       []string{string(cases.FamilyServerClose)},
			mustFail:  seq("111", 11, 13),
			nonStrict: ids("111.8", "111.9", "111.10", "111.14"),
			observed:  "MUST NOT be sent in a Close frame",
		},
		defectRow{
			// Every Close of the family goes unanswered and TCP stays open
			// until the harness gives up; 111.19 has no Close.
			name: "IgnoreClose", defects: brokenpeer.Defects{IgnoreClose: true}, clientFormOnly: true,
			run:      []string{string(cases.FamilyServerClose)},
			mustFail: seq("111", 1, 18),
			observed: "neither answered the server's Close nor closed TCP",
		},
		defectRow{
			name: "EchoInvalidUTF8/server-close", defects: brokenpeer.Defects{EchoInvalidUTF8: true}, clientFormOnly: true,
			run: ids("111.17"), nonStrict: ids("111.17"), noneFailing: true,
		},
	)
}
