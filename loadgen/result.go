package loadgen

import (
	"encoding/json"
	"fmt"
	"os"
	"time"

	"github.com/wsharness/wsharness/internal/jsonpos"
	"github.com/wsharness/wsharness/wire"
)

// Schema identifies the format version of a load result file.
const Schema = "wsharness.load/v1"

// Result is one load run. Keys that do not apply to a scenario are absent.
type Result struct {
	Schema   string    `json:"schema"`
	Scenario string    `json:"scenario"`
	Target   string    `json:"target"`
	URL      string    `json:"url"`
	Params   Params    `json:"params"`
	Started  time.Time `json:"started"`
	// DurationMS is the measured window: from the end of the warm-up to
	// the end of sending.
	DurationMS int64 `json:"duration_ms"`
	// Interrupted is set when a signal stopped the run early; the figures
	// cover what was measured until then.
	Interrupted bool `json:"interrupted,omitempty"`

	Connections Connections `json:"connections"`
	Messages    *Messages   `json:"messages,omitempty"`
	// ThroughputPerS is received messages per second in the measured
	// window (deliveries per second for broadcast).
	ThroughputPerS float64 `json:"throughput_per_s,omitempty"`

	// LatencyUS runs from the scheduled send time to the reply (open
	// model), less the generator's own lateness (Generator.LagUS); in the
	// closed loop it is the service time.
	LatencyUS *Percentiles `json:"latency_us,omitempty"`
	// ServiceTimeUS runs from the actual send to the reply.
	ServiceTimeUS      *Percentiles `json:"service_time_us,omitempty"`
	ConnectLatencyUS   *Percentiles `json:"connect_latency_us,omitempty"`
	FanoutLatencyUS    *Percentiles `json:"fanout_latency_us,omitempty"`
	FanoutCompletionUS *Percentiles `json:"fanout_completion_us,omitempty"`
	DeliveryRatio      *float64     `json:"delivery_ratio,omitempty"`

	Timeline []Second  `json:"timeline"`
	Client   Resources `json:"client"`
	// Generator is the load generator's own error: what it kept out of
	// the figures, and whether it kept up. Absent for connect runs and in
	// results written before it existed.
	Generator *Generator `json:"generator,omitempty"`
	Server    *Resources `json:"server,omitempty"`
	// Histograms are the full distributions, HdrHistogram V2 compressed
	// and base64-encoded, in microseconds: merge them, never average
	// percentiles.
	Histograms map[string]string `json:"histograms"`
	// Thresholds are the checks requested on the command line and their
	// outcome.
	Thresholds []ThresholdResult `json:"thresholds,omitempty"`
	// Worker is set when this run is one worker's share of a split load;
	// MergedFrom lists the workers a merged result combines (see Merge).
	Worker     *Worker      `json:"worker,omitempty"`
	MergedFrom []MergedPart `json:"merged_from,omitempty"`
}

// Params are the run's settings as given.
type Params struct {
	Conns       int     `json:"conns"`
	Rate        float64 `json:"rate"`         // messages/s in total; 0 = closed loop
	ClosedLoop  bool    `json:"closed_loop"`  // latency is then service time, not corrected
	Size        int     `json:"size"`         // payload bytes
	Binary      bool    `json:"binary"`       // binary or text messages
	DurationMS  int64   `json:"duration_ms"`  // sending time after warm-up
	WarmupMS    int64   `json:"warmup_ms"`    // excluded from statistics
	RampPerS    float64 `json:"ramp_per_s"`   // connections opened per second
	MaxInflight int     `json:"max_inflight"` // per connection
	Senders     int     `json:"senders,omitempty"`
	// ExcludeSender: the server does not send a broadcast back to its
	// sender, so one delivery less is expected per message.
	ExcludeSender bool     `json:"exclude_sender,omitempty"`
	SourceIPs     []string `json:"source_ips,omitempty"`
	// Transport is what carried the WebSockets, "HTTP/1.1" or "HTTP/2"
	// (RFC 8441 streams); StreamsPerConn is how many shared one TCP
	// connection (1 over HTTP/1.1). Absent in results written before
	// they existed, which were all over HTTP/1.1.
	Transport      string `json:"transport,omitempty"`
	StreamsPerConn int    `json:"streams_per_conn,omitempty"`
}

// TransportName is the run's transport, "HTTP/1.1" for results that
// predate the field.
func (p Params) TransportName() string {
	if p.Transport == "" {
		return wire.HTTP1.String()
	}
	return p.Transport
}

// OverH2 reports whether the WebSockets were HTTP/2 streams.
func (p Params) OverH2() bool { return p.Transport == wire.HTTP2.String() }

// Connections counts connection attempts.
type Connections struct {
	Target      int            `json:"target"`
	Established int            `json:"established"`
	Failed      int            `json:"failed"`
	Failures    map[string]int `json:"failures"`
	// Dropped counts established connections that ended before the run did.
	Dropped int `json:"dropped"`
	// Drops counts the dropped connections by kind (the kinds of Failures
	// plus closed and protocol; see FailRefused). Absent in results
	// written before it existed.
	Drops map[string]int `json:"drops,omitempty"`
	// RatePerS is the connection rate achieved during the ramp: connections
	// made divided by the time from the first attempt to the last success.
	RatePerS float64 `json:"rate_per_s,omitempty"`
	// TCP counts the TCP connections made: Established over HTTP/1.1,
	// the HTTP/2 connections carrying them otherwise. Absent in results
	// written before it existed.
	TCP int `json:"tcp,omitempty"`
}

// Messages counts messages (deliveries, for broadcast).
type Messages struct {
	Sent        int64 `json:"sent"`
	Received    int64 `json:"received"`
	Expected    int64 `json:"expected,omitempty"` // broadcast: deliveries expected
	Lost        int64 `json:"lost"`
	Duplicated  int64 `json:"duplicated"`
	OutOfOrder  int64 `json:"out_of_order"`
	Errors      int64 `json:"errors"`       // send/receive errors and malformed replies
	Unmatched   int64 `json:"unmatched"`    // replies not carrying a payload we sent
	WarmupSent  int64 `json:"warmup_sent"`  // sent during warm-up, not in statistics
	NotMeasured int64 `json:"not_measured"` // received but outside the window
}

// Percentiles summarize a histogram, in microseconds.
type Percentiles struct {
	Count int64   `json:"count"`
	Mean  float64 `json:"mean"`
	P50   int64   `json:"p50"`
	P90   int64   `json:"p90"`
	P99   int64   `json:"p99"`
	P999  int64   `json:"p999"`
	Max   int64   `json:"max"`
}

// Second is one point of the per-second timeline; T counts seconds from
// the first connection attempt. Phase is ramp, warmup, measure, drain or
// hold; only measure seconds count in the statistics.
type Second struct {
	T        int    `json:"t"`
	Phase    string `json:"phase"`
	Conns    int    `json:"conns"`
	Sent     int64  `json:"sent"`
	Received int64  `json:"received"`
	Errors   int64  `json:"errors"`
	P50US    int64  `json:"p50_us"`
	P99US    int64  `json:"p99_us"`
	// Histogram is this second's primary latency histogram, encoded like
	// Histograms; only runs with Config.SecondHistograms keep it, so that
	// merged timelines get true percentiles.
	Histogram string `json:"histogram,omitempty"`
}

// Resources of a process during the run.
type Resources struct {
	PID         int     `json:"pid,omitempty"`
	RSSBytesMax int64   `json:"rss_bytes_max"`
	CPUSeconds  float64 `json:"cpu_seconds"`
	// CPUPerMessageUS is CPU time per message handled (client: sent plus
	// received), to show whether the generator was the bottleneck.
	CPUPerMessageUS float64 `json:"cpu_per_message_us,omitempty"`
	// RSSBytesPerConn divides the peak RSS above the idle baseline by the
	// connections held.
	RSSBytesPerConn float64 `json:"rss_bytes_per_conn,omitempty"`
	Samples         int     `json:"samples,omitempty"`
}

// Generator describes the load generator's own share of a run.
type Generator struct {
	// LagUS is how late the generator itself sent its measured messages:
	// waking up late or being descheduled, never waiting on the server
	// (see lagTracker). Open model only; LatencyUS excludes it.
	LagUS *Percentiles `json:"lag_us,omitempty"`
	// Late counts measured sends more than LagLimitUS late by the
	// generator's own fault.
	Late       int64 `json:"late"`
	LagLimitUS int64 `json:"lag_limit_us"`
	// CPUCores is the generator's CPU time in the measured window divided
	// by the window (1.0 = one core busy throughout), out of Cores
	// (GOMAXPROCS). Summed over workers in a merged result.
	CPUCores float64 `json:"cpu_cores"`
	Cores    int     `json:"cores"`
	// Limited lists why the generator, rather than the server, may have
	// bounded this run's figures; empty when it kept up.
	Limited []Limit `json:"limited,omitempty"`
}

// Limit is one way the generator fell behind, with its amount.
type Limit struct {
	Cause LimitCause `json:"cause"`
	// Detail gives the amount in words, e.g. "3.1% of sends more than
	// 2ms late (p99 lag 4.2ms)".
	Detail string `json:"detail"`
}

// LimitCause names a way the generator can fall behind.
type LimitCause string

const (
	// LimitSchedule: more than LateShareLimit of the measured sends left
	// more than the lag limit late by the generator's own fault, so the
	// server was offered less, or burstier, load than asked for.
	LimitSchedule LimitCause = "schedule"
	// LimitCPU: the generator used at least CPUShareLimit of its cores in
	// the measured window, so its readers, too, may have run late, and
	// that lateness is in the latency.
	LimitCPU LimitCause = "cpu"
)

// GeneratorLimited reports whether the generator fell behind in r.
func (r *Result) GeneratorLimited() bool { return r.Generator != nil && len(r.Generator.Limited) > 0 }

// ThresholdResult is one --threshold check.
type ThresholdResult struct {
	Expr   string  `json:"expr"`
	Value  float64 `json:"value"`
	Passed bool    `json:"passed"`
}

// Marshal encodes a result as indented JSON.
func Marshal(r *Result) ([]byte, error) {
	b, err := json.MarshalIndent(r, "", "  ")
	if err != nil {
		return nil, fmt.Errorf("encode load result: %w", err)
	}
	return append(b, '\n'), nil
}

// ReadFile reads and checks a load result file.
func ReadFile(path string) (*Result, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read load result: %w", err)
	}
	var r Result
	if err := json.Unmarshal(b, &r); err != nil {
		return nil, fmt.Errorf("%s: decode load result: %w", path, jsonpos.Annotate(b, err))
	}
	if r.Schema != Schema {
		return nil, fmt.Errorf("%s: schema %q, want %q", path, r.Schema, Schema)
	}
	return &r, nil
}
