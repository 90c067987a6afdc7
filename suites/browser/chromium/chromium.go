// Package chromium plays browser interop scenarios in headless Chromium,
// driven over the DevTools protocol (chromedp): the page's WebSocket does
// the talking, and the protocol's network and log events show the
// handshake, the messages and the errors the browser saw underneath.
package chromium

import (
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
	"time"

	"github.com/chromedp/cdproto/cdp"
	cdplog "github.com/chromedp/cdproto/log"
	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/cdproto/runtime"
	"github.com/chromedp/chromedp"

	"github.com/wsharness/wsharness/suites/browser"
)

// ErrNotFound is returned by Find when no Chromium executable exists.
var ErrNotFound = errors.New("no Chromium found (install it with `make deps`, or set WSH_CHROMIUM to its path)")

// Find returns the Chromium to use: $WSH_CHROMIUM if set, else the first
// of chromium, chromium-browser, google-chrome on PATH.
func Find() (string, error) {
	if p := os.Getenv("WSH_CHROMIUM"); p != "" {
		path, err := exec.LookPath(p)
		if err != nil {
			return "", fmt.Errorf("WSH_CHROMIUM=%s: %w", p, err)
		}
		return path, nil
	}
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome"} {
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
// the interop page from. It is safe for concurrent Run calls, each in its
// own tab.
type Browser struct {
	ctx      context.Context // the browser's chromedp context
	cancel   func()
	srv      *http.Server
	pageURL  string
	closeMux sync.Once
	// ignoreCertErrors: Chromium accepts any server certificate.
	ignoreCertErrors bool
}

// LaunchOptions change how Chromium runs.
type LaunchOptions struct {
	// IgnoreCertificateErrors runs Chromium with
	// --ignore-certificate-errors, so that its wss:// connections accept
	// a server certificate it cannot verify (a target's self-signed one).
	// The trace of every wss:// scenario then says so (Trace.TLSNote).
	IgnoreCertificateErrors bool
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

// Run plays one scenario in a new tab and returns what the page and the
// browser observed. An error means the browser itself failed (it crashed,
// the page did not load, ctx ended), not the server under test.
func (b *Browser) Run(ctx context.Context, sc browser.Scenario) (browser.Trace, error) {
	tab, cancelTab := chromedp.NewContext(b.ctx)
	defer cancelTab()
	// The tab's context must end with ctx too.
	stop := context.AfterFunc(ctx, cancelTab)
	defer stop()

	rec := newRecorder()
	if err := chromedp.Listen(tab, rec.event); err != nil {
		return browser.Trace{}, fmt.Errorf("browser tab: %w", err)
	}
	trace, err := chromedp.Run(tab, func(ctx context.Context, t *chromedp.Target) (browser.Trace, error) {
		if _, err := cdp.Call(ctx, t, network.Enable, network.EnableParams{}); err != nil {
			return browser.Trace{}, fmt.Errorf("enable network events: %w", err)
		}
		if _, err := cdp.Call(ctx, t, cdplog.Enable, cdp.Empty{}); err != nil {
			return browser.Trace{}, fmt.Errorf("enable log events: %w", err)
		}
		if _, err := chromedp.Navigate(b.pageURL)(ctx, t); err != nil {
			return browser.Trace{}, err
		}
		return chromedp.Evaluate[browser.Trace]("window.wshRun("+scenarioJSON(sc)+")", chromedp.EvalAwaitPromise)(ctx, t)
	})
	if err != nil {
		if ctx.Err() != nil {
			return trace, fmt.Errorf("browser scenario: %w", ctx.Err())
		}
		return trace, fmt.Errorf("browser scenario %s on %s: %w", sc.Kind, sc.URL, err)
	}
	rec.fill(&trace)
	if b.ignoreCertErrors && strings.HasPrefix(strings.ToLower(sc.URL), "wss:") {
		trace.TLSNote = "Chromium did not verify the server's certificate (it runs with --ignore-certificate-errors in TLS runs)"
	}
	return trace, nil
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
}

func newRecorder() *recorder { return &recorder{sockets: map[network.RequestID]int{}} }

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
		r.at(float64(e.Timestamp))
		if e.RequestID == r.first && e.Request != nil {
			r.request = e.Request.Headers
		}
	case *network.EventWebSocketHandshakeResponseReceived:
		if e.RequestID == r.first {
			r.response = e.Response
		}
	case *network.EventWebSocketFrameSent:
		r.frames = append(r.frames, frame("tx", r.at(float64(e.Timestamp)), e.Response, r.socketNote(e.RequestID)))
	case *network.EventWebSocketFrameReceived:
		r.frames = append(r.frames, frame("rx", r.at(float64(e.Timestamp)), e.Response, r.socketNote(e.RequestID)))
	case *network.EventWebSocketFrameError:
		r.frames = append(r.frames, browser.Frame{AtMS: r.at(float64(e.Timestamp)), Dir: "--", Error: e.ErrorMessage})
	case *network.EventWebSocketClosed:
		r.frames = append(r.frames, browser.Frame{AtMS: r.at(float64(e.Timestamp)), Dir: "--", Error: strings.TrimSpace("connection closed " + r.socketNote(e.RequestID))})
	case *cdplog.EventEntryAdded:
		if e.Entry != nil && (e.Entry.Level == cdplog.EntryLevelError || e.Entry.Level == cdplog.EntryLevelWarning) {
			r.console = append(r.console, e.Entry.Text)
		}
	case *runtime.EventExceptionThrown:
		if e.ExceptionDetails != nil {
			r.console = append(r.console, "page exception: "+e.ExceptionDetails.Text)
		}
	}
}

func frame(dir string, at float64, f *network.WebSocketFrame, note string) browser.Frame {
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
		if resp.HeadersText != "" {
			t.Handshake.Response = resp.HeadersText
		} else {
			t.Handshake.Response = fmt.Sprintf("HTTP/1.1 %d %s\r\n%s", resp.Status, resp.StatusText, headerLines(resp.Headers))
		}
	}
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

// scenarioJSON is the scenario as a JavaScript literal (JSON is one).
func scenarioJSON(sc browser.Scenario) string {
	b, err := json.Marshal(sc)
	if err != nil { // a struct of strings and numbers always encodes
		panic(err)
	}
	return string(b)
}
