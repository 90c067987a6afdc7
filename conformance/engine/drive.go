package engine

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/wsharness/wsharness/conformance/casekit"
	"github.com/wsharness/wsharness/conformance/cases"
	"github.com/wsharness/wsharness/targets"
)

// DriverIdleTimeout is how long a client driver (Target.Drive) may go
// without a case in flight and without starting one before it is taken for
// hung and stopped (control calls alone are no progress); scaled by the
// run's time scale.
const DriverIdleTimeout = 30 * time.Second

// driverSettle bounds the wait for the cases a driver left in flight when
// it exited or was stopped.
const driverSettle = 10 * time.Second

// drive runs the client driver of target t once, with a fuzzing server
// serving list, and returns a record for every case of list: the
// verdict of the latest run of each case it ran (whatever agent name it
// gave), and a FAILED not-run record, with why, for each it never ran.
// The driver is stopped when it goes DriverIdleTimeout without a
// connection, or runs past the sum of its cases' bounds. cut is set, and
// there are no records, when ctx ended first.
func (r *runner) drive(ctx context.Context, t Target, list []cases.Case) (records []Record, cut bool) {
	unavailable := func(why string) ([]Record, bool) {
		return []Record{{Target: t.Info.Name, Library: t.Info.Library, Unavailable: why}}, false
	}
	f, err := StartFuzzingServer(ctx, FuzzingOptions{Settings: r.settings, Cases: list,
		Target: func(string) Target { return t }})
	if err != nil {
		return unavailable(err.Error())
	}
	env := casekit.Env{TimeScale: r.settings.TimeScale}
	total := BoundMargin
	for _, c := range list {
		total += c.Bound(env)
	}
	idleLimit := env.Scaled(DriverIdleTimeout)
	dctx, stop := context.WithCancelCause(ctx)
	defer stop(nil)
	ended := make(chan error, 1)
	go func() { ended <- t.Drive(dctx, f.URL(), t.Info.Name) }()
	deadline := time.NewTimer(total)
	defer deadline.Stop()
	tick := time.NewTicker(time.Second)
	defer tick.Stop()
	var driverErr error
wait:
	for {
		select {
		case driverErr = <-ended:
			break wait
		case <-deadline.C:
			stop(fmt.Errorf("it ran past the sum of its cases' bounds, %v", total.Round(time.Second)))
		case <-tick.C:
			if f.Idle() > idleLimit {
				stop(fmt.Errorf("it went %v without running a case", idleLimit))
			}
		}
	}
	if errors.Is(driverErr, targets.ErrTargetUnavailable) {
		f.Close()
		return unavailable(driverErr.Error())
	}
	f.settle(driverSettle)
	f.Close() // cases still in flight get a not-run record below
	if ctx.Err() != nil {
		return nil, true
	}
	why := "the driver exited without running it"
	switch {
	case context.Cause(dctx) != nil:
		why = "the driver was stopped without running it: " + context.Cause(dctx).Error()
	case driverErr != nil:
		why = "the driver ended without running it: " + driverErr.Error()
	}
	ran := map[string]Record{}
	for _, a := range f.Results() {
		for _, rec := range a.Records {
			if _, ok := ran[rec.Case.ID]; !ok {
				ran[rec.Case.ID] = rec
			}
		}
	}
	for _, c := range list {
		rec, ok := ran[c.ID]
		if !ok {
			rec = NotRunRecord(t, c, why)
			if d, ok := r.settings.Expect.Lookup(t.Info.Name, c.ID); ok {
				rec.Case.Deviation, rec.Case.Unstable = d.Reason, d.Unstable
			}
		}
		records = append(records, rec)
	}
	return records, false
}
