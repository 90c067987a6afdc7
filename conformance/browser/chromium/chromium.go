// Package chromium plays browser interop scenarios in headless Chromium,
// driven over the DevTools protocol (chromedp): the page's WebSocket does
// the talking, and the protocol's network and log events show the
// handshake, the messages and the errors the browser saw underneath.
package chromium

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/chromedp/cdproto/cdp"
	cdplog "github.com/chromedp/cdproto/log"
	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/cdproto/runtime"
	"github.com/chromedp/chromedp"

	"github.com/wsharness/wsharness/conformance/browser"
	"github.com/wsharness/wsharness/wire"
)

// ErrNotFound is returned by Find when no Chromium executable exists.
var ErrNotFound = errors.New("no Chromium found (install it with `make deps`, or set WSH_CHROMIUM to its path)")

// Names are the Chromium executables Find looks for on PATH, in order.
// chromium-headless-shell comes first: it is the same Chromium release's
// network stack and Blink without the full browser's compositor and GPU
// process, and plays the browser family in half the wall time and CPU of
// the full browser's headless mode (measured here: 1.6 s against 3.5 s
// for its 48 cases on three targets).
var Names = []string{"chromium-headless-shell", "chromium", "chromium-browser", "google-chrome"}

// Find returns the Chromium to use: $WSH_CHROMIUM if set, else the first
// of Names on PATH.
func Find() (string, error) {
	if p := os.Getenv("WSH_CHROMIUM"); p != "" {
		path, err := exec.LookPath(p)
		if err != nil {
			return "", fmt.Errorf("WSH_CHROMIUM=%s: %w", p, err)
		}
		return path, nil
	}
	for _, name := range Names {
		if path, err := exec.LookPath(name); err == nil {
			return path, nil
		}
	}
	return "", ErrNotFound
}

// Flags are the command-line switches Chromium runs with, beyond
// chromedp's defaults (which add --headless).
var Flags = []chromedp.ExecAllocatorOption{
	chromedp.NoSandbox, chromedp.DisableGPU, chromedp.NoFirstRun,
	chromedp.Flag("disable-background-networking", true),
	chromedp.Flag("disable-component-update", true),
	chromedp.Flag("disable-sync", true),
}

// Browser is a running headless Chromium and the page server it loads
// the interop page from. It is safe for concurrent Run calls: each takes a
// tab of its own from a small pool. Opening a tab costs Chromium about a
// quarter of a second of CPU here, four times what a scenario itself
// costs, so tabs are reused: each Run reloads the page in its tab, which
// drops whatever the scenario before left behind.
type Browser struct {
	ctx      context.Context // the browser's chromedp context
	cancel   func()
	srv      *http.Server
	pageURL  string
	closeMux sync.Once
	// ignoreCertErrors: Chromium accepts any server certificate.
	ignoreCertErrors bool

	// idle holds tabs ready for a scenario; slots holds a token per tab
	// that may still be opened (MaxTabs in all).
	idle  chan *tab
	slots chan struct{}

	// echo is the page the client cases play in (Echo), nil until the
	// first.
	echoMu sync.Mutex
	echo   *echoPage
}

// DefaultMaxTabs bounds the tabs, and so the scenarios, in play at once.
// More tabs than this only make the scenarios queue for the CPU inside
// Chromium on a 2-core machine.
const DefaultMaxTabs = 4

// tab is one reusable tab; rec receives its events while a scenario plays.
type tab struct {
	ctx    context.Context
	cancel func()
	rec    atomic.Pointer[recorder]
}

// LaunchOptions change how Chromium runs.
type LaunchOptions struct {
	// IgnoreCertificateErrors runs Chromium with
	// --ignore-certificate-errors, so that its wss:// connections accept
	// a server certificate it cannot verify (a target's self-signed one).
	// The trace of every wss:// scenario then says so (Trace.TLSNote).
	IgnoreCertificateErrors bool
	// MaxTabs bounds the scenarios played at once; 0 means DefaultMaxTabs.
	MaxTabs int
}

// Launch starts Chromium (exe, see Find) and the page server on a
// loopback port. Close stops both.
func Launch(ctx context.Context, exe string) (*Browser, error) {
	return LaunchWith(ctx, exe, LaunchOptions{})
}

// LaunchWith is Launch with options.
func LaunchWith(ctx context.Context, exe string, o LaunchOptions) (*Browser, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, fmt.Errorf("browser page server: %w", err)
	}
	srv := &http.Server{Handler: browser.PageHandler(), ReadHeaderTimeout: 5 * time.Second}
	go func() { _ = srv.Serve(ln) }()

	opts := append(chromedp.DefaultExecAllocatorOptions[:], chromedp.ExecPath(exe))
	opts = append(opts, Flags...)
	if o.IgnoreCertificateErrors {
		opts = append(opts, chromedp.Flag("ignore-certificate-errors", true))
	}
	actx, acancel := chromedp.NewExecAllocator(context.WithoutCancel(ctx), opts...)
	bctx, bcancel := chromedp.NewContext(actx)
	b := &Browser{
		ctx: bctx, srv: srv, pageURL: "http://" + ln.Addr().String() + "/interop.html",
		cancel: func() { bcancel(); acancel() }, ignoreCertErrors: o.IgnoreCertificateErrors,
	}
	tabs := cmp.Or(o.MaxTabs, DefaultMaxTabs)
	b.idle, b.slots = make(chan *tab, tabs), make(chan struct{}, tabs)
	for range tabs {
		b.slots <- struct{}{}
	}
	// The first Run on a context starts the browser; do it now, bounded.
	start, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	done := make(chan error, 1)
	go func() { done <- chromedp.Do(bctx) }()
	select {
	case err = <-done:
	case <-start.Done():
		err = start.Err()
	}
	if err != nil {
		b.Close()
		return nil, fmt.Errorf("start %s: %w", exe, err)
	}
	return b, nil
}

// Close stops Chromium and the page server.
func (b *Browser) Close() {
	b.closeMux.Do(func() {
		b.cancel()
		_ = b.srv.Close()
	})
}

// Run plays one scenario in a tab of its own and returns what the page and
// the browser observed. An error means the browser itself failed (it
// crashed, the page did not load, ctx ended), not the server under test.
func (b *Browser) Run(ctx context.Context, sc browser.Scenario) (browser.Trace, error) {
	t, err := b.take(ctx)
	if err != nil {
		return browser.Trace{}, fmt.Errorf("browser scenario: %w", err)
	}
	// The tab's work must end with ctx too; a tab cut short is in an
	// unknown state and is closed, not reused.
	stop := context.AfterFunc(ctx, t.cancel)
	trace, err := b.play(t, sc)
	if stop() && err == nil {
		b.idle <- t
	} else {
		t.cancel()
		b.slots <- struct{}{}
	}
	if err != nil {
		if ctx.Err() != nil {
			return trace, fmt.Errorf("browser scenario: %w", ctx.Err())
		}
		return trace, fmt.Errorf("browser scenario %s on %s: %w", sc.Kind, sc.URL, err)
	}
	if b.ignoreCertErrors && strings.HasPrefix(strings.ToLower(sc.URL), "wss:") {
		trace.TLSNote = "Chromium did not verify the server's certificate (it runs with --ignore-certificate-errors in TLS runs)"
	}
	return trace, nil
}

// take returns an idle tab, or opens one while fewer than MaxTabs are
// open, or waits for one.
func (b *Browser) take(ctx context.Context) (*tab, error) {
	select {
	case t := <-b.idle:
		return t, nil
	default:
	}
	select {
	case t := <-b.idle:
		return t, nil
	case <-b.slots:
		t, err := b.open()
		if err != nil {
			b.slots <- struct{}{}
		}
		return t, err
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

// open opens a tab with its network and log events on, delivered to
// whichever recorder the tab has at the time.
func (b *Browser) open() (*tab, error) {
	t := &tab{}
	var err error
	t.ctx, t.cancel, err = b.openTab(true, func(ev any) {
		if r := t.rec.Load(); r != nil {
			r.event(ev)
		}
	})
	return t, err
}

// openTab opens a tab whose log events, and network events when withNetwork
// is set, go to listen.
func (b *Browser) openTab(withNetwork bool, listen func(ev any)) (context.Context, func(), error) {
	tctx, cancel := chromedp.NewContext(b.ctx)
	err := chromedp.Listen(tctx, listen)
	if err == nil {
		_, err = chromedp.Run(tctx, func(ctx context.Context, tg *chromedp.Target) (struct{}, error) {
			if withNetwork {
				if _, err := cdp.Call(ctx, tg, network.Enable, network.EnableParams{}); err != nil {
					return struct{}{}, fmt.Errorf("enable network events: %w", err)
				}
			}
			if _, err := cdp.Call(ctx, tg, cdplog.Enable, cdp.Empty{}); err != nil {
				return struct{}{}, fmt.Errorf("enable log events: %w", err)
			}
			return struct{}{}, nil
		})
	}
	if err != nil {
		cancel()
		return nil, nil, fmt.Errorf("open a browser tab: %w", err)
	}
	return tctx, cancel, nil
}

// play loads a fresh copy of the page in t and plays sc in it. The
// recorder starts after the load, so nothing the page before left behind
// (a socket closed by the reload, its console messages) enters the trace.
func (b *Browser) play(t *tab, sc browser.Scenario) (browser.Trace, error) {
	defer t.rec.Store(nil)
	rec := newRecorder(sc.Session)
	trace, err := chromedp.Run(t.ctx, func(ctx context.Context, tg *chromedp.Target) (browser.Trace, error) {
		if _, err := chromedp.Navigate(b.pageURL)(ctx, tg); err != nil {
			return browser.Trace{}, err
		}
		t.rec.Store(rec)
		return chromedp.Evaluate[browser.Trace]("window.wshRun("+jsLiteral(sc)+")", chromedp.EvalAwaitPromise)(ctx, tg)
	})
	if err == nil {
		rec.fill(&trace)
	}
	return trace, err
}

// recorder collects the DevTools events of one tab.
type recorder struct {
	mu sync.Mutex
	// first is the first WebSocket the page opened: the handshake shown
	// is its own.
	first    network.RequestID
	t0       float64 // seconds, the browser's monotonic clock; 0 until set
	request  network.Headers
	response *network.WebSocketResponse
	frames   []browser.Frame
	console  []string
	sockets  map[network.RequestID]int
	// session is the scenario's Session URL; sessionID its request, and
	// sessionProto and sessionErr what DevTools said of its response.
	session      string
	sessionID    network.RequestID
	sessionProto string
	sessionErr   string
}

func newRecorder(session string) *recorder {
	return &recorder{sockets: map[network.RequestID]int{}, session: session}
}

// seen reports whether the socket was opened while the recorder listened:
// the events of any other belong to an earlier scenario in the same tab.
func (r *recorder) seen(id network.RequestID) bool {
	_, ok := r.sockets[id]
	return ok
}

// at converts a DevTools timestamp to milliseconds since the first one.
func (r *recorder) at(ts float64) float64 {
	if r.t0 == 0 {
		r.t0 = ts
	}
	return (ts - r.t0) * 1000
}

// socketNote names the connection of a frame when a scenario has several.
func (r *recorder) socketNote(id network.RequestID) string {
	if len(r.sockets) < 2 {
		return ""
	}
	return fmt.Sprintf("connection %d", r.sockets[id])
}

func (r *recorder) event(ev any) {
	r.mu.Lock()
	defer r.mu.Unlock()
	switch e := ev.(type) {
	case *network.EventWebSocketCreated:
		if r.first == "" {
			r.first = e.RequestID
		}
		r.sockets[e.RequestID] = len(r.sockets) + 1
	case *network.EventWebSocketWillSendHandshakeRequest:
		if !r.seen(e.RequestID) {
			return
		}
		r.at(float64(e.Timestamp))
		if e.RequestID == r.first && e.Request != nil {
			r.request = e.Request.Headers
		}
	case *network.EventWebSocketHandshakeResponseReceived:
		if e.RequestID == r.first {
			r.response = e.Response
		}
	case *network.EventWebSocketFrameSent:
		if !r.seen(e.RequestID) {
			return
		}
		r.frames = append(r.frames, frame(wire.Outbound, r.at(float64(e.Timestamp)), e.Response, r.socketNote(e.RequestID)))
	case *network.EventWebSocketFrameReceived:
		if !r.seen(e.RequestID) {
			return
		}
		r.frames = append(r.frames, frame(wire.Inbound, r.at(float64(e.Timestamp)), e.Response, r.socketNote(e.RequestID)))
	case *network.EventWebSocketFrameError:
		if !r.seen(e.RequestID) {
			return
		}
		r.frames = append(r.frames, browser.Frame{AtMS: r.at(float64(e.Timestamp)), Dir: wire.HarnessEvent, Error: e.ErrorMessage})
	case *network.EventWebSocketClosed:
		if !r.seen(e.RequestID) {
			return
		}
		r.frames = append(r.frames, browser.Frame{AtMS: r.at(float64(e.Timestamp)), Dir: wire.HarnessEvent, Error: strings.TrimSpace("connection closed " + r.socketNote(e.RequestID))})
	case *network.EventRequestWillBeSent:
		if r.session != "" && r.sessionID == "" && e.Request != nil && e.Request.URL == r.session {
			r.sessionID = e.RequestID
		}
	case *network.EventResponseReceived:
		if r.sessionID != "" && e.RequestID == r.sessionID && e.Response != nil {
			r.sessionProto = e.Response.Protocol
		}
	case *network.EventLoadingFailed:
		if r.sessionID != "" && e.RequestID == r.sessionID {
			r.sessionErr = e.ErrorText
		}
	case *cdplog.EventEntryAdded:
		// The Session fetch's own complaints (an error status, a
		// response blocked for the page) are not the WebSocket's.
		if e.Entry != nil && (e.Entry.Level == cdplog.EntryLevelError || e.Entry.Level == cdplog.EntryLevelWarning) &&
			(r.sessionID == "" || e.Entry.NetworkRequestID != r.sessionID) {
			r.console = append(r.console, e.Entry.Text)
		}
	case *runtime.EventExceptionThrown:
		if e.ExceptionDetails != nil {
			r.console = append(r.console, "page exception: "+e.ExceptionDetails.Text)
		}
	}
}

func frame(dir wire.Dir, at float64, f *network.WebSocketFrame, note string) browser.Frame {
	out := browser.Frame{AtMS: at, Dir: dir, Error: note}
	if f == nil {
		return out
	}
	out.Opcode, out.Masked, out.Length = int(f.Opcode), f.Mask, len(f.PayloadData)
	out.Payload = f.PayloadData[:min(len(f.PayloadData), 64)]
	return out
}

// fill copies what the recorder saw into t.
func (r *recorder) fill(t *browser.Trace) {
	r.mu.Lock()
	defer r.mu.Unlock()
	t.Frames = append([]browser.Frame(nil), r.frames...)
	t.Console = append([]string(nil), r.console...)
	t.SessionProtocol = r.sessionProto
	if r.sessionErr != "" {
		t.SessionError = strings.TrimSpace(t.SessionError + " (DevTools: " + r.sessionErr + ")")
	}
	sent := r.request
	if r.request != nil {
		t.Handshake.Request = "GET (sent by Chromium)\r\n" + headerLines(r.request)
	}
	if resp := r.response; resp != nil {
		t.Handshake.Status = int(resp.Status)
		if resp.RequestHeadersText != "" {
			t.Handshake.Request = resp.RequestHeadersText
		} else if resp.RequestHeaders != nil {
			t.Handshake.Request = "GET (sent by Chromium)\r\n" + headerLines(resp.RequestHeaders)
		}
		if resp.RequestHeaders != nil {
			sent = resp.RequestHeaders
		}
		if resp.HeadersText != "" {
			t.Handshake.Response = resp.HeadersText
		} else {
			t.Handshake.Response = fmt.Sprintf("HTTP/1.1 %d %s\r\n%s", resp.Status, resp.StatusText, headerLines(resp.Headers))
		}
	}
	t.Handshake.RFC8441 = sent != nil && !hasHeader(sent, "Sec-WebSocket-Key")
}

// hasHeader reports whether h holds the field name, in any case.
func hasHeader(h network.Headers, name string) bool {
	for k := range h {
		if strings.EqualFold(k, name) {
			return true
		}
	}
	return false
}

// headerLines renders DevTools headers as sorted "Name: value" lines.
func headerLines(h network.Headers) string {
	names := make([]string, 0, len(h))
	for k := range h {
		names = append(names, k)
	}
	sort.Strings(names)
	var b strings.Builder
	for _, k := range names {
		fmt.Fprintf(&b, "%s: %v\r\n", k, h[k])
	}
	return b.String()
}

// jsLiteral is v, a struct of strings and numbers or a string, as a
// JavaScript literal (JSON is one).
func jsLiteral(v any) string {
	b, err := json.Marshal(v)
	if err != nil { // strings and numbers always encode
		panic(err)
	}
	return string(b)
}
