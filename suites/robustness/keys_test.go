package robustness_test

import (
	"fmt"
	"path/filepath"
	"reflect"
	"testing"
	"time"

	"github.com/wsharness/wsharness/conformance/cases"
	"github.com/wsharness/wsharness/internal/testtarget"
	"github.com/wsharness/wsharness/results"
	"github.com/wsharness/wsharness/targets"
	"github.com/wsharness/wsharness/wire"
)

// replaySeed is the seed the replayed runs are given.
const replaySeed = "00c0ffee0ddba11a"

// TestMaskingKeysAreFreshAndReplay runs the default profile (without the
// browser, whose masking is Chromium's) against the gorilla target three
// times, as make conformance URL=... does: twice with one seed, once
// without. It holds the client to RFC 6455 §5.3 and to replay:
//
//   - outside the masking family every masked frame in the wire logs has a
//     key of its own (a fixed key, as the client once used, fails this);
//   - the masking family still sends the keys it chose on purpose;
//   - results.json records the seed, and the run given it again sends the
//     same handshake requests and the same frames, keys included;
//   - a run without a seed picks a fresh one, and other keys.
func TestMaskingKeysAreFreshAndReplay(t *testing.T) {
	t.Parallel()
	if testing.Short() {
		t.Skip("runs the default profile against gorilla three times (about a minute)")
	}
	srv := testtarget.Start(t, "gorilla")
	ginkgo, suite, maxrss := buildSuite(t)
	dir := t.TempDir()
	const filter = "!profile:full && !family:browser"
	start := func(name string, extra ...string) <-chan suiteRun {
		extra = append(extra, "-wsh.time-scale=1")
		return startSuite(maxrss, ginkgo, suite, filepath.Join(dir, name), filter, "gorilla-keys", srv.URL(targets.EchoPath), 10*time.Minute, extra...)
	}
	first, replay, fresh := start("first", "-wsh.seed="+replaySeed), start("replay", "-wsh.seed="+replaySeed), start("fresh")
	runs := map[string]results.Run{}
	for name, ch := range map[string]<-chan suiteRun{"first": first, "replay": replay, "fresh": fresh} {
		r := <-ch
		if r.err != nil || r.code != 0 {
			t.Fatalf("run %s: exit %d, %v\n%s", name, r.code, r.err, tail(r.output))
		}
		run, err := results.ReadFile(filepath.Join(r.out, "results.json"))
		if err != nil {
			t.Fatal(err)
		}
		if len(run.Targets) != 1 || len(run.Targets[0].Cases) == 0 {
			t.Fatalf("run %s: no cases in results.json", name)
		}
		runs[name] = run
	}
	if got := runs["first"].Seed; got != replaySeed {
		t.Errorf("results.json records seed %q; the run was given %s", got, replaySeed)
	}
	if got := runs["fresh"].Seed; got == "" || got == replaySeed {
		t.Errorf("a run without -wsh.seed records seed %q; want a fresh one", got)
	}

	checkFreshKeys(t, runs["first"].Targets[0])
	checkReplay(t, runs["first"].Targets[0], runs["replay"].Targets[0])
	checkOtherKeys(t, runs["first"].Targets[0], runs["fresh"].Targets[0])
}

// txFrames returns the frames a case's wire log shows the client sending.
func txFrames(c results.Case) []wire.FrameInfo {
	var out []wire.FrameInfo
	for _, e := range c.Wirelog {
		if e.Dir == "tx" && e.Frame != nil {
			out = append(out, *e.Frame)
		}
	}
	return out
}

func checkFreshKeys(t *testing.T, tg results.Target) {
	t.Helper()
	seen := map[string]string{} // key -> first case using it
	frames, repeats := 0, 0
	for _, c := range tg.Cases {
		if c.Family == string(cases.FamilyMasking) {
			continue
		}
		for _, f := range txFrames(c) {
			if !f.Masked {
				continue
			}
			frames++
			if where, ok := seen[f.Key]; ok {
				repeats++
				t.Logf("key %s in case %s was used before in case %s", f.Key, c.ID, where)
				continue
			}
			seen[f.Key] = c.ID
		}
	}
	// 32-bit keys drawn at random repeat by chance: among 2,000 frames
	// about once in 2,000 runs. More than two repeats is not chance.
	if frames < 400 || repeats > 2 {
		t.Errorf("%d masked frames outside the masking family carry %d distinct keys; want (nearly) one key per frame", frames, len(seen))
	}
	t.Logf("%d masked frames outside the masking family, %d distinct keys", frames, len(seen))

	deliberate := map[string][]string{
		"100.7": {"00000000"}, "100.8": {"ffffffff"}, "100.9": {"01020304"},
		"100.10": {"deadbeef", "01000080", "7f7f7f7f"},
	}
	for _, c := range tg.Cases {
		want, ok := deliberate[c.ID]
		if !ok {
			continue
		}
		var got []string
		for _, f := range txFrames(c) {
			if f.OpName != "close" {
				got = append(got, f.Key)
			}
		}
		if !reflect.DeepEqual(got, want) {
			t.Errorf("case %s sent its message with keys %v; it chooses %v", c.ID, got, want)
		}
		delete(deliberate, c.ID)
	}
	if len(deliberate) > 0 {
		t.Errorf("masking cases missing from the run: %v", deliberate)
	}
}

// checkReplay compares what the client sent in two runs with one seed.
// Where the server fails a connection, whether the client's Close reply
// went out before TCP closed is the server's timing: one run's frames may
// then be the other's plus Close frames. Nothing else may differ.
func checkReplay(t *testing.T, a, b results.Target) {
	t.Helper()
	other := map[string]results.Case{}
	for _, c := range b.Cases {
		other[c.ID] = c
	}
	same, compared := 0, 0
	for _, ca := range a.Cases {
		cb, ok := other[ca.ID]
		if !ok {
			t.Errorf("case %s is missing from the replay", ca.ID)
			continue
		}
		compared++
		if ca.Handshake.Request != cb.Handshake.Request {
			t.Errorf("case %s: the replay sent another handshake request:\n%s\nversus\n%s", ca.ID, ca.Handshake.Request, cb.Handshake.Request)
			continue
		}
		fa, fb := txFrames(ca), txFrames(cb)
		short, long := fa, fb
		if len(short) > len(long) {
			short, long = long, short
		}
		if !reflect.DeepEqual(short, long[:len(short)]) || !allClose(long[len(short):]) {
			t.Errorf("case %s: the replay sent other frames:\n%s\nversus\n%s", ca.ID, frameList(fa), frameList(fb))
			continue
		}
		if len(fa) == len(fb) {
			same++
		}
	}
	t.Logf("replay: %d of %d cases sent the same handshake and frames byte for byte; the others differ only by a Close reply the server's timing allowed in one run", same, compared)
}

func allClose(fs []wire.FrameInfo) bool {
	for _, f := range fs {
		if f.OpName != "close" {
			return false
		}
	}
	return true
}

func checkOtherKeys(t *testing.T, a, b results.Target) {
	t.Helper()
	other := map[string]results.Case{}
	for _, c := range b.Cases {
		other[c.ID] = c
	}
	equal := 0
	for _, ca := range a.Cases {
		if ca.Handshake.Request != "" && ca.Handshake.Request == other[ca.ID].Handshake.Request {
			equal++
		}
	}
	// The handshake cases that replace Sec-WebSocket-Key send their own.
	if equal > 20 {
		t.Errorf("%d cases sent the same handshake request under another seed", equal)
	}
}

func frameList(fs []wire.FrameInfo) string {
	var s string
	for _, f := range fs {
		s += fmt.Sprintf("  %s key %s len %d %s\n", f.OpName, f.Key, f.Length, f.PayloadHex)
	}
	return s
}
