package cases_test

import (
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/wsharness/wsharness/conformance/cases"
	"github.com/wsharness/wsharness/conformance/internal/brokenpeer"
	"github.com/wsharness/wsharness/results"
)

// defectRow is one defect and the cases that must catch it.
type defectRow struct {
	name    string
	defects brokenpeer.Defects
	// run selects the cases to run: family names, exact IDs, or ID
	// prefixes ("7.3" selects 7.3.1, 7.3.2, ...).
	run []string
	// mustFail lists IDs that must be Failing() against this server.
	mustFail []string
	// nonStrict lists IDs that must be NON-STRICT (and not failing).
	nonStrict []string
	// informational lists IDs that must be INFORMATIONAL (and not
	// failing).
	informational []string
	// observed, when set, must appear in the observed text of every
	// must-fail case: the failure is caught for the right reason.
	observed string
	// noneFailing: the defect breaks only a SHOULD, so no case of the row
	// may be Failing().
	noneFailing bool
	// clientFormOnly: the row's cases exist only in the client form, so
	// the server's defect table leaves it out although its knob is one of
	// the frame loop's.
	clientFormOnly bool
	// overH2: the broken peer is its HTTP/2 server (ws+h2://), with h2's
	// knobs beside defects', and the cases are those run over HTTP/2.
	overH2 bool
	h2     brokenpeer.H2Defects
}

// defectRows is the one table of defects, of either end: the broken peer
// as a server commits each server or role-neutral knob for
// TestEachDefectIsCaught (defects_test.go), as a client each client or
// role-neutral knob for TestEachClientDefectIsCaught
// (clientdefects_test.go), against the catalog of that role. The
// must-fail IDs come from the case tables: which cases send what the
// defect mishandles, and which verdict rule (trace, close endpoint, clean
// close, close code, frame check) then applies.
var defectRows = []defectRow{
	{
		// 100.6 (unmasked Close) is not listed: a server that accepts it
		// answers with 1000 where 1002 is expected, WRONG CODE only.
		name: "AcceptWrongMask", defects: brokenpeer.Defects{AcceptWrongMask: true},
		run:      []string{string(cases.FamilyMasking)},
		mustFail: seq("100", 1, 5),
	},
	{
		name: "IgnoreRSV", defects: brokenpeer.Defects{IgnoreRSV: true},
		run:      []string{string(cases.FamilyReservedBits)},
		mustFail: seq("3", 1, 7),
	},
	{
		// Every invalid payload of 6.x is echoed (a frame-check violation
		// and a trace that is not empty), the fail-fast cases too; with no
		// UTF-8 check the invalid close reason of 7.5.1 is accepted and
		// answered with 1000 (WRONG CODE, fatal in 7.x).
		name: "EchoInvalidUTF8", defects: brokenpeer.Defects{EchoInvalidUTF8: true},
		run: []string{string(cases.FamilyUTF8), "7.5.1"},
		mustFail: concat(
			ids("6.3.1", "6.3.2"), seq("6.4", 1, 4),
			ids("6.6.1", "6.6.3", "6.6.4", "6.6.6", "6.6.8", "6.6.10"),
			seq("6.8", 1, 2), seq("6.10", 1, 3), ids("6.11.5"),
			seq("6.12", 1, 8), seq("6.13", 1, 5), seq("6.14", 1, 10), ids("6.15.1"),
			seq("6.16", 1, 3), seq("6.17", 1, 5), seq("6.18", 1, 5), seq("6.19", 1, 5),
			seq("6.20", 1, 7), seq("6.21", 1, 8),
			ids("7.5.1"),
		),
	},
	{
		// Failing fast is a SHOULD: validating whole messages only is
		// NON-STRICT in 6.4.x and passes everything else.
		name: "NoFailFastUTF8", defects: brokenpeer.Defects{NoFailFastUTF8: true},
		run:         []string{string(cases.FamilyUTF8)},
		nonStrict:   seq("6.4", 1, 4),
		noneFailing: true,
	},
	{
		name: "IgnoreReservedOpcodes", defects: brokenpeer.Defects{IgnoreReservedOpcodes: true},
		run:      []string{string(cases.FamilyOpcodes)},
		mustFail: concat(seq("4.1", 1, 5), seq("4.2", 1, 5)),
	},
	{
		// 2.1's ping has an empty payload, so an empty pong is right.
		name: "WrongPongPayload", defects: brokenpeer.Defects{WrongPongPayload: true},
		run:      []string{string(cases.FamilyPingPong), "5.6", "5.7", "5.8", "5.19", "5.20", "100.11"},
		mustFail: concat(seq("2", 2, 4), ids("2.6", "2.9", "2.10", "2.11", "5.6", "5.7", "5.8", "5.19", "5.20", "100.11")),
	},
	{
		name: "NoPong", defects: brokenpeer.Defects{NoPong: true},
		run:      []string{string(cases.FamilyPingPong), "5.6", "5.7", "5.8", "5.19", "5.20", "100.11"},
		mustFail: concat(seq("2", 1, 4), ids("2.6", "2.9", "2.10", "2.11", "5.6", "5.7", "5.8", "5.19", "5.20", "100.11")),
	},
	{
		// 5.18 is a new data frame inside a message, not an orphan.
		name: "AcceptOrphanContinuation", defects: brokenpeer.Defects{AcceptOrphanContinuation: true},
		run:      []string{string(cases.FamilyFragmentation)},
		mustFail: seq("5", 9, 17),
	},
	{
		name: "AcceptFragmentedControl", defects: brokenpeer.Defects{AcceptFragmentedControl: true},
		run:      []string{string(cases.FamilyFragmentation)},
		mustFail: ids("5.1", "5.2"),
	},
	{
		name: "AcceptLargeControl", defects: brokenpeer.Defects{AcceptLargeControl: true},
		run:      []string{string(cases.FamilyPingPong), "7.3"},
		mustFail: ids("2.5", "7.3.6"),
	},
	{
		// 7.13.x (5000, 65535) are INFORMATIONAL: any answer is recorded.
		name: "AcceptInvalidCloseCodes", defects: brokenpeer.Defects{AcceptInvalidCloseCodes: true},
		run:      []string{string(cases.FamilyClose)},
		mustFail: seq("7.9", 1, 9),
	},
	{
		// Every case that requires a clean close is UNCLEAN.
		name: "NoCloseReply", defects: brokenpeer.Defects{NoCloseReply: true},
		run: []string{string(cases.FamilyClose), "1.1.1", "2.1", "5.3", "6.2.1", "100.7"},
		mustFail: concat(seq("7.1", 1, 6), ids("7.3.1"), seq("7.3", 3, 5), seq("7.7", 1, 13),
			ids("1.1.1", "2.1", "5.3", "6.2.1", "100.7")),
	},
	{
		// Every case gets at least the server's Close frame back, and
		// every server frame is checked.
		name: "SendWrongMask", defects: brokenpeer.Defects{SendWrongMask: true},
		run: []string{"1.1", string(cases.FamilyPingPong), string(cases.FamilyReservedBits), "6.2", "6.3", "7.1", "7.3", string(cases.FamilyMasking)},
		mustFail: concat(seq("1.1", 1, 8), seq("2", 1, 11), seq("3", 1, 7), seq("6.2", 1, 4), seq("6.3", 1, 2),
			seq("7.1", 1, 6), seq("7.3", 1, 6), seq("100", 1, 11)),
	},
	{
		// 0.15 offers "chat", so selecting it is right there; 0.18 is
		// INFORMATIONAL whatever happens.
		name: "SelectUnofferedSubprotocol", defects: brokenpeer.Defects{SelectUnofferedSubprotocol: true},
		run:      []string{string(cases.FamilyHandshake), "1.1.1", "7.1.1"},
		mustFail: ids("0.1", "0.2", "0.3", "0.4", "0.14", "0.16", "0.17", "1.1.1", "7.1.1"),
	},
	{
		name: "WrongAcceptKey", defects: brokenpeer.Defects{WrongAcceptKey: true},
		run:      []string{string(cases.FamilyHandshake), "1.1.1", "2.1"},
		mustFail: concat(seq("0", 1, 4), seq("0", 14, 17), ids("1.1.1", "2.1")),
	},
	{
		name: "UpgradeWithoutKey", defects: brokenpeer.Defects{UpgradeWithoutKey: true},
		run:      []string{string(cases.FamilyHandshake)},
		mustFail: seq("0", 5, 7),
	},
	{
		// UpgradeAnyVersion does not look at the header at all, so a
		// missing one (0.9) is upgraded too.
		name: "UpgradeAnyVersion", defects: brokenpeer.Defects{UpgradeAnyVersion: true},
		run:      []string{string(cases.FamilyHandshake)},
		mustFail: ids("0.8", "0.9"),
	},
	{
		name: "RejectVersionWithoutHeader", defects: brokenpeer.Defects{RejectVersionWithoutHeader: true},
		run:      []string{string(cases.FamilyHandshake)},
		mustFail: ids("0.8"),
	},
	{
		name: "RequireExactConnectionUpgrade", defects: brokenpeer.Defects{RequireExactConnectionUpgrade: true},
		run:      []string{string(cases.FamilyHandshake)},
		mustFail: ids("0.2"),
	},
	{
		name: "CaseSensitiveUpgrade", defects: brokenpeer.Defects{CaseSensitiveUpgrade: true},
		run:      []string{string(cases.FamilyHandshake)},
		mustFail: ids("0.3"),
	},
	{
		name: "EchoFragmentsSeparately", defects: brokenpeer.Defects{EchoFragmentsSeparately: true},
		run:      []string{string(cases.FamilyFragmentation), "6.1", "6.2", "7.1.5", "10.1.1", "100.10"},
		mustFail: concat(seq("5", 3, 8), ids("5.19", "5.20", "6.1.2", "6.1.3"), seq("6.2", 2, 4), ids("7.1.5", "10.1.1", "100.10")),
	},
	{
		// In 7.1.5 the ignored Close lets the last fragment complete the
		// message, which is then echoed.
		name: "DropInterleavedControl", defects: brokenpeer.Defects{DropInterleavedControl: true},
		run:      []string{string(cases.FamilyFragmentation), "7.1.5"},
		mustFail: ids("5.6", "5.7", "5.8", "5.19", "5.20", "7.1.5"),
	},
	{
		// Only 100.11 expects more than one echo before the client closes:
		// its first echo is followed by the server's Close, so the server
		// closes first, deterministically. (Where the echo is the last
		// expected event, the client's Close and the server's race.)
		name: "ServerClosesFirstOnEcho", defects: brokenpeer.Defects{ServerClosesFirstOnEcho: true},
		run:      []string{"100.11"},
		mustFail: ids("100.11"),
	},
	{
		// Closing TCP first is a SHOULD (§7.1.1): the client has to drop
		// it, and OK becomes NON-STRICT.
		name: "NoTCPClose", defects: brokenpeer.Defects{NoTCPClose: true},
		run:         []string{string(cases.FamilyClose), string(cases.FamilyReservedBits), "1.1.1", "2.1", "6.2.1", "6.3.1"},
		nonStrict:   ids("1.1.1", "2.1", "3.1", "6.2.1", "6.3.1", "7.1.1", "7.3.3", "7.7.1", "7.9.1"),
		noneFailing: true,
	},
	{
		// 1.1.6/1.2.6 (65535 bytes) still fit the 16-bit field.
		name: "SixteenBitLengths", defects: brokenpeer.Defects{SixteenBitLengths: true},
		run:      []string{"1.1", "1.2", "10.1.1"},
		mustFail: ids("1.1.7", "1.1.8", "1.2.7", "1.2.8", "10.1.1"),
	},
	{
		// Type and length stay right, so Autobahn's length-only 9.x check
		// passes this server; comparing content catches it.
		name: "CorruptLargeMessages", defects: brokenpeer.Defects{CorruptLargeMessages: true},
		run:      ids("9.1.1", "9.2.3", "9.3.1", "9.5.1", "9.6.6"),
		mustFail: ids("9.1.1", "9.2.3", "9.3.1", "9.5.1", "9.6.6"),
		observed: "but different content: first difference at byte",
	},
	{
		// 9.1.2 and 9.2.2 (256 KiB) have Autobahn's 10 s timer; 9.1.1
		// (64 KiB) is under the size the server swallows.
		name: "SwallowLargeMessages", defects: brokenpeer.Defects{SwallowLargeMessages: true},
		run:      ids("9.1.1", "9.1.2", "9.2.2"),
		mustFail: ids("9.1.2", "9.2.2"),
		observed: "timed out: 0 of 1 echoes in 10",
	},
	{
		// Refusing a message as too big is the server's right (§7.4.1):
		// recorded, never FAILED. 256 KiB exactly is still echoed.
		name: "RefuseLargeMessages", defects: brokenpeer.Defects{RefuseLargeMessages: true},
		run:           ids("9.1.2", "9.1.3", "9.2.3"),
		informational: ids("9.1.3", "9.2.3"),
		noneFailing:   true,
	},
	// Knobs of the client's check of the server's answer (client form only).
	{
		name: "ClientAcceptsWrongAccept", defects: brokenpeer.Defects{ClientAcceptsWrongAccept: true},
		run:      []string{string(cases.FamilyHandshakeResponse)},
		mustFail: ids("110.1", "110.2"),
	},
	{
		name: "ClientAcceptsNon101", defects: brokenpeer.Defects{ClientAcceptsNon101: true},
		run:      []string{string(cases.FamilyHandshakeResponse)},
		mustFail: ids("110.3", "110.4"),
	},
	{
		name: "ClientAcceptsNoUpgrade", defects: brokenpeer.Defects{ClientAcceptsNoUpgrade: true},
		run:      []string{string(cases.FamilyHandshakeResponse)},
		mustFail: seq("110", 5, 8),
	},
	{
		name: "ClientAcceptsUnoffered", defects: brokenpeer.Defects{ClientAcceptsUnoffered: true},
		run:      []string{string(cases.FamilyHandshakeResponse)},
		mustFail: ids("110.9", "110.10"),
	},
	{
		// A list in Connection is what §4.1 checks for but not what §4.2.2
		// has a server send: refusing it is NON-STRICT.
		name: "ClientRequiresExactHeaders", defects: brokenpeer.Defects{ClientRequiresExactHeaders: true},
		run:       []string{string(cases.FamilyHandshakeResponse)},
		mustFail:  ids("110.11"),
		nonStrict: ids("110.12"),
	},
	{
		name: "SendsExtension", defects: brokenpeer.Defects{SendsExtension: true},
		run:      []string{string(cases.FamilyHandshake), "1.1.1", "7.1.1"},
		mustFail: concat(seq("0", 1, 4), seq("0", 14, 17), ids("1.1.1", "7.1.1")),
	},
	// The client's permessage-deflate defects (client form only). The
	// role-neutral deflate knobs below run in client form too, against
	// 11.4, 11.5, 12.x, 13.x and 112.3.1.
	{
		name: "ClientDeflateAcceptsInvalidAnswer", defects: brokenpeer.Defects{ClientDeflateAcceptsInvalidAnswer: true},
		run:      ids("112.4"),
		mustFail: seq("112.4", 2, 6),
	},
	{
		// Only a client whose offers lack client_max_window_bits can be
		// answered with it unasked.
		name: "ClientDeflateAcceptsUnofferedWindow", defects: brokenpeer.Defects{ClientDeflateAcceptsUnofferedWindow: true, ClientPlainDeflateOffer: true},
		run:      ids("112.4.1"),
		mustFail: ids("112.4.1"),
	},
	{
		// The harness keeps only the client window it asked for (13.3 and
		// 13.5 ask for 9 bits) and reads every distance inside a message:
		// 13.5 answers client_no_context_takeover too, so only references
		// inside a message can break the window there.
		name: "ClientDeflateIgnoresWindow", defects: brokenpeer.Defects{ClientDeflateIgnoresWindow: true},
		run:      ids("112.2.1", "13.3.5", "13.5.5", "13.5.10"),
		mustFail: ids("112.2.1", "13.3.5", "13.5.5", "13.5.10"),
		observed: "does not decompress",
	},
	{
		name: "ClientDeflateForgetsServerContext", defects: brokenpeer.Defects{ClientDeflateForgetsServerContext: true},
		run:      ids("112.1", "11.5.1", "12.1.5"),
		mustFail: concat(seq("112.1", 1, 8), ids("11.5.1", "12.1.5")),
	},
	// permessage-deflate defects of the server (and of the client, for
	// the role-neutral ones).
	{
		name: "DeflateAcceptInvalidOffers", defects: brokenpeer.Defects{DeflateAcceptInvalidOffers: true},
		run:      ids("11.2"),
		mustFail: seq("11.2", 1, 9),
		observed: "accepting the offer it MUST decline",
	},
	{
		// The other 11.1 and 11.3 cases offer client_max_window_bits in
		// the offer the server accepts.
		name: "DeflateUnofferedClientWindowBits", defects: brokenpeer.Defects{DeflateUnofferedClientWindowBits: true},
		run:      ids("11.1", "11.3", "11.4.7"),
		mustFail: ids("11.1.1", "11.1.3", "11.1.4", "11.1.5", "11.1.8", "11.3.1", "11.3.3", "11.4.7"),
		observed: "the response has client_max_window_bits, which the offer did not have",
	},
	{
		name: "DeflateAcceptRSV1Control", defects: brokenpeer.Defects{DeflateAcceptRSV1Control: true},
		run:      ids("11.4"),
		mustFail: ids("11.4.1", "11.4.2", "11.4.3"),
	},
	{
		name: "DeflateAcceptRSV1Continuation", defects: brokenpeer.Defects{DeflateAcceptRSV1Continuation: true},
		run:      ids("11.4"),
		mustFail: ids("11.4.4", "11.4.5"),
	},
	{
		name: "DeflateRSV1OnContinuation", defects: brokenpeer.Defects{DeflateRSV1OnContinuation: true},
		run:      ids("11.1.1", "11.4.13", "12.2.2", "13.1.2"),
		mustFail: ids("11.1.1", "11.4.13", "12.2.2", "13.1.2"),
		observed: "RFC 7692 §6: permessage-deflate never sets RSV1",
	},
	{
		// The stream breaks at the second echo, under context takeover
		// only: with server_no_context_takeover (13.2.x) nothing refers
		// back, and the defect does no harm.
		name: "DeflateUncompressedFirstKeepsContext", defects: brokenpeer.Defects{DeflateUncompressedFirstKeepsContext: true},
		run:      ids("11.1.2", "11.5.1", "12.1.5", "13.1.5", "13.2.2"),
		mustFail: ids("11.1.2", "11.5.1", "12.1.5", "13.1.5"),
		observed: "does not decompress",
	},
	{
		// In client form, 13.2.5, 13.5.5, 13.6.5 and 112.3.1 answer
		// client_no_context_takeover.
		name: "DeflateKeepsContextAfterNoContext", defects: brokenpeer.Defects{DeflateKeepsContextAfterNoContext: true},
		run:      ids("11.1.3", "11.1.7", "13.2.5", "13.5.5", "13.6.5", "112.3.1"),
		mustFail: ids("11.1.3", "11.1.7", "13.2.5", "13.5.5", "13.6.5", "112.3.1"),
		observed: "does not decompress",
	},
	{
		// Within one message the client cannot see the distances; across
		// messages it keeps only the window the server promised.
		name: "DeflateIgnoresServerWindow", defects: brokenpeer.Defects{DeflateIgnoresServerWindow: true},
		run:      ids("11.1.5", "11.1.8", "11.3.2", "13.3.5"),
		mustFail: ids("11.1.5", "11.1.8", "11.3.2", "13.3.5"),
		observed: "does not decompress",
	},
	{
		name: "DeflateForgetsClientContext", defects: brokenpeer.Defects{DeflateForgetsClientContext: true},
		run:      ids("11.5"),
		mustFail: ids("11.5.1", "11.5.2"),
	},
	// The client's masking keys (100.12) and the close the server starts
	// (111.x), all in client form.
	{
		name: "ClientConstantMaskKey", defects: brokenpeer.Defects{ClientConstantMaskKey: true},
		run: ids("100.12"), mustFail: ids("100.12"), observed: "not fresh",
	},
	{
		name: "ClientZeroMaskKey", defects: brokenpeer.Defects{ClientZeroMaskKey: true},
		run: ids("100.11", "100.12"), mustFail: ids("100.12"), observed: "frames 1 and 2: 00000000",
	},
	{
		name: "ClientCountingMaskKey", defects: brokenpeer.Defects{ClientCountingMaskKey: true},
		run: ids("100.12"), mustFail: ids("100.12"), observed: "predictable",
	},
	{
		// 24 bits of entropy: no key repeats the one before it, no step
		// predicts, but one key byte is always zero.
		name: "ClientMaskKeyFixedByte", defects: brokenpeer.Defects{ClientMaskKeyFixedByte: true},
		run: ids("100.12"), nonStrict: ids("100.12"), noneFailing: true,
	},
	{
		// §7.1.1: the client SHOULD wait for the server to close TCP.
		// In 111.18 the server's data after its Close would justify
		// the drop, so only 111.1 judges it.
		name: "ClientClosesTCPFirst", defects: brokenpeer.Defects{ClientClosesTCPFirst: true},
		run: ids("111.1", "111.18"), nonStrict: ids("111.1"), noneFailing: true,
	},
	{
		name: "ClientEchoesAfterClose", defects: brokenpeer.Defects{ClientEchoesAfterClose: true},
		run: ids("111.18"), mustFail: ids("111.18"), observed: "text frame after its Close frame",
	},
	{
		name: "ClientSendsClose1006", defects: brokenpeer.Defects{ClientSendsClose1006: true},
		run: ids("111.19"), mustFail: ids("111.19"), observed: "status code 1006, which MUST NOT be sent",
	},
	{
		name: "ClientKeepsTCPOpen", defects: brokenpeer.Defects{ClientKeepsTCPOpen: true},
		run: ids("111.19"), informational: ids("111.19"), noneFailing: true,
	},
	{
		// Failing the connection is what RFC 6455 implies, not a MUST.
		name: "ClientAcceptsOneByteClose", defects: brokenpeer.Defects{ClientAcceptsOneByteClose: true},
		run: ids("111.16"), nonStrict: ids("111.16"), noneFailing: true,
	},
	// Knobs of the frame loop, on the server-close family.
	{
		// Dropping TCP is a way to fail the connection: the invalid
		// Closes (111.8-111.17) pass.
		name: "NoCloseReply/server-close", defects: brokenpeer.Defects{NoCloseReply: true}, clientFormOnly: true,
		run:      []string{string(cases.FamilyServerClose)},
		mustFail: concat(seq("111", 1, 6), ids("111.18")),
	},
	{
		// Echoing a code no endpoint may send is FAILED; answering any
		// other invalid one NON-STRICT.
		name: "AcceptInvalidCloseCodes/server-close", defects: brokenpeer.Defects{AcceptInvalidCloseCodes: true}, clientFormOnly: true,
		run:       []string{string(cases.FamilyServerClose)},
		mustFail:  seq("111", 11, 13),
		nonStrict: ids("111.8", "111.9", "111.10", "111.14"),
		observed:  "MUST NOT be sent in a Close frame",
	},
	{
		// Every Close of the family goes unanswered and TCP stays open
		// until the harness gives up; 111.19 has no Close.
		name: "IgnoreClose", defects: brokenpeer.Defects{IgnoreClose: true}, clientFormOnly: true,
		run:      []string{string(cases.FamilyServerClose)},
		mustFail: seq("111", 1, 18),
		observed: "neither answered the server's Close nor closed TCP",
	},
	{
		name: "EchoInvalidUTF8/server-close", defects: brokenpeer.Defects{EchoInvalidUTF8: true}, clientFormOnly: true,
		run: ids("111.17"), nonStrict: ids("111.17"), noneFailing: true,
	},
	// HTTP/2 (RFC 8441): each knob of the broken peer's HTTP/2 server,
	// and an RFC 6455 knob inside the stream, caught over ws+h2://.
	{
		name: "H2/IgnoreRSV", overH2: true, defects: brokenpeer.Defects{IgnoreRSV: true},
		run:      []string{string(cases.FamilyReservedBits)},
		mustFail: seq("3", 1, 7),
	},
	{
		name: "H2/NoConnectSetting", overH2: true, h2: brokenpeer.H2Defects{NoConnectSetting: true},
		run:      []string{string(cases.FamilyH2Bootstrap)},
		mustFail: ids("300.1", "300.2", "300.11"),
	},
	{
		name: "H2/Status101", overH2: true, h2: brokenpeer.H2Defects{Status101: true},
		run: []string{"300.2"}, mustFail: ids("300.2"), observed: ":status 101",
	},
	{
		name: "H2/StatusWithEndStream", overH2: true, h2: brokenpeer.H2Defects{StatusWithEndStream: true},
		run: []string{"300.2"}, mustFail: ids("300.2"), observed: "END_STREAM",
	},
	{
		name: "H2/ConnectionHeaders", overH2: true, h2: brokenpeer.H2Defects{ConnectionHeaders: true},
		run: []string{"300.2"}, mustFail: ids("300.2"), observed: "RFC 9113 §8.2.2",
	},
	{
		name: "H2/AcceptsProtocolOnGet", overH2: true, h2: brokenpeer.H2Defects{AcceptsProtocolOnGet: true},
		run: []string{"300.5"}, mustFail: ids("300.5"),
	},
	{
		name: "H2/AcceptsMissingPath", overH2: true, h2: brokenpeer.H2Defects{AcceptsMissingPath: true},
		run: []string{"300.6", "300.7"}, mustFail: ids("300.6", "300.7"),
	},
	{
		name: "H2/AcceptsConnectionHeaders", overH2: true, h2: brokenpeer.H2Defects{AcceptsConnectionHeaders: true},
		run: []string{"300.8"}, mustFail: ids("300.8"),
	},
	{
		name: "H2/IgnoresFlowControl", overH2: true, h2: brokenpeer.H2Defects{IgnoresFlowControl: true},
		run: []string{"301.2"}, mustFail: ids("301.2"), observed: "RFC 9113 §6.9.1",
	},
	{
		name: "H2/NoWindowUpdate", overH2: true, h2: brokenpeer.H2Defects{NoWindowUpdate: true},
		run: []string{"301.1"}, mustFail: ids("301.1"),
	},
	{
		name: "H2/HeadOfLineBlocking", overH2: true, h2: brokenpeer.H2Defects{HeadOfLineBlocking: true},
		run: []string{"301.4"}, nonStrict: ids("301.4"),
	},
	{
		name: "H2/ResetKillsConnection", overH2: true, h2: brokenpeer.H2Defects{ResetKillsConnection: true},
		run: []string{"301.6", "301.7"}, nonStrict: ids("301.6", "301.7"),
	},
	{
		name: "H2/ResetInsteadOfEndStream", overH2: true, h2: brokenpeer.H2Defects{ResetInsteadOfEndStream: true},
		run: []string{"301.5"}, nonStrict: ids("301.5"),
	},
	{
		name: "H2/NeverEndsStream", overH2: true, h2: brokenpeer.H2Defects{NeverEndsStream: true},
		run: []string{"301.5"}, nonStrict: ids("301.5"),
	},
	{
		name: "H2/GoAwayKillsStreams", overH2: true, h2: brokenpeer.H2Defects{GoAwayKillsStreams: true},
		run: []string{"301.8"}, nonStrict: ids("301.8"),
	},
}

// check holds the results of a row's cases to what the row lists. Listed
// IDs that only is set to leave out (cases the role's catalog does not
// have) are not required; nil only requires them all.
func (row defectRow) check(t *testing.T, got []results.Case, only map[string]bool) {
	t.Helper()
	byID := map[string]results.Case{}
	for _, r := range got {
		byID[r.ID] = r
	}
	required := func(id string) bool { return only == nil || only[id] }
	for _, id := range row.mustFail {
		r, ok := byID[id]
		switch {
		case !required(id):
		case !ok:
			t.Errorf("%s: must-fail case %s was not run (unknown ID or not selected by %q)", row.name, id, row.run)
		case !r.Failing():
			t.Errorf("%s: case %s (%s) does not catch the defect: verdict %s, close %s\n%s",
				row.name, id, r.Title, r.Verdict, r.CloseVerdict, indent(r.Observed))
		case !strings.Contains(r.Observed, row.observed):
			t.Errorf("%s: case %s fails, but its observed text lacks %q:\n%s", row.name, id, row.observed, indent(r.Observed))
		}
	}
	// Cases whose defect earns a verdict short of FAILED.
	for verdict, ids := range map[results.Verdict][]string{results.Informational: row.informational, results.NonStrict: row.nonStrict} {
		for _, id := range ids {
			r, ok := byID[id]
			switch {
			case !required(id):
			case !ok:
				t.Errorf("%s: case %s was not run (unknown ID or not selected by %q)", row.name, id, row.run)
			case r.Verdict != verdict || r.Failing():
				t.Errorf("%s: case %s (%s): verdict %s, close %s; want %s\n%s",
					row.name, id, r.Title, r.Verdict, r.CloseVerdict, verdict, indent(r.Observed))
			}
		}
	}
	if row.noneFailing {
		for _, r := range got {
			if r.Failing() {
				t.Errorf("%s breaks only a SHOULD, but case %s (%s) fails: verdict %s, close %s\n%s",
					row.name, r.ID, r.Title, r.Verdict, r.CloseVerdict, indent(r.Observed))
			}
		}
	}
}

// failing counts the failing results.
func failing(got []results.Case) int {
	n := 0
	for _, r := range got {
		if r.Failing() {
			n++
		}
	}
	return n
}

// selectCases returns the catalog cases matching any selector: a family
// name, an ID, or an ID prefix ending before a dot.
func selectCases(catalog []cases.Case, selectors []string) []cases.Case {
	var out []cases.Case
	for _, c := range catalog {
		for _, s := range selectors {
			if string(c.Family) == s || c.ID == s || strings.HasPrefix(c.ID, s+".") {
				out = append(out, c)
				break
			}
		}
	}
	return out
}

// seq returns the IDs prefix.from … prefix.to.
func seq(prefix string, from, to int) []string {
	var out []string
	for n := from; n <= to; n++ {
		out = append(out, fmt.Sprintf("%s.%d", prefix, n))
	}
	return out
}

func ids(list ...string) []string { return list }

func concat(lists ...[]string) []string { return slices.Concat(lists...) }
