// Package cases is wsharness's conformance catalog: every case with its
// stable ID, family, RFC clause, MUST-worded expectation and the script
// that runs it. One file per family, each registered in families.
package cases

import (
	"context"
	"fmt"
	"regexp"
	"sort"
	"strings"
	"time"

	"github.com/wsharness/wsharness/conformance/casekit"
	"github.com/wsharness/wsharness/results"
	"github.com/wsharness/wsharness/wire"
)

// Case is one conformance case.
type Case struct {
	ID     string `json:"id"`
	Family Family `json:"family"`
	Title  string `json:"title"`
	// RFC is the clause the case checks, e.g. "RFC 6455 §5.5.2".
	RFC         string `json:"rfc"`
	Description string `json:"description"`
	Expectation string `json:"expectation"`
	// Transports are those the case runs over (RunsOver), as
	// wire.Transport names them: "HTTP/1.1", "HTTP/2" or both.
	Transports []string `json:"transports"`

	// client, when set, words the case's client form where swapping the
	// ends is not enough (masking: a server's frames must not be masked, a
	// client's must), and puts the case in the client form although its
	// family does not swap roles (family.swapsRoles).
	client *clientText

	run func(ctx context.Context, env casekit.Env) results.Case
	// timeout is how long the case's own timer may run (unscaled), when
	// longer than the default timers.
	timeout time.Duration
	// fixed is time the case may take on top of its scaled timers, for
	// waits the time scale does not apply to (starting Chromium).
	fixed time.Duration
}

// Timeout is how long the case may wait on its own timer before closing,
// unscaled; 0 when it uses only the default timers of a few seconds.
func (c Case) Timeout() time.Duration { return c.timeout }

// Bound is the longest the case can take in env, whatever the server does
// (casekit.Bound of its timer). The suite's spec timeout is derived from
// it, and the hostile-server tests hold every case to it.
func (c Case) Bound(env casekit.Env) time.Duration {
	return casekit.Bound(env, max(c.timeout, casekit.DefaultTimeout)) + c.fixed
}

// Family names a group of cases, such as the framing cases (1.x) or the
// UTF-8 ones (6.x); results.json writes it as a string.
type Family string

// Family names; families gives their report order.
const (
	FamilyHandshake     Family = "handshake"
	FamilyFraming       Family = "framing"
	FamilyPingPong      Family = "pingpong"
	FamilyReservedBits  Family = "reserved-bits"
	FamilyOpcodes       Family = "opcodes"
	FamilyFragmentation Family = "fragmentation"
	FamilyUTF8          Family = "utf8"
	FamilyClose         Family = "close"
	FamilyMisc          Family = "misc"
	FamilyMasking       Family = "masking"
	// FamilyHandshakeResponse is declared in handshake_response.go,
	// FamilyServerClose in server_close.go.
	// FamilyBrowser is declared in browser.go, FamilyLimits in limits.go,
	// the deflate families in deflate_negotiation.go and deflate_data.go.
)

// family is one family of the catalog and what the engines need to know
// of it. A family is a file (its name and its cases) and an entry in
// families.
type family struct {
	name Family
	// cases are the family's cases in server form; nil for a family that
	// judges only clients.
	cases func() []Case
	// clientOnly are cases of the family that judge only clients.
	clientOnly func() []Case
	// swapsRoles gives every case of cases a client form: the harness
	// plays the server and does what the client does in the server form,
	// and the client under test must do what the server must (Autobahn's
	// 1.x-7.x, 9.x and 10.x judge clients the same way). Families without
	// it test what only a server does: answer an opening handshake,
	// unmask, negotiate an extension, serve a browser; their cases may
	// still word a client form of their own (Case.client).
	swapsRoles bool
	// slow families move megabytes or thousands of messages per case; the
	// default profile leaves them out, and the suite labels their specs
	// "profile:full".
	slow bool
	// cpuBound families keep the CPU busy rather than wait: each of their
	// cases compresses and decompresses megabytes in both ends, so the
	// engine runs only a few at once.
	cpuBound bool
	// inBrowser families run their cases in a real browser (Env.Browser).
	inBrowser bool
	// over is the one transport the family's cases run over; the zero
	// value, anyTransport, runs them over both (the RFC 6455 families).
	over transportOnly
}

// transportOnly limits a family to one transport.
type transportOnly int

const (
	anyTransport transportOnly = iota
	// http1Only: the HTTP/1.1 upgrade of RFC 6455 §4 (its HTTP/2 form is
	// the 300.x family).
	http1Only
	// http2Only: the extended CONNECT and streams of RFC 8441.
	http2Only
)

// families is the registry of the catalog's families, in report order.
var families = []family{
	{name: FamilyHandshake, cases: Handshake, over: http1Only},
	{name: FamilyHandshakeResponse, clientOnly: HandshakeResponse},
	{name: FamilyFraming, cases: Framing, swapsRoles: true},
	{name: FamilyPingPong, cases: PingPong, swapsRoles: true},
	{name: FamilyReservedBits, cases: ReservedBits, swapsRoles: true},
	{name: FamilyOpcodes, cases: Opcodes, swapsRoles: true},
	{name: FamilyFragmentation, cases: Fragmentation, swapsRoles: true},
	{name: FamilyUTF8, cases: UTF8, swapsRoles: true},
	{name: FamilyClose, cases: Close, swapsRoles: true},
	{name: FamilyServerClose, clientOnly: ServerClose},
	{name: FamilyLimits, cases: Limits, swapsRoles: true, slow: true},
	{name: FamilyMisc, cases: Misc, swapsRoles: true},
	{name: FamilyDeflateNegotiation, cases: DeflateNegotiation},
	{name: FamilyDeflatePayloads, cases: DeflatePayloads, slow: true, cpuBound: true},
	{name: FamilyDeflateParams, cases: DeflateParams, slow: true, cpuBound: true},
	{name: FamilyDeflateResponse, clientOnly: DeflateResponse},
	{name: FamilyMasking, cases: Masking, clientOnly: MaskKeys},
	// Over HTTP/2 the browser's page opens the wss:// form of a wss+h2://
	// URL; a ws+h2:// target gets each case UNIMPLEMENTED with why (no
	// browser speaks h2c), so the target's results account for the family.
	{name: FamilyBrowser, cases: Browser, inBrowser: true},
	{name: FamilyH2Bootstrap, cases: H2Bootstrap, over: http2Only},
	{name: FamilyH2Streams, cases: H2Streams, over: http2Only},
}

// familyNamed returns the family called name; the zero family (no cases,
// no property) for a name that is none.
func familyNamed(name Family) family {
	for _, f := range families {
		if f.name == name {
			return f
		}
	}
	return family{}
}

// familiesWhere returns the names of the families that keep says yes to,
// in report order.
func familiesWhere(keep func(family) bool) []Family {
	var names []Family
	for _, f := range families {
		if keep(f) {
			names = append(names, f.name)
		}
	}
	return names
}

// Families lists family names in report order.
func Families() []Family { return familiesWhere(func(family) bool { return true }) }

// SlowFamilies lists the slow families (family.slow) in report order: the
// default profile of make conformance leaves them out (PROFILE=full runs
// them).
func SlowFamilies() []Family { return familiesWhere(func(f family) bool { return f.slow }) }

// IsCPUBound reports whether family is CPU-bound (family.cpuBound): the
// engine runs only a few of its cases at once.
func IsCPUBound(family Family) bool { return familyNamed(family).cpuBound }

// RunsOver reports whether family's cases run over transport t: the
// RFC 6455 families and the browser's over both, the HTTP/1.1 upgrade
// over HTTP/1.1 only, RFC 8441's over HTTP/2 only.
func RunsOver(family Family, t wire.Transport) bool {
	switch familyNamed(family).over {
	case http1Only:
		return t == wire.HTTP1
	case http2Only:
		return t == wire.HTTP2
	}
	return true
}

// transportsOf names the transports family's cases run over.
func transportsOf(family Family) []string {
	var out []string
	for _, t := range []wire.Transport{wire.HTTP1, wire.HTTP2} {
		if RunsOver(family, t) {
			out = append(out, t.String())
		}
	}
	return out
}

// InBrowser reports whether family runs its cases in a real browser.
func InBrowser(family Family) bool { return familyNamed(family).inBrowser }

// SlowFamilyReason is the skipped_families reason of a slow family the
// default profile left out.
const SlowFamilyReason = "slow family, left out of the default profile: run with PROFILE=full (make) or --profile full"

// Profile says which families a run takes.
type Profile string

// Profiles.
const (
	// ProfileDefault leaves out SlowFamilies and lists them as skipped.
	ProfileDefault Profile = "default"
	// ProfileFull runs every family.
	ProfileFull Profile = "full"
)

// ParseProfile reads a profile name.
func ParseProfile(s string) (Profile, error) {
	switch p := Profile(s); p {
	case ProfileDefault, ProfileFull:
		return p, nil
	}
	return "", fmt.Errorf("profile %q: want %s or %s", s, ProfileDefault, ProfileFull)
}

// Includes reports whether the profile runs the family.
func (p Profile) Includes(family Family) bool { return p == ProfileFull || !IsSlow(family) }

// LeftOut maps the families the profile does not run to why, as
// results.json lists them in skipped_families.
func (p Profile) LeftOut() map[Family]string {
	out := map[Family]string{}
	for _, f := range SlowFamilies() {
		if !p.Includes(f) {
			out[f] = SlowFamilyReason
		}
	}
	return out
}

// IsSlow reports whether family is one of SlowFamilies.
func IsSlow(family Family) bool { return familyNamed(family).slow }

// All returns the whole catalog, sorted by ID. IDs are unique (a test
// checks it).
func All() []Case {
	var all []Case
	for _, f := range families {
		if f.cases != nil {
			all = append(all, f.cases()...)
		}
	}
	for i := range all {
		all[i].Transports = transportsOf(all[i].Family)
	}
	sort.SliceStable(all, func(i, j int) bool { return results.LessID(all[i].ID, all[j].ID) })
	return all
}

// clientText is a case's wording in client form.
type clientText struct{ title, description, expectation string }

// inClientForm words c for its client form, or reports that it has none.
func (c Case) inClientForm() (Case, bool) {
	switch {
	case c.client != nil:
		c.Title, c.Description, c.Expectation = c.client.title, c.client.description, c.client.expectation
		return c, true
	case familyNamed(c.Family).swapsRoles:
		c.Title, c.Description, c.Expectation = swapRoles(c.Title), swapRoles(c.Description), swapRoles(c.Expectation)
		return c, true
	}
	return c, false
}

// ForPeer returns the catalog that judges peers of the role: All for
// servers; for clients, the cases that have a client form (those of the
// families that swap roles, and cases worded for clients of their own), with the
// same IDs and RFC clauses and their texts worded for a client, and the
// client-only families, sorted by ID.
func ForPeer(peer wire.Role) []Case {
	if peer == wire.Server {
		return All()
	}
	out := clientOnly()
	for _, c := range All() {
		if cc, ok := c.inClientForm(); ok {
			out = append(out, cc)
		}
	}
	sort.SliceStable(out, func(i, j int) bool { return results.LessID(out[i].ID, out[j].ID) })
	return out
}

// clientOnly returns the cases that judge only clients: the client-only
// families, and client-only cases of families that judge both (100.12).
func clientOnly() []Case {
	var out []Case
	for _, f := range families {
		if f.clientOnly != nil {
			out = append(out, f.clientOnly()...)
		}
	}
	for i := range out {
		out[i].Transports = transportsOf(out[i].Family)
	}
	return out
}

// ClientOnly reports whether family judges only clients: it has cases in
// the client form and none in the server form.
func ClientOnly(family Family) bool {
	f := familyNamed(family)
	return f.clientOnly != nil && f.cases == nil
}

// roleWords matches the words that name an end of the connection.
var roleWords = regexp.MustCompile(`\b(?:[Ss]erver|[Cc]lient)\b`)

// swappedRoleWords maps each word of roleWords to the other end's.
var swappedRoleWords = map[string]string{"server": "client", "Server": "Client", "client": "server", "Client": "Server"}

// swapRoles swaps "server" and "client" in a case's text: the client form
// of a case has the two ends trade places.
func swapRoles(s string) string {
	return roleWords.ReplaceAllStringFunc(s, func(w string) string { return swappedRoleWords[w] })
}

// ByFamily returns the cases of one family.
func ByFamily(family Family) []Case {
	var out []Case
	for _, c := range All() {
		if c.Family == family {
			out = append(out, c)
		}
	}
	return out
}

// Run executes the case and returns its complete result. A failing result
// starts with the RFC clause the case checks.
func (c Case) Run(ctx context.Context, env casekit.Env) results.Case {
	out := casekit.Gate(ctx, env, c.run)
	c.Describe(&out)
	if out.Failing() && !out.NotRun && !strings.HasPrefix(out.Observed, c.RFC) {
		out.Observed = fmt.Sprintf("%s: %s\n%s", c.RFC, c.Expectation, out.Observed)
	}
	if out.Events == nil {
		out.Events = []string{}
	}
	if out.Wirelog == nil {
		out.Wirelog = []wire.Entry{}
	}
	return out
}

// Describe writes the case's text into a result: its ID, family, title,
// RFC clause, description and expectation.
func (c Case) Describe(out *results.Case) {
	out.ID, out.Family, out.Title, out.RFC = c.ID, string(c.Family), c.Title, c.RFC
	out.Description, out.Expectation = c.Description, c.Expectation
}

// scripted is the case c (its text: ID, family, title, RFC clause,
// description and expectation) played by the Script s.
func scripted(c Case, s casekit.Script) Case {
	c.run, c.timeout = s.Run, s.Timeout
	return c
}

// exchanged is the case c played by the round-trip Exchange x.
func exchanged(c Case, x casekit.Exchange) Case {
	c.run, c.timeout = x.Run, x.Timeout
	return c
}

// Common close expectations (Autobahn's expectedClose).
var (
	// closeNormal: the client closes once the expected events arrived; the
	// server answers with 1000 (or echoes it) and drops TCP.
	closeNormal = casekit.CloseExpect{Codes: []int{1000}, RequireClean: true}
	// failProtocol: the server must fail the connection, with 1002 or by
	// dropping TCP.
	failProtocol = casekit.CloseExpect{ByPeer: true, Codes: []int{1002}}
	// failInvalidUTF8: the server must fail the connection, with 1007 or
	// by dropping TCP.
	failInvalidUTF8 = casekit.CloseExpect{ByPeer: true, Codes: []int{1007}, WrongEndpointFatal: true}
)

// onlyTrace is the list of passing traces (casekit.Script's OK or
// NonStrict) that holds one trace: events in this order and no other.
func onlyTrace(events ...casekit.Event) [][]casekit.Event { return [][]casekit.Event{events} }

// regraded is c with fix applied to every result it gives, for the
// verdicts the case's judge does not give by itself. fix runs inside the
// liveness gate (Case.Run): a case not run is not regraded.
func regraded(c Case, fix func(env casekit.Env, out *results.Case)) Case {
	run := c.run
	c.run = func(ctx context.Context, env casekit.Env) results.Case {
		out := run(ctx, env)
		fix(env, &out)
		return out
	}
	return c
}

// nonStrictWhenNotFailed makes NON-STRICT a case whose only fault is that
// the peer did not fail the connection, for inputs the RFC forbids a peer
// to send without saying the receiver MUST fail: why says so.
func nonStrictWhenNotFailed(c Case, why string) Case {
	return regraded(c, func(env casekit.Env, out *results.Case) {
		if out.Verdict != results.Failed && out.CloseVerdict == results.CloseFailed {
			out.Verdict, out.CloseVerdict = results.NonStrict, results.CloseOK
			out.Observed = fmt.Sprintf("NON-STRICT: the %s did not fail the connection, but %s.\n%s", env.Peer, why, out.Observed)
		}
	})
}

// duplicateIDs returns IDs that occur more than once.
func duplicateIDs(cs []Case) []string {
	seen := map[string]int{}
	var dup []string
	for _, c := range cs {
		if seen[c.ID]++; seen[c.ID] == 2 {
			dup = append(dup, c.ID)
		}
	}
	return dup
}
