package main

import (
	"context"
	"fmt"
	"io"
	"time"

	"github.com/wsharness/wsharness/wire"
)

// runProbe checks that a URL completes a WebSocket opening handshake: the
// container healthcheck, usable from a FROM scratch image with no shell or
// curl.
func runProbe(args []string, stdout, stderr io.Writer) error {
	fs := newFlags("probe", "[--timeout D] [--ca FILE | --insecure] ws://HOST:PORT/PATH | wss://HOST:PORT/PATH", stderr)
	timeout := fs.Duration("timeout", 2*time.Second, "how long the TCP connect and the handshake may take together")
	quiet := fs.Bool("quiet", false, "print nothing on success")
	tlsOpts := addTLSFlags(fs)
	if err := parse(fs, args); err != nil {
		return err
	}
	if fs.NArg() != 1 {
		return usageError("want exactly one URL, got %d arguments", fs.NArg())
	}
	raw := fs.Arg(0)
	if err := checkWSURL("URL", raw); err != nil {
		return err
	}
	tlsConfig, err := tlsOpts.config()
	if err != nil {
		return err
	}
	if *timeout <= 0 || *timeout > time.Minute {
		return usageError("--timeout %v: want more than 0 and at most 1m", *timeout)
	}
	ctx, cancel := context.WithTimeout(context.Background(), *timeout)
	defer cancel()
	start := time.Now()
	c, _, err := wire.Dial(ctx, raw, wire.Options{Timeout: *timeout, TLS: tlsConfig})
	if err != nil {
		return &exitError{code: exitUnreachable, err: fmt.Errorf("%s: %w", raw, err)}
	}
	elapsed := time.Since(start)
	_ = c.ClosePolitely(ctx, 200*time.Millisecond)
	if !*quiet {
		fmt.Fprintf(stdout, "%s: WebSocket handshake completed in %s\n", raw, elapsed.Round(time.Microsecond))
	}
	return nil
}
