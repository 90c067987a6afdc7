package engine

import (
	"cmp"
	"context"
	"crypto/tls"
	"fmt"
	"net"
	"runtime"
	"slices"
	"sync"
	"time"

	"github.com/wsharness/wsharness/conformance/browser"
	"github.com/wsharness/wsharness/conformance/casekit"
	"github.com/wsharness/wsharness/conformance/cases"
	"github.com/wsharness/wsharness/conformance/expect"
	"github.com/wsharness/wsharness/results"
	"github.com/wsharness/wsharness/targets"
	"github.com/wsharness/wsharness/wire"
	"golang.org/x/sync/semaphore"
)

// Target is a target ready to test: its endpoints, or why it cannot run.
type Target struct {
	Info         targets.Info
	EchoURL      string
	BroadcastURL string
	// TLS, when set, is how a client trusts this target: a target serving
	// TLS with a certificate of its own (targets.ServesTLS). Its cases use
	// it instead of the run's Settings.TLS.
	TLS *tls.Config
	// Unavailable is why the target cannot be tested (not installed, not
	// reachable); its cases are then not run and the target is listed
	// with the reason.
	Unavailable string
	// Skip, when set, leaves out the cases it reports for this target
	// (an Autobahn spec's exclude-agent-cases).
	Skip func(caseID string) bool
	// Client plays one case of a client target (Info.Role wire.Client):
	// it connects to the URL it is given and echoes until the connection
	// ends or ctx does. The harness is the server.
	Client func(ctx context.Context, url string) error
	// InBrowser: the client is the run's browser's own WebSocket
	// (Settings.Browser, a browser.Client), played instead of Client.
	InBrowser bool
	// MaxInFlight, when above 0, bounds the cases in flight against this
	// target, below Plan.Concurrency (see ChromiumClientInFlight).
	MaxInFlight int
	// SlowAlone: each slow-family case runs with no other case in flight
	// against this target (it takes all MaxInFlight slots), for a client
	// that moves every case's data through one thread (see ChromiumClient).
	SlowAlone bool
	// Drive, set instead of Client, runs a client test driver once for
	// the whole run: it is handed a fuzzing server (FuzzingServer) that
	// serves the target's cases, and starts them itself over Autobahn's
	// protocol, reporting as agent.
	Drive func(ctx context.Context, url, agent string) error
}

// Settings are what every case of a run shares.
type Settings struct {
	Expect expect.List
	// TimeScale multiplies every case timer; 0 means 1.
	TimeScale float64
	TLS       *tls.Config
	Seed      wire.Seed
	// Browser returns the browser the browser family plays its scenarios
	// in, once, on the first browser case: skip says why the family cannot
	// run here (no Chromium), err that the browser would not start.
	Browser func(context.Context) (b browser.Runner, skip string, err error)
}

// Plan is one conformance run: every case against every target, in the
// form for the target's role.
type Plan struct {
	Settings
	Targets []Target
	// Cases run against the servers, ClientCases (the catalog's client
	// form, cases.ForPeer) against the clients.
	Cases, ClientCases []cases.Case
	// Concurrency bounds the cases in flight, apart from the CPU-bound
	// ones (see Execute); less than 1 means 1.
	Concurrency int
}

// Execution is what Execute ran: a record per case and target, the
// families that could not run, and how many cases an interrupt cut short.
type Execution struct {
	Records []Record
	// SkippedFamilies maps families that could not run to why.
	SkippedFamilies map[cases.Family]string
	// Cut counts cases an interrupt cut short: they have no record.
	Cut int
}

// Execute runs the plan's cases against its servers, and its client cases
// against its clients with the harness as the server, and applies the
// expectations: Concurrency cases at a time, and beside them at most two
// per core of the CPU-bound families (cases.IsCPUBound); at most
// SlowPerTarget slow cases against one target. Cases against one server
// share a casekit.Liveness, so a server that stops answering ends fast.
// When ctx ends, cases in flight are cut short and left out, and no more
// start.
func Execute(ctx context.Context, p Plan) Execution {
	out := Execution{SkippedFamilies: map[cases.Family]string{}}
	var mu sync.Mutex // guards out
	add := func(rec Record) {
		mu.Lock()
		out.Records = append(out.Records, rec)
		mu.Unlock()
	}
	r := newRunner(p.Settings)
	defer r.close()
	run := func(t Target, c cases.Case) {
		o := r.run(ctx, t, c, nil)
		switch {
		case o.Cut:
			mu.Lock()
			out.Cut++
			mu.Unlock()
		case o.SkippedFamily != "":
			mu.Lock()
			out.SkippedFamilies[c.Family] = o.SkippedFamily
			mu.Unlock()
		default:
			add(o.Record)
		}
	}
	var live []Target
	for _, t := range p.Targets {
		if t.Unavailable != "" {
			add(Record{Target: t.Info.Name, Library: t.Info.Library, Unavailable: t.Unavailable})
			continue
		}
		live = append(live, t)
	}
	// Two pools: cases that keep the CPU busy (compressing megabytes in
	// both ends) run at most two per core, since more only stretch each
	// one towards its timer; the rest, which mostly wait, Concurrency at a
	// time. In each, the longest cases start first, so none starts last
	// and holds up the end of the run; each case goes to every target of
	// its role before the next.
	type job struct {
		t Target
		c cases.Case
	}
	var jobs []job
	var wg sync.WaitGroup
	for _, t := range live {
		list := p.Cases
		if t.Info.Role == wire.Client {
			list = p.ClientCases
		}
		var mine []cases.Case
		transport := wire.TransportOfURL(t.EchoURL)
		for _, c := range list {
			if !cases.RunsOver(c.Family, transport) {
				continue
			}
			if t.Skip == nil || !t.Skip(c.ID) {
				mine = append(mine, c)
				jobs = append(jobs, job{t, c})
			}
		}
		if t.Drive != nil {
			// The driver starts its cases itself, as many at once as it
			// likes, beside the pools.
			jobs = jobs[:len(jobs)-len(mine)]
			wg.Add(1)
			go func() {
				defer wg.Done()
				records, cut := r.drive(ctx, t, mine)
				mu.Lock()
				defer mu.Unlock()
				if cut {
					out.Cut += len(mine)
				}
				out.Records = append(out.Records, records...)
			}()
		}
	}
	order := map[string]int{} // a case's place in longest-first order
	for i, c := range longestFirst(slices.Concat(p.Cases, p.ClientCases)) {
		if _, ok := order[c.ID]; !ok {
			order[c.ID] = i
		}
	}
	slices.SortStableFunc(jobs, func(a, b job) int { return order[a.c.ID] - order[b.c.ID] })
	var heavy, light []job
	for _, j := range jobs {
		if cases.IsCPUBound(j.c.Family) {
			heavy = append(heavy, j)
		} else {
			light = append(light, j)
		}
	}
	concurrency := max(p.Concurrency, 1)
	for _, pool := range []struct {
		jobs    []job
		workers int
	}{{heavy, min(concurrency, 2*runtime.GOMAXPROCS(0))}, {light, concurrency}} {
		wg.Add(1)
		go func() {
			defer wg.Done()
			feed(ctx, pool.workers, func(send func(func()) bool) {
				for _, j := range pool.jobs {
					if !send(func() { run(j.t, j.c) }) {
						return
					}
				}
			})
		}()
	}
	wg.Wait()
	return out
}

// feed runs the jobs that jobs sends, workers at a time, until it has
// sent them all or ctx ends, and waits for them.
func feed(ctx context.Context, workers int, jobs func(send func(func()) bool)) {
	ch := make(chan func())
	var wg sync.WaitGroup
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for job := range ch {
				job()
			}
		}()
	}
	jobs(func(job func()) bool {
		select {
		case ch <- job:
			return true
		case <-ctx.Done():
			return false
		}
	})
	close(ch)
	wg.Wait()
}

// runner runs single cases against ready targets, with what the cases of
// a run share: their settings, one casekit.Liveness per target (so a
// server that stops answering ends fast) and the browser. It is safe for
// concurrent use.
type runner struct {
	settings Settings
	browser  browserOnce
	mu       sync.Mutex
	liveness map[string]*casekit.Liveness
	// slots holds, per target and bound, a slot for each case in flight
	// against it: slow-family cases (SlowPerTarget), and all cases when
	// the target has a MaxInFlight. Waiters are served in order, so a case
	// that needs every slot is not starved by single ones.
	slots map[slotKey]*semaphore.Weighted
	// board routes the connections of clients under test to their cases;
	// nil until a client is tested.
	board *switchboard
}

func newRunner(s Settings) *runner {
	return &runner{settings: s, browser: browserOnce{get: s.Browser}, liveness: map[string]*casekit.Liveness{}, slots: map[slotKey]*semaphore.Weighted{}}
}

// SlowPerTarget bounds the slow-family cases (megabytes each) in flight
// against one target. Twenty 4 MiB streams at once kept a single-threaded
// server (Autobahn|Python's asyncio target) so busy that new handshakes
// went unanswered for seconds: the figures then describe the harness's
// load, not the server. Autobahn runs one case at a time.
const SlowPerTarget = 4

// slotKey names one bound on the cases in flight against a target.
type slotKey struct {
	target string
	slow   bool // the bound on slow-family cases, else on all cases
}

// slot waits for take of the n slots of key; release gives them back. ok
// is false when ctx ended first.
func (r *runner) slot(ctx context.Context, key slotKey, n, take int) (release func(), ok bool) {
	r.mu.Lock()
	slots := r.slots[key]
	if slots == nil {
		slots = semaphore.NewWeighted(int64(n))
		r.slots[key] = slots
	}
	r.mu.Unlock()
	if slots.Acquire(ctx, int64(take)) != nil {
		return nil, false
	}
	return func() { slots.Release(int64(take)) }, true
}

// switchboard returns the run's switchboard, listening from the first
// call on.
func (r *runner) switchboard() (*switchboard, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.board == nil {
		b, err := newSwitchboard("127.0.0.1:0", nil)
		if err != nil {
			return nil, err
		}
		r.board = b
	}
	return r.board, nil
}

// close stops what the runner started.
func (r *runner) close() {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.board != nil {
		r.board.Close()
	}
}

// caseOutcome is what runner.run made of one case: a record, or a family
// that cannot run here, or a case cut short.
type caseOutcome struct {
	Record Record
	// SkippedFamily, when set, is why the case's family cannot run here
	// (no Chromium): there is no record.
	SkippedFamily string
	// Cut: the run's context ended during the case, so it has no verdict
	// and no record.
	Cut bool
}

// run runs case c against the ready target t and applies the
// expectations. For a client target, opened is the connection the client
// opened for the case by itself (Autobahn's fuzzing-server protocol), or
// nil when the harness starts the client (Target.Client) and waits for
// it to connect.
func (r *runner) run(ctx context.Context, t Target, c cases.Case, opened net.Conn) caseOutcome {
	// A client that starts its cases by itself chooses how many run at
	// once; holding its connection back would only time out its handshake.
	if cases.IsSlow(c.Family) && opened == nil {
		release, ok := r.slot(ctx, slotKey{t.Info.Name, true}, SlowPerTarget, 1)
		if !ok {
			return caseOutcome{Cut: true}
		}
		defer release()
	}
	if t.MaxInFlight > 0 {
		take := 1
		if t.SlowAlone && cases.IsSlow(c.Family) {
			take = t.MaxInFlight
		}
		release, ok := r.slot(ctx, slotKey{t.Info.Name, false}, t.MaxInFlight, take)
		if !ok {
			return caseOutcome{Cut: true}
		}
		defer release()
	}
	r.mu.Lock()
	live := r.liveness[t.Info.Name]
	if live == nil {
		live = &casekit.Liveness{}
		r.liveness[t.Info.Name] = live
	}
	r.mu.Unlock()
	p := r.settings
	env := casekit.Env{URL: t.EchoURL, TimeScale: p.TimeScale, TLS: cmp.Or(t.TLS, p.TLS),
		Keys: wire.NewKeyStream(p.Seed, t.Info.Name+"/"+c.ID), Liveness: live}
	record := func(res results.Case) caseOutcome {
		return caseOutcome{Record: Record{Target: t.Info.Name, Library: t.Info.Library, URL: t.EchoURL, Case: res}}
	}
	// A target no browser can reach (h2c) needs none: its browser cases
	// say why by themselves.
	if cases.InBrowser(c.Family) && cases.BrowserUnreachable(t.EchoURL) == "" {
		br, skip, err := r.browser.runner(ctx)
		switch {
		case skip != "":
			return caseOutcome{SkippedFamily: skip}
		case err != nil:
			res := c.Run(ctx, env) // no browser: UNIMPLEMENTED, saying so
			res.HarnessError = "the browser did not start: " + err.Error()
			res.Observed = res.HarnessError
			return record(res)
		}
		env.Browser, env.BroadcastURL = br, t.BroadcastURL
	}
	// A case ends by itself within its bound, whatever the server does.
	// One that does not is a harness bug: it is stopped a margin later and
	// fails the run.
	bound := c.Bound(env) + BoundMargin
	cctx, cancel := context.WithTimeout(ctx, bound)
	defer cancel()
	var res results.Case
	if t.Info.Role == wire.Client {
		res = r.runClient(cctx, t, c, env, opened)
	} else {
		res = c.Run(cctx, env)
	}
	if ctx.Err() != nil {
		return caseOutcome{Cut: true}
	}
	if cctx.Err() != nil {
		res.HarnessError = fmt.Sprintf("the case ran past its bound of %v and was stopped: a harness bug", bound.Round(time.Second))
		res.Observed = res.HarnessError + "; " + res.Observed
	}
	// A case run over HTTP/2 carries the transport's marker (h2:1.1.1),
	// in the results and in the expectations that name it.
	res.ID = wire.TransportOfURL(t.EchoURL).CaseMarker() + c.ID
	if d, ok := p.Expect.Lookup(t.Info.Name, res.ID); ok {
		res.Deviation, res.Unstable = d.Reason, d.Unstable
	}
	return record(res)
}

// clientEndWait is how long a client under test may take to end after its
// case did, before the engine stops it.
const clientEndWait = 5 * time.Second

// runClient runs case c with the harness as the server and the client
// target t connecting for it: on opened, the connection it opened by
// itself, or else by starting t's player and waiting for its connection.
func (r *runner) runClient(ctx context.Context, t Target, c cases.Case, env casekit.Env, opened net.Conn) results.Case {
	env.Peer, env.Liveness = wire.Client, nil
	if opened != nil {
		env.Incoming = arrived(opened)
		return c.Run(ctx, env)
	}
	board, err := r.switchboard()
	var play func(ctx context.Context, url string) (said string)
	if err == nil {
		play, err = r.clientPlayer(ctx, t)
	}
	if err != nil {
		// Not run, by the harness's fault: UNIMPLEMENTED with the reason,
		// which fails the run as every harness error does.
		res := results.Case{Verdict: results.Unimplemented, HarnessError: err.Error(), Observed: err.Error()}
		c.Describe(&res)
		return res
	}
	env.Incoming = board.expect(t.Info.Name, c.ID)
	cctx, stop := context.WithCancel(ctx)
	defer stop()
	done := make(chan struct{})
	var said string
	go func() {
		defer close(done)
		said = play(cctx, board.URL(t.Info.Name, c.ID)) // the verdict says what it did
	}()
	res := c.Run(ctx, env)
	ended := func() {
		if said != "" {
			res.Events = append(res.Events, "<the client said: "+said+">")
		}
	}
	select {
	case <-done:
		ended()
		return res
	case <-time.After(clientEndWait):
		stop()
	}
	select {
	case <-done:
		ended()
	case <-time.After(clientEndWait):
		res.HarnessError = fmt.Sprintf("the client %s did not stop within %v of being told to: a harness bug", t.Info.Name, 2*clientEndWait)
		res.Observed = res.HarnessError + "; " + res.Observed
	}
	return res
}

// clientPlayer returns how client t plays a case: it connects to url and
// echoes until the connection or ctx ends, and says how it ended (for the
// case's log; empty when it has nothing to say). A browser client's
// browser is started, and its page loaded, here, before the case's timers
// run.
func (r *runner) clientPlayer(ctx context.Context, t Target) (play func(ctx context.Context, url string) (said string), err error) {
	if !t.InBrowser {
		if t.Client == nil {
			return nil, fmt.Errorf("the client %s has no way to be started: a harness bug", t.Info.Name)
		}
		return func(ctx context.Context, url string) string {
			if err := t.Client(ctx, url); err != nil {
				return err.Error()
			}
			return ""
		}, nil
	}
	b, skip, err := r.browser.runner(ctx)
	switch {
	case skip != "":
		return nil, fmt.Errorf("the client %s has no browser: %s", t.Info.Name, skip)
	case err != nil:
		return nil, fmt.Errorf("the browser did not start: %w", err)
	}
	bc, ok := b.(browser.Client)
	if !ok {
		return nil, fmt.Errorf("the run's browser cannot play the client %s: a harness bug", t.Info.Name)
	}
	if err := bc.Prepare(ctx); err != nil {
		return nil, fmt.Errorf("the browser did not load the client's page: %w", err)
	}
	return func(ctx context.Context, url string) string {
		end, err := bc.Echo(ctx, url)
		if err != nil {
			return err.Error() + "; the page saw: " + end.String()
		}
		return end.String()
	}, nil
}

// BoundMargin is the time a case gets past its own bound (cases.Case.Bound)
// before the engine stops it, for a loaded machine.
const BoundMargin = time.Minute

// longestFirst orders cases by how long they take (costRank), each rank
// in catalog order.
func longestFirst(cs []cases.Case) []cases.Case {
	out := slices.Clone(cs)
	slices.SortStableFunc(out, func(a, b cases.Case) int { return costRank(a) - costRank(b) })
	return out
}

// costRank ranks a case by how long it takes: the slow families
// (megabytes or thousands of messages each) first, then the browser
// family (Chromium's tabs are few), then the rest.
func costRank(c cases.Case) int {
	switch {
	case cases.IsSlow(c.Family):
		return 0
	case cases.InBrowser(c.Family):
		return 1
	}
	return 2
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
