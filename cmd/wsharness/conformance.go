package main

import (
	"cmp"
	"context"
	"crypto/tls"
	"fmt"
	"io"
	neturl "net/url"
	"os"
	"path/filepath"
	"strings"
	"time"
	"unicode"

	"github.com/wsharness/wsharness/reports"
	"github.com/wsharness/wsharness/suites"
	"github.com/wsharness/wsharness/suites/autobahn"
	"github.com/wsharness/wsharness/suites/browser"
	"github.com/wsharness/wsharness/suites/browser/chromium"
	"github.com/wsharness/wsharness/suites/casekit"
	"github.com/wsharness/wsharness/suites/cases"
	"github.com/wsharness/wsharness/suites/engine"
	"github.com/wsharness/wsharness/suites/expect"
	"github.com/wsharness/wsharness/suites/results"
	"github.com/wsharness/wsharness/suites/wire"
	"github.com/wsharness/wsharness/targets"
)

// defaultConcurrency: cases mostly wait on the network and on timers, so
// far more run at once than there are cores.
const defaultConcurrency = 32

func runConformance(args []string, stdout, stderr io.Writer) error {
	fs := newFlags("conformance", "(--url [NAME=]URL ... | --target NAME|GROUP ...) [flags]", stderr)
	var urls, targetNames, include, exclude repeated
	fs.Var(&urls, "url", "test the server at this ws:// or wss:// echo URL, named NAME (default: external; a reference target's name tests that target running there); repeatable")
	fs.Var(&targetNames, "target", "test a reference or external target by name, or a group: all, builtin, external; repeatable")
	external := fs.String("external", "", "file of external targets (servers started by command), as targets/external.yaml")
	profileName := fs.String("profile", string(cases.ProfileDefault), "default: leave out the slow families (limits, deflate payloads and parameters); full: every family")
	fs.Var(&include, "cases", "run only the cases whose ID matches this pattern (an ID, or a prefix such as 6.1.*); repeatable")
	fs.Var(&exclude, "exclude", "leave out the cases whose ID matches this pattern; repeatable")
	expectFile := fs.String("expect", "", "file of known per-target deviations (default: the one built in, for the reference and external targets)")
	timeScale := fs.Float64("timescale", 1, "multiply every case timer, for a slow server")
	concurrency := fs.Int("concurrency", defaultConcurrency, "cases in flight at once")
	seedText := fs.String("seed", "", "hex seed of the masking and handshake keys, from an earlier results.json, to replay its bytes")
	out := fs.String("out", "out/conformance", "directory for results.json, junit.xml and index.html")
	specFile := fs.String("spec", "", "an Autobahn|Testsuite fuzzingclient spec (servers, cases, exclude-cases, exclude-agent-cases) instead of --url/--target; its cases replace the profile")
	autobahnOut := fs.String("autobahn-out", "", "also write Autobahn's report layout here: index.json and a file per case (default with --spec: the spec's outdir)")
	autobahnAll := fs.Bool("autobahn-all", false, "put wsharness's own cases (0.x, 11.x, 100.x, 101.x, 200.x) in index.json too")
	tlsOpts := addTLSFlags(fs)
	if err := parse(fs, args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return usageError("unexpected arguments: %v", fs.Args())
	}
	var spec *autobahn.Spec
	agents := map[string]string{} // target name → the spec's agent
	if *specFile != "" {
		if len(urls) > 0 || len(targetNames) > 0 {
			return usageError("--spec names the servers: give it without --url and --target")
		}
		s, err := autobahn.ReadSpec(*specFile)
		if err != nil {
			return usageError("--spec: %v", err)
		}
		spec = &s
		for i, srv := range s.Servers {
			name := agentName(srv.Agent, i)
			agents[name] = srv.Agent
			urls = append(urls, name+"="+srv.URL)
		}
		if *autobahnOut == "" {
			*autobahnOut = cmp.Or(s.OutDir, "./reports/servers")
		}
	}
	if len(urls) == 0 && len(targetNames) == 0 {
		return usageError("give --url (your server), --target (a reference or external target) or --spec (an Autobahn spec)")
	}
	profile, err := cases.ParseProfile(*profileName)
	if err != nil {
		return usageError("--%v", err)
	}
	if *timeScale <= 0 {
		return usageError("--timescale %v: want more than 0", *timeScale)
	}
	if *concurrency < 1 {
		return usageError("--concurrency %d: want at least 1", *concurrency)
	}
	seed := wire.NewSeed()
	if *seedText != "" {
		var err error
		if seed, err = wire.ParseSeed(*seedText); err != nil {
			return usageError("--seed: %v", err)
		}
	}
	tlsConfig, err := tlsOpts.config()
	if err != nil {
		return err
	}
	deviations, err := readExpectations(*expectFile)
	if err != nil {
		return err
	}
	var all []cases.Case
	for _, c := range cases.All() {
		if spec != nil && spec.Selects("", c.ID) || spec == nil && profile.Includes(c.Family) {
			all = append(all, c)
		}
	}
	skipped := map[string]string{}
	for _, f := range cases.SlowFamilies {
		if spec == nil && !profile.Includes(f) {
			skipped[f] = cases.SlowFamilyReason
		}
	}
	chosen := engine.Select(all, include, exclude)
	if len(chosen) == 0 {
		return usageError("no case matches --cases %v --exclude %v", []string(include), []string(exclude))
	}

	ctx, stop := interruptible()
	defer stop()

	started := time.Now()
	ready, stopTargets, err := conformanceTargets(ctx, urls, targetNames, *external, tlsConfig, *timeScale)
	defer stopTargets()
	if err != nil {
		return err
	}
	if spec != nil {
		for i := range ready {
			agent := agents[ready[i].Info.Name]
			ready[i].Skip = func(id string) bool { return !spec.Selects(agent, id) }
		}
	}
	var launched *chromium.Browser
	defer func() {
		if launched != nil {
			launched.Close()
		}
	}()
	outcome := engine.Execute(ctx, engine.Plan{
		Targets: ready, Cases: chosen, Expect: deviations, TimeScale: *timeScale, TLS: tlsConfig,
		Seed: seed, Concurrency: *concurrency,
		Browser: func(ctx context.Context) (browser.Runner, string, error) {
			exe, err := chromium.Find()
			if err != nil {
				return nil, err.Error(), nil
			}
			launched, err = chromium.LaunchWith(context.WithoutCancel(ctx), exe, chromium.LaunchOptions{IgnoreCertificateErrors: tlsRun(ready, tlsConfig)})
			if err != nil {
				return nil, "", err
			}
			return launched, "", nil
		},
	})
	for f, why := range outcome.SkippedFamilies {
		skipped[f] = why
	}
	info := engine.Run{Started: started, Duration: time.Since(started), Seed: seed.String(),
		Incomplete: ctx.Err() != nil, SkippedFamilies: skipped}
	for _, t := range ready {
		info.Targets = append(info.Targets, t.Info)
	}
	run, assembleErr := engine.Assemble(info, outcome.Records)
	for i, t := range run.Targets {
		if agent := agents[t.Name]; agent != "" {
			run.Targets[i].Agent = agent
		}
	}
	if err := writeConformance(*out, run); err != nil {
		return err
	}
	if *autobahnOut != "" {
		if err := autobahn.Write(*autobahnOut, run, *autobahnAll); err != nil {
			return err
		}
		fmt.Fprintf(stdout, "autobahn: %s\n", filepath.Join(*autobahnOut, "index.json"))
	}
	if assembleErr != nil {
		return fmt.Errorf("assemble the results: %w", assembleErr)
	}
	fmt.Fprintf(stdout, "results: %s  junit: %s  report: %s\n", filepath.Join(*out, "results.json"),
		filepath.Join(*out, "junit.xml"), filepath.Join(*out, "index.html"))
	return conformanceVerdict(run, filepath.Join(*out, "results.json"), stdout)
}

// readExpectations reads the expectations file, or the built-in one.
func readExpectations(path string) (expect.List, error) {
	if path == "" {
		l, err := expect.Parse(suites.Expectations)
		if err != nil {
			return nil, fmt.Errorf("the built-in expectations: %w", err)
		}
		return l, nil
	}
	l, err := expect.ReadFile(path)
	if err != nil {
		return nil, usageError("--expect: %v", err)
	}
	return l, nil
}

// conformanceTargets resolves --url and --target, in the order given, each
// once: a URL is tested where it is (any host: nothing is started), a
// named target is started (reference targets in this process, external
// ones by their command). One that cannot be reached or started is listed
// as unavailable with the reason. stop stops what was started.
func conformanceTargets(ctx context.Context, urls, names []string, externalFile string, tlsConfig *tls.Config, timeScale float64) (ready []engine.Target, stop func(), err error) {
	var running []targets.Running
	stop = func() {
		for _, r := range running {
			_ = r.Stop(context.Background())
		}
	}
	seen := map[string]bool{}
	claim := func(name string) error {
		if seen[name] {
			return usageError("target %q given twice", name)
		}
		seen[name] = true
		return nil
	}
	reachTimeout := casekit.Env{TimeScale: timeScale}.Scaled(casekit.HandshakeTimeout)
	for _, u := range urls {
		name, url, named := strings.Cut(u, "=")
		if !named || strings.Contains(name, "/") {
			name, url = "external", u
		}
		if err := checkWSURL("--url", url); err != nil {
			return nil, stop, err
		}
		// A reference target's name tests that target running elsewhere
		// (in a container, say): its expectations apply.
		info, builtin := builtinInfo(name)
		if !builtin {
			if err := targets.CheckName(name); err != nil {
				return nil, stop, usageError("--url %s: %v", u, err)
			}
			info = targets.Info{Name: name, Library: "external"}
		}
		if err := claim(name); err != nil {
			return nil, stop, err
		}
		t := engine.Target{Info: info, EchoURL: url}
		if builtin { // it serves its broadcast endpoint beside the echo
			t.BroadcastURL = siblingURL(url, targets.BroadcastPath)
		}
		if err := wire.Reach(ctx, url, tlsConfig, reachTimeout); err != nil {
			t.Unavailable = "cannot be reached: " + err.Error()
		}
		ready = append(ready, t)
	}
	if len(names) == 0 {
		return ready, stop, nil
	}
	registry, err := targets.Registry(externalFile)
	if err != nil {
		return nil, stop, usageError("--external: %v", err)
	}
	picked, err := targets.Select(registry, strings.Join(names, ","))
	if err != nil {
		return nil, stop, usageError("--target: %v", err)
	}
	for _, t := range picked {
		info := t.Info()
		if err := claim(info.Name); err != nil {
			return nil, stop, err
		}
		et := engine.Target{Info: info}
		if ext, ok := t.(targets.External); ok {
			ext.TLS = tlsConfig
			t = ext
			if ok, reason := ext.Available(); !ok {
				et.Unavailable = reason
				ready = append(ready, et)
				continue
			}
		}
		r, err := t.Start(ctx, "127.0.0.1:0")
		if err != nil {
			et.Unavailable = err.Error()
			ready = append(ready, et)
			continue
		}
		running = append(running, r)
		et.EchoURL, et.BroadcastURL = r.URL(targets.EchoPath), r.URL(targets.BroadcastPath)
		ready = append(ready, et)
	}
	return ready, stop, nil
}

// agentName makes a target name of an Autobahn agent: its letters, digits,
// '.', '_' and '-', the rest "-"; "server-N" when that leaves nothing.
func agentName(agent string, i int) string {
	name := strings.Trim(strings.Map(func(r rune) rune {
		if r < 128 && (unicode.IsLetter(r) || unicode.IsDigit(r) || r == '.' || r == '_' || r == '-') {
			return r
		}
		return '-'
	}, agent), "-._")
	if name == "" || targets.CheckName(name) != nil {
		return fmt.Sprintf("server-%d", i+1)
	}
	return name
}

// siblingURL is rawURL with its path replaced by path.
func siblingURL(rawURL, path string) string {
	u, err := neturl.Parse(rawURL)
	if err != nil {
		return ""
	}
	u.Path, u.RawPath = path, ""
	return u.String()
}

// builtinInfo returns the reference target called name, if there is one.
func builtinInfo(name string) (targets.Info, bool) {
	for _, t := range targets.Builtin() {
		if t.Info().Name == name {
			return t.Info(), true
		}
	}
	return targets.Info{}, false
}

// tlsRun reports whether the run talks TLS: then the browser accepts
// certificates it cannot verify, and each wss:// browser case says so.
func tlsRun(ready []engine.Target, tlsConfig *tls.Config) bool {
	if tlsConfig != nil {
		return true
	}
	for _, t := range ready {
		if strings.HasPrefix(strings.ToLower(t.EchoURL), "wss:") {
			return true
		}
	}
	return false
}

// writeConformance writes results.json, junit.xml and index.html.
func writeConformance(dir string, run results.Run) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("--out: %w", err)
	}
	b, err := results.Marshal(run)
	if err != nil {
		return err
	}
	j, err := reports.JUnit(run)
	if err != nil {
		return err
	}
	h, err := reports.HTML(reports.Input{Conformance: []results.Run{run}}, reports.HTMLOptions{Title: "wsharness conformance", Generated: time.Now()})
	if err != nil {
		return err
	}
	for name, data := range map[string][]byte{"results.json": b, "junit.xml": j, "index.html": h} {
		if err := os.WriteFile(filepath.Join(dir, name), data, 0o644); err != nil {
			return fmt.Errorf("write %s: %w", name, err)
		}
	}
	return nil
}
