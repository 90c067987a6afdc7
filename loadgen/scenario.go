package loadgen

import (
	"context"
	"strings"
	"time"

	"github.com/wsharness/wsharness/loadgen/metrics"
)

// Scenarios by name, as --scenario takes them.
const (
	ScenarioEcho      = "echo"
	ScenarioBroadcast = "broadcast"
	ScenarioConnect   = "connect"
)

// registry lists the scenarios, in report order. A new scenario is a file
// implementing scenario and a line here.
var registry = []scenario{echoScenario{}, broadcastScenario{}, connectScenario{}}

// A scenario is one kind of load: how it is offered once the connections
// are open, what a received message means, and what its result leads with.
type scenario interface {
	name() string
	// kinds lists the kinds of result it produces, in report order, and
	// kindOf picks one from a result's parameters.
	kinds() []kindSpec
	kindOf(p Params) Kind
	// check reports what is wrong with a configuration of this scenario.
	check(c Config) []error
	// splitError says why the load cannot be shared over workers; nil
	// when it can.
	splitError() error
	// drive offers the load once the connections are open.
	drive(ctx context.Context, r *run)
	// receive handles one message received on c at at (ns since base),
	// from c's reader goroutine.
	receive(r *run, c *conn, p []byte, at int64)
	// timeline is the recorder the per-second timeline follows.
	timeline(r *run) *metrics.Recorder
	// fill puts the scenario's parameters and figures into res, for a
	// measured window of the given length.
	fill(r *run, res *Result, window time.Duration)
}

// scenarioNamed looks a scenario up by name.
func scenarioNamed(name string) (scenario, bool) {
	for _, s := range registry {
		if s.name() == name {
			return s, true
		}
	}
	return nil, false
}

// ScenarioNames lists the scenarios' names, for flags and messages.
func ScenarioNames() []string {
	names := make([]string, len(registry))
	for i, s := range registry {
		names[i] = s.name()
	}
	return names
}

// scenarioList is "echo, broadcast or connect".
func scenarioList() string {
	names := ScenarioNames()
	if len(names) < 2 {
		return strings.Join(names, "")
	}
	return strings.Join(names[:len(names)-1], ", ") + " or " + names[len(names)-1]
}
