// Package loadgen generates WebSocket load and measures it: message
// round-trip latency from the scheduled send time (open model, corrected
// for coordinated omission) less the generator's own lateness, broadcast
// fan-out latency and completion, connection rate and failures, and the
// generator's own error beside them. It is a library; the CLI is thin.
//
// A scenario (echo.go, broadcast.go, connect.go) is one implementation of
// the scenario interface and one line in the registry (scenario.go); the
// run (run.go, send.go) opens the connections, paces the sends and reads
// the replies for every scenario alike. What a result is, which figure it
// leads with and where it sorts is said once, in kind.go and figure.go,
// for thresholds, summaries and reports.
package loadgen
