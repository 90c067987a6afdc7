package h2

import (
	"context"
	"errors"
	"io"
	"net"
	"strings"
	"testing"
	"time"

	"golang.org/x/net/http2"
	"golang.org/x/net/http2/hpack"

	"github.com/wsharness/wsharness/internal/testnet"
)

// rawServer connects to a raw HTTP/2 server that serve writes.
func rawServer(t *testing.T, serve func(fr *http2.Framer, nc net.Conn)) net.Conn {
	t.Helper()
	addr := testnet.ServeH2(t, serve)
	nc, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { nc.Close() })
	return nc
}

func TestDialRefusesWhatIsNotHTTP2(t *testing.T) {
	for name, serve := range map[string]func(*http2.Framer, net.Conn){
		"garbage": func(_ *http2.Framer, nc net.Conn) { _, _ = nc.Write([]byte(strings.Repeat("\xff", 64))) },
		"a PING first": func(fr *http2.Framer, _ net.Conn) {
			_ = fr.WritePing(false, [8]byte{})
		},
		"silence": func(_ *http2.Framer, nc net.Conn) { _, _ = io.Copy(io.Discard, nc) },
	} {
		t.Run(name, func(t *testing.T) {
			started := time.Now()
			_, err := Dial(context.Background(), rawServer(t, serve), Options{Timeout: 500 * time.Millisecond})
			if err == nil {
				t.Fatal("Dial succeeded")
			}
			if took := time.Since(started); took > 2*time.Second {
				t.Errorf("took %v", took)
			}
			t.Log(err)
		})
	}
}

// A server that sends past the harness's window is recorded, and the
// stream's buffer stays bounded.
func TestFlowControlViolationIsRecorded(t *testing.T) {
	nc := rawServer(t, func(fr *http2.Framer, nc net.Conn) {
		_ = fr.WriteSettings(http2.Setting{ID: http2.SettingEnableConnectProtocol, Val: 1})
		for {
			f, err := fr.ReadFrame()
			if err != nil {
				return
			}
			if h, ok := f.(*http2.HeadersFrame); ok {
				var block strings.Builder
				enc := hpack.NewEncoder(&block)
				_ = enc.WriteField(hpack.HeaderField{Name: ":status", Value: "200"})
				_ = fr.WriteHeaders(http2.HeadersFrameParam{StreamID: h.StreamID, BlockFragment: []byte(block.String()), EndHeaders: true})
				chunk := make([]byte, 16384)
				for range 8 { // 128 KiB into a 1 KiB window
					_ = fr.WriteData(h.StreamID, false, chunk)
				}
			}
		}
	})
	c, err := Dial(context.Background(), nc, Options{StreamWindow: 1024, Hold: true})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if !c.Settings().EnableConnectProtocol {
		t.Error("setting not seen")
	}
	s, err := c.Open([]hpack.HeaderField{{Name: ":method", Value: "CONNECT"}}, false)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	if resp, err := s.Response(ctx); err != nil || resp.Status != 200 {
		t.Fatalf("response %v %v", resp, err)
	}
	deadline := time.Now().Add(2 * time.Second)
	for time.Now().Before(deadline) && len(c.Violations()) == 0 {
		time.Sleep(10 * time.Millisecond)
	}
	v := c.Violations()
	if len(v) == 0 || !strings.Contains(v[0], "RFC 9113 §6.9.1") {
		t.Errorf("violations %q", v)
	}
}

// A read waits no longer than its deadline, and a reset stream reads as
// a *ResetError.
func TestStreamDeadlineAndReset(t *testing.T) {
	nc := rawServer(t, func(fr *http2.Framer, nc net.Conn) {
		_ = fr.WriteSettings()
		for {
			f, err := fr.ReadFrame()
			if err != nil {
				return
			}
			if d, ok := f.(*http2.DataFrame); ok && string(d.Data()) == "reset me" {
				_ = fr.WriteRSTStream(d.StreamID, http2.ErrCodeInternal)
			}
		}
	})
	c, err := Dial(context.Background(), nc, Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	s, err := c.Open(nil, false)
	if err != nil {
		t.Fatal(err)
	}
	_ = s.SetReadDeadline(time.Now().Add(100 * time.Millisecond))
	var ne net.Error
	if _, err := s.Read(make([]byte, 1)); !errors.As(err, &ne) || !ne.Timeout() {
		t.Errorf("read past the deadline: %v", err)
	}
	_ = s.SetReadDeadline(time.Now().Add(2 * time.Second))
	if _, err := s.Write([]byte("reset me")); err != nil {
		t.Fatal(err)
	}
	var reset *ResetError
	if _, err := s.Read(make([]byte, 1)); !errors.As(err, &reset) || reset.Code != http2.ErrCodeInternal {
		t.Errorf("after RST_STREAM: %v", err)
	}
}
