package engine

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net/url"
	"strings"

	"github.com/wsharness/wsharness/conformance/browser"
	"github.com/wsharness/wsharness/conformance/browser/chromium"
	"github.com/wsharness/wsharness/conformance/casekit"
	"github.com/wsharness/wsharness/targets"
	"github.com/wsharness/wsharness/wire"
)

// ErrRequest marks a Request that names targets wrongly: the caller's
// input is at fault, not a target.
var ErrRequest = errors.New("bad target request")

// Request says which targets a run tests.
type Request struct {
	// URLs are servers tested where they run, as "[NAME=]URL"; NAME
	// defaults to "external". A reference target's name tests that target
	// running there (in a container, say): its expectations apply, and its
	// broadcast endpoint is the URL's sibling path.
	URLs []string
	// Command starts the server of the one URL (and stops it after): the
	// harness waits until the URL answers.
	Command string
	// Names are reference or external targets, or the groups all,
	// builtin and external.
	Names []string
	// ExternalFile adds external targets (servers started by command) to
	// the registry; empty for none.
	ExternalFile string
}

// Want is a target resolved from a Request, not started yet.
type Want struct {
	Info targets.Info
	// EchoURL and BroadcastURL are where a target given by URL is tested;
	// nothing is started for it.
	EchoURL, BroadcastURL string
	// target is started by Start; nil for a target given by URL alone.
	target targets.Target
}

// Resolve turns a request into the targets it names, in the order given
// (URLs first), each once.
func Resolve(req Request) ([]Want, error) {
	var wants []Want
	seen := map[string]bool{}
	claim := func(name string) error {
		if seen[name] {
			return fmt.Errorf("%w: target %q given twice", ErrRequest, name)
		}
		seen[name] = true
		return nil
	}
	if req.Command != "" && len(req.URLs) != 1 {
		return nil, fmt.Errorf("%w: a start command needs exactly one URL, the echo URL its server serves", ErrRequest)
	}
	for _, u := range req.URLs {
		name, rawURL := SplitURL(u)
		w := Want{EchoURL: rawURL}
		ref, lookupErr := targets.Lookup(name)
		builtin := lookupErr == nil
		switch {
		case req.Command != "":
			ext, err := targets.ExternalFromFlags(name, req.Command, rawURL)
			if err != nil {
				return nil, fmt.Errorf("%w: %v", ErrRequest, err)
			}
			w = Want{Info: ext.Info(), EchoURL: rawURL, target: ext}
		case builtin:
			w.Info, w.BroadcastURL = ref.Info(), siblingURL(rawURL, targets.BroadcastPath)
		default:
			if err := targets.CheckName(name); err != nil {
				return nil, fmt.Errorf("%w: %s: %v", ErrRequest, u, err)
			}
			w.Info = targets.Info{Name: name, Library: "external"}
		}
		if err := claim(w.Info.Name); err != nil {
			return nil, err
		}
		wants = append(wants, w)
	}
	if len(req.Names) == 0 {
		return wants, nil
	}
	registry, err := targets.Registry(req.ExternalFile)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrRequest, err)
	}
	picked, err := targets.Select(registry, strings.Join(req.Names, ","))
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrRequest, err)
	}
	for _, t := range picked {
		if err := claim(t.Info().Name); err != nil {
			return nil, err
		}
		w := Want{Info: t.Info(), target: t}
		if ext, ok := t.(targets.External); ok && len(ext.Spec.Command) == 0 {
			// Served by something else: tested where it is.
			w = Want{Info: w.Info, EchoURL: ext.Spec.EchoURL, BroadcastURL: ext.Spec.BroadcastURL}
		}
		wants = append(wants, w)
	}
	return wants, nil
}

// InProcess reports whether Start runs the target in this process: a
// reference target, not one given by URL or started by a command.
func (w Want) InProcess() bool {
	if w.target == nil {
		return false
	}
	_, external := w.target.(targets.External)
	return !external
}

// SplitURL splits "[NAME=]URL" into its name ("external" when none is
// given) and URL. A "=" after the first "/" belongs to the URL's query.
func SplitURL(u string) (name, rawURL string) {
	name, rawURL, named := strings.Cut(u, "=")
	if !named || strings.Contains(name, "/") {
		return "external", u
	}
	return name, rawURL
}

// Start makes the target ready to test: it starts it (reference targets in
// this process on a loopback port, external ones by their command), or
// checks that its URL answers. One that cannot be started or reached comes
// back Unavailable, with the reason: that is no verdict on it. stop stops
// what was started.
func (w Want) Start(ctx context.Context, tlsConfig *tls.Config, timeScale float64) (t Target, stop func()) {
	t, stop = Target{Info: w.Info}, func() {}
	if w.target == nil {
		t.EchoURL, t.BroadcastURL = w.EchoURL, w.BroadcastURL
		reach := casekit.Env{TimeScale: timeScale}.Scaled(casekit.HandshakeTimeout)
		if err := wire.Reach(ctx, w.EchoURL, tlsConfig, reach); err != nil {
			t.Unavailable = "cannot be reached: " + err.Error()
		}
		return t, stop
	}
	target := w.target
	if ext, ok := target.(targets.External); ok {
		ext.TLS = tlsConfig
		target = ext
		if ok, reason := ext.Available(); !ok {
			t.Unavailable = reason
			return t, stop
		}
	}
	r, err := target.Start(ctx, "127.0.0.1:0")
	if err != nil {
		t.Unavailable = err.Error()
		return t, stop
	}
	t.EchoURL, t.BroadcastURL = r.URL(targets.EchoPath), r.URL(targets.BroadcastPath)
	stop = func() { _ = r.Stop(context.WithoutCancel(ctx)) }
	if t.TLS = targets.ClientTLS(r); t.TLS != nil {
		// A certificate made at start: the harness trusts it for this
		// target alone, and checks it answers as any other URL.
		reach := casekit.Env{TimeScale: timeScale}.Scaled(casekit.HandshakeTimeout)
		if err := wire.Reach(ctx, t.EchoURL, t.TLS, reach); err != nil {
			stop()
			return Target{Info: w.Info, Unavailable: "cannot be reached over its own TLS: " + err.Error()}, func() {}
		}
	}
	return t, stop
}

// siblingURL is rawURL with its path replaced by path.
func siblingURL(rawURL, path string) string {
	u, err := url.Parse(rawURL)
	if err != nil {
		return ""
	}
	u.Path, u.RawPath = path, ""
	return u.String()
}

// Chromium returns a Plan.Browser that launches Chromium (Execute asks
// once, on the first browser case), and closeBrowser, which closes it if
// it was launched. No Chromium on the machine skips the family, with the
// reason.
func Chromium(opts chromium.LaunchOptions) (get func(context.Context) (browser.Runner, string, error), closeBrowser func()) {
	var launched *chromium.Browser
	get = func(ctx context.Context) (browser.Runner, string, error) {
		exe, err := chromium.Find()
		if err != nil {
			return nil, err.Error(), nil
		}
		if launched, err = chromium.LaunchWith(context.WithoutCancel(ctx), exe, opts); err != nil {
			return nil, "", err
		}
		return launched, "", nil
	}
	closeBrowser = func() {
		if launched != nil {
			launched.Close()
		}
	}
	return get, closeBrowser
}

// ChromiumClient is the target of the client agent chromium.ClientName:
// Chromium's own WebSocket, played in the run's browser (Settings.Browser,
// as Chromium returns it), so that the browser family and this client
// share one Chromium, launched on first use. No Chromium on the machine
// makes it Unavailable, with the reason, as the browser family is
// skipped.
func ChromiumClient() Target {
	exe, err := chromium.Find()
	if err != nil {
		return Target{Info: chromium.ClientInfo(""), Unavailable: err.Error()}
	}
	// Slow cases run alone: every case's messages go through the page's
	// one renderer thread, so a case moving megabytes made the others'
	// connections and echoes late (docs/clients.md).
	return Target{Info: chromium.ClientInfo(exe), InBrowser: true, MaxInFlight: ChromiumClientInFlight, SlowAlone: true}
}

// ChromiumClientInFlight bounds the cases in flight against the Chromium
// client. Chromium delays each new WebSocket by 1 to 5 s times 2^(p +
// f/(s+1)) / 2^16, p being the renderer's connections still in their
// handshake, f and s its failed and successful ones (its network service's
// WebSocketPerProcessThrottler), and opens one connection to a host at a
// time (RFC 6455 §4.1), so cases in flight queue up in handshake: 16 at
// once made each connection wait about a second (the default profile took
// 44 s, 32 at once 27 s, and some cases' clients connected past the 5 s
// timeout), 8 at once a few milliseconds (3.7 s; 4 at once 4.7 s).
const ChromiumClientInFlight = 8

// TalksTLS reports whether a run talks TLS: a client TLS configuration was
// given, a target's URL is wss:// or wss+h2://, or a target serves TLS by
// itself (targets.ServesTLS). The browser then
// accepts certificates it cannot verify, and each wss:// browser case
// says so.
func TalksTLS(tlsConfig *tls.Config, ws []Want) bool {
	if tlsConfig != nil {
		return true
	}
	for _, w := range ws {
		if w.target != nil && targets.ServesTLS(w.target) {
			return true // its URL is known only once it starts
		}
		u := strings.ToLower(w.EchoURL)
		if strings.HasPrefix(u, "wss:") || strings.HasPrefix(u, "wss+h2:") {
			return true
		}
	}
	return false
}
