package loadgen

import (
	"cmp"
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"net/url"
	"time"

	"github.com/wsharness/wsharness/wire"
)

// Defaults the CLI shares.
const (
	DefaultConns       = 100
	DefaultSize        = 128
	DefaultDuration    = 10 * time.Second
	DefaultWarmup      = 2 * time.Second
	DefaultRamp        = 2000 // connections per second
	DefaultMaxInflight = 16
	DefaultDialTimeout = 10 * time.Second
	DefaultDrain       = 3 * time.Second
	// DefaultLagLimit is well above what Go's timers add on a loaded
	// machine (0.2–0.5 ms, p99 about 1.1 ms at 4,000 sends/s on 2 cores):
	// a send later than this means the generator was starved.
	DefaultLagLimit = 2 * time.Millisecond
	// DialConcurrency bounds dials in flight: bursts beyond the listen
	// backlog turn into SYN retries and false timeouts.
	DialConcurrency = 256
	// MaxDuration bounds any run's sending time.
	MaxDuration = 24 * time.Hour
)

// Config is one load run.
type Config struct {
	Scenario string
	URL      string
	// Target names the server in the result.
	Target string

	Conns    int
	Rate     float64 // messages/s in total; 0 = closed loop (echo only)
	Size     int
	Binary   bool
	Duration time.Duration
	Warmup   time.Duration
	// RampPerS paces connection attempts; 0 = as fast as DialConcurrency allows.
	RampPerS    float64
	MaxInflight int
	// Senders is how many broadcast connections send.
	Senders       int
	ExcludeSender bool
	// SourceIPs spread connections over source addresses; nil picks
	// 127.0.0.x automatically for more than SourceSpreadAbove loopback
	// connections.
	SourceIPs   []net.IP
	DialTimeout time.Duration
	// Drain is how long to wait for outstanding replies after sending stops.
	Drain time.Duration
	// TLS configures the client side of wss:// connections (the roots to
	// trust, or no verification); nil verifies against the system roots.
	TLS *tls.Config
	// DialError, when set, is called with the kind (FailTLS, ...) and the
	// error of every failed connection attempt, from the dialling
	// goroutines: a caller can quote the reason behind the counts.
	DialError func(kind string, err error)
	// ServerPID, when set, is sampled for CPU and RSS during the run.
	ServerPID int
	// Progress, when set, is called once a second from the run's ticker.
	Progress func(Progress)
	// LagLimit is how late the generator may send by its own fault
	// before the send counts as late (Generator.Late); 0 means
	// DefaultLagLimit.
	LagLimit time.Duration
	// StreamsPerConn is how many WebSockets share one HTTP/2 connection,
	// as streams (RFC 8441), when URL is ws+h2:// or wss+h2://: Conns
	// WebSockets take ceil(Conns/StreamsPerConn) TCP connections. 0 = 1;
	// more needs HTTP/2.
	StreamsPerConn int
	// SecondHistograms keeps each timeline second's latency histogram in
	// the result (Second.Histogram), for runs that will be merged.
	SecondHistograms bool
}

// SourceSpreadAbove is the connection count past which loopback runs spread
// over source addresses (the ephemeral port range holds ~28,000 ports).
const SourceSpreadAbove = 25000

// Progress is the live state reported once a second.
type Progress struct {
	T            int
	Phase        string
	Conns        int
	Target       int
	SentPerS     int64
	ReceivedPerS int64
	Errors       int64
	P99US        int64
}

// Phases of a run, as the timeline labels them.
const (
	PhaseRamp    = "ramp"
	PhaseWarmup  = "warmup"
	PhaseMeasure = "measure"
	PhaseDrain   = "drain"
	PhaseHold    = "hold"
)

// tcpConns is how many TCP connections the run's Conns WebSockets take.
func (c Config) tcpConns() int {
	if !isH2URL(c.URL) {
		return c.Conns
	}
	k := max(c.StreamsPerConn, 1)
	return (c.Conns + k - 1) / k
}

// withDefaults fills unset fields.
func (c Config) withDefaults() Config {
	c.Size = cmp.Or(c.Size, DefaultSize)
	c.Duration = cmp.Or(c.Duration, DefaultDuration)
	if c.MaxInflight == 0 {
		c.MaxInflight = DefaultMaxInflight
		if c.Rate == 0 {
			c.MaxInflight = 1
		}
	}
	c.DialTimeout = cmp.Or(c.DialTimeout, DefaultDialTimeout)
	c.Drain = cmp.Or(c.Drain, DefaultDrain)
	c.Senders = cmp.Or(c.Senders, 1)
	c.LagLimit = cmp.Or(c.LagLimit, DefaultLagLimit)
	c.Target = cmp.Or(c.Target, c.URL)
	c.StreamsPerConn = cmp.Or(c.StreamsPerConn, 1)
	return c
}

// Validate reports every problem with the configuration at once.
func (c Config) Validate() error {
	var errs []error
	bad := func(format string, args ...any) { errs = append(errs, fmt.Errorf(format, args...)) }
	s, known := scenarioNamed(c.Scenario)
	if !known {
		bad("--scenario %q: want %s", c.Scenario, scenarioList())
	}
	if u, err := url.Parse(c.URL); err != nil || !wire.KnownScheme(u.Scheme) || u.Host == "" {
		bad("--url %q: want a %s URL (scheme://host:port/path)", c.URL, wire.SchemesText)
	}
	switch {
	case c.StreamsPerConn < 0 || c.StreamsPerConn > MaxStreamsPerConn:
		bad("--streams-per-conn %d: want 1 to %d", c.StreamsPerConn, MaxStreamsPerConn)
	case c.StreamsPerConn > 1 && !isH2URL(c.URL):
		bad("--streams-per-conn %d: streams need HTTP/2 (--h2, or a ws+h2:// or wss+h2:// URL)", c.StreamsPerConn)
	}
	if c.Conns < 1 {
		bad("--conns %d: want at least 1", c.Conns)
	}
	if c.Rate < 0 {
		bad("--rate %v: want 0 (closed loop) or more", c.Rate)
	}
	if known {
		errs = append(errs, s.check(c)...)
	}
	if c.Duration <= 0 || c.Duration > MaxDuration {
		bad("--duration %v: want more than 0 and at most %v", c.Duration, MaxDuration)
	}
	if c.Warmup < 0 || c.Warmup > MaxDuration {
		bad("--warmup %v: want 0 to %v", c.Warmup, MaxDuration)
	}
	if c.RampPerS < 0 {
		bad("--ramp %v: want 0 (unpaced) or more connections/s", c.RampPerS)
	}
	if c.MaxInflight < 1 {
		bad("--max-inflight %d: want at least 1", c.MaxInflight)
	}
	if c.LagLimit < 0 {
		bad("--lag-limit %v: want more than 0", c.LagLimit)
	}
	if c.DialTimeout <= 0 {
		bad("dial timeout %v: want more than 0", c.DialTimeout)
	}
	return errors.Join(errs...)
}
