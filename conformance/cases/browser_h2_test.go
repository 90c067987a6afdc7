package cases_test

import (
	"context"
	"crypto/tls"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/wsharness/wsharness/conformance/browser/chromium"
	"github.com/wsharness/wsharness/conformance/casekit"
	"github.com/wsharness/wsharness/conformance/cases"
	"github.com/wsharness/wsharness/internal/selfsigned"
	"github.com/wsharness/wsharness/results"
	"github.com/wsharness/wsharness/targets"
)

// alpnCount counts a TLS server's connections by the protocol ALPN chose.
type alpnCount struct {
	mu  sync.Mutex
	got map[string]int
}

func (a *alpnCount) counts() map[string]int {
	a.mu.Lock()
	defer a.mu.Unlock()
	out := map[string]int{}
	for k, v := range a.got {
		out[k] = v
	}
	return out
}

// startTLSCounting serves the target name over TLS with a fresh
// self-signed certificate, counting its TLS connections by ALPN protocol:
// the server's own view of whether a client came over HTTP/2 or HTTP/1.1.
func startTLSCounting(t *testing.T, name string) (targets.Running, *alpnCount) {
	t.Helper()
	target, err := targets.Lookup(name)
	if err != nil {
		t.Fatal(err)
	}
	cert, err := selfsigned.Generate()
	if err != nil {
		t.Fatal(err)
	}
	count := &alpnCount{got: map[string]int{}}
	cfg := cert.ServerConfig()
	// VerifyConnection runs on the server for every handshake, client
	// certificate or not.
	cfg.VerifyConnection = func(cs tls.ConnectionState) error {
		count.mu.Lock()
		count.got[cs.NegotiatedProtocol]++
		count.mu.Unlock()
		return nil
	}
	run, err := targets.StartTLS(context.Background(), target, "127.0.0.1:0", cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = run.Stop(context.Background()) })
	return run, count
}

// launchBrowserTLS is launchBrowser for a target with a self-signed
// certificate.
func launchBrowserTLS(t *testing.T) *chromium.Browser {
	t.Helper()
	exe := findChromiumOrSkip(t)
	b, err := chromium.LaunchWith(context.Background(), exe, chromium.LaunchOptions{IgnoreCertificateErrors: true})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(b.Close)
	return b
}

// Chromium plays the whole browser family against gobwas-h2 over TLS at
// its wss+h2:// URL, every WebSocket an RFC 8441 extended CONNECT on an
// HTTP/2 session, and every case passes. DevTools says so (a 200 to a
// request without Sec-WebSocket-Key), and so does the server: every TLS
// connection it accepted chose h2, so no HTTP/1.1 upgrade reached it.
func TestBrowserFamilyOverHTTP2(t *testing.T) {
	b := launchBrowserTLS(t)
	run, alpn := startTLSCounting(t, "gobwas-h2")
	echo := run.URL(targets.EchoPath)
	if !strings.HasPrefix(echo, "wss+h2://") {
		t.Fatalf("gobwas-h2 over TLS serves %s, want a wss+h2:// URL", echo)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	env := casekit.Env{URL: echo, BroadcastURL: run.URL(targets.BroadcastPath), Browser: b}
	got := runBrowserFamily(ctx, env)
	if len(got) != len(cases.ByFamily(cases.FamilyBrowser)) {
		t.Fatalf("%d results", len(got))
	}
	for id, r := range got {
		if r.Verdict != results.OK || r.CloseVerdict != results.CloseOK || r.HarnessError != "" {
			t.Errorf("%s (%s): verdict %s, close %s\n%s", id, r.Title, r.Verdict, r.CloseVerdict, indent(r.Observed))
		}
		if !strings.Contains(r.Observed, "RFC 8441: Chromium opened the WebSocket as an extended CONNECT") ||
			!wirelogHas(r, "HTTP/2: Chromium sent an extended CONNECT") {
			t.Errorf("%s: the result does not say Chromium used RFC 8441:\n%s", id, indent(r.Observed))
		}
		if !strings.HasPrefix(r.Handshake.Response, "HTTP/1.1 200") || strings.Contains(strings.ToLower(r.Handshake.Request), "sec-websocket-key") {
			t.Errorf("%s: the handshake DevTools showed is not RFC 8441's: %+v", id, r.Handshake)
		}
	}
	c := alpn.counts()
	if c["h2"] == 0 || len(c) != 1 {
		t.Errorf("the server's TLS connections by ALPN protocol: %v, want h2 only", c)
	}
}

// A wss+h2:// URL on a server that speaks only HTTP/1.1 (gorilla over
// TLS, ALPN http/1.1): Chromium's fetch of the origin gets no HTTP/2
// session, the WebSocket goes out as an HTTP/1.1 upgrade, and the case is
// INFORMATIONAL, saying why, not a verdict on the server.
func TestBrowserFallbackToHTTP1IsInformational(t *testing.T) {
	b := launchBrowserTLS(t)
	run, _ := startTLSCounting(t, "gorilla")
	h2URL := strings.Replace(run.URL(targets.EchoPath), "wss://", "wss+h2://", 1)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	cs := selectCases(cases.ByFamily(cases.FamilyBrowser), []string{"200.1.2", "200.5.1"})
	for i, r := range runEnv(ctx, casekit.Env{URL: h2URL, Browser: b}, cs, 2) {
		if r.Verdict != results.Informational || r.CloseVerdict != results.CloseOK {
			t.Errorf("%s: verdict %s, close %s, want INFORMATIONAL\n%s", cs[i].ID, r.Verdict, r.CloseVerdict, indent(r.Observed))
		}
		for _, want := range []string{"the browser did not use RFC 8441", "Sec-WebSocket-Key sent, HTTP 101", "went over http/1.1", "over HTTP/1.1 it was OK"} {
			if !strings.Contains(r.Observed, want) {
				t.Errorf("%s: observed lacks %q:\n%s", cs[i].ID, want, indent(r.Observed))
			}
		}
	}
}

// No browser speaks h2c: against a ws+h2:// URL every browser case is
// UNIMPLEMENTED with that reason, without a browser and without failing
// the run (no harness error).
func TestBrowserFamilyOverH2CIsUnimplemented(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	env := casekit.Env{URL: "ws+h2://127.0.0.1:9/echo", BroadcastURL: "ws+h2://127.0.0.1:9/broadcast"}
	if why := cases.BrowserUnreachable(env.URL); !strings.Contains(why, "h2c") {
		t.Errorf("BrowserUnreachable(%s) = %q", env.URL, why)
	}
	for _, u := range []string{"ws://127.0.0.1:9/echo", "wss://127.0.0.1:9/echo", "wss+h2://127.0.0.1:9/echo"} {
		if why := cases.BrowserUnreachable(u); why != "" {
			t.Errorf("BrowserUnreachable(%s) = %q, want none", u, why)
		}
	}
	for _, c := range cases.ByFamily(cases.FamilyBrowser) {
		r := c.Run(ctx, env)
		if r.Verdict != results.Unimplemented || r.HarnessError != "" || !strings.Contains(r.Observed, "no browser speaks WebSocket over cleartext HTTP/2") {
			t.Errorf("%s: verdict %s, harness error %q\n%s", c.ID, r.Verdict, r.HarnessError, indent(r.Observed))
		}
	}
}
