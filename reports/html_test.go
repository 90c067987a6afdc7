package reports

import (
	"encoding/json"
	"fmt"
	"html"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/wsharness/wsharness/internal/testtext"
	"github.com/wsharness/wsharness/loadgen"
	"github.com/wsharness/wsharness/loadgen/metrics/metricstest"
	"github.com/wsharness/wsharness/results"
	"github.com/wsharness/wsharness/wire"
)

const (
	htmlXSSScript   = `<script>alert(1)</script>`
	htmlXSSImg      = `<img src=x onerror=alert(1)>`
	htmlXSSBreakout = `</script><script>alert(2)</script>`
	htmlXSSURL      = `https://evil.example/x.js http://evil.example/`
)

// htmlHostile joins every probe, as a malicious target could send it.
const htmlHostile = htmlXSSScript + htmlXSSImg + htmlXSSBreakout + `"' ` + htmlXSSURL + "\u2028"

func htmlHostileRun() results.Run {
	code := 4000
	mk := func(id, family string, verdict results.Verdict, closeVerdict results.CloseVerdict) results.Case {
		return results.Case{
			ID: id, Family: family, Title: "title " + htmlHostile, RFC: "RFC 6455 §5.2 " + htmlHostile,
			Description: "desc " + htmlHostile, Expectation: "expect " + htmlHostile,
			Verdict: verdict, CloseVerdict: closeVerdict,
			RemoteCloseCode: &code, RemoteCloseReason: htmlHostile,
			Observed: "observed " + htmlHostile, Events: []string{"text(5) " + htmlHostile},
			Deviation: "deviation " + htmlHostile,
			Wirelog: []wire.Entry{
				{AtMS: 0.1, Dir: "--", Note: "note " + htmlHostile},
				{AtMS: 0.2, Dir: "tx", Frame: &wire.FrameInfo{Fin: true, Opcode: 1, OpName: "text", Masked: true, Key: htmlHostile, Length: 5, PayloadHex: "3c73", PayloadText: htmlHostile}},
				{AtMS: 0.3, Dir: "rx", Frame: &wire.FrameInfo{Fin: true, Opcode: 8, OpName: "close" + htmlHostile, Length: 2, PayloadHex: "0fa0", PayloadText: htmlHostile, Truncated: true}, Note: htmlHostile},
			},
			Handshake: results.Handshake{Request: "GET / HTTP/1.1\r\nX: " + htmlHostile, Response: "HTTP/1.1 101 Switching Protocols\r\nServer: " + htmlHostile},
		}
	}
	a := results.Target{Name: "evil" + htmlHostile, URL: "ws://127.0.0.1:1/" + htmlHostile, Agent: htmlHostile, Library: htmlHostile, Cases: []results.Case{
		mk("1.1.1", "framing", results.OK, results.CloseOK),
		mk("1.1.2", "framing", results.Failed, results.CloseUnclean),
		mk("2.1", "pingpong"+htmlHostile, results.NonStrict, results.CloseWrongCode),
		mk("9.9"+htmlHostile, "odd", results.Informational, results.CloseFailed),
	}}
	b := results.Target{Name: "second", URL: "ws://127.0.0.1:2/echo", Agent: "second", Cases: []results.Case{
		mk("1.1.1", "framing", results.OK, results.CloseOK),
		mk("2.1", "pingpong"+htmlHostile, results.Unimplemented, results.CloseOK),
		mk("3.1", "reserved", results.Failed, results.CloseOK),
	}}
	a.Summarize()
	b.Summarize()
	return results.Run{Schema: results.Schema, Started: time.Date(2026, 11, 21, 12, 0, 0, 0, time.UTC), DurationMS: 1234, Targets: []results.Target{a, b}}
}

func htmlHostileLoad(t *testing.T) *loadgen.Result {
	var values []int64
	for v := int64(100); v < 5000; v += 7 {
		values = append(values, v)
	}
	enc := metricstest.Encoded(t, values...)
	p := &loadgen.Percentiles{Count: int64(len(values)), P50: 2500, P90: 4500, P99: 4950, P999: 4990, Max: 4999}
	return &loadgen.Result{
		Schema: loadgen.Schema, Scenario: loadgen.ScenarioEcho, Target: "load" + htmlHostile, URL: "ws://x/" + htmlHostile,
		Params:      loadgen.Params{Conns: 10, Rate: 100, Size: 64, DurationMS: 1000},
		Connections: loadgen.Connections{Target: 10, Established: 9, Failed: 1, Failures: map[string]int{htmlHostile: 1}},
		Messages:    &loadgen.Messages{Sent: 100, Received: 100}, ThroughputPerS: 100, LatencyUS: p,
		Timeline:   []loadgen.Second{{T: 1, Phase: htmlHostile, Conns: 10, Sent: 100, Received: 100, P50US: 2000, P99US: 4900}},
		Histograms: map[string]string{"latency_us": enc, "service_time_us": htmlHostile},
		Thresholds: []loadgen.ThresholdResult{{Expr: htmlHostile, Value: 1, Passed: false}},
		// A result file can say anything, the generator's details too.
		Generator: &loadgen.Generator{CPUCores: 2, Cores: 2, Limited: []loadgen.Limit{{Cause: loadgen.LimitCPU, Detail: "busy " + htmlHostile}}},
	}
}

func htmlRenderHostile(t *testing.T) ([]byte, Input) {
	t.Helper()
	in := Input{Conformance: []results.Run{htmlHostileRun()}, Load: []*loadgen.Result{htmlHostileLoad(t)}, Sources: []string{"/tmp/" + htmlHostile + ".json"}}
	out, err := HTML.Render(in, Options{Title: "report " + htmlHostile, Generated: time.Date(2026, 11, 21, 12, 0, 0, 0, time.UTC)})
	if err != nil {
		t.Fatal(err)
	}
	return out, in
}

var (
	htmlTagRE  = regexp.MustCompile(`<([a-zA-Z][a-zA-Z0-9-]*)((?:\s+[a-zA-Z][a-zA-Z0-9:-]*(?:="[^"]*")?)*)\s*/?>`)
	htmlAttrRE = regexp.MustCompile(`\s+([a-zA-Z][a-zA-Z0-9:-]*)(?:="([^"]*)")?`)
)

type htmlTag struct {
	name  string
	attrs map[string]string
}

// htmlOutsideScripts removes the contents of script and style elements, so
// that what is left is markup and text.
func htmlOutsideScripts(t *testing.T, doc string) string {
	t.Helper()
	var b strings.Builder
	for {
		i := strings.Index(doc, "<script")
		if i < 0 {
			b.WriteString(doc)
			break
		}
		j := strings.Index(doc[i:], ">")
		k := strings.Index(doc[i:], "</script>")
		if j < 0 || k < 0 {
			t.Fatalf("unterminated script element at %d", i)
		}
		b.WriteString(doc[:i+j+1])
		doc = doc[i+k:]
	}
	return b.String()
}

func htmlTagsOf(t *testing.T, doc string) []htmlTag {
	var out []htmlTag
	for _, m := range htmlTagRE.FindAllStringSubmatch(htmlOutsideScripts(t, doc), -1) {
		tag := htmlTag{name: strings.ToLower(m[1]), attrs: map[string]string{}}
		for _, a := range htmlAttrRE.FindAllStringSubmatch(m[2], -1) {
			tag.attrs[strings.ToLower(a[1])] = html.UnescapeString(a[2])
		}
		out = append(out, tag)
	}
	return out
}

func TestHTMLEscapesTargetData(t *testing.T) {
	out, in := htmlRenderHostile(t)
	doc := string(out)
	for _, raw := range []string{htmlXSSScript, htmlXSSImg, htmlXSSBreakout, "<script>alert", "<img"} {
		if strings.Contains(doc, raw) {
			i := strings.Index(doc, raw)
			t.Errorf("output contains raw %q: …%s…", raw, doc[max(0, i-80):min(len(doc), i+80)])
		}
	}
	// U+2028 ends a line in old JavaScript parsers; the data must not hold it raw.
	if strings.Contains(doc[strings.Index(doc, "<script"):], "\u2028") {
		t.Error("raw U+2028 inside a script element")
	}
	// Only our two script elements; one style element.
	if n := strings.Count(doc, "<script"); n != 2 {
		t.Errorf("%d <script elements, want 2 (data and code)", n)
	}
	if n := strings.Count(doc, "</script"); n != 2 {
		t.Errorf("%d </script sequences, want 2", n)
	}
	if n := strings.Count(strings.ToLower(doc), "<style"); n != 1 {
		t.Errorf("%d <style elements, want 1", n)
	}
	// The escaped forms are there.
	for _, esc := range []string{"&lt;script&gt;alert(1)&lt;/script&gt;", "&lt;img src=x onerror=alert(1)&gt;", `\u003c/script\u003e\u003cscript\u003ealert(2)`} {
		if !strings.Contains(doc, esc) {
			t.Errorf("output lacks the escaped form %q", esc)
		}
	}

	// Markup: only the elements the template writes; no event handler
	// attributes, no style attributes, nothing that loads a resource.
	allowed := map[string]bool{}
	for _, n := range strings.Fields("html head meta title style body header h1 h2 h3 h4 p time nav ul li a main section form label select option input button span div table thead tbody tr th td svg rect strong figure text line g path circle details summary aside pre ol footer script") {
		allowed[n] = true
	}
	for _, tag := range htmlTagsOf(t, doc) {
		if !allowed[tag.name] {
			t.Errorf("unexpected element <%s>", tag.name)
		}
		for name, v := range tag.attrs {
			switch {
			case strings.HasPrefix(name, "on"):
				t.Errorf("<%s> has an event handler attribute %s=%q", tag.name, name, v)
			case name == "style" || name == "src" || name == "action" || name == "formaction" || name == "srcset" || name == "xlink:href" || name == "background" || name == "poster":
				t.Errorf("<%s> has attribute %s=%q", tag.name, name, v)
			case name == "href" && !strings.HasPrefix(v, "#"):
				t.Errorf("<%s> links outside the page: href=%q", tag.name, v)
			}
		}
	}
	if strings.Contains(doc, "url(") || strings.Contains(doc, "@import") {
		t.Error("the CSS refers to a resource")
	}
	// URLs from target data only appear as escaped text, never as a
	// reference: every occurrence is in text or in a non-URL attribute.
	for _, proto := range []string{"http://", "https://"} {
		for i := 0; ; {
			j := strings.Index(doc[i:], proto)
			if j < 0 {
				break
			}
			i += j + len(proto)
			before := doc[max(0, i-len(proto)-12) : i-len(proto)]
			for _, ref := range []string{`src="`, `href="`, `url(`, `action="`} {
				if strings.HasSuffix(before, ref) {
					t.Errorf("%s used as a reference: …%s…", proto, doc[max(0, i-40):min(len(doc), i+20)])
				}
			}
		}
	}

	// Every case of every target is a cell, identified by its data
	// attributes, and nothing else carries both.
	want := map[[2]string]bool{}
	for _, tg := range in.Conformance[0].Targets {
		for _, c := range tg.Cases {
			want[[2]string{tg.Name, c.ID}] = true
		}
	}
	got := map[[2]string]bool{}
	ids := map[string]bool{}
	for _, tag := range htmlTagsOf(t, doc) {
		c, hasCase := tag.attrs["data-case"]
		tg, hasTarget := tag.attrs["data-target"]
		if !hasCase || !hasTarget {
			continue
		}
		if tag.name != "td" || !strings.Contains(tag.attrs["class"], "cell") {
			t.Errorf("<%s class=%q> carries data-case and data-target", tag.name, tag.attrs["class"])
		}
		key := [2]string{tg, c}
		if got[key] {
			t.Errorf("two cells for %q", key)
		}
		got[key] = true
		if ids[tag.attrs["id"]] || tag.attrs["id"] == "" {
			t.Errorf("cell %q: id %q missing or not unique", key, tag.attrs["id"])
		}
		ids[tag.attrs["id"]] = true
		for _, a := range []string{"data-verdict", "data-family", "data-run", "data-ti", "data-close"} {
			if _, ok := tag.attrs[a]; !ok {
				t.Errorf("cell %q lacks %s", key, a)
			}
		}
	}
	for k := range want {
		if !got[k] {
			t.Errorf("no cell for target %q case %q", k[0], k[1])
		}
	}
	if len(got) != len(want) {
		t.Errorf("%d cells, want %d", len(got), len(want))
	}

	// The data for the script survives intact.
	data := htmlScriptData(t, doc)
	o := data.Runs[0].Targets[0].Out["1.1.2"]
	if o == nil || o.Observed != "observed "+htmlHostile || o.Reason != htmlHostile || o.Request != "GET / HTTP/1.1\r\nX: "+htmlHostile {
		t.Errorf("case data did not round-trip: %+v", o)
	}
	if data.Runs[0].Targets[0].Name != "evil"+htmlHostile {
		t.Errorf("target name did not round-trip: %q", data.Runs[0].Targets[0].Name)
	}
}

// htmlScriptData extracts and decodes the JSON document of a report.
func htmlScriptData(t *testing.T, doc string) htmlData {
	t.Helper()
	const open = `<script type="application/json" id="report-data">`
	i := strings.Index(doc, open)
	if i < 0 {
		t.Fatal("no report-data script")
	}
	rest := doc[i+len(open):]
	j := strings.Index(rest, "</script>")
	if j < 0 {
		t.Fatal("report-data script not closed")
	}
	var d htmlData
	if err := json.Unmarshal([]byte(rest[:j]), &d); err != nil {
		t.Fatalf("report data is not JSON: %v", err)
	}
	return d
}

func TestHTMLStructure(t *testing.T) {
	out, _ := htmlRenderHostile(t)
	doc := string(out)
	testtext.Contains(t, "report", doc,
		`<aside id="detail" hidden`, `<table class="wirelog"`, `<svg class="chart"`,
		`id="f-family"`, `id="f-verdict"`, `id="f-case"`, `id="f-reset"`,
		`<table class="load-table sortable"`, `<td class="cell v-failed"`, `<span class="cm cm-unclean">`,
		`<span class="cm cm-wrong">`, `<span class="dev">`, `<td class="cell missing"`,
	)
	// A histogram that does not decode is reported, not fatal.
	if !strings.Contains(doc, "Percentile distribution") {
		t.Error("no percentile chart")
	}
}

func TestHTMLEmptyInput(t *testing.T) {
	out, err := HTML.Render(Input{}, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(out), "No results.") {
		t.Error("an empty report should say there are no results")
	}
	if d := htmlScriptData(t, string(out)); d.Runs == nil {
		t.Error("runs should be an empty list")
	}
}

func TestHTMLDeterministic(t *testing.T) {
	a, _ := htmlRenderHostile(t)
	for range 3 {
		b, _ := htmlRenderHostile(t)
		if string(a) != string(b) {
			t.Fatal("two renderings of the same input differ")
		}
	}
}

// htmlBigRun is a worst case for the file size: every case logs the full 300
// wire entries with 64-byte payloads that escape badly.
func htmlBigRun(targets, cases int) results.Run {
	payload := strings.Repeat("\x00<", 32)
	var run results.Run
	run.Schema = results.Schema
	for ti := range targets {
		tg := results.Target{Name: fmt.Sprintf("t%d", ti)}
		for ci := range cases {
			c := results.Case{ID: fmt.Sprintf("%d.%d", ci/20+1, ci%20+1), Family: fmt.Sprintf("fam%d", ci/20), Title: "a case title of some length",
				RFC: "RFC 6455 §5.2", Expectation: strings.Repeat("x", 200), Verdict: results.OK, CloseVerdict: results.CloseOK,
				Observed: strings.Repeat("o", 300), Handshake: results.Handshake{Request: strings.Repeat("r", 200), Response: strings.Repeat("s", 150)}}
			if ci%7 == 0 {
				c.Verdict = results.Failed
			}
			for w := range 300 {
				c.Wirelog = append(c.Wirelog, wire.Entry{AtMS: float64(w) * 1.234, Dir: "rx", Frame: &wire.FrameInfo{
					Fin: true, Opcode: 2, OpName: "binary", Length: 65536, PayloadHex: strings.Repeat("003c", 32), PayloadText: payload, Truncated: true}})
			}
			tg.Cases = append(tg.Cases, c)
		}
		tg.Summarize()
		run.Targets = append(run.Targets, tg)
	}
	return run
}

func TestHTMLSizeBound(t *testing.T) {
	targets, cases := 6, 280 // 1,680 case results
	if testing.Short() {
		targets = 2
	}
	in := Input{Conformance: []results.Run{htmlBigRun(targets, cases)}}
	out, err := HTML.Render(in, Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("%d case results with full wire logs: %d bytes", targets*cases, len(out))
	if len(out) > 15<<20 {
		t.Errorf("report is %d bytes, want at most 15 MiB", len(out))
	}
	d := htmlScriptData(t, string(out))
	o := d.Runs[0].Targets[0].Out["1.1"] // FAILED: keeps twice as much
	p := d.Runs[0].Targets[0].Out["1.2"] // OK
	if o.WireOmitted == 0 || p.WireOmitted == 0 || len(o.Wire) <= len(p.Wire) {
		t.Errorf("wire logs not trimmed as expected: failing case %d entries (%d left out), OK case %d (%d left out)",
			len(o.Wire), o.WireOmitted, len(p.Wire), p.WireOmitted)
	}
	if !strings.Contains(string(out), "shortened to keep this file small") {
		t.Error("the report does not say wire logs were shortened")
	}
}

func TestHTMLJSONLen(t *testing.T) {
	for _, v := range []any{
		[]any{1.5, "rx", "", 1, 0, 2, "binary", 0, "", uint64(65536), "003c", "\x00<>&\"\\\u2028é\xff", 1},
		[]any{0.001, "--", "TCP closed"},
		[]any{1e21, "tx", "x"},
	} {
		b, err := json.Marshal(v)
		if err != nil {
			t.Fatal(err)
		}
		if got := htmlJSONLen(v); got != len(b) {
			t.Errorf("htmlJSONLen(%v) = %d, json has %d: %s", v, got, len(b), b)
		}
	}
}

func TestHTMLTrimWireKeepsEnds(t *testing.T) {
	out := &htmlJSOutcome{Verdict: results.OK, Close: results.CloseOK}
	for i := range 100 {
		out.Wire = append(out.Wire, []any{float64(i), "rx", fmt.Sprint(i)})
	}
	d := &htmlData{Runs: []htmlJSRun{{Targets: []htmlJSTarget{{Out: map[string]*htmlJSOutcome{"1": out}}}}}}
	if n := htmlTrimWire(d, 1<<20); n != 0 {
		t.Fatalf("trimmed %d cases under budget", n)
	}
	if n := htmlTrimWire(d, 400); n != 1 {
		t.Fatalf("trimmed %d cases, want 1", n)
	}
	first, last := out.Wire[0], out.Wire[len(out.Wire)-1]
	if first[2] != "0" || last[2] != "99" {
		t.Errorf("trimming lost the ends: first %v last %v", first, last)
	}
	if out.WireOmitted+len(out.Wire)-1 != 100 {
		t.Errorf("%d kept + %d omitted != 100", len(out.Wire)-1, out.WireOmitted)
	}
}

func htmlRender(t *testing.T, load ...*loadgen.Result) string {
	t.Helper()
	out, err := HTML.Render(Input{Load: load}, Options{Title: "load", Generated: time.Date(2026, 11, 21, 12, 0, 0, 0, time.UTC)})
	if err != nil {
		t.Fatal(err)
	}
	return string(out)
}

func TestHTMLLoadGenerator(t *testing.T) {
	doc := html.UnescapeString(htmlRender(t,
		withGenerator(echoRate("gws", 4000, 700, 10000, 30000), 300, 1.95, cpuLimit, schedLimit),
		withGenerator(echoRate("gorilla", 4000, 500, 1000, 4000), 200, 0.8),
	))
	testtext.Contains(t, "report", doc,
		`<p class="warn"><strong>⚠ Generator-limited:</strong> gws: `+cpuLimit.Detail+"; "+schedLimit.Detail+
			"; the figures may describe the generator rather than the server.</p>",
		`gws <strong class="warn">⚠ generator-limited</strong></th>`,
		`>generator lag p99</th>`, `>generator CPU (cores)</th>`,
		`>300 µs</td>`, `>1.95 of 2 cores</td>`, `>0.80 of 2 cores</td>`,
	)
	if strings.Contains(doc, "gorilla <strong") || strings.Contains(doc, "gorilla: ") {
		t.Error("a run that kept up is marked generator-limited")
	}
	// Written before the generator reported on itself: no generator columns.
	if old := htmlRender(t, echoRate("gws", 4000, 700, 10000, 30000)); strings.Contains(old, "enerator-limited") || strings.Contains(old, "generator lag") || strings.Contains(old, ">generator CPU (cores)<") {
		t.Error("generator figures for a result without a generator section")
	}
}

var htmlGroupRE = regexp.MustCompile(`<section class="load-group" id="load-\d+" data-kind="([^"]*)">\n<h3>([^<]*)</h3>\n<p class="meta">([^<]*)</p>`)

// The HTML report takes each workload's kind, primary figure and order
// from loadgen.
func TestHTMLLoadFollowsLoadgen(t *testing.T) {
	rs := kindResults()
	doc := htmlRender(t, rs...)
	groups := htmlGroupRE.FindAllStringSubmatch(doc, -1)
	sorted := slices.SortedFunc(slices.Values(rs), loadgen.Compare)
	if len(groups) != len(sorted) {
		t.Fatalf("%d load groups, want %d", len(groups), len(sorted))
	}
	for i, r := range sorted {
		kind, label, params := groups[i][1], html.UnescapeString(groups[i][2]), html.UnescapeString(groups[i][3])
		if kind != string(r.Kind()) || label != ScenarioLabel(r) {
			t.Errorf("group %d: %s %q, want loadgen's order: %s %q", i, kind, label, r.Kind(), ScenarioLabel(r))
		}
		if !strings.Contains(params, r.Kind().Measures()) {
			t.Errorf("%s: %q does not say what its figure measures", label, params)
		}
	}
	closed := doc[strings.Index(doc, `data-kind="echo-closed"`):]
	closed = closed[:strings.Index(closed, "</table>")]
	if !strings.Contains(closed, `>service time p99</th>`) || !strings.Contains(closed, `data-v="120000">120 ms</td>`) || strings.Contains(closed, ">latency p99<") {
		t.Errorf("closed loop not led by its service time:\n%s", closed)
	}
	if !strings.Contains(doc, `data-kind="echo-rate"`) || strings.Contains(doc, `data-kind="echo"`) {
		t.Error(`the open-model echo is not of kind "echo-rate"`)
	}
}

// A run may judge servers and clients together: each target says which it
// is, in the summary, the matrix and the data the detail pane shows.
func TestHTMLMarksEachTargetsRole(t *testing.T) {
	okCase := results.Case{ID: "1.1.1", Family: "framing", Verdict: results.OK, CloseVerdict: results.CloseOK}
	run := results.Run{Schema: results.Schema, Targets: []results.Target{
		{Name: "srv", Cases: []results.Case{okCase}},
		{Name: "cli", Role: wire.Client, Cases: []results.Case{okCase}},
	}}
	out, err := HTML.Render(Input{Conformance: []results.Run{run}}, Options{})
	if err != nil {
		t.Fatal(err)
	}
	doc := string(out)
	testtext.Contains(t, "report", doc,
		`<td class="text role-server">server</td>`, `<td class="text role-client">client</td>`,
		`title="srv (server under test)"`, `title="cli (client under test)"`,
	)
	d := htmlScriptData(t, doc)
	if got := []wire.Role{d.Runs[0].Targets[0].Role, d.Runs[0].Targets[1].Role}; got[0] != wire.Server || got[1] != wire.Client {
		t.Errorf("report data roles %v, want server, client", got)
	}
}
