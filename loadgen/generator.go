package loadgen

import (
	"fmt"
	"math"
	"runtime"
	"time"
)

// When the generator counts as having fallen behind (see Generator).
const (
	// LateShareLimit is the share of measured sends that may be late by
	// the generator's own fault.
	LateShareLimit = 0.01
	// CPUShareLimit is the share of its cores the generator may keep busy
	// in the measured window.
	CPUShareLimit = 0.9
)

// generator assembles the generator's own figures for a run whose
// measured window lasted window and sent measuredSent messages.
func (r *run) generator(window time.Duration, measuredSent int64) *Generator {
	g := &Generator{
		LagUS: summarize(r.ownLag.Total()), Late: r.lateSends.Load(),
		LagLimitUS: r.cfg.LagLimit.Microseconds(), Cores: runtime.GOMAXPROCS(0),
	}
	if cpu, _ := r.windowCPU(); window > 0 {
		g.CPUCores = math.Round(cpu/window.Seconds()*100) / 100
	}
	g.judge(measuredSent)
	return g
}

// judge sets Limited from the figures.
func (g *Generator) judge(measuredSent int64) {
	g.Limited = nil
	if measuredSent > 0 && float64(g.Late) > LateShareLimit*float64(measuredSent) {
		detail := fmt.Sprintf("%.1f%% of sends more than %v late by the generator's own fault",
			100*float64(g.Late)/float64(measuredSent), time.Duration(g.LagLimitUS)*time.Microsecond)
		if g.LagUS != nil {
			detail += fmt.Sprintf(" (lag p99 %v)", time.Duration(g.LagUS.P99)*time.Microsecond)
		}
		g.Limited = append(g.Limited, Limit{Cause: LimitSchedule, Detail: detail})
	}
	if g.Cores > 0 && g.CPUCores >= CPUShareLimit*float64(g.Cores) {
		g.Limited = append(g.Limited, Limit{Cause: LimitCPU,
			Detail: fmt.Sprintf("the generator kept %.2f of its %d cores busy", g.CPUCores, g.Cores)})
	}
}
