package loadgen_test

import (
	"context"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/wsharness/wsharness/internal/selfsigned"
	"github.com/wsharness/wsharness/internal/testtarget"
	"github.com/wsharness/wsharness/loadgen"
	"github.com/wsharness/wsharness/targets"
)

// startTLSTarget serves the gorilla reference target over TLS with a fresh
// self-signed certificate, and plainly, until the test ends.
func startTLSTarget(t *testing.T) (wss, ws string, cert *selfsigned.Cert) {
	t.Helper()
	s, cert := testtarget.StartTLS(t, "gorilla")
	return s.URL(targets.EchoPath), testtarget.Start(t, "gorilla").URL(targets.EchoPath), cert
}

// An echo load over wss:// trusting the target's certificate measures like
// one over ws://; without it every connection fails as "tls", and the
// error behind the count is the certificate's.
func TestEchoOverTLS(t *testing.T) {
	wss, ws, cert := startTLSTarget(t)
	res, err := loadgen.Run(context.Background(), loadgen.Config{
		Scenario: loadgen.ScenarioEcho, URL: wss, TLS: cert.ClientConfig(),
		Conns: 10, Rate: 200, Duration: time.Second, Drain: time.Second,
	})
	if err != nil {
		t.Fatal(err)
	}
	if c := res.Connections; c.Established != 10 || c.Failed != 0 {
		t.Fatalf("connections %+v: want all 10 over TLS", c)
	}
	if m := res.Messages; m.Received < 150 || m.Received != m.Sent || m.Errors != 0 || m.Lost != 0 {
		t.Errorf("messages %+v: want about 200, all echoed", m)
	}
	if res.LatencyUS == nil || res.LatencyUS.Count == 0 {
		t.Error("no latency measured over TLS")
	}

	var mu sync.Mutex
	reasons := map[string]string{}
	res, err = loadgen.Run(context.Background(), loadgen.Config{
		Scenario: loadgen.ScenarioConnect, URL: wss, Conns: 10, Duration: 100 * time.Millisecond,
		DialError: func(kind string, err error) {
			mu.Lock()
			reasons[kind] = err.Error()
			mu.Unlock()
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	if c := res.Connections; c.Established != 0 || c.Failures[loadgen.FailTLS] != 10 {
		t.Fatalf("without the CA: connections %+v, want 10 failed as %s", c, loadgen.FailTLS)
	}
	if r := reasons[loadgen.FailTLS]; !strings.Contains(r, "x509: certificate signed by unknown authority") {
		t.Errorf("the tls failures' error is %q, want the certificate's", r)
	}

	// A wss:// client at a plain server fails the TLS handshake too.
	res, err = loadgen.Run(context.Background(), loadgen.Config{
		Scenario: loadgen.ScenarioConnect, URL: "wss" + strings.TrimPrefix(ws, "ws"), TLS: cert.ClientConfig(),
		Conns: 3, Duration: 100 * time.Millisecond,
	})
	if err != nil {
		t.Fatal(err)
	}
	if c := res.Connections; c.Established != 0 || c.Failures[loadgen.FailTLS] != 3 {
		t.Errorf("wss:// to a plain server: connections %+v, want 3 failed as %s", c, loadgen.FailTLS)
	}
}
