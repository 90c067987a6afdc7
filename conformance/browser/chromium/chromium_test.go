package chromium

import (
	"context"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/wsharness/wsharness/conformance/browser"
	"github.com/wsharness/wsharness/internal/testtarget"
	"github.com/wsharness/wsharness/targets"
)

// startEcho starts the gorilla reference target on loopback and returns
// its echo URL.
func startEcho(t *testing.T) string {
	t.Helper()
	return testtarget.Start(t, "gorilla").URL(targets.EchoPath)
}

// findOrSkip returns the Chromium to test with, or skips the test when
// there is none, unless WSH_REQUIRE_BROWSER is set (CI sets it).
func findOrSkip(t *testing.T) string {
	t.Helper()
	exe, err := Find()
	if err != nil {
		if os.Getenv("WSH_REQUIRE_BROWSER") != "" {
			t.Fatalf("WSH_REQUIRE_BROWSER is set: %v", err)
		}
		t.Skip(err)
	}
	return exe
}

// Scenarios played one after another in the one tab of a browser get
// traces of their own: the second holds its own handshake and messages
// and nothing of the first's.
func TestReusedTabKeepsTracesApart(t *testing.T) {
	exe := findOrSkip(t)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	b, err := LaunchWith(ctx, exe, LaunchOptions{MaxTabs: 1})
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	url := startEcho(t)
	for i, text := range []string{"first-scenario", "second-scenario", "third-scenario"} {
		tr, err := b.Run(ctx, browser.Scenario{Kind: browser.KindEcho, URL: url, Text: text, CloseCode: 1000, TimeoutMS: 5000})
		if err != nil {
			t.Fatalf("scenario %d: %v", i+1, err)
		}
		if !tr.Opened || len(tr.Received) != 1 || !tr.Received[0].Equal || tr.Handshake.Status != 101 {
			t.Fatalf("scenario %d: opened %v, received %+v, status %d", i+1, tr.Opened, tr.Received, tr.Handshake.Status)
		}
		var payloads []string
		closed := 0
		for _, f := range tr.Frames {
			if f.Length > 0 && f.Opcode == 1 {
				payloads = append(payloads, string(f.Payload))
			}
			if strings.HasPrefix(f.Error, "connection closed") {
				closed++
			}
		}
		if closed != 1 {
			t.Errorf("scenario %d: %d connections closed in its trace, want its own one", i+1, closed)
		}
		if len(payloads) != 2 || payloads[0] != text || payloads[1] != text {
			t.Errorf("scenario %d (%s): text frames %q, want its own message sent and echoed, nothing else", i+1, text, payloads)
		}
		if strings.Contains(strings.Join(tr.Console, "\n"), "scenario") {
			t.Errorf("scenario %d: console holds another scenario's messages: %q", i+1, tr.Console)
		}
	}
}
