package targets

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/wsharness/wsharness/wire"
)

// Placeholders in an external client's command: the fuzzing server's URL
// (ws://127.0.0.1:PORT, a spec's url) and the agent name to report.
const (
	PlaceholderURL   = "{url}"
	PlaceholderAgent = "{agent}"
)

// ExternalClient is a client test driver the user names: a command that
// speaks Autobahn's fuzzing-server protocol (getCaseCount, runCase 1..N,
// updateReports) against the URL it is handed, as library authors run
// their clients against wstest -m fuzzingserver. Its spec has no URLs.
type ExternalClient struct {
	Spec ExternalSpec
}

// Info describes the client.
func (c ExternalClient) Info() Info {
	desc := c.Spec.Description
	if desc == "" {
		desc = "external client driver: " + strings.Join(c.Spec.Command, " ")
	}
	return Info{Name: c.Spec.Name, Library: "external", Description: desc, Role: wire.Client}
}

// Agent is the client as a ClientAgent that the harness drives through
// Autobahn's protocol.
func (c ExternalClient) Agent() ClientAgent { return ClientAgent{Info: c.Info(), Drive: c.Drive} }

// Drive runs the command, url and agent put in place of its placeholders,
// in Dir with Env, until it exits or ctx ends (it is then stopped:
// SIGTERM to its process group, SIGKILL 5 s later). A missing runtime or a
// failed check returns an error for which errors.Is(err,
// ErrTargetUnavailable) holds; a command that exits non-zero returns an
// error quoting the line of its output that says why.
func (c ExternalClient) Drive(ctx context.Context, url, agent string) error {
	s := c.Spec
	if ok, reason := (External{Spec: s}).Available(); !ok {
		return fmt.Errorf("client %s: %w: %s", s.Name, ErrTargetUnavailable, reason)
	}
	args := make([]string, len(s.Command))
	for i, a := range s.Command {
		args[i] = strings.NewReplacer(PlaceholderURL, url, PlaceholderAgent, agent).Replace(a)
	}
	r, err := startProcess(s, args)
	if err != nil {
		return err
	}
	select {
	case <-r.proc.Done():
	case <-ctx.Done():
		_ = r.Stop(context.WithoutCancel(ctx))
		return fmt.Errorf("client %s: stopped: %w", s.Name, context.Cause(ctx))
	}
	if err := r.proc.Err(); err != nil {
		msg := fmt.Sprintf("client %s: %q exited (%v)", s.Name, strings.Join(args, " "), err)
		if line := r.proc.FailureLine(); line != "" {
			msg += ": " + line
		}
		return errors.New(msg)
	}
	return nil
}

// ValidateClient checks an external client's spec: a name as Validate
// wants it that no reference client has, a command with {url} in it, and
// none of the fields only a server has.
func (s ExternalSpec) ValidateClient() error {
	if err := CheckName(s.Name); err != nil {
		return err
	}
	if _, ok := LookupClient(s.Name); ok {
		return fmt.Errorf("client %s: name taken by a reference client", s.Name)
	}
	if len(s.Command) == 0 || strings.TrimSpace(s.Command[0]) == "" {
		return fmt.Errorf("client %s: command missing: the driver wsharness runs", s.Name)
	}
	if !slices.ContainsFunc(s.Command, func(a string) bool { return strings.Contains(a, PlaceholderURL) }) {
		return fmt.Errorf("client %s: command has no %s: the driver must be handed the fuzzing server's URL", s.Name, PlaceholderURL)
	}
	if s.EchoURL != "" || s.BroadcastURL != "" || s.Bench != nil || s.MaxConnections != 0 || s.ReadyTimeout != 0 || s.Backend != "" {
		return fmt.Errorf("client %s: echo_url, broadcast_url, bench, max_connections, ready_timeout and backend are for servers", s.Name)
	}
	return s.checkRuntime()
}

// LoadExternalClients reads the clients of an external targets file (see
// LoadExternal): each validated by ValidateClient, names unique, each Dir
// resolved against the file's directory.
func LoadExternalClients(path string) ([]ExternalClient, error) {
	// ValidateClient requires a command, so every Dir is resolved.
	return loadEntries(path, "clients", func(f externalFile) []ExternalSpec { return f.Clients },
		ExternalSpec.ValidateClient, func(s ExternalSpec) ExternalClient { return ExternalClient{Spec: s} })
}

// ClientRegistry returns the reference client agents and, when
// externalFile is not empty, the external clients it declares.
func ClientRegistry(externalFile string) ([]ClientAgent, error) {
	return withExternal(Clients(), externalFile, LoadExternalClients, ExternalClient.Agent)
}
