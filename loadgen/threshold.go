package loadgen

import (
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"
)

// Threshold is one pass/fail check on a load result, such as "p99<20ms"
// or "delivery>=0.999". Build it with ParseThreshold.
type Threshold struct {
	// Expr is the expression as given (surrounding space trimmed).
	Expr string
	// Metric is the metric name, lower-cased: "p99", "connect.p99",
	// "errors", ...
	Metric string
	// Op is one of <, <=, >, >=, ==, !=.
	Op string
	// Value is the right-hand side; for latency metrics it is in
	// microseconds, the unit of Percentiles.
	Value float64
}

// Latency statistics of one histogram summary.
var latencyStats = []string{"p50", "p90", "p99", "p999", "max", "mean"}

// Metrics that are plain numbers.
var plainMetrics = []string{
	"errors", "lost", "delivery", "throughput", "failed", "established",
	"duplicated", "out_of_order", "generator_limited",
}

var thresholdOps = []string{"<", "<=", ">", ">=", "==", "!="}

// validMetricsHelp lists the accepted metric names, for error messages.
var validMetricsHelp = func() string {
	var b strings.Builder
	b.WriteString("valid metrics: ")
	b.WriteString(strings.Join(latencyStats, ", "))
	b.WriteString(" (the scenario's primary latency); ")
	ps := make([]string, len(Figures))
	for i, f := range Figures {
		ps[i] = f.Prefix + "."
	}
	b.WriteString(strings.Join(ps, ", "))
	b.WriteString(" followed by one of those; ")
	b.WriteString(strings.Join(plainMetrics, ", "))
	b.WriteString(" (generator_limited is 1 when the generator fell behind, else 0)")
	return b.String()
}()

// splitLatency reports whether metric is a latency metric and splits it
// into prefix ("" for the primary latency) and statistic.
func splitLatency(metric string) (prefix, stat string, ok bool) {
	prefix, stat, dotted := strings.Cut(metric, ".")
	if !dotted {
		prefix, stat = "", metric
	} else if _, ok := figureByPrefix(prefix); !ok {
		return "", "", false
	}
	for _, s := range latencyStats {
		if s == stat {
			return prefix, stat, true
		}
	}
	return "", "", false
}

func figureByPrefix(p string) (Figure, bool) {
	for _, f := range Figures {
		if f.Prefix == p {
			return f, true
		}
	}
	return Figure{}, false
}

func isPlainMetric(m string) bool {
	for _, pm := range plainMetrics {
		if pm == m {
			return true
		}
	}
	return false
}

// ParseThreshold parses an expression "METRIC OP VALUE", e.g. "p99<20ms",
// "latency.p999 <= 1.5ms", "errors==0", "delivery>=0.999". Latency
// metrics need a duration unit (ns, us, µs, ms, s); other metrics take a
// plain number.
func ParseThreshold(expr string) (Threshold, error) {
	expr = strings.TrimSpace(expr)
	if expr == "" {
		return Threshold{}, errors.New("empty threshold: want METRIC OP VALUE, e.g. p99<20ms")
	}
	i := strings.IndexAny(expr, "<>=!")
	if i < 0 {
		return Threshold{}, fmt.Errorf("threshold %q: no operator (want one of %s)",
			expr, strings.Join(thresholdOps, " "))
	}
	j := i
	for j < len(expr) && strings.IndexByte("<>=!", expr[j]) >= 0 {
		j++
	}
	op := expr[i:j]
	if !validOp(op) {
		hint := ""
		if op == "=" {
			hint = "; use == for equality"
		}
		return Threshold{}, fmt.Errorf("threshold %q: operator %q is not valid (want one of %s)%s",
			expr, op, strings.Join(thresholdOps, " "), hint)
	}
	metric := strings.ToLower(strings.TrimSpace(expr[:i]))
	valueText := strings.TrimSpace(expr[j:])
	if metric == "" {
		return Threshold{}, fmt.Errorf("threshold %q: missing metric before %q; %s", expr, op, validMetricsHelp)
	}
	if valueText == "" {
		return Threshold{}, fmt.Errorf("threshold %q: missing value after %q", expr, op)
	}
	if strings.ContainsAny(valueText, "<>=!") {
		return Threshold{}, fmt.Errorf("threshold %q: more than one operator; want METRIC OP VALUE", expr)
	}
	t := Threshold{Expr: expr, Metric: metric, Op: op}

	num, unit := splitNumber(valueText)
	if num == "" {
		return Threshold{}, fmt.Errorf("threshold %q: value %q is not a number", expr, valueText)
	}
	v, err := strconv.ParseFloat(num, 64)
	if err != nil || math.IsInf(v, 0) || math.IsNaN(v) {
		return Threshold{}, fmt.Errorf("threshold %q: value %q is not a number", expr, valueText)
	}

	if _, _, ok := splitLatency(metric); ok {
		if unit == "" {
			return Threshold{}, fmt.Errorf("%s: add a unit, e.g. %sms (latency takes ns, us, µs, ms or s)", expr, num)
		}
		scale, ok := latencyUnitUS(unit)
		if !ok {
			return Threshold{}, fmt.Errorf("threshold %q: unknown unit %q (latency takes ns, us, µs, ms or s)", expr, unit)
		}
		if v < 0 {
			return Threshold{}, fmt.Errorf("threshold %q: a latency cannot be negative", expr)
		}
		t.Value = v * scale
		return t, nil
	}
	if !isPlainMetric(metric) {
		return Threshold{}, fmt.Errorf("threshold %q: unknown metric %q; %s", expr, metric, validMetricsHelp)
	}
	if unit != "" {
		return Threshold{}, fmt.Errorf("threshold %q: %s takes a plain number, not %q: drop the unit", expr, metric, valueText)
	}
	t.Value = v
	return t, nil
}

func validOp(op string) bool {
	for _, o := range thresholdOps {
		if o == op {
			return true
		}
	}
	return false
}

// splitNumber splits "1.5ms" into "1.5" and "ms". The number part is a
// decimal with optional sign and exponent; the rest, space-trimmed, is
// the unit.
func splitNumber(s string) (num, unit string) {
	i := 0
	if i < len(s) && (s[i] == '+' || s[i] == '-') {
		i++
	}
	digits := false
	for i < len(s) && (s[i] >= '0' && s[i] <= '9' || s[i] == '.') {
		digits = digits || s[i] != '.'
		i++
	}
	if !digits {
		return "", s
	}
	// Exponent, only when digits follow, so that a unit starting with
	// 'e' could never be eaten.
	if i < len(s) && (s[i] == 'e' || s[i] == 'E') {
		k := i + 1
		if k < len(s) && (s[k] == '+' || s[k] == '-') {
			k++
		}
		if k < len(s) && s[k] >= '0' && s[k] <= '9' {
			for k < len(s) && s[k] >= '0' && s[k] <= '9' {
				k++
			}
			i = k
		}
	}
	return s[:i], strings.TrimSpace(s[i:])
}

// latencyUnitUS returns how many microseconds one unit is.
func latencyUnitUS(unit string) (float64, bool) {
	switch unit {
	case "ns":
		return 1e-3, true
	case "us", "µs", "μs": // micro sign U+00B5 and Greek mu U+03BC
		return 1, true
	case "ms":
		return 1e3, true
	case "s":
		return 1e6, true
	}
	return 0, false
}

// observe returns the metric's value in r, or an error when r does not
// carry it.
func (t Threshold) observe(r *Result) (float64, error) {
	if r == nil {
		return 0, errors.New("no result")
	}
	if prefix, stat, ok := splitLatency(t.Metric); ok {
		f, ok := figureByPrefix(prefix)
		if prefix == "" {
			if f, _, ok = r.Primary(); !ok {
				return 0, fmt.Errorf("scenario %q has no primary latency; name the histogram, e.g. latency.p99", r.Scenario)
			}
		}
		p := f.Of(r)
		if p == nil {
			return 0, fmt.Errorf("the %s result has no %s", scenarioName(r), f.Histogram)
		}
		if p.Count == 0 {
			// All-zero percentiles would pass any upper bound.
			return 0, fmt.Errorf("%s of the %s result has no samples", f.Histogram, scenarioName(r))
		}
		switch stat {
		case "p50":
			return float64(p.P50), nil
		case "p90":
			return float64(p.P90), nil
		case "p99":
			return float64(p.P99), nil
		case "p999":
			return float64(p.P999), nil
		case "max":
			return float64(p.Max), nil
		case "mean":
			return p.Mean, nil
		}
	}
	needMessages := func() error {
		if r.Messages == nil {
			return fmt.Errorf("the %s result has no message counts", scenarioName(r))
		}
		return nil
	}
	switch t.Metric {
	case "errors":
		n := int64(r.Connections.Failed + r.Connections.Dropped)
		if r.Messages != nil {
			n += r.Messages.Errors
		}
		return float64(n), nil
	case "lost":
		if err := needMessages(); err != nil {
			return 0, err
		}
		return float64(r.Messages.Lost), nil
	case "duplicated":
		if err := needMessages(); err != nil {
			return 0, err
		}
		return float64(r.Messages.Duplicated), nil
	case "out_of_order":
		if err := needMessages(); err != nil {
			return 0, err
		}
		return float64(r.Messages.OutOfOrder), nil
	case "delivery":
		if r.DeliveryRatio == nil {
			return 0, fmt.Errorf("the %s result has no delivery_ratio", scenarioName(r))
		}
		return *r.DeliveryRatio, nil
	case "throughput":
		// throughput_per_s is omitted when zero; a run that counted
		// messages had a throughput, possibly zero, one that did not
		// (connect) has none.
		if r.Messages == nil {
			return 0, fmt.Errorf("the %s result has no message throughput", scenarioName(r))
		}
		return r.ThroughputPerS, nil
	case "generator_limited":
		if r.Generator == nil {
			return 0, fmt.Errorf("the %s result has no generator figures", scenarioName(r))
		}
		if r.GeneratorLimited() {
			return 1, nil
		}
		return 0, nil
	case "failed":
		return float64(r.Connections.Failed), nil
	case "established":
		return float64(r.Connections.Established), nil
	}
	return 0, fmt.Errorf("unknown metric %q; %s", t.Metric, validMetricsHelp)
}

func scenarioName(r *Result) string {
	if r.Scenario == "" {
		return "unnamed"
	}
	return r.Scenario
}

func compare(v float64, op string, limit float64) (bool, error) {
	switch op {
	case "<":
		return v < limit, nil
	case "<=":
		return v <= limit, nil
	case ">":
		return v > limit, nil
	case ">=":
		return v >= limit, nil
	case "==":
		return v == limit, nil
	case "!=":
		return v != limit, nil
	}
	return false, fmt.Errorf("operator %q is not valid (want one of %s)", op, strings.Join(thresholdOps, " "))
}

// Eval checks the threshold against r. Value in the outcome is the
// observed value (microseconds for latencies). A metric that r does not
// carry — delivery on an echo run, a missing or empty histogram — is an
// error, never a pass.
func (t Threshold) Eval(r *Result) (ThresholdResult, error) {
	out := ThresholdResult{Expr: t.Expr}
	v, err := t.observe(r)
	if err != nil {
		return out, fmt.Errorf("threshold %q: %w", t.Expr, err)
	}
	out.Value = v
	passed, err := compare(v, t.Op, t.Value)
	if err != nil {
		return out, fmt.Errorf("threshold %q: %w", t.Expr, err)
	}
	out.Passed = passed
	return out, nil
}

// EvalAll evaluates every threshold. results has one entry per threshold,
// in order; a threshold that could not be evaluated is in it with Passed
// false and Value 0. failed describes each threshold that did not pass,
// with the observed value or the reason, e.g. "p99<20ms: observed 25.3ms".
// err joins the evaluation errors (metrics absent from r); those
// thresholds are also in failed, so nothing missing passes quietly.
func EvalAll(ts []Threshold, r *Result) (results []ThresholdResult, failed []string, err error) {
	results = make([]ThresholdResult, 0, len(ts))
	var errs []error
	for _, t := range ts {
		res, e := t.Eval(r)
		results = append(results, res)
		switch {
		case e != nil:
			errs = append(errs, e)
			failed = append(failed, e.Error())
		case !res.Passed:
			failed = append(failed, fmt.Sprintf("%s: observed %s", t.Expr, t.formatValue(res.Value)))
		}
	}
	return results, failed, errors.Join(errs...)
}

// formatValue renders an observed value in the metric's terms.
func (t Threshold) formatValue(v float64) string {
	if _, _, ok := splitLatency(t.Metric); ok {
		return time.Duration(math.Round(v * 1e3)).String()
	}
	return strconv.FormatFloat(v, 'f', -1, 64)
}
