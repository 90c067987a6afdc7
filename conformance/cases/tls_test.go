package cases_test

import (
	"context"
	"crypto/tls"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/wsharness/wsharness/conformance/browser/chromium"
	"github.com/wsharness/wsharness/conformance/casekit"
	"github.com/wsharness/wsharness/conformance/cases"
	"github.com/wsharness/wsharness/internal/selfsigned"
	"github.com/wsharness/wsharness/internal/testtarget"
	"github.com/wsharness/wsharness/results"
	"github.com/wsharness/wsharness/targets"
)

// startGorillaTLS starts the gorilla reference target twice, plain and
// over TLS with a fresh self-signed certificate, stopped when the test
// ends. It returns both echo URLs, the certificate and the running TLS
// instance.
func startGorillaTLS(t *testing.T) (plain, secure string, cert *selfsigned.Cert, run targets.Running) {
	t.Helper()
	p := testtarget.Start(t, "gorilla")
	s, cert := testtarget.StartTLS(t, "gorilla")
	return p.URL(targets.EchoPath), s.URL(targets.EchoPath), cert, s
}

// The handshake, framing (lengths up to 64 bits, 997-byte chops),
// ping/pong and close families and the octet-wise fragmentation cases give
// gorilla the same verdicts over wss:// as over ws://, nearly all OK; every
// one of them ran over a verified TLS session. Without the certificate as CA each fails
// with the x509 error.
func TestCasesOverTLS(t *testing.T) {
	plain, secure, cert, _ := startGorillaTLS(t)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cs := selectCases(cases.All(), []string{string(cases.FamilyHandshake), string(cases.FamilyFraming), string(cases.FamilyPingPong), string(cases.FamilyClose), "5.11", "5.14", "5.3", "5.4"})
	if len(cs) < 19+16 {
		t.Fatalf("selected %d cases", len(cs))
	}
	overWS := runEnv(ctx, casekit.Env{URL: plain}, cs, 4)
	overWSS := runEnv(ctx, casekit.Env{URL: secure, TLS: cert.ClientConfig()}, cs, 4)
	ok := 0
	for i, c := range cs {
		w, s := overWS[i], overWSS[i]
		if s.Verdict != w.Verdict || s.CloseVerdict != w.CloseVerdict {
			t.Errorf("%s %s: over wss %s/%s, over ws %s/%s\nwss observed: %s", c.ID, c.Title, s.Verdict, s.CloseVerdict, w.Verdict, w.CloseVerdict, indent(s.Observed))
		}
		if s.Unexpected() {
			t.Errorf("%s: unexpected result over wss: %s/%s\n%s", c.ID, s.Verdict, s.CloseVerdict, indent(s.Observed))
		}
		if s.Verdict == results.OK {
			ok++
		}
		if !wirelogHas(s, "TLS session with", "certificate verified") {
			t.Errorf("%s: the wire log does not show a verified TLS session", c.ID)
		}
	}
	// The rest are INFORMATIONAL cases, the same over ws://.
	if ok*10 < len(cs)*9 {
		t.Errorf("only %d of %d cases OK over wss", ok, len(cs))
	}
	t.Logf("%d cases, %d OK over wss://, verdicts as over ws://", len(cs), ok)

	// The same cases, the client not trusting the certificate.
	untrusted := runEnv(ctx, casekit.Env{URL: secure, TLS: &tls.Config{}}, cs[:3], 4)
	for i, r := range untrusted {
		if r.Verdict != results.Failed || !strings.Contains(r.Observed, "x509: certificate signed by unknown authority") {
			t.Errorf("%s without the CA: %s, %q; want FAILED with the x509 error", cs[i].ID, r.Verdict, r.Observed)
		}
	}
}

func wirelogHas(r results.Case, all ...string) bool {
	for _, e := range r.Wirelog {
		found := true
		for _, s := range all {
			found = found && strings.Contains(e.Note, s)
		}
		if found {
			return true
		}
	}
	return false
}

// In a TLS run Chromium plays the browser cases over wss:// without
// verifying the self-signed certificate, and every such result says so;
// a Chromium that verifies refuses the certificate, which is why TLS runs
// launch it with --ignore-certificate-errors.
func TestBrowserCasesOverTLS(t *testing.T) {
	exe, err := chromium.Find()
	if err != nil {
		if os.Getenv("WSH_REQUIRE_BROWSER") != "" {
			t.Fatalf("WSH_REQUIRE_BROWSER is set: %v", err)
		}
		t.Skipf("skipping the real-browser test: %v", err)
	}
	_, secure, cert, run := startGorillaTLS(t)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cs := selectCases(cases.ByFamily(cases.FamilyBrowser), []string{"200.1.2", "200.3.5", "200.4.1", "200.5.1"})

	b, err := chromium.LaunchWith(ctx, exe, chromium.LaunchOptions{IgnoreCertificateErrors: true})
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	env := casekit.Env{URL: secure, BroadcastURL: run.URL(targets.BroadcastPath), TLS: cert.ClientConfig(), Browser: b}
	for i, r := range runEnv(ctx, env, cs, 4) {
		if r.Verdict != results.OK || r.CloseVerdict != results.CloseOK {
			t.Errorf("%s over wss: %s/%s\n%s", cs[i].ID, r.Verdict, r.CloseVerdict, indent(r.Observed))
		}
		const note = "TLS: Chromium did not verify the server's certificate"
		if !strings.Contains(r.Observed, note) || !wirelogHas(r, note, "verifies it against the given CA file") {
			t.Errorf("%s: the result does not say Chromium left the certificate unverified:\n%s", cs[i].ID, indent(r.Observed))
		}
	}

	strict, err := chromium.Launch(ctx, exe)
	if err != nil {
		t.Fatal(err)
	}
	defer strict.Close()
	env.Browser = strict
	r := cs[0].Run(ctx, env)
	if r.Verdict == results.OK || strings.Contains(r.Observed, "TLS: ") {
		t.Errorf("a verifying Chromium accepted the self-signed certificate: %s\n%s", r.Verdict, indent(r.Observed))
	}
}
