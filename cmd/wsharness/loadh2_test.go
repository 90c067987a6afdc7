package main

import (
	"net"
	"path/filepath"
	"strings"
	"testing"

	"golang.org/x/net/http2"

	"github.com/wsharness/wsharness/internal/testnet"
	"github.com/wsharness/wsharness/internal/testtarget"
	"github.com/wsharness/wsharness/loadgen"
	"github.com/wsharness/wsharness/targets"
)

// --h2 turns the ws:// URL of gobwas-h2 (which serves both transports on
// one port) into ws+h2://; the summary and the result say HTTP/2, the
// streams per connection and the TCP connections.
func TestLoadH2Flag(t *testing.T) {
	h2URL := testtarget.Start(t, "gobwas-h2").URL(targets.EchoPath)
	out := filepath.Join(t.TempDir(), "r.json")
	code, stdout, stderr := runCLI("load", "--url", loadgen.ToH1(h2URL), "--h2", "--streams-per-conn", "5",
		"--conns", "10", "--rate", "200", "--duration", "500ms", "--warmup", "100ms", "--quiet", "--out", out)
	if code != 0 {
		t.Fatalf("exit %d\n%s%s", code, stdout, stderr)
	}
	if !strings.Contains(stdout, "over HTTP/2") || !strings.Contains(stdout, "2 TCP") {
		t.Errorf("the summary does not say HTTP/2 and 2 TCP connections:\n%s", stdout)
	}
	res, err := loadgen.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	if res.Params.Transport != "HTTP/2" || res.Params.StreamsPerConn != 5 || res.Connections.TCP != 2 || res.URL != h2URL {
		t.Errorf("result: url %s, params %+v, connections %+v", res.URL, res.Params, res.Connections)
	}
}

// Flag errors: streams without HTTP/2, K out of range.
func TestLoadStreamsPerConnUsage(t *testing.T) {
	for _, args := range [][]string{
		{"load", "--url", "ws://127.0.0.1:1/echo", "--streams-per-conn", "2"},
		{"load", "--url", "ws+h2://127.0.0.1:1/echo", "--h2=false", "--streams-per-conn", "2"},
		{"load", "--url", "ws+h2://127.0.0.1:1/echo", "--streams-per-conn", "0"},
		{"load", "--url", "ws://127.0.0.1:1/echo", "--h2", "--streams-per-conn", "1001"},
	} {
		code, _, stderr := runCLI(args...)
		if code != exitUsage || !strings.Contains(stderr, "--streams-per-conn") {
			t.Errorf("%v: exit %d, want %d (stderr %q)", args, code, exitUsage, stderr)
		}
	}
}

// A server whose SETTINGS lack ENABLE_CONNECT_PROTOCOL: one line, the exit
// code of an unreachable server.
func TestLoadH2WithoutExtendedConnect(t *testing.T) {
	addr := testnet.ServeH2(t, func(fr *http2.Framer, _ net.Conn) {
		_ = fr.WriteSettings()
		for {
			if _, err := fr.ReadFrame(); err != nil {
				return
			}
		}
	})
	code, stdout, stderr := runCLI("load", "--url", "ws://"+addr+"/echo", "--h2", "--conns", "4", "--rate", "10",
		"--duration", "200ms", "--quiet")
	if code != exitUnreachable {
		t.Fatalf("exit %d, want %d\n%s%s", code, exitUnreachable, stdout, stderr)
	}
	if lines := strings.Split(strings.TrimSpace(stderr), "\n"); len(lines) != 1 || !strings.Contains(stderr, "ENABLE_CONNECT_PROTOCOL") {
		t.Errorf("stderr %q: want one line naming the setting", stderr)
	}
}
