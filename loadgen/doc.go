// Package loadgen generates WebSocket load and measures it: message
// round-trip latency from the scheduled send time (open model, corrected
// for coordinated omission), broadcast fan-out latency and completion,
// connection rate and failures. It is a library; the CLI is thin.
package loadgen
