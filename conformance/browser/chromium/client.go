package chromium

import (
	"context"
	"fmt"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"time"

	cdplog "github.com/chromedp/cdproto/log"
	"github.com/chromedp/chromedp"

	"github.com/wsharness/wsharness/conformance/browser"
	"github.com/wsharness/wsharness/targets"
	"github.com/wsharness/wsharness/wire"
)

// ClientName is the client agent whose WebSocket is Chromium's own.
const ClientName = "chromium-client"

// ClientInfo describes the client agent ClientName played by the Chromium
// at exe (see Find).
func ClientInfo(exe string) targets.Info {
	return targets.Info{Name: ClientName, Library: version(exe), Role: wire.Client,
		Description: "Chromium's own WebSocket in a page: binaryType arraybuffer, every message echoed with its type, " +
			"Pings and the closing handshake left to the browser, never closed by the page (as Autobahn's browser client page)"}
}

// version is what exe --version says ("Chromium 156.0.8078.114"), or
// the executable's name when it says nothing; "chromium" for no exe.
func version(exe string) string {
	if exe == "" {
		return "chromium"
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	out, err := exec.CommandContext(ctx, exe, "--version").Output()
	if v := strings.TrimSpace(string(out)); err == nil && v != "" {
		return v
	}
	return filepath.Base(exe)
}

// echoPage is the tab every client case plays in: the cases' wshEcho
// calls run at once in one page, which is never reloaded (each case's
// socket ends with its case). One page rather than a tab per case: a case
// costs no page load, and Chromium opens one connection to a host at a
// time whatever the tab (RFC 6455 §4.1), so tabs would not connect faster.
type echoPage struct {
	ctx    context.Context
	cancel func()
	mu     sync.Mutex
	// console holds, for the URL of each Echo in play, the browser's
	// error messages that name it.
	console map[string][]string
}

// event keeps the browser's error and warning messages about a socket in
// play; Chromium names the socket's URL in each.
func (p *echoPage) event(ev any) {
	e, ok := ev.(*cdplog.EventEntryAdded)
	if !ok || e.Entry == nil || e.Entry.Level != cdplog.EntryLevelError && e.Entry.Level != cdplog.EntryLevelWarning {
		return
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	for url, lines := range p.console {
		if strings.Contains(e.Entry.Text, "'"+url+"'") {
			p.console[url] = append(lines, e.Entry.Text)
		}
	}
}

// watch starts keeping the messages about url; the returned func stops
// and returns them.
func (p *echoPage) watch(url string) (stop func() []string) {
	p.mu.Lock()
	p.console[url] = []string{}
	p.mu.Unlock()
	return func() []string {
		p.mu.Lock()
		defer p.mu.Unlock()
		lines := p.console[url]
		delete(p.console, url)
		return lines
	}
}

// abortGrace is how long a socket the page was told to close has to
// report its close event before Echo stops waiting for it.
const abortGrace = time.Second

// Echo makes Chromium's own WebSocket the client under test: the page
// opens url and echoes every message with its type until the socket
// closes. When ctx ends first, the page closes the socket. An error means
// the browser or the page failed, not the WebSocket: what the socket did
// is in the ClientEnd.
func (b *Browser) Echo(ctx context.Context, url string) (browser.ClientEnd, error) {
	p, err := b.echoTab(ctx)
	if err != nil {
		return browser.ClientEnd{}, fmt.Errorf("chromium client: %w", err)
	}
	stopWatch := p.watch(url)
	ectx, cancel := context.WithCancel(p.ctx)
	defer cancel()
	stopAbort := context.AfterFunc(ctx, func() {
		actx, done := context.WithTimeout(p.ctx, abortGrace)
		defer done()
		_, _ = chromedp.Run(actx, chromedp.Evaluate[bool]("window.wshEchoAbort("+jsLiteral(url)+"), true"))
		time.AfterFunc(abortGrace, cancel)
	})
	end, err := chromedp.Run(ectx, chromedp.Evaluate[browser.ClientEnd]("window.wshEcho("+jsLiteral(url)+")", chromedp.EvalAwaitPromise))
	stopAbort()
	end.Console = stopWatch()
	switch {
	case err != nil && ctx.Err() != nil:
		return end, fmt.Errorf("chromium client: the socket did not close within %v of the case's end", abortGrace)
	case err != nil:
		b.dropEchoTab(p) // in an unknown state: the next case opens another
		return end, fmt.Errorf("chromium client: %w", err)
	}
	return end, nil
}

// Prepare loads the page the client cases play in, if not yet loaded.
func (b *Browser) Prepare(ctx context.Context) error {
	if _, err := b.echoTab(ctx); err != nil {
		return fmt.Errorf("chromium client: %w", err)
	}
	return nil
}

// echoTab returns the page the client cases play in, opening it on first
// use (or after it failed).
func (b *Browser) echoTab(ctx context.Context) (*echoPage, error) {
	b.echoMu.Lock()
	defer b.echoMu.Unlock()
	if b.echo != nil {
		return b.echo, nil
	}
	p := &echoPage{console: map[string][]string{}}
	var err error
	if p.ctx, p.cancel, err = b.openTab(false, p.event); err != nil {
		return nil, err
	}
	load, cancel := context.WithTimeout(p.ctx, pageLoadTimeout)
	defer cancel()
	defer context.AfterFunc(ctx, cancel)()
	if err := chromedp.Do(load, chromedp.Navigate(b.pageURL)); err != nil {
		p.cancel()
		return nil, fmt.Errorf("load the page: %w", err)
	}
	b.echo = p
	return p, nil
}

// pageLoadTimeout bounds loading the page from the loopback page server.
const pageLoadTimeout = 30 * time.Second

// dropEchoTab closes p, so that the next case opens another.
func (b *Browser) dropEchoTab(p *echoPage) {
	b.echoMu.Lock()
	defer b.echoMu.Unlock()
	if b.echo == p {
		b.echo = nil
	}
	p.cancel()
}
