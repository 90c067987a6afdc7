// Package robustness_test runs the conformance suite, compiled and driven
// by the Ginkgo CLI exactly as make conformance does. Against the hostile
// servers of internal/hostile it holds the suite to what a harness that is
// pointed at broken servers by design must promise: the run ends by itself,
// every case gets a verdict with a readable observed text, no case
// outlives its bound (cases.Case.Bound) and the harness's memory stays
// bounded. Against the gorilla target it checks
// what the client itself sends (keys_test.go).
package robustness_test

import (
	"context"
	"crypto/tls"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/onsi/ginkgo/v2/types"

	"github.com/wsharness/wsharness/conformance/browser/chromium"
	"github.com/wsharness/wsharness/conformance/casekit"
	"github.com/wsharness/wsharness/conformance/cases"
	"github.com/wsharness/wsharness/internal/hostile"
	"github.com/wsharness/wsharness/internal/selfsigned"
	"github.com/wsharness/wsharness/internal/testnet"
	"github.com/wsharness/wsharness/results"
	"github.com/wsharness/wsharness/wire"
)

const (
	// timeScale shortens every case timer: hostile servers make most
	// cases wait for a timer, and the bounds scale with it.
	timeScale = 0.2
	// concurrency is how many cases each run has in flight against its
	// server; the servers' runs go side by side, and cases mostly wait on
	// timers.
	concurrency = 3
	// browserConcurrency is the same for the browser family's runs: each
	// starts a Chromium (about 2.5 s of CPU here), five at once.
	browserConcurrency = 4
	// peakRSSBound is the memory promise: neither the Ginkgo CLI nor the
	// suite process grows past it, whatever the server sends. The suite
	// runs concurrency cases at a time, and a case holds at most one frame
	// and one message of wire.DefaultMaxPayload (32 MiB) plus its bounded
	// trace; it also holds every case's record, capped at about 30 KB
	// (316 here). Flooding servers come closest, through their
	// full-sized records.
	peakRSSBound = 256 << 20
	// labelFilter (-wsh.labels) is the default profile without the
	// browser family, which TestHostileServersBrowser runs.
	labelFilter = "!profile:full && !family:browser"
)

// observedOf1_1_1 is what the simplest echo case (1.1.1, an empty text
// message) must say about each hostile server: the clear reason, not a Go
// error dump.
var observedOf1_1_1 = map[string]string{
	"silent":          `no WebSocket connection: read handshake response: timed out`,
	"garbage":         `(?s)RFC 6455`,
	"huge-frame-63":   `declaring 9223372036854775807 payload bytes`,
	"huge-frame-62":   `declaring 4611686018427387904 payload bytes`,
	"trickle-frame":   `(?s)RFC 6455.*(client stopped reading|TCP dropped by the client|timed out)`,
	"ping-flood":      `(?s)RFC 6455`,
	"never-reads":     `(?s)RFC 6455`,
	"mid-frame-close": `TCP closed by the server in the middle of a frame`,
	"random-reset":    `(?s)RFC 6455`,
	"slow-handshake":  `no WebSocket connection: read handshake response: timed out`,
	"malformed-101":   `no WebSocket connection: malformed HTTP response`,
	"huge-header":     `no WebSocket connection: read handshake response: .*65536`,
}

func TestHostileServers(t *testing.T) {
	t.Parallel()
	if testing.Short() {
		t.Skip("runs the whole default profile against every hostile server (about three minutes)")
	}
	dir := t.TempDir()
	ginkgo, suite, maxrss := buildSuite(t)
	want := casesRun()
	env := casekit.Env{TimeScale: timeScale}
	var sum, longest time.Duration
	bounds := map[string]time.Duration{}
	for _, c := range want {
		b := c.Bound(env)
		bounds[c.ID] = b
		sum += b
		longest = max(longest, b)
	}
	// The engine keeps concurrency cases in flight, so a run takes at most
	// its share of the total plus the longest case; a minute more covers
	// process start on a loaded machine (the suite is prebuilt).
	wallBound := sum/concurrency + longest + time.Minute

	// One conformance run per server, as a user would run it against one
	// server. The runs go side by side (started here, not as parallel
	// subtests, which go test would run only GOMAXPROCS at a time) and
	// each subtest checks its own.
	behaviours := selectedBehaviours(t)
	runs := make([]<-chan suiteRun, len(behaviours))
	echoes := make([]chan results.Case, len(behaviours))
	c111 := caseByID(t, "1.1.1")
	for i, b := range behaviours {
		srv := hostile.StartForTest(t, b.Name)
		runs[i] = startSuite(maxrss, ginkgo, suite, filepath.Join(dir, b.Name), labelFilter, "hostile-"+b.Name, srv.URL(), wallBound)
		// What the observed text says is checked on a run at full time
		// scale: in the loaded, shortened runs a quick server's answer
		// can miss a 1 s handshake timer.
		echoes[i] = make(chan results.Case, 1)
		go func() { echoes[i] <- c111.Run(context.Background(), casekit.Env{URL: srv.URL()}) }()
	}
	for i, b := range behaviours {
		t.Run(b.Name, func(t *testing.T) {
			checkObserved(t, b.Name, <-echoes[i])
			r := <-runs[i]
			checkRun(t, r)
			t.Logf("%d cases in %s (bound %s), peak RSS %d MiB (bound %d MiB)",
				len(want), r.wall.Round(time.Second), wallBound.Round(time.Second), r.peakRSS>>20, peakRSSBound>>20)
			if r.wall > wallBound {
				t.Errorf("the run took %s, over its bound of %s", r.wall.Round(time.Second), wallBound.Round(time.Second))
			}
			if r.peakRSS > peakRSSBound {
				t.Errorf("peak RSS %d MiB, over the %d MiB bound", r.peakRSS>>20, peakRSSBound>>20)
			}
			run, err := results.ReadFile(filepath.Join(r.out, "results.json"))
			if err != nil {
				t.Fatal(err)
			}
			if run.Incomplete {
				t.Error("results.json is marked incomplete")
			}
			checkVerdicts(t, b.Name, run, want)
			checkTimes(t, filepath.Join(r.out, "ginkgo.json"), run, bounds)
			if b.Name == "silent" {
				checkFastEnd(t, run, r.wall)
			}
		})
	}
}

// checkFastEnd: a server that never answers costs the cases in flight
// their handshake timers, and one probe; every later case is FAILED
// without running, and says so.
func checkFastEnd(t *testing.T, run results.Run, wall time.Duration) {
	t.Helper()
	notRun := 0
	for _, c := range run.Targets[0].Cases {
		if c.NotRun {
			notRun++
			if c.Verdict != results.Failed || !strings.HasPrefix(c.Observed, "not run: the server stopped answering opening handshakes") {
				t.Errorf("case %s not run: verdict %s, observed %q", c.ID, c.Verdict, c.Observed)
			}
		}
	}
	if ran, most := len(run.Targets[0].Cases)-notRun, concurrency+casekit.SilentLimit+1; ran > most {
		t.Errorf("%d cases ran against a server that never answers, want at most %d (those in flight, %d more and the probe)", ran, most, casekit.SilentLimit)
	}
	// A few 1 s handshake timers at this time scale, plus process start;
	// without the fast end, minutes.
	if wall > 30*time.Second {
		t.Errorf("the run against a server that never answers took %s", wall.Round(time.Second))
	}
}

// suiteRun is what startSuite ran and measured.
type suiteRun struct {
	out     string // the results directory
	err     error  // the suite could not be run at all
	code    int
	output  string
	wall    time.Duration
	peakRSS int64
}

// startSuite runs the compiled suite under the Ginkgo CLI against url, as
// make conformance URL=... NAME=... does, in the background, with the
// cases the label filter selects. extra are more suite flags; a flag
// given again there overrides the default.
func startSuite(maxrss, ginkgo, suite, out, filter, name, url string, wallBound time.Duration, extra ...string) <-chan suiteRun {
	return startSuiteConcurrency(concurrency, maxrss, ginkgo, suite, out, filter, name, url, wallBound, extra...)
}

// startSuiteConcurrency is startSuite with n cases in flight.
func startSuiteConcurrency(n int, maxrss, ginkgo, suite, out, filter, name, url string, wallBound time.Duration, extra ...string) <-chan suiteRun {
	done := make(chan suiteRun, 1)
	go func() {
		r := suiteRun{out: out}
		defer func() { done <- r }()
		rssFile := out + ".maxrss"
		cmd := exec.Command(maxrss, rssFile, ginkgo,
			"--keep-going", "--succinct", "--silence-skips", "--no-color", "--timeout="+(2*wallBound).String(),
			"--json-report=ginkgo.json", "--output-dir="+out, suite, "--",
			"-wsh.url="+url, "-wsh.name="+name, "-wsh.out="+out, "-wsh.expect=", "-wsh.labels="+filter,
			fmt.Sprintf("-wsh.concurrency=%d", n), fmt.Sprintf("-wsh.time-scale=%g", timeScale))
		cmd.Args = append(cmd.Args, extra...)
		var log strings.Builder
		cmd.Stdout, cmd.Stderr = &log, &log
		started := time.Now()
		err := cmd.Run()
		r.wall, r.output = time.Since(started), log.String()
		var exit *exec.ExitError
		if err != nil && !errors.As(err, &exit) {
			r.err = fmt.Errorf("run the suite: %w", err)
			return
		}
		r.code = cmd.ProcessState.ExitCode()
		// The peak of the Ginkgo CLI and the suite process it ran: the
		// rusage of a waited-for process covers its reaped descendants.
		b, err := os.ReadFile(rssFile)
		if err == nil {
			r.peakRSS, err = strconv.ParseInt(string(b), 10, 64)
			r.peakRSS <<= 10
		}
		if err != nil {
			r.err = fmt.Errorf("peak RSS: %w", err)
		}
	}()
	return done
}

// checkRun requires the run to have ended with exit status 1 (cases
// failed) and no Go dump in its output.
func checkRun(t *testing.T, r suiteRun) {
	t.Helper()
	if r.err != nil {
		t.Fatal(r.err)
	}
	if r.code != 1 {
		t.Fatalf("suite exit code %d, want 1 (cases failed); output:\n%s", r.code, tail(r.output))
	}
	for _, s := range []string{"goroutine ", "panic:", "[signal "} {
		if strings.Contains(r.output, s) {
			t.Errorf("suite output contains %q:\n%s", s, tail(r.output))
		}
	}
}

// selectedBehaviours are all hostile behaviours, or those named in
// WSH_HOSTILE (comma-separated) to look at one server.
func selectedBehaviours(t *testing.T) []hostile.Behaviour {
	names := os.Getenv("WSH_HOSTILE")
	if names == "" {
		return hostile.Behaviours()
	}
	var out []hostile.Behaviour
	for _, n := range strings.Split(names, ",") {
		b, err := hostile.Lookup(strings.TrimSpace(n))
		if err != nil {
			t.Fatalf("WSH_HOSTILE: %v", err)
		}
		out = append(out, b)
	}
	return out
}

// checkVerdicts: every hostile target has every case, each with a verdict
// and an observed text that explains it without a Go error dump.
func checkVerdicts(t *testing.T, name string, run results.Run, want []cases.Case) {
	t.Helper()
	if len(run.Targets) != 1 {
		t.Fatalf("%d targets in results.json, want 1", len(run.Targets))
	}
	for _, tg := range run.Targets {
		if tg.Unavailable != "" {
			t.Errorf("%s: unavailable: %s", tg.Name, tg.Unavailable)
			continue
		}
		got := map[string]results.Case{}
		for _, c := range tg.Cases {
			got[c.ID] = c
		}
		failed := 0
		for _, c := range want {
			r, ok := got[c.ID]
			switch {
			case !ok:
				t.Errorf("%s: case %s has no result", tg.Name, c.ID)
				continue
			case r.Verdict == "" || r.CloseVerdict == "":
				t.Errorf("%s: case %s has no verdict (%q, %q)", tg.Name, c.ID, r.Verdict, r.CloseVerdict)
			case r.HarnessError != "":
				t.Errorf("%s: case %s: harness error %s", tg.Name, c.ID, r.HarnessError)
			case strings.TrimSpace(r.Observed) == "":
				t.Errorf("%s: case %s (%s) has no observed text", tg.Name, c.ID, r.Verdict)
			case strings.Contains(r.Observed, "goroutine ") || strings.Contains(r.Observed, "panic"):
				t.Errorf("%s: case %s: observed text holds a Go dump:\n%s", tg.Name, c.ID, r.Observed)
			}
			if r.Failing() {
				failed++
			}
		}
		if failed == 0 {
			t.Errorf("%s: no case failed against a hostile server", tg.Name)
		}
		t.Logf("%-24s %s", tg.Name, summary(tg))
	}
}

// checkObserved: case 1.1.1's observed text names what the server did.
func checkObserved(t *testing.T, name string, r results.Case) {
	t.Helper()
	re, ok := observedOf1_1_1[name]
	if !ok {
		t.Fatalf("no expected observed text for case 1.1.1 against %s", name)
	}
	if !regexp.MustCompile(re).MatchString(r.Observed) {
		t.Errorf("case 1.1.1 %s, observed text does not match %q:\n%s", r.Verdict, re, r.Observed)
	}
}

func caseByID(t *testing.T, id string) cases.Case {
	t.Helper()
	for _, c := range cases.All() {
		if c.ID == id {
			return c
		}
	}
	t.Fatalf("no case %s", id)
	return cases.Case{}
}

// checkTimes holds each case to its bound, from the duration its
// results.json records, and the target's spec to ending by itself (not
// timed out, interrupted or panicked), from Ginkgo's own report.
func checkTimes(t *testing.T, ginkgoReport string, run results.Run, bounds map[string]time.Duration) {
	t.Helper()
	b, err := os.ReadFile(ginkgoReport)
	if err != nil {
		t.Fatal(err)
	}
	var reports []types.Report
	if err := json.Unmarshal(b, &reports); err != nil {
		t.Fatalf("%s: %v", ginkgoReport, err)
	}
	specs := 0
	for _, r := range reports {
		for _, s := range r.SpecReports {
			if s.LeafNodeType != types.NodeTypeIt {
				continue
			}
			specs++
			if s.State == types.SpecStateTimedout || s.State == types.SpecStateInterrupted || s.State == types.SpecStatePanicked {
				t.Errorf("%s: %s", s.FullText(), s.State)
			}
		}
	}
	if specs != 1 {
		t.Errorf("%d specs in Ginkgo's report, want 1 (the target)", specs)
	}
	checked := 0
	var slowest time.Duration
	for _, tg := range run.Targets {
		for _, c := range tg.Cases {
			bound, ok := bounds[c.ID]
			if !ok {
				t.Errorf("case %s was not selected", c.ID)
				continue
			}
			checked++
			took := time.Duration(c.DurationMS * float64(time.Millisecond))
			slowest = max(slowest, took)
			if took > bound {
				t.Errorf("case %s took %s, over its bound of %s", c.ID, took.Round(time.Millisecond), bound)
			}
		}
	}
	if want := len(bounds); checked != want {
		t.Errorf("%d cases timed, want %d", checked, want)
	}
	t.Logf("slowest case: %s", slowest.Round(time.Millisecond))
}

// casesRun are the cases labelFilter selects that run against the hostile
// servers, which speak HTTP/1.1.
func casesRun() []cases.Case {
	var out []cases.Case
	for _, c := range cases.All() {
		if !cases.IsSlow(c.Family) && c.Family != cases.FamilyBrowser && cases.RunsOver(c.Family, wire.HTTP1) {
			out = append(out, c)
		}
	}
	return out
}

// The browser family against the servers that hurt a client most:
// Chromium's own client meets them, and every case must still end within
// its bound with a verdict. Chromium's memory is not the harness's, so
// only time and verdicts are checked.
func TestHostileServersBrowser(t *testing.T) {
	t.Parallel()
	if testing.Short() {
		t.Skip("runs the browser family against hostile servers")
	}
	if _, err := chromium.Find(); err != nil {
		if os.Getenv("WSH_REQUIRE_BROWSER") != "" {
			t.Fatalf("WSH_REQUIRE_BROWSER is set: %v", err)
		}
		t.Skipf("no Chromium: %v", err)
	}
	dir := t.TempDir()
	ginkgo, suite, maxrss := buildSuite(t)
	want := cases.ByFamily(cases.FamilyBrowser)
	env := casekit.Env{TimeScale: timeScale}
	var sum, longest time.Duration
	bounds := map[string]time.Duration{}
	for _, c := range want {
		bounds[c.ID] = c.Bound(env)
		sum += bounds[c.ID]
		longest = max(longest, bounds[c.ID])
	}
	wallBound := sum/browserConcurrency + longest + time.Minute
	names := []string{"silent", "garbage", "never-reads", "random-reset", "huge-header"}
	runs := make([]<-chan suiteRun, len(names))
	for i, name := range names {
		srv := hostile.StartForTest(t, name)
		runs[i] = startSuiteConcurrency(browserConcurrency, maxrss, ginkgo, suite, filepath.Join(dir, name), "family:browser", "hostile-"+name, srv.URL(), wallBound)
	}
	for i, name := range names {
		t.Run(name, func(t *testing.T) {
			r := <-runs[i]
			checkRun(t, r)
			t.Logf("%d browser cases in %s (bound %s)", len(want), r.wall.Round(time.Second), wallBound.Round(time.Second))
			if r.wall > wallBound {
				t.Errorf("the run took %s, over its bound of %s", r.wall.Round(time.Second), wallBound.Round(time.Second))
			}
			run, err := results.ReadFile(filepath.Join(r.out, "results.json"))
			if err != nil {
				t.Fatal(err)
			}
			if reason := run.SkippedFamilies[string(cases.FamilyBrowser)]; reason != "" {
				t.Fatalf("browser family skipped: %s", reason)
			}
			checkVerdicts(t, name, run, want)
			checkTimes(t, filepath.Join(r.out, "ginkgo.json"), run, bounds)
		})
	}
}

// The binaries every test here runs, built once by buildSuite.
var (
	buildOnce  sync.Once
	buildDir   string
	buildErr   error
	built      [3]string // ginkgo, suite, maxrss
	buildNotes string
)

func TestMain(m *testing.M) {
	code := m.Run()
	if buildDir != "" {
		_ = os.RemoveAll(buildDir)
	}
	os.Exit(code)
}

// buildSuite compiles the Ginkgo CLI, the conformance suite and the
// maxrss wrapper, once for all the tests of the package.
func buildSuite(t *testing.T) (ginkgo, suite, maxrss string) {
	t.Helper()
	buildOnce.Do(func() {
		if buildDir, buildErr = os.MkdirTemp("", "wsh-robustness-"); buildErr != nil {
			return
		}
		built = [3]string{filepath.Join(buildDir, "ginkgo"), filepath.Join(buildDir, "suites.test"), filepath.Join(buildDir, "maxrss")}
		for _, args := range [][]string{
			{"build", "-o", built[0], "github.com/onsi/ginkgo/v2/ginkgo"},
			{"test", "-c", "-o", built[1], ".."},
			{"build", "-o", built[2], "./internal/maxrss"},
		} {
			if out, err := exec.Command("go", args...).CombinedOutput(); err != nil {
				buildErr = fmt.Errorf("go %s: %w", strings.Join(args, " "), err)
				buildNotes = string(out)
				return
			}
		}
	})
	if buildErr != nil {
		t.Fatalf("%v\n%s", buildErr, buildNotes)
	}
	return built[0], built[1], built[2]
}

func summary(tg results.Target) string {
	var parts []string
	for _, v := range results.Verdicts {
		if n := tg.Summary[v]; n > 0 {
			parts = append(parts, fmt.Sprintf("%s %d", v, n))
		}
	}
	return strings.Join(parts, ", ")
}

func tail(s string) string {
	if len(s) > 4000 {
		return "…" + s[len(s)-4000:]
	}
	return s
}

// A server given by URL that cannot be reached at all is not tested and
// gets no verdicts: nothing listening, or a wss:// server whose
// certificate the client does not trust, makes the target unavailable
// with the reason (and wsharness summary exits 3), instead of failing
// every case as if the server had broken the RFC.
func TestUnreachableURLIsNotAVerdict(t *testing.T) {
	if testing.Short() {
		t.Skip("runs the compiled suite")
	}
	dir := t.TempDir()
	ginkgo, suite, _ := buildSuite(t)

	refused := "ws://" + testnet.FreeAddr(t) + "/echo"

	cert, err := selfsigned.Generate()
	if err != nil {
		t.Fatal(err)
	}
	untrusted := "wss://" + testnet.Serve(t, func(c net.Conn) {
		tc := tls.Server(c, cert.ServerConfig())
		_ = tc.Handshake()
		_ = tc.Close()
	}) + "/echo"

	for _, tc := range []struct{ name, url, reason string }{
		{"refused", refused, "connection refused"},
		{"untrusted", untrusted, "x509: certificate signed by unknown authority"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			out := filepath.Join(dir, tc.name)
			cmd := exec.Command(ginkgo, "--no-color", "--output-dir="+out, suite, "--",
				"-wsh.url="+tc.url, "-wsh.name="+tc.name, "-wsh.out="+out, "-wsh.expect=", "-wsh.labels=family:handshake")
			if b, err := cmd.CombinedOutput(); err != nil {
				t.Fatalf("suite: %v\n%s", err, tail(string(b)))
			}
			run, err := results.ReadFile(filepath.Join(out, "results.json"))
			if err != nil {
				t.Fatal(err)
			}
			tg := run.Targets[0]
			if !strings.Contains(tg.Unavailable, tc.reason) || len(tg.Cases) != 0 {
				t.Fatalf("target unavailable %q with %d cases; want the reason %q and no cases", tg.Unavailable, len(tg.Cases), tc.reason)
			}
		})
	}
}
