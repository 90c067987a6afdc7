package targets

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	"github.com/wsharness/wsharness/internal/selfsigned"
	"github.com/wsharness/wsharness/internal/testnet"
)

// TestMain lets the test binary stand in for an external server: with
// WSH_FAKE_SERVER set it never runs the tests. WSH_FAKE_MODE picks what
// it does: serve (default) an echo server on WSH_FAKE_SERVER's address,
// serve it over TLS with a fresh self-signed certificate (tls), exit at
// once, hang without listening, or forward every connection to
// WSH_FAKE_BACKEND, which its first argument must repeat (proxy).
func TestMain(m *testing.M) {
	addr := os.Getenv("WSH_FAKE_SERVER")
	if addr == "" {
		os.Exit(m.Run())
	}
	switch os.Getenv("WSH_FAKE_MODE") {
	case "proxy":
		fakeProxy(addr, os.Getenv("WSH_FAKE_BACKEND"))
	case "exit":
		fmt.Println("fake server: starting")
		fmt.Fprintln(os.Stderr, "fake server: cannot bind, giving up")
		os.Exit(3)
	case "hang":
		fmt.Println("fake server: thinking")
		time.Sleep(time.Minute)
		os.Exit(0)
	}
	fakeEchoServer(addr)
}

// fakeEchoServer serves gorilla's README echo (the gorilla-default
// target's handler) on addr, as a server in another process.
func fakeEchoServer(addr string) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		fmt.Fprintln(os.Stderr, "fake server:", err)
		os.Exit(2)
	}
	if os.Getenv("WSH_FAKE_MODE") == "tls" {
		cert, err := selfsigned.Generate()
		if err != nil {
			fmt.Fprintln(os.Stderr, "fake server:", err)
			os.Exit(2)
		}
		ln = tls.NewListener(ln, cert.ServerConfig())
	}
	fmt.Println("fake server: listening on", ln.Addr())
	fmt.Fprintln(os.Stderr, "fake server: stderr works too")
	_ = http.Serve(ln, newGorillaDefaultHandler())
}

// fakeProxy forwards every connection to addr to backend, as a proxy in
// another process, once its first argument says the same backend.
func fakeProxy(addr, backend string) {
	if len(os.Args) < 2 || os.Args[1] != backend || strings.Contains(backend, "{") {
		fmt.Fprintf(os.Stderr, "fake proxy: backend %q in env, arguments %q\n", backend, os.Args[1:])
		os.Exit(4)
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		fmt.Fprintln(os.Stderr, "fake proxy:", err)
		os.Exit(2)
	}
	fmt.Println("fake proxy: forwarding", ln.Addr(), "to", backend)
	for {
		c, err := ln.Accept()
		if err != nil {
			os.Exit(2)
		}
		go func() {
			defer c.Close()
			b, err := net.DialTimeout("tcp", backend, 2*time.Second)
			if err != nil {
				return
			}
			defer b.Close()
			go func() { _, _ = io.Copy(b, c); _ = b.(*net.TCPConn).CloseWrite() }()
			_, _ = io.Copy(c, b)
		}()
	}
}

func fakeExternal(t *testing.T, mode string, timeout time.Duration) (External, string) {
	addr := testnet.FreeAddr(t)
	return External{Spec: ExternalSpec{
		Name:         "fake",
		Command:      []string{os.Args[0]},
		Env:          []string{"WSH_FAKE_SERVER=" + addr, "WSH_FAKE_MODE=" + mode},
		EchoURL:      "ws://" + addr + EchoPath,
		ReadyTimeout: timeout,
	}}, addr
}

func TestExternalCommand(t *testing.T) {
	e, addr := fakeExternal(t, "serve", 5*time.Second)
	r, err := e.Start(context.Background(), "ignored:0")
	if err != nil {
		t.Fatal(err)
	}
	er := r.(*externalRunning)
	pid := er.PID()
	if got := r.URL(EchoPath); got != "ws://"+addr+EchoPath {
		t.Errorf("URL(EchoPath) = %q", got)
	}
	c, _, err := websocket.DefaultDialer.Dial(r.URL(EchoPath), nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := c.WriteMessage(websocket.TextMessage, []byte("hello")); err != nil {
		t.Fatal(err)
	}
	_ = c.SetReadDeadline(time.Now().Add(2 * time.Second))
	op, p, err := c.ReadMessage()
	if err != nil || op != websocket.TextMessage || string(p) != "hello" {
		t.Errorf("echo: %d %q %v", op, p, err)
	}
	_ = c.Close()

	if err := r.Stop(context.Background()); err != nil {
		t.Errorf("Stop: %v", err)
	}
	select {
	case <-er.proc.Done():
	default:
		t.Error("Stop returned before the process exited")
	}
	if alive(pid) {
		t.Errorf("process %d still alive after Stop", pid)
	}
	if err := r.Stop(context.Background()); err != nil { // a second Stop is harmless
		t.Errorf("second Stop: %v", err)
	}
	out := r.(OutputKeeper).Output()
	if !strings.Contains(out, "listening on "+addr) || !strings.Contains(out, "stderr works too") {
		t.Errorf("output %q", out)
	}
}

func TestExternalExitsEarly(t *testing.T) {
	e, _ := fakeExternal(t, "exit", 5*time.Second)
	start := time.Now()
	r, err := e.Start(context.Background(), "")
	if !errors.Is(err, ErrTargetUnavailable) {
		t.Fatalf("Start = %v, %v; want ErrTargetUnavailable", r, err)
	}
	t.Log(err)
	if !strings.Contains(err.Error(), "cannot bind, giving up") || !strings.Contains(err.Error(), "exited before serving") {
		t.Errorf("error lacks the output: %v", err)
	}
	if d := time.Since(start); d > 3*time.Second {
		t.Errorf("took %v to notice the exit", d)
	}
}

func TestExternalNeverListens(t *testing.T) {
	old := externalStopGrace
	externalStopGrace = 200 * time.Millisecond
	t.Cleanup(func() { externalStopGrace = old })
	// Long enough for a loaded machine to start the child and let it print.
	const ready = 3 * time.Second
	e, _ := fakeExternal(t, "hang", ready)
	start := time.Now()
	_, err := e.Start(context.Background(), "")
	if !errors.Is(err, ErrTargetUnavailable) {
		t.Fatalf("Start = %v; want ErrTargetUnavailable", err)
	}
	t.Log(err)
	if !strings.Contains(err.Error(), "within 3s") || !strings.Contains(err.Error(), "fake server: thinking") {
		t.Errorf("error: %v", err)
	}
	if d := time.Since(start); d < ready || d > ready+5*time.Second {
		t.Errorf("took %v, want about %v", d, ready)
	}
}

func TestExternalPortTaken(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	e := External{Spec: ExternalSpec{Name: "x", Command: []string{"/bin/true"}, EchoURL: "ws://" + ln.Addr().String() + "/echo"}}
	if _, err := e.Start(context.Background(), ""); !errors.Is(err, ErrTargetUnavailable) || !strings.Contains(err.Error(), "already listens") {
		t.Errorf("Start = %v", err)
	}
}

func TestExternalURLOnly(t *testing.T) {
	e := External{Spec: ExternalSpec{Name: "u", EchoURL: "ws://127.0.0.1:9/echo", BroadcastURL: "ws://127.0.0.1:9/bc"}}
	r, err := e.Start(context.Background(), "")
	if err != nil {
		t.Fatal(err)
	}
	if r.URL(EchoPath) != "ws://127.0.0.1:9/echo" || r.URL(BroadcastPath) != "ws://127.0.0.1:9/bc" || r.URL("/x") != "ws://127.0.0.1:9/x" {
		t.Errorf("URLs %q %q %q", r.URL(EchoPath), r.URL(BroadcastPath), r.URL("/x"))
	}
	if _, ok := r.(OutputKeeper); ok {
		t.Error("a URL-only target keeps no output")
	}
	if err := r.Stop(context.Background()); err != nil {
		t.Error(err)
	}
	if info := e.Info(); info.Name != "u" || info.Library != "external" {
		t.Errorf("%+v", info)
	}
}

func TestExternalAvailable(t *testing.T) {
	e := External{Spec: ExternalSpec{Name: "p", EchoURL: "ws://127.0.0.1:9/echo",
		Requires: []string{"sh", "wsh-no-such-program", "/no/such/python3"}, Install: "apt-get install php-cli"}}
	ok, reason := e.Available()
	want := "wsh-no-such-program, /no/such/python3 not installed (apt-get install php-cli)"
	if ok || reason != want {
		t.Errorf("Available = %v, %q; want %q", ok, reason, want)
	}
	if _, err := e.Start(context.Background(), ""); !errors.Is(err, ErrTargetUnavailable) || !strings.Contains(err.Error(), want) {
		t.Errorf("Start = %v", err)
	}
	e.Spec.Requires = []string{"sh"}
	if ok, reason := e.Available(); !ok || reason != "" {
		t.Errorf("Available = %v, %q", ok, reason)
	}
}

// A runtime can be installed while the server's library is not: the check
// command catches that before the server is started, with a one-line reason.
func TestExternalAvailableCheck(t *testing.T) {
	dir := t.TempDir()
	e := External{Spec: ExternalSpec{Name: "p", EchoURL: "ws://127.0.0.1:9/echo", Dir: dir,
		Command: []string{"sh", "-c", "sleep 60"}, Env: []string{"WSH_MODULE=ws"},
		Check:   []string{"sh", "-c", `echo "Error: Cannot find module $WSH_MODULE" >&2; echo more >&2; exit 3`},
		Install: "apt-get install node-ws"}}
	ok, reason := e.Available()
	want := `check "sh -c echo \"Error: Cannot find module $WSH_MODULE\" >&2; echo more >&2; exit 3" failed (exit status 3): Error: Cannot find module ws (apt-get install node-ws)`
	if ok || reason != want {
		t.Errorf("Available = %v, %q; want %q", ok, reason, want)
	}
	if strings.Contains(reason, "\n") {
		t.Errorf("reason spans lines: %q", reason)
	}
	e.Spec.Check = []string{"sh", "-c", `test "$WSH_MODULE" = ws && test "$PWD" = "$0"`, dir}
	if ok, reason := e.Available(); !ok {
		t.Errorf("check with env and dir: Available = false, %q", reason)
	}
}

// A required program given as a relative path (a binary the build makes)
// is looked for relative to the target's directory.
func TestExternalRequiresRelativeToDir(t *testing.T) {
	dir := t.TempDir()
	e := External{Spec: ExternalSpec{Name: "c", EchoURL: "ws://127.0.0.1:9/echo", Dir: filepath.Join(dir, "sub"),
		Command: []string{"../bin/echo-server"}, Requires: []string{"../bin/echo-server"}}}
	if ok, reason := e.Available(); ok || reason != "../bin/echo-server not installed" {
		t.Errorf("before build: Available = %v, %q", ok, reason)
	}
	if err := os.MkdirAll(filepath.Join(dir, "bin"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "bin", "echo-server"), []byte("#!/bin/sh\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	if ok, reason := e.Available(); !ok {
		t.Errorf("after build: Available = false, %q", reason)
	}
}

func writeFile(t *testing.T, body string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "ext.yaml")
	if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestLoadExternal(t *testing.T) {
	p := writeFile(t, `version: 1
targets:
  - name: php-ratchet
    description: Ratchet echo
    command: [php, server.php, "9105"]
    dir: servers/php
    env: [APP_ENV=test]
    echo_url: ws://127.0.0.1:9105/echo
    broadcast_url: ws://localhost:9105/broadcast
    requires: [php]
    install: apt-get install php-cli
    ready_timeout: 2s
  - name: mine
    echo_url: ws://localhost:8080/ws
`)
	got, err := LoadExternal(p)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 2 {
		t.Fatalf("%d targets", len(got))
	}
	s := got[0].Spec
	want := ExternalSpec{
		Name: "php-ratchet", Description: "Ratchet echo",
		Command: []string{"php", "server.php", "9105"},
		Dir:     filepath.Join(filepath.Dir(p), "servers/php"),
		Env:     []string{"APP_ENV=test"},
		EchoURL: "ws://127.0.0.1:9105/echo", BroadcastURL: "ws://localhost:9105/broadcast",
		Requires: []string{"php"}, Install: "apt-get install php-cli",
		ReadyTimeout: 2 * time.Second,
	}
	if !reflect.DeepEqual(s, want) {
		t.Errorf("got  %+v\nwant %+v", s, want)
	}
	if got[1].Spec.Command != nil || got[1].Spec.Dir != "" {
		t.Errorf("URL-only entry %+v", got[1].Spec)
	}

	empty, err := LoadExternal(writeFile(t, "version: 1\ntargets: []\n"))
	if err != nil || len(empty) != 0 {
		t.Errorf("empty list: %v %v", empty, err)
	}
}

func TestLoadExternalErrors(t *testing.T) {
	for _, tc := range []struct{ name, body, want string }{
		{"no version", "targets: []\n", "no version"},
		{"bad version", "version: 2\ntargets: []\n", "version 2, want 1"},
		{"unknown field", "version: 1\ntargets:\n  - name: a\n    echo_url: ws://127.0.0.1:1/echo\n    cmd: [x]\n", "field cmd not found"},
		{"non-loopback", "version: 1\ntargets:\n  - name: a\n    command: [x]\n    echo_url: ws://0.0.0.0:9105/echo\n", "loopback only"},
		{"remote host", "version: 1\ntargets:\n  - name: a\n    echo_url: ws://example.com:80/echo\n", "loopback only"},
		{"https", "version: 1\ntargets:\n  - name: a\n    echo_url: https://127.0.0.1:1/echo\n", "want a URL with ws:// or wss://, or ws+h2://"},
		{"no port", "version: 1\ntargets:\n  - name: a\n    echo_url: ws://localhost/echo\n", "no port"},
		{"bad broadcast", "version: 1\ntargets:\n  - name: a\n    echo_url: ws://localhost:1/echo\n    broadcast_url: ws://10.0.0.1:1/b\n", "broadcast_url"},
		{"no url", "version: 1\ntargets:\n  - name: a\n    command: [x]\n", "echo_url missing"},
		{"duplicate", "version: 1\ntargets:\n  - name: a\n    echo_url: ws://localhost:1/echo\n  - name: a\n    echo_url: ws://localhost:2/echo\n", `duplicate name "a"`},
		{"builtin", "version: 1\ntargets:\n  - name: gorilla\n    echo_url: ws://localhost:1/echo\n", "built-in"},
		{"bad name", "version: 1\ntargets:\n  - name: a b\n    echo_url: ws://localhost:1/echo\n", "target name"},
		{"empty program", "version: 1\ntargets:\n  - name: a\n    command: ['']\n    echo_url: ws://localhost:1/echo\n", "empty program"},
		{"bad env", "version: 1\ntargets:\n  - name: a\n    command: [x]\n    env: [NOEQUALS]\n    echo_url: ws://localhost:1/echo\n", "KEY=VALUE"},
		{"dir without command", "version: 1\ntargets:\n  - name: a\n    dir: x\n    echo_url: ws://localhost:1/echo\n", "need a command"},
		{"bad duration", "version: 1\ntargets:\n  - name: a\n    echo_url: ws://localhost:1/echo\n    ready_timeout: soon\n", "time.Duration"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := LoadExternal(writeFile(t, tc.body))
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("err = %v, want it to mention %q", err, tc.want)
			}
		})
	}
	if _, err := LoadExternal(filepath.Join(t.TempDir(), "missing.yaml")); err == nil {
		t.Error("missing file loaded")
	}
}

func TestExternalFile(t *testing.T) {
	// The shipped file must load.
	if _, err := LoadExternal("external.yaml"); err != nil {
		t.Fatal(err)
	}
}

func TestExternalFromFlags(t *testing.T) {
	e, err := ExternalFromFlags("", `php "my server.php" 9105 --opt='a b' x\ y "q\"uote" ''`, "ws://127.0.0.1:9105/echo")
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"php", "my server.php", "9105", "--opt=a b", "x y", `q"uote`, ""}
	if !reflect.DeepEqual(e.Spec.Command, want) {
		t.Errorf("command %q, want %q", e.Spec.Command, want)
	}
	if e.Spec.Name != "external" || e.Spec.EchoURL != "ws://127.0.0.1:9105/echo" {
		t.Errorf("%+v", e.Spec)
	}
	u, err := ExternalFromFlags("mine", "  ", "ws://localhost:1/echo")
	if err != nil || u.Spec.Command != nil {
		t.Errorf("URL-only: %+v %v", u.Spec, err)
	}
	for _, bad := range []struct{ name, cmd, url string }{
		{"", `php 'unterminated`, "ws://127.0.0.1:1/echo"},
		{"", `php "unterminated`, "ws://127.0.0.1:1/echo"},
		{"", `php trailing\`, "ws://127.0.0.1:1/echo"},
		{"", "php s.php", "ws://192.168.1.2:1/echo"},
		{"gws", "php s.php", "ws://127.0.0.1:1/echo"},
		{"", "php s.php", ""},
	} {
		if _, err := ExternalFromFlags(bad.name, bad.cmd, bad.url); err == nil {
			t.Errorf("ExternalFromFlags(%q, %q, %q) accepted", bad.name, bad.cmd, bad.url)
		}
	}
}

func TestSplitCommand(t *testing.T) {
	for in, want := range map[string][]string{
		"":                       nil,
		"a  b\tc":                {"a", "b", "c"},
		`'it''s'`:                {"its"},
		`"a\$b\\c\d"`:            {`a$b\c\d`},
		`pre"mid dle"post`:       {"premid dlepost"},
		`node -e 'print("x y")'`: {"node", "-e", `print("x y")`},
	} {
		got, err := SplitCommand(in)
		if err != nil || !reflect.DeepEqual(got, want) {
			t.Errorf("SplitCommand(%q) = %q, %v; want %q", in, got, err, want)
		}
	}
}

// A server started by command at a wss:// URL is probed over TLS with the
// target's TLS configuration: one the client cannot verify leaves the
// target unavailable with the certificate error as the reason.
func TestExternalCommandTLS(t *testing.T) {
	e, addr := fakeExternal(t, "tls", 5*time.Second)
	e.Spec.EchoURL = "wss://" + addr + EchoPath
	if err := e.Spec.Validate(); err != nil {
		t.Fatalf("a wss:// echo URL: %v", err)
	}
	e.TLS = &tls.Config{InsecureSkipVerify: true} // the child's certificate is its own
	r, err := e.Start(context.Background(), "")
	if err != nil {
		t.Fatalf("start with TLS: %v", err)
	}
	if got := r.URL(EchoPath); got != e.Spec.EchoURL {
		t.Errorf("URL(EchoPath) = %q", got)
	}
	if err := r.Stop(context.Background()); err != nil {
		t.Errorf("Stop: %v", err)
	}

	// Refused at the first attempt that reaches the certificate, not
	// after the ready timeout: a loaded machine may take seconds to start
	// the child, so the timeout is generous and the wait is what is bounded.
	e, addr = fakeExternal(t, "tls", 20*time.Second)
	e.Spec.EchoURL = "wss://" + addr + EchoPath
	began := time.Now()
	_, err = e.Start(context.Background(), "")
	if !errors.Is(err, ErrTargetUnavailable) || !strings.Contains(err.Error(), "x509") {
		t.Fatalf("unverifiable certificate: %v, want unavailable with the x509 error", err)
	}
	if waited := time.Since(began); waited > 15*time.Second {
		t.Errorf("the refused certificate was reported after %s, want at the first attempt", waited)
	}
}

// A target with a backend: the built-in target runs first on a free port,
// the command learns its address from {backend} in its arguments and env,
// and stopping the command stops the backend.
func TestExternalBackend(t *testing.T) {
	e, addr := fakeExternal(t, "proxy", 5*time.Second)
	e.Spec.Backend = "gorilla"
	e.Spec.Command = append(e.Spec.Command, "{backend}")
	e.Spec.Env = append(e.Spec.Env, "WSH_FAKE_BACKEND={backend}")
	if err := e.Spec.Validate(); err != nil {
		t.Fatal(err)
	}
	r, err := e.Start(context.Background(), "")
	if err != nil {
		t.Fatal(err)
	}
	er := r.(*externalRunning)
	backend := strings.TrimSuffix(strings.TrimPrefix(er.backend.URL(EchoPath), "ws://"), EchoPath)
	if !strings.Contains(er.Output(), "forwarding "+addr+" to "+backend) {
		t.Errorf("output %q, want the proxy forwarding to %s", er.Output(), backend)
	}
	if e.Spec.Command[1] != "{backend}" || e.Spec.Env[2] != "WSH_FAKE_BACKEND={backend}" {
		t.Errorf("Start changed the spec: %q %q", e.Spec.Command, e.Spec.Env)
	}
	c, _, err := websocket.DefaultDialer.Dial(r.URL(EchoPath), nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := c.WriteMessage(websocket.TextMessage, []byte("through")); err != nil {
		t.Fatal(err)
	}
	_ = c.SetReadDeadline(time.Now().Add(2 * time.Second))
	if _, p, err := c.ReadMessage(); err != nil || string(p) != "through" {
		t.Errorf("echo through the proxy: %q %v", p, err)
	}
	_ = c.Close()
	if err := r.Stop(context.Background()); err != nil {
		t.Fatalf("Stop: %v", err)
	}
	if b, err := net.DialTimeout("tcp", backend, time.Second); err == nil {
		_ = b.Close()
		t.Errorf("backend %s still listens after Stop", backend)
	}
	if err := r.Stop(context.Background()); err != nil {
		t.Errorf("second Stop: %v", err)
	}
}

// A command that never serves leaves no backend behind.
func TestExternalBackendStoppedOnFailure(t *testing.T) {
	e, _ := fakeExternal(t, "exit", 5*time.Second)
	e.Spec.Backend = "gorilla"
	e.Spec.Env = append(e.Spec.Env, "WSH_FAKE_BACKEND={backend}")
	before := listeningLoopback(t)
	if _, err := e.Start(context.Background(), ""); !errors.Is(err, ErrTargetUnavailable) {
		t.Fatalf("Start = %v; want ErrTargetUnavailable", err)
	}
	if after := listeningLoopback(t); after > before {
		t.Errorf("%d loopback listeners before Start, %d after it failed: the backend was left running", before, after)
	}

	e.Spec.Backend = "no-such-target"
	if _, err := e.Start(context.Background(), ""); err == nil || !strings.Contains(err.Error(), `backend: unknown target "no-such-target"`) {
		t.Errorf("Start with an unknown backend = %v", err)
	}
}

// listeningLoopback counts this process's listening TCP sockets, from the
// descriptors that /proc says are sockets in the LISTEN state.
func listeningLoopback(t *testing.T) int {
	t.Helper()
	b, err := os.ReadFile("/proc/net/tcp")
	if err != nil {
		t.Skip("no /proc/net/tcp:", err)
	}
	inodes := map[string]bool{}
	for _, line := range strings.Split(string(b), "\n")[1:] {
		f := strings.Fields(line)
		if len(f) > 9 && f[3] == "0A" { // TCP_LISTEN
			inodes[f[9]] = true
		}
	}
	fds, err := os.ReadDir("/proc/self/fd")
	if err != nil {
		t.Skip("no /proc/self/fd:", err)
	}
	n := 0
	for _, fd := range fds {
		l, err := os.Readlink(filepath.Join("/proc/self/fd", fd.Name()))
		if err == nil && strings.HasPrefix(l, "socket:[") && inodes[strings.TrimSuffix(strings.TrimPrefix(l, "socket:["), "]")] {
			n++
		}
	}
	return n
}

func TestExternalBackendValidate(t *testing.T) {
	for _, tc := range []struct{ name, body, want string }{
		{"unknown backend", "    command: [x, \"{backend}\"]\n    backend: nginx\n", `backend: unknown target "nginx"`},
		{"backend unused", "    command: [x]\n    backend: gorilla\n", "backend gorilla: no {backend} in command or env"},
		{"placeholder without backend", "    command: [x]\n    env: [\"B={backend}\"]\n", "{backend} in command or env, but no backend"},
		{"backend without command", "    backend: gorilla\n", "no {backend}"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := LoadExternal(writeFile(t, "version: 1\ntargets:\n  - name: a\n    echo_url: ws+h2://127.0.0.1:1/echo\n"+tc.body))
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("err = %v, want it to mention %q", err, tc.want)
			}
		})
	}
	got, err := LoadExternal(writeFile(t, "version: 1\ntargets:\n  - name: a\n    echo_url: ws+h2://127.0.0.1:1/echo\n    broadcast_url: wss+h2://localhost:1/broadcast\n    command: [x]\n    env: [\"B={backend}\"]\n    backend: gobwas\n"))
	if err != nil || len(got) != 1 || got[0].Spec.Backend != "gobwas" {
		t.Errorf("LoadExternal = %+v, %v", got, err)
	}
	c := ExternalSpec{Name: "c", Command: []string{"x", PlaceholderURL}, Backend: "gorilla"}
	if err := c.ValidateClient(); err == nil || !strings.Contains(err.Error(), "backend are for servers") {
		t.Errorf("a client with a backend: %v", err)
	}
}
