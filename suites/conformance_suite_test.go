package suites_test

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	. "github.com/onsi/ginkgo/v2"
	"github.com/onsi/ginkgo/v2/types"
	. "github.com/onsi/gomega"
	"github.com/onsi/gomega/gcustom"

	"github.com/wsharness/wsharness/reports"
	"github.com/wsharness/wsharness/suites/browser/chromium"
	"github.com/wsharness/wsharness/suites/casekit"
	"github.com/wsharness/wsharness/suites/cases"
	"github.com/wsharness/wsharness/suites/engine"
	"github.com/wsharness/wsharness/suites/expect"
	"github.com/wsharness/wsharness/suites/results"
	"github.com/wsharness/wsharness/suites/wire"
	"github.com/wsharness/wsharness/targets"
)

// Suite flags; pass them after "--" to ginkgo (make conformance does).
var (
	flagURL       = flag.String("wsh.url", "", "echo URL of a server to test instead of the built-in targets")
	flagName      = flag.String("wsh.name", "", "name of the server given by -wsh.url (default: external)")
	flagTargets   = flag.String("wsh.targets", "all", "comma-separated target names, or the groups all, builtin, external")
	flagExternal  = flag.String("wsh.external", "", "file of external targets (servers started by command) to add to the built-in ones; make conformance passes targets/external.yaml")
	flagOut       = flag.String("wsh.out", "", "directory for results.json and junit.xml (none if empty)")
	flagExpect    = flag.String("wsh.expect", "expectations.yaml", "file of known per-target deviations")
	flagTimeScale = flag.Float64("wsh.time-scale", 1, "multiply every case timer (for slow servers)")
	flagTargetCmd = flag.String("wsh.target-cmd", "", "command that starts the server given by -wsh.url (the harness starts, probes and stops it)")
	flagSeed      = flag.String("wsh.seed", "", "hex seed of the client's masking keys and Sec-WebSocket-Keys, from an earlier run's results.json, to replay it byte for byte (default: a fresh random seed)")
	// Slow families run only when asked for. make conformance also filters
	// their "profile:full" label out, so their specs do not even start.
	flagProfile = flag.String("wsh.profile", string(cases.ProfileDefault), "default: leave out the slow families (cases.SlowFamilies) and list them as skipped; full: run every family")
)

// Names under which each spec attaches its result, or why its target
// could not run.
const (
	reportEntry      = "wsharness.result"
	unavailableEntry = "wsharness.unavailable"
	// skippedFamilyEntry carries why a whole family could not run.
	skippedFamilyEntry = "wsharness.skipped-family"
)

var (
	profile    cases.Profile
	selected   []targets.Target
	deviations expect.List
	// running maps target names to their started instances in this
	// Ginkgo process; each parallel process starts its own.
	running = map[string]targets.Running{}
	// unavailable maps target names to why they could not be started:
	// their cases are skipped with that reason, not failed one by one.
	unavailable = map[string]string{}
	// liveness follows, per target, whether it still answers opening
	// handshakes in this process (casekit.Liveness).
	liveness = map[string]*casekit.Liveness{}
	// seed is the run's: the first process picks it (or reads -wsh.seed)
	// and shares it, so every process derives the same keys.
	seed wire.Seed
)

// record is what a spec reports; ReportAfterSuite assembles them.
type record = engine.Record

func TestConformance(t *testing.T) {
	var err error
	if profile, err = cases.ParseProfile(*flagProfile); err != nil {
		t.Fatalf("-wsh.%v", err)
	}
	if selected, err = selectTargets(); err != nil {
		t.Fatal(err)
	}
	if remote, err = parseRemote(*flagRemote, selected); err != nil {
		t.Fatal(err)
	}
	if err = setupTLS(selected); err != nil {
		t.Fatal(err)
	}
	if deviations, err = expect.ReadFile(*flagExpect); err != nil {
		t.Fatal(err)
	}
	if *flagSeed != "" {
		if seed, err = wire.ParseSeed(*flagSeed); err != nil {
			t.Fatalf("-wsh.seed: %v", err)
		}
	}
	RegisterFailHandler(Fail)
	RunSpecs(t, "wsharness conformance")
}

func selectTargets() ([]targets.Target, error) {
	if *flagURL != "" {
		t, err := targets.ExternalFromFlags(*flagName, *flagTargetCmd, *flagURL)
		if err != nil {
			return nil, err
		}
		return []targets.Target{t}, nil
	}
	if *flagTargetCmd != "" {
		return nil, fmt.Errorf("-wsh.target-cmd needs -wsh.url: the echo URL the command serves")
	}
	registry, err := targets.Registry(*flagExternal)
	if err != nil {
		return nil, err
	}
	return targets.Select(registry, *flagTargets)
}

// sharedTarget is how the first Ginkgo process tells the others about a
// target it started for all of them.
type sharedTarget struct {
	EchoURL, BroadcastURL string
	Unavailable           string
}

// firstProcess is what the first Ginkgo process tells the others.
type firstProcess struct {
	Seed    wire.Seed
	Targets map[string]sharedTarget
}

// started holds the command-backed targets process 1 runs for everyone.
var started []targets.Running

// Targets that run a command (external servers) are started once, by the
// first process, and shared: a second copy would fight over the port.
// In-process reference targets are started by every process.
var _ = SynchronizedBeforeSuite(func(ctx SpecContext) []byte {
	if *flagSeed == "" {
		seed = wire.NewSeed()
	}
	shared := map[string]sharedTarget{}
	for _, t := range selected {
		ext, ok := t.(targets.External)
		if !ok {
			continue
		}
		if len(ext.Spec.Command) == 0 {
			// A server given by URL that cannot be reached at all (nothing
			// listens, the name does not resolve, its certificate is not
			// trusted) cannot be tested: that is not a verdict on it.
			if _, remoteURL := remote[t.Info().Name]; !remoteURL {
				if err := wire.Reach(ctx, ext.Spec.EchoURL, suiteTLS, casekit.Env{TimeScale: *flagTimeScale}.Scaled(casekit.HandshakeTimeout)); err != nil {
					shared[t.Info().Name] = sharedTarget{Unavailable: "cannot be reached: " + err.Error()}
				}
			}
			continue
		}
		name := t.Info().Name
		if ok, reason := ext.Available(); !ok {
			shared[name] = sharedTarget{Unavailable: reason}
			continue
		}
		r, err := ext.Start(ctx, "")
		if err != nil {
			shared[name] = sharedTarget{Unavailable: err.Error()}
			continue
		}
		started = append(started, r)
		shared[name] = sharedTarget{EchoURL: r.URL(targets.EchoPath), BroadcastURL: r.URL(targets.BroadcastPath)}
	}
	b, err := json.Marshal(firstProcess{Seed: seed, Targets: shared})
	Expect(err).NotTo(HaveOccurred())
	return b
}, func(ctx SpecContext, data []byte) {
	var first firstProcess
	Expect(json.Unmarshal(data, &first)).To(Succeed())
	seed = first.Seed
	for _, t := range selected {
		name := t.Info().Name
		if s, ok := first.Targets[name]; ok {
			if s.Unavailable != "" {
				unavailable[name] = s.Unavailable
			} else {
				running[name] = sharedRunning(s)
			}
			continue
		}
		if base, ok := remote[name]; ok {
			running[name] = sharedRunning{EchoURL: base + targets.EchoPath, BroadcastURL: base + targets.BroadcastPath}
			continue
		}
		if ext, ok := t.(targets.External); ok {
			if ok, reason := ext.Available(); !ok {
				unavailable[name] = reason
				continue
			}
		}
		r, err := t.Start(ctx, "127.0.0.1:0")
		if errors.Is(err, targets.ErrTargetUnavailable) {
			unavailable[name] = err.Error()
			continue
		}
		Expect(err).NotTo(HaveOccurred(), "start target %s", name)
		running[name] = r
		DeferCleanup(func(ctx SpecContext) { _ = r.Stop(ctx) })
	}
})

var _ = SynchronizedAfterSuite(func() {
	if realBrowser != nil {
		realBrowser.Close()
	}
}, func(ctx SpecContext) {
	for _, r := range started {
		_ = r.Stop(ctx)
	}
})

// sharedRunning is a target another process started.
type sharedRunning sharedTarget

func (s sharedRunning) URL(path string) string {
	if path == targets.BroadcastPath {
		return s.BroadcastURL
	}
	return s.EchoURL
}

func (s sharedRunning) Stop(context.Context) error { return nil }

// describeFamily declares one spec per case of the family per target.
// Slow families are labelled "profile:full", which the default profile of
// make conformance filters out.
func describeFamily(family string) bool {
	labels := Labels{"family:" + family}
	if cases.IsSlow(family) {
		labels = append(labels, "profile:full")
	}
	return Describe(family, labels, func() {
		for _, t := range selected {
			info := t.Info()
			Describe(info.Name, Label("target:"+info.Name), func() {
				for _, c := range cases.ByFamily(family) {
					It(c.ID+" "+c.Title, Label("case:"+c.ID), func(ctx SpecContext) {
						runCase(ctx, info, c)
					}, SpecTimeout(specTimeout(c)))
				}
			})
		}
	})
}

// specTimeout bounds a spec: the case's own bound (cases.Case.Bound, what
// it can take whatever the server does) plus a minute of margin for a
// loaded machine. A case past it is a harness bug: Ginkgo reports a
// timeout and the hostile-server tests (suites/robustness) fail.
func specTimeout(c cases.Case) time.Duration {
	return c.Bound(casekit.Env{TimeScale: *flagTimeScale}) + time.Minute
}

func runCase(ctx context.Context, info targets.Info, c cases.Case) {
	if !profile.Includes(c.Family) {
		// The label filter normally keeps these specs from running at all;
		// assemble lists the family as skipped either way.
		Skip("family " + c.Family + ": " + cases.SlowFamilyReason)
	}
	if reason, ok := unavailable[info.Name]; ok {
		AddReportEntry(unavailableEntry, record{Target: info.Name, Library: info.Library, Unavailable: reason}, ReportEntryVisibilityNever)
		Skip("target " + info.Name + " unavailable: " + reason)
	}
	r := running[info.Name]
	Expect(r).NotTo(BeNil(), "target %s is not running", info.Name)
	url := r.URL(targets.EchoPath)
	if liveness[info.Name] == nil {
		liveness[info.Name] = &casekit.Liveness{}
	}
	env := casekit.Env{URL: url, TimeScale: *flagTimeScale, TLS: suiteTLS, Keys: wire.NewKeyStream(seed, info.Name+"/"+c.ID), Liveness: liveness[info.Name]}
	if c.Family == cases.FamilyBrowser {
		b, skipped, err := sharedBrowser()
		if skipped != "" {
			AddReportEntry(skippedFamilyEntry, skippedFamily{Family: c.Family, Reason: skipped}, ReportEntryVisibilityNever)
			Skip("browser family skipped: " + skipped)
		}
		Expect(err).NotTo(HaveOccurred(), "start the browser for the browser family")
		env.Browser, env.BroadcastURL = b, r.URL(targets.BroadcastPath)
	}
	res := c.Run(ctx, env)
	if d, ok := deviations.Lookup(info.Name, c.ID); ok {
		res.Deviation, res.Unstable = d.Reason, d.Unstable
	}
	AddReportEntry(reportEntry, encodeRecord(record{Target: info.Name, Library: info.Library, URL: url, Case: res}), ReportEntryVisibilityNever)
	Expect(res).To(conform())
}

// The browser family's Chromium: one per Ginkgo process, started by the
// first browser case the process runs, closed after the suite.
var (
	browserOnce    sync.Once
	realBrowser    *chromium.Browser
	browserSkipped string
	browserErr     error
)

// skippedFamily is the report entry of a family that cannot run here.
type skippedFamily struct {
	Family string `json:"family"`
	Reason string `json:"reason"`
}

// sharedBrowser starts this process's Chromium once. No Chromium at all
// skips the family (with a reason in the results); one that will not start
// is an error.
func sharedBrowser() (*chromium.Browser, string, error) {
	browserOnce.Do(func() {
		exe, err := chromium.Find()
		if err != nil {
			browserSkipped = err.Error()
			return
		}
		realBrowser, browserErr = chromium.LaunchWith(context.Background(), exe, chromium.LaunchOptions{IgnoreCertificateErrors: tlsRun()})
	})
	return realBrowser, browserSkipped, browserErr
}

// conform fails a spec on an unexpected FAILED behaviour or FAILED/UNCLEAN
// close, explaining it with the RFC clause and the observed text.
func conform() OmegaMatcher {
	return gcustom.MakeMatcher(func(c results.Case) (bool, error) {
		return !c.Unexpected(), nil
	}).WithTemplate("case {{.Actual.ID}} ({{.Actual.RFC}}): behaviour {{.Actual.Verdict}}, close {{.Actual.CloseVerdict}}\nexpected: {{.Actual.Expectation}}\nobserved: {{.Actual.Observed}}")
}

var _ = ReportAfterSuite("write results", func(report Report) {
	if *flagOut == "" {
		return
	}
	// Whatever could not be read is reported after the files are written:
	// the rest of the run is still worth having.
	run, err := assemble(report)
	Expect(os.MkdirAll(*flagOut, 0o755)).To(Succeed())
	b, merr := results.Marshal(run)
	Expect(merr).NotTo(HaveOccurred())
	Expect(os.WriteFile(filepath.Join(*flagOut, "results.json"), b, 0o644)).To(Succeed())
	j, jerr := reports.JUnit(run)
	Expect(jerr).NotTo(HaveOccurred())
	Expect(os.WriteFile(filepath.Join(*flagOut, "junit.xml"), j, 0o644)).To(Succeed())
	Expect(err).NotTo(HaveOccurred(), "assemble results.json")
})

// assemble collects every spec's record into a results document. A report
// entry that cannot be read is an error, never a silent loss.
func assemble(report Report) (results.Run, error) {
	info := engine.Run{
		Started: report.StartTime, Duration: report.RunTime, Seed: seed.String(),
		Incomplete:      report.SpecialSuiteFailureReasons != nil && interrupted(report.SpecialSuiteFailureReasons),
		SkippedFamilies: map[string]string{},
	}
	for _, t := range selected {
		info.Targets = append(info.Targets, t.Info())
	}
	// Filtered-out specs leave no report entry: the profile says which
	// families they were.
	for _, f := range cases.SlowFamilies {
		if !profile.Includes(f) {
			info.SkippedFamilies[f] = cases.SlowFamilyReason
		}
	}
	var records []record
	var errs []error
	for _, spec := range report.SpecReports {
		// A case an interrupt cut short has no verdict: what it observed
		// ends where the signal stopped it. The run is marked incomplete.
		cutShort := spec.State.Is(types.SpecStateInterrupted)
		for _, e := range spec.ReportEntries {
			switch {
			case e.Name == skippedFamilyEntry:
				var sf skippedFamily
				if err := decodeEntry(e.Value, &sf); err != nil {
					errs = append(errs, fmt.Errorf("%s: skipped family entry: %w", spec.FullText(), err))
					continue
				}
				info.SkippedFamilies[sf.Family] = sf.Reason
			case e.Name == unavailableEntry, e.Name == reportEntry && !cutShort:
				rec, err := decodeRecord(e.Value)
				if err != nil {
					errs = append(errs, fmt.Errorf("%s: case record: %w", spec.FullText(), err))
					continue
				}
				records = append(records, rec)
			}
		}
	}
	run, err := engine.Assemble(info, records)
	return run, errors.Join(append(errs, err)...)
}

// recordJSON is a spec's record as its JSON text. Ginkgo copies report
// entries between processes and decodes structured values into generic
// maps: a flat string costs a fraction of that, and String keeps Ginkgo's
// printed representation of the entry short.
type recordJSON string

func (recordJSON) String() string { return "wsharness case record" }

func encodeRecord(r record) recordJSON {
	b, err := json.Marshal(r)
	Expect(err).NotTo(HaveOccurred(), "encode the result of case %s", r.Case.ID)
	return recordJSON(b)
}

// decodeRecord reads a spec's record: the value itself when the spec ran in
// this process, its JSON when it ran in another parallel process.
func decodeRecord(v types.ReportEntryValue) (record, error) {
	if raw, ok := v.GetRawValue().(record); ok {
		return raw, nil
	}
	var rec record
	err := decodeEntry(v, &rec)
	return rec, err
}

// decodeEntry decodes a report entry's value into dst: from the value
// itself, or from its JSON when it was made in another parallel process.
func decodeEntry(v types.ReportEntryValue, dst any) error {
	var b []byte
	switch raw := v.GetRawValue().(type) {
	case recordJSON:
		b = []byte(raw)
	case string:
		b = []byte(raw)
	default: // the value itself, or generic JSON decoded by Ginkgo
		var err error
		if b, err = json.Marshal(raw); err != nil {
			return err
		}
	}
	return json.Unmarshal(b, dst)
}

func interrupted(reasons []string) bool {
	for _, r := range reasons {
		if strings.Contains(strings.ToLower(r), "interrupt") || strings.Contains(strings.ToLower(r), "timeout") {
			return true
		}
	}
	return false
}
