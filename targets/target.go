// Package targets holds the WebSocket servers wsharness tests: the built-in
// reference servers (one http.Handler per library configuration), the
// adapter for a server the user already runs at a URL, and StartProcess,
// which runs a reference target in its own process for load tests.
package targets

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"net/http"
	"sync"
	"time"

	"github.com/wsharness/wsharness/internal/selfsigned"
	"github.com/wsharness/wsharness/wire"
)

// Endpoint paths every reference target serves.
const (
	EchoPath      = "/echo"
	BroadcastPath = "/broadcast"
)

// Info describes a target for listings and reports.
type Info struct {
	Name        string `json:"name"`
	Library     string `json:"library"` // module path and version, or "external"
	Description string `json:"description"`
	// Default marks a "-default" variant: the library run exactly as its
	// README example does, expected to deviate from the RFC in known ways.
	Default bool `json:"default"`
	// Role is what the target is: a server (the zero value), or a client
	// the harness judges by playing the server.
	Role wire.Role `json:"role,omitzero"`
}

// Target is the one seam between the suites/load generator and a server.
type Target interface {
	Info() Info
	// Start makes the target reachable. addr is a HOST:PORT to listen on
	// (":0" ports allowed); targets that already run elsewhere ignore it.
	Start(ctx context.Context, addr string) (Running, error)
}

// TLSTarget is a target that can also serve TLS, at wss:// URLs. Every
// built-in target is one; see StartTLS.
type TLSTarget interface {
	Target
	// StartTLS is Start with every connection served over TLS with cfg
	// (which holds the server's certificate).
	StartTLS(ctx context.Context, addr string, cfg *tls.Config) (Running, error)
}

// StartTLS starts t serving TLS with cfg, when t can (every built-in
// target can; a server started by command or already running cannot be
// told to).
func StartTLS(ctx context.Context, t Target, addr string, cfg *tls.Config) (Running, error) {
	tt, ok := t.(TLSTarget)
	if !ok {
		return nil, fmt.Errorf("target %s cannot be started with TLS: only the built-in targets can", t.Info().Name)
	}
	return tt.StartTLS(ctx, addr, cfg)
}

// ServesTLS reports whether Start serves t over TLS by itself, with a
// certificate made at Start that only its Running's client configuration
// trusts (see ClientTLS): gobwas-h2-tls, which a browser reaches over
// RFC 8441 where it never speaks h2c.
func ServesTLS(t Target) bool {
	s, ok := t.(interface{ ServesTLS() bool })
	return ok && s.ServesTLS()
}

// ClientTLS returns the client TLS configuration that trusts r's
// certificate, for a target that serves TLS by itself (ServesTLS); nil
// for any other, whose clients use the run's configuration.
func ClientTLS(r Running) *tls.Config {
	if c, ok := r.(interface{ ClientTLS() *tls.Config }); ok {
		return c.ClientTLS()
	}
	return nil
}

// Running is a started target.
type Running interface {
	// URL returns the ws:// URL (wss:// when it serves TLS) of an
	// endpoint path such as EchoPath; ws+h2:// (wss+h2://) for a target
	// served over HTTP/2.
	URL(path string) string
	// Stop stops accepting connections and returns once the listener is
	// closed. WebSocket connections already open are owned by their
	// handlers and end when their peers close them.
	Stop(ctx context.Context) error
}

// handlerTarget serves a fresh http.Handler on a loopback listener.
type handlerTarget struct {
	info       Info
	newHandler func() http.Handler
	variant    variant
	// ownTLS: Start serves TLS with a self-signed certificate made for
	// the run, so that the target is reachable over TLS without the
	// user's certificate (ServesTLS).
	ownTLS bool
}

// ServesTLS reports whether Start serves TLS by itself.
func (t handlerTarget) ServesTLS() bool { return t.ownTLS }

func (t handlerTarget) Info() Info {
	info := t.info
	info.Default = t.variant == asREADME
	return info
}

func (t handlerTarget) Start(ctx context.Context, addr string) (Running, error) {
	if !t.ownTLS {
		return t.start(ctx, addr, nil)
	}
	// A fresh certificate per start: it is trusted by the one Running
	// that hands it out, never by the machine.
	cert, err := selfsigned.Generate()
	if err != nil {
		return nil, fmt.Errorf("target %s: %w", t.info.Name, err)
	}
	r, err := t.StartTLS(ctx, addr, cert.ServerConfig())
	if err != nil {
		return nil, err
	}
	return &trustedRunning{Running: r, client: cert.ClientConfig()}, nil
}

// trustedRunning is a target serving TLS with a certificate of its own,
// and the client configuration that trusts it.
type trustedRunning struct {
	Running
	client *tls.Config
}

// ClientTLS returns a configuration trusting the target's certificate
// alone; a copy, so that a caller may set its ALPN or server name.
func (r *trustedRunning) ClientTLS() *tls.Config { return r.client.Clone() }

// StartTLS serves the same handler over TLS: the listener hands the HTTP
// server TLS connections, which the libraries then hijack like TCP ones.
// ALPN offers only HTTP/1.1, the protocol of the upgrade; an HTTP/2 target
// offers h2 first.
func (t handlerTarget) StartTLS(ctx context.Context, addr string, cfg *tls.Config) (Running, error) {
	if cfg == nil || (len(cfg.Certificates) == 0 && cfg.GetCertificate == nil && cfg.GetConfigForClient == nil) {
		return nil, fmt.Errorf("target %s: TLS needs a certificate", t.info.Name)
	}
	cfg = cfg.Clone()
	cfg.NextProtos = []string{"http/1.1"}
	if t.variant == configuredH2 {
		cfg.NextProtos = []string{"h2", "http/1.1"}
	}
	return t.start(ctx, addr, cfg)
}

func (t handlerTarget) start(ctx context.Context, addr string, cfg *tls.Config) (Running, error) {
	var lc net.ListenConfig
	ln, err := lc.Listen(ctx, "tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("target %s: listen on %s: %w", t.info.Name, addr, err)
	}
	srv := &http.Server{
		Handler:           t.newHandler(),
		ReadHeaderTimeout: 10 * time.Second,
	}
	s := &httpRunning{srv: srv, addr: ln.Addr().String(), scheme: "ws"}
	if cfg != nil {
		ln, s.scheme = tls.NewListener(ln, cfg), "wss"
	}
	if t.variant == configuredH2 {
		// HTTP/1.1 stays, so that the same target can be compared over
		// both transports; HTTP/2 is h2c with prior knowledge (RFC 9113
		// §3.3) or, over TLS, what ALPN picks.
		srv.Protocols = new(http.Protocols)
		srv.Protocols.SetHTTP1(true)
		srv.Protocols.SetUnencryptedHTTP2(cfg == nil)
		srv.Protocols.SetHTTP2(cfg != nil)
		s.scheme += "+h2"
		s.h2 = true
	}
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			s.serveErr = err
		}
	}()
	return s, nil
}

type httpRunning struct {
	srv      *http.Server
	addr     string
	scheme   string // ws or wss, with +h2 for an HTTP/2 target
	h2       bool
	wg       sync.WaitGroup
	serveErr error
}

func (s *httpRunning) URL(path string) string { return s.scheme + "://" + s.addr + path }

// h2DrainTimeout bounds how long the WebSocket streams of a stopped
// HTTP/2 target stay open; then their connections are closed.
const h2DrainTimeout = 30 * time.Second

func (s *httpRunning) Stop(ctx context.Context) error {
	if s.h2 {
		// Shutdown closes the listener and sends GOAWAY, then waits for
		// the open streams, WebSocket ones included: net/http owns
		// them, unlike hijacked connections. Stop returns once the
		// listener is closed, as for the other targets, and the streams
		// end when their peers close them or the drain bound passes.
		go func() {
			drain, cancel := context.WithTimeout(context.Background(), h2DrainTimeout)
			defer cancel()
			if s.srv.Shutdown(drain) != nil {
				_ = s.srv.Close()
			}
		}()
		s.wg.Wait()
		return s.serveErr
	}
	// Shutdown does not track hijacked (WebSocket) connections; the
	// handlers own those and end when their peers go away.
	err := s.srv.Shutdown(ctx)
	s.wg.Wait()
	if err != nil {
		return fmt.Errorf("stop %s: %w", s.addr, err)
	}
	return s.serveErr
}

// URLTarget is a server the user runs: it is never started, only addressed.
type URLTarget struct {
	Name    string
	EchoURL string
}

func (u URLTarget) Info() Info {
	return Info{Name: u.Name, Library: "external", Description: "user server at " + u.EchoURL}
}

func (u URLTarget) Start(context.Context, string) (Running, error) { return fixedURL(u.EchoURL), nil }

type fixedURL string

// URL returns the user's echo URL for every path: conformance only needs /echo.
func (f fixedURL) URL(string) string          { return string(f) }
func (f fixedURL) Stop(context.Context) error { return nil }
