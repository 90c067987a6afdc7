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

// hostileH2 are HTTP/2 servers that advertise the extended CONNECT and
// then misbehave at the HTTP/2 level; each gets the client preface read
// and a Framer.
var hostileH2 = map[string]func(fr *http2.Framer, nc net.Conn){
	// silent answers no request (SETTINGS are acknowledged).
	"silent": func(fr *http2.Framer, _ net.Conn) {
		readAll(fr, func(http2.Frame) {})
	},
	// garbage answers each request with bytes that are no frame.
	"garbage": func(fr *http2.Framer, nc net.Conn) {
		readAll(fr, func(f http2.Frame) {
			if _, ok := f.(*http2.HeadersFrame); ok {
				_, _ = nc.Write([]byte("\x00\x00\x08\xff\xff\xff\xff\xff\xffgarbage!"))
			}
		})
	},
	// flood answers each request with 200, then DATA far past every window
	// and a PING storm.
	"flood": func(fr *http2.Framer, _ net.Conn) {
		readAll(fr, func(f http2.Frame) {
			h, ok := f.(*http2.HeadersFrame)
			if !ok {
				return
			}
			_ = fr.WriteHeaders(http2.HeadersFrameParam{StreamID: h.StreamID, BlockFragment: status200, EndHeaders: true})
			chunk := make([]byte, 16384)
			for range 2048 { // 32 MiB
				if fr.WriteData(h.StreamID, false, chunk) != nil || fr.WritePing(false, [8]byte{}) != nil {
					return
				}
			}
		})
	},
	// endless answers each request with a header block that never ends.
	"endless headers": func(fr *http2.Framer, _ net.Conn) {
		readAll(fr, func(f http2.Frame) {
			h, ok := f.(*http2.HeadersFrame)
			if !ok {
				return
			}
			_ = fr.WriteHeaders(http2.HeadersFrameParam{StreamID: h.StreamID, BlockFragment: status200})
			for range 1024 {
				if fr.WriteContinuation(h.StreamID, false, make([]byte, 16384)) != nil {
					return
				}
			}
		})
	},
}

// status200 is the HPACK encoding of :status 200 (static table index 8).
var status200 = []byte{0x88}

// readAll sends SETTINGS with the extended CONNECT allowed, then reads
// frames, acknowledging SETTINGS and handing every frame to each, until
// the connection ends.
func readAll(fr *http2.Framer, each func(http2.Frame)) {
	_ = fr.WriteSettings(http2.Setting{ID: http2.SettingEnableConnectProtocol, Val: 1})
	for {
		f, err := fr.ReadFrame()
		if err != nil {
			return
		}
		if s, ok := f.(*http2.SettingsFrame); ok && !s.IsAck() {
			_ = fr.WriteSettingsAck()
		}
		each(f)
	}
}

// Every HTTP/2 case against each hostile HTTP/2 server ends within its
// bound with a verdict; the silent server leaves 300.5 NON-STRICT: the
// probes judge what came within the handshake timeout, not an answer a
// minute later.
func TestH2CasesAgainstHostileServers(t *testing.T) {
	t.Parallel()
	for name, serve := range hostileH2 {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			env := casekit.Env{URL: "ws+h2://" + testnet.ServeH2(t, serve) + "/echo", TimeScale: 0.2}
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
					if name == "silent" && c.ID == "300.5" && r.Verdict != results.NonStrict {
						t.Errorf("300.5 against silence: %s, want NON-STRICT (neither answered nor reset)\n%s", r.Verdict, r.Observed)
					}
				})
			}
			wg.Wait()
		})
	}
}
