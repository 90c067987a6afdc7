package targets

import (
	"bytes"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"sync"
	"time"

	"go.yaml.in/yaml/v3"

	"github.com/wsharness/wsharness/internal/procgroup"
	"github.com/wsharness/wsharness/wire"
)

// ErrTargetUnavailable marks an external target that cannot be used: an
// executable it requires is missing, its command did not start, exited
// before it served, or did not complete a WebSocket handshake in time.
// Test for it with errors.Is.
var ErrTargetUnavailable = errors.New("external target unavailable")

// ExternalFileVersion is the only version LoadExternal accepts.
const ExternalFileVersion = 1

// Defaults and limits of external targets. Variables so that tests can
// shorten them.
var (
	externalReadyTimeout = 10 * time.Second
	externalStopGrace    = 5 * time.Second
	// externalProbeInterval is the pause between two readiness attempts.
	externalProbeInterval = 50 * time.Millisecond
)

// externalTailLines is how many of the last output lines an error quotes.
const externalTailLines = 20

// ExternalSpec describes a server the user names: a command wsharness runs
// (or none, when the server already runs) and the ws:// URLs it serves.
type ExternalSpec struct {
	// Name identifies the target in listings and reports; it must not be
	// a built-in target's name.
	Name        string `yaml:"name"`
	Description string `yaml:"description,omitempty"`
	// Command is the program and its arguments, run without a shell. Empty
	// means the server already runs and is only addressed by EchoURL.
	Command []string `yaml:"command,omitempty"`
	// Dir is the command's working directory. In a file loaded by
	// LoadExternal it is relative to the file's directory, which is also
	// the default; a relative Command[0] such as ./server.sh is relative
	// to Dir.
	Dir string `yaml:"dir,omitempty"`
	// Env holds KEY=VALUE entries added to wsharness's own environment.
	Env []string `yaml:"env,omitempty"`
	// EchoURL is the ws:// (or wss://) URL of the echo endpoint (required);
	// BroadcastURL the optional broadcast endpoint's. Both must be on
	// 127.0.0.1 or localhost.
	EchoURL      string `yaml:"echo_url"`
	BroadcastURL string `yaml:"broadcast_url,omitempty"`
	// Requires names executables that must exist, e.g. "php" or
	// "/usr/bin/python3": a bare name is looked up on PATH, a path with a
	// slash is taken relative to Dir. Install is the hint shown when one
	// is missing, e.g. "apt-get install php-cli".
	Requires []string `yaml:"requires,omitempty"`
	Install  string   `yaml:"install,omitempty"`
	// Check is a command (run without a shell, in Dir, with Env, for at
	// most 15 s) that must exit 0 for the target to be available, e.g.
	// [/usr/bin/python3, -c, "import websockets"]: a runtime can be
	// installed while the library the server needs is not.
	Check []string `yaml:"check,omitempty"`
	// Bench false leaves the target out of the default bench target list
	// (a variant of a server already benchmarked); --targets can still
	// name it.
	Bench *bool `yaml:"bench,omitempty"`
	// MaxConnections, when set, is the most concurrent connections the
	// server is built to hold (a select()-based server stops at 1024
	// descriptors); load workloads that need more are skipped with a reason.
	MaxConnections int `yaml:"max_connections,omitempty"`
	// ReadyTimeout bounds how long the command gets to accept a WebSocket
	// handshake on EchoURL, e.g. "15s"; zero means 10 s.
	ReadyTimeout time.Duration `yaml:"ready_timeout,omitempty"`
	// Backend names a built-in target for a command that fronts one (a
	// proxy): Start runs it in process on 127.0.0.1:0 before the command,
	// puts its host:port in place of {backend} in Command and in Env
	// values, and Stop stops it after the command.
	Backend string `yaml:"backend,omitempty"`
}

// PlaceholderBackend in a target's command or env values is replaced by
// the host:port of its Backend.
const PlaceholderBackend = "{backend}"

// External is a Target whose server is a program the user names.
type External struct {
	Spec ExternalSpec
	// TLS configures the readiness probe's client when EchoURL is wss://
	// (the CA to trust, or no verification); nil uses the system roots.
	TLS *tls.Config
}

// OutputKeeper is a Running that keeps its server's output (standard
// output and standard error, the last 64 KiB) for reports.
type OutputKeeper interface {
	Output() string
}

// Info describes the target.
func (e External) Info() Info {
	desc := e.Spec.Description
	if desc == "" {
		if len(e.Spec.Command) > 0 {
			desc = "external server: " + strings.Join(e.Spec.Command, " ")
		} else {
			desc = "user server at " + e.Spec.EchoURL
		}
	}
	return Info{Name: e.Spec.Name, Library: "external", Description: desc}
}

// Available reports whether every executable the target requires exists
// and its Check command succeeds; when not, reason is a one-line
// explanation such as "php not installed (apt-get install php-cli)".
func (e External) Available() (ok bool, reason string) {
	var missing []string
	for _, r := range e.Spec.Requires {
		path := r
		if strings.Contains(r, "/") && !filepath.IsAbs(r) {
			path = filepath.Join(e.Spec.Dir, r)
		}
		if _, err := exec.LookPath(path); err != nil {
			missing = append(missing, r)
		}
	}
	if len(missing) > 0 {
		reason = strings.Join(missing, ", ") + " not installed"
	} else if err := e.runCheck(); err != nil {
		reason = err.Error()
	} else {
		return true, ""
	}
	if e.Spec.Install != "" {
		reason += " (" + e.Spec.Install + ")"
	}
	return false, reason
}

// externalCheckTimeout bounds a target's Check command.
const externalCheckTimeout = 15 * time.Second

// runCheck runs the spec's Check command, if any; its error is one line
// naming the command and quoting the last line it printed.
func (e External) runCheck() error {
	c := e.Spec.Check
	if len(c) == 0 {
		return nil
	}
	ctx, cancel := context.WithTimeout(context.Background(), externalCheckTimeout)
	defer cancel()
	cmd := exec.Command(c[0], c[1:]...)
	cmd.Dir = e.Spec.Dir
	cmd.Env = append(os.Environ(), e.Spec.Env...)
	check, err := procgroup.Start(cmd)
	if err != nil {
		return fmt.Errorf("check %q failed (%v)", strings.Join(c, " "), err)
	}
	if err = check.Wait(ctx, 0); err == nil {
		return nil
	}
	msg := fmt.Sprintf("check %q failed (%v)", strings.Join(c, " "), err)
	if ctx.Err() != nil {
		msg = fmt.Sprintf("check %q did not finish within %s", strings.Join(c, " "), externalCheckTimeout)
	}
	if line := check.FailureLine(); line != "" {
		msg += ": " + line
	}
	return errors.New(msg)
}

// Start makes the target reachable. addr is ignored: the command chooses
// its own address, the one in EchoURL. Without a Command, Start only
// returns the URLs. Otherwise it starts the Backend, if any, then runs the
// command in its own process group (which receives SIGTERM should
// wsharness die without stopping it), captures its output, and returns
// once a WebSocket opening handshake to EchoURL succeeds (over HTTP/2 for
// a ws+h2:// or wss+h2:// URL). Stopping the command stops the Backend.
//
// A missing required executable, a port already in use before the command
// starts, a command that cannot start, exits before serving or does not
// serve within ReadyTimeout returns an error for which
// errors.Is(err, ErrTargetUnavailable) holds, quoting the command's last
// output lines; an ended ctx returns an error wrapping ctx.Err().
func (e External) Start(ctx context.Context, _ string) (Running, error) {
	s := e.Spec
	if ok, reason := e.Available(); !ok {
		return nil, fmt.Errorf("target %s: %w: %s", s.Name, ErrTargetUnavailable, reason)
	}
	if len(s.Command) == 0 {
		return &externalURLs{echo: s.EchoURL, broadcast: s.BroadcastURL}, nil
	}
	u, err := url.Parse(s.EchoURL)
	if err != nil {
		return nil, fmt.Errorf("target %s: echo URL %q: %w", s.Name, s.EchoURL, err)
	}
	host := wire.HostPort(u)
	// Something already serving there would pass the readiness check in
	// place of the command.
	if c, err := net.DialTimeout("tcp", host, 200*time.Millisecond); err == nil {
		_ = c.Close()
		return nil, fmt.Errorf("target %s: %w: something already listens on %s", s.Name, ErrTargetUnavailable, host)
	}

	args, env := s.Command, s.Env
	var backend Running
	if s.Backend != "" {
		var addr string
		if backend, addr, err = startBackend(ctx, s); err != nil {
			return nil, err
		}
		fill := func(in []string) []string {
			out := make([]string, len(in))
			for i, a := range in {
				out[i] = strings.ReplaceAll(a, PlaceholderBackend, addr)
			}
			return out
		}
		args, env = fill(args), fill(env)
	}
	s.Env = env
	r, err := startProcess(s, args)
	if err != nil {
		if backend != nil {
			_ = backend.Stop(context.WithoutCancel(ctx))
		}
		return nil, err
	}
	r.backend, r.backendName = backend, s.Backend

	timeout := s.ReadyTimeout
	if timeout <= 0 {
		timeout = externalReadyTimeout
	}
	deadline := time.Now().Add(timeout)
	var lastErr error
	for {
		attempt := min(time.Until(deadline), 2*time.Second)
		if attempt <= 0 {
			break
		}
		actx, cancel := context.WithTimeout(ctx, attempt)
		err := probeWebSocket(actx, s.EchoURL, e.TLS)
		cancel()
		if err == nil {
			return r, nil
		}
		// A certificate the client refuses stays refused: waiting out the
		// deadline would only hide the reason behind a timeout.
		var refused *tls.CertificateVerificationError
		if errors.As(err, &refused) {
			_ = r.Stop(context.Background())
			return nil, r.unavailable(fmt.Sprintf("its certificate at %s is refused: %v", s.EchoURL, err))
		}
		// The last attempt gets only what is left of the deadline; cut
		// short, it says less than the one before it (a refused
		// connection, a handshake the server got wrong).
		if lastErr == nil || !errors.Is(err, context.DeadlineExceeded) {
			lastErr = err
		}
		select {
		case <-r.proc.Done():
			_ = r.Stop(context.Background())
			return nil, r.unavailable(fmt.Sprintf("exited before serving (%v)", r.proc.Err()))
		case <-ctx.Done():
			_ = r.Stop(context.Background())
			return nil, fmt.Errorf("start target %s: %w", s.Name, ctx.Err())
		case <-time.After(min(externalProbeInterval, max(time.Until(deadline), 0))):
		}
	}
	// The process may have exited during the last attempt.
	select {
	case <-r.proc.Done():
		_ = r.Stop(context.Background())
		return nil, r.unavailable(fmt.Sprintf("exited before serving (%v)", r.proc.Err()))
	default:
	}
	_ = r.Stop(context.Background())
	return nil, r.unavailable(fmt.Sprintf("no WebSocket handshake on %s within %s (last attempt: %v)", s.EchoURL, timeout, lastErr))
}

// startProcess runs args (a spec's command, its placeholders filled) in
// s.Dir with s.Env, in its own process group, keeping its output.
func startProcess(s ExternalSpec, args []string) (*externalRunning, error) {
	cmd := exec.Command(args[0], args[1:]...)
	cmd.Dir = s.Dir
	cmd.Env = append(os.Environ(), s.Env...)
	proc, err := procgroup.Start(cmd)
	if err != nil {
		return nil, fmt.Errorf("target %s: %w: start %q: %v", s.Name, ErrTargetUnavailable, args[0], err)
	}
	return &externalRunning{
		externalURLs: externalURLs{echo: s.EchoURL, broadcast: s.BroadcastURL},
		name:         s.Name,
		proc:         proc,
	}, nil
}

// externalURLs is a running external target's endpoints.
type externalURLs struct {
	echo, broadcast string
}

// URL returns EchoURL for EchoPath and BroadcastURL for BroadcastPath
// (empty when the target has none); any other path is taken on EchoURL's
// host.
func (u *externalURLs) URL(path string) string {
	switch path {
	case EchoPath:
		return u.echo
	case BroadcastPath:
		return u.broadcast
	}
	p, err := url.Parse(u.echo)
	if err != nil {
		return u.echo
	}
	return p.Scheme + "://" + p.Host + path
}

// Stop does nothing: wsharness did not start the server.
func (u *externalURLs) Stop(context.Context) error { return nil }

// externalRunning is an external target's running command.
type externalRunning struct {
	externalURLs
	name string
	proc *procgroup.Group
	// backend is the spec's Backend, running in process; nil without one.
	backend     Running
	backendName string
	backendStop sync.Once
}

// Output returns the command's last 64 KiB of standard output and error.
func (r *externalRunning) Output() string { return r.proc.Output() }

// PID is the started command's process ID, for sampling its CPU and
// memory (a wrapper script's own, not its children's).
func (r *externalRunning) PID() int { return r.proc.PID() }

// Stop ends the command: SIGTERM to its process group, SIGKILL after 5 s
// (or as soon as ctx ends), and returns once it has exited. Further calls
// return at once.
func (r *externalRunning) Stop(ctx context.Context) error {
	r.proc.Stop(ctx, externalStopGrace)
	var err error
	if r.backend != nil {
		// After the command, which may still be forwarding to it.
		r.backendStop.Do(func() {
			if err = r.backend.Stop(ctx); err != nil {
				err = fmt.Errorf("target %s: stop backend %s: %w", r.name, r.backendName, err)
			}
		})
	}
	return err
}

// startBackend starts s.Backend, a built-in target, on a free loopback
// port, and returns it with its host:port.
func startBackend(ctx context.Context, s ExternalSpec) (Running, string, error) {
	t, err := Lookup(s.Backend)
	if err != nil {
		return nil, "", fmt.Errorf("target %s: backend: %w", s.Name, err)
	}
	r, err := t.Start(ctx, "127.0.0.1:0")
	if err != nil {
		return nil, "", fmt.Errorf("target %s: start backend %s: %w", s.Name, s.Backend, err)
	}
	u, err := url.Parse(r.URL(EchoPath))
	if err != nil {
		_ = r.Stop(context.WithoutCancel(ctx))
		return nil, "", fmt.Errorf("target %s: backend %s: %w", s.Name, s.Backend, err)
	}
	return r, u.Host, nil
}

// unavailable returns an ErrTargetUnavailable error quoting the command's
// last output lines.
func (r *externalRunning) unavailable(what string) error {
	msg := fmt.Sprintf("%q %s", strings.Join(r.proc.Args(), " "), what)
	tail := r.proc.Tail(externalTailLines)
	if tail == "" {
		msg += "; it printed nothing"
	} else {
		msg += "; its last output:\n" + tail
	}
	return fmt.Errorf("target %s: %w: %s", r.name, ErrTargetUnavailable, msg)
}

// probeWebSocket performs one opening handshake on a ws:// or wss:// URL
// (with cfg) with the harness's own client (which checks the 101, Upgrade,
// Connection and Sec-WebSocket-Accept), then closes politely.
func probeWebSocket(ctx context.Context, raw string, cfg *tls.Config) error {
	timeout := 2 * time.Second
	if dl, ok := ctx.Deadline(); ok {
		timeout = time.Until(dl)
	}
	c, _, err := wire.Dial(ctx, raw, wire.Options{Timeout: timeout, TLS: cfg})
	if err != nil {
		return err
	}
	// The handshake succeeded, which is what readiness means: how the
	// close goes does not matter.
	_ = c.ClosePolitely(ctx, 500*time.Millisecond)
	return nil
}

// externalFile is the layout of an external targets file.
type externalFile struct {
	Version *int           `yaml:"version"`
	Targets []ExternalSpec `yaml:"targets"`
	// Clients are client test drivers (LoadExternalClients).
	Clients []ExternalSpec `yaml:"clients"`
	base    string         // the file's directory
}

// LoadExternal reads an external targets file: `version: 1` and a list of
// ExternalSpec under `targets`. It validates every entry (see
// ExternalSpec.Validate), rejects unknown fields and names that repeat or
// clash with a built-in target, and resolves each Dir against the file's
// directory.
func LoadExternal(path string) ([]External, error) {
	return loadEntries(path, "targets", func(f externalFile) []ExternalSpec { return f.Targets },
		ExternalSpec.Validate, func(s ExternalSpec) External { return External{Spec: s} })
}

// loadEntries reads one list of an external targets file (kind: targets
// or clients, picked by list): each entry checked by validate, names
// unique, the Dir of each entry with a command resolved against the
// file's directory, then made a T by wrap.
func loadEntries[T any](path, kind string, list func(externalFile) []ExternalSpec, validate func(ExternalSpec) error, wrap func(ExternalSpec) T) ([]T, error) {
	f, err := readExternalFile(path)
	if err != nil {
		return nil, err
	}
	seen := map[string]bool{}
	out := make([]T, 0, len(list(f)))
	for i, s := range list(f) {
		if err := validate(s); err != nil {
			return nil, fmt.Errorf("external %s %s: entry %d: %w", kind, path, i+1, err)
		}
		if seen[s.Name] {
			return nil, fmt.Errorf("external %s %s: entry %d: duplicate name %q", kind, path, i+1, s.Name)
		}
		seen[s.Name] = true
		if len(s.Command) > 0 {
			s.Dir = f.resolve(s.Dir)
		}
		out = append(out, wrap(s))
	}
	return out, nil
}

// readExternalFile reads an external targets file, checking its version.
func readExternalFile(path string) (externalFile, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return externalFile{}, fmt.Errorf("external targets: %w", err)
	}
	var f externalFile
	dec := yaml.NewDecoder(bytes.NewReader(b))
	dec.KnownFields(true)
	if err := dec.Decode(&f); err != nil && !errors.Is(err, io.EOF) {
		return externalFile{}, fmt.Errorf("external targets %s: %w", path, err)
	}
	if f.Version == nil {
		return externalFile{}, fmt.Errorf("external targets %s: no version (want version: %d)", path, ExternalFileVersion)
	}
	if *f.Version != ExternalFileVersion {
		return externalFile{}, fmt.Errorf("external targets %s: version %d, want %d", path, *f.Version, ExternalFileVersion)
	}
	if f.base, err = filepath.Abs(filepath.Dir(path)); err != nil {
		return externalFile{}, fmt.Errorf("external targets %s: %w", path, err)
	}
	return f, nil
}

// resolve makes a command's dir absolute, relative to the file's
// directory.
func (f externalFile) resolve(dir string) string {
	if filepath.IsAbs(dir) {
		return dir
	}
	return filepath.Join(f.base, dir)
}

// InBench reports whether the target belongs in a default bench run.
func (s ExternalSpec) InBench() bool { return s.Bench == nil || *s.Bench }

// ExternalFromFlags builds a target from command-line flags such as
// --target-cmd "php server.php 9105" --target-url ws://127.0.0.1:9105/echo.
// cmd is split into words like a shell would (quotes and backslashes
// honoured, nothing else) but is run without one; an empty cmd makes a
// URL-only target. An empty name means "external". The command runs in
// the current directory.
func ExternalFromFlags(name, cmd, echoURL string) (External, error) {
	if name == "" {
		name = "external"
	}
	words, err := SplitCommand(cmd)
	if err != nil {
		return External{}, fmt.Errorf("--target-cmd: %w", err)
	}
	s := ExternalSpec{Name: name, Command: words, EchoURL: echoURL}
	if err := s.Validate(); err != nil {
		return External{}, err
	}
	return External{Spec: s}, nil
}

var externalNameRE = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._-]*$`)

// Validate checks a spec: a name of letters, digits, '.', '_' and '-' that
// is no built-in target's; a ws:// EchoURL (and BroadcastURL, if any) on
// 127.0.0.1 or localhost with an explicit port; a Command whose program is
// not empty, or none; KEY=VALUE Env entries; no negative ReadyTimeout.
func (s ExternalSpec) Validate() error {
	if err := CheckName(s.Name); err != nil {
		return err
	}
	if s.EchoURL == "" {
		return fmt.Errorf("target %s: echo_url missing", s.Name)
	}
	if err := checkLoopbackWS(s.EchoURL); err != nil {
		return fmt.Errorf("target %s: echo_url: %w", s.Name, err)
	}
	if s.BroadcastURL != "" {
		if err := checkLoopbackWS(s.BroadcastURL); err != nil {
			return fmt.Errorf("target %s: broadcast_url: %w", s.Name, err)
		}
	}
	if len(s.Command) > 0 && strings.TrimSpace(s.Command[0]) == "" {
		return fmt.Errorf("target %s: command has an empty program name", s.Name)
	}
	if len(s.Command) == 0 && (s.Dir != "" || len(s.Env) > 0) {
		return fmt.Errorf("target %s: dir and env need a command", s.Name)
	}
	if err := s.checkRuntime(); err != nil {
		return err
	}
	if s.MaxConnections < 0 {
		return fmt.Errorf("target %s: negative max_connections", s.Name)
	}
	if s.ReadyTimeout < 0 {
		return fmt.Errorf("target %s: negative ready_timeout", s.Name)
	}
	return s.checkBackend()
}

// checkBackend accepts a Backend that is a built-in target's name, with a
// command that uses it: {backend} in an argument or an env value, and no
// {backend} without a Backend.
func (s ExternalSpec) checkBackend() error {
	used := slices.ContainsFunc(s.Command, hasBackend) || slices.ContainsFunc(s.Env, hasBackend)
	if s.Backend == "" {
		if used {
			return fmt.Errorf("target %s: %s in command or env, but no backend", s.Name, PlaceholderBackend)
		}
		return nil
	}
	if _, err := Lookup(s.Backend); err != nil {
		return fmt.Errorf("target %s: backend: %w", s.Name, err)
	}
	if !used {
		// A backend nothing is told about would run for nothing.
		return fmt.Errorf("target %s: backend %s: no %s in command or env", s.Name, s.Backend, PlaceholderBackend)
	}
	return nil
}

func hasBackend(arg string) bool { return strings.Contains(arg, PlaceholderBackend) }

// checkRuntime checks what says how to run the command: check, env and
// requires.
func (s ExternalSpec) checkRuntime() error {
	if len(s.Check) > 0 && strings.TrimSpace(s.Check[0]) == "" {
		return fmt.Errorf("target %s: check has an empty program name", s.Name)
	}
	for _, kv := range s.Env {
		if k, _, ok := strings.Cut(kv, "="); !ok || k == "" {
			return fmt.Errorf("target %s: env entry %q: want KEY=VALUE", s.Name, kv)
		}
	}
	for _, r := range s.Requires {
		if strings.TrimSpace(r) == "" {
			return fmt.Errorf("target %s: empty requires entry", s.Name)
		}
	}
	return nil
}

// CheckName accepts the name of a target that is not built in: letters,
// digits, '.', '_' and '-', and no built-in target's name.
func CheckName(name string) error {
	if !externalNameRE.MatchString(name) {
		return fmt.Errorf("target name %q: want letters, digits, '.', '_' or '-'", name)
	}
	for _, t := range Builtin() {
		if t.Info().Name == name {
			return fmt.Errorf("target %s: name taken by a built-in target", name)
		}
	}
	return nil
}

// checkLoopbackWS accepts a ws://, wss:// (HTTP/1.1), ws+h2:// or
// wss+h2:// (HTTP/2, RFC 8441) URL on 127.0.0.1 or localhost with a port.
func checkLoopbackWS(raw string) error {
	u, err := url.Parse(raw)
	if err != nil {
		return err
	}
	if !wire.KnownScheme(u.Scheme) {
		return fmt.Errorf("%q: want a URL with %s", raw, wire.SchemesText)
	}
	if h := u.Hostname(); h != "127.0.0.1" && !strings.EqualFold(h, "localhost") {
		return fmt.Errorf("%q: host %q is not 127.0.0.1 or localhost; external targets must listen on loopback only", raw, h)
	}
	if u.Port() == "" {
		return fmt.Errorf("%q: no port", raw)
	}
	if u.User != nil || u.Fragment != "" {
		return fmt.Errorf("%q: user info and fragments are not allowed", raw)
	}
	return nil
}

// SplitCommand splits a command line into words the way a POSIX shell
// would, for quoting only: words are separated by blanks; single quotes
// keep everything literally; double quotes keep everything but a
// backslash before ", \, $, ` or a newline; a backslash outside quotes
// keeps the next character. Nothing is expanded. An unterminated quote or
// a trailing backslash is an error.
func SplitCommand(s string) ([]string, error) {
	var words []string
	var cur strings.Builder
	inWord := false
	rs := []rune(s)
	for i := 0; i < len(rs); i++ {
		c := rs[i]
		switch {
		case c == ' ' || c == '\t' || c == '\n' || c == '\r':
			if inWord {
				words = append(words, cur.String())
				cur.Reset()
				inWord = false
			}
		case c == '\\':
			if i+1 >= len(rs) {
				return nil, errors.New("trailing backslash")
			}
			i++
			if rs[i] != '\n' { // backslash-newline continues the line
				cur.WriteRune(rs[i])
				inWord = true
			}
		case c == '\'':
			inWord = true
			j := i + 1
			for j < len(rs) && rs[j] != '\'' {
				j++
			}
			if j >= len(rs) {
				return nil, errors.New("unterminated single quote")
			}
			cur.WriteString(string(rs[i+1 : j]))
			i = j
		case c == '"':
			inWord = true
			j := i + 1
			for ; j < len(rs) && rs[j] != '"'; j++ {
				if rs[j] == '\\' && j+1 < len(rs) && strings.ContainsRune("\"\\$`\n", rs[j+1]) {
					j++
					if rs[j] != '\n' {
						cur.WriteRune(rs[j])
					}
					continue
				}
				cur.WriteRune(rs[j])
			}
			if j >= len(rs) {
				return nil, errors.New("unterminated double quote")
			}
			i = j
		default:
			cur.WriteRune(c)
			inWord = true
		}
	}
	if inWord {
		words = append(words, cur.String())
	}
	return words, nil
}
