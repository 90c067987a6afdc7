package engine

import (
	"cmp"
	"context"
	"encoding/json"
	"fmt"
	"net"
	"net/url"
	"slices"
	"strconv"
	"sync"
	"time"

	"github.com/wsharness/wsharness/conformance/cases"
	"github.com/wsharness/wsharness/results"
	"github.com/wsharness/wsharness/wire"
	"github.com/wsharness/wsharness/wire/handshake"
)

// FuzzingOptions configure a FuzzingServer.
type FuzzingOptions struct {
	Settings
	// Addr is the loopback host:port to listen on; "" means any free port
	// on 127.0.0.1.
	Addr string
	// Cases is the filtered case list in the client form: /runCase?case=N
	// runs Cases[N-1], and /getCaseCount answers len(Cases).
	Cases []cases.Case
	// Excluded reports the cases not run for an agent (an Autobahn spec's
	// exclude-agent-cases): their /runCase is answered by just closing.
	// Nil excludes nothing.
	Excluded func(agent, caseID string) bool
	// Target is the client target an agent's cases are recorded against,
	// asked once per agent; nil records every agent under its own name.
	Target func(agent string) Target
	// OnUpdate is called on /updateReports, one call at a time, before
	// the reply, with every agent's results so far: it writes the reports.
	OnUpdate func([]AgentResults)
}

// FuzzingServer serves Autobahn|Testsuite's fuzzing-server protocol
// (wstest -m fuzzingserver): a client test driver asks it, each over a
// WebSocket connection, for the case count and each case's description,
// opens /runCase?case=N&agent=A for each case, and reads the verdict at
// /getCaseStatus. Each case runs through the same runner as a
// harness-driven one, with the connection the client opened.
type FuzzingServer struct {
	opts   FuzzingOptions
	runner *runner
	board  *switchboard
	ctx    context.Context
	cancel context.CancelFunc
	// work counts the connections being served, so Close waits for them.
	work sync.WaitGroup

	mu       sync.Mutex
	closed   bool
	agents   []*agentLog // in order of first appearance
	byAgent  map[string]*agentLog
	inflight int
	lastSeen time.Time
	stopped  chan struct{} // closed on /stopServer
	stopOnce sync.Once
	updating sync.Mutex // one OnUpdate at a time
}

// agentLog is what one agent ran.
type agentLog struct {
	agent  string
	target Target
	runs   map[string]*caseRun // by case ID: the latest run
}

// caseRun is one run of a case: done closes once rec is set.
type caseRun struct {
	done chan struct{}
	rec  Record
	ok   bool // rec holds a verdict; false when the run was cut short
}

// StartFuzzingServer listens and serves until Close.
func StartFuzzingServer(ctx context.Context, o FuzzingOptions) (*FuzzingServer, error) {
	cctx, cancel := context.WithCancel(ctx)
	f := &FuzzingServer{opts: o, runner: newRunner(o.Settings), ctx: cctx, cancel: cancel,
		byAgent: map[string]*agentLog{}, lastSeen: time.Now(), stopped: make(chan struct{})}
	board, err := newSwitchboard(cmp.Or(o.Addr, "127.0.0.1:0"), f.serve)
	if err != nil {
		cancel()
		return nil, fmt.Errorf("fuzzing server: %w", err)
	}
	f.board = board
	return f, nil
}

// URL is the server's ws:// base URL, the spec's url.
func (f *FuzzingServer) URL() string { return "ws://" + f.board.ln.Addr().String() }

// Stopped is closed when a client asks for /stopServer.
func (f *FuzzingServer) Stopped() <-chan struct{} { return f.stopped }

// Idle is how long the server has had no case in flight and started no
// case; 0 while a case runs. Control calls do not count.
func (f *FuzzingServer) Idle() time.Duration {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.inflight > 0 {
		return 0
	}
	return time.Since(f.lastSeen)
}

// settle waits until no case is in flight, at most limit.
func (f *FuzzingServer) settle(limit time.Duration) {
	for end := time.Now().Add(limit); time.Now().Before(end); time.Sleep(50 * time.Millisecond) {
		f.mu.Lock()
		n := f.inflight
		f.mu.Unlock()
		if n == 0 {
			return
		}
	}
}

// Close stops listening, cuts the cases in flight short (they get no
// record) and waits for every connection being served. cut counts the
// cases it cut short.
func (f *FuzzingServer) Close() (cut int) {
	f.mu.Lock()
	f.closed = true
	cut = f.inflight
	f.mu.Unlock()
	f.board.Close()
	f.cancel()
	f.work.Wait()
	f.runner.close()
	return cut
}

// AgentResults are the records of one agent: the latest run of each case
// it ran, in catalog order.
type AgentResults struct {
	Agent   string
	Target  Target
	Records []Record
	// Ran holds the IDs of the cases with a record.
	Ran map[string]bool
}

// Results returns what every agent ran so far, agents in the order they
// first connected.
func (f *FuzzingServer) Results() []AgentResults {
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []AgentResults
	for _, a := range f.agents {
		r := AgentResults{Agent: a.agent, Target: a.target, Ran: map[string]bool{}}
		for _, c := range f.opts.Cases {
			if run := a.runs[c.ID]; run != nil && run.ok {
				r.Records = append(r.Records, run.rec)
				r.Ran[c.ID] = true
			}
		}
		out = append(out, r)
	}
	return out
}

// controlCloseWait bounds the wait for a client's Close after a control
// reply.
const controlCloseWait = 2 * time.Second

// serve takes a connection no harness-driven case waits for: a control
// call, or a case the client starts.
func (f *FuzzingServer) serve(nc net.Conn, req *handshake.ClientRequest) {
	f.mu.Lock()
	if f.closed {
		f.mu.Unlock()
		_ = nc.Close()
		return
	}
	f.work.Add(1)
	f.mu.Unlock()
	defer f.work.Done()
	u, err := url.ParseRequestURI(req.Target)
	if err != nil {
		refuse(nc, "400 Bad Request")
		return
	}
	q := u.Query()
	switch u.Path {
	case "/getCaseCount":
		f.reply(nc, func() any { return len(f.opts.Cases) })
	case "/getCaseInfo":
		c, ok := f.lookup(q)
		if !ok {
			refuse(nc, "404 Not Found")
			return
		}
		f.reply(nc, func() any { return map[string]string{"id": c.ID, "description": c.Description} })
	case "/runCase":
		c, ok := f.lookup(q)
		switch {
		case !ok:
			refuse(nc, "404 Not Found")
		case q.Get("agent") == "":
			refuse(nc, "400 Bad Request") // Autobahn requires the agent
		case f.opts.Excluded != nil && f.opts.Excluded(q.Get("agent"), c.ID):
			f.reply(nc, nil)
		case !f.admit():
			refuse(nc, "503 Service Unavailable") // more cases at once than MaxClientCases
		default:
			f.runCase(nc, q.Get("agent"), c)
		}
	case "/getCaseStatus":
		c, ok := f.lookup(q)
		if !ok {
			refuse(nc, "404 Not Found")
			return
		}
		f.reply(nc, func() any { return f.status(q.Get("agent"), c.ID) })
	case "/updateReports":
		if f.opts.OnUpdate != nil {
			f.updating.Lock()
			f.opts.OnUpdate(f.Results())
			f.updating.Unlock()
		}
		f.reply(nc, nil)
	case "/stopServer":
		f.reply(nc, nil)
		f.stopOnce.Do(func() { close(f.stopped) })
	default:
		refuse(nc, "404 Not Found")
	}
}

// lookup finds the case a query names: case=N, 1-based over the filtered
// list, or casetuple=ID.
func (f *FuzzingServer) lookup(q url.Values) (cases.Case, bool) {
	if q.Has("casetuple") {
		i := slices.IndexFunc(f.opts.Cases, func(c cases.Case) bool { return c.ID == q.Get("casetuple") })
		if i < 0 {
			return cases.Case{}, false
		}
		return f.opts.Cases[i], true
	}
	n, err := strconv.Atoi(q.Get("case"))
	if err != nil || n < 1 || n > len(f.opts.Cases) {
		return cases.Case{}, false
	}
	return f.opts.Cases[n-1], true
}

// agentFor returns agent's log, making it on its first call.
func (f *FuzzingServer) agentFor(agent string) *agentLog {
	if a := f.byAgent[agent]; a != nil {
		return a
	}
	t := Target{}
	if f.opts.Target != nil {
		t = f.opts.Target(agent)
	} else {
		t.Info.Name, t.Info.Library, t.Info.Role = agent, "external", wire.Client
	}
	a := &agentLog{agent: agent, target: t, runs: map[string]*caseRun{}}
	f.byAgent[agent] = a
	f.agents = append(f.agents, a)
	return a
}

// MaxClientCases bounds the cases clients run at once on one fuzzing
// server (Autobahn drivers run 1 to 8): a client opening more is refused
// with 503, so a flood of connections cannot grow memory without bound.
const MaxClientCases = 64

// admit counts a case in flight, unless MaxClientCases are. Only cases
// count as progress for Idle: a driver that keeps asking control calls
// without running a case is as stuck as a silent one.
func (f *FuzzingServer) admit() bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.inflight >= MaxClientCases {
		return false
	}
	f.inflight++
	f.lastSeen = time.Now()
	return true
}

// runCase runs case c with the connection agent opened for it; admit
// counted it in flight.
func (f *FuzzingServer) runCase(nc net.Conn, agent string, c cases.Case) {
	run := &caseRun{done: make(chan struct{})}
	f.mu.Lock()
	a := f.agentFor(agent)
	a.runs[c.ID] = run
	f.mu.Unlock()
	o := f.runner.run(f.ctx, a.target, c, nc)
	f.mu.Lock()
	f.inflight--
	f.lastSeen = time.Now()
	if !o.Cut && o.SkippedFamily == "" {
		run.rec, run.ok = o.Record, true
	}
	f.mu.Unlock()
	close(run.done)
}

// caseStatus is /getCaseStatus's answer.
type caseStatus struct {
	Behavior      string `json:"behavior"`
	BehaviorClose string `json:"behaviorClose,omitempty"`
}

// notRunStatus answers /getCaseStatus for a case the agent has not run.
const notRunStatus = "NOT RUN"

// status waits until agent's latest run of the case ends (its bound ends
// it) and returns its verdicts.
func (f *FuzzingServer) status(agent, caseID string) caseStatus {
	f.mu.Lock()
	var run *caseRun
	if a := f.byAgent[agent]; a != nil {
		run = a.runs[caseID]
	}
	f.mu.Unlock()
	if run == nil {
		return caseStatus{Behavior: notRunStatus}
	}
	select {
	case <-run.done:
	case <-f.ctx.Done():
		return caseStatus{Behavior: notRunStatus}
	}
	if !run.ok {
		return caseStatus{Behavior: notRunStatus}
	}
	return caseStatus{Behavior: string(run.rec.Case.Verdict), BehaviorClose: string(run.rec.Case.CloseVerdict)}
}

// reply accepts a control connection's opening handshake, then sends
// answer's value as one JSON text message (none when answer is nil) and a
// Close 1000, and waits briefly for the client's Close. The handshake
// comes first: answer may wait for a case to end, longer than a client
// waits for its handshake.
func (f *FuzzingServer) reply(nc net.Conn, answer func() any) {
	c, _, err := wire.Accept(f.ctx, nc, wire.AcceptOptions{})
	if err != nil {
		return // Accept closed it
	}
	defer c.Close()
	var frames []wire.Frame
	if answer != nil {
		b, err := json.Marshal(answer())
		if err != nil {
			return
		}
		frames = append(frames, wire.Text(string(b)))
	}
	frames = append(frames, wire.Close(1000, ""))
	if err := c.WriteFrames(f.ctx, frames, wire.OneWrite); err != nil {
		return
	}
	deadline := time.Now().Add(controlCloseWait)
	for {
		r, err := c.ReadFrame(deadline)
		if err != nil || r.Opcode == wire.OpClose {
			return
		}
	}
}

// NotRunRecord is the record of a case a client driver never ran: FAILED,
// marked not run, with why, so every case of the run is accounted for.
func NotRunRecord(t Target, c cases.Case, why string) Record {
	res := results.Case{
		Verdict: results.Failed, CloseVerdict: results.CloseFailed, NotRun: true,
		Observed: "the client never ran this case: " + why,
	}
	c.Describe(&res)
	return Record{Target: t.Info.Name, Library: t.Info.Library, Case: res}
}
