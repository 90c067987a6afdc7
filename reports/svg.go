package reports

import (
	"math"
	"strconv"
	"unicode/utf8"
)

// This file lays out line charts as plain numbers and strings; the report
// template turns them into inline SVG, so every label, target name
// included, goes through html/template's escaping like the rest of the
// page. Nothing here writes markup.

// svgChart is a laid-out chart: coordinates are in SVG user units,
// formatted with one decimal so the output is deterministic.
type svgChart struct {
	ID     string // stable element id
	Title  string
	Desc   string // accessible description and tooltip
	Width  int
	Height int

	// The plotting area.
	X0, Y0, X1, Y1 string // left, top, right, bottom
	PlotW, PlotH   string

	XTicks, YTicks []svgTick
	XTickLabelY    string // baseline of the x tick labels
	YTickLabelX    string // right edge of the y tick labels
	XLabel         string
	YLabel         string
	XLabelX        string // x label position
	XLabelY        string
	YLabelX        string // y label anchor (rotated)
	YLabelY        string

	Bands  []svgBand
	Series []svgSeries
	Legend []svgLegendItem
	// Empty is set, with a message, when there is nothing to draw.
	Empty string
}

type svgTick struct {
	Pos   string // x for an x tick, y for a y tick
	Label string
}

type svgBand struct {
	X, W, LabelX, LabelY string
	Label                string
}

type svgSeries struct {
	Name  string
	Color string
	Dash  string
	D     string // path data; empty when no point could be drawn
	Marks []svgPoint
}

type svgPoint struct{ X, Y string }

type svgLegendItem struct {
	X, Y       string // top left of the swatch line
	LineX2     string
	TextX      string
	TextY      string
	Color      string
	Dash       string
	Label      string // possibly shortened
	Full       string // the whole name, as a tooltip
	MarkX      string
	ShowMarker bool
}

// svgSpec describes a chart to lay out.
type svgSpec struct {
	ID, Title, Desc string
	XLabel, YLabel  string

	// XPercentile makes the x axis the HdrHistogram percentile axis: x
	// values are log10(1/(1-q)), ticks are labelled as percentiles.
	XPercentile bool
	XMin, XMax  float64 // used when XFixed
	XFixed      bool
	XFormat     func(float64) string
	XZero       bool // a linear x axis starts at 0

	YLog    bool
	YZero   bool // a linear y axis starts at 0
	YMinTop float64
	YFormat func(float64) string

	Series []svgSeriesData
	Bands  []svgBandData
	// Empty is the message drawn when no series has a point.
	Empty string
}

type svgSeriesData struct {
	Name   string
	Color  string
	Dash   string
	Points []svgXY // NaN y breaks the line
}

type svgXY struct{ X, Y float64 }

type svgBandData struct {
	X0, X1 float64
	Label  string
}

const (
	svgWidth      = 640
	svgPlotHeight = 230
	svgLeft       = 70
	svgRight      = 30
	svgTop        = 34
	svgAxisBelow  = 46 // tick labels and the x axis label
	svgLegendRow  = 18
	svgCharW      = 6.6 // approximate width of a 12px sans-serif character
	svgMaxLegend  = 48  // runes of a legend label before it is shortened
	svgMarkMax    = 40  // series with at most this many points get markers
)

func svgNum(v float64) string {
	v = math.Round(v*10) / 10
	if v == 0 {
		v = 0 // no "-0"
	}
	return strconv.FormatFloat(v, 'f', -1, 64)
}

// svgLayout computes a chart from its spec.
func svgLayout(s svgSpec) svgChart {
	c := svgChart{ID: s.ID, Title: s.Title, Desc: s.Desc, Width: svgWidth, XLabel: s.XLabel, YLabel: s.YLabel}
	left, right, top := float64(svgLeft), float64(svgWidth-svgRight), float64(svgTop)
	bottom := top + svgPlotHeight

	// Legend rows below the axis label.
	legendTop := bottom + svgAxisBelow
	x, y := left, legendTop
	for _, ser := range s.Series {
		label := ser.Name
		if utf8.RuneCountInString(label) > svgMaxLegend {
			r := []rune(label)
			label = string(r[:svgMaxLegend-1]) + "…"
		}
		w := 34 + svgCharW*float64(utf8.RuneCountInString(label)) + 16
		if x > left && x+w > right {
			x, y = left, y+svgLegendRow
		}
		c.Legend = append(c.Legend, svgLegendItem{
			X: svgNum(x), Y: svgNum(y + 6), LineX2: svgNum(x + 26), MarkX: svgNum(x + 13),
			TextX: svgNum(x + 32), TextY: svgNum(y + 10),
			Color: ser.Color, Dash: ser.Dash, Label: label, Full: ser.Name,
			ShowMarker: len(ser.Points) <= svgMarkMax,
		})
		x += w
	}
	height := legendTop + 6
	if len(c.Legend) > 0 {
		height = y + svgLegendRow + 4
	}
	c.Height = int(math.Ceil(height))
	c.X0, c.Y0, c.X1, c.Y1 = svgNum(left), svgNum(top), svgNum(right), svgNum(bottom)
	c.PlotW, c.PlotH = svgNum(right-left), svgNum(bottom-top)
	c.XTickLabelY, c.YTickLabelX = svgNum(bottom+16), svgNum(left-6)
	c.XLabelX, c.XLabelY = svgNum((left+right)/2), svgNum(bottom+38)
	c.YLabelX, c.YLabelY = svgNum(16), svgNum((top+bottom)/2)

	// Data ranges.
	xmin, xmax := math.Inf(1), math.Inf(-1)
	ymin, ymax := math.Inf(1), math.Inf(-1)
	for _, ser := range s.Series {
		for _, p := range ser.Points {
			if math.IsNaN(p.Y) || math.IsInf(p.Y, 0) || (s.YLog && p.Y <= 0) {
				continue
			}
			xmin, xmax = math.Min(xmin, p.X), math.Max(xmax, p.X)
			ymin, ymax = math.Min(ymin, p.Y), math.Max(ymax, p.Y)
		}
	}
	if math.IsInf(ymin, 1) {
		c.Empty = s.Empty
		if c.Empty == "" {
			c.Empty = "no data"
		}
		c.Series = nil
		for _, ser := range s.Series {
			c.Series = append(c.Series, svgSeries{Name: ser.Name, Color: ser.Color, Dash: ser.Dash})
		}
		return c
	}
	if s.XFixed {
		xmin, xmax = s.XMin, s.XMax
	}
	if xmax <= xmin {
		xmin, xmax = xmin-1, xmax+1
	}
	if s.YMinTop > 0 && ymax < s.YMinTop {
		ymax = s.YMinTop
	}

	// Axes.
	var yTicks []float64
	var ylo, yhi float64
	var yFormat = s.YFormat
	if yFormat == nil {
		yFormat = svgFormatCount
	}
	if s.YLog {
		ylo, yhi, yTicks = svgLogTicks(ymin, ymax)
	} else {
		lo := ymin
		if s.YZero {
			lo = math.Min(0, ymin)
		}
		ylo, yhi, yTicks = svgLinearTicks(lo, ymax)
	}
	var xTicks []float64
	xFormat := s.XFormat
	if s.XPercentile {
		for k := 0; k <= 5; k++ {
			v := float64(k)
			if k == 0 {
				v = math.Log10(2)
			}
			if v >= xmin-1e-9 && v <= xmax+1e-9 {
				xTicks = append(xTicks, v)
			}
		}
		xFormat = svgPercentileLabel
	} else {
		if s.XZero {
			xmin = math.Min(0, xmin)
		}
		xmin, xmax, xTicks = svgLinearTicks(xmin, xmax)
	}
	if xFormat == nil {
		xFormat = svgFormatCount
	}

	px := func(v float64) float64 { return left + (v-xmin)/(xmax-xmin)*(right-left) }
	py := func(v float64) float64 {
		if s.YLog {
			return bottom - (math.Log10(v)-math.Log10(ylo))/(math.Log10(yhi)-math.Log10(ylo))*(bottom-top)
		}
		return bottom - (v-ylo)/(yhi-ylo)*(bottom-top)
	}
	for _, t := range xTicks {
		c.XTicks = append(c.XTicks, svgTick{Pos: svgNum(px(t)), Label: xFormat(t)})
	}
	for _, t := range yTicks {
		c.YTicks = append(c.YTicks, svgTick{Pos: svgNum(py(t)), Label: yFormat(t)})
	}
	for _, b := range s.Bands {
		x0, x1 := math.Max(px(b.X0), left), math.Min(px(b.X1), right)
		if x1 <= x0 {
			continue
		}
		c.Bands = append(c.Bands, svgBand{X: svgNum(x0), W: svgNum(x1 - x0), LabelX: svgNum(x0 + 4), LabelY: svgNum(top + 12), Label: b.Label})
	}
	for _, ser := range s.Series {
		out := svgSeries{Name: ser.Name, Color: ser.Color, Dash: ser.Dash}
		pen := false
		var d []byte
		for _, p := range ser.Points {
			if math.IsNaN(p.Y) || math.IsInf(p.Y, 0) || (s.YLog && p.Y <= 0) || p.X < xmin || p.X > xmax {
				pen = false
				continue
			}
			X, Y := svgNum(px(p.X)), svgNum(py(p.Y))
			if pen {
				d = append(d, 'L')
			} else {
				if len(d) > 0 {
					d = append(d, ' ')
				}
				d = append(d, 'M')
			}
			d = append(d, X...)
			d = append(d, ' ')
			d = append(d, Y...)
			pen = true
			if len(ser.Points) <= svgMarkMax {
				out.Marks = append(out.Marks, svgPoint{X, Y})
			}
		}
		out.D = string(d)
		c.Series = append(c.Series, out)
	}
	return c
}

// svgLinearTicks returns a "nice" range covering [lo, hi] and its ticks.
func svgLinearTicks(lo, hi float64) (float64, float64, []float64) {
	if hi <= lo {
		if lo == 0 {
			hi = 1
		} else {
			d := math.Abs(lo) * 0.1
			lo, hi = lo-d, hi+d
		}
	}
	step := svgNiceStep((hi - lo) / 5)
	start := math.Floor(lo/step+1e-9) * step
	end := math.Ceil(hi/step-1e-9) * step
	var ticks []float64
	for i := 0; ; i++ {
		v := start + float64(i)*step
		if v > end+step*1e-6 {
			break
		}
		ticks = append(ticks, math.Round(v/step)*step)
	}
	return start, end, ticks
}

func svgNiceStep(raw float64) float64 {
	mag := math.Pow(10, math.Floor(math.Log10(raw)))
	for _, m := range []float64{1, 2, 2.5, 5, 10} {
		if raw <= m*mag*(1+1e-9) {
			return m * mag
		}
	}
	return 10 * mag
}

// svgLogTicks returns whole decades covering [lo, hi] (both > 0) and
// ticks at each decade, and at 2 and 5 times it when there are few.
func svgLogTicks(lo, hi float64) (float64, float64, []float64) {
	a, b := math.Floor(math.Log10(lo)+1e-9), math.Ceil(math.Log10(hi)-1e-9)
	if b <= a {
		b = a + 1
	}
	var ticks []float64
	for e := a; e <= b; e++ {
		base := math.Pow(10, e)
		ticks = append(ticks, base)
		if b-a <= 2 && e < b {
			ticks = append(ticks, 2*base, 5*base)
		}
	}
	return math.Pow(10, a), math.Pow(10, b), ticks
}

// svgPercentileLabel labels a point of the log10(1/(1-q)) axis.
func svgPercentileLabel(x float64) string {
	q := 100 * (1 - math.Pow(10, -x))
	return strconv.FormatFloat(math.Round(q*1000)/1000, 'f', -1, 64) + "%"
}

// svgFormatCount renders an axis value compactly: 1500 → "1.5k".
func svgFormatCount(v float64) string {
	av := math.Abs(v)
	switch {
	case av >= 1e9:
		return svgTrim(v/1e9) + "G"
	case av >= 1e6:
		return svgTrim(v/1e6) + "M"
	case av >= 1e4:
		return svgTrim(v/1e3) + "k"
	}
	return svgTrim(v)
}

func svgTrim(v float64) string {
	return strconv.FormatFloat(math.Round(v*1000)/1000, 'f', -1, 64)
}

// svgFormatMicros labels a latency tick given in microseconds.
func svgFormatMicros(us float64) string {
	switch {
	case us == 0:
		return "0"
	case math.Abs(us) < 1000:
		return svgTrim(us) + " µs"
	case math.Abs(us) < 1e6:
		return svgTrim(us/1000) + " ms"
	}
	return svgTrim(us/1e6) + " s"
}

func svgFormatSeconds(s float64) string { return svgTrim(s) + " s" }

// svgFormatRatio labels a ratio axis.
func svgFormatRatio(v float64) string { return svgTrim(v) }

// svgPercentileX maps a quantile (0..1) to the percentile axis.
func svgPercentileX(q float64) float64 { return math.Log10(1 / (1 - q)) }

// svgPalette colours targets; a target keeps its colour in every chart and
// table of a report (see htmlColors).
var svgPalette = []string{
	"#4e79a7", "#f28e2b", "#e15759", "#59a14f", "#b07aa1",
	"#76b7b2", "#edc948", "#9c755f", "#ff9da7", "#5f5f5f",
}

// svgDashes tell apart several runs of one target in a chart.
var svgDashes = []string{"", "7 4", "2 3", "10 3 2 3", "4 2"}
