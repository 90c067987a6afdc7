// Package kubernetes holds the Kubernetes manifests of this directory for
// the tests that check them, filled in the way README.md tells users to.
// No cluster runs in CI: manifests_test.go decodes them strictly against
// the Kubernetes API types and checks what the Indexed Job relies on, and
// cmd/wsharness/kubernetes_test.go parses their wsharness command lines
// with the CLI's own flags. Only tests import it.
package kubernetes

import (
	"embed"
	"fmt"
	"io/fs"
	"regexp"
	"strconv"
	"strings"
	"time"
)

//go:embed *.yaml README.md
var files embed.FS

// Files returns every manifest (*.yaml) of the directory as written, by
// file name.
func Files() (map[string]string, error) {
	names, err := fs.Glob(files, "*.yaml")
	if err != nil {
		return nil, err
	}
	out := make(map[string]string, len(names))
	for _, n := range names {
		b, err := files.ReadFile(n)
		if err != nil {
			return nil, err
		}
		out[n] = string(b)
	}
	return out, nil
}

var (
	varsLine = regexp.MustCompile(`(?m)^vars='([^']*)'`)
	// The README computes START_AT with date(1), a number of seconds ahead.
	dateCmd = regexp.MustCompile(`^\$\(date -u -d '\+(\d+) sec' \+%Y-%m-%dT%H:%M:%SZ\)$`)
	varRef  = regexp.MustCompile(`\$\{([A-Za-z_][A-Za-z0-9_]*)\}|\$([A-Za-z_][A-Za-z0-9_]*)`)
)

// Vars returns the values README.md's "Running it" exports for the
// variables its envsubst list ($vars) names. START_AT, which it computes
// with date(1), is that many seconds from now, formatted as date prints it.
func Vars() (map[string]string, error) {
	b, err := files.ReadFile("README.md")
	if err != nil {
		return nil, err
	}
	text := strings.ReplaceAll(string(b), "\\\n", " ")
	m := varsLine.FindStringSubmatch(text)
	if m == nil {
		return nil, fmt.Errorf("README.md: no vars='$NAME ...' line, the list envsubst is given")
	}
	exported := map[string]string{}
	for _, line := range strings.Split(text, "\n") {
		line = strings.TrimSpace(line)
		if !strings.HasPrefix(line, "export ") {
			continue
		}
		if name, cmd, ok := strings.Cut(strings.TrimPrefix(line, "export "), "=$("); ok {
			cmd, _, _ = strings.Cut(cmd, "#")
			d := dateCmd.FindStringSubmatch("$(" + strings.TrimSpace(cmd))
			if d == nil {
				return nil, fmt.Errorf("README.md: %s is computed by a command this package cannot run: %s", name, line)
			}
			secs, _ := strconv.Atoi(d[1])
			exported[name] = time.Now().UTC().Add(time.Duration(secs) * time.Second).Format("2006-01-02T15:04:05Z")
			continue
		}
		for _, f := range strings.Fields(strings.TrimPrefix(line, "export ")) {
			if name, value, ok := strings.Cut(f, "="); ok {
				exported[name] = value
			}
		}
	}
	vars := map[string]string{}
	for _, f := range strings.Fields(m[1]) {
		name := strings.TrimPrefix(f, "$")
		v, ok := exported[name]
		if !ok {
			return nil, fmt.Errorf("README.md: $%s is in vars but no export line sets it", name)
		}
		vars[name] = v
	}
	return vars, nil
}

// Render substitutes vars in a manifest as `envsubst "$vars"` does:
// $NAME and ${NAME} for the names in vars, anything else left as it is.
// A ${NAME} left over is an error: envsubst would pass it on verbatim.
func Render(manifest string, vars map[string]string) (string, error) {
	out := varRef.ReplaceAllStringFunc(manifest, func(ref string) string {
		m := varRef.FindStringSubmatch(ref)
		if v, ok := vars[m[1]+m[2]]; ok {
			return v
		}
		return ref
	})
	if m := varRef.FindStringSubmatch(out); m != nil && m[1] != "" {
		return "", fmt.Errorf("placeholder %s is not in README.md's vars list, so envsubst leaves it in", m[0])
	}
	return out, nil
}
