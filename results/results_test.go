package results

import (
	"sort"
	"strings"
	"testing"
	"time"
)

func TestLessIDSortsNumerically(t *testing.T) {
	ids := []string{"6.10.1", "100.1", "6.2.1", "0.10", "6.1.3", "0.2", "10.1.1", "6.1.10"}
	sort.Slice(ids, func(i, j int) bool { return LessID(ids[i], ids[j]) })
	want := []string{"0.2", "0.10", "6.1.3", "6.1.10", "6.2.1", "6.10.1", "10.1.1", "100.1"}
	for i := range want {
		if ids[i] != want[i] {
			t.Fatalf("sorted %v, want %v", ids, want)
		}
	}
}

func TestRoundTripAndSchemaCheck(t *testing.T) {
	code := 1002
	in := Run{Schema: Schema, Started: time.Date(2026, 11, 21, 0, 0, 0, 0, time.UTC), Targets: []Target{{
		Name: "t", Cases: []Case{{ID: "2.5", Verdict: OK, CloseVerdict: CloseOK, RemoteCloseCode: &code}},
	}}}
	in.Targets[0].Summarize()
	b, err := Marshal(in)
	if err != nil {
		t.Fatal(err)
	}
	out, err := Unmarshal(b)
	if err != nil {
		t.Fatal(err)
	}
	if got := out.Targets[0].Cases[0].RemoteCloseCode; got == nil || *got != 1002 || out.Targets[0].Summary[OK] != 1 {
		t.Fatalf("round trip lost data: %+v", out.Targets[0])
	}
	if _, err := Unmarshal([]byte(`{"schema":"wsharness.conformance/v0"}`)); err == nil {
		t.Fatal("an unknown schema was accepted")
	}
	if _, err := Unmarshal([]byte(`{"schema":`)); err == nil {
		t.Fatal("truncated JSON was accepted")
	}
}

func TestFailing(t *testing.T) {
	for _, tc := range []struct {
		c    Case
		want bool
	}{
		{Case{Verdict: OK, CloseVerdict: CloseOK}, false},
		{Case{Verdict: NonStrict, CloseVerdict: CloseWrongCode}, false},
		{Case{Verdict: Informational, CloseVerdict: CloseOK}, false},
		{Case{Verdict: Failed, CloseVerdict: CloseOK}, true},
		{Case{Verdict: OK, CloseVerdict: CloseUnclean}, true},
		{Case{Verdict: OK, CloseVerdict: CloseFailed}, true},
	} {
		if got := tc.c.Failing(); got != tc.want {
			t.Errorf("%s/%s: Failing = %v", tc.c.Verdict, tc.c.CloseVerdict, got)
		}
	}
}

func TestVerdictsOutsideTheVocabularyRefused(t *testing.T) {
	doc := func(verdict, closeVerdict string) []byte {
		return []byte(`{"schema": "wsharness.conformance/v1", "targets": [{"name": "gorilla", "cases": [` +
			`{"id": "1.1.1", "verdict": "` + verdict + `", "close_verdict": "` + closeVerdict + `"}]}]}`)
	}
	for _, tc := range []struct {
		verdict, closeVerdict, wantErr string
	}{
		{"OK", "WRONG CODE", ""},
		{"UNIMPLEMENTED", "UNCLEAN", ""},
		// A case the harness could not start has no verdict.
		{"", "", ""},
		{"PASSED", "OK", `target "gorilla", case 1.1.1: verdict "PASSED" is not one of OK, NON-STRICT, INFORMATIONAL, UNIMPLEMENTED, FAILED`},
		{"OK", "CLEAN", `target "gorilla", case 1.1.1: close verdict "CLEAN" is not one of OK, WRONG CODE, UNCLEAN, FAILED`},
		{"ok", "OK", `verdict "ok" is not one of`},
	} {
		_, err := Unmarshal(doc(tc.verdict, tc.closeVerdict))
		switch {
		case tc.wantErr == "" && err != nil:
			t.Errorf("%q/%q refused: %v", tc.verdict, tc.closeVerdict, err)
		case tc.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tc.wantErr)):
			t.Errorf("%q/%q: error %v, want one with %q", tc.verdict, tc.closeVerdict, err, tc.wantErr)
		}
	}
	summary := []byte(`{"schema": "wsharness.conformance/v1", "targets": [{"name": "x", "summary": {"GOOD": 1}, "cases": []}]}`)
	if _, err := Unmarshal(summary); err == nil || !strings.Contains(err.Error(), `summary verdict "GOOD"`) {
		t.Errorf("a summary counting an unknown verdict: %v", err)
	}
}
