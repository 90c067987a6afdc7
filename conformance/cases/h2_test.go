package cases_test

import (
	"context"
	"net"
	"sync"
	"testing"
	"time"

	"golang.org/x/net/http2"

	"github.com/wsharness/wsharness/conformance/casekit"
	"github.com/wsharness/wsharness/conformance/cases"
	"github.com/wsharness/wsharness/internal/testnet"
	"github.com/wsharness/wsharness/results"
)

// An HTTP/2 server that advertises the extended CONNECT and then answers
// no request: every HTTP/2 case ends within its bound, with a verdict and
// without FAILED where the case has no MUST to hold it to (the probes
// judge what came within the handshake timeout, not an answer that comes
// a minute later).
func TestH2CasesAgainstAServerThatNeverAnswers(t *testing.T) {
	t.Parallel()
	addr := testnet.ServeH2(t, func(fr *http2.Framer, _ net.Conn) {
		_ = fr.WriteSettings(http2.Setting{ID: http2.SettingEnableConnectProtocol, Val: 1})
		for {
			f, err := fr.ReadFrame()
			if err != nil {
				return
			}
			if s, ok := f.(*http2.SettingsFrame); ok && !s.IsAck() {
				_ = fr.WriteSettingsAck()
			}
		}
	})
	env := casekit.Env{URL: "ws+h2://" + addr + "/echo", TimeScale: 0.2}
	var wg sync.WaitGroup
	for _, c := range cases.All() {
		if c.Family != cases.FamilyH2Bootstrap && c.Family != cases.FamilyH2Streams {
			continue
		}
		wg.Go(func() {
			started := time.Now()
			r := c.Run(context.Background(), env)
			if took, bound := time.Since(started), c.Bound(env); took > bound {
				t.Errorf("%s took %v, past its bound %v", c.ID, took, bound)
			}
			if r.Verdict == "" {
				t.Errorf("%s: no verdict", c.ID)
			}
			if c.ID == "300.5" && r.Verdict != results.NonStrict {
				t.Errorf("300.5 against silence: %s, want NON-STRICT (neither answered nor reset)\n%s", r.Verdict, r.Observed)
			}
		})
	}
	wg.Wait()
}
