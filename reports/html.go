package reports

import (
	"embed"
	"encoding/json"
	"fmt"
	"html/template"
	"io"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/wsharness/wsharness/results"
	"github.com/wsharness/wsharness/wire"
)

// HTML is the report as one page, index.html.
var HTML = Format{Name: "html", File: "index.html", Help: "one self-contained page", Write: writeHTML, Comparison: compareMarkdown}

//go:embed assets/report.css assets/report.js assets/report.html.tmpl
var htmlAssets embed.FS

var htmlTemplate = sync.OnceValues(func() (*template.Template, error) {
	src, err := htmlAssets.ReadFile("assets/report.html.tmpl")
	if err != nil {
		return nil, err
	}
	return template.New("report").Parse(string(src))
})

// writeHTML renders the input as one self-contained page: the conformance
// matrix of every run with a detail panel per cell (observed text,
// handshake, wire log), then the load results grouped by workload with a
// sortable table and SVG charts per group. The page loads nothing: its
// CSS, script and the case details (a JSON document) are inline. All
// markup comes from html/template, so every string that comes from a
// target or a result file is escaped for its context.
func writeHTML(w io.Writer, in Input, opts Options) error {
	tmpl, err := htmlTemplate()
	if err != nil {
		return fmt.Errorf("html report template: %w", err)
	}
	css, err := htmlAssets.ReadFile("assets/report.css")
	if err != nil {
		return err
	}
	js, err := htmlAssets.ReadFile("assets/report.js")
	if err != nil {
		return err
	}
	page := htmlPage{
		Title:   opts.Title,
		CSS:     template.CSS(css), // our own embedded asset, not input
		JS:      template.JS(js),   // our own embedded asset, not input
		Sources: in.Sources,
		Data:    &htmlData{Runs: []htmlJSRun{}},
	}
	if page.Title == "" {
		page.Title = DefaultTitle
	}
	if !opts.Generated.IsZero() {
		page.Generated = opts.Generated.UTC().Format("2006-01-02 15:04:05 UTC")
		page.GeneratedISO = opts.Generated.UTC().Format(time.RFC3339)
	}
	colors := htmlColors(in)
	families := map[string]bool{}
	for i, run := range in.Conformance {
		view, data := htmlConformance(i, run, len(in.Conformance), colors)
		page.Conformance = append(page.Conformance, view)
		page.Data.Runs = append(page.Data.Runs, data)
		for _, f := range view.Families {
			if !families[f.Name] {
				families[f.Name] = true
				page.Families = append(page.Families, f.Name)
			}
		}
	}
	page.WireTrimmed = htmlTrimWire(page.Data, htmlWireBudget)
	page.Load = htmlLoadGroups(in.Load, colors)
	for _, v := range results.Verdicts {
		page.VerdictOptions = append(page.VerdictOptions, htmlOption{Value: string(v), Label: string(v)})
	}
	page.VerdictOptions = append(page.VerdictOptions,
		htmlOption{Value: "failing", Label: "failing (FAILED or bad close)"},
		htmlOption{Value: "unexpected", Label: "unexpected failure"},
		htmlOption{Value: "dev", Label: "known deviation"},
		htmlOption{Value: "close", Label: "close not OK"},
		htmlOption{Value: "differs", Label: "differs between targets"},
	)
	if err := tmpl.Execute(w, &page); err != nil {
		return fmt.Errorf("render html report: %w", err)
	}
	return nil
}

type htmlPage struct {
	Title        string
	Generated    string
	GeneratedISO string
	CSS          template.CSS
	JS           template.JS
	Sources      []string

	Conformance    []htmlRun
	Families       []string
	VerdictOptions []htmlOption
	Load           []htmlLoadGroup
	// WireTrimmed counts cases whose wire log was shortened.
	WireTrimmed int

	// Data is the document the script reads case details from; the
	// template writes it as JSON inside <script type="application/json">,
	// where html/template escapes it for that context.
	Data *htmlData
}

type htmlOption struct{ Value, Label string }

// htmlRun is one conformance run's matrix.
type htmlRun struct {
	Index      int
	Heading    string
	Started    string
	Duration   string
	Incomplete bool
	// Seed replays the run's keys (results.Run.Seed).
	Seed string
	// Skipped lists targets and families that did not run, with why.
	Skipped  []string
	Targets  []htmlTarget
	Families []htmlFamily
	Cases    int
	Legend   []htmlCount
}

type htmlTarget struct {
	Index                         int
	Name, URL, Agent, Library     string
	Role                          wire.Role
	Color                         string
	Cases                         int
	Counts                        []htmlCount // per behaviour verdict, report order
	CloseNotOK, Unexpected, Known int
}

type htmlCount struct {
	Verdict results.Verdict
	Class   string
	N       int
}

type htmlFamily struct {
	Name   string
	Cases  int
	Counts [][]htmlCount // per target, the verdicts it has in this family
	Rows   []htmlRow
}

type htmlRow struct {
	ID      string
	Title   string
	Differs bool
	Cells   []htmlCell
}

type htmlCell struct {
	Present    bool
	ElemID     string
	Run        int
	TI         int
	Case       string
	Target     string
	Family     string
	Verdict    results.Verdict
	Close      results.CloseVerdict
	Class      string
	Label      string
	CloseClass string
	CloseMark  string
	Deviation  string
	Unexpected bool
	Tip        string
}

// The JSON document for the script. Case descriptions are kept once per
// run; wire log entries are arrays: [t_ms, dir, note] for harness events
// and [t_ms, dir, note, fin, rsv, opcode, op, masked, mask_key, len,
// payload_hex, payload_text, truncated] for frames.
type htmlData struct {
	Runs []htmlJSRun `json:"runs"`
}

type htmlJSRun struct {
	Cases   map[string]*htmlJSMeta `json:"cases"`
	Targets []htmlJSTarget         `json:"targets"`
}

type htmlJSMeta struct {
	Family      string `json:"family"`
	Title       string `json:"title"`
	RFC         string `json:"rfc"`
	Description string `json:"desc,omitempty"`
	Expectation string `json:"expect"`
}

type htmlJSTarget struct {
	Name    string                    `json:"name"`
	URL     string                    `json:"url"`
	Agent   string                    `json:"agent"`
	Library string                    `json:"library,omitempty"`
	Role    wire.Role                 `json:"role"`
	Out     map[string]*htmlJSOutcome `json:"out"`
}

type htmlJSOutcome struct {
	Verdict    results.Verdict      `json:"v"`
	Close      results.CloseVerdict `json:"c"`
	Code       *int                 `json:"code"`
	Reason     string               `json:"reason"`
	DurationMS float64              `json:"ms"`
	Observed   string               `json:"obs"`
	Events     []string             `json:"ev"`
	Deviation  string               `json:"dev,omitempty"`
	Request    string               `json:"req"`
	Response   string               `json:"resp"`
	Wire       [][]any              `json:"wire"`
	// WireOmitted counts wire log entries left out to bound the file size.
	WireOmitted int         `json:"wire_omitted,omitempty"`
	Meta        *htmlJSMeta `json:"meta,omitempty"` // only when it differs from the run's
	Cell        string      `json:"cell"`
}

var htmlVerdictClass = map[results.Verdict]string{
	results.OK:            "v-ok",
	results.NonStrict:     "v-ns",
	results.Informational: "v-info",
	results.Unimplemented: "v-unimpl",
	results.Failed:        "v-failed",
}

var htmlVerdictLabel = map[results.Verdict]string{
	results.OK:            "OK",
	results.NonStrict:     "NS",
	results.Informational: "INFO",
	results.Unimplemented: "UNIMPL",
	results.Failed:        "FAIL",
}

var htmlCloseClass = map[results.CloseVerdict]string{
	results.CloseWrongCode: "cm-wrong",
	results.CloseUnclean:   "cm-unclean",
	results.CloseFailed:    "cm-failed",
}

var htmlCloseMark = map[results.CloseVerdict]string{
	results.CloseWrongCode: "W",
	results.CloseUnclean:   "U",
	results.CloseFailed:    "F",
}

func htmlClassOf(verdict results.Verdict) string {
	if c, ok := htmlVerdictClass[verdict]; ok {
		return c
	}
	return "v-other"
}

func htmlLabelOf(verdict results.Verdict) string {
	if l, ok := htmlVerdictLabel[verdict]; ok {
		return l
	}
	if verdict == "" {
		return "?"
	}
	return string(verdict)
}

// htmlColors gives every target of the input a colour, by sorted name, so
// a target has the same colour in every chart whatever the file order.
func htmlColors(in Input) map[string]string {
	seen := map[string]bool{}
	var names []string
	add := func(n string) {
		if !seen[n] {
			seen[n] = true
			names = append(names, n)
		}
	}
	for _, r := range in.Load {
		if r != nil {
			add(r.Target)
		}
	}
	for _, run := range in.Conformance {
		for _, t := range run.Targets {
			add(t.Name)
		}
	}
	sort.Strings(names)
	out := make(map[string]string, len(names))
	for i, n := range names {
		out[n] = svgPalette[i%len(svgPalette)]
	}
	return out
}

// htmlElemID makes an id-safe token of a case ID: "1.2.3" → "1_2_3".
func htmlElemID(s string) string {
	var b strings.Builder
	for _, r := range s {
		switch {
		case r >= 'a' && r <= 'z', r >= 'A' && r <= 'Z', r >= '0' && r <= '9', r == '-':
			b.WriteRune(r)
		case r == '.':
			b.WriteByte('_')
		default:
			fmt.Fprintf(&b, "x%x", r)
		}
	}
	return b.String()
}

func htmlConformance(ri int, run results.Run, nruns int, colors map[string]string) (htmlRun, htmlJSRun) {
	view := htmlRun{Index: ri, Heading: "Conformance", Incomplete: run.Incomplete, Seed: run.Seed}
	if nruns > 1 {
		view.Heading = fmt.Sprintf("Conformance run %d of %d", ri+1, nruns)
	}
	if !run.Started.IsZero() {
		view.Started = run.Started.UTC().Format("2006-01-02 15:04:05 UTC")
	}
	view.Duration = (time.Duration(run.DurationMS) * time.Millisecond).String()
	for _, t := range run.Targets {
		if t.Unavailable != "" {
			view.Skipped = append(view.Skipped, "target "+t.Name+": "+t.Unavailable)
		}
		if line := notRunLine(t); line != "" {
			view.Skipped = append(view.Skipped, "target "+t.Name+": "+line)
		}
	}
	for _, fam := range sortedKeys(run.SkippedFamilies) {
		view.Skipped = append(view.Skipped, "family "+fam+": skipped, "+run.SkippedFamilies[fam])
	}
	data := htmlJSRun{Cases: map[string]*htmlJSMeta{}}

	// The union of case IDs over targets, with the first description seen.
	var ids []string
	byTarget := make([]map[string]*results.Case, len(run.Targets))
	for ti := range run.Targets {
		t := &run.Targets[ti]
		byTarget[ti] = map[string]*results.Case{}
		for ci := range t.Cases {
			c := &t.Cases[ci]
			if _, dup := byTarget[ti][c.ID]; dup {
				continue
			}
			byTarget[ti][c.ID] = c
			if _, ok := data.Cases[c.ID]; !ok {
				data.Cases[c.ID] = htmlMetaOf(c)
				ids = append(ids, c.ID)
			}
		}
	}
	sort.SliceStable(ids, func(i, j int) bool {
		if results.LessID(ids[i], ids[j]) {
			return true
		}
		if results.LessID(ids[j], ids[i]) {
			return false
		}
		return ids[i] < ids[j]
	})
	view.Cases = len(ids)

	for ti, t := range run.Targets {
		tv := htmlTarget{Index: ti, Name: t.Name, URL: t.URL, Agent: t.Agent, Library: t.Library, Role: t.Role, Color: colors[t.Name], Cases: len(t.Cases)}
		counts := map[results.Verdict]int{}
		for _, c := range t.Cases {
			counts[c.Verdict]++
			if c.CloseVerdict != results.CloseOK {
				tv.CloseNotOK++
			}
			switch {
			case c.Unexpected():
				tv.Unexpected++
			case c.Failing():
				tv.Known++
			}
		}
		tv.Counts = htmlCountsOf(counts, true)
		view.Targets = append(view.Targets, tv)
		data.Targets = append(data.Targets, htmlJSTarget{Name: t.Name, URL: t.URL, Agent: t.Agent, Library: t.Library, Role: t.Role, Out: map[string]*htmlJSOutcome{}})
	}
	for _, v := range results.Verdicts {
		view.Legend = append(view.Legend, htmlCount{Verdict: v, Class: htmlClassOf(v)})
	}

	famIndex := map[string]int{}
	usedIDs := map[string]bool{}
	for _, id := range ids {
		meta := data.Cases[id]
		fi, ok := famIndex[meta.Family]
		if !ok {
			fi = len(view.Families)
			famIndex[meta.Family] = fi
			view.Families = append(view.Families, htmlFamily{Name: meta.Family, Counts: make([][]htmlCount, len(run.Targets))})
		}
		fam := &view.Families[fi]
		fam.Cases++
		row := htmlRow{ID: id, Title: meta.Title}
		first := ""
		for ti, t := range run.Targets {
			c := byTarget[ti][id]
			if c == nil {
				row.Cells = append(row.Cells, htmlCell{Present: false, Tip: t.Name + ": case " + id + " was not run"})
				row.Differs = true
				continue
			}
			elem := fmt.Sprintf("c%d-%d-%s", ri, ti, htmlElemID(id))
			for n := 2; usedIDs[elem]; n++ {
				elem = fmt.Sprintf("c%d-%d-%s-%d", ri, ti, htmlElemID(id), n)
			}
			usedIDs[elem] = true
			cell := htmlCell{
				Present: true, ElemID: elem, Run: ri, TI: ti, Case: id, Target: t.Name, Family: meta.Family,
				Verdict: c.Verdict, Close: c.CloseVerdict, Class: htmlClassOf(c.Verdict), Label: htmlLabelOf(c.Verdict),
				CloseClass: htmlCloseClass[c.CloseVerdict], CloseMark: htmlCloseMark[c.CloseVerdict],
				Deviation: c.Deviation, Unexpected: c.Unexpected(),
			}
			tip := fmt.Sprintf("%s · %s: %s, close %s", t.Name, id, c.Verdict, c.CloseVerdict)
			if c.Deviation != "" {
				tip += " · known deviation: " + c.DeviationText()
			}
			cell.Tip = tip
			row.Cells = append(row.Cells, cell)
			key := string(c.Verdict) + "/" + string(c.CloseVerdict)
			if first == "" {
				first = key
			} else if key != first {
				row.Differs = true
			}
			out := htmlOutcomeOf(c, elem)
			if m := htmlMetaOf(c); *m != *meta {
				out.Meta = m
			}
			data.Targets[ti].Out[id] = out
		}
		fam.Rows = append(fam.Rows, row)
	}
	for fi := range view.Families {
		fam := &view.Families[fi]
		for ti := range run.Targets {
			counts := map[results.Verdict]int{}
			for _, row := range fam.Rows {
				if c := row.Cells[ti]; c.Present {
					counts[c.Verdict]++
				}
			}
			fam.Counts[ti] = htmlCountsOf(counts, false)
		}
	}
	return view, data
}

// htmlCountsOf lists verdict counts in report order, then any unknown
// verdicts by name; zero counts only when all is set.
func htmlCountsOf(counts map[results.Verdict]int, all bool) []htmlCount {
	var out []htmlCount
	known := map[results.Verdict]bool{}
	for _, v := range results.Verdicts {
		known[v] = true
		if n := counts[v]; n > 0 || all {
			out = append(out, htmlCount{Verdict: v, Class: htmlClassOf(v), N: n})
		}
	}
	var other []results.Verdict
	for v := range counts {
		if !known[v] {
			other = append(other, v)
		}
	}
	slices.Sort(other)
	for _, v := range other {
		out = append(out, htmlCount{Verdict: v, Class: htmlClassOf(v), N: counts[v]})
	}
	return out
}

func htmlMetaOf(c *results.Case) *htmlJSMeta {
	return &htmlJSMeta{Family: c.Family, Title: c.Title, RFC: c.RFC, Description: c.Description, Expectation: c.Expectation}
}

func htmlOutcomeOf(c *results.Case, elem string) *htmlJSOutcome {
	out := &htmlJSOutcome{
		Verdict: c.Verdict, Close: c.CloseVerdict, Code: c.RemoteCloseCode, Reason: c.RemoteCloseReason,
		DurationMS: c.DurationMS, Observed: c.Observed, Events: c.Events, Deviation: c.DeviationText(),
		Request: c.Handshake.Request, Response: c.Handshake.Response, Cell: elem,
		Wire: make([][]any, 0, len(c.Wirelog)),
	}
	if out.Events == nil {
		out.Events = []string{}
	}
	for _, w := range c.Wirelog {
		if f := w.Frame; f != nil {
			out.Wire = append(out.Wire, []any{w.AtMS, w.Dir, w.Note, htmlBit(f.Fin), f.RSV, f.Opcode, f.OpName,
				htmlBit(f.Masked), f.Key, f.Length, f.PayloadHex, f.PayloadText, htmlBit(f.Truncated)})
		} else {
			out.Wire = append(out.Wire, []any{w.AtMS, w.Dir, w.Note})
		}
	}
	return out
}

func htmlBit(b bool) int {
	if b {
		return 1
	}
	return 0
}

// htmlWireBudget bounds the JSON bytes of all wire logs in a report. Real
// runs stay far below it (a 6-target run of 280 cases has about 2 MB);
// it only bites when a target makes every case log its full 300 entries.
const htmlWireBudget = 10 << 20

// htmlTrimWire shortens wire logs when together they would exceed budget
// bytes of JSON. Every log keeps its first and last entries up to a cap
// that is the same for all cases, and twice that for cases that are not
// OK, with one entry in the middle saying how many were left out. It
// returns the number of cases shortened.
func htmlTrimWire(d *htmlData, budget int) int {
	type ref struct {
		out   *htmlJSOutcome
		sizes []int
		mult  int
	}
	var refs []ref
	total, longest := 0, 0
	for _, run := range d.Runs {
		for _, t := range run.Targets {
			ids := make([]string, 0, len(t.Out))
			for id := range t.Out {
				ids = append(ids, id)
			}
			sort.Strings(ids) // deterministic order
			for _, id := range ids {
				o := t.Out[id]
				r := ref{out: o, sizes: make([]int, len(o.Wire)), mult: 1}
				if o.Verdict != results.OK || o.Close != results.CloseOK {
					r.mult = 2
				}
				for i, w := range o.Wire {
					r.sizes[i] = htmlJSONLen(w) + 1
					total += r.sizes[i]
				}
				longest = max(longest, len(o.Wire))
				refs = append(refs, r)
			}
		}
	}
	if total <= budget {
		return 0
	}
	kept := func(r ref, limit int) (head, tail int) {
		n := len(r.sizes)
		if limit*r.mult >= n {
			return n, 0
		}
		k := limit * r.mult
		return (k + 1) / 2, k / 2
	}
	cost := func(limit int) int {
		sum := 0
		for _, r := range refs {
			head, tail := kept(r, limit)
			for _, s := range r.sizes[:head] {
				sum += s
			}
			for _, s := range r.sizes[len(r.sizes)-tail:] {
				sum += s
			}
		}
		return sum
	}
	// The largest per-case cap that fits; at least 2 entries.
	lo, hi := 2, longest
	for lo < hi {
		mid := (lo + hi + 1) / 2
		if cost(mid) <= budget {
			lo = mid
		} else {
			hi = mid - 1
		}
	}
	trimmed := 0
	for _, r := range refs {
		head, tail := kept(r, lo)
		n := len(r.out.Wire)
		if head+tail >= n {
			continue
		}
		omitted := n - head - tail
		at := r.out.Wire[head][0]
		w := make([][]any, 0, head+tail+1)
		w = append(w, r.out.Wire[:head]...)
		w = append(w, []any{at, wire.HarnessEvent, fmt.Sprintf("… %d entries left out of this report to bound its size; results.json has them all", omitted)})
		w = append(w, r.out.Wire[n-tail:]...)
		r.out.Wire = w
		r.out.WireOmitted = omitted
		trimmed++
	}
	return trimmed
}

// htmlJSONLen estimates the length of v as encoding/json writes it (with
// HTML escaping), for the values a wire entry holds.
func htmlJSONLen(v any) int {
	switch v := v.(type) {
	case []any:
		n := 1 + len(v)
		for _, e := range v {
			n += htmlJSONLen(e)
		}
		return n
	case string:
		n := 2
		for i := 0; i < len(v); {
			c := v[i]
			if c < utf8.RuneSelf {
				switch {
				case c == '"' || c == '\\':
					n += 2
				case c < 0x20 || c == '<' || c == '>' || c == '&':
					n += 6
				default:
					n++
				}
				i++
				continue
			}
			r, size := utf8.DecodeRuneInString(v[i:])
			switch {
			case r == 0x2028 || r == 0x2029 || (r == utf8.RuneError && size == 1):
				n += 6
			default:
				n += size
			}
			i += size
		}
		return n
	case float64:
		return len(strconv.FormatFloat(v, 'g', -1, 64))
	case int:
		return len(strconv.Itoa(v))
	case uint64:
		return len(strconv.FormatUint(v, 10))
	}
	b, _ := json.Marshal(v)
	return len(b)
}
