// Package testtarget starts reference targets for tests: in the test's own
// process, on a free loopback port, stopped when the test ends.
package testtarget

import (
	"context"
	"testing"

	"github.com/wsharness/wsharness/internal/selfsigned"
	"github.com/wsharness/wsharness/targets"
)

// Start serves the reference target name until the test ends; the test
// stops at once when it cannot.
func Start(t testing.TB, name string) targets.Running {
	t.Helper()
	r, err := mustLookup(t, name).Start(context.Background(), "127.0.0.1:0")
	return stopAtCleanup(t, r, err)
}

// StartTLS serves the reference target name over TLS, with a fresh
// self-signed certificate, until the test ends; the certificate tells a
// client what to trust.
func StartTLS(t testing.TB, name string) (targets.Running, *selfsigned.Cert) {
	t.Helper()
	cert, err := selfsigned.Generate()
	if err != nil {
		t.Fatal(err)
	}
	r, err := targets.StartTLS(context.Background(), mustLookup(t, name), "127.0.0.1:0", cert.ServerConfig())
	return stopAtCleanup(t, r, err), cert
}

func mustLookup(t testing.TB, name string) targets.Target {
	t.Helper()
	target, err := targets.Lookup(name)
	if err != nil {
		t.Fatal(err)
	}
	return target
}

func stopAtCleanup(t testing.TB, r targets.Running, err error) targets.Running {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = r.Stop(context.Background()) })
	return r
}
