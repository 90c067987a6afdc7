package suites_test

import (
	"flag"
	"fmt"
	"net/url"
	"strings"
	"testing"

	"github.com/wsharness/wsharness/conformance/engine"
)

// flagRemote runs the cases of built-in targets against instances that
// already run elsewhere, such as the docker-compose services of
// docker-compose.yml: the conformance container cannot start them in its
// own process, and its targets are other containers.
var flagRemote = flag.String("wsh.remote", "", "built-in targets already serving elsewhere, as NAME=ws://HOST:PORT pairs separated by commas; their cases go to that server's /echo and /broadcast instead of one started in-process")

// parseRemote reads -wsh.remote: each name must be a selected built-in
// target, given once, with a ws:// base URL (host, port, no path). It
// maps each name to its base URL.
func parseRemote(list string, selected []engine.Want) (map[string]string, error) {
	out := map[string]string{}
	if strings.TrimSpace(list) == "" {
		return out, nil
	}
	isSelected := map[string]bool{}
	for _, w := range selected {
		if w.InProcess() {
			isSelected[w.Info.Name] = true
		}
	}
	for _, pair := range strings.Split(list, ",") {
		name, base, ok := strings.Cut(strings.TrimSpace(pair), "=")
		if !ok || name == "" || base == "" {
			return nil, fmt.Errorf("-wsh.remote %q: want NAME=ws://HOST:PORT", pair)
		}
		if !isSelected[name] {
			return nil, fmt.Errorf("-wsh.remote: %q is not a built-in target selected by -wsh.targets", name)
		}
		if _, dup := out[name]; dup {
			return nil, fmt.Errorf("-wsh.remote: %s given twice", name)
		}
		u, err := url.Parse(base)
		if err != nil || u.Scheme != "ws" || u.Hostname() == "" || u.Port() == "" || strings.Trim(u.Path, "/") != "" || u.RawQuery != "" || u.User != nil {
			return nil, fmt.Errorf("-wsh.remote %s=%s: want a ws://HOST:PORT base URL without a path", name, base)
		}
		out[name] = "ws://" + u.Host
	}
	return out, nil
}

func TestParseRemote(t *testing.T) {
	sel, err := engine.Resolve(engine.Request{Names: []string{"gorilla,gws"}})
	if err != nil {
		t.Fatal(err)
	}
	got, err := parseRemote(" gorilla=ws://gorilla:9001 , gws=ws://10.0.0.7:9001/", sel)
	if err != nil || len(got) != 2 || got["gorilla"] != "ws://gorilla:9001" || got["gws"] != "ws://10.0.0.7:9001" {
		t.Fatalf("got %v, %v", got, err)
	}
	if got, err := parseRemote("", sel); err != nil || len(got) != 0 {
		t.Fatalf("empty list: %v, %v", got, err)
	}
	for _, bad := range []string{
		"gorilla", "gorilla=", "=ws://x:1", "gobwas=ws://gobwas:9001", "nope=ws://x:1",
		"gorilla=ws://a:1,gorilla=ws://b:1", "gorilla=http://gorilla:9001", "gorilla=ws://gorilla",
		"gorilla=ws://gorilla:9001/echo", "gorilla=ws://u@gorilla:9001",
	} {
		if _, err := parseRemote(bad, sel); err == nil {
			t.Errorf("%q accepted", bad)
		}
	}
}
