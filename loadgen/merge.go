package loadgen

import (
	"errors"
	"fmt"
	"math"
	"sort"
	"strings"
	"time"

	hdr "github.com/HdrHistogram/hdrhistogram-go"

	"github.com/wsharness/wsharness/loadgen/metrics"
)

// MergedPart summarizes one of the results a merged result combines, so
// that a worker that lagged, started late or saturated its CPU stays
// visible.
type MergedPart struct {
	// Index is the worker index, or the position among the inputs for
	// results that were not run as workers.
	Index          int       `json:"index"`
	Started        time.Time `json:"started"`
	LateMS         int64     `json:"late_ms,omitempty"`
	DurationMS     int64     `json:"duration_ms"`
	Established    int       `json:"established"`
	ThroughputPerS float64   `json:"throughput_per_s,omitempty"`
	Interrupted    bool      `json:"interrupted,omitempty"`
	Client         Resources `json:"client"`
}

// Merge combines the results of workers that shared one load (see
// Config.Share) into the result of the whole load:
//
//   - counts (connections, failures and drops by kind, messages) are
//     summed;
//   - every percentile, mean and maximum comes from the merged
//     HdrHistograms, never from the workers' percentiles;
//   - throughput and connection rate are summed, since the workers ran at
//     the same time; the measured window is the longest one;
//   - timelines are aligned on whole seconds of wall-clock time (each
//     worker's start rounded against the earliest); a merged second sums
//     the counts, takes the least advanced phase, and has percentiles only
//     when every worker kept that second's histogram (Config.
//     SecondHistograms), else 0;
//   - client CPU and peak RSS are summed (each worker is its own process);
//     CPU per message and memory per connection are recomputed from them;
//     server figures, sampled by each worker from the same process, are
//     the largest seen.
//
// The inputs must share scenario, target, URL and message settings. When
// they carry worker identities, they must be exactly workers 0 to count-1
// of one split; results without one are merged in the order given.
// Broadcast results cannot be merged (see Config.Share).
func Merge(parts []*Result) (*Result, error) {
	if len(parts) == 0 {
		return nil, errors.New("no results to merge")
	}
	parts, err := orderParts(parts)
	if err != nil {
		return nil, err
	}
	first := parts[0]
	if err := checkCompatible(parts); err != nil {
		return nil, err
	}
	out := &Result{
		Schema: Schema, Scenario: first.Scenario, Target: first.Target, URL: first.URL,
		Params: first.Params, Started: first.Started, Histograms: map[string]string{},
		Connections: Connections{Failures: map[string]int{}},
	}
	out.Params.Conns, out.Params.Rate, out.Params.RampPerS, out.Params.SourceIPs = 0, 0, 0, nil
	seenIP := map[string]bool{}
	var throughput, connRate float64
	for i, p := range parts {
		out.Params.Conns += p.Params.Conns
		out.Params.Rate += p.Params.Rate
		out.Params.RampPerS += p.Params.RampPerS
		for _, ip := range p.Params.SourceIPs {
			if !seenIP[ip] {
				seenIP[ip] = true
				out.Params.SourceIPs = append(out.Params.SourceIPs, ip)
			}
		}
		if p.Started.Before(out.Started) {
			out.Started = p.Started
		}
		out.DurationMS = max(out.DurationMS, p.DurationMS)
		out.Interrupted = out.Interrupted || p.Interrupted
		addConnections(&out.Connections, p.Connections)
		connRate += p.Connections.RatePerS
		if p.Messages != nil {
			if out.Messages == nil {
				out.Messages = &Messages{}
			}
			addMessages(out.Messages, *p.Messages)
		}
		throughput += p.ThroughputPerS
		mp := MergedPart{
			Index: i, Started: p.Started, DurationMS: p.DurationMS, Established: p.Connections.Established,
			ThroughputPerS: p.ThroughputPerS, Interrupted: p.Interrupted, Client: p.Client,
		}
		if p.Worker != nil {
			mp.Index, mp.LateMS = p.Worker.Index, p.Worker.LateMS
		}
		out.MergedFrom = append(out.MergedFrom, mp)
	}
	// Shares of a rate split three ways do not add up exactly in floating
	// point: 1000/6 added six times is 999.9999999999999.
	out.Params.Rate = math.Round(out.Params.Rate*1e6) / 1e6
	out.Params.RampPerS = math.Round(out.Params.RampPerS*1e6) / 1e6
	out.Connections.RatePerS = math.Round(connRate*10) / 10
	if out.Messages != nil {
		out.ThroughputPerS = math.Round(throughput*10) / 10
	}
	for _, f := range Figures {
		if f.field == nil { // nested: merged with its section
			continue
		}
		h, err := mergeHistograms(parts, f)
		if err != nil {
			return nil, err
		}
		if h == nil || h.TotalCount() == 0 {
			continue
		}
		*f.field(out) = summarize(h)
		if out.Histograms[f.Histogram], err = metrics.Encode(h); err != nil {
			return nil, err
		}
	}
	if out.Generator, err = mergeGenerator(parts, out.Histograms); err != nil {
		return nil, err
	}
	if out.Timeline, err = mergeTimelines(parts, out.Started); err != nil {
		return nil, err
	}
	out.Client, out.Server = mergeResources(parts)
	return out, nil
}

// generatorLagHistogram names the histogram behind Generator.LagUS.
const generatorLagHistogram = "generator_lag_us"

// mergeGenerator combines the parts' generator figures: the lag from the
// merged histogram (added to hists), late sends, CPU and cores summed
// (each worker is its own process), and every part's limits, named by
// worker, so that one starved worker stays visible.
func mergeGenerator(parts []*Result, hists map[string]string) (*Generator, error) {
	var out *Generator
	for i, p := range parts {
		g := p.Generator
		if g == nil {
			continue
		}
		if out == nil {
			out = &Generator{}
		}
		out.Late += g.Late
		out.LagLimitUS = max(out.LagLimitUS, g.LagLimitUS)
		out.CPUCores += g.CPUCores
		out.Cores += g.Cores
		index := i
		if p.Worker != nil {
			index = p.Worker.Index
		}
		for _, l := range g.Limited {
			l.Detail = fmt.Sprintf("worker %d: %s", index, l.Detail)
			out.Limited = append(out.Limited, l)
		}
	}
	if out == nil {
		return nil, nil
	}
	out.CPUCores = math.Round(out.CPUCores*100) / 100
	h, err := mergeHistograms(parts, FigureGeneratorLag)
	if err != nil || h == nil || h.TotalCount() == 0 {
		return out, err
	}
	out.LagUS = summarize(h)
	if hists[generatorLagHistogram], err = metrics.Encode(h); err != nil {
		return nil, err
	}
	return out, nil
}

// orderParts checks worker identities and sorts the parts by index.
func orderParts(parts []*Result) ([]*Result, error) {
	withWorker := 0
	for i, p := range parts {
		if p == nil {
			return nil, fmt.Errorf("result %d is missing", i+1)
		}
		if p.Worker != nil {
			withWorker++
		}
	}
	if withWorker == 0 {
		return parts, nil
	}
	if withWorker != len(parts) {
		return nil, errors.New("some results are workers' shares and some are not; merge the workers of one split only")
	}
	count := parts[0].Worker.Count
	byIndex := make(map[int]*Result, len(parts))
	for _, p := range parts {
		w := p.Worker
		if w.Count != count {
			return nil, fmt.Errorf("worker %d belongs to a split into %d workers, worker %d to one into %d: these are different runs", parts[0].Worker.Index, count, w.Index, w.Count)
		}
		if w.Index < 0 || w.Index >= count {
			return nil, fmt.Errorf("worker index %d is outside 0..%d", w.Index, count-1)
		}
		if a, b := parts[0].Worker.StartAt, w.StartAt; (a == nil) != (b == nil) || (a != nil && !a.Equal(*b)) {
			return nil, fmt.Errorf("worker %d and worker %d were given different start times (--start-at): these are different runs", parts[0].Worker.Index, w.Index)
		}
		if byIndex[w.Index] != nil {
			return nil, fmt.Errorf("worker %d appears twice (two result files of the same worker?)", w.Index)
		}
		byIndex[w.Index] = p
	}
	var missing []string
	for i := range count {
		if byIndex[i] == nil {
			missing = append(missing, fmt.Sprint(i))
		}
	}
	if len(missing) > 0 {
		return nil, fmt.Errorf("the load was split into %d workers, but the results of worker(s) %s are missing", count, strings.Join(missing, ", "))
	}
	out := make([]*Result, count)
	for i := range count {
		out[i] = byIndex[i]
	}
	return out, nil
}

// checkCompatible rejects parts that are not shares of one load.
func checkCompatible(parts []*Result) error {
	first := parts[0]
	label := func(i int) string {
		if w := parts[i].Worker; w != nil {
			return fmt.Sprintf("worker %d", w.Index)
		}
		return fmt.Sprintf("result %d", i+1)
	}
	for i, p := range parts {
		if p.Schema != Schema {
			return fmt.Errorf("%s: schema %q, want %q", label(i), p.Schema, Schema)
		}
		if s, ok := scenarioNamed(p.Scenario); ok && s.splitError() != nil {
			return s.splitError()
		}
		differs := func(what string, a, b any) error {
			return fmt.Errorf("%s and %s differ in %s (%v, %v): not shares of one load", label(0), label(i), what, a, b)
		}
		pa, pb := first.Params, p.Params
		switch {
		case p.Scenario != first.Scenario:
			return differs("scenario", first.Scenario, p.Scenario)
		case p.Target != first.Target:
			return differs("target", first.Target, p.Target)
		case p.URL != first.URL:
			return differs("URL", first.URL, p.URL)
		case pb.Size != pa.Size || pb.Binary != pa.Binary:
			return differs("message size or type", fmt.Sprint(pa.Size, pa.Binary), fmt.Sprint(pb.Size, pb.Binary))
		case pb.DurationMS != pa.DurationMS || pb.WarmupMS != pa.WarmupMS:
			return differs("duration or warm-up", fmt.Sprint(pa.DurationMS, pa.WarmupMS), fmt.Sprint(pb.DurationMS, pb.WarmupMS))
		case pb.TransportName() != pa.TransportName() || pb.StreamsPerConn != pa.StreamsPerConn:
			return differs("transport or streams per connection", fmt.Sprint(pa.TransportName(), pa.StreamsPerConn), fmt.Sprint(pb.TransportName(), pb.StreamsPerConn))
		case pb.ClosedLoop != pa.ClosedLoop || pb.MaxInflight != pa.MaxInflight:
			return differs("closed loop or in-flight limit", fmt.Sprint(pa.ClosedLoop, pa.MaxInflight), fmt.Sprint(pb.ClosedLoop, pb.MaxInflight))
		}
	}
	return nil
}

func addConnections(dst *Connections, c Connections) {
	dst.Target += c.Target
	dst.Established += c.Established
	dst.Failed += c.Failed
	dst.Dropped += c.Dropped
	dst.TCP += c.TCP
	for k, v := range c.Failures {
		dst.Failures[k] += v
	}
	for k, v := range c.Drops {
		if dst.Drops == nil {
			dst.Drops = map[string]int{}
		}
		dst.Drops[k] += v
	}
}

func addMessages(dst *Messages, m Messages) {
	dst.Sent += m.Sent
	dst.Received += m.Received
	dst.Expected += m.Expected
	dst.Lost += m.Lost
	dst.Duplicated += m.Duplicated
	dst.OutOfOrder += m.OutOfOrder
	dst.Errors += m.Errors
	dst.Unmatched += m.Unmatched
	dst.WarmupSent += m.WarmupSent
	dst.NotMeasured += m.NotMeasured
}

// mergeHistograms merges the parts' histogram called name; nil when no
// part has samples. A part whose summary has samples but whose histogram
// is missing cannot be merged exactly, and is an error.
func mergeHistograms(parts []*Result, f Figure) (*hdr.Histogram, error) {
	name := f.Histogram
	var out *hdr.Histogram
	for i, p := range parts {
		enc, ok := p.Histograms[name]
		if !ok {
			if s := f.Of(p); s != nil && s.Count > 0 {
				return nil, fmt.Errorf("result %d has %s percentiles but no histogram to merge them from", i+1, name)
			}
			continue
		}
		h, err := metrics.Decode(enc)
		if err != nil {
			return nil, fmt.Errorf("result %d: histogram %s: %w", i+1, name, err)
		}
		if out == nil {
			out = metrics.NewHistogram()
		}
		if dropped := out.Merge(h); dropped > 0 {
			return nil, fmt.Errorf("result %d: histogram %s: %d samples outside %d..%d µs", i+1, name, dropped, metrics.LowestUS, metrics.HighestUS)
		}
	}
	return out, nil
}

// phaseRank orders phases by how far a run has got.
var phaseRank = map[string]int{PhaseRamp: 0, PhaseWarmup: 1, PhaseMeasure: 2, PhaseHold: 2, PhaseDrain: 3}

// mergeTimelines aligns the parts' timelines on whole seconds from start.
func mergeTimelines(parts []*Result, start time.Time) ([]Second, error) {
	type acc struct {
		s     Second
		h     *hdr.Histogram
		exact bool // every sample of this second is in h
	}
	byT := map[int]*acc{}
	for i, p := range parts {
		offset := int(p.Started.Sub(start).Round(time.Second) / time.Second)
		for _, s := range p.Timeline {
			t := s.T + offset
			a := byT[t]
			if a == nil {
				a = &acc{s: Second{T: t, Phase: s.Phase}, exact: true}
				byT[t] = a
			}
			if rank, ok := phaseRank[s.Phase]; ok && rank < phaseRank[a.s.Phase] {
				a.s.Phase = s.Phase
			}
			a.s.Conns += s.Conns
			a.s.Sent += s.Sent
			a.s.Received += s.Received
			a.s.Errors += s.Errors
			switch {
			case s.Histogram != "":
				h, err := metrics.Decode(s.Histogram)
				if err != nil {
					return nil, fmt.Errorf("result %d: timeline second %d: %w", i+1, s.T, err)
				}
				if a.h == nil {
					a.h = metrics.NewHistogram()
				}
				a.h.Merge(h)
			case s.P99US > 0: // samples without a histogram
				a.exact = false
			}
		}
	}
	ts := make([]int, 0, len(byT))
	for t := range byT {
		ts = append(ts, t)
	}
	sort.Ints(ts)
	out := make([]Second, 0, len(ts))
	for _, t := range ts {
		a := byT[t]
		if a.exact && a.h != nil && a.h.TotalCount() > 0 {
			a.s.P50US, a.s.P99US = a.h.ValueAtQuantile(50), a.h.ValueAtQuantile(99)
			a.s.Histogram, _ = metrics.Encode(a.h)
		}
		out = append(out, a.s)
	}
	return out, nil
}

// mergeResources sums the workers' client processes and keeps the largest
// view of the server.
func mergeResources(parts []*Result) (client Resources, server *Resources) {
	var handled, clientWindowCPU, serverWindowCPU, rssAboveBaseline float64
	established := 0
	for _, p := range parts {
		c := p.Client
		client.RSSBytesMax += c.RSSBytesMax
		client.CPUSeconds += c.CPUSeconds
		client.Samples += c.Samples
		h := float64(p.messagesHandled())
		handled += h
		clientWindowCPU += c.CPUPerMessageUS * h / 1e6
		rssAboveBaseline += c.RSSBytesPerConn * float64(p.Connections.Established)
		established += p.Connections.Established
		if s := p.Server; s != nil {
			if server == nil {
				server = &Resources{PID: s.PID}
			}
			if server.PID != s.PID {
				server.PID = 0
			}
			server.RSSBytesMax = max(server.RSSBytesMax, s.RSSBytesMax)
			server.CPUSeconds = max(server.CPUSeconds, s.CPUSeconds)
			server.Samples = max(server.Samples, s.Samples)
			serverWindowCPU = max(serverWindowCPU, s.CPUPerMessageUS*h/1e6)
		}
	}
	if handled > 0 {
		client.CPUPerMessageUS = clientWindowCPU * 1e6 / handled
		if server != nil {
			server.CPUPerMessageUS = serverWindowCPU * 1e6 / handled
		}
	}
	if established > 0 {
		client.RSSBytesPerConn = rssAboveBaseline / float64(established)
	}
	return client, server
}
