package kubernetes

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/serializer"
	utilyaml "k8s.io/apimachinery/pkg/util/yaml"

	"github.com/wsharness/wsharness/loadgen"
)

// decoder is the API server's strict decoding for the kinds the
// manifests may hold: an unknown or misspelt field (encoding/json would
// match a wrong-case one), a duplicate field, or a kind outside these
// groups is an error.
var decoder = func() runtime.Decoder {
	scheme := runtime.NewScheme()
	for _, add := range []func(*runtime.Scheme) error{corev1.AddToScheme, appsv1.AddToScheme, batchv1.AddToScheme} {
		if err := add(scheme); err != nil {
			panic(err)
		}
	}
	return serializer.NewCodecFactory(scheme, serializer.EnableStrict).UniversalDeserializer()
}()

// loadJobFile holds the Indexed Job of the load workers.
const loadJobFile = "loadgen-job.yaml"

type object struct {
	file string
	obj  runtime.Object
}

// decodeAll renders every manifest with vars and decodes each of its YAML
// documents.
func decodeAll(manifests, vars map[string]string) ([]object, error) {
	var objs []object
	var errs []error
	for _, file := range slices.Sorted(maps.Keys(manifests)) {
		text, err := Render(manifests[file], vars)
		if err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", file, err))
			continue
		}
		r := utilyaml.NewYAMLReader(bufio.NewReader(strings.NewReader(text)))
		for i := 1; ; i++ {
			doc, err := r.Read()
			if err == io.EOF {
				break
			}
			if err != nil {
				errs = append(errs, fmt.Errorf("%s: %w", file, err))
				break
			}
			obj, _, err := decoder.Decode(doc, nil, nil)
			if err != nil {
				errs = append(errs, fmt.Errorf("%s, document %d: %w", file, i, err))
				continue
			}
			objs = append(objs, object{file, obj})
		}
	}
	return objs, errors.Join(errs...)
}

// check decodes the manifests and checks what the load runs on: the
// Indexed Job, the environment its pods give wsharness load, and the
// volumes and claims every pod mounts.
func check(manifests, vars map[string]string) error {
	objs, err := decodeAll(manifests, vars)
	if err != nil {
		return err
	}
	workers, err := strconv.Atoi(vars["WORKERS"])
	if err != nil {
		return fmt.Errorf("README.md's WORKERS %q: %v", vars["WORKERS"], err)
	}
	claims := map[string]*corev1.PersistentVolumeClaim{}
	for _, o := range objs {
		if pvc, ok := o.obj.(*corev1.PersistentVolumeClaim); ok {
			claims[pvc.Name] = pvc
		}
	}
	var errs []error
	loadJobs := 0
	for _, o := range objs {
		var name string
		var pod *corev1.PodTemplateSpec
		switch v := o.obj.(type) {
		case *batchv1.Job:
			name, pod = "job/"+v.Name, &v.Spec.Template
			if o.file == loadJobFile {
				loadJobs++
				for _, err := range checkLoadJob(v, workers, vars["START_AT"]) {
					errs = append(errs, fmt.Errorf("%s: %s: %w", o.file, name, err))
				}
			}
		case *appsv1.Deployment:
			name, pod = "deployment/"+v.Name, &v.Spec.Template
		default:
			continue
		}
		for _, err := range checkVolumes(pod, claims) {
			errs = append(errs, fmt.Errorf("%s: %s: %w", o.file, name, err))
		}
	}
	if loadJobs != 1 {
		errs = append(errs, fmt.Errorf("%s: %d Jobs, want the one Indexed Job of the load workers", loadJobFile, loadJobs))
	}
	return errors.Join(errs...)
}

// checkLoadJob checks what splitting the load over the Job's pods relies
// on (README.md, "How it works").
func checkLoadJob(job *batchv1.Job, workers int, startAt string) []error {
	var errs []error
	bad := func(format string, args ...any) { errs = append(errs, fmt.Errorf(format, args...)) }
	spec := job.Spec
	// Only an Indexed Job sets JOB_COMPLETION_INDEX, the worker index.
	if spec.CompletionMode == nil || *spec.CompletionMode != batchv1.IndexedCompletion {
		bad("completionMode %v, want %s: only then does each pod get %s", deref(spec.CompletionMode), batchv1.IndexedCompletion, loadgen.EnvJobIndex)
	}
	// Every index runs at once, each once: the windows must coincide.
	if spec.Completions == nil || spec.Parallelism == nil || *spec.Completions != *spec.Parallelism {
		bad("completions %v and parallelism %v differ: every worker must run at the same time", deref(spec.Completions), deref(spec.Parallelism))
	}
	if spec.Completions != nil && int(*spec.Completions) != workers {
		bad("completions %d, want WORKERS (%d)", *spec.Completions, workers)
	}
	// A retried worker would measure a different window.
	if spec.BackoffLimit == nil || *spec.BackoffLimit != 0 {
		bad("backoffLimit %v, want 0: a retried worker measures another window", deref(spec.BackoffLimit))
	}
	if p := job.Spec.Template.Spec.RestartPolicy; p != corev1.RestartPolicyNever {
		bad("restartPolicy %q, want %s", p, corev1.RestartPolicyNever)
	}
	// One worker per node where possible: the constraint must select the
	// Job's own pods.
	podLabels := labels.Set(job.Spec.Template.Labels)
	for _, c := range job.Spec.Template.Spec.TopologySpreadConstraints {
		sel, err := metav1.LabelSelectorAsSelector(c.LabelSelector)
		if err != nil || c.LabelSelector == nil || !sel.Matches(podLabels) {
			bad("topologySpreadConstraint over %s selects %s, not the Job's pods (%s)", c.TopologyKey, metav1.FormatLabelSelector(c.LabelSelector), podLabels)
		}
	}
	if len(job.Spec.Template.Spec.TopologySpreadConstraints) == 0 {
		bad("no topologySpreadConstraints: the workers may all land on one node")
	}

	// The environment wsharness load reads a worker's identity from. The
	// pods set the count and the start; the index comes from Kubernetes:
	// a pod that set it would give every worker the same one.
	reads := []string{loadgen.EnvWorkers, loadgen.EnvWorkerIndex, loadgen.EnvJobIndex, loadgen.EnvStartAt}
	want := map[string]string{loadgen.EnvWorkers: strconv.Itoa(workers), loadgen.EnvStartAt: startAt}
	setByKubernetes := []string{loadgen.EnvWorkerIndex, loadgen.EnvJobIndex}
	containers := job.Spec.Template.Spec.Containers
	if len(containers) != 1 {
		bad("%d containers, want the one worker", len(containers))
	}
	for _, c := range containers {
		if len(c.EnvFrom) > 0 {
			bad("container %s: envFrom: the environment must be visible here", c.Name)
		}
		seen := map[string]bool{}
		for _, e := range c.Env {
			seen[e.Name] = true
			switch {
			case slices.Contains(setByKubernetes, e.Name):
				bad("container %s sets %s: every pod would get the same worker index; in Indexed mode Kubernetes sets %s", c.Name, e.Name, loadgen.EnvJobIndex)
			case !slices.Contains(reads, e.Name):
				bad("container %s sets %s, which wsharness load does not read (it reads %s)", c.Name, e.Name, strings.Join(reads, ", "))
			case e.ValueFrom != nil || e.Value != want[e.Name]:
				bad("container %s: %s=%q, want %q", c.Name, e.Name, e.Value, want[e.Name])
			}
		}
		for _, n := range slices.Sorted(maps.Keys(want)) {
			if !seen[n] {
				bad("container %s does not set %s", c.Name, n)
			}
		}
	}
	return errs
}

// checkVolumes checks that every mount names a volume of the pod and
// every claim it uses is one the manifests create, shared across nodes.
func checkVolumes(pod *corev1.PodTemplateSpec, claims map[string]*corev1.PersistentVolumeClaim) []error {
	var errs []error
	volumes := map[string]corev1.Volume{}
	for _, v := range pod.Spec.Volumes {
		volumes[v.Name] = v
		if v.PersistentVolumeClaim == nil {
			continue
		}
		pvc, ok := claims[v.PersistentVolumeClaim.ClaimName]
		switch {
		case !ok:
			errs = append(errs, fmt.Errorf("volume %s uses claim %q, which no manifest creates", v.Name, v.PersistentVolumeClaim.ClaimName))
		case !slices.Contains(pvc.Spec.AccessModes, corev1.ReadWriteMany):
			errs = append(errs, fmt.Errorf("claim %s is %v, not ReadWriteMany: pods on several nodes write to it", pvc.Name, pvc.Spec.AccessModes))
		}
	}
	for _, c := range append(pod.Spec.InitContainers, pod.Spec.Containers...) {
		for _, m := range c.VolumeMounts {
			if _, ok := volumes[m.Name]; !ok {
				errs = append(errs, fmt.Errorf("container %s mounts volume %q at %s, which the pod does not declare", c.Name, m.Name, m.MountPath))
			}
		}
	}
	return errs
}

func deref[T any](p *T) any {
	if p == nil {
		return "unset"
	}
	return *p
}

func load(t *testing.T) (manifests, vars map[string]string) {
	t.Helper()
	manifests, err := Files()
	if err != nil {
		t.Fatal(err)
	}
	if vars, err = Vars(); err != nil {
		t.Fatal(err)
	}
	return manifests, vars
}

func TestManifests(t *testing.T) {
	manifests, vars := load(t)
	// Every file here is a manifest, the README or this package.
	entries, err := os.ReadDir(".")
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		n := e.Name()
		if _, ok := manifests[n]; !ok && n != "README.md" && filepath.Ext(n) != ".go" {
			t.Errorf("%s is not checked: only *.yaml files are taken as manifests", n)
		}
	}
	if err := check(manifests, vars); err != nil {
		t.Fatal(err)
	}
	objs, _ := decodeAll(manifests, vars)
	var kinds []string
	for _, o := range objs {
		kinds = append(kinds, o.file+":"+o.obj.GetObjectKind().GroupVersionKind().Kind)
	}
	t.Logf("decoded %s", strings.Join(kinds, ", "))
}

// TestManifestCheckCatchesMistakes makes one mistake at a time in the real
// manifests and expects check to report it.
func TestManifestCheckCatchesMistakes(t *testing.T) {
	manifests, vars := load(t)
	for _, m := range []struct {
		what, file, old, new, want string
	}{
		{"misspelt field", loadJobFile, "  backoffLimit: 0", "  backofLimit: 0", `unknown field "spec.backofLimit"`},
		{"field in the wrong case", loadJobFile, "completionMode: Indexed", "completionmode: Indexed", `unknown field "spec.completionmode"`},
		{"duplicate field", loadJobFile, "  backoffLimit: 0", "  backoffLimit: 0\n  backoffLimit: 1", `"backoffLimit" already set`},
		{"unknown kind", "target.yaml", "kind: Service", "kind: Servic", `no kind "Servic"`},
		{"placeholder missing from README", "merge-job.yaml", "image: ${IMAGE}", "image: ${IMAGES}", "${IMAGES} is not in README.md's vars"},
		{"NonIndexed", loadJobFile, "completionMode: Indexed", "completionMode: NonIndexed", "want Indexed"},
		{"completionMode unset", loadJobFile, "  completionMode: Indexed\n", "", "completionMode unset"},
		{"completions != parallelism", loadJobFile, "parallelism: ${WORKERS}", "parallelism: 2", "differ"},
		{"completions != WORKERS", loadJobFile, "completions: ${WORKERS}\n  parallelism: ${WORKERS}", "completions: 3\n  parallelism: 3", "want WORKERS"},
		{"retried", loadJobFile, "  backoffLimit: 0", "  backoffLimit: 2", "backoffLimit 2"},
		{"spread over other pods", loadJobFile, "matchLabels: {app.kubernetes.io/name: wsharness-load}", "matchLabels: {app.kubernetes.io/name: wsharness-loader}", "not the Job's pods"},
		{"env name the loader does not read", loadJobFile, "name: WSH_WORKERS,", "name: WSH_WORKER_COUNT,", "does not read"},
		{"worker count env differs from WORKERS", loadJobFile, `{name: WSH_WORKERS, value: "${WORKERS}"}`, `{name: WSH_WORKERS, value: "2"}`, `WSH_WORKERS="2", want "4"`},
		{"start time unset", loadJobFile, "            - {name: WSH_START_AT, value: \"${START_AT}\"}\n", "", "does not set WSH_START_AT"},
		{"index set by hand", loadJobFile, "            - {name: WSH_START_AT,", "            - {name: WSH_WORKER_INDEX, value: \"0\"}\n            - {name: WSH_START_AT,", "same worker index"},
		{"mount of an undeclared volume", loadJobFile, "volumeMounts: [{name: results,", "volumeMounts: [{name: result,", `volume "result"`},
		{"claim no manifest creates", "merge-job.yaml", "claimName: wsharness-results", "claimName: wsharness-result", `claim "wsharness-result"`},
		{"claim not shared across nodes", loadJobFile, "accessModes: [ReadWriteMany]", "accessModes: [ReadWriteOnce]", "not ReadWriteMany"},
	} {
		t.Run(m.what, func(t *testing.T) {
			if n := strings.Count(manifests[m.file], m.old); n != 1 {
				t.Fatalf("%s holds %q %d times, want once: update this mutation", m.file, m.old, n)
			}
			mutated := maps.Clone(manifests)
			mutated[m.file] = strings.Replace(manifests[m.file], m.old, m.new, 1)
			err := check(mutated, vars)
			if err == nil || !strings.Contains(err.Error(), m.want) {
				t.Fatalf("check: %v, want an error containing %q", err, m.want)
			}
		})
	}
}
