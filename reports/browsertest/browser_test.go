// Package browsertest opens a real report in headless Chromium: the page
// renders without console errors, the conformance matrix has a cell per
// target × case, a cell opens its wire log, charts are drawn, and hostile
// strings from a target never run as script.
package browsertest

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/page"
	"github.com/chromedp/cdproto/runtime"
	"github.com/chromedp/chromedp"
	"github.com/gorilla/websocket"

	"github.com/wsharness/wsharness/conformance/browser/chromium"
	"github.com/wsharness/wsharness/conformance/casekit"
	"github.com/wsharness/wsharness/conformance/cases"
	"github.com/wsharness/wsharness/loadgen"
	"github.com/wsharness/wsharness/reports"
	"github.com/wsharness/wsharness/results"
)

// The probes set window.__pwned if they ever run; headless Chromium would
// also report an alert() as a dialog.
const (
	scriptProbe = `<script>window.__pwned=1;alert(1)</script>`
	imgProbe    = `<img src=x onerror="window.__pwned=2;alert(2)">`
	breakout    = `</script><script>window.__pwned=3</script>`
)

// hostileEcho is an echo server whose Server header and close reasons
// carry the probes: what a malicious target could put in a report.
func hostileEcho(t *testing.T) string {
	up := websocket.Upgrader{CheckOrigin: func(*http.Request) bool { return true }}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c, err := up.Upgrade(w, r, http.Header{"Server": {imgProbe + scriptProbe}})
		if err != nil {
			return
		}
		defer c.Close()
		for {
			op, msg, err := c.ReadMessage()
			if err != nil {
				return
			}
			if err := c.WriteMessage(op, msg); err != nil {
				return
			}
			reason := (scriptProbe + breakout)[:min(len(scriptProbe+breakout), 120)]
			_ = c.WriteControl(websocket.CloseMessage, websocket.FormatCloseMessage(4000, reason), time.Now().Add(time.Second))
		}
	}))
	t.Cleanup(srv.Close)
	return "ws" + strings.TrimPrefix(srv.URL, "http") + "/echo"
}

// conformanceRun runs a handful of real cases against the hostile server.
func conformanceRun(t *testing.T, url string) results.Run {
	ids := map[string]bool{"0.1": true, "1.1.1": true, "2.2": true, "5.3": true, "7.1.1": true, "100.1": true}
	target := results.Target{Name: "hostile" + breakout, URL: url, Agent: imgProbe}
	var mu sync.Mutex
	var wg sync.WaitGroup
	for _, c := range cases.All() {
		if !ids[c.ID] {
			continue
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			res := c.Run(context.Background(), casekit.Env{URL: url})
			res.Observed += "\n" + scriptProbe
			mu.Lock()
			target.Cases = append(target.Cases, res)
			mu.Unlock()
		}()
	}
	wg.Wait()
	target.SortCases()
	target.Summarize()
	second := target
	second.Name, second.Agent = "second", "second"
	return results.Run{Schema: results.Schema, Started: time.Date(2026, 11, 21, 12, 0, 0, 0, time.UTC), Targets: []results.Target{target, second}}
}

// loadResult runs a short echo load against the same server.
func loadResult(t *testing.T, url string) *loadgen.Result {
	res, err := loadgen.Run(context.Background(), loadgen.Config{
		Scenario: loadgen.ScenarioEcho, URL: url, Target: "hostile" + scriptProbe,
		Conns: 5, Rate: 100, Duration: time.Second, Warmup: 200 * time.Millisecond,
	})
	if err != nil {
		t.Fatal(err)
	}
	return res
}

func chromiumPath(t *testing.T) string {
	if p, err := chromium.Find(); err == nil {
		return p
	}
	if os.Getenv("WSH_REQUIRE_BROWSER") != "" {
		t.Fatal("no Chromium found; run scripts/deps.sh (WSH_REQUIRE_BROWSER is set)")
	}
	t.Skip("no Chromium found: run scripts/deps.sh to enable the browser test")
	return ""
}

func TestReportInRealBrowser(t *testing.T) {
	exe := chromiumPath(t)
	url := hostileEcho(t)
	in := reports.Input{Conformance: []results.Run{conformanceRun(t, url)}}
	// The load view needs the echo server to behave: the hostile server
	// closes after each echo, so give the load its own plain echo.
	in.Load = []*loadgen.Result{loadResult(t, plainEcho(t))}
	html, err := reports.HTML.Render(in, reports.Options{Title: "browser test " + scriptProbe, Generated: time.Now()})
	if err != nil {
		t.Fatal(err)
	}
	out, err := filepath.Abs(filepath.Join("..", "..", "out", "report-browser-test"))
	if err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(out, 0o755); err != nil {
		t.Fatal(err)
	}
	file := filepath.Join(out, "index.html")
	if err := os.WriteFile(file, html, 0o644); err != nil {
		t.Fatal(err)
	}

	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(exe), chromedp.NoSandbox, chromedp.DisableGPU, chromedp.NoFirstRun,
		chromedp.Flag("disable-background-networking", true), chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true), chromedp.WindowSize(1400, 1000))
	actx, cancel := chromedp.NewExecAllocator(context.Background(), opts...)
	defer cancel()
	ctx, cancel := chromedp.NewContext(actx)
	defer cancel()
	ctx, cancel = context.WithTimeout(ctx, 60*time.Second)
	defer cancel()

	var mu sync.Mutex
	var problems []string
	if err := chromedp.Listen(ctx, func(ev any) {
		mu.Lock()
		defer mu.Unlock()
		switch e := ev.(type) {
		case *runtime.EventConsoleAPICalled:
			if e.Type == runtime.ConsoleAPICalledTypeError || e.Type == runtime.ConsoleAPICalledTypeAssert {
				problems = append(problems, fmt.Sprintf("console %s: %s", e.Type, argsText(e.Args)))
			}
		case *runtime.EventExceptionThrown:
			problems = append(problems, "exception: "+e.ExceptionDetails.Text)
		case *page.EventJavascriptDialogOpening:
			problems = append(problems, "a dialog opened (script from a target ran?): "+e.Message)
		}
	}); err != nil {
		t.Fatalf("listen: %v", err)
	}

	wantCells := 0
	for _, tgt := range in.Conformance[0].Targets {
		wantCells += len(tgt.Cases)
	}
	eval := func(expr string) any {
		t.Helper()
		v, err := chromedp.Run(ctx, chromedp.Evaluate[any](expr))
		if err != nil {
			t.Fatalf("evaluate %s: %v", expr, err)
		}
		return v
	}
	if err := chromedp.Do(ctx, chromedp.Navigate("file://"+file), chromedp.WaitReady(chromedp.CSS("body"))); err != nil {
		t.Fatalf("open the report: %v", err)
	}
	cells := eval(`document.querySelectorAll("[data-case][data-target]").length`)
	charts := eval(`document.querySelectorAll("svg.chart").length`)
	if err := chromedp.Do(ctx,
		chromedp.Click(chromedp.CSS(`[data-case="1.1.1"][data-target="second"]`)),
		chromedp.WaitVisible(chromedp.CSS(`#detail .wirelog`)),
	); err != nil {
		t.Fatalf("open a case's detail: %v", err)
	}
	wirelogRows := eval(`document.querySelectorAll("#detail .wirelog tbody tr").length`)
	pwned := eval(`window.__pwned !== undefined`)
	shot, err := chromedp.Run(ctx, chromedp.FullScreenshot(100)) // quality 100 gives a PNG
	if err != nil {
		t.Fatalf("screenshot: %v", err)
	}
	if err := os.WriteFile(filepath.Join(out, "screenshot.png"), shot, 0o644); err != nil {
		t.Fatal(err)
	}
	t.Logf("report %s, screenshot %s", file, filepath.Join(out, "screenshot.png"))
	mu.Lock()
	defer mu.Unlock()
	if len(problems) > 0 {
		t.Errorf("page problems:\n%s", strings.Join(problems, "\n"))
	}
	if pwned != false {
		t.Error("a hostile string from the target ran as script")
	}
	if n, _ := cells.(float64); int(n) != wantCells {
		t.Errorf("%v matrix cells, want %d (targets × cases)", cells, wantCells)
	}
	if n, _ := charts.(float64); n == 0 {
		t.Error("no charts drawn")
	}
	if n, _ := wirelogRows.(float64); n < 3 {
		t.Errorf("the detail panel's wire log has %v rows", wirelogRows)
	}
}

// plainEcho is a well-behaved echo server for the load section.
func plainEcho(t *testing.T) string {
	up := websocket.Upgrader{}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c, err := up.Upgrade(w, r, nil)
		if err != nil {
			return
		}
		defer c.Close()
		for {
			op, msg, err := c.ReadMessage()
			if err != nil || c.WriteMessage(op, msg) != nil {
				return
			}
		}
	}))
	t.Cleanup(srv.Close)
	return "ws" + strings.TrimPrefix(srv.URL, "http") + "/echo"
}

func argsText(args []*runtime.RemoteObject) string {
	var parts []string
	for _, a := range args {
		parts = append(parts, string(a.Value)+a.Description)
	}
	return strings.Join(parts, " ")
}
