package engine

import (
	"context"
	"crypto/tls"
	"sync"

	"github.com/wsharness/wsharness/suites/browser"
	"github.com/wsharness/wsharness/suites/casekit"
	"github.com/wsharness/wsharness/suites/cases"
	"github.com/wsharness/wsharness/suites/expect"
	"github.com/wsharness/wsharness/suites/wire"
	"github.com/wsharness/wsharness/targets"
)

// Target is a target ready to test: its endpoints, or why it cannot run.
type Target struct {
	Info         targets.Info
	EchoURL      string
	BroadcastURL string
	// Unavailable is why the target cannot be tested (not installed, not
	// reachable); its cases are then not run and the target is listed
	// with the reason.
	Unavailable string
	// Skip, when set, leaves out the cases it reports for this target
	// (an Autobahn spec's exclude-agent-cases).
	Skip func(caseID string) bool
}

// Plan is one conformance run: every case against every target.
type Plan struct {
	Targets []Target
	Cases   []cases.Case
	Expect  expect.List
	// TimeScale multiplies every case timer; 0 means 1.
	TimeScale float64
	TLS       *tls.Config
	Seed      wire.Seed
	// Concurrency bounds the cases in flight; less than 1 means 1.
	Concurrency int
	// Browser returns the browser the browser family plays its scenarios
	// in, once, on the first browser case: skip says why the family cannot
	// run here (no Chromium), err that the browser would not start.
	Browser func(context.Context) (b browser.Runner, skip string, err error)
	// Done, when set, is called with each record as its case finishes,
	// from the goroutine that ran it.
	Done func(Record)
}

// Outcome is what Execute ran.
type Outcome struct {
	Records []Record
	// SkippedFamilies maps families that could not run to why.
	SkippedFamilies map[string]string
	// Cut counts cases an interrupt cut short: they have no record.
	Cut int
}

// Execute runs the plan's cases against its targets, Concurrency at a
// time, and applies the expectations. Cases against one target share a
// casekit.Liveness, so a server that stops answering ends fast. When ctx
// ends, cases in flight are cut short and left out, and no more start.
func Execute(ctx context.Context, p Plan) Outcome {
	out := Outcome{SkippedFamilies: map[string]string{}}
	var mu sync.Mutex // guards out
	add := func(rec Record) {
		mu.Lock()
		out.Records = append(out.Records, rec)
		mu.Unlock()
		if p.Done != nil {
			p.Done(rec)
		}
	}
	b := &browserOnce{get: p.Browser}
	jobs := make(chan func())
	var wg sync.WaitGroup
	for range max(p.Concurrency, 1) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for job := range jobs {
				job()
			}
		}()
	}
	send := func(job func()) bool {
		select {
		case jobs <- job:
			return true
		case <-ctx.Done():
			return false
		}
	}
feed:
	for _, t := range p.Targets {
		if t.Unavailable != "" {
			add(Record{Target: t.Info.Name, Library: t.Info.Library, Unavailable: t.Unavailable})
			continue
		}
		live := &casekit.Liveness{}
		for _, c := range p.Cases {
			if t.Skip != nil && t.Skip(c.ID) {
				continue
			}
			if !send(func() {
				env := casekit.Env{URL: t.EchoURL, TimeScale: p.TimeScale, TLS: p.TLS,
					Keys: wire.NewKeyStream(p.Seed, t.Info.Name+"/"+c.ID), Liveness: live}
				if c.Family == cases.FamilyBrowser {
					br, skip, err := b.runner(ctx)
					switch {
					case skip != "":
						mu.Lock()
						out.SkippedFamilies[c.Family] = skip
						mu.Unlock()
						return
					case err != nil:
						res := c.Run(ctx, env) // no browser: UNIMPLEMENTED, saying so
						res.HarnessError = "the browser did not start: " + err.Error()
						res.Observed = res.HarnessError
						add(Record{Target: t.Info.Name, Library: t.Info.Library, URL: t.EchoURL, Case: res})
						return
					}
					env.Browser, env.BroadcastURL = br, t.BroadcastURL
				}
				res := c.Run(ctx, env)
				if ctx.Err() != nil {
					mu.Lock()
					out.Cut++
					mu.Unlock()
					return
				}
				if d, ok := p.Expect.Lookup(t.Info.Name, c.ID); ok {
					res.Deviation, res.Unstable = d.Reason, d.Unstable
				}
				add(Record{Target: t.Info.Name, Library: t.Info.Library, URL: t.EchoURL, Case: res})
			}) {
				break feed
			}
		}
	}
	close(jobs)
	wg.Wait()
	return out
}

// browserOnce starts the browser on first use, for every case after.
type browserOnce struct {
	get  func(context.Context) (browser.Runner, string, error)
	once sync.Once
	b    browser.Runner
	skip string
	err  error
}

func (o *browserOnce) runner(ctx context.Context) (browser.Runner, string, error) {
	o.once.Do(func() {
		if o.get == nil {
			o.skip = "no browser given to the run"
			return
		}
		o.b, o.skip, o.err = o.get(ctx)
	})
	return o.b, o.skip, o.err
}
