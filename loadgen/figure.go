package loadgen

// Figure is one latency figure a result can carry.
type Figure struct {
	// Name labels it in summaries and reports, e.g. "service time".
	Name string
	// Prefix addresses it in thresholds, e.g. "service" in service.p99.
	Prefix string
	// Histogram is its key in Result.Histograms.
	Histogram string
	// field is where the summary lives in a Result; nil for figures
	// nested deeper (the generator's lag).
	field func(*Result) **Percentiles
	of    func(*Result) *Percentiles
}

// Of returns the figure's summary in r, nil when r has none.
func (f Figure) Of(r *Result) *Percentiles {
	if f.field != nil {
		return *f.field(r)
	}
	return f.of(r)
}

// The latency figures.
var (
	FigureLatency = Figure{Name: "latency", Prefix: "latency", Histogram: "latency_us",
		field: func(r *Result) **Percentiles { return &r.LatencyUS }}
	FigureServiceTime = Figure{Name: "service time", Prefix: "service", Histogram: "service_time_us",
		field: func(r *Result) **Percentiles { return &r.ServiceTimeUS }}
	FigureGeneratorLag = Figure{Name: "generator lag", Prefix: "lag", Histogram: generatorLagHistogram,
		of: func(r *Result) *Percentiles {
			if r.Generator == nil {
				return nil
			}
			return r.Generator.LagUS
		}}
	FigureFanout = Figure{Name: "fan-out", Prefix: "fanout", Histogram: "fanout_latency_us",
		field: func(r *Result) **Percentiles { return &r.FanoutLatencyUS }}
	FigureCompletion = Figure{Name: "completion", Prefix: "completion", Histogram: "fanout_completion_us",
		field: func(r *Result) **Percentiles { return &r.FanoutCompletionUS }}
	FigureConnect = Figure{Name: "connect", Prefix: "connect", Histogram: "connect_latency_us",
		field: func(r *Result) **Percentiles { return &r.ConnectLatencyUS }}
)

// Figures lists every latency figure, in the order summaries show them.
var Figures = []Figure{FigureLatency, FigureServiceTime, FigureGeneratorLag, FigureFanout, FigureCompletion, FigureConnect}
