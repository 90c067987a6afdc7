package suites_test

import (
	"cmp"
	"context"
	"flag"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	. "github.com/onsi/ginkgo/v2"
	"github.com/onsi/ginkgo/v2/types"
	. "github.com/onsi/gomega"

	"github.com/wsharness/wsharness/conformance/browser/chromium"
	"github.com/wsharness/wsharness/conformance/cases"
	"github.com/wsharness/wsharness/conformance/engine"
	"github.com/wsharness/wsharness/conformance/expect"
	"github.com/wsharness/wsharness/results"
	"github.com/wsharness/wsharness/targets"
	"github.com/wsharness/wsharness/wire"
)

// Suite flags; pass them after "--" to ginkgo (make conformance does).
var (
	flagURL       = flag.String("wsh.url", "", "echo URL of a server to test instead of the built-in targets")
	flagName      = flag.String("wsh.name", "", "name of the server given by -wsh.url (default: external)")
	flagTargets   = flag.String("wsh.targets", "all", "comma-separated target names, or the groups all, builtin, external")
	flagExternal  = flag.String("wsh.external", "", "file of external targets (servers started by command) to add to the built-in ones; make conformance passes targets/external.yaml")
	flagOut       = flag.String("wsh.out", "", "directory for results.json, junit.xml and index.html (none if empty)")
	flagExpect    = flag.String("wsh.expect", "../targets/expectations.yaml", "file of known per-target deviations")
	flagTimeScale = flag.Float64("wsh.time-scale", 1, "multiply every case timer (for slow servers)")
	flagTargetCmd = flag.String("wsh.target-cmd", "", "command that starts the server given by -wsh.url (the harness starts, probes and stops it)")
	flagSeed      = flag.String("wsh.seed", "", "hex seed of the client's masking keys and Sec-WebSocket-Keys, from an earlier run's results.json, to replay it byte for byte (default: a fresh random seed)")
	flagProfile   = flag.String("wsh.profile", string(cases.ProfileDefault), "default: leave out the slow families (cases.SlowFamilies) and list them as skipped; full: run every family")
	flagLabels    = flag.String("wsh.labels", "", "a Ginkgo label filter over each case's labels: family:NAME, case:ID, target:NAME, and profile:full on the slow families")
	flagConc      = flag.Int("wsh.concurrency", 32, "cases in flight at once")
)

var (
	profile    cases.Profile
	wants      []engine.Want
	deviations expect.List
	labels     types.LabelFilter
	seed       wire.Seed
)

func TestConformance(t *testing.T) {
	var err error
	if profile, err = cases.ParseProfile(*flagProfile); err != nil {
		t.Fatalf("-wsh.%v", err)
	}
	if *flagConc < 1 {
		t.Fatalf("-wsh.concurrency %d: want at least 1", *flagConc)
	}
	if labels, err = types.ParseLabelFilter(*flagLabels); err != nil {
		t.Fatalf("-wsh.labels: %v", err)
	}
	if err = setupTLS(); err != nil {
		t.Fatal(err)
	}
	if wants, err = resolveTargets(); err != nil {
		t.Fatal(err)
	}
	if deviations, err = expect.ReadFile(*flagExpect); err != nil {
		t.Fatal(err)
	}
	seed = wire.NewSeed()
	if *flagSeed != "" {
		if seed, err = wire.ParseSeed(*flagSeed); err != nil {
			t.Fatalf("-wsh.seed: %v", err)
		}
	}
	RegisterFailHandler(Fail)
	RunSpecs(t, "wsharness conformance")
}

// resolveTargets resolves -wsh.url (with -wsh.target-cmd), or
// -wsh.targets with -wsh.external and -wsh.remote.
func resolveTargets() ([]engine.Want, error) {
	if *flagURL != "" {
		return engine.Resolve(engine.Request{URLs: []string{cmp.Or(*flagName, "external") + "=" + *flagURL}, Command: *flagTargetCmd})
	}
	if *flagTargetCmd != "" {
		return nil, fmt.Errorf("-wsh.target-cmd needs -wsh.url: the echo URL the command serves")
	}
	ws, err := engine.Resolve(engine.Request{Names: []string{*flagTargets}, ExternalFile: *flagExternal})
	if err != nil {
		return nil, err
	}
	remote, err := parseRemote(*flagRemote, ws)
	if err != nil {
		return nil, err
	}
	for i, w := range ws {
		if base, ok := remote[w.Info.Name]; ok {
			at, err := engine.Resolve(engine.Request{URLs: []string{w.Info.Name + "=" + base + targets.EchoPath}})
			if err != nil {
				return nil, err
			}
			ws[i] = at[0]
		}
	}
	return ws, nil
}

// caseLabels are the labels -wsh.labels filters a case by.
func caseLabels(c cases.Case, target string) []string {
	l := []string{"family:" + string(c.Family), "case:" + c.ID, "target:" + target}
	if cases.IsSlow(c.Family) {
		l = append(l, "profile:full")
	}
	return l
}

// The run: every selected case against every target, on the engine, in
// this one process (the engine runs cases concurrently; Ginkgo's parallel
// processes would each run a copy). It starts before the specs, and each
// target's spec reports that target's verdicts when the run has ended.
var run struct {
	started  time.Time
	ready    []engine.Target
	cancel   context.CancelFunc
	finished chan struct{}
	outcome  engine.Execution
}

var _ = BeforeSuite(func(ctx SpecContext) {
	if suite, _ := GinkgoConfiguration(); suite.ParallelTotal > 1 {
		Fail("run the conformance suite in one Ginkgo process (no -p or --procs): its engine runs the cases concurrently itself, and every process would run them all")
	}
	run.started = time.Now()
	for _, w := range wants {
		t, stop := w.Start(ctx, suiteTLS, *flagTimeScale)
		DeferCleanup(stop)
		run.ready = append(run.ready, t)
	}
	getBrowser, closeBrowser := engine.Chromium(chromium.LaunchOptions{IgnoreCertificateErrors: engine.TalksTLS(suiteTLS, wants)})
	DeferCleanup(closeBrowser)
	// The cases are chosen per target: -wsh.labels may name targets.
	var all []cases.Case
	picked := map[string]map[string]bool{}
	for _, t := range run.ready {
		picked[t.Info.Name] = map[string]bool{}
	}
	for _, c := range cases.All() {
		if !profile.Includes(c.Family) {
			continue
		}
		anyTarget := false
		for _, t := range run.ready {
			if labels(caseLabels(c, t.Info.Name)) {
				picked[t.Info.Name][c.ID], anyTarget = true, true
			}
		}
		if anyTarget {
			all = append(all, c)
		}
	}
	for i := range run.ready {
		ids := picked[run.ready[i].Info.Name]
		run.ready[i].Skip = func(id string) bool { return !ids[id] }
	}
	var runCtx context.Context
	runCtx, run.cancel = context.WithCancel(context.Background())
	run.finished = make(chan struct{})
	plan := engine.Plan{
		Targets: run.ready, Cases: all, Concurrency: *flagConc,
		Settings: engine.Settings{Expect: deviations, TimeScale: *flagTimeScale, TLS: suiteTLS, Seed: seed, Browser: getBrowser},
	}
	go func() {
		defer close(run.finished)
		run.outcome = engine.Execute(runCtx, plan)
	}()
	// Ginkgo prints nothing else until the run ends.
	fmt.Printf("wsharness conformance: %d cases against %d targets, %d at a time\n", len(all), len(run.ready), *flagConc)
	// The browser and the targets stop after the run (DeferCleanup runs
	// in reverse order). With every spec filtered out the run still ends
	// by itself; an interrupt cuts it short.
	DeferCleanup(func(ctx SpecContext) { await(ctx) })
})

// await waits for the run to end; an interrupt (ctx ending) cuts it short.
func await(ctx context.Context) {
	select {
	case <-run.finished:
	case <-ctx.Done():
		run.cancel()
		<-run.finished
	}
}

// One spec per target: it passes when none of the target's verdicts is
// unexpected (a FAILED behaviour or FAILED/UNCLEAN close not listed in
// the expectations, or a harness error), and lists each one otherwise.
var _ = Describe("conformance", func() {
	for _, w := range wants {
		name := w.Info.Name
		It(name, Label("target:"+name), func(ctx SpecContext) {
			await(ctx)
			var unexpected []string
			for _, rec := range run.outcome.Records {
				switch {
				case rec.Target != name:
				case rec.Unavailable != "":
					Skip("target " + name + " unavailable: " + rec.Unavailable)
				case rec.Case.Unexpected():
					unexpected = append(unexpected, describe(rec.Case))
				}
			}
			if len(unexpected) > 0 {
				slices.Sort(unexpected)
				Fail(fmt.Sprintf("%s: %d unexpected verdicts\n\n%s", name, len(unexpected), strings.Join(unexpected, "\n\n")))
			}
		})
	}
})

// describe explains an unexpected verdict with the RFC clause and the
// observed text.
func describe(c results.Case) string {
	s := fmt.Sprintf("case %s (%s): behaviour %s, close %s\nexpected: %s\nobserved: %s", c.ID, c.RFC, c.Verdict, c.CloseVerdict, c.Expectation, c.Observed)
	if c.HarnessError != "" {
		s += "\nharness error: " + c.HarnessError
	}
	return s
}

var _ = ReportAfterSuite("write results", func(report Report) {
	if *flagOut == "" || run.finished == nil {
		return
	}
	<-run.finished
	// Whatever could not be assembled is reported after the files are
	// written: the rest of the run is still worth having.
	res, err := assemble(report.SpecialSuiteFailureReasons)
	Expect(engine.WriteFiles(*flagOut, res)).To(Succeed())
	Expect(err).NotTo(HaveOccurred(), "assemble results.json")
})

// assemble makes the results document of the run. An interrupt (or
// Ginkgo's suite timeout) marks it incomplete; the cases it cut short
// are left out.
func assemble(suiteFailures []string) (results.Run, error) {
	info := engine.Run{
		Started: run.started, Duration: time.Since(run.started), Seed: seed.String(),
		Incomplete:      run.outcome.Cut > 0 || interrupted(suiteFailures),
		SkippedFamilies: profile.LeftOut(),
	}
	for f, why := range run.outcome.SkippedFamilies {
		info.SkippedFamilies[f] = why
	}
	for _, w := range wants {
		info.Targets = append(info.Targets, w.Info)
	}
	return engine.Assemble(info, run.outcome.Records)
}

func interrupted(reasons []string) bool {
	for _, r := range reasons {
		if strings.Contains(strings.ToLower(r), "interrupt") || strings.Contains(strings.ToLower(r), "timeout") {
			return true
		}
	}
	return false
}
