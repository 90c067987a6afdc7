package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"maps"
	"path"
	"slices"
	"strings"
	"testing"

	"go.yaml.in/yaml/v3"

	"github.com/wsharness/wsharness/docs/kubernetes"
)

// The command lines of docs/kubernetes, filled in as its README says, are
// parsed with the CLI's own flags. docs/kubernetes/manifests_test.go
// checks the manifests themselves against the Kubernetes API types.

// podManifest is the part of a Job or Deployment that runs wsharness.
type podManifest struct {
	Kind     string
	Metadata struct{ Name string }
	Spec     struct {
		Template struct {
			Spec struct {
				Containers []struct {
					Name           string
					Command        []string
					Args           []string
					ReadinessProbe *probeManifest `yaml:"readinessProbe"`
					LivenessProbe  *probeManifest `yaml:"livenessProbe"`
					StartupProbe   *probeManifest `yaml:"startupProbe"`
					VolumeMounts   []struct {
						MountPath string `yaml:"mountPath"`
					} `yaml:"volumeMounts"`
				}
			}
		}
	}
}

type probeManifest struct {
	Exec *struct{ Command []string }
}

// binary is the image's ENTRYPOINT (docker/Dockerfile), and the only
// program in it.
const binary = "/wsharness"

// commandFlags returns the flag set the command parses its arguments
// with, made by running it with -h alone.
func commandFlags(name string) (*flag.FlagSet, error) {
	cmd, ok := commands[name]
	if !ok {
		return nil, fmt.Errorf("no command %q", name)
	}
	var made []*flag.FlagSet
	flagSetMade = func(fs *flag.FlagSet) { made = append(made, fs) }
	defer func() { flagSetMade = nil }()
	if err := cmd.run([]string{"-h"}, io.Discard, io.Discard); !errors.Is(err, flag.ErrHelp) || len(made) != 1 {
		return nil, fmt.Errorf("wsharness %s -h: %v and %d flag sets, want flag.ErrHelp from one", name, err, len(made))
	}
	return made[0], nil
}

// checkCommandLines parses every wsharness command line of the manifests
// and checks that the files the load and merge commands write and read
// lie on a mounted volume (the root filesystem is read-only).
func checkCommandLines(manifests, vars map[string]string) (int, error) {
	var errs []error
	lines := 0
	for _, file := range slices.Sorted(maps.Keys(manifests)) {
		text, err := kubernetes.Render(manifests[file], vars)
		if err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", file, err))
			continue
		}
		dec := yaml.NewDecoder(strings.NewReader(text))
		for {
			var m podManifest
			if err := dec.Decode(&m); err == io.EOF {
				break
			} else if err != nil {
				errs = append(errs, fmt.Errorf("%s: %w", file, err))
				break
			}
			for _, c := range m.Spec.Template.Spec.Containers {
				where := fmt.Sprintf("%s: %s/%s, container %s", file, strings.ToLower(m.Kind), m.Metadata.Name, c.Name)
				var mounts []string
				for _, v := range c.VolumeMounts {
					mounts = append(mounts, v.MountPath)
				}
				argv := c.Args
				if len(c.Command) > 0 {
					argv = append(slices.Clone(c.Command), c.Args...)
					if argv[0] != binary {
						errs = append(errs, fmt.Errorf("%s runs %s: the image holds only %s", where, argv[0], binary))
						continue
					}
					argv = argv[1:]
				}
				all := [][]string{argv}
				for _, p := range []*probeManifest{c.ReadinessProbe, c.LivenessProbe, c.StartupProbe} {
					if p == nil || p.Exec == nil {
						continue
					}
					if len(p.Exec.Command) == 0 || p.Exec.Command[0] != binary {
						errs = append(errs, fmt.Errorf("%s: probe runs %v: the image holds only %s", where, p.Exec.Command, binary))
						continue
					}
					all = append(all, p.Exec.Command[1:])
				}
				for _, argv := range all {
					lines++
					if err := checkCommandLine(argv, mounts); err != nil {
						errs = append(errs, fmt.Errorf("%s: wsharness %s: %w", where, strings.Join(argv, " "), err))
					}
				}
			}
		}
	}
	return lines, errors.Join(errs...)
}

func checkCommandLine(argv, mounts []string) error {
	if len(argv) == 0 {
		return errors.New("no command: the image's default is help")
	}
	fs, err := commandFlags(argv[0])
	if err != nil {
		return err
	}
	if err := fs.Parse(argv[1:]); err != nil {
		return err
	}
	var files []string
	switch argv[0] {
	case "load":
		out := fs.Lookup("out").Value.String()
		if !strings.Contains(out, indexPlaceholder) {
			return fmt.Errorf("--out %q lacks %s: every worker would write the same file", out, indexPlaceholder)
		}
		if flagSet(fs, "worker-index") {
			return errors.New("--worker-index given: every pod would be the same worker; Kubernetes gives each its index")
		}
		files = []string{out}
	case "merge":
		files = append([]string{fs.Lookup("out").Value.String()}, fs.Args()...)
	}
	for _, f := range files {
		if f != "" && !slices.ContainsFunc(mounts, func(m string) bool { return f == m || strings.HasPrefix(f, path.Clean(m)+"/") }) {
			return fmt.Errorf("%s is on no mounted volume (mounts: %v)", f, mounts)
		}
	}
	return nil
}

func kubernetesManifests(t *testing.T) (manifests, vars map[string]string) {
	t.Helper()
	manifests, err := kubernetes.Files()
	if err != nil {
		t.Fatal(err)
	}
	if vars, err = kubernetes.Vars(); err != nil {
		t.Fatal(err)
	}
	return manifests, vars
}

func TestKubernetesCommandLines(t *testing.T) {
	manifests, vars := kubernetesManifests(t)
	n, err := checkCommandLines(manifests, vars)
	if err != nil {
		t.Fatal(err)
	}
	// load, merge, serve and its readiness probe.
	if n != 4 {
		t.Fatalf("%d wsharness command lines, want 4", n)
	}
}

// TestKubernetesCommandLineCheckCatchesMistakes makes one mistake at a
// time in the real manifests and expects checkCommandLines to report it.
func TestKubernetesCommandLineCheckCatchesMistakes(t *testing.T) {
	manifests, vars := kubernetesManifests(t)
	for _, m := range []struct {
		what, file, old, new, want string
	}{
		{"unknown load flag", "loadgen-job.yaml", "- --warmup=2s", "- --warm-up=2s", "flag provided but not defined: -warm-up"},
		{"value of the wrong type", "loadgen-job.yaml", "--duration=${DURATION}", "--duration=${CONNS}", `invalid value "40000" for flag -duration`},
		{"unknown merge flag", "merge-job.yaml", "[merge, --out,", "[merge, --output,", "flag provided but not defined: -output"},
		{"unknown probe flag", "target.yaml", "probe, --quiet,", "probe, --silent,", "flag provided but not defined: -silent"},
		{"unknown command", "target.yaml", "args: [serve,", "args: [server,", `no command "server"`},
		{"one file for every worker", "loadgen-job.yaml", "--out=/out/worker-{index}.json", "--out=/out/worker.json", "every worker would write the same file"},
		{"worker index by flag", "loadgen-job.yaml", "- --warmup=2s", "- --warmup=2s\n            - --worker-index=0", "every pod would be the same worker"},
		{"results off the volume", "loadgen-job.yaml", "--out=/out/worker-{index}.json", "--out=/results/worker-{index}.json", "on no mounted volume"},
		{"merge reads off the volume", "merge-job.yaml", "/out/merged.json, /out]", "/out/merged.json, /results]", "/results is on no mounted volume"},
	} {
		t.Run(m.what, func(t *testing.T) {
			if n := strings.Count(manifests[m.file], m.old); n != 1 {
				t.Fatalf("%s holds %q %d times, want once: update this mutation", m.file, m.old, n)
			}
			mutated := maps.Clone(manifests)
			mutated[m.file] = strings.Replace(manifests[m.file], m.old, m.new, 1)
			_, err := checkCommandLines(mutated, vars)
			if err == nil || !strings.Contains(err.Error(), m.want) {
				t.Fatalf("checkCommandLines: %v, want an error containing %q", err, m.want)
			}
		})
	}
}
