package targets_test

import (
	"os"
	"regexp"
	"slices"
	"strings"
	"testing"

	"go.yaml.in/yaml/v3"

	"github.com/wsharness/wsharness/conformance/browser/chromium"
	"github.com/wsharness/wsharness/conformance/expect"
	"github.com/wsharness/wsharness/targets"
)

// The files below cannot ask the registry for its names: compose YAML,
// shell and make. These tests hold what they name to it, so that a target
// renamed, added to Configured or dropped fails here rather than in a
// container.

// readRepoFile reads a file by its path from the repository root.
func readRepoFile(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile("../" + path)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// nameSeparators split a list of names as the files write them: in
// words, quoted, between brackets, or as shell alternatives.
var nameSeparators = regexp.MustCompile(`[\s,|"'\[\]]+`)

// namesIn returns, for every match of pattern in text, the names its first
// group lists; the words "and", "or" and "--target" between them are not
// names.
func namesIn(text string, pattern *regexp.Regexp) [][]string {
	var lists [][]string
	for _, m := range pattern.FindAllStringSubmatch(text, -1) {
		var names []string
		for _, w := range nameSeparators.Split(m[1], -1) {
			if w != "" && w != "and" && w != "or" && w != "--target" {
				names = append(names, w)
			}
		}
		lists = append(lists, names)
	}
	return lists
}

func TestFilesNameTheRegistry(t *testing.T) {
	configured := targets.Names(targets.Configured())
	var readmeVariants []string // each library as its README runs it
	for _, tg := range targets.Builtin() {
		if tg.Info().Default {
			readmeVariants = append(readmeVariants, tg.Info().Name)
		}
	}
	for _, row := range []struct {
		file    string
		pattern string // group 1 lists names
		// want is the list every match must name, in order; with one,
		// every match names one of its names instead.
		want []string
		one  bool
	}{
		{file: ".ci/compose.sh", pattern: `assert names == \[(.*?)\]`, want: configured},
		{file: "scripts/compose-conformance.sh", pattern: `(?m)^compose up -d (.+)$`, want: configured},
		{file: "scripts/compose-conformance.sh", pattern: `(?m)^wait_healthy (.+)$`, want: configured},
		{file: "scripts/compose-conformance.sh", pattern: `(?m)^echo "== compose: .* against (.+)"$`, want: configured},
		{file: "scripts/compose-bench.sh", pattern: `case "\$target" in (.+?)\)`, want: configured},
		{file: "scripts/compose-bench.sh", pattern: `LOAD_TARGET=\$target: want (.+?)" >&2`, want: configured},
		{file: "scripts/compose-bench.sh", pattern: `\$\{WSH_LOAD_TARGET:-(.+?)\}`, want: configured, one: true},
		{file: "Makefile", pattern: `(?m)^LOAD_TARGET\s*\?= (.+)$`, want: configured, one: true},
		{file: "docker-compose.yml", pattern: `\$\{WSH_LOAD_TARGET:-(.+?)\}`, want: configured, one: true},
		{file: ".ci/binary-only.sh", pattern: `\./wsharness conformance ((?:--target \S+ )+)`, want: configured},
		{file: ".ci/binary-only.sh", pattern: `--profile full on (.+?): exit`, want: configured},
		{file: ".ci/binary-only.sh", pattern: `\./wsharness serve --target (\S+)`, want: configured, one: true},
		{file: ".ci/defective-server.sh", pattern: `wsharness serve --target (\S+)`, want: readmeVariants, one: true},
	} {
		lists := namesIn(readRepoFile(t, row.file), regexp.MustCompile(row.pattern))
		if len(lists) == 0 {
			t.Errorf("%s: nothing matches %s: update this test with the file", row.file, row.pattern)
		}
		for _, got := range lists {
			switch {
			case row.one && (len(got) != 1 || !slices.Contains(row.want, got[0])):
				t.Errorf("%s: %s names %v, want one of %v", row.file, row.pattern, got, row.want)
			case !row.one && !slices.Equal(got, row.want):
				t.Errorf("%s: %s names %v, want %v", row.file, row.pattern, got, row.want)
			}
		}
	}
}

// composeService is what the test reads of a docker-compose.yml service.
type composeService struct {
	Command   []string       `yaml:"command"`
	DependsOn map[string]any `yaml:"depends_on"`
}

// docker-compose.yml serves every configured target, under its own name,
// and its jobs test exactly those.
func TestComposeServesTheConfiguredTargets(t *testing.T) {
	configured := targets.Names(targets.Configured())
	var file struct {
		Services yaml.Node `yaml:"services"`
	}
	if err := yaml.Unmarshal([]byte(readRepoFile(t, "docker-compose.yml")), &file); err != nil {
		t.Fatal(err)
	}
	var served []string
	jobs := map[string]composeService{}
	for i := 0; i+1 < len(file.Services.Content); i += 2 {
		name := file.Services.Content[i].Value
		var svc composeService
		if err := file.Services.Content[i+1].Decode(&svc); err != nil {
			t.Fatalf("service %s: %v", name, err)
		}
		if len(svc.Command) == 0 || svc.Command[0] != "serve" {
			jobs[name] = svc
			continue
		}
		served = append(served, name)
		if i := slices.Index(svc.Command, "--target"); i < 0 || i+1 == len(svc.Command) || svc.Command[i+1] != name {
			t.Errorf("service %s: %v does not serve the target %s", name, svc.Command, name)
		}
	}
	if !slices.Equal(served, configured) {
		t.Errorf("docker-compose.yml serves %v, want targets.Configured(): %v", served, configured)
	}
	// flagNames returns the names a job's flag lists: NAME or NAME=URL,
	// comma-separated or the flag repeated.
	flagNames := func(svc composeService, flag string) []string {
		var names []string
		for _, arg := range svc.Command {
			if value, ok := strings.CutPrefix(arg, flag+"="); ok {
				for item := range strings.SplitSeq(value, ",") {
					name, _, _ := strings.Cut(item, "=")
					names = append(names, name)
				}
			}
		}
		return names
	}
	for _, c := range []struct{ job, flag string }{
		{"conformance", "-wsh.targets"},
		{"conformance", "-wsh.remote"},
		{"conformance-cli", "--url"},
	} {
		if got := flagNames(jobs[c.job], c.flag); !slices.Equal(got, configured) {
			t.Errorf("service %s: %s names %v, want %v", c.job, c.flag, got, configured)
		}
	}
	for name, svc := range jobs {
		var deps []string
		for dep := range svc.DependsOn {
			deps = append(deps, dep)
		}
		if slices.Sort(deps); !slices.Equal(deps, slices.Sorted(slices.Values(configured))) {
			t.Errorf("service %s depends on %v, want %v", name, deps, configured)
		}
	}
}

// .ci/run's full client matrix, the Go and C agents by make and the rest
// by wsharness conformance, names registered client agents, each once. (A
// new agent need not be added there: make conformance-clients, which CI
// runs first, judges every agent in the default profile.)
func TestCIClientMatrixNamesRegisteredAgents(t *testing.T) {
	registry, err := targets.ClientRegistry("../" + targets.DefaultExternalFile)
	if err != nil {
		t.Fatal(err)
	}
	known := []string{chromium.ClientName}
	for _, a := range registry {
		known = append(known, a.Name)
	}
	run := readRepoFile(t, ".ci/run")
	var named []string
	for _, list := range namesIn(run, regexp.MustCompile(`make conformance-clients PROFILE=full AGENTS=(\S+)`)) {
		named = append(named, list...)
	}
	for _, list := range namesIn(run, regexp.MustCompile(`--client (\S+)`)) {
		named = append(named, list...)
	}
	if len(named) == 0 {
		t.Fatal(".ci/run: no client matrix found: update this test with the file")
	}
	for i, name := range named {
		if !slices.Contains(known, name) {
			t.Errorf(".ci/run judges %q, which is no registered client agent (%v)", name, known)
		}
		if slices.Contains(named[:i], name) {
			t.Errorf(".ci/run judges %q twice", name)
		}
	}
}

// Every target expectations.yaml lists deviations for is registered: a
// built-in or external target, or a client agent. The configured targets
// have none: they must pass.
func TestExpectationsNameRegisteredTargets(t *testing.T) {
	list, err := expect.Parse(targets.Expectations)
	if err != nil {
		t.Fatal(err)
	}
	servers, err := targets.Registry("../" + targets.DefaultExternalFile)
	if err != nil {
		t.Fatal(err)
	}
	clients, err := targets.ClientRegistry("../" + targets.DefaultExternalFile)
	if err != nil {
		t.Fatal(err)
	}
	known := append(targets.Names(servers), chromium.ClientName)
	for _, a := range clients {
		known = append(known, a.Name)
	}
	for name := range list {
		if !slices.Contains(known, name) {
			t.Errorf("expectations.yaml lists %q, which is no registered target or client agent", name)
		}
	}
	for _, name := range targets.Names(targets.Configured()) {
		if len(list[name]) > 0 {
			t.Errorf("expectations.yaml lists deviations of %s, a configured target that must pass", name)
		}
	}
}
