package main

import (
	"cmp"
	"flag"
	"fmt"
	"io"
	"path/filepath"
	"slices"
	"strings"
	"time"
	"unicode"

	"github.com/wsharness/wsharness/conformance/autobahn"
	"github.com/wsharness/wsharness/conformance/browser/chromium"
	"github.com/wsharness/wsharness/conformance/cases"
	"github.com/wsharness/wsharness/conformance/engine"
	"github.com/wsharness/wsharness/conformance/expect"
	"github.com/wsharness/wsharness/results"
	"github.com/wsharness/wsharness/targets"
	"github.com/wsharness/wsharness/wire"
)

// defaultConcurrency: cases mostly wait on the network and on timers, so
// far more run at once than there are cores.
const defaultConcurrency = 32

func runConformance(args []string, stdout, stderr io.Writer) error {
	fs := newFlags("conformance", "(--url [NAME=]URL ... | --target NAME|GROUP ... | --client NAME|clients ...) [flags]", stderr)
	var urls, targetNames, clientNames repeated
	fs.Var(&urls, "url", "test the server at this ws:// or wss:// echo URL, named NAME (default: external; a reference target's name tests that target running there); repeatable")
	fs.Var(&targetNames, "target", "test a reference or external target by name, or a group: all, builtin, external; repeatable")
	fs.Var(&clientNames, "client", "test a client agent by name (a reference one, or one of --external's clients), or every one (clients), with the harness as the server; repeatable")
	external := fs.String("external", "", "file of external targets (servers and client drivers started by command), as targets/external.yaml")
	caseOpts := addCaseFlags(fs, "run", "server", "file of known per-target deviations (default: the one built in, for the reference and external targets)")
	concurrency := fs.Int("concurrency", defaultConcurrency, "cases in flight at once")
	seedText := fs.String("seed", "", "hex seed of the masking and handshake keys, from an earlier results.json, to replay its bytes")
	out := fs.String("out", "out/conformance", "directory for results.json, junit.xml and index.html")
	specFile := fs.String("spec", "", "an Autobahn|Testsuite fuzzingclient spec (servers, cases, exclude-cases, exclude-agent-cases) instead of --url/--target; its cases replace the profile")
	autobahnOut, autobahnAll := addAutobahnFlags(fs)
	tlsOpts := addTLSFlags(fs)
	if err := parseFlagsOnly(fs, args); err != nil {
		return err
	}
	var spec *autobahn.Spec
	agents := map[string]string{} // target name → the spec's agent
	if *specFile != "" {
		if len(urls) > 0 || len(targetNames) > 0 || len(clientNames) > 0 {
			return usageError("--spec names the servers: give it without --url, --target and --client")
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
	if len(urls) == 0 && len(targetNames) == 0 && len(clientNames) == 0 {
		return usageError("give --url (your server), --target (a reference or external target), --client (a reference client) or --spec (an Autobahn spec)")
	}
	clients, err := resolveClients(clientNames, *external)
	if err != nil {
		return usageError("--client: %v", err)
	}
	profile, err := caseOpts.check()
	if err != nil {
		return err
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
	deviations, err := readExpectations(*caseOpts.expect)
	if err != nil {
		return err
	}
	inProfile := func(catalog []cases.Case) []cases.Case {
		return caseOpts.selectCases(catalog, spec, profile)
	}
	var chosen, chosenForClients []cases.Case
	served := map[cases.Family]bool{} // families the run's catalogs have
	if len(urls) > 0 || len(targetNames) > 0 {
		chosen = inProfile(cases.All())
		for _, c := range cases.All() {
			served[c.Family] = true
		}
	}
	if len(clients) > 0 {
		chosenForClients = inProfile(cases.ForPeer(wire.Client))
		for _, c := range cases.ForPeer(wire.Client) {
			served[c.Family] = true
		}
	}
	skipped := map[cases.Family]string{}
	if spec == nil {
		for f, why := range profile.LeftOut() {
			if served[f] {
				skipped[f] = why
			}
		}
	}
	if len(urls) == 0 && len(targetNames) == 0 { // clients alone
		for _, f := range cases.Families() {
			if !served[f] {
				skipped[f] = noClientFormReason
			}
		}
	}
	if len(chosen) == 0 && len(chosenForClients) == 0 {
		return caseOpts.noMatch()
	}

	ctx, stop := interruptible()
	defer stop()

	for _, u := range urls {
		_, raw := engine.SplitURL(u)
		if err := checkWSURL("--url", raw); err != nil {
			return err
		}
	}
	var wants []engine.Want
	if len(urls) > 0 || len(targetNames) > 0 {
		if wants, err = engine.Resolve(engine.Request{URLs: urls, Names: targetNames, ExternalFile: *external}); err != nil {
			return usageError("%v", err)
		}
	}
	started := time.Now()
	ready := make([]engine.Target, len(wants))
	for i, w := range wants {
		t, stop := w.Start(ctx, tlsConfig, *caseOpts.timeScale)
		defer stop()
		ready[i] = t
	}
	ready = append(ready, clients...)
	if spec != nil {
		for i := range ready {
			agent := agents[ready[i].Info.Name]
			ready[i].Skip = func(id string) bool { return !spec.Selects(agent, id) }
		}
	}
	getBrowser, closeBrowser := engine.Chromium(chromium.LaunchOptions{IgnoreCertificateErrors: engine.TalksTLS(tlsConfig, wants)})
	defer closeBrowser()
	outcome := engine.Execute(ctx, engine.Plan{
		Targets: ready, Cases: chosen, ClientCases: chosenForClients, Concurrency: *concurrency,
		Settings: engine.Settings{Expect: deviations, TimeScale: *caseOpts.timeScale, TLS: tlsConfig, Seed: seed, Browser: getBrowser},
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
	if err := writeConformanceFiles(run, *out, *autobahnOut, *autobahnAll); err != nil {
		return err
	}
	if *autobahnOut != "" {
		fmt.Fprintf(stdout, "autobahn: %s\n", filepath.Join(*autobahnOut, "index.json"))
	}
	if assembleErr != nil {
		return fmt.Errorf("assemble the results: %w", assembleErr)
	}
	fmt.Fprintf(stdout, "results: %s  junit: %s  report: %s\n", filepath.Join(*out, engine.ResultsFile),
		filepath.Join(*out, engine.JUnitFile), filepath.Join(*out, engine.ReportFile))
	return conformanceVerdict(run, filepath.Join(*out, engine.ResultsFile), stdout)
}

// caseFlags are the flags that conformance and fuzzingserver share:
// which cases (--profile, --cases, --exclude), the known deviations
// (--expect) and the timer scale (--timescale).
type caseFlags struct {
	profile          *string
	include, exclude repeated
	expect           *string
	timeScale        *float64
}

// addCaseFlags adds the case flags; verb says what the command does with
// the cases (run, serve), peer what it tests (server, client), and
// expectHelp whose deviations --expect lists.
func addCaseFlags(fs *flag.FlagSet, verb, peer, expectHelp string) *caseFlags {
	f := &caseFlags{}
	f.profile = fs.String("profile", string(cases.ProfileDefault), "default: leave out the slow families (limits, deflate payloads and parameters); full: every family")
	fs.Var(&f.include, "cases", verb+" only the cases whose ID matches this pattern (an ID, or a prefix such as 6.1.*); repeatable")
	fs.Var(&f.exclude, "exclude", "leave out the cases whose ID matches this pattern; repeatable")
	f.expect = fs.String("expect", "", expectHelp)
	f.timeScale = fs.Float64("timescale", 1, "multiply every case timer, for a slow "+peer)
	return f
}

// check parses --profile and checks --timescale.
func (f *caseFlags) check() (cases.Profile, error) {
	profile, err := cases.ParseProfile(*f.profile)
	if err != nil {
		return "", usageError("--%v", err)
	}
	if *f.timeScale <= 0 {
		return "", usageError("--timescale %v: want more than 0", *f.timeScale)
	}
	return profile, nil
}

// selectCases picks the cases of catalog a run serves: the spec's, or
// else the profile's; then --cases and --exclude.
func (f *caseFlags) selectCases(catalog []cases.Case, spec *autobahn.Spec, profile cases.Profile) []cases.Case {
	var out []cases.Case
	for _, c := range catalog {
		if spec != nil && spec.Selects("", c.ID) || spec == nil && profile.Includes(c.Family) {
			out = append(out, c)
		}
	}
	return engine.Select(out, f.include, f.exclude)
}

// noMatch is the error for a selection that leaves no case.
func (f *caseFlags) noMatch() error {
	return usageError("no case matches --cases %v --exclude %v", []string(f.include), []string(f.exclude))
}

// addAutobahnFlags adds the flags that write Autobahn's report layout
// too: --autobahn-out DIR and --autobahn-all.
func addAutobahnFlags(fs *flag.FlagSet) (dir *string, all *bool) {
	dir = fs.String("autobahn-out", "", "also write Autobahn's report layout here: index.json and a file per case (default with --spec: the spec's outdir)")
	all = fs.Bool("autobahn-all", false, "put wsharness's own cases (0.x, 11.x, 100.x, 101.x, 200.x) in index.json too")
	return dir, all
}

// writeConformanceFiles writes a run's results.json, junit.xml and index.html into
// out, and Autobahn's report layout into autobahnOut unless it is empty.
func writeConformanceFiles(run results.Run, out, autobahnOut string, autobahnAll bool) error {
	if err := engine.WriteFiles(out, run); err != nil {
		return fmt.Errorf("--out: %w", err)
	}
	if autobahnOut != "" {
		if err := autobahn.Write(autobahnOut, run, autobahnAll); err != nil {
			return err
		}
	}
	return nil
}

// resolveClients looks up client agents by name: the reference ones,
// Chromium's own WebSocket (chromium.ClientName) and the client drivers
// of the external file; "clients" names them all.
func resolveClients(names []string, externalFile string) ([]engine.Target, error) {
	if len(names) == 0 {
		return nil, nil
	}
	registry, err := targets.ClientRegistry(externalFile)
	if err != nil {
		return nil, err
	}
	var known []string
	for _, a := range registry {
		if a.Name == chromium.ClientName {
			return nil, fmt.Errorf("client %s: name taken by Chromium's own client", a.Name)
		}
		known = append(known, a.Name)
	}
	known = append(known, chromium.ClientName)
	var out []engine.Target
	seen := map[string]bool{}
	add := func(name string) {
		if seen[name] {
			return
		}
		seen[name] = true
		if name == chromium.ClientName {
			out = append(out, engine.ChromiumClient())
			return
		}
		a := registry[slices.IndexFunc(registry, func(a targets.ClientAgent) bool { return a.Name == name })]
		out = append(out, engine.Target{Info: a.Info, Client: a.Echo, Drive: a.Drive})
	}
	for _, name := range names {
		switch {
		case name == clientsGroup:
			for _, n := range known {
				add(n)
			}
		case slices.Contains(known, name):
			add(name)
		default:
			return nil, fmt.Errorf("unknown client %q (clients: %s, or %s for all)", name, strings.Join(known, ", "), clientsGroup)
		}
	}
	return out, nil
}

// noClientFormReason is why a run of clients alone leaves a family out.
const noClientFormReason = "no client form: the family tests what only a server does (docs/clients.md)"

// clientsGroup names every client agent.
const clientsGroup = "clients"

// readExpectations reads the expectations file, or the built-in one.
func readExpectations(path string) (expect.List, error) {
	if path == "" {
		l, err := expect.Parse(targets.Expectations)
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
