package loadgen_test

import (
	"context"
	"errors"
	"io"
	"net"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"golang.org/x/net/http2"

	"github.com/wsharness/wsharness/internal/testnet"
	"github.com/wsharness/wsharness/internal/testtarget"
	"github.com/wsharness/wsharness/loadgen"
	"github.com/wsharness/wsharness/targets"
	"github.com/wsharness/wsharness/wire"
)

// countingProxy forwards TCP connections to addr and counts them: the
// server side's view of how many TCP connections the generator made.
func countingProxy(t *testing.T, addr string) (proxyAddr string, accepted *atomic.Int64) {
	t.Helper()
	accepted = new(atomic.Int64)
	proxyAddr = testnet.Serve(t, func(c net.Conn) {
		accepted.Add(1)
		up, err := net.DialTimeout("tcp", addr, 5*time.Second)
		if err != nil {
			return
		}
		defer up.Close()
		done := make(chan struct{}, 2)
		go func() { _, _ = io.Copy(up, c); done <- struct{}{} }()
		go func() { _, _ = io.Copy(c, up); done <- struct{}{} }()
		<-done
	})
	return proxyAddr, accepted
}

// gobwasH2 serves gobwas-h2 and returns its echo URL over HTTP/2 through a
// counting proxy.
func gobwasH2(t *testing.T) (url string, accepted *atomic.Int64) {
	t.Helper()
	u := testtarget.Start(t, "gobwas-h2").URL(targets.EchoPath)
	if !strings.HasPrefix(u, "ws+h2://") {
		t.Fatalf("gobwas-h2 serves %s, want a ws+h2:// URL", u)
	}
	host, path, _ := strings.Cut(strings.TrimPrefix(u, "ws+h2://"), "/")
	proxy, accepted := countingProxy(t, host)
	return "ws+h2://" + proxy + "/" + path, accepted
}

// K streams per connection: 20 WebSockets over HTTP/2 with 10 streams to
// a connection reach the server on 2 TCP connections (3 for 25), every
// echo comes back and its latency is recorded, and the result says so.
func TestEchoOverH2StreamsShareConnections(t *testing.T) {
	for _, tc := range []struct{ conns, k, tcp int }{{20, 10, 2}, {25, 10, 3}, {4, 1, 4}, {200, 100, 2}} {
		url, accepted := gobwasH2(t)
		res, err := loadgen.Run(context.Background(), loadgen.Config{
			Scenario: loadgen.ScenarioEcho, URL: url, StreamsPerConn: tc.k,
			Conns: tc.conns, Rate: 400, Duration: time.Second, Drain: time.Second,
		})
		if err != nil {
			t.Fatal(err)
		}
		if c := res.Connections; c.Established != tc.conns || c.Failed != 0 || c.Dropped != 0 || c.TCP != tc.tcp {
			t.Fatalf("K=%d: connections %+v, want %d WebSockets on %d TCP connections", tc.k, c, tc.conns, tc.tcp)
		}
		if got := accepted.Load(); got != int64(tc.tcp) {
			t.Errorf("K=%d: the server accepted %d TCP connections, want %d", tc.k, got, tc.tcp)
		}
		if m := res.Messages; m.Received < 300 || m.Received != m.Sent || m.Errors != 0 || m.Lost != 0 || m.Unmatched != 0 {
			t.Errorf("K=%d: messages %+v, want about 400, all echoed", tc.k, m)
		}
		if res.LatencyUS == nil || res.LatencyUS.Count == 0 || res.ServiceTimeUS == nil {
			t.Errorf("K=%d: no echo latency recorded over HTTP/2", tc.k)
		}
		if p := res.Params; p.Transport != "HTTP/2" || p.StreamsPerConn != tc.k {
			t.Errorf("K=%d: params say transport %q, %d streams per connection", tc.k, p.Transport, p.StreamsPerConn)
		}
		if res.Generator == nil || res.Generator.LagUS == nil || res.Generator.LagUS.Count == 0 {
			t.Errorf("K=%d: the generator's own lag was not measured over HTTP/2", tc.k)
		}
	}
}

// The same target over HTTP/1.1 (its ws:// URL, ToH1) takes a TCP
// connection per WebSocket and says HTTP/1.1.
func TestEchoOverH1OnTheH2Target(t *testing.T) {
	url, accepted := gobwasH2(t)
	res, err := loadgen.Run(context.Background(), loadgen.Config{
		Scenario: loadgen.ScenarioEcho, URL: loadgen.ToH1(url), Conns: 5, Rate: 100, Duration: 500 * time.Millisecond, Drain: time.Second,
	})
	if err != nil {
		t.Fatal(err)
	}
	if c := res.Connections; c.Established != 5 || c.TCP != 5 || accepted.Load() != 5 {
		t.Errorf("connections %+v, %d accepted: want 5 TCP connections", c, accepted.Load())
	}
	if p := res.Params; p.Transport != "HTTP/1.1" || p.StreamsPerConn != 1 {
		t.Errorf("params say transport %q, %d streams per connection", p.Transport, p.StreamsPerConn)
	}
	if m := res.Messages; m.Received == 0 || m.Received != m.Sent {
		t.Errorf("messages %+v: want every echo", m)
	}
}

// broadcast over HTTP/2 streams reaches every stream.
func TestBroadcastOverH2(t *testing.T) {
	u := testtarget.Start(t, "gobwas-h2").URL(targets.BroadcastPath)
	res, err := loadgen.Run(context.Background(), loadgen.Config{
		Scenario: loadgen.ScenarioBroadcast, URL: u, StreamsPerConn: 5,
		Conns: 10, Rate: 20, Duration: time.Second, Drain: time.Second,
	})
	if err != nil {
		t.Fatal(err)
	}
	if c := res.Connections; c.Established != 10 || c.TCP != 2 {
		t.Fatalf("connections %+v, want 10 streams on 2 connections", c)
	}
	if res.DeliveryRatio == nil || *res.DeliveryRatio < 0.99 {
		t.Errorf("delivery ratio %v, want every broadcast delivered", res.DeliveryRatio)
	}
}

// fakeH2 is a raw HTTP/2 server that reads the client preface, sends
// settings and then only reads: what the run learns from SETTINGS alone.
func fakeH2(t *testing.T, settings ...http2.Setting) (addr string, accepted *atomic.Int64) {
	t.Helper()
	accepted = new(atomic.Int64)
	addr = testnet.ServeH2(t, func(fr *http2.Framer, _ net.Conn) {
		accepted.Add(1)
		if err := fr.WriteSettings(settings...); err != nil {
			return
		}
		for {
			f, err := fr.ReadFrame()
			if err != nil {
				return
			}
			if sf, ok := f.(*http2.SettingsFrame); ok && !sf.IsAck() {
				_ = fr.WriteSettingsAck()
			}
		}
	})
	return addr, accepted
}

// A server that does not advertise SETTINGS_ENABLE_CONNECT_PROTOCOL fails
// the run with one error, wire.ErrNoExtendedConnect, on its first
// connection: no ramp of failures.
func TestH2WithoutExtendedConnect(t *testing.T) {
	addr, accepted := fakeH2(t)
	start := time.Now()
	_, err := loadgen.Run(context.Background(), loadgen.Config{
		Scenario: loadgen.ScenarioEcho, URL: "ws+h2://" + addr + "/echo", StreamsPerConn: 10,
		Conns: 100, Rate: 100, Duration: time.Second,
	})
	if !errors.Is(err, wire.ErrNoExtendedConnect) {
		t.Fatalf("err = %v, want wire.ErrNoExtendedConnect", err)
	}
	if se := (*loadgen.SetupError)(nil); !errors.As(err, &se) {
		t.Errorf("err %T is not a *loadgen.SetupError", err)
	}
	if strings.Contains(err.Error(), "\n") {
		t.Errorf("error %q is more than one line", err)
	}
	if n := accepted.Load(); n != 1 {
		t.Errorf("%d TCP connections made, want 1", n)
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Errorf("took %v", d)
	}
}

// More streams per connection than the server's
// SETTINGS_MAX_CONCURRENT_STREAMS is a clear error before the ramp, never
// a wait.
func TestH2StreamLimit(t *testing.T) {
	addr, _ := fakeH2(t, http2.Setting{ID: http2.SettingEnableConnectProtocol, Val: 1},
		http2.Setting{ID: http2.SettingMaxConcurrentStreams, Val: 4})
	_, err := loadgen.Run(context.Background(), loadgen.Config{
		Scenario: loadgen.ScenarioConnect, URL: "ws+h2://" + addr + "/echo", StreamsPerConn: 5,
		Conns: 10, Duration: time.Second,
	})
	if !errors.Is(err, loadgen.ErrStreamLimit) || !strings.Contains(err.Error(), "allows 4 concurrent streams") {
		t.Fatalf("err = %v, want ErrStreamLimit naming the server's 4", err)
	}
}

// A server that answers the extended CONNECT with something other than
// 200 fails each WebSocket as a bad handshake; one that never answers
// fails them as timeouts within the dial timeout.
func TestH2StreamRefusedOrUnanswered(t *testing.T) {
	// Settings allow the extended CONNECT, but no stream is ever
	// answered.
	addr, _ := fakeH2(t, http2.Setting{ID: http2.SettingEnableConnectProtocol, Val: 1})
	var mu sync.Mutex
	var reason string
	start := time.Now()
	res, err := loadgen.Run(context.Background(), loadgen.Config{
		Scenario: loadgen.ScenarioConnect, URL: "ws+h2://" + addr + "/echo", StreamsPerConn: 3,
		Conns: 3, Duration: 100 * time.Millisecond, DialTimeout: 500 * time.Millisecond,
		DialError: func(_ string, err error) { mu.Lock(); reason = err.Error(); mu.Unlock() },
	})
	if err != nil {
		t.Fatal(err)
	}
	if c := res.Connections; c.Established != 0 || c.Failures[loadgen.FailTimeout] != 3 {
		t.Errorf("connections %+v, want 3 timeouts (reason %q)", c, reason)
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Errorf("took %v: an unanswered stream must fail within the dial timeout", d)
	}

	// gobwas-h2 refuses a CONNECT to a path it does not serve.
	u := testtarget.Start(t, "gobwas-h2").URL("/nowhere")
	res, err = loadgen.Run(context.Background(), loadgen.Config{
		Scenario: loadgen.ScenarioConnect, URL: u, StreamsPerConn: 2, Conns: 2, Duration: 100 * time.Millisecond,
		DialError: func(_ string, err error) { mu.Lock(); reason = err.Error(); mu.Unlock() },
	})
	if err != nil {
		t.Fatal(err)
	}
	if c := res.Connections; c.Established != 0 || c.Failures[loadgen.FailBadHandshake] != 2 {
		t.Errorf("connections %+v, want 2 bad handshakes", c)
	}
	if !strings.Contains(reason, ":status 404") {
		t.Errorf("reason %q, want the :status", reason)
	}
}

// StreamsPerConn is checked: 1 to MaxStreamsPerConn, and more than 1 only
// over HTTP/2.
func TestStreamsPerConnValidation(t *testing.T) {
	for _, tc := range []struct {
		url  string
		k    int
		want string
	}{
		{"ws://127.0.0.1:1/echo", 2, "streams need HTTP/2"},
		{"ws+h2://127.0.0.1:1/echo", -1, "want 1 to 1000"},
		{"ws+h2://127.0.0.1:1/echo", 1001, "want 1 to 1000"},
		{"http://127.0.0.1:1/echo", 1, "want a ws:// or wss://"},
	} {
		err := loadgen.Config{Scenario: loadgen.ScenarioConnect, URL: tc.url, StreamsPerConn: tc.k, Conns: 1,
			Duration: time.Second, MaxInflight: 1, DialTimeout: time.Second}.Validate()
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s K=%d: err %v, want %q", tc.url, tc.k, err, tc.want)
		}
	}
	for _, k := range []int{0, 1} {
		if err := (loadgen.Config{Scenario: loadgen.ScenarioConnect, URL: "ws://127.0.0.1:1/", StreamsPerConn: k, Conns: 1,
			Duration: time.Second, MaxInflight: 1, DialTimeout: time.Second}).Validate(); err != nil {
			t.Errorf("K=%d over HTTP/1.1: %v", k, err)
		}
	}
	if got := loadgen.ToH2("wss://h:1/x"); got != "wss+h2://h:1/x" {
		t.Errorf("ToH2 = %s", got)
	}
	if got := loadgen.ToH1("ws+h2://h:1/x"); got != "ws://h:1/x" {
		t.Errorf("ToH1 = %s", got)
	}
}

// Over TLS (wss+h2://, ALPN h2) the streams share connections as over
// cleartext.
func TestEchoOverH2TLS(t *testing.T) {
	s, cert := testtarget.StartTLS(t, "gobwas-h2")
	u := s.URL(targets.EchoPath)
	if !strings.HasPrefix(u, "wss+h2://") {
		t.Fatalf("gobwas-h2 over TLS serves %s", u)
	}
	res, err := loadgen.Run(context.Background(), loadgen.Config{
		Scenario: loadgen.ScenarioEcho, URL: u, TLS: cert.ClientConfig(), StreamsPerConn: 4,
		Conns: 8, Rate: 200, Duration: 500 * time.Millisecond, Drain: time.Second,
	})
	if err != nil {
		t.Fatal(err)
	}
	if c := res.Connections; c.Established != 8 || c.TCP != 2 {
		t.Fatalf("connections %+v, want 8 streams on 2 TLS connections", c)
	}
	if m := res.Messages; m.Received == 0 || m.Received != m.Sent {
		t.Errorf("messages %+v", m)
	}
	// Without the certificate, the TLS failure is counted as tls.
	res, err = loadgen.Run(context.Background(), loadgen.Config{
		Scenario: loadgen.ScenarioConnect, URL: u, StreamsPerConn: 4, Conns: 8, Duration: 100 * time.Millisecond,
	})
	if err != nil {
		t.Fatal(err)
	}
	if c := res.Connections; c.Established != 0 || c.Failures[loadgen.FailTLS] != 8 {
		t.Errorf("without the CA: connections %+v, want 8 failed as %s", c, loadgen.FailTLS)
	}
}
