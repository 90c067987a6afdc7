package main

import (
	"cmp"
	"fmt"
	"io"
	"net/url"
	"path/filepath"
	"sync"
	"time"

	"github.com/wsharness/wsharness/conformance/autobahn"
	"github.com/wsharness/wsharness/conformance/cases"
	"github.com/wsharness/wsharness/conformance/engine"
	"github.com/wsharness/wsharness/results"
	"github.com/wsharness/wsharness/targets"
	"github.com/wsharness/wsharness/wire"
)

// runFuzzingServer serves Autobahn's fuzzing-server protocol, so that a
// client test driver written for `wstest -m fuzzingserver` runs unchanged
// against wsharness's client cases.
func runFuzzingServer(args []string, stdout, stderr io.Writer) error {
	fs := newFlags("fuzzingserver", "[--addr 127.0.0.1:9001] [--spec fuzzingserver.json] [flags]", stderr)
	addr := fs.String("addr", "", "loopback address to listen on (default: the spec's url, else 127.0.0.1:9001)")
	specFile := fs.String("spec", "", "an Autobahn|Testsuite fuzzingserver spec (url, outdir, cases, exclude-cases, exclude-agent-cases); its cases replace the profile")
	caseOpts := addCaseFlags(fs, "serve", "client", "file of known per-agent deviations (default: the one built in)")
	out := fs.String("out", "out/fuzzingserver", "directory for results.json, junit.xml and index.html, written on every /updateReports and at exit")
	autobahnOut, autobahnAll := addAutobahnFlags(fs)
	if err := parseFlagsOnly(fs, args); err != nil {
		return err
	}
	var spec *autobahn.Spec
	addrSource := "--addr"
	if *specFile != "" {
		s, err := autobahn.ReadFuzzingServerSpec(*specFile)
		if err != nil {
			return usageError("--spec: %v", err)
		}
		spec = &s
		if *autobahnOut == "" {
			*autobahnOut = cmp.Or(s.OutDir, "./reports/clients")
		}
		if *addr == "" {
			u, err := url.Parse(s.URL)
			if err != nil || u.Scheme != "ws" || u.Port() == "" {
				return usageError("--spec: url %q: want ws://127.0.0.1:PORT", s.URL)
			}
			*addr, addrSource = u.Host, "--spec's url"
		}
	}
	*addr = cmp.Or(*addr, "127.0.0.1:9001")
	if err := engine.CheckLoopback(*addr); err != nil {
		return usageError("%s: %v", addrSource, err)
	}
	profile, err := caseOpts.check()
	if err != nil {
		return err
	}
	deviations, err := readExpectations(*caseOpts.expect)
	if err != nil {
		return err
	}
	list := caseOpts.selectCases(cases.ForPeer(wire.Client), spec, profile)
	if len(list) == 0 {
		return caseOpts.noMatch()
	}
	skipped := map[cases.Family]string{}
	if spec == nil {
		for f, why := range profile.LeftOut() {
			skipped[f] = why
		}
	}

	ctx, stop := interruptible()
	defer stop()
	started := time.Now()
	names := map[string]bool{} // target names given to agents
	var writeMu sync.Mutex
	write := func(agents []engine.AgentResults, incomplete bool) (results.Run, error) {
		writeMu.Lock()
		defer writeMu.Unlock()
		info := engine.Run{Started: started, Duration: time.Since(started), Incomplete: incomplete, SkippedFamilies: skipped}
		var records []engine.Record
		for _, a := range agents {
			info.Targets = append(info.Targets, a.Target.Info)
			records = append(records, a.Records...)
		}
		run, assembleErr := engine.Assemble(info, records)
		for i := range run.Targets {
			run.Targets[i].Agent = agents[i].Agent
		}
		if err := writeConformanceFiles(run, *out, *autobahnOut, *autobahnAll); err != nil {
			return run, err
		}
		if assembleErr != nil {
			return run, fmt.Errorf("assemble the results: %w", assembleErr)
		}
		return run, nil
	}
	server, err := engine.StartFuzzingServer(ctx, engine.FuzzingOptions{
		Settings: engine.Settings{Expect: deviations, TimeScale: *caseOpts.timeScale, Seed: wire.NewSeed()},
		Addr:     *addr,
		Cases:    list,
		Excluded: func(agent, id string) bool { return spec != nil && !spec.Selects(agent, id) },
		Target: func(agent string) engine.Target {
			name := agentName(agent, len(names))
			for i := 2; names[name]; i++ {
				name = fmt.Sprintf("%s-%d", agentName(agent, len(names)), i)
			}
			names[name] = true
			return engine.Target{Info: targets.Info{Name: name, Library: "external", Role: wire.Client,
				Description: "client test driver speaking Autobahn's fuzzing-server protocol, agent " + agent}}
		},
		OnUpdate: func(agents []engine.AgentResults) {
			if _, err := write(agents, false); err != nil {
				fmt.Fprintf(stderr, "wsharness fuzzingserver: update reports: %v\n", err)
			}
		},
	})
	if err != nil {
		return &exitError{code: exitUnreachable, err: err}
	}
	fmt.Fprintf(stdout, "fuzzing server: %s (%d cases; stop with /stopServer or Ctrl-C)\n", server.URL(), len(list))
	select {
	case <-server.Stopped():
	case <-ctx.Done():
	}
	// A signal is how a fuzzing server is usually stopped: the run is
	// incomplete only when it cut a case short.
	cut := server.Close()
	run, err := write(server.Results(), cut > 0)
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "results: %s  junit: %s  report: %s\n", filepath.Join(*out, engine.ResultsFile),
		filepath.Join(*out, engine.JUnitFile), filepath.Join(*out, engine.ReportFile))
	if *autobahnOut != "" {
		fmt.Fprintf(stdout, "autobahn: %s\n", filepath.Join(*autobahnOut, "index.json"))
	}
	return conformanceVerdict(run, filepath.Join(*out, engine.ResultsFile), stdout)
}
