package targets

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/wsharness/wsharness/wire"
)

func TestLoadExternalClients(t *testing.T) {
	p := writeFile(t, `version: 1
targets: []
clients:
  - name: node-ws-client
    description: ws client
    command: [node, client.js, "{url}", "{agent}"]
    dir: clients/node
    env: [NODE_PATH=/usr/share/nodejs]
    requires: [node]
    check: [node, -e, "require('ws')"]
    install: apt-get install node-ws
`)
	got, err := LoadExternalClients(p)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 1 || got[0].Spec.Dir != filepath.Join(filepath.Dir(p), "clients/node") || got[0].Info().Role != wire.Client {
		t.Fatalf("%+v", got)
	}
	if servers, err := LoadExternal(p); err != nil || len(servers) != 0 {
		t.Errorf("the servers of a file with clients: %v, %v", servers, err)
	}
	for _, tc := range []struct{ name, body, want string }{
		{"no url placeholder", "version: 1\nclients:\n  - name: a\n    command: [x, y]\n", "no {url}"},
		{"no command", "version: 1\nclients:\n  - name: a\n", "command missing"},
		{"server field", "version: 1\nclients:\n  - name: a\n    command: [x, '{url}']\n    echo_url: ws://127.0.0.1:1/echo\n", "for servers"},
		{"reference name", "version: 1\nclients:\n  - name: gorilla-client\n    command: [x, '{url}']\n", "reference client"},
		{"duplicate", "version: 1\nclients:\n  - name: a\n    command: [x, '{url}']\n  - name: a\n    command: [x, '{url}']\n", `duplicate name "a"`},
		{"bad env", "version: 1\nclients:\n  - name: a\n    command: [x, '{url}']\n    env: [X]\n", "KEY=VALUE"},
	} {
		if _, err := LoadExternalClients(writeFile(t, tc.body)); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: %v, want it to mention %q", tc.name, err, tc.want)
		}
	}
	// The shipped file's clients load.
	if _, err := LoadExternalClients("external.yaml"); err != nil {
		t.Fatal(err)
	}
}

// Drive hands the command the URL and agent, reports a failing exit with
// the line of output that says why, stops a command that outlives ctx,
// and reports a missing runtime as ErrTargetUnavailable.
func TestExternalClientDrive(t *testing.T) {
	dir := t.TempDir()
	seen := filepath.Join(dir, "seen")
	c := ExternalClient{Spec: ExternalSpec{Name: "sh", Dir: dir,
		Command: []string{"/bin/sh", "-c", `echo "$0 $1" > seen; echo "Error: boom"; exit 3`, "{url}", "agent={agent}"}}}
	err := c.Drive(t.Context(), "ws://127.0.0.1:9001", "me")
	if err == nil || !strings.Contains(err.Error(), "Error: boom") || !strings.Contains(err.Error(), "exit status 3") {
		t.Errorf("a failing driver: %v", err)
	}
	if b, _ := os.ReadFile(seen); strings.TrimSpace(string(b)) != "ws://127.0.0.1:9001 agent=me" {
		t.Errorf("the driver was handed %q", b)
	}

	hang := ExternalClient{Spec: ExternalSpec{Name: "hang", Command: []string{"/bin/sh", "-c", "sleep 60", "{url}"}}}
	ctx, cancel := context.WithTimeout(t.Context(), 200*time.Millisecond)
	defer cancel()
	start := time.Now()
	if err := hang.Drive(ctx, "ws://127.0.0.1:1", "x"); err == nil || time.Since(start) > 10*time.Second {
		t.Errorf("a hung driver: %v after %v", err, time.Since(start))
	}

	missing := ExternalClient{Spec: ExternalSpec{Name: "m", Command: []string{"no-such-runtime-here", "{url}"}, Requires: []string{"no-such-runtime-here"}}}
	if err := missing.Drive(t.Context(), "ws://127.0.0.1:1", "x"); !errors.Is(err, ErrTargetUnavailable) {
		t.Errorf("a missing runtime: %v", err)
	}
}
