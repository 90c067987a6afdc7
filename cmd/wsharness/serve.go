package main

import (
	"context"
	"fmt"
	"io"
	"net"
	"os/signal"
	"syscall"
	"time"

	"github.com/wsharness/wsharness/targets"
)

func runServe(args []string, stdout, stderr io.Writer) error {
	fs := newFlags("serve", "--target NAME [--addr HOST:PORT]", stderr)
	name := fs.String("target", "", "reference target to start (see 'wsharness targets')")
	addr := fs.String("addr", "127.0.0.1:9001", "address to listen on; loopback by default")
	if err := parse(fs, args); err != nil {
		return err
	}
	if *name == "" {
		return usageError("--target is required (one of: %s)", targetNames())
	}
	if fs.NArg() > 0 {
		return usageError("unexpected arguments: %v", fs.Args())
	}
	if _, _, err := net.SplitHostPort(*addr); err != nil {
		return usageError("--addr %q: %v", *addr, err)
	}
	t, err := targets.Lookup(*name)
	if err != nil {
		return usageError("%v", err)
	}
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer stop()
	r, err := t.Start(ctx, *addr)
	if err != nil {
		return &exitError{code: exitUnreachable, err: err}
	}
	fmt.Fprintf(stdout, "%s serving %s and %s (Ctrl-C to stop)\n", *name, r.URL(targets.EchoPath), r.URL(targets.BroadcastPath))
	<-ctx.Done()
	stopCtx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	return r.Stop(stopCtx)
}

func targetNames() string {
	s := ""
	for i, t := range targets.Builtin() {
		if i > 0 {
			s += ", "
		}
		s += t.Info().Name
	}
	return s
}

func runTargets(args []string, stdout, stderr io.Writer) error {
	fs := newFlags("targets", "", stderr)
	if err := parse(fs, args); err != nil {
		return err
	}
	for _, t := range targets.Builtin() {
		i := t.Info()
		fmt.Fprintf(stdout, "%-16s %-40s %s\n", i.Name, i.Library, i.Description)
	}
	return nil
}
